package main

import (
	"slices"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/report"
)

// Table names (after GDAP_TABLE_PREFIX) the report reads: the sweep's
// report summaries and the ledger's failure index.
const (
	reportTableSuffix   = "sweepreport"
	failuresTableSuffix = "failures"
)

// buildReport returns the report page's source: the sweep's table and the
// ledger, read per request with bounded queries.
func buildReport(cfg config.Config, tables *aztables.ServiceClient, led *ledger.Store) *report.Source {
	return &report.Source{
		SweepTable:  tables.NewClient(cfg.TablePrefix + "sweep"),
		ReportTable: tables.NewClient(cfg.TablePrefix + reportTableSuffix),
		Ledger:      led,
		WarningDays: slices.Max(append([]int{0}, cfg.ExpiryWarningDays...)),
		SweepPeriod: schedulePeriod(cfg.SweepSchedule),
		Policy:      string(cfg.AutoExtendPolicy),
	}
}

// schedulePeriod is the interval between two occurrences of an NCRONTAB
// schedule (0 when it does not parse).
func schedulePeriod(expr string) time.Duration {
	sched, err := config.ParseSchedule(expr)
	if err != nil {
		return 0
	}
	first := sched.Next(time.Now().UTC())
	return sched.Next(first).Sub(first)
}
