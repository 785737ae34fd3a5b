// Package reaper finds operations whose next step never came and hands them
// back to the engine.
//
// Every unfinished operation has an entry in the due index
// (ledger.DueIndex) saying when it is next due: a continuation's scheduled
// time, a lease's expiry, the operation deadline. Normally the continuation
// arrives, the engine moves the entry on, and the reaper never sees it. A
// Reaper's Tick, run by a timer (the "reaper" function, every 5 minutes by
// default), reads only the slice of entries overdue by more than Grace, at
// most PageSize of them, re-reads each record from the ledger and, unless
// the entry is stale, asks the Recoverer (the engine) to bring the
// operation forward: re-send its continuation under a fresh id, apply the
// operation deadline (operation_timed_out), or publish an outcome that was
// recorded but not published. It then files the entry under the due time
// the Recoverer reports, or removes it when the operation is finished and
// published. A Tick stops early when its time budget is spent; what is left
// is found by the next one.
//
// functions/reaper/function.json is the timer binding of the "reaper"
// function; the handler serves it as POST /reaper.
//
// The reaper decides nothing about an operation itself: it only reads the
// index and the record and calls the Recoverer, which re-reads and writes
// under the ledger's optimistic concurrency like any other input. A
// recovery racing a late continuation is therefore harmless (one of them
// loses the ETag race and stops as superseded).
package reaper

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// Defaults.
const (
	// PageSizeDefault is how many overdue entries one tick reads at most.
	PageSizeDefault = config.DefaultReaperPageSize
	// BudgetDefault bounds one tick's wall time; it stays well inside the
	// Functions host's timeout for a timer invocation.
	BudgetDefault = config.DefaultReaperBudget
	// GraceDefault is how far past its due time an entry must be before the
	// reaper acts: longer than a continuation's usual delivery delay (the
	// broker may also deliver a scheduled message a little late), so the
	// reaper leaves healthy operations alone.
	GraceDefault = config.DefaultReaperGrace
	// ScheduleSetting names the app setting holding the reaper timer's
	// six-field NCRONTAB schedule (function.json: "%GDAP_REAPER_SCHEDULE%").
	ScheduleSetting = config.SettingReaperSchedule
	// ScheduleDefault is the reaper's schedule when the setting is unset:
	// every 5 minutes, on the minute.
	ScheduleDefault = config.DefaultReaperSchedule
	// FunctionName is the reaper's function (folder) name, hence the
	// custom handler route POST /reaper.
	FunctionName = "reaper"
)

// Action says what a Recoverer did with an overdue operation.
type Action string

// Actions.
const (
	// ActionNone: nothing was stranded (the record moved on, is due later,
	// or another invocation holds a live lease).
	ActionNone Action = "none"
	// ActionResent: the operation's continuation was sent again under a
	// fresh message id.
	ActionResent Action = "resent"
	// ActionTimedOut: the operation deadline had passed; the operation was
	// finished with operation_timed_out and its outcome published.
	ActionTimedOut Action = "timed_out"
	// ActionRepublished: the outcome was recorded but not published; it was
	// published now.
	ActionRepublished Action = "republished"
)

// Outcome is a Recoverer's answer for one operation.
type Outcome struct {
	// Action is what was done.
	Action Action
	// NextDue is when the operation is next due (the re-sent continuation's
	// scheduled time, the lease's expiry): the reaper files the entry under
	// it. Zero means the operation is finished and its outcome published:
	// the entry is removed.
	NextDue time.Time
}

// Recoverer brings a stranded operation forward. The engine implements it.
// rec is the record as just read (with its ETag); Recover decides from what
// is stored, writes with the ETag, and on a conflict re-reads (the ledger's
// one rule for every write). An error leaves the entry where it is, so the
// next tick tries again.
type Recoverer interface {
	Recover(ctx context.Context, rec *ledger.Record) (Outcome, error)
}

// RecovererFunc adapts a function to a Recoverer.
type RecovererFunc func(ctx context.Context, rec *ledger.Record) (Outcome, error)

// Recover calls f.
func (f RecovererFunc) Recover(ctx context.Context, rec *ledger.Record) (Outcome, error) {
	return f(ctx, rec)
}

var _ Recoverer = RecovererFunc(nil)

// Records reads ledger records (*ledger.Store).
type Records interface {
	Get(ctx context.Context, operationID string) (*ledger.Record, error)
}

// Index is the due index (*ledger.DueIndex).
type Index interface {
	Overdue(ctx context.Context, now time.Time, limit int) ([]ledger.DueEntry, error)
	Move(ctx context.Context, operationID string, from, to time.Time) error
	Remove(ctx context.Context, operationID string, due time.Time) error
}

// TickRecorder keeps the most recent tick's report (*ledger.DueIndex).
type TickRecorder interface {
	RecordTick(ctx context.Context, t ledger.ReaperTick) error
}

var (
	_ Records      = (*ledger.Store)(nil)
	_ Index        = (*ledger.DueIndex)(nil)
	_ TickRecorder = (*ledger.DueIndex)(nil)
)

// Config configures a Reaper.
type Config struct {
	// Index is the due index. Required.
	Index Index
	// Records reads the ledger. Required.
	Records Records
	// Recoverer is the engine. Required.
	Recoverer Recoverer
	// Clock decides what is overdue and measures the budget. Default
	// vclock.Real.
	Clock vclock.Clock
	// Logger receives one line per recovery and per tick. Default a JSON
	// handler on stderr at warn level.
	Logger *slog.Logger
	// PageSize is the most entries one tick reads. Default PageSizeDefault.
	PageSize int
	// Budget bounds one tick: no new entry is started after it. Default
	// BudgetDefault.
	Budget time.Duration
	// Grace is how long past due an entry must be. Default GraceDefault;
	// negative means none.
	Grace time.Duration
	// Recorder, when set, receives every tick's report once the tick is
	// done (one Table write per tick), so that when the reaper last ran and
	// what it did can be read back whatever happened to the tick's logs.
	// A failure to record is logged; it does not fail the tick.
	Recorder TickRecorder
}

// WithDefaults returns a copy of c with defaults applied.
func (c Config) WithDefaults() Config {
	if c.Clock == nil {
		c.Clock = vclock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	c.PageSize = cmp.Or(max(c.PageSize, 0), PageSizeDefault)
	c.Budget = cmp.Or(max(c.Budget, 0), BudgetDefault)
	c.Grace = cmp.Or(c.Grace, GraceDefault)
	c.Grace = max(c.Grace, 0)
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.Index == nil {
		errs = append(errs, errors.New("reaper: Config.Index is required"))
	}
	if c.Records == nil {
		errs = append(errs, errors.New("reaper: Config.Records is required"))
	}
	if c.Recoverer == nil {
		errs = append(errs, errors.New("reaper: Config.Recoverer is required"))
	}
	return errors.Join(errs...)
}

// Reaper runs ticks. It is safe for concurrent use, and two ticks running
// at once (two instances) are harmless: the Recoverer's writes are
// ETag-guarded.
type Reaper struct {
	cfg Config
}

// New validates cfg, applies defaults and returns a Reaper.
func New(cfg Config) (*Reaper, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Reaper{cfg: cfg.WithDefaults()}, nil
}

// Report counts what one tick did.
type Report struct {
	// Scanned is how many overdue entries were read.
	Scanned int
	// Stale counts entries removed without a recovery: the record is gone,
	// or finished with its outcome published.
	Stale int
	// Resent, TimedOut, Republished and NotStranded count the Recoverer's
	// actions.
	Resent, TimedOut, Republished, NotStranded int
	// Failed counts entries left for the next tick after an error.
	Failed int
	// Truncated is true when the tick stopped before the overdue slice was
	// known to be exhausted (the page was full or the budget ran out).
	Truncated bool
	// Elapsed is the tick's duration by the clock.
	Elapsed time.Duration
	// MaxOverdue is how far past its due time the earliest entry read was
	// when the tick started: how late the reaper came for the operation
	// waiting longest (zero when nothing was overdue).
	MaxOverdue time.Duration
}

// Recovered is how many operations the Recoverer moved forward.
func (r Report) Recovered() int { return r.Resent + r.TimedOut + r.Republished }

// Tick reads the overdue slice and recovers what it holds. It fails only
// when the index cannot be read; a failure on one entry is logged, counted
// in Report.Failed and left for the next tick.
func (r *Reaper) Tick(ctx context.Context) (Report, error) {
	cfg := r.cfg
	start := cfg.Clock.Now()
	var rep Report
	entries, err := cfg.Index.Overdue(ctx, start.Add(-cfg.Grace), cfg.PageSize)
	if err != nil {
		return rep, fmt.Errorf("reaper: read the overdue slice: %w", err)
	}
	rep.Scanned = len(entries)
	rep.Truncated = len(entries) == cfg.PageSize
	if len(entries) > 0 {
		rep.MaxOverdue = max(start.Sub(entries[0].Due), 0)
	}
	for i, e := range entries {
		if ctx.Err() != nil || cfg.Clock.Now().Sub(start) >= cfg.Budget {
			rep.Truncated = true
			cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "reaper tick stopped at its budget; the rest waits for the next tick",
				slog.Int("left", len(entries)-i), slog.Duration("budget", cfg.Budget))
			break
		}
		if err := r.one(ctx, e, &rep); err != nil {
			rep.Failed++
			cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "reaper could not recover an operation; the next tick retries",
				slog.String("operation_id", e.OperationID), slog.Time("due", e.Due), slog.String("error", err.Error()))
		}
	}
	rep.Elapsed = cfg.Clock.Now().Sub(start)
	level := slog.LevelDebug
	if rep.Recovered() > 0 || rep.Failed > 0 || rep.Truncated {
		level = slog.LevelInfo
	}
	cfg.Logger.LogAttrs(ctx, level, "reaper tick",
		slog.Int("scanned", rep.Scanned), slog.Int("stale", rep.Stale), slog.Int("resent", rep.Resent),
		slog.Int("timed_out", rep.TimedOut), slog.Int("republished", rep.Republished),
		slog.Int("not_stranded", rep.NotStranded), slog.Int("failed", rep.Failed),
		slog.Bool("truncated", rep.Truncated), slog.Duration("elapsed", rep.Elapsed),
		slog.Duration("max_overdue", rep.MaxOverdue))
	r.record(ctx, start, rep)
	return rep, nil
}

// record hands the tick's report to the Recorder, if any.
func (r *Reaper) record(ctx context.Context, start time.Time, rep Report) {
	if r.cfg.Recorder == nil {
		return
	}
	err := r.cfg.Recorder.RecordTick(ctx, ledger.ReaperTick{
		At: start, Elapsed: rep.Elapsed, MaxOverdue: rep.MaxOverdue,
		Scanned: rep.Scanned, Stale: rep.Stale, Resent: rep.Resent, TimedOut: rep.TimedOut,
		Republished: rep.Republished, NotStranded: rep.NotStranded, Failed: rep.Failed, Truncated: rep.Truncated,
	})
	if err != nil {
		r.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "reaper could not record its tick", slog.String("error", err.Error()))
	}
}

// one handles one overdue entry.
func (r *Reaper) one(ctx context.Context, e ledger.DueEntry, rep *Report) error {
	cfg := r.cfg
	rec, err := cfg.Records.Get(ctx, e.OperationID)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		rep.Stale++
		return cfg.Index.Remove(ctx, e.OperationID, e.Due)
	case err != nil:
		return err
	case rec.IsTerminal() && rec.OutcomePublished:
		rep.Stale++
		return cfg.Index.Remove(ctx, e.OperationID, e.Due)
	}
	out, err := cfg.Recoverer.Recover(ctx, rec)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	switch out.Action {
	case ActionResent:
		rep.Resent++
	case ActionTimedOut:
		rep.TimedOut++
	case ActionRepublished:
		rep.Republished++
	default:
		rep.NotStranded++
	}
	if out.Action != ActionNone && out.Action != "" {
		cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "reaper recovered a stranded operation",
			slog.String("operation_id", e.OperationID), slog.String("action", string(out.Action)),
			slog.String("state", string(rec.State)), slog.String("step", string(rec.Step)),
			slog.Duration("overdue", cfg.Clock.Now().Sub(e.Due)), slog.Time("next_due", out.NextDue))
	}
	if out.NextDue.IsZero() {
		return cfg.Index.Remove(ctx, e.OperationID, e.Due)
	}
	return cfg.Index.Move(ctx, e.OperationID, e.Due, out.NextDue)
}
