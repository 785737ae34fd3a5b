package report

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/sweep"
)

// Source reads what the page shows: the sweep table's report rows and the
// ledger's failure index. Every read is bounded (ReadReport, RecentFailures).
type Source struct {
	// SweepTable and ReportTable are the sweep's tables (state; report
	// summaries); Ledger the operation ledger.
	SweepTable, ReportTable *aztables.Client
	Ledger                  *ledger.Store
	// WarningDays is the largest GDAP_EXPIRY_WARNING_DAYS threshold.
	WarningDays int
	// SweepPeriod is the interval of GDAP_SWEEP_SCHEDULE.
	SweepPeriod time.Duration
	// Policy is GDAP_AUTO_EXTEND_POLICY.
	Policy string
}

// Page reads, builds and renders the page as of now.
func (s *Source) Page(ctx context.Context, now time.Time) ([]byte, error) {
	var (
		rep       sweep.Report
		fails     []ledger.FailureEntry
		truncated bool
		repErr    error
		done      = make(chan struct{})
	)
	go func() {
		defer close(done)
		rep, repErr = sweep.ReadReport(ctx, s.SweepTable, s.ReportTable, sweep.ReportOptions{Now: now,
			Within: time.Duration(s.WarningDays) * day, Limit: ListLimit})
	}()
	fails, truncated, err := s.Ledger.RecentFailures(ctx, now.Add(-FailureDays*day), now, FailureReadLimit)
	<-done
	if repErr != nil {
		return nil, fmt.Errorf("report: %w", repErr)
	}
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return Render(Build(Input{Now: now, Sweep: rep, Failures: fails, FailuresTruncated: truncated,
		WarningDays: s.WarningDays, SweepPeriod: s.SweepPeriod, Policy: s.Policy}))
}
