package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gdapflow/gdapflow/internal/ledger"
)

// ledgerTable is the ledger's table name without the prefix.
const ledgerTable = "operations"

func newStatusCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "status <operationId>",
		Short: "Show an operation's ledger record in words",
		Long: `Status reads the operation ledger (table <prefix>operations) and shows the
record: state, current step, attempts, last error, timestamps and, while it
waits, when it wakes next. Needs Storage Table Data Reader on the storage account.`,
		Example: `  gdapctl status op-2026-0042
  gdapctl status op-2026-0042 --output json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.status(cmd.Context(), args[0]) },
	}
}

// opView is an operation as gdapctl shows it (a stable JSON shape,
// independent of the ledger's Go types).
type opView struct {
	OperationID      string     `json:"operationId"`
	CommandType      string     `json:"commandType"`
	Source           string     `json:"source,omitempty"`
	TargetID         string     `json:"targetId,omitempty"`
	State            string     `json:"state"`
	Step             string     `json:"step,omitempty"`
	Attempts         int        `json:"attempts"`
	StepAttempt      int        `json:"stepAttempt"`
	LastError        *errorView `json:"lastError,omitempty"`
	AcceptedAt       time.Time  `json:"acceptedAt,omitzero"`
	UpdatedAt        time.Time  `json:"updatedAt,omitzero"`
	FinishedAt       time.Time  `json:"finishedAt,omitzero"`
	NextWake         time.Time  `json:"nextWake,omitzero"`
	OutcomePublished bool       `json:"outcomePublished"`
}

type errorView struct {
	Code              string `json:"code"`
	Message           string `json:"message"`
	HTTPStatus        int    `json:"httpStatus,omitempty"`
	UpstreamCode      string `json:"upstreamCode,omitempty"`
	UpstreamRequestID string `json:"upstreamRequestId,omitempty"`
}

func viewOf(r *ledger.Record) opView {
	v := opView{
		OperationID: r.OperationID, CommandType: r.CommandType, Source: r.Source, TargetID: r.TargetID,
		State: string(r.State), Step: string(r.Step), Attempts: r.Attempts, StepAttempt: r.StepAttempt,
		AcceptedAt: r.AcceptedAt, UpdatedAt: r.UpdatedAt, FinishedAt: r.FinishedAt,
		OutcomePublished: r.OutcomePublished,
	}
	if r.State == ledger.StateWaiting {
		v.NextWake = r.WakeAt
	}
	if e := r.LastError; e != nil {
		v.LastError = &errorView{Code: string(e.Code), Message: e.Message, HTTPStatus: e.HTTPStatus, UpstreamCode: e.UpstreamCode, UpstreamRequestID: e.UpstreamRequestID}
	}
	return v
}

// stateWords explains a state.
func stateWords(state ledger.State) string {
	switch state {
	case ledger.StateAccepted:
		return "accepted, not started yet"
	case ledger.StateRunning:
		return "running a step now"
	case ledger.StateWaiting:
		return "waiting for its next continuation (polling, retry or back-off)"
	case ledger.StateSucceeded:
		return "finished: succeeded"
	case ledger.StateFailed:
		return "finished: failed"
	}
	return ""
}

func (a *app) status(ctx context.Context, id string) error {
	client, res, err := a.b.table(ledgerTable)
	if err != nil {
		return err
	}
	r, err := ledger.New(client).Get(ctx, id)
	if errors.Is(err, ledger.ErrNotFound) {
		return fmt.Errorf("operation %s is not in %s: not received yet, or sent with another id", id, res.what)
	}
	if errors.Is(err, ledger.ErrInvalid) {
		return usageErrorf("%q is not a valid operation id: %w", id, err)
	}
	if err != nil {
		return explain(err, res)
	}
	v := viewOf(r)
	if a.s.Output == "json" {
		return a.printJSON(v)
	}
	now, err := a.b.now(ctx)
	if err != nil {
		return err
	}
	t := newKV()
	t.add("operation", v.OperationID)
	t.add("command", v.CommandType)
	t.add("source", v.Source)
	t.add("target", v.TargetID)
	state := v.State
	if w := stateWords(ledger.State(v.State)); w != "" {
		state += " — " + w
	}
	t.add("state", state)
	t.add("step", v.Step)
	att := fmt.Sprintf("%d execution(s)", v.Attempts)
	if v.StepAttempt > 0 {
		att += fmt.Sprintf(", %d retry(ies) of the current step", v.StepAttempt)
	}
	t.add("attempts", att)
	if e := v.LastError; e != nil {
		t.add("last error", errorWords(e.Code, e.Message, "", e.HTTPStatus, e.UpstreamCode, e.UpstreamRequestID))
	} else {
		t.add("last error", "none")
	}
	t.add("accepted", fmtTimeRel(v.AcceptedAt, now))
	t.add("updated", fmtTimeRel(v.UpdatedAt, now))
	t.add("finished", fmtTimeRel(v.FinishedAt, now))
	t.add("next wake", fmtTimeRel(v.NextWake, now))
	if r.IsTerminal() {
		if v.OutcomePublished {
			t.add("outcome event", "published")
		} else {
			t.add("outcome event", "not published yet")
		}
	}
	return t.write(a.stdout)
}
