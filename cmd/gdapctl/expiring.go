package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gdapflow/gdapflow/internal/sweep"
)

// sweepTable is the sweep's table name without the prefix.
const sweepTable = "sweep"

func newExpiringCmd(a *app) *cobra.Command {
	var (
		within    string
		lapseOnly bool
	)
	cmd := &cobra.Command{
		Use:   "expiring",
		Short: "List active relationships that end soon, and why they will lapse",
		Long: `Expiring reads the expiry sweep's snapshot (table <prefix>sweep) and lists the
active relationships whose end date is within --within, soonest first, with
their auto-extend setting, whether they hold Global Administrator (which
blocks auto-extend) and the reason each will lapse ("" when Graph will
extend it). The snapshot is as fresh as the last sweep, whose time is shown.
Needs Storage Table Data Reader on the storage account.`,
		Example: `  gdapctl expiring --within 30d
  gdapctl expiring --within 7d --lapse-only --output json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			span, err := parseSpan("within", within)
			if err != nil {
				return err
			}
			return a.expiring(cmd.Context(), span, lapseOnly)
		},
	}
	cmd.Flags().StringVar(&within, "within", "30d", "end dates within this span from now (e.g. 30d, 72h)")
	cmd.Flags().BoolVar(&lapseOnly, "lapse-only", false, "only relationships that will lapse (not auto-extended)")
	return cmd
}

// expiringView is one row of `gdapctl expiring`.
type expiringView struct {
	sweep.Snapshot
	DaysLeft    int    `json:"daysLeft"`
	WillLapse   bool   `json:"willLapse"`
	LapseReason string `json:"lapseReason,omitempty"`
}

func (a *app) expiring(ctx context.Context, within time.Duration, lapseOnly bool) error {
	now, err := a.b.now(ctx)
	if err != nil {
		return err
	}
	client, res, err := a.b.table(sweepTable)
	if err != nil {
		return err
	}
	info, err := sweep.ReadSweepInfo(ctx, client)
	if err != nil {
		return explain(err, res)
	}
	snaps, err := sweep.ListSnapshots(ctx, client)
	if err != nil {
		return explain(err, res)
	}
	var rows []expiringView
	for _, s := range sweep.Expiring(snaps, now, within) {
		v := expiringView{Snapshot: s, LapseReason: s.LapseReason()}
		v.WillLapse = v.LapseReason != ""
		v.DaysLeft = int((s.End.Sub(now) + 24*time.Hour - time.Nanosecond) / (24 * time.Hour)) // started days
		if lapseOnly && !v.WillLapse {
			continue
		}
		rows = append(rows, v)
	}
	if a.s.Output == "json" {
		return a.printJSON(map[string]any{"sweep": info, "now": now, "within": within.String(), "relationships": nonNil(rows)})
	}
	if info.SweepID == "" {
		fmt.Fprintln(a.stdout, "no sweep has run yet: the snapshot is empty (send gdap.sweep.run, or wait for the timer)")
		return nil
	}
	fmt.Fprintf(a.stdout, "snapshot of sweep %s (%s, finished %s)\n", info.SweepID, info.Phase, cmpOr(fmtTimeRel(info.FinishedAt, now), "not yet"))
	if len(rows) == 0 {
		fmt.Fprintf(a.stdout, "no active relationship ends within %s\n", human(within))
		return nil
	}
	out := make([][]string, 0, len(rows))
	for _, v := range rows {
		ae := "off"
		if v.AutoExtend == "P180D" {
			ae = "on (P180D)"
		}
		ga := "no"
		if v.GlobalAdmin {
			ga = "yes"
		}
		reason := v.LapseReason
		if !v.WillLapse {
			reason = "- (Graph extends it by 180 days)"
		}
		out = append(out, []string{v.End.UTC().Format("2006-01-02"), fmt.Sprint(v.DaysLeft), v.RelationshipID, truncate(v.DisplayName, 30),
			truncate(cmpOr(v.CustomerName, v.CustomerTenantID), 30), ae, ga, reason})
	}
	return table(a.stdout, []string{"ENDS", "DAYS", "RELATIONSHIP", "NAME", "CUSTOMER", "AUTO-EXTEND", "GLOBAL ADMIN", "WHY IT LAPSES"}, out)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
