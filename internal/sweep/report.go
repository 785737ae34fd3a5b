package sweep

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/ledger"
)

// Keys and property of the report's rows in the sweep table.
const (
	lastCompletedRowKey = "lastCompleted" // in statePartition
	reportPartition     = "report"        // in the report table, RowKey pageRowKey
	reportProperty      = "Report"        // the summary's JSON
	reportHashProperty  = "ReportHash"    // on each page-index row
	reportReadParallel  = 16
)

// CompletedSweep is the last sweep that listed every relationship.
type CompletedSweep struct {
	SweepID            string
	StartedAt          time.Time
	FinishedAt         time.Time
	Pages, Invocations int
	Relationships      int
}

// writeLastCompleted records st as the last completed sweep (an upsert:
// finish may run again after a crash).
func (st *store) writeLastCompleted(ctx context.Context, s *state) error {
	props := map[string]any{"SweepID": s.SweepID, "Pages": int32(s.Page), "Invocations": int32(s.Invocations),
		"Relationships": int32(s.Relationships)}
	putTime(props, "StartedAt", s.StartedAt)
	putTime(props, "FinishedAt", s.FinishedAt)
	body, err := json.Marshal(aztables.EDMEntity{
		Entity: aztables.Entity{PartitionKey: statePartition, RowKey: lastCompletedRowKey}, Properties: props})
	if err != nil {
		return fmt.Errorf("sweep: encode last completed sweep: %w", err)
	}
	if _, err := st.client.UpsertEntity(ctx, body, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}); err != nil {
		return fmt.Errorf("sweep: record last completed sweep: %w", err)
	}
	return nil
}

// Report is what the report page shows of the sweep table.
type Report struct {
	// Current is the latest sweep (running, done or failed); LastCompleted
	// the latest that listed everything (nil: none yet).
	Current       SweepInfo
	CurrentPages  int
	CurrentFailed string
	LastCompleted *CompletedSweep
	// ByStatus counts relationships by status; Active and AutoExtends the
	// active ones and those of them Graph extends by itself.
	ByStatus            map[string]int
	Active, AutoExtends int
	// Ends are the active relationships' end dates with their categories.
	Ends []EndMark
	// Lapsing are the relationships that will lapse within the window
	// given to ReadReport, soonest first, at most the limit given;
	// LapsingTotal counts them all.
	Lapsing      []Item
	LapsingTotal int
	// Pending are the approvals pending, oldest first, at most the limit;
	// PendingTotal counts them all.
	Pending      []Item
	PendingTotal int
	// PageRows is how many page rows were read.
	PageRows int
}

// EndMark is an active relationship's end date and category (Category*).
type EndMark struct {
	End      time.Time
	Category int
}

// Item is a relationship the report lists by name.
type Item struct {
	Snapshot
	Created  time.Time
	Category int
}

// ReportOptions bound ReadReport.
type ReportOptions struct {
	// Now is the report's time; Within the lapse list's horizon.
	Now    time.Time
	Within time.Duration
	// Limit caps each list (the rows read by name).
	Limit int
}

// ReadReport reads the report: the state rows of the sweep table (two point
// reads), every summary of the report table (one partition query, one row
// per page of 300 relationships), and, only for listed relationships whose
// summary had no room for their names, their snapshot rows (point reads).
// It never reads the snapshot partitions otherwise. reportTable nil: the
// sweep table holds the summaries.
func ReadReport(ctx context.Context, client, reportTable *aztables.Client, opts ReportOptions) (Report, error) {
	if reportTable == nil {
		reportTable = client
	}
	st := &store{client: client, report: reportTable, concurrency: reportReadParallel}
	cur, err := st.loadState(ctx)
	if err != nil {
		return Report{}, err
	}
	r := Report{Current: SweepInfo{SweepID: cur.SweepID, Phase: cur.Phase, StartedAt: cur.StartedAt, FinishedAt: cur.FinishedAt},
		CurrentPages: cur.Page, CurrentFailed: cur.Failed, ByStatus: map[string]int{}}
	if r.LastCompleted, err = st.readLastCompleted(ctx); err != nil {
		return Report{}, err
	}
	// After a completed sweep, rows past its last page are left from an
	// earlier, longer listing; during a sweep every row counts (this
	// sweep's up to its position, the previous sweep's after it).
	filter := fmt.Sprintf("PartitionKey eq '%s'", reportPartition)
	if cur.Phase == phaseDone && cur.Failed == "" {
		filter += fmt.Sprintf(" and RowKey lt '%s'", pageRowKey(cur.Page))
	}
	sel := "RowKey," + reportProperty
	pager := reportTable.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Select: &sel})
	var lapse, pending []pageNote
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return Report{}, fmt.Errorf("sweep: read page reports: %w", err)
		}
		for _, raw := range page.Entities {
			var e aztables.EDMEntity
			if err := json.Unmarshal(raw, &e); err != nil {
				return Report{}, fmt.Errorf("sweep: decode page report: %w", err)
			}
			r.PageRows++
			b, _ := e.Properties[reportProperty].(aztables.EDMBinary)
			var pr pageReport
			if len(b) > 0 {
				if err := json.Unmarshal(b, &pr); err != nil {
					return Report{}, fmt.Errorf("sweep: decode page report %s: %w", e.RowKey, err)
				}
			}
			for k, v := range pr.ByStatus {
				r.ByStatus[k] += v
			}
			r.Active += pr.ByStatus[gdap.StatusActive]
			r.AutoExtends += pr.AutoExtends
			for cat, ends := range pr.Ends {
				for _, t := range ends {
					r.Ends = append(r.Ends, EndMark{End: unixTime(t), Category: cat})
				}
			}
			for _, n := range pr.Notes {
				switch {
				case n.Kind == notePending:
					pending = append(pending, n)
				case n.Kind == noteLapse && n.At > opts.Now.Unix() && n.At <= opts.Now.Add(opts.Within).Unix():
					lapse = append(lapse, n)
				}
			}
		}
	}
	byAt := func(a, b pageNote) int { return cmp.Or(cmp.Compare(a.At, b.At), strings.Compare(a.ID, b.ID)) }
	slices.SortFunc(lapse, byAt)
	slices.SortFunc(pending, byAt)
	r.LapsingTotal, r.PendingTotal = len(lapse), len(pending)
	if r.Lapsing, err = st.items(ctx, lapse[:min(len(lapse), opts.Limit)]); err != nil {
		return Report{}, err
	}
	if r.Pending, err = st.items(ctx, pending[:min(len(pending), opts.Limit)]); err != nil {
		return Report{}, err
	}
	return r, nil
}

// items turns notes into items; the notes without names have their
// snapshot rows read (a relationship gone since keeps its id only).
func (st *store) items(ctx context.Context, notes []pageNote) ([]Item, error) {
	var ids []string
	var at []int
	for i, n := range notes {
		if !n.Named {
			ids, at = append(ids, n.ID), append(at, i)
		}
	}
	read, _, err := st.readRows(ctx, ids)
	if err != nil {
		return nil, err
	}
	recs := make([]*record, len(notes))
	for j, i := range at {
		recs[i] = read[j]
	}
	out := make([]Item, len(notes))
	for i, n := range notes {
		it := Item{Snapshot: Snapshot{RelationshipID: n.ID, DisplayName: n.Name, CustomerName: n.Customer,
			CustomerTenantID: n.Tenant}, Category: n.Cat}
		if n.Kind == noteLapse {
			it.End = unixTime(n.At)
			it.Status, it.GlobalAdmin = gdap.StatusActive, n.Cat == CategoryLapseGlobalAdmin
			it.AutoExtend = gdap.AutoExtendOff
			if n.AutoExtendOn {
				it.AutoExtend = gdap.AutoExtendOn
			}
		} else {
			it.Created = unixTime(n.At)
			it.Status = gdap.StatusApprovalPending
		}
		if rec := recs[i]; rec != nil {
			it.DisplayName, it.Status, it.CustomerTenantID, it.CustomerName = rec.DisplayName, rec.Status, rec.CustomerTenantID, rec.CustomerName
			it.AutoExtend, it.GlobalAdmin, it.LastSeen = rec.AutoExtend, rec.GlobalAdmin, rec.LastSeen
			if it.End.IsZero() {
				it.End = rec.End
			}
			if it.Created.IsZero() {
				it.Created = rec.Created
			}
		}
		out[i] = it
	}
	return out, nil
}

// readLastCompleted reads the last completed sweep's row (nil: none).
func (st *store) readLastCompleted(ctx context.Context) (*CompletedSweep, error) {
	resp, err := st.client.GetEntity(ctx, statePartition, lastCompletedRowKey, nil)
	if ledger.IsEntityNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sweep: read last completed sweep: %w", err)
	}
	var e aztables.EDMEntity
	if err := json.Unmarshal(resp.Value, &e); err != nil {
		return nil, fmt.Errorf("sweep: decode last completed sweep: %w", err)
	}
	p := props(e.Properties)
	return &CompletedSweep{SweepID: p.str("SweepID"), StartedAt: p.time("StartedAt"), FinishedAt: p.time("FinishedAt"),
		Pages: p.int("Pages"), Invocations: p.int("Invocations"), Relationships: p.int("Relationships")}, nil
}
