package engine

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
)

// rejection decodes the gdap.command.rejected events sent so far.
func (b *testBundle) rejections(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, s := range b.snd.take() {
		var ev struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		require.NoError(t, json.Unmarshal(s.msg.Body, &ev))
		if ev.Type == "gdap.command.rejected" {
			out = append(out, ev.Data)
		}
	}
	return out
}

func TestIntake(t *testing.T) {
	t.Parallel()
	t.Run("not a command: rejected", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.send(t, []byte(`{"hello":`))
		require.NoError(t, err)
		rej := b.rejections(t)
		require.Len(t, rej, 1)
		require.Equal(t, "invalid_command", rej[0]["error"].(map[string]any)["code"])
	})
	t.Run("invalid data: accepted and failed", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.command(t, "op-1", command.TypeRelationshipUpdate, map[string]any{"relationshipId": "rel-1", "changes": map[string]any{}})
		o := requireFailed(t, b, "op-1", op.CodeInvalidCommand)
		require.Equal(t, "rel-1", o.Data.RelationshipID, "the target is found in invalid data")
		require.Zero(t, o.Data.Attempts)
		require.Equal(t, "data.changes", o.Data.Error.Field, "the event names the offending field")
		require.True(t, strings.HasPrefix(o.Data.Error.Message, "data.changes: "), o.Data.Error.Message)
		require.Equal(t, "data.changes", b.led.get(t, "op-1").LastError.Field, "the ledger keeps it")
	})
	t.Run("unsupported command type", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.command(t, "op-1", "gdap.relationship.delete", map[string]any{"relationshipId": "rel-1"})
		evs := b.snd.take()
		require.Len(t, evs, 1)
		require.Contains(t, string(evs[0].msg.Body), "unsupported_command")
	})
	t.Run("operation id reused with other content", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.command(t, "op-1", command.TypeSweepRun, map[string]any{})
		b.snd.take()
		b.command(t, "op-1", command.TypeRemoveDAP, map[string]any{"customerTenantId": customerB})
		rej := b.rejections(t)
		require.Len(t, rej, 1)
		require.Equal(t, "conflict", rej[0]["error"].(map[string]any)["code"])
	})
	t.Run("duplicate of a finished operation re-publishes an unconfirmed outcome", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		body := commandBody(t, "op-1", command.TypeRemoveDAP, map[string]any{"customerTenantId": customerB})
		_, err := b.send(t, body)
		require.NoError(t, err)
		first := b.outcome(t, "op-1")
		_, err = b.send(t, body)
		require.NoError(t, err)
		require.Len(t, b.outcomes(t)["op-1"], 1, "confirmed: not published again")
		rec := b.led.get(t, "op-1")
		rec.OutcomePublished = false
		b.led.put(rec)
		_, err = b.send(t, body)
		require.NoError(t, err)
		os := b.outcomes(t)["op-1"]
		require.Len(t, os, 2)
		require.Equal(t, first.MessageID, os[1].MessageID, "the same event again")
	})
	t.Run("unreadable and unknown continuations are acknowledged", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.NoError(t, b.eng.HandleContinuation(t.Context(), b.inv("x"), []byte("{")))
		body, err := json.Marshal(op.Continuation{Kind: op.KindResume, OperationID: "nope", WakeID: "nope.c1"})
		require.NoError(t, err)
		require.NoError(t, b.eng.HandleContinuation(t.Context(), b.inv("nope.c1"), body))
		require.Empty(t, b.snd.take())
	})
	t.Run("sweep continuations go to the sweeper", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		body, err := json.Marshal(op.Continuation{Kind: op.KindSweep, Sweep: json.RawMessage(`{"sweepId":"s","page":1}`)})
		require.NoError(t, err)
		require.NoError(t, b.eng.HandleContinuation(t.Context(), b.inv("s.p1"), body))
		require.Equal(t, 1, b.sw.continued)
		nb := setup(t, func(o *Options) { o.Sweeper = nil })
		require.NoError(t, nb.eng.HandleContinuation(t.Context(), nb.inv("s.p1"), body), "dropped without a sweeper")
	})
	t.Run("a send that keeps failing fails the invocation", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.snd.fail = func(entity string, _ bus.Message) bool { return entity == testEvents }
		ctx, cancel := context.WithCancel(t.Context())
		cancel() // no back-off wait between the send attempts
		err := b.eng.HandleCommand(ctx, b.inv("m1"), commandBody(t, "op-1", command.TypeRemoveDAP, map[string]any{"customerTenantId": customerB}))
		require.ErrorIs(t, err, errSend)
		require.False(t, b.led.get(t, "op-1").OutcomePublished)
	})
}

func TestAct(t *testing.T) {
	t.Parallel()
	waitingRecord := func(t *testing.T, b *testBundle) ledger.Record {
		t.Helper()
		rel := b.addRelationship(t, gdap.Relationship{DisplayName: "a1"})
		b.command(t, "op-1", command.TypeRelationshipRequest, map[string]any{"relationshipId": rel, "action": gdap.ActionLockForApproval})
		rec := b.led.get(t, "op-1")
		require.Equal(t, ledger.StateWaiting, rec.State)
		return rec
	}
	t.Run("redelivered command re-sends its continuation", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, gdap.Relationship{DisplayName: "a2"})
		body := commandBody(t, "op-1", command.TypeRelationshipRequest, map[string]any{"relationshipId": rel, "action": gdap.ActionLockForApproval})
		require.NoError(t, b.eng.HandleCommand(t.Context(), b.inv("m1"), body))
		first := b.continuationIDs()
		b.snd.take()
		require.NoError(t, b.eng.HandleCommand(t.Context(), b.inv("m1"), body))
		require.Equal(t, first, b.continuationIDs())
	})
	t.Run("stale continuation is ignored", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		waitingRecord(t, b)
		b.snd.take()
		body, err := json.Marshal(op.Continuation{Kind: op.KindResume, OperationID: "op-1", WakeID: "op-1.c0", Step: "pollRequest"})
		require.NoError(t, err)
		require.NoError(t, b.eng.HandleContinuation(t.Context(), b.inv("op-1.c0"), body))
		require.Empty(t, b.snd.take())
	})
	t.Run("lease held: check scheduled, then taken over", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rec := waitingRecord(t, b)
		b.snd.take()
		rec.State = ledger.StateRunning
		rec.WakeID = ""
		rec.UpdatedAt = b.clock.Now().Add(-time.Minute)
		b.led.put(rec)
		body, err := json.Marshal(op.Continuation{Kind: op.KindResume, OperationID: "op-1", WakeID: rec.WakeID})
		require.NoError(t, err)
		require.NoError(t, b.eng.HandleContinuation(t.Context(), b.inv("dup"), body))
		sent := b.snd.take()
		require.Len(t, sent, 1)
		var c op.Continuation
		require.NoError(t, json.Unmarshal(sent[0].msg.Body, &c))
		require.Equal(t, op.KindLeaseCheck, c.Kind)
		require.False(t, sent[0].msg.ScheduledEnqueueTime.Before(rec.UpdatedAt.Add(5*time.Minute)))
		b.clock.AdvanceTo(*sent[0].msg.ScheduledEnqueueTime)
		require.NoError(t, b.eng.HandleContinuation(t.Context(), b.inv(sent[0].msg.MessageID), sent[0].msg.Body))
		b.deliver(t)
		requireSucceeded(t, b, "op-1")
	})
	t.Run("lost claim race: re-decided from the fresh record", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rec := waitingRecord(t, b)
		b.snd.take()
		rec.State = ledger.StateAccepted
		b.led.put(rec)
		b.led.beforeUpdate = func(r *ledger.Record) (error, bool) {
			b.led.beforeUpdate = nil
			other := *r
			other.State = ledger.StateRunning
			other.UpdatedAt = b.clock.Now()
			other.Workflow = encodeState(&wfState{LastInputID: "m-other", Lease: "other"})
			b.led.put(other) // another invocation claimed it first
			return nil, false
		}
		require.NoError(t, b.eng.HandleCommand(t.Context(), b.inv("m9"), commandBody(t, "op-1", command.TypeRelationshipRequest,
			map[string]any{"relationshipId": rec.TargetID, "action": gdap.ActionLockForApproval})))
		sent := b.snd.take()
		require.Len(t, sent, 1)
		var c op.Continuation
		require.NoError(t, json.Unmarshal(sent[0].msg.Body, &c))
		require.Equal(t, op.KindLeaseCheck, c.Kind, "the winner holds the lease")
	})
	t.Run("poll superseded by a duplicate continuation", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		waitingRecord(t, b)
		m, ok := b.snd.popContinuation()
		require.True(t, ok)
		b.led.beforeUpdate = func(r *ledger.Record) (error, bool) {
			b.led.beforeUpdate = nil
			other := *r
			other.WakeID = "op-1.c99"
			other.Workflow = encodeState(&wfState{Seq: 99, LastInputID: "m-other"})
			b.led.put(other)
			return nil, false
		}
		require.NoError(t, b.eng.HandleContinuation(t.Context(), b.inv(m.MessageID), m.Body))
		require.Empty(t, b.continuationIDs(), "the other invocation schedules the next poll")
		require.Equal(t, "op-1.c99", b.led.get(t, "op-1").WakeID)
	})
	t.Run("outcome sent but not marked: still done", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.led.beforeUpdate = func(r *ledger.Record) (error, bool) {
			if r.OutcomePublished {
				return errTableOutage, false
			}
			return nil, false
		}
		b.command(t, "op-1", command.TypeRemoveDAP, map[string]any{"customerTenantId": customerB})
		b.outcome(t, "op-1")
		require.False(t, b.led.get(t, "op-1").OutcomePublished)
	})
}
