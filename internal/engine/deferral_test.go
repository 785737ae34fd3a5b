package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// outageLedger is memLedger behind a switch: while down, every call fails
// as Table Storage does during an outage.
type outageLedger struct {
	*memLedger
	down atomic.Bool
	// updatesDown fails only Update: an outage that begins in the middle
	// of an operation.
	updatesDown atomic.Bool
}

// errTableOutage is what the ledger returns during an outage: the service's
// 503 after the SDK's retries.
var errTableOutage = fmt.Errorf("ledger: create: %w", &azcore.ResponseError{StatusCode: http.StatusServiceUnavailable, ErrorCode: "ServerBusy"})

func (l *outageLedger) Create(ctx context.Context, r *ledger.Record) error {
	if l.down.Load() {
		return errTableOutage
	}
	return l.memLedger.Create(ctx, r)
}

func (l *outageLedger) Get(ctx context.Context, id string) (*ledger.Record, error) {
	if l.down.Load() {
		return nil, errTableOutage
	}
	return l.memLedger.Get(ctx, id)
}

func (l *outageLedger) Update(ctx context.Context, r *ledger.Record) error {
	if l.down.Load() || l.updatesDown.Load() {
		return errTableOutage
	}
	return l.memLedger.Update(ctx, r)
}

func TestLedgerOutageDefersInputsInsteadOfFailingThem(t *testing.T) {
	t.Parallel()
	const (
		opID   = "3f2b8c1e-5d4a-4c1e-9d7b-000000000001"
		relID  = "5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836"
		cmdMsg = "sb-message-1"
	)
	led := &outageLedger{memLedger: newMemLedger()}
	snd := &recordingSender{}
	graph := &stubGraph{rel: gdap.Relationship{ID: relID, Status: gdap.StatusActive, AutoExtendDuration: gdap.AutoExtendOff,
		UnifiedRoles: []string{"729827e3-9c14-49f7-bb1b-9608f156bbb8"}, ETag: `W/"1"`}}
	eng := New(Options{
		Ledger: led, Graph: graph, Sender: snd,
		CommandsQueue: "gdap-commands", ContinuationsQueue: "gdap-continuations", EventsTopic: "gdap-events",
		OperationDeadline: 24 * time.Hour,
	})
	clock := vclock.NewFrozen(time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC))
	inv := func(msgID, fn string) op.Invocation {
		return op.Invocation{Clock: clock, Logger: slog.New(slog.DiscardHandler), MessageID: msgID, DeliveryCount: 1, Function: fn}
	}
	body := []byte(`{"specversion":"1.0","id":"` + opID + `","source":"/crm","type":"` + command.TypeRelationshipUpdate +
		`","data":{"relationshipId":"` + relID + `","changes":{"autoExtendDuration":"P180D"}}}`)
	ctx := t.Context()

	// requireDeferral checks that exactly one deferral was sent and returns it.
	requireDeferral := func(wantID string, wantCount int) sentMessage {
		t.Helper()
		sent := snd.take()
		require.Len(t, sent, 1)
		m := sent[0]
		require.Equal(t, "gdap-continuations", m.entity)
		require.Equal(t, wantID, m.msg.MessageID)
		require.Equal(t, opID, m.msg.CorrelationID)
		var c op.Continuation
		require.NoError(t, json.Unmarshal(m.msg.Body, &c))
		require.Equal(t, op.KindDeferred, c.Kind)
		require.NotNil(t, c.Deferred)
		require.Equal(t, cmdMsg, c.Deferred.InputID, "a deferral always names the original message")
		require.Equal(t, wantCount, c.Deferred.Count)
		require.Equal(t, body, c.Deferred.Command)
		require.Equal(t, clock.Now().Add(op.RetryDelay(opID, wantCount, 0)), *m.msg.ScheduledEnqueueTime, "deferred with back-off")
		return m
	}

	// The ledger is down: the command is deferred, not failed (which would
	// make Service Bus redeliver it at once and use up its deliveries).
	led.down.Store(true)
	require.NoError(t, eng.HandleCommand(ctx, inv(cmdMsg, "commands"), body))
	first := requireDeferral(opID+"."+cmdMsg+".deferred.1", 1)

	// Still down when the deferral arrives: deferred again, further out. A
	// redelivery of the same deferral sends the same message id (dropped as
	// a duplicate by the broker).
	clock.Advance(op.RetryDelay(opID, 1, 0))
	require.NoError(t, eng.HandleContinuation(ctx, inv(first.msg.MessageID, "continuations"), first.msg.Body))
	second := requireDeferral(opID+"."+cmdMsg+".deferred.2", 2)
	require.NoError(t, eng.HandleContinuation(ctx, inv(first.msg.MessageID, "continuations"), first.msg.Body))
	require.Equal(t, second.msg.MessageID, requireDeferral(opID+"."+cmdMsg+".deferred.2", 2).msg.MessageID)

	// The ledger is back: the deferred command runs as the original message.
	led.down.Store(false)
	clock.Advance(op.RetryDelay(opID, 2, 0))
	require.NoError(t, eng.HandleContinuation(ctx, inv(second.msg.MessageID, "continuations"), second.msg.Body))
	sent := snd.take()
	require.Len(t, sent, 1)
	require.Equal(t, "gdap-events", sent[0].entity)
	require.Equal(t, "gdap.operation.succeeded", sent[0].msg.Subject, string(sent[0].msg.Body))
	rec, err := led.Get(ctx, opID)
	require.NoError(t, err)
	require.Equal(t, ledger.StateSucceeded, rec.State)
	require.Equal(t, cmdMsg, decodeState(rec.Workflow).LastInputID)
	require.Equal(t, time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC), rec.AcceptedAt, "accepted when it first arrived")

	// A late copy of the deferral is a duplicate of a finished operation:
	// nothing runs again and nothing is published again.
	require.NoError(t, eng.HandleContinuation(ctx, inv(second.msg.MessageID, "continuations"), second.msg.Body))
	require.Empty(t, snd.take())
}

func TestLedgerOutageDefersContinuationsAndGivesUpAtTheDeadline(t *testing.T) {
	t.Parallel()
	led := &outageLedger{memLedger: newMemLedger()}
	snd := &recordingSender{}
	eng := New(Options{
		Ledger: led, Graph: &stubGraph{}, Sender: snd,
		CommandsQueue: "gdap-commands", ContinuationsQueue: "gdap-continuations", EventsTopic: "gdap-events",
		OperationDeadline: time.Hour,
	})
	clock := vclock.NewFrozen(time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC))
	inv := func(msgID string) op.Invocation {
		return op.Invocation{Clock: clock, Logger: slog.New(slog.DiscardHandler), MessageID: msgID, DeliveryCount: 1, Function: "continuations"}
	}
	resume := op.Continuation{Kind: op.KindResume, OperationID: "op-7", WakeID: "w1", Step: "poll"}
	body, err := json.Marshal(resume)
	require.NoError(t, err)
	ctx := t.Context()

	led.down.Store(true)
	require.NoError(t, eng.HandleContinuation(ctx, inv("op-7.resume.w1"), body))
	sent := snd.take()
	require.Len(t, sent, 1)
	require.Equal(t, "op-7.op-7.resume.w1.deferred.1", sent[0].msg.MessageID)
	var c op.Continuation
	require.NoError(t, json.Unmarshal(sent[0].msg.Body, &c))
	require.Equal(t, op.KindDeferred, c.Kind)
	require.Equal(t, &resume, c.Deferred.Continuation)
	require.Nil(t, c.Deferred.Command)

	// Past the operation deadline the input is left to Service Bus
	// redelivery: an error, and no further deferral.
	clock.Advance(time.Hour + time.Minute)
	err = eng.HandleContinuation(ctx, inv("op-7.resume.w1.deferred.1"), sent[0].msg.Body)
	require.ErrorIs(t, err, errTableOutage)
	require.Empty(t, snd.take())

	// A deferral that names neither a command nor a continuation is dropped.
	bad, err := json.Marshal(op.Continuation{Kind: op.KindDeferred, OperationID: "op-7", Deferred: &op.Deferred{InputID: "x", Count: 1}})
	require.NoError(t, err)
	require.NoError(t, eng.HandleContinuation(ctx, inv("bad"), bad))
	require.Empty(t, snd.take())
}

func TestLedgerOutageMidOperationDefersTheInput(t *testing.T) {
	t.Parallel()
	const relID = "5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836"
	led := &outageLedger{memLedger: newMemLedger()}
	snd := &recordingSender{}
	eng := New(Options{
		Ledger: led, Sender: snd,
		Graph: &stubGraph{rel: gdap.Relationship{ID: relID, Status: gdap.StatusActive, AutoExtendDuration: gdap.AutoExtendOff,
			UnifiedRoles: []string{"729827e3-9c14-49f7-bb1b-9608f156bbb8"}, ETag: `W/"1"`}},
		CommandsQueue: "gdap-commands", ContinuationsQueue: "gdap-continuations", EventsTopic: "gdap-events",
	})
	clock := vclock.NewFrozen(time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC))
	inv := op.Invocation{Clock: clock, Logger: slog.New(slog.DiscardHandler), MessageID: "m1", DeliveryCount: 1, Function: "commands"}
	body := []byte(`{"specversion":"1.0","id":"op-mid","source":"/crm","type":"` + command.TypeRelationshipUpdate +
		`","data":{"relationshipId":"` + relID + `","changes":{"autoExtendDuration":"P180D"}}}`)

	// The record is created, Graph is written, then recording the outcome
	// fails: the input is deferred (a delayed redelivery), not failed.
	led.updatesDown.Store(true)
	require.NoError(t, eng.HandleCommand(t.Context(), inv, body))
	sent := snd.take()
	require.Len(t, sent, 1)
	require.Equal(t, "gdap-continuations", sent[0].entity)
	require.Equal(t, "op-mid.m1.deferred.1", sent[0].msg.MessageID)

	// An input without a message id cannot be deferred under a stable
	// name: it is left to redelivery.
	inv.MessageID = ""
	led.down.Store(true)
	require.ErrorIs(t, eng.HandleCommand(t.Context(), inv, body), errTableOutage)
	require.Empty(t, snd.take())
}
