package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	now := testStart
	lease := 5 * time.Minute
	waiting := func(lastInput string, wakeAt time.Time) *ledger.Record {
		return &ledger.Record{OperationID: "op", State: ledger.StateWaiting, Step: string(stepPollOperation),
			WakeID: "op.c1", WakeAt: wakeAt, UpdatedAt: now, Workflow: encodeState(&wfState{Seq: 1, LastInputID: lastInput})}
	}
	resume := func(wake string) input {
		return input{messageID: wake, cont: &op.Continuation{Kind: op.KindResume, OperationID: "op", WakeID: wake}}
	}
	wake := input{messageID: "w1", cont: &op.Continuation{Kind: op.KindWake, OperationID: "op"}}
	tests := []struct {
		name string
		rec  *ledger.Record
		in   input
		want action
	}{
		{"succeeded, duplicate command", &ledger.Record{State: ledger.StateSucceeded}, input{messageID: "m2"}, actPublish},
		{"failed, stale continuation", &ledger.Record{State: ledger.StateFailed}, resume("op.c1"), actPublish},
		{"accepted", &ledger.Record{State: ledger.StateAccepted}, input{messageID: "m2"}, actExecute},
		{"waiting, the pending continuation", waiting("m1", now), resume("op.c1"), actExecute},
		{"waiting, a stale continuation", waiting("m1", now), resume("op.c0"), actIgnore},
		{"waiting, a lease check", waiting("m1", now),
			input{messageID: "x", cont: &op.Continuation{Kind: op.KindLeaseCheck, OperationID: "op"}}, actIgnore},
		{"waiting, command re-sent long after the wake time", waiting("m1", now.Add(-lease-time.Second)), input{messageID: "m2"}, actRewake},
		{"waiting, command re-sent before the wake time is overdue", waiting("m1", now.Add(-lease)), input{messageID: "m2"}, actIgnore},
		{"waiting, redelivery of the input that scheduled it", waiting("m1", now.Add(time.Minute)), input{messageID: "m1"}, actResend},
		{"running, lease held", &ledger.Record{State: ledger.StateRunning, UpdatedAt: now.Add(-time.Minute)}, input{messageID: "m2"}, actLeaseCheck},
		{"running, lease expired", &ledger.Record{State: ledger.StateRunning, UpdatedAt: now.Add(-lease)}, input{messageID: "m2"}, actTakeOver},
		{"unknown state", &ledger.Record{State: "paused"}, input{messageID: "m2"}, actIgnore},
		{"waiting at a poll step, woken", waiting("m1", now.Add(time.Hour)), wake, actExecute},
		{"waiting at a step that writes, woken", &ledger.Record{State: ledger.StateWaiting, Step: string(stepApply), WakeID: "op.c1",
			WakeAt: now.Add(time.Hour), Workflow: encodeState(&wfState{Seq: 1, LastInputID: "m1"})}, wake, actIgnore},
		{"running, woken", &ledger.Record{State: ledger.StateRunning, UpdatedAt: now.Add(-time.Minute)}, wake, actIgnore},
		{"finished, woken", &ledger.Record{State: ledger.StateSucceeded}, wake, actPublish},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := decide(tt.rec, tt.in, now, lease)
			require.Equal(t, tt.want, d.action, d.reason)
			require.NotEmpty(t, d.reason)
			if d.action == actLeaseCheck || d.action == actTakeOver {
				require.Equal(t, tt.rec.UpdatedAt.Add(lease), d.at)
			}
		})
	}
}

func TestStep(t *testing.T) {
	t.Parallel()
	require.Equal(t, "start", stepStart.String())
	require.Equal(t, "apply", stepApply.String())
	for _, s := range []Step{stepPollOperation, stepPollGA, stepPollRequest, stepPollSweep} {
		require.True(t, s.Poll(), s)
	}
	for _, s := range []Step{stepStart, stepApply, stepFinish, stepRemoveGA, stepAutoExtend, stepConfirm} {
		require.False(t, s.Poll(), s)
	}
}
