package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/reaper"
)

// Recover brings forward an operation the reaper found overdue in the due
// index. rec is the record as the reaper read it; Recover decides from what
// is stored and writes under its ETag, and on a conflict re-reads and
// decides again (at most maxRedecisions times):
//
//   - finished, outcome not published: publish it (ActionRepublished);
//   - running under a live lease: nothing to do, due at the lease's expiry;
//   - past the operation deadline: finish with operation_timed_out
//     (ActionTimedOut);
//   - waiting past its wake time, or running with an expired lease: wake it
//     under a new wake id, scheduled now rounded up to the next second, the
//     due entry filed first (ActionResent);
//   - otherwise nothing is stranded (ActionNone, due when the record says).
//
// A zero Outcome.NextDue means finished and published.
func (e *Engine) Recover(ctx context.Context, inv op.Invocation, rec *ledger.Record) (reaper.Outcome, error) {
	inv.Logger = inv.Log().With("operation_id", rec.OperationID, "command_type", rec.CommandType)
	for attempt := 0; ; attempt++ {
		out, err := e.recoverOnce(ctx, inv, rec)
		if !errors.Is(err, ledger.ErrConflict) || attempt >= maxRedecisions {
			return out, err
		}
		inv.Logger.InfoContext(ctx, "operation changed during recovery; re-deciding")
		if rec, err = e.opts.Ledger.Get(ctx, rec.OperationID); err != nil {
			return reaper.Outcome{}, fmt.Errorf("re-read operation: %w", err)
		}
	}
}

// recoverOnce decides and acts once; ledger.ErrConflict (wrapped) means
// another invocation changed the record first.
func (e *Engine) recoverOnce(ctx context.Context, inv op.Invocation, rec *ledger.Record) (reaper.Outcome, error) {
	now := inv.Clock.Now().UTC()
	r := &run{e: e, inv: inv, in: input{messageID: inv.MessageID}, rec: rec, wf: decodeState(rec.Workflow), log: inv.Logger}
	if rec.IsTerminal() {
		if rec.OutcomePublished {
			return reaper.Outcome{Action: reaper.ActionNone}, nil
		}
		if err := e.publishOutcome(ctx, inv, rec); err != nil {
			return reaper.Outcome{}, err
		}
		return reaper.Outcome{Action: reaper.ActionRepublished}, nil
	}
	running := rec.State != ledger.StateWaiting
	if expiry := rec.UpdatedAt.Add(e.opts.LeaseDuration); running && now.Before(expiry) {
		return reaper.Outcome{Action: reaper.ActionNone, NextDue: expiry}, nil
	}
	if !now.Before(e.deadlineOf(rec, r.wf)) {
		r.claimed = true // a conflict is returned, not taken as superseded
		err := e.finish(ctx, r, nil, e.timedOut(r))
		if err != nil {
			return reaper.Outcome{}, err
		}
		return reaper.Outcome{Action: reaper.ActionTimedOut}, nil
	}
	if !running && now.Before(rec.WakeAt) {
		return reaper.Outcome{Action: reaper.ActionNone, NextDue: rec.WakeAt}, nil
	}
	at, err := e.rewakeStranded(ctx, r, now)
	if err != nil {
		return reaper.Outcome{}, err
	}
	return reaper.Outcome{Action: reaper.ActionResent, NextDue: at}, nil
}

// rewakeStranded records a new wake id for a stranded operation (the old
// one may sit in Service Bus duplicate detection for a day) and sends its
// continuation, scheduled at now rounded up to the next second so that an
// early delivery cannot meet a record that does not expect it yet.
func (e *Engine) rewakeStranded(ctx context.Context, r *run, now time.Time) (time.Time, error) {
	rec, wf := r.rec, r.wf
	at := op.ScheduleAt(now)
	prevDue := e.dueOf(rec)
	if err := e.fileDue(ctx, rec.OperationID, at); err != nil {
		return time.Time{}, err
	}
	stale := rec.WakeID
	wf.Seq++
	wf.LastInputID = r.inv.MessageID
	rec.State = ledger.StateWaiting
	rec.WakeID = op.MessageID(rec.OperationID, "c"+strconv.Itoa(wf.Seq))
	rec.WakeAt, rec.UpdatedAt = at, now
	rec.Workflow = encodeState(wf)
	// The one rule for ETag-guarded writes (write.go): a conflict after an
	// earlier try whose answer was lost is this write; any other is
	// returned (it unwraps to ledger.ErrConflict) and Recover re-decides.
	if err := e.write(ctx, r); err != nil {
		return time.Time{}, fmt.Errorf("re-wake operation %s: %w", rec.OperationID, err)
	}
	e.unfileDue(ctx, r.log, rec.OperationID, prevDue, at)
	r.log.WarnContext(ctx, "stranded operation woken by the reaper under a new id",
		"stale_wake_id", stale, "wake_id", rec.WakeID, "step", r.step().String())
	if err := e.sendResume(ctx, rec, r.step(), rec.WakeID, at); err != nil {
		return time.Time{}, err
	}
	return at, nil
}
