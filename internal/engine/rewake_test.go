package engine

import (
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// TestResentCommandWakesAnOverdueOperationUnderANewID: a command re-sent for
// an operation whose continuation is long overdue (lost, or dead-lettered
// during an outage) must schedule it under a new id, since Service Bus
// duplicate detection would drop the spent one for a day.
func TestResentCommandWakesAnOverdueOperationUnderANewID(t *testing.T) {
	t.Parallel()
	const opID = "op-overdue"
	body := []byte(`{"specversion":"1.0","id":"` + opID + `","source":"/crm","type":"` + command.TypeRelationshipRequest +
		`","data":{"relationshipId":"5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836","action":"lockForApproval"}}`)
	env, err := command.ParseEnvelope(body)
	require.NoError(t, err)
	start := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	clock := vclock.NewFrozen(start)
	led := newMemLedger()
	waiting := &ledger.Record{
		OperationID: opID, CommandType: env.Type, Source: env.Source, ContentHash: env.ContentHash,
		State: ledger.StateWaiting, Step: string(stepPollRequest), Attempts: 1, WakeID: opID + ".c1", WakeAt: start.Add(time.Minute),
		AcceptedAt: start, UpdatedAt: start, Command: body, Workflow: encodeState(&wfState{Seq: 1, LastInputID: "m1"}),
	}
	require.NoError(t, led.Create(t.Context(), waiting))
	snd := &recordingSender{}
	eng := New(Options{
		Ledger: led, Graph: &stubGraph{}, Sender: snd, LeaseDuration: 5 * time.Minute,
		CommandsQueue: "gdap-commands", ContinuationsQueue: "gdap-continuations", EventsTopic: "gdap-events",
	})
	inv := func(msgID string) op.Invocation {
		return op.Invocation{Clock: clock, Logger: slog.New(slog.DiscardHandler), MessageID: msgID, DeliveryCount: 1, Function: "commands"}
	}

	// Not overdue yet: a re-sent command changes nothing.
	clock.Advance(3 * time.Minute)
	require.NoError(t, eng.HandleCommand(t.Context(), inv("m2"), body))
	require.Empty(t, snd.take())

	// Overdue (wake time plus the lease has passed): a new wake id, recorded
	// and scheduled now.
	clock.Advance(time.Hour)
	require.NoError(t, eng.HandleCommand(t.Context(), inv("m3"), body))
	sent := snd.take()
	require.Len(t, sent, 1)
	require.Equal(t, "gdap-continuations", sent[0].entity)
	require.Equal(t, opID+".c2", sent[0].msg.MessageID)
	require.Equal(t, clock.Now(), *sent[0].msg.ScheduledEnqueueTime)
	var c op.Continuation
	require.NoError(t, json.Unmarshal(sent[0].msg.Body, &c))
	require.Equal(t, op.Continuation{Kind: op.KindResume, OperationID: opID, WakeID: opID + ".c2", Step: string(stepPollRequest)}, c)
	rec, err := led.Get(t.Context(), opID)
	require.NoError(t, err)
	require.Equal(t, opID+".c2", rec.WakeID, "only the new continuation may resume the operation")
	require.Equal(t, ledger.StateWaiting, rec.State)

	// A redelivery of that command re-sends the same new id (a duplicate
	// the broker drops), it does not wake the operation a third time.
	require.NoError(t, eng.HandleCommand(t.Context(), inv("m3"), body))
	sent = snd.take()
	require.Len(t, sent, 1)
	require.Equal(t, opID+".c2", sent[0].msg.MessageID)
}
