package report

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/sweep"
)

// Page sizes and fixed spans of the report.
const (
	// Weeks is how many weeks of expiries the chart shows.
	Weeks = 26
	// ApprovalDays is how long Graph keeps an approval link (90 days).
	ApprovalDays = 90
	// FailureDays is how far back failures are shown.
	FailureDays = 7
	// LatestFailures is how many failed operations are listed.
	LatestFailures = 20
	// ListLimit caps the lapse and approval lists.
	ListLimit = 200
	// FailureReadLimit caps the failure index entries read.
	FailureReadLimit = 5000
	day              = 24 * time.Hour
)

// categoryNames names sweep.Category* in the chart's legend, in stacking
// order from the bottom.
var categoryNames = [sweep.Categories]string{ //nolint:gochecknoglobals // constant table
	sweep.CategoryAutoExtends:       "will auto-extend",
	sweep.CategoryLapseNoAutoExtend: "will lapse: no auto-extend",
	sweep.CategoryLapseGlobalAdmin:  "will lapse: Global Administrator present",
	sweep.CategoryProtected:         "protected (the sweep switches auto-extend on)",
}

// stackOrder is the order of the segments, bottom first.
var stackOrder = []int{sweep.CategoryAutoExtends, sweep.CategoryProtected, sweep.CategoryLapseNoAutoExtend, sweep.CategoryLapseGlobalAdmin} //nolint:gochecknoglobals // constant

// Input is what the page is drawn from.
type Input struct {
	Now               time.Time
	Sweep             sweep.Report
	Failures          []ledger.FailureEntry
	FailuresTruncated bool
	// WarningDays is the largest expiry warning threshold (the lapse
	// list's horizon); SweepPeriod the sweep schedule's interval.
	WarningDays int
	SweepPeriod time.Duration
	Policy      string
}

// Count is a named figure.
type Count struct {
	Name string
	N    int
}

// LapseRow is one relationship that will lapse.
type LapseRow struct {
	Name, ID, Customer, CustomerID, End, Reason, Command string
	DaysLeft, Category                                   int
}

// PendingRow is one approval pending.
type PendingRow struct {
	Name, ID, Customer, Created string
	Age, DaysLeft               int
}

// FailureRow is one failed operation.
type FailureRow struct {
	At, OperationID, Type, Target, Code, Message string
}

// SweepView is the sweep's health.
type SweepView struct {
	Completed                              bool
	Finished, Duration, ID                 string
	Pages, Relationships, Invocations      int
	CurrentID, CurrentPhase, CurrentFailed string
	CurrentPages                           int
	Banner                                 string
}

// View is the page's data, every string still untrusted (the template
// escapes).
type View struct {
	Now                        string
	Policy                     string
	Statuses                   []Count
	Total, Active, AutoExtends int
	Coverage                   string
	Chart                      Chart
	WarningDays                int
	Lapsing                    []LapseRow
	LapsingTotal, LapsingMore  int
	Pending                    []PendingRow
	PendingTotal, PendingMore  int
	FailureCodes               []Count
	Failures                   []FailureRow
	FailuresTotal              int
	FailuresTruncated          bool
	Sweep                      SweepView
	PageRows                   int
}

// Build computes the view.
func Build(in Input) View {
	now := in.Now.UTC()
	r := in.Sweep
	v := View{Now: stamp(now), Policy: in.Policy, Active: r.Active, AutoExtends: r.AutoExtends, WarningDays: in.WarningDays,
		LapsingTotal: r.LapsingTotal, LapsingMore: r.LapsingTotal - len(r.Lapsing), PendingTotal: r.PendingTotal,
		PendingMore: r.PendingTotal - len(r.Pending), FailuresTruncated: in.FailuresTruncated, PageRows: r.PageRows}
	for _, s := range slices.Sorted(maps.Keys(r.ByStatus)) {
		v.Statuses = append(v.Statuses, Count{Name: s, N: r.ByStatus[s]})
		v.Total += r.ByStatus[s]
	}
	v.Coverage = "–"
	if r.Active > 0 {
		v.Coverage = fmt.Sprintf("%.1f%%", 100*float64(r.AutoExtends)/float64(r.Active))
	}
	v.Chart = buildChart(now, r.Ends)
	for _, it := range r.Lapsing {
		v.Lapsing = append(v.Lapsing, LapseRow{Name: it.DisplayName, ID: it.RelationshipID, Customer: it.CustomerName,
			CustomerID: it.CustomerTenantID, End: stamp(it.End), DaysLeft: daysCeil(it.End.Sub(now)), Category: it.Category,
			Reason: it.LapseReason(), Command: fixCommand(it)})
	}
	for _, it := range r.Pending {
		age := int(now.Sub(it.Created) / day)
		v.Pending = append(v.Pending, PendingRow{Name: it.DisplayName, ID: it.RelationshipID, Customer: it.CustomerName,
			Created: stamp(it.Created), Age: age, DaysLeft: ApprovalDays - age})
	}
	codes := map[string]int{}
	for i, f := range in.Failures {
		codes[string(f.Code)]++
		if i < LatestFailures {
			v.Failures = append(v.Failures, FailureRow{At: stamp(f.FinishedAt), OperationID: f.OperationID, Type: f.CommandType,
				Target: f.TargetID, Code: string(f.Code), Message: f.Message})
		}
	}
	v.FailuresTotal = len(in.Failures)
	for c, n := range codes {
		v.FailureCodes = append(v.FailureCodes, Count{Name: c, N: n})
	}
	slices.SortFunc(v.FailureCodes, func(a, b Count) int { return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Name, b.Name)) })
	v.Sweep = sweepView(now, r, in.SweepPeriod)
	return v
}

// sweepView describes the last sweep and sets the banner when none
// completed within twice the schedule's period.
func sweepView(now time.Time, r sweep.Report, period time.Duration) SweepView {
	s := SweepView{CurrentID: r.Current.SweepID, CurrentPhase: r.Current.Phase, CurrentFailed: r.CurrentFailed, CurrentPages: r.CurrentPages}
	if c := r.LastCompleted; c != nil {
		s.Completed, s.ID, s.Finished = true, c.SweepID, stamp(c.FinishedAt)
		s.Duration = c.FinishedAt.Sub(c.StartedAt).Round(time.Second).String()
		s.Pages, s.Relationships, s.Invocations = c.Pages, c.Relationships, c.Invocations
	}
	limit := 2 * period
	switch {
	case r.LastCompleted == nil:
		s.Banner = "No expiry sweep has completed yet: the figures below may be missing or stale."
	case period > 0 && now.Sub(r.LastCompleted.FinishedAt) > limit:
		s.Banner = fmt.Sprintf("No expiry sweep completed in the last %s (twice the schedule): the last finished %s. Check the expiry-sweep function's logs.",
			limit, stamp(r.LastCompleted.FinishedAt))
	}
	return s
}

// fixCommand is the gdapctl command that keeps the relationship from
// lapsing.
func fixCommand(it sweep.Item) string {
	if it.GlobalAdmin || it.Category == sweep.CategoryLapseGlobalAdmin {
		return fmt.Sprintf(`gdapctl send gdap.relationship.removeGlobalAdmin --relationship-id %s --data '{"enableAutoExtend":true}' --wait`, it.RelationshipID)
	}
	if it.Status != "" && it.Status != gdap.StatusActive {
		return "gdapctl expiring"
	}
	return fmt.Sprintf(`gdapctl send gdap.relationship.update --relationship-id %s --data '{"changes":{"autoExtendDuration":"P180D"}}' --wait`, it.RelationshipID)
}

// stamp formats a time for the page ("–" for none).
func stamp(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// daysCeil is d in whole days, rounded up.
func daysCeil(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + day - 1) / day)
}
