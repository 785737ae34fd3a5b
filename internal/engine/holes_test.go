package engine

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
)

// lostResponse makes the next Update that match selects take effect and
// then fail with ErrConflict: what aztables reports when the response to a
// write was lost and its retry met the ETag the first try produced.
func (l *memLedger) lostResponse(match func(r *ledger.Record) bool) {
	l.beforeUpdate = func(r *ledger.Record) (error, bool) {
		if !match(r) {
			return nil, false
		}
		l.beforeUpdate = nil
		return ledger.ErrConflict, true
	}
}

func TestSameWrite(t *testing.T) {
	t.Parallel()
	now := testStart
	base := ledger.Record{OperationID: "op", State: ledger.StateWaiting, Step: "pollRequest", Attempts: 2,
		WakeID: "op.c3", UpdatedAt: now, Workflow: encodeState(&wfState{Seq: 3, LastInputID: "m1", Lease: "a"})}
	tests := []struct {
		name   string
		change func(r *ledger.Record)
		want   bool
	}{
		{"identical", func(*ledger.Record) {}, true},
		{"only the etag differs", func(r *ledger.Record) { r.ETag = `W/"9"` }, true},
		{"another wake id", func(r *ledger.Record) { r.WakeID = "op.c4" }, false},
		{"another state", func(r *ledger.Record) { r.State = ledger.StateRunning }, false},
		{"another step", func(r *ledger.Record) { r.Step = "finish" }, false},
		{"another attempt", func(r *ledger.Record) { r.Attempts = 3 }, false},
		{"another time", func(r *ledger.Record) { r.UpdatedAt = now.Add(time.Millisecond) }, false},
		{"another input", func(r *ledger.Record) {
			r.Workflow = encodeState(&wfState{Seq: 3, LastInputID: "m2", Lease: "a"})
		}, false},
		{"another lease holder", func(r *ledger.Record) {
			r.Workflow = encodeState(&wfState{Seq: 3, LastInputID: "m1", Lease: "b"})
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stored := base
			tt.change(&stored)
			require.Equal(t, tt.want, sameWrite(&base, &stored))
		})
	}
}

// Hole 1: a poll step (no lease) whose wait write took effect but answered
// 412 on the SDK's retry used to be treated as superseded: the record named
// a wake id no message carried and the operation stranded.
func TestHole1PollWriteLostResponse(t *testing.T) {
	t.Parallel()
	t.Run("wait", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, gdap.Relationship{DisplayName: "h1"})
		b.command(t, "op-1", command.TypeRelationshipRequest, map[string]any{"relationshipId": rel, "action": gdap.ActionLockForApproval})
		m, ok := b.snd.popContinuation()
		require.True(t, ok)
		b.led.lostResponse(func(r *ledger.Record) bool { return r.State == ledger.StateWaiting })
		require.NoError(t, b.eng.HandleContinuation(t.Context(), b.inv(m.MessageID), m.Body))
		rec := b.led.get(t, "op-1")
		require.Equal(t, ledger.StateWaiting, rec.State)
		require.Equal(t, []string{rec.WakeID}, b.continuationIDs(), "the continuation the record names was sent")
		b.deliver(t)
		requireSucceeded(t, b, "op-1")
	})
	t.Run("finish", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, gdap.Relationship{DisplayName: "h1f"})
		require.NoError(t, b.sim.FailNextRequest(rel))
		b.command(t, "op-1", command.TypeRelationshipRequest, map[string]any{"relationshipId": rel, "action": gdap.ActionLockForApproval})
		b.led.lostResponse(func(r *ledger.Record) bool { return r.State == ledger.StateFailed && !r.OutcomePublished })
		b.deliver(t)
		requireFailed(t, b, "op-1", op.CodeOperationFailed)
	})
}

// Hole 4: the outcome write of a claimed invocation that took effect but
// answered 412 on the retry used to fail the invocation (and rely on a
// redelivery); it now publishes the outcome at once.
func TestHole4OutcomeWriteLostResponse(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.led.lostResponse(func(r *ledger.Record) bool { return r.State == ledger.StateSucceeded && !r.OutcomePublished })
	_, err := b.send(t, commandBody(t, "op-1", command.TypeRemoveDAP, map[string]any{"customerTenantId": customerB}))
	require.NoError(t, err, "answered 200")
	requireSucceeded(t, b, "op-1")
}

// A conflict that is not this invocation's own write still stops it: the
// operation is re-decided from what is stored.
func TestConflictWithAnotherWriteIsSuperseded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.led.beforeUpdate = func(r *ledger.Record) (error, bool) {
		if r.State != ledger.StateSucceeded {
			return nil, false
		}
		b.led.beforeUpdate = nil
		other := *r
		other.FinishedAt = other.FinishedAt.Add(time.Second) // another invocation finished it
		other.UpdatedAt = other.FinishedAt
		other.OutcomePublished = true
		b.led.put(other)
		return nil, false
	}
	_, err := b.send(t, commandBody(t, "op-1", command.TypeRemoveDAP, map[string]any{"customerTenantId": customerB}))
	require.NoError(t, err)
	require.Empty(t, b.outcomes(t), "the other invocation published the outcome")
}

// Hole 2: a lease check delivered slightly early (AMQP carries whole
// milliseconds) used to re-send itself under its own message id, which
// duplicate detection drops: the operation stayed running for ever.
func TestHole2EarlyLeaseCheckResendsUnderAFreshID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := commandBody(t, "op-1", command.TypeRemoveDAP, map[string]any{"customerTenantId": customerB})
	claimed := ledger.Record{OperationID: "op-1", CommandType: command.TypeRemoveDAP, State: ledger.StateRunning, Attempts: 1,
		AcceptedAt: testStart, UpdatedAt: testStart.Add(123456 * time.Microsecond), Command: body,
		Workflow: encodeState(&wfState{LastInputID: "m0"})}
	env, err := command.ParseEnvelope(body)
	require.NoError(t, err)
	claimed.ContentHash = env.ContentHash
	b.led.put(claimed)
	expiry := claimed.UpdatedAt.Add(b.opts.LeaseDuration)

	_, err = b.send(t, body) // a duplicate finds the lease held
	require.NoError(t, err)
	check := b.snd.take()
	require.Len(t, check, 1)
	at := *check[0].msg.ScheduledEnqueueTime
	require.True(t, at.After(expiry), "scheduled after the lease expires, rounded up: %s", at)
	require.Equal(t, op.ScheduleAt(expiry), at)

	// Delivered 1 ms early (before the rounding, or by a broker that is).
	b.clock.AdvanceTo(expiry.Add(-time.Millisecond))
	require.NoError(t, b.eng.HandleContinuation(t.Context(), b.inv(check[0].msg.MessageID), check[0].msg.Body))
	again := b.snd.take()
	require.Len(t, again, 1)
	require.NotEqual(t, check[0].msg.MessageID, again[0].msg.MessageID, "a fresh id, or duplicate detection drops it")
	var c op.Continuation
	require.NoError(t, json.Unmarshal(again[0].msg.Body, &c))
	require.Equal(t, op.KindLeaseCheck, c.Kind)

	// Its redelivery re-sends the same id (deterministic).
	require.NoError(t, b.eng.HandleContinuation(t.Context(), b.inv(check[0].msg.MessageID), check[0].msg.Body))
	require.Equal(t, again[0].msg.MessageID, b.snd.take()[0].msg.MessageID)

	// On time, the lease check takes the operation over and finishes it.
	b.clock.AdvanceTo(*again[0].msg.ScheduledEnqueueTime)
	require.NoError(t, b.eng.HandleContinuation(t.Context(), b.inv(again[0].msg.MessageID), again[0].msg.Body))
	requireSucceeded(t, b, "op-1")
}

// Hole 3: gdap.sweep.run refused by the sweep (an earlier version refused
// more than 200 waiting operations) used to answer 500 on every delivery
// until the message dead-lettered. A refusal now ends in an outcome, and
// the sweep no longer has a capacity to refuse for (internal/sweep:
// TestOverlappingTriggers/many_triggers_join_without_limit).
func TestHole3SweepRefusalEndsInAnOutcome(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.sw.startErr = errors.New("sweep: too many operations wait for the running sweep")
	_, err := b.send(t, commandBody(t, "op-1", command.TypeSweepRun, map[string]any{}))
	require.NoError(t, err, "answered 200, not left to redelivery and the dead-letter queue")
	requireFailed(t, b, "op-1", op.CodeInternal)
}

// Sweep policy actions arrive on the continuations queue as commands under
// reserved ids and run like any command.
func TestPolicyCommandOnContinuations(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rel := b.addRelationship(t, active("p1"))
	id := op.ReservedPrefix + "sweep.autoextend." + rel + ".20281122"
	cmd := commandBody(t, id, command.TypeRelationshipUpdate, map[string]any{"relationshipId": rel,
		"changes": map[string]any{"autoExtendDuration": gdap.AutoExtendOn}})
	body, err := json.Marshal(op.Continuation{Kind: op.KindCommand, OperationID: id, Command: cmd})
	require.NoError(t, err)
	require.NoError(t, b.eng.HandleContinuation(t.Context(), b.inv(id), body))
	b.deliver(t)
	requireSucceeded(t, b, id)
}

// A command over the contract's 64 KiB (here 2 MiB) is answered and ends in
// gdap.command.rejected invalid_command naming the limit.
func TestOversizedCommandIsRejected(t *testing.T) {
	t.Parallel()
	b := setup(t)
	big := commandBody(t, "op-big", command.TypeRelationshipUpdate, map[string]any{"relationshipId": "r",
		"changes": map[string]any{"displayName": strings.Repeat("x", 2<<20)}})
	_, err := b.send(t, big)
	require.NoError(t, err)
	rej := b.rejections(t)
	require.Len(t, rej, 1)
	e := rej[0]["error"].(map[string]any)
	require.Equal(t, "invalid_command", e["code"])
	require.Contains(t, e["message"], strconv.Itoa(command.MaxBodyBytes))

	require.NoError(t, b.eng.RejectUndecodable(t.Context(), b.inv("m-huge"), "too large"))
	rej = b.rejections(t)
	require.Len(t, rej, 1)
	require.Equal(t, "m-huge", rej[0]["operationId"])
}
