package reaper_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/localenv"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/reaper"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

func TestMain(m *testing.M) { localenv.Main(m) }

var t0 = time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)

// fakeRecoverer stands in for the engine: it answers each operation with a
// configured outcome (or error) and may advance the clock, as a slow
// recovery would.
type fakeRecoverer struct {
	clock   *vclock.Virtual
	cost    time.Duration
	mu      sync.Mutex
	answers map[string]reaper.Outcome
	errs    map[string]error
	calls   []string
}

var _ reaper.Recoverer = (*fakeRecoverer)(nil)

func (f *fakeRecoverer) Recover(_ context.Context, rec *ledger.Record) (reaper.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, rec.OperationID)
	f.clock.Advance(f.cost)
	if err := f.errs[rec.OperationID]; err != nil {
		return reaper.Outcome{}, err
	}
	return f.answers[rec.OperationID], nil
}

func (f *fakeRecoverer) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

type testBundle struct {
	clock *vclock.Virtual
	store *ledger.Store
	index *ledger.DueIndex
	rec   *fakeRecoverer
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	az := localenv.SharedAzurite(t)
	client, err := az.NewTableClient(localenv.UniqueName("reaper"))
	require.NoError(t, err)
	store := ledger.New(client)
	require.NoError(t, store.EnsureTable(t.Context()))
	clock := vclock.NewFrozen(t0)
	return &testBundle{
		clock: clock,
		store: store,
		index: ledger.NewDueIndex(client, nil), // shares the ledger table
		rec:   &fakeRecoverer{clock: clock, answers: map[string]reaper.Outcome{}, errs: map[string]error{}},
	}
}

func (b *testBundle) reaper(t *testing.T, mod func(*reaper.Config)) *reaper.Reaper {
	t.Helper()
	cfg := reaper.Config{Index: b.index, Records: b.store, Recoverer: b.rec, Clock: b.clock, Grace: time.Minute,
		Logger: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&cfg)
	}
	r, err := reaper.New(cfg)
	require.NoError(t, err)
	return r
}

// waiting stores a record waiting for a continuation due at due, with its
// index entry (written first, as the engine does).
func (b *testBundle) waiting(t *testing.T, id string, due time.Time) {
	t.Helper()
	require.NoError(t, b.index.Add(t.Context(), id, due))
	require.NoError(t, b.store.Create(t.Context(), &ledger.Record{
		OperationID: id, CommandType: "gdap.relationship.update", Source: "/tests", ContentHash: "h",
		State: ledger.StateWaiting, Step: "poll", WakeID: id + ".wake.1", WakeAt: due, AcceptedAt: t0.Add(-time.Hour),
	}))
}

func (b *testBundle) tick(t *testing.T, r *reaper.Reaper) reaper.Report {
	t.Helper()
	rep, err := r.Tick(t.Context())
	require.NoError(t, err)
	return rep
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	_, err := reaper.New(reaper.Config{})
	require.ErrorContains(t, err, "Config.Index")
	require.ErrorContains(t, err, "Config.Records")
	require.ErrorContains(t, err, "Config.Recoverer")
}

// TestTickRecovers runs one tick over every kind of entry and a second one
// to show where the entries were filed.
func TestTickRecovers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	r := b.reaper(t, nil)
	b.clock.AdvanceTo(t0.Add(10 * time.Minute))
	next := t0.Add(15 * time.Minute)

	b.waiting(t, "resend", t0)
	b.rec.answers["resend"] = reaper.Outcome{Action: reaper.ActionResent, NextDue: next}
	b.waiting(t, "deadline", t0.Add(time.Minute))
	b.rec.answers["deadline"] = reaper.Outcome{Action: reaper.ActionTimedOut}
	b.waiting(t, "moved-on", t0.Add(2*time.Minute))
	b.rec.answers["moved-on"] = reaper.Outcome{Action: reaper.ActionNone, NextDue: next}
	b.waiting(t, "flaky", t0.Add(3*time.Minute))
	b.rec.errs["flaky"] = errors.New("service bus unavailable")
	b.waiting(t, "within-grace", t0.Add(9*time.Minute+30*time.Second))
	b.waiting(t, "future", t0.Add(20*time.Minute))

	// Finished but not published: the Recoverer republishes.
	b.waiting(t, "unpublished", t0.Add(4*time.Minute))
	rec, err := b.store.Get(ctx, "unpublished")
	require.NoError(t, err)
	rec.State, rec.FinishedAt = ledger.StateSucceeded, t0
	require.NoError(t, b.store.Update(ctx, rec))
	b.rec.answers["unpublished"] = reaper.Outcome{Action: reaper.ActionRepublished}

	// Stale entries: finished and published, or no record at all.
	b.waiting(t, "done", t0.Add(5*time.Minute))
	rec, err = b.store.Get(ctx, "done")
	require.NoError(t, err)
	rec.State, rec.OutcomePublished = ledger.StateFailed, true
	require.NoError(t, b.store.Update(ctx, rec))
	require.NoError(t, b.index.Add(ctx, "never-created", t0.Add(6*time.Minute)))

	rep := b.tick(t, r)
	require.Equal(t, []string{"resend", "deadline", "moved-on", "flaky", "unpublished"}, b.rec.called())
	require.Equal(t, reaper.Report{Scanned: 7, Stale: 2, Resent: 1, TimedOut: 1, Republished: 1, NotStranded: 1, Failed: 1,
		MaxOverdue: 10 * time.Minute}, rep)
	require.Equal(t, 3, rep.Recovered())

	// Only the failed one is still overdue; the re-sent and not-stranded
	// ones are filed under their next due time, the finished ones are gone.
	got, err := b.index.Overdue(ctx, b.clock.Now(), 100)
	require.NoError(t, err)
	require.Equal(t, []ledger.DueEntry{
		{OperationID: "flaky", Due: t0.Add(3 * time.Minute)},
		{OperationID: "within-grace", Due: t0.Add(9*time.Minute + 30*time.Second)},
	}, got)

	delete(b.rec.errs, "flaky")
	b.rec.answers["flaky"] = reaper.Outcome{Action: reaper.ActionResent, NextDue: next}
	b.clock.AdvanceTo(next.Add(time.Minute))
	rep = b.tick(t, r)
	require.Equal(t, []string{"flaky", "within-grace", "moved-on", "resend"}, b.rec.called(),
		"earliest first; the re-filed ones at their next due time, by id")
	require.Equal(t, 4, rep.Scanned)
}

// TestTickBoundedByPageSize drains a backlog a page per tick.
func TestTickBoundedByPageSize(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.reaper(t, func(c *reaper.Config) { c.PageSize = 2 })
	b.clock.AdvanceTo(t0.Add(time.Hour))
	for i := range 5 {
		id := fmt.Sprintf("op-%d", i)
		b.waiting(t, id, t0.Add(time.Duration(i)*time.Second))
		b.rec.answers[id] = reaper.Outcome{Action: reaper.ActionTimedOut}
	}
	var reports []reaper.Report
	for range 4 {
		reports = append(reports, b.tick(t, r))
	}
	require.Equal(t, []reaper.Report{
		{Scanned: 2, TimedOut: 2, Truncated: true, MaxOverdue: time.Hour},
		{Scanned: 2, TimedOut: 2, Truncated: true, MaxOverdue: time.Hour - 2*time.Second},
		{Scanned: 1, TimedOut: 1, MaxOverdue: time.Hour - 4*time.Second},
		{},
	}, reports)
	require.Equal(t, []string{"op-0", "op-1", "op-2", "op-3", "op-4"}, b.rec.called(), "earliest first")
}

// TestTickBoundedByBudget stops starting recoveries once the budget is
// spent by the clock; the rest is left for the next tick.
func TestTickBoundedByBudget(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.reaper(t, func(c *reaper.Config) { c.Budget = 25 * time.Second })
	b.rec.cost = 10 * time.Second
	b.clock.AdvanceTo(t0.Add(time.Hour))
	for i := range 5 {
		id := fmt.Sprintf("op-%d", i)
		b.waiting(t, id, t0.Add(time.Duration(i)*time.Second))
		b.rec.answers[id] = reaper.Outcome{Action: reaper.ActionResent, NextDue: t0.Add(2 * time.Hour)}
	}
	rep := b.tick(t, r)
	require.Equal(t, reaper.Report{Scanned: 5, Resent: 3, Truncated: true, Elapsed: 30 * time.Second, MaxOverdue: time.Hour}, rep)
	rep = b.tick(t, r)
	require.Equal(t, reaper.Report{Scanned: 2, Resent: 2, Elapsed: 20 * time.Second, MaxOverdue: time.Hour + 27*time.Second}, rep)
	require.Equal(t, []string{"op-0", "op-1", "op-2", "op-3", "op-4"}, b.rec.called())
}

// TestTickFailsWhenIndexUnreadable reports an index failure as the tick's
// error (the timer invocation fails and the next one tries again).
func TestTickFailsWhenIndexUnreadable(t *testing.T) {
	t.Parallel()
	az := localenv.SharedAzurite(t)
	client, err := az.NewTableClient(localenv.UniqueName("missing"))
	require.NoError(t, err)
	r, err := reaper.New(reaper.Config{
		Index: ledger.NewDueIndex(client, nil), Records: ledger.New(client),
		Recoverer: reaper.RecovererFunc(func(context.Context, *ledger.Record) (reaper.Outcome, error) {
			return reaper.Outcome{}, errors.New("never called")
		}),
		Clock:  vclock.NewFrozen(t0),
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	_, err = r.Tick(t.Context())
	require.ErrorContains(t, err, "overdue slice")
}

// TestTickRecorded keeps every tick's report in the due index's table,
// idle ticks included, each replacing the one before.
func TestTickRecorded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	r := b.reaper(t, func(c *reaper.Config) { c.Recorder = b.index })
	_, ok, err := b.index.LastTick(ctx)
	require.NoError(t, err)
	require.False(t, ok, "no tick yet")

	b.clock.AdvanceTo(t0.Add(10 * time.Minute))
	b.waiting(t, "resend", t0)
	b.rec.answers["resend"] = reaper.Outcome{Action: reaper.ActionResent, NextDue: t0.Add(time.Hour)}
	b.tick(t, r)
	got, ok, err := b.index.LastTick(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, ledger.ReaperTick{At: t0.Add(10 * time.Minute), MaxOverdue: 10 * time.Minute, Scanned: 1, Resent: 1}, got)

	b.clock.AdvanceTo(t0.Add(15 * time.Minute))
	b.tick(t, r)
	got, ok, err = b.index.LastTick(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, ledger.ReaperTick{At: t0.Add(15 * time.Minute)}, got, "an idle tick is recorded too")
	overdue, err := b.index.Overdue(ctx, t0.Add(30*time.Minute), 100)
	require.NoError(t, err)
	require.Empty(t, overdue, "the record is never taken for an index entry")
}
