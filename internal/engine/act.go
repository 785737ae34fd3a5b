package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
)

// maxRedecisions bounds how often one invocation re-reads and re-decides
// after losing an ETag race.
const maxRedecisions = 3

// act performs a decision about r's operation. It and the functions it
// calls are the only place that writes the ledger, sends continuations and
// publishes outcomes.
func (e *Engine) act(ctx context.Context, r *run, d decision) error {
	log := r.log
	rec := r.rec
	switch d.action {
	case actPublish:
		if r.in.cont != nil {
			log.InfoContext(ctx, d.reason, "state", rec.State)
		}
		return e.ensureOutcome(ctx, r.inv, rec)
	case actExecute:
		return e.execute(ctx, r)
	case actTakeOver:
		log.WarnContext(ctx, d.reason, "lease_expired_at", d.at)
		return e.execute(ctx, r)
	case actRewake:
		return e.rewake(ctx, r)
	case actResend:
		log.InfoContext(ctx, d.reason, "wake_id", rec.WakeID)
		return e.sendResume(ctx, rec, r.step(), rec.WakeID, rec.WakeAt)
	case actLeaseCheck:
		return e.leaseCheck(ctx, r, d.at)
	}
	if rec.State != ledger.StateWaiting {
		log.ErrorContext(ctx, d.reason, "state", rec.State)
		return nil
	}
	log.InfoContext(ctx, d.reason, "pending_wake_id", rec.WakeID)
	return nil
}

// resume decides and acts on an input for an existing operation.
func (e *Engine) resume(ctx context.Context, r *run) error {
	return e.act(ctx, r, decide(r.rec, r.in, r.now(), e.opts.LeaseDuration))
}

// claim takes the record's lease for this invocation. If another invocation
// changed the record first, it re-decides from the fresh record; handled is
// then true and err is the outcome of that decision.
func (e *Engine) claim(ctx context.Context, r *run) (handled bool, err error) {
	rec := r.rec
	prevDue, now := e.dueOf(rec), r.now()
	if err := e.fileDue(ctx, rec.OperationID, now.Add(e.opts.LeaseDuration)); err != nil {
		return true, err
	}
	r.wf.LastInputID = r.inv.MessageID
	r.wf.Lease = newLease()
	rec.State = ledger.StateRunning
	rec.Attempts++
	rec.UpdatedAt = now
	rec.WakeID = ""
	rec.Workflow = encodeState(r.wf)
	if err := e.write(ctx, r); err != nil {
		return true, e.settle(ctx, r, err, "claim")
	}
	e.unfileDue(ctx, r.log, rec.OperationID, prevDue, e.dueOf(rec))
	r.claimed = true
	return false, nil
}

// wait records that the operation waits at step and schedules the
// continuation that resumes it. The ledger is written first: a continuation
// that exists is always one the record expects.
func (e *Engine) wait(ctx context.Context, r *run, step Step, d time.Duration) error {
	rec := r.rec
	now := r.now()
	deadline := e.deadlineOf(rec, r.wf)
	// Round up to the next whole second: Retry-After has second granularity
	// and the invocation's clock may trail the broker's by the transit time.
	// A paced retry keeps its slot (to the millisecond): paced calls are
	// spread within the second, and an early delivery is harmless (the
	// wake id decides, and the client accepts the slot a little early).
	at := op.ScheduleAt(now.Add(d))
	if !r.wf.Paced.IsZero() {
		// Set only by retryLater (runSteps clears it before each step).
		at = r.wf.Paced.Truncate(time.Millisecond).Add(time.Millisecond)
	}
	if at.After(deadline) {
		at = deadline
	}
	prevDue := e.dueOf(rec)
	if err := e.fileDue(ctx, rec.OperationID, at); err != nil {
		return err
	}
	r.wf.Seq++
	r.wf.LastInputID = r.inv.MessageID
	wakeID := op.MessageID(rec.OperationID, "c"+strconv.Itoa(r.wf.Seq))
	rec.State = ledger.StateWaiting
	rec.Step = string(step)
	rec.WakeID = wakeID
	rec.WakeAt = at
	rec.UpdatedAt = now
	rec.Workflow = encodeState(r.wf)
	if err := e.write(ctx, r); err != nil {
		return e.settle(ctx, r, err, "record wait")
	}
	e.unfileDue(ctx, r.log, rec.OperationID, prevDue, at)
	r.log.InfoContext(ctx, "operation waiting", "step", step.String(), "resume_at", at, "wake_id", wakeID)
	return e.sendResume(ctx, rec, step, wakeID, at)
}

// rewake schedules a waiting operation's continuation again, now, under a
// new wake id: the overdue one's id is spent, since Service Bus duplicate
// detection drops a message whose id it saw within its window (a day), even
// if that message was dead-lettered.
func (e *Engine) rewake(ctx context.Context, r *run) error {
	rec, wf := r.rec, r.wf
	now := r.now()
	stale := rec.WakeID
	prevDue := e.dueOf(rec)
	if err := e.fileDue(ctx, rec.OperationID, now); err != nil {
		return err
	}
	wf.Seq++
	wf.LastInputID = r.inv.MessageID
	rec.WakeID = op.MessageID(rec.OperationID, "c"+strconv.Itoa(wf.Seq))
	rec.WakeAt, rec.UpdatedAt = now, now
	rec.Workflow = encodeState(wf)
	if err := e.write(ctx, r); err != nil {
		return e.settle(ctx, r, err, "re-wake")
	}
	e.unfileDue(ctx, r.log, rec.OperationID, prevDue, rec.WakeAt)
	r.log.WarnContext(ctx, "continuation overdue; operation woken under a new id for the re-sent command",
		"stale_wake_id", stale, "wake_id", rec.WakeID)
	return e.sendResume(ctx, rec, r.step(), rec.WakeID, now)
}

// leaseCheck schedules a check of a running operation for when its lease
// expires (another invocation holds it, or crashed holding it). The check is
// scheduled for the next whole second after the expiry (op.ScheduleAt), so
// that a delivery up to a millisecond early still finds the lease expired.
// Should one still arrive while the lease holds, it re-sends itself under a
// fresh id (numbered by Resend): its own id is spent, and Service Bus
// duplicate detection would drop the copy. The ids stay deterministic, so a
// redelivered input re-sends the same one.
func (e *Engine) leaseCheck(ctx context.Context, r *run, expiry time.Time) error {
	rec := r.rec
	resend := 0
	if c := r.in.cont; c != nil && c.Kind == op.KindLeaseCheck {
		resend = c.Resend + 1
	}
	parts := []string{rec.OperationID, "lease", strconv.FormatInt(rec.UpdatedAt.UnixMilli(), 10)}
	if resend > 0 {
		parts = append(parts, "r"+strconv.Itoa(resend))
	}
	id := op.MessageID(parts...)
	c := op.Continuation{Kind: op.KindLeaseCheck, OperationID: rec.OperationID, Resend: resend}
	msg, err := op.NewContinuationMessage(c, id, rec.OperationID, op.ScheduleAt(expiry))
	if err != nil {
		return err
	}
	r.log.InfoContext(ctx, "operation is being executed elsewhere; lease check scheduled", "lease_expires_at", expiry, "check_id", id)
	return e.send(ctx, e.opts.ContinuationsQueue, msg)
}

func (e *Engine) sendResume(ctx context.Context, rec *ledger.Record, step Step, wakeID string, at time.Time) error {
	c := op.Continuation{Kind: op.KindResume, OperationID: rec.OperationID, WakeID: wakeID, Step: string(step)}
	msg, err := op.NewContinuationMessage(c, wakeID, rec.OperationID, at)
	if err != nil {
		return err
	}
	if err := e.send(ctx, e.opts.ContinuationsQueue, msg); err != nil {
		return fmt.Errorf("schedule continuation %s: %w", wakeID, err)
	}
	return nil
}

// finish records the terminal outcome (exactly one of res and f is set, or
// neither for an empty result), then publishes its event.
func (e *Engine) finish(ctx context.Context, r *run, res *op.Result, f *op.Failure) error {
	rec := r.rec
	prevDue := e.dueOf(rec)
	now := r.now()
	rec.FinishedAt = now
	rec.UpdatedAt = now
	rec.WakeID = ""
	rec.Workflow = encodeState(r.wf)
	if f != nil {
		rec.State = ledger.StateFailed
		rec.LastError = f
		rec.Result = nil
	} else {
		if res == nil {
			res = &op.Result{}
		}
		res.AlreadyDone = !r.wf.Wrote
		b, err := json.Marshal(res)
		if err != nil {
			return fmt.Errorf("encode result: %w", err)
		}
		rec.State = ledger.StateSucceeded
		rec.Result = b
		rec.LastError = nil
	}
	if err := e.write(ctx, r); err != nil {
		return e.settle(ctx, r, err, "record outcome")
	}
	if f != nil {
		r.log.WarnContext(ctx, "operation failed", "code", f.Code, "reason", f.Message, "attempts", rec.Attempts)
	} else {
		r.log.InfoContext(ctx, "operation succeeded", "already_done", res.AlreadyDone, "attempts", rec.Attempts)
	}
	if err := e.publishOutcome(ctx, r.inv, rec); err != nil {
		return err
	}
	if rec.OutcomePublished {
		e.unfileDue(ctx, r.log, rec.OperationID, prevDue, time.Time{})
	}
	return nil
}

// ensureOutcome re-publishes the outcome of a finished operation whose
// publication was not confirmed.
func (e *Engine) ensureOutcome(ctx context.Context, inv op.Invocation, rec *ledger.Record) error {
	if rec.OutcomePublished {
		return nil
	}
	return e.publishOutcome(ctx, inv, rec)
}

func (e *Engine) publishOutcome(ctx context.Context, inv op.Invocation, rec *ledger.Record) error {
	msg, err := e.outcomeMessage(rec)
	if err != nil {
		return fmt.Errorf("build outcome event: %w", err)
	}
	if err := e.send(ctx, e.opts.EventsTopic, msg); err != nil {
		return fmt.Errorf("publish outcome of %s: %w", rec.OperationID, err)
	}
	rec.OutcomePublished = true
	if err := e.opts.Ledger.Update(ctx, rec); err != nil {
		// The event is out; at worst a redelivery publishes it again with the
		// same id, which duplicate detection drops.
		inv.Log().WarnContext(ctx, "could not mark outcome as published", "error", err.Error())
	}
	return nil
}

func (e *Engine) reject(ctx context.Context, inv op.Invocation, operationID string, body []byte, f *op.Failure) error {
	msg, err := e.rejectedMessage(operationID, inv.MessageID, body, f, inv.Clock.Now().UTC())
	if err != nil {
		return fmt.Errorf("build rejection event: %w", err)
	}
	if err := e.send(ctx, e.opts.EventsTopic, msg); err != nil {
		return fmt.Errorf("publish rejection: %w", err)
	}
	return nil
}

// sendAttempts and sendBackoff bound the in-invocation retries of a send: a
// broker blip is absorbed here; a longer outage fails the invocation so that
// Service Bus redelivers it (and every redelivery re-sends).
const (
	sendAttempts = 4
	sendBackoff  = 150 * time.Millisecond
)

// send sends m, retrying briefly (about one second in all) on failure.
func (e *Engine) send(ctx context.Context, entity string, m bus.Message) error {
	var err error
	for attempt := range sendAttempts {
		if err = e.opts.Sender.Send(ctx, entity, m); err == nil {
			return nil
		}
		if attempt == sendAttempts-1 {
			break
		}
		t := time.NewTimer(sendBackoff << attempt)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
	return err
}
