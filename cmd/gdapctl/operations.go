package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gdapflow/gdapflow/internal/ledger"
)

// listStates are the states --state accepts.
var listStates = []string{string(ledger.StateAccepted), string(ledger.StateRunning), string(ledger.StateWaiting), string(ledger.StateSucceeded), string(ledger.StateFailed)} //nolint:gochecknoglobals // constant list

func newOperationsCmd(a *app) *cobra.Command {
	var (
		states []string
		since  string
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "operations",
		Short: "List operations by state and age",
		Long: `Operations lists the ledger's operations updated within --since, most recent
first, optionally only those in the given states (` + strings.Join(listStates, ", ") + `).
Needs Storage Table Data Reader on the storage account.`,
		Example: `  gdapctl operations --state failed --since 24h
  gdapctl operations --state waiting,running
  gdapctl operations --since 7d --output json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, s := range states {
				if !slices.Contains(listStates, s) {
					return usageErrorf("--state: %q is not one of %s", s, strings.Join(listStates, ", "))
				}
			}
			span, err := parseSpan("since", since)
			if err != nil {
				return err
			}
			return a.operations(cmd.Context(), states, span, limit)
		},
	}
	cmd.Flags().StringSliceVar(&states, "state", nil, "only these states (repeat or comma-separate): "+strings.Join(listStates, ", "))
	cmd.Flags().StringVar(&since, "since", "24h", "only operations updated within this span (e.g. 24h, 7d)")
	cmd.Flags().IntVar(&limit, "limit", 500, "at most this many operations (0: no limit)")
	return cmd
}

func (a *app) operations(ctx context.Context, states []string, span time.Duration, limit int) error {
	now, err := a.b.now(ctx)
	if err != nil {
		return err
	}
	client, res, err := a.b.table(ledgerTable)
	if err != nil {
		return err
	}
	typed := make([]ledger.State, len(states))
	for i, st := range states {
		typed[i] = ledger.State(st)
	}
	recs, err := ledger.New(client).List(ctx, &ledger.ListOptions{States: typed, UpdatedSince: now.Add(-span), Limit: limit})
	if err != nil {
		return explain(err, res)
	}
	views := make([]opView, 0, len(recs))
	for _, r := range recs {
		views = append(views, viewOf(r))
	}
	if a.s.Output == "json" {
		return a.printJSON(views)
	}
	if len(views) == 0 {
		fmt.Fprintln(a.stdout, "no operations")
		return nil
	}
	rows := make([][]string, 0, len(views))
	for _, v := range views {
		lastErr := ""
		if v.LastError != nil {
			lastErr = v.LastError.Code + ": " + truncate(v.LastError.Message, 60)
		}
		wake := ""
		if !v.NextWake.IsZero() {
			wake = fmtTime(v.NextWake)
		}
		rows = append(rows, []string{v.OperationID, v.State, v.CommandType, v.TargetID, fmt.Sprint(v.Attempts), fmtTime(v.UpdatedAt), wake, lastErr})
	}
	return table(a.stdout, []string{"OPERATION", "STATE", "COMMAND", "TARGET", "ATTEMPTS", "UPDATED", "NEXT WAKE", "LAST ERROR"}, rows)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
