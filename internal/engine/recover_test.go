package engine

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/reaper"
)

// memDueIndex is an in-memory due index recording its entries.
type memDueIndex struct {
	mu      sync.Mutex
	entries map[string]map[time.Time]bool
}

func newMemDueIndex() *memDueIndex { return &memDueIndex{entries: map[string]map[time.Time]bool{}} }

func (d *memDueIndex) Add(_ context.Context, id string, due time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.entries[id] == nil {
		d.entries[id] = map[time.Time]bool{}
	}
	d.entries[id][due.UTC().Truncate(100*time.Nanosecond)] = true
	return nil
}

func (d *memDueIndex) Remove(_ context.Context, id string, due time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.entries[id], due.UTC().Truncate(100*time.Nanosecond))
	return nil
}

// dues returns the due times filed for id.
func (d *memDueIndex) dues(id string) []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []time.Time
	for t := range d.entries[id] {
		out = append(out, t)
	}
	return out
}

const recoverRel = "5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836"

// strandedRecord stores a record of a request operation in state st.
func strandedRecord(t *testing.T, b *testBundle, id string, st ledger.State, tune func(*ledger.Record)) *ledger.Record {
	t.Helper()
	body := commandBody(t, id, command.TypeRelationshipRequest, map[string]any{"relationshipId": recoverRel, "action": "lockForApproval"})
	env, err := command.ParseEnvelope(body)
	require.NoError(t, err)
	now := b.clock.Now().UTC()
	rec := &ledger.Record{
		OperationID: id, CommandType: env.Type, Source: env.Source, ContentHash: env.ContentHash, TargetID: recoverRel,
		State: st, Step: string(stepPollRequest), Attempts: 1, AcceptedAt: now, UpdatedAt: now, Command: body,
		Workflow: encodeState(&wfState{Seq: 1, LastInputID: "m1"}),
	}
	if st == ledger.StateWaiting {
		rec.WakeID, rec.WakeAt = id+".c1", now.Add(time.Minute)
	}
	if tune != nil {
		tune(rec)
	}
	require.NoError(t, b.led.Create(t.Context(), rec))
	got, err := b.led.Get(t.Context(), id)
	require.NoError(t, err)
	return got
}

func TestRecover(t *testing.T) {
	t.Parallel()
	newBundle := func(t *testing.T) (*testBundle, *memDueIndex) {
		idx := newMemDueIndex()
		return setup(t, func(o *Options) { o.DueIndex = idx; o.OperationDeadline = 24 * time.Hour }), idx
	}
	recoverNow := func(t *testing.T, b *testBundle, rec *ledger.Record) reaper.Outcome {
		t.Helper()
		out, err := b.eng.Recover(t.Context(), b.inv("reaper"), rec)
		require.NoError(t, err)
		return out
	}

	t.Run("finished, outcome unpublished: republished", func(t *testing.T) {
		t.Parallel()
		b, _ := newBundle(t)
		rec := strandedRecord(t, b, "op-fin", ledger.StateFailed, func(r *ledger.Record) {
			r.FinishedAt, r.LastError = r.UpdatedAt, op.Failf(op.CodeUpstreamUnavailable, "down")
		})
		out := recoverNow(t, b, rec)
		require.Equal(t, reaper.Outcome{Action: reaper.ActionRepublished}, out)
		require.Equal(t, "gdap.operation.failed", b.outcome(t, "op-fin").Type)
		got, err := b.led.Get(t.Context(), "op-fin")
		require.NoError(t, err)
		require.True(t, got.OutcomePublished)
	})

	t.Run("deadline passed: timed out", func(t *testing.T) {
		t.Parallel()
		b, idx := newBundle(t)
		rec := strandedRecord(t, b, "op-late", ledger.StateWaiting, nil)
		b.clock.Advance(25 * time.Hour)
		out := recoverNow(t, b, rec)
		require.Equal(t, reaper.Outcome{Action: reaper.ActionTimedOut}, out)
		o := b.outcome(t, "op-late")
		require.Equal(t, "gdap.operation.failed", o.Type)
		require.Equal(t, op.CodeOperationTimedOut, o.Data.Error.Code)
		got, err := b.led.Get(t.Context(), "op-late")
		require.NoError(t, err)
		require.Equal(t, ledger.StateFailed, got.State)
		require.True(t, got.OutcomePublished)
		require.Empty(t, idx.dues("op-late"))
	})

	t.Run("waiting past its wake time: resent under a new id", func(t *testing.T) {
		t.Parallel()
		b, idx := newBundle(t)
		rec := strandedRecord(t, b, "op-lost", ledger.StateWaiting, nil)
		b.clock.Advance(10*time.Minute + 300*time.Millisecond)
		out := recoverNow(t, b, rec)
		want := b.clock.Now().Truncate(time.Second).Add(time.Second)
		require.Equal(t, reaper.Outcome{Action: reaper.ActionResent, NextDue: want}, out)
		require.Contains(t, idx.dues("op-lost"), want, "the new due time is filed")
		sent := b.snd.take()
		require.Len(t, sent, 1)
		require.Equal(t, "op-lost.c2", sent[0].msg.MessageID)
		require.Equal(t, want, *sent[0].msg.ScheduledEnqueueTime)
		var c op.Continuation
		require.NoError(t, json.Unmarshal(sent[0].msg.Body, &c))
		require.Equal(t, op.Continuation{Kind: op.KindResume, OperationID: "op-lost", WakeID: "op-lost.c2", Step: string(stepPollRequest)}, c)
		got, err := b.led.Get(t.Context(), "op-lost")
		require.NoError(t, err)
		require.Equal(t, ledger.StateWaiting, got.State)
		require.Equal(t, "op-lost.c2", got.WakeID)
	})

	t.Run("running with an expired lease: resent", func(t *testing.T) {
		t.Parallel()
		b, _ := newBundle(t)
		rec := strandedRecord(t, b, "op-crashed", ledger.StateRunning, nil)
		b.clock.Advance(10 * time.Minute)
		out := recoverNow(t, b, rec)
		require.Equal(t, reaper.ActionResent, out.Action)
		sent := b.snd.take()
		require.Len(t, sent, 1)
		require.Equal(t, "op-crashed.c2", sent[0].msg.MessageID)
	})

	t.Run("running under a live lease: nothing stranded", func(t *testing.T) {
		t.Parallel()
		b, _ := newBundle(t)
		rec := strandedRecord(t, b, "op-busy", ledger.StateRunning, nil)
		b.clock.Advance(time.Minute)
		out := recoverNow(t, b, rec)
		require.Equal(t, reaper.Outcome{Action: reaper.ActionNone, NextDue: rec.UpdatedAt.Add(5 * time.Minute)}, out)
		require.Empty(t, b.snd.take())
	})

	t.Run("waiting, not yet due: nothing stranded", func(t *testing.T) {
		t.Parallel()
		b, _ := newBundle(t)
		rec := strandedRecord(t, b, "op-early", ledger.StateWaiting, nil)
		out := recoverNow(t, b, rec)
		require.Equal(t, reaper.Outcome{Action: reaper.ActionNone, NextDue: rec.WakeAt}, out)
		require.Empty(t, b.snd.take())
	})

	t.Run("ETag conflict: re-read and decided again", func(t *testing.T) {
		t.Parallel()
		b, _ := newBundle(t)
		stale := strandedRecord(t, b, "op-raced", ledger.StateWaiting, nil)
		b.clock.Advance(10 * time.Minute)
		// Another invocation finished it after the reaper read it.
		fresh, err := b.led.Get(t.Context(), "op-raced")
		require.NoError(t, err)
		fresh.State, fresh.FinishedAt, fresh.Result, fresh.OutcomePublished = ledger.StateSucceeded, b.clock.Now(), []byte(`{}`), true
		require.NoError(t, b.led.Update(t.Context(), fresh))
		out := recoverNow(t, b, stale)
		require.Equal(t, reaper.Outcome{Action: reaper.ActionNone}, out)
		require.Empty(t, b.snd.take())
	})
}

// TestDueIndexKeptByTheEngine: every unfinished operation has an entry at
// its real due time, and a finished, published one has none.
func TestDueIndexKeptByTheEngine(t *testing.T) {
	t.Parallel()
	idx := newMemDueIndex()
	b := setup(t, func(o *Options) { o.DueIndex = idx })
	rel := b.addRelationship(t, gdap.Relationship{DisplayName: "r1"})
	b.command(t, "op-idx", command.TypeRelationshipRequest, map[string]any{"relationshipId": rel, "action": "lockForApproval"})
	rec, err := b.led.Get(t.Context(), "op-idx")
	require.NoError(t, err)
	require.Equal(t, ledger.StateWaiting, rec.State)
	require.Equal(t, []time.Time{rec.WakeAt}, idx.dues("op-idx"))
	b.deliver(t)
	rec, err = b.led.Get(t.Context(), "op-idx")
	require.NoError(t, err)
	require.True(t, rec.IsTerminal())
	require.Empty(t, idx.dues("op-idx"))
}

// tickingClock moves on by a millisecond at every reading, as a real clock
// does between two calls.
type tickingClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *tickingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Millisecond)
	return c.now
}

// TestDueIndexLeavesNoEntryBehind: with a clock that moves between
// readings, every entry the engine files is the one it later removes, so a
// finished operation has none left (a stale entry costs the reaper a read).
func TestDueIndexLeavesNoEntryBehind(t *testing.T) {
	t.Parallel()
	idx := newMemDueIndex()
	b := setup(t, func(o *Options) { o.DueIndex = idx })
	clock := &tickingClock{now: testStart}
	inv := func(id string) op.Invocation {
		i := b.inv(id)
		i.Clock = clock
		return i
	}
	rel := b.addRelationship(t, active("u1"))
	// A failed PATCH makes the retry claim the record from a wait.
	require.NoError(t, b.sim.AddFault(graphsim.Fault{Route: graphsim.RouteRelationship, Method: "PATCH", Kind: graphsim.FaultUnavailable, Times: 1}))
	body := commandBody(t, "op-tick", command.TypeRelationshipUpdate, map[string]any{"relationshipId": rel, "changes": map[string]any{"autoExtendDuration": gdap.AutoExtendOn}})
	require.NoError(t, b.eng.HandleCommand(t.Context(), inv("m1"), body))
	for range 50 {
		m, ok := b.snd.popContinuation()
		if !ok {
			break
		}
		b.clock.AdvanceTo(*m.ScheduledEnqueueTime)
		clock.mu.Lock()
		clock.now = b.clock.Now()
		clock.mu.Unlock()
		require.NoError(t, b.eng.HandleContinuation(t.Context(), inv(m.MessageID), m.Body))
	}
	requireSucceeded(t, b, "op-tick")
	require.Empty(t, idx.dues("op-tick"))
}

// TestRecoverReWakeLostResponse: the reaper's re-wake write takes effect
// but its answer is lost; the SDK's retry meets the ETag the first try
// produced. The re-read shows the reaper's own write, so the continuation
// is sent (the one rule of write.go), instead of a record naming a wake id
// no message carries.
func TestRecoverReWakeLostResponse(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.OperationDeadline = 24 * time.Hour })
	rec := strandedRecord(t, b, "op-rewake-lost", ledger.StateWaiting, nil)
	b.clock.Advance(10 * time.Minute)
	var once sync.Once
	b.led.beforeUpdate = func(*ledger.Record) (error, bool) {
		var err error
		once.Do(func() { err = ledger.ErrConflict })
		return err, err != nil // written, then answered with the retry's 412
	}
	out, err := b.eng.Recover(t.Context(), b.inv("reaper"), rec)
	require.NoError(t, err)
	require.Equal(t, reaper.ActionResent, out.Action)
	got, err := b.led.Get(t.Context(), "op-rewake-lost")
	require.NoError(t, err)
	sent := b.snd.take()
	require.Len(t, sent, 1)
	require.Equal(t, got.WakeID, sent[0].msg.MessageID, "the continuation the record names was sent")
}
