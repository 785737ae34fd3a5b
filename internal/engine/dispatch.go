package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/upstream"
)

// maxStepsPerInvocation bounds how many workflow steps one invocation runs
// back to back before it hands over to a continuation.
const maxStepsPerInvocation = 12

// wfState is the engine-owned workflow state kept in ledger.Record.Workflow.
type wfState struct {
	// Seq numbers the continuations scheduled for the operation.
	Seq int `json:"seq"`
	// LastInputID is the message id of the input that drove the last
	// transition, so that its redelivery can re-send the continuation.
	LastInputID string `json:"lastInput,omitempty"`
	// OperationURL is the 202 Location being followed.
	OperationURL string `json:"operationUrl,omitempty"`
	// PollBaseMS is the poll interval the service chose (Retry-After).
	PollBaseMS int64 `json:"pollBaseMs,omitempty"`
	// Polls counts polls of the current operation or request.
	Polls int `json:"polls,omitempty"`
	// RequestID and RequestStatus track a relationship request.
	RequestID     string `json:"requestId,omitempty"`
	RequestStatus string `json:"requestStatus,omitempty"`
	// Wrote records that an upstream write was executed for the operation.
	Wrote bool `json:"wrote,omitempty"`
}

// run is one invocation's execution of an operation.
type run struct {
	e   *Engine
	inv Invocation
	rec *ledger.Record
	wf  *wfState
	cmd command.Command
	log *slog.Logger
	// fresh is a relationship read earlier in this invocation with no write
	// since, which the next step may use instead of reading again.
	fresh *gdap.Relationship
	// claimed reports whether this invocation holds the record's lease.
	claimed bool
}

// takeFresh returns (and forgets) the relationship read by the previous step.
func (r *run) takeFresh() (gdap.Relationship, bool) {
	if r.fresh == nil {
		return gdap.Relationship{}, false
	}
	rel := *r.fresh
	r.fresh = nil
	return rel, true
}

func (r *run) now() time.Time { return r.inv.Clock.Now().UTC() }

// superseded reports whether a ledger write failed because another
// invocation progressed the operation while this one polled without the
// lease (duplicate continuation): that invocation carries it on, so this
// one stops without error.
func (r *run) superseded(ctx context.Context, err error) bool {
	if r.claimed || !errors.Is(err, ledger.ErrConflict) {
		return false
	}
	r.log.InfoContext(ctx, "another invocation progressed the operation first; acknowledged")
	return true
}

// stepResult is what a workflow step decided.
type stepResult struct {
	done *Result       // succeeded
	fail *Failure      // failed terminally
	next string        // step to run next ("" is the workflow's first step)
	wait time.Duration // > 0: continue at next after this delay
}

func done(res *Result) stepResult  { return stepResult{done: res} }
func failed(f *Failure) stepResult { return stepResult{fail: f} }
func goTo(step string) stepResult  { return stepResult{next: step} }
func waitFor(step string, d time.Duration) stepResult {
	if d <= 0 {
		d = time.Second
	}
	return stepResult{next: step, wait: d}
}

// workflowFunc runs the current step (r.rec.Step) of an operation.
type workflowFunc func(ctx context.Context, r *run) (stepResult, error)

func (e *Engine) workflow(commandType string) (workflowFunc, bool) {
	switch commandType {
	case command.TypeRelationshipUpdate:
		return updateWorkflow, true
	case command.TypeRelationshipRequest:
		return requestWorkflow, true
	case command.TypeRemoveGlobalAdmin:
		return removeGlobalAdminWorkflow, true
	case command.TypeRemoveDAP:
		return removeDAPWorkflow, true
	}
	return nil, false
}

// HandleCommand processes one message from the commands queue. A nil error
// means the message has been dealt with (the handler answers 200).
func (e *Engine) HandleCommand(ctx context.Context, inv Invocation, body []byte) error {
	return e.handleCommand(ctx, inv, body, Deferred{})
}

// handleCommand processes a command, arrived now or deferred (d) because
// Table Storage was unavailable. If it fails because Table Storage is
// unavailable (at any point: a redelivery is always safe, and a deferral is
// a delayed redelivery), it is deferred.
func (e *Engine) handleCommand(ctx context.Context, inv Invocation, body []byte, d Deferred) error {
	env, err := command.ParseEnvelope(body)
	if err != nil {
		code, msg := errorCode(err, CodeInvalidCommand)
		inv.Logger.WarnContext(ctx, "command rejected", "code", code, "reason", msg)
		return e.reject(ctx, inv, inv.MessageID, body, code, msg)
	}
	inv.Logger = inv.Logger.With("operation_id", env.ID, "command_type", env.Type)
	accepted := d.Since // a deferred command was accepted when it first arrived
	if accepted.IsZero() {
		accepted = inv.Clock.Now().UTC()
	}
	err = e.acceptCommand(ctx, inv, env, body, accepted)
	if ledger.IsUnavailable(err) {
		d.Command = body
		return e.deferInput(ctx, inv, env.ID, d, err)
	}
	return err
}

// acceptCommand records a parsed command in the ledger (or finds it there)
// and runs it.
func (e *Engine) acceptCommand(ctx context.Context, inv Invocation, env *command.Envelope, body []byte, accepted time.Time) error {
	log := inv.Logger
	now := inv.Clock.Now().UTC()
	cmd, decodeErr := env.Decode()
	// The record is created already claimed by this invocation (state
	// running, attempt 1): creation is the lease, no second write needed.
	wf := &wfState{LastInputID: inv.MessageID}
	rec := &ledger.Record{
		OperationID: env.ID,
		CommandType: env.Type,
		Source:      env.Source,
		ContentHash: env.ContentHash,
		State:       ledger.StateRunning,
		Attempts:    1,
		AcceptedAt:  accepted,
		UpdatedAt:   now,
		Command:     body,
		Workflow:    encodeState(wf),
	}
	if decodeErr == nil {
		rec.TargetID = command.TargetID(cmd)
	} else {
		rec.TargetID = looseTarget(env.Data)
	}
	err := e.opts.Ledger.Create(ctx, rec)
	switch {
	case errors.Is(err, ledger.ErrExists):
		existing, gerr := e.opts.Ledger.Get(ctx, env.ID)
		if gerr != nil {
			return fmt.Errorf("read operation %s: %w", env.ID, gerr)
		}
		if existing.ContentHash != env.ContentHash {
			log.WarnContext(ctx, "operation id reused with different content")
			return e.reject(ctx, inv, env.ID, body, CodeConflict,
				fmt.Sprintf("operation id %q was already used for a different command; use a new id", env.ID))
		}
		log.InfoContext(ctx, "duplicate command delivery", "state", existing.State)
		return e.resume(ctx, inv, existing, nil, 0)
	case err != nil:
		return fmt.Errorf("record operation %s: %w", env.ID, err)
	}
	log.InfoContext(ctx, "command accepted", "target", rec.TargetID)
	r := &run{e: e, inv: inv, rec: rec, wf: wf, log: log, cmd: cmd, claimed: true}
	if decodeErr != nil {
		rec.Attempts = 0 // nothing was executed
		code, msg := errorCode(decodeErr, CodeInvalidCommand)
		return e.finish(ctx, r, nil, &Failure{Code: code, Message: msg})
	}
	return e.runClaimed(ctx, r)
}

// HandleContinuation processes one message from the continuations queue.
func (e *Engine) HandleContinuation(ctx context.Context, inv Invocation, body []byte) error {
	var c Continuation
	if err := json.Unmarshal(body, &c); err != nil {
		// Only the service writes this queue; a body it cannot read is a bug
		// or tampering. Acknowledge it: retrying cannot help.
		inv.Logger.ErrorContext(ctx, "unreadable continuation dropped", "error", err.Error())
		return nil
	}
	if c.Kind == KindDeferred {
		return e.handleDeferred(ctx, inv, c)
	}
	return e.handleContinuation(ctx, inv, c, Deferred{})
}

// handleContinuation processes a continuation, arrived now or deferred (d)
// because Table Storage was unavailable; if it fails because Table Storage
// is unavailable, it is deferred (again).
func (e *Engine) handleContinuation(ctx context.Context, inv Invocation, c Continuation, d Deferred) error {
	err := e.continueWith(ctx, inv, c)
	if ledger.IsUnavailable(err) {
		d.Continuation = &c
		return e.deferInput(ctx, inv, c.OperationID, d, err)
	}
	return err
}

// continueWith acts on a continuation: the next page of a sweep, or the
// operation it names, level-based on its ledger record.
func (e *Engine) continueWith(ctx context.Context, inv Invocation, c Continuation) error {
	if c.Kind == KindSweep {
		if e.opts.Sweeper == nil {
			inv.Logger.WarnContext(ctx, "sweep continuation without a sweeper dropped")
			return nil
		}
		return e.opts.Sweeper.Continue(ctx, inv, c.Sweep)
	}
	log := inv.Logger.With("operation_id", c.OperationID, "continuation", c.Kind, "wake_id", c.WakeID)
	inv.Logger = log
	rec, err := e.opts.Ledger.Get(ctx, c.OperationID)
	if errors.Is(err, ledger.ErrNotFound) {
		log.WarnContext(ctx, "continuation for unknown operation ignored")
		return nil
	}
	if err != nil {
		return fmt.Errorf("read operation %s: %w", c.OperationID, err)
	}
	return e.resume(ctx, inv, rec, &c, 0)
}

// resume decides what an input (a duplicate command, a continuation) may do
// with an existing operation, level-based on the ledger record.
func (e *Engine) resume(ctx context.Context, inv Invocation, rec *ledger.Record, c *Continuation, depth int) error {
	log := inv.Logger
	now := inv.Clock.Now().UTC()
	if rec.State == ledger.StateSucceeded || rec.State == ledger.StateFailed {
		if c != nil {
			log.InfoContext(ctx, "stale continuation for finished operation acknowledged", "state", rec.State)
		}
		return e.ensureOutcome(ctx, inv, rec)
	}
	wf := decodeState(rec.Workflow)
	switch rec.State {
	case ledger.StateAccepted:
		return e.execute(ctx, inv, rec, depth)
	case ledger.StateWaiting:
		if rec.CommandType == command.TypeSweepRun && c == nil && e.opts.Sweeper != nil {
			// A redelivered gdap.sweep.run: make sure its sweep runs (joining is idempotent).
			return e.opts.Sweeper.Start(ctx, inv, SweepTrigger{SweepID: rec.OperationID, OperationID: rec.OperationID})
		}
		if c != nil && c.Kind == KindResume && c.WakeID == rec.WakeID {
			return e.execute(ctx, inv, rec, depth)
		}
		if c == nil && rec.WakeID != "" && now.After(rec.WakeAt.Add(e.opts.LeaseDuration)) {
			// A command re-sent for an operation whose continuation is long
			// overdue (lost, or dead-lettered during an outage).
			return e.rewake(ctx, inv, rec, wf, depth)
		}
		if wf.LastInputID == inv.MessageID && rec.WakeID != "" {
			// This very message scheduled the wait before; its earlier attempt
			// may have failed to send the continuation. Re-send it: the id is
			// deterministic, so a copy already sent is dropped as a duplicate.
			log.InfoContext(ctx, "re-sending continuation after redelivery", "wake_id", rec.WakeID)
			return e.sendResume(ctx, rec, rec.Step, rec.WakeID, rec.WakeAt)
		}
		log.InfoContext(ctx, "input does not match the pending continuation; acknowledged", "pending_wake_id", rec.WakeID)
		return nil
	case ledger.StateRunning:
		expiry := rec.UpdatedAt.Add(e.opts.LeaseDuration)
		if !now.Before(expiry) {
			log.WarnContext(ctx, "taking over operation whose lease expired", "lease_expired_at", expiry)
			return e.execute(ctx, inv, rec, depth)
		}
		// Another invocation holds the lease (or crashed holding it): check
		// back when it expires.
		id := messageID(rec.OperationID, "lease", strconv.FormatInt(rec.UpdatedAt.UnixMilli(), 10))
		msg, err := NewContinuationMessage(Continuation{Kind: KindLeaseCheck, OperationID: rec.OperationID}, id, rec.OperationID, expiry)
		if err != nil {
			return err
		}
		log.InfoContext(ctx, "operation is being executed elsewhere; lease check scheduled", "at", expiry)
		return e.send(ctx, e.opts.ContinuationsQueue, msg)
	}
	log.ErrorContext(ctx, "operation in unknown state acknowledged", "state", rec.State)
	return nil
}

// execute runs an operation's workflow for an input that may act on it. A
// continuation resuming a poll step runs without claiming the record (a poll
// only reads upstream); every other step is run under the record's lease,
// taken with an ETag-guarded update before the step.
func (e *Engine) execute(ctx context.Context, inv Invocation, rec *ledger.Record, depth int) error {
	r := &run{e: e, inv: inv, rec: rec, wf: decodeState(rec.Workflow), log: inv.Logger}
	if rec.State != ledger.StateWaiting || !isPollStep(rec.Step) {
		if handled, err := e.claim(ctx, r, depth); handled {
			return err
		}
	}
	env, err := command.ParseEnvelope(rec.Command)
	if err != nil {
		return e.finish(ctx, r, nil, &Failure{Code: CodeInternal, Message: "stored command cannot be read: " + err.Error()})
	}
	cmd, err := env.Decode()
	if err != nil {
		code, msg := errorCode(err, CodeInvalidCommand)
		return e.finish(ctx, r, nil, &Failure{Code: code, Message: msg})
	}
	r.cmd = cmd
	return e.runClaimed(ctx, r)
}

// isPollStep reports whether a step only reads upstream (polls a 202
// operation or a relationship request), so that it needs no lease.
func isPollStep(step string) bool {
	return step == stepPollOperation || step == stepPollGA || step == stepPollRequest
}

// claim takes the record's lease for this invocation. If another invocation
// changed the record first, it re-decides from the fresh record; handled is
// then true and err is the outcome of that decision.
func (e *Engine) claim(ctx context.Context, r *run, depth int) (handled bool, err error) {
	rec := r.rec
	r.wf.LastInputID = r.inv.MessageID
	rec.State = ledger.StateRunning
	rec.Attempts++
	rec.UpdatedAt = r.now()
	rec.WakeID = ""
	rec.Workflow = encodeState(r.wf)
	if err := e.opts.Ledger.Update(ctx, rec); err != nil {
		if errors.Is(err, ledger.ErrConflict) && depth < 3 {
			return true, e.redecide(ctx, r.inv, rec.OperationID, depth)
		}
		return true, fmt.Errorf("claim operation %s: %w", rec.OperationID, err)
	}
	r.claimed = true
	return false, nil
}

// runClaimed runs the workflow of an operation until it finishes, waits, or
// the step budget is spent, claiming the record before any step that is not
// a poll.
func (e *Engine) runClaimed(ctx context.Context, r *run) error {
	rec := r.rec
	if rec.CommandType == command.TypeSweepRun {
		return e.startSweep(ctx, r)
	}
	fn, ok := e.workflow(rec.CommandType)
	if !ok {
		return e.finish(ctx, r, nil, fail(CodeUnsupportedCommand, "command type %q is not supported", rec.CommandType))
	}
	for range maxStepsPerInvocation {
		if !r.claimed && !isPollStep(rec.Step) {
			if handled, err := e.claim(ctx, r, 0); handled {
				return err
			}
		}
		if deadline := rec.AcceptedAt.Add(e.opts.OperationDeadline); !r.now().Before(deadline) {
			return e.finish(ctx, r, nil, fail(CodeOperationTimedOut,
				"operation did not finish within %s (GDAP_OPERATION_DEADLINE); last step %q", e.opts.OperationDeadline, stepName(rec.Step)))
		}
		res, err := fn(ctx, r)
		if err != nil {
			f, transient := classify(err, describeTarget(rec))
			if f != nil {
				return e.finish(ctx, r, nil, f)
			}
			return e.retryLater(ctx, r, transient)
		}
		rec.StepAttempt = 0
		switch {
		case res.done != nil:
			return e.finish(ctx, r, res.done, nil)
		case res.fail != nil:
			return e.finish(ctx, r, nil, res.fail)
		case res.wait > 0:
			return e.wait(ctx, r, res.next, res.wait)
		default:
			r.log.DebugContext(ctx, "step transition", "from", stepName(rec.Step), "to", res.next)
			rec.Step = res.next
		}
	}
	// Budget spent: continue right away in a fresh invocation.
	return e.wait(ctx, r, rec.Step, time.Millisecond)
}

// retryLater schedules a transient-failure retry of the current step, or
// fails the operation when the step's retries are used up.
func (e *Engine) retryLater(ctx context.Context, r *run, ue *upstream.Error) error {
	r.rec.StepAttempt++
	code := CodeUpstreamUnavailable
	if ue.Throttled() {
		code = CodeThrottled
	}
	last := upstreamFailure(ue, describeTarget(r.rec))
	last.Code = code
	if r.rec.StepAttempt > e.opts.RetryMaxAttempts {
		last.Message = fmt.Sprintf("gave up after %d retries (GDAP_RETRY_MAX_ATTEMPTS): %s", e.opts.RetryMaxAttempts, last.Message)
		return e.finish(ctx, r, nil, last)
	}
	d := RetryDelay(r.rec.OperationID, r.rec.StepAttempt, ue.RetryAfter)
	r.log.WarnContext(ctx, "transient upstream failure; retry scheduled",
		"service", ue.Service, "status", ue.StatusCode, "upstream_code", ue.Code,
		"retry", r.rec.StepAttempt, "delay", d.String())
	return e.wait(ctx, r, r.rec.Step, d)
}

// wait records that the operation waits at step and schedules the
// continuation that resumes it. The ledger is written first: a continuation
// that exists is always one the record expects.
func (e *Engine) wait(ctx context.Context, r *run, step string, d time.Duration) error {
	rec := r.rec
	now := r.now()
	deadline := rec.AcceptedAt.Add(e.opts.OperationDeadline)
	// Round up to the next whole second: Retry-After has second granularity
	// and the invocation's clock may trail the broker's by the transit time.
	at := now.Add(d).Truncate(time.Second).Add(time.Second)
	if at.After(deadline) {
		at = deadline
	}
	r.wf.Seq++
	r.wf.LastInputID = r.inv.MessageID
	wakeID := messageID(rec.OperationID, "c"+strconv.Itoa(r.wf.Seq))
	rec.State = ledger.StateWaiting
	rec.Step = step
	rec.WakeID = wakeID
	rec.WakeAt = at
	rec.UpdatedAt = now
	rec.Workflow = encodeState(r.wf)
	if err := e.opts.Ledger.Update(ctx, rec); err != nil {
		if r.superseded(ctx, err) {
			return nil
		}
		return fmt.Errorf("record wait of operation %s: %w", rec.OperationID, err)
	}
	r.log.InfoContext(ctx, "operation waiting", "step", stepName(step), "resume_at", at, "wake_id", wakeID)
	return e.sendResume(ctx, rec, step, wakeID, at)
}

// redecide re-reads an operation that another invocation changed first and
// decides again from the fresh record.
func (e *Engine) redecide(ctx context.Context, inv Invocation, operationID string, depth int) error {
	fresh, err := e.opts.Ledger.Get(ctx, operationID)
	if err != nil {
		return fmt.Errorf("re-read operation %s: %w", operationID, err)
	}
	inv.Logger.InfoContext(ctx, "operation changed concurrently; re-deciding")
	return e.resume(ctx, inv, fresh, nil, depth+1)
}

// rewake schedules a waiting operation's continuation again, now, under a
// new wake id: the overdue one's id is spent, since Service Bus duplicate
// detection drops a message whose id it saw within its window (a day), even
// if that message was dead-lettered.
func (e *Engine) rewake(ctx context.Context, inv Invocation, rec *ledger.Record, wf *wfState, depth int) error {
	now := inv.Clock.Now().UTC()
	stale := rec.WakeID
	wf.Seq++
	wf.LastInputID = inv.MessageID
	rec.WakeID = messageID(rec.OperationID, "c"+strconv.Itoa(wf.Seq))
	rec.WakeAt, rec.UpdatedAt = now, now
	rec.Workflow = encodeState(wf)
	if err := e.opts.Ledger.Update(ctx, rec); err != nil {
		if errors.Is(err, ledger.ErrConflict) && depth < 3 {
			return e.redecide(ctx, inv, rec.OperationID, depth)
		}
		return fmt.Errorf("re-wake operation %s: %w", rec.OperationID, err)
	}
	inv.Logger.WarnContext(ctx, "continuation overdue; operation woken under a new id for the re-sent command",
		"stale_wake_id", stale, "wake_id", rec.WakeID)
	return e.sendResume(ctx, rec, rec.Step, rec.WakeID, now)
}

func (e *Engine) sendResume(ctx context.Context, rec *ledger.Record, step, wakeID string, at time.Time) error {
	msg, err := NewContinuationMessage(Continuation{Kind: KindResume, OperationID: rec.OperationID, WakeID: wakeID, Step: step}, wakeID, rec.OperationID, at)
	if err != nil {
		return err
	}
	if err := e.send(ctx, e.opts.ContinuationsQueue, msg); err != nil {
		return fmt.Errorf("schedule continuation %s: %w", wakeID, err)
	}
	return nil
}

// finish records the terminal outcome, then publishes its event.
func (e *Engine) finish(ctx context.Context, r *run, res *Result, f *Failure) error {
	rec := r.rec
	now := r.now()
	rec.FinishedAt = now
	rec.UpdatedAt = now
	rec.WakeID = ""
	rec.Workflow = encodeState(r.wf)
	if f != nil {
		rec.State = ledger.StateFailed
		rec.LastError = &ledger.ErrorInfo{Code: f.Code, Message: f.Message, HTTPStatus: f.HTTPStatus, UpstreamCode: f.UpstreamCode, UpstreamRequestID: f.UpstreamRequestID}
		rec.Result = nil
	} else {
		if res == nil {
			res = &Result{}
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
	if err := e.opts.Ledger.Update(ctx, rec); err != nil {
		if r.superseded(ctx, err) {
			return nil
		}
		return fmt.Errorf("record outcome of operation %s: %w", rec.OperationID, err)
	}
	if f != nil {
		r.log.WarnContext(ctx, "operation failed", "code", f.Code, "reason", f.Message, "attempts", rec.Attempts)
	} else {
		r.log.InfoContext(ctx, "operation succeeded", "already_done", res.AlreadyDone, "attempts", rec.Attempts)
	}
	return e.publishOutcome(ctx, r.inv, rec)
}

// ensureOutcome re-publishes the outcome of a finished operation whose
// publication was not confirmed.
func (e *Engine) ensureOutcome(ctx context.Context, inv Invocation, rec *ledger.Record) error {
	if rec.OutcomePublished {
		return nil
	}
	return e.publishOutcome(ctx, inv, rec)
}

func (e *Engine) publishOutcome(ctx context.Context, inv Invocation, rec *ledger.Record) error {
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
		inv.Logger.WarnContext(ctx, "could not mark outcome as published", "error", err.Error())
	}
	return nil
}

func (e *Engine) reject(ctx context.Context, inv Invocation, operationID string, body []byte, code, message string) error {
	msg, err := e.rejectedMessage(operationID, inv.MessageID, body, code, message, inv.Clock.Now().UTC())
	if err != nil {
		return fmt.Errorf("build rejection event: %w", err)
	}
	if err := e.send(ctx, e.opts.EventsTopic, msg); err != nil {
		return fmt.Errorf("publish rejection: %w", err)
	}
	return nil
}

func decodeState(b []byte) *wfState {
	wf := &wfState{}
	if len(b) > 0 {
		_ = json.Unmarshal(b, wf) // written only by encodeState
	}
	return wf
}

func encodeState(wf *wfState) []byte {
	b, _ := json.Marshal(wf) // plain struct: cannot fail
	return b
}

func stepName(s string) string {
	if s == "" {
		return "start"
	}
	return s
}

func describeTarget(rec *ledger.Record) string {
	switch rec.CommandType {
	case command.TypeRemoveDAP:
		return "customer " + rec.TargetID
	case command.TypeSweepRun:
		return "the relationship list"
	}
	return "relationship " + rec.TargetID
}

// errorCode extracts a stable code from a command package error.
func errorCode(err error, fallback string) (string, string) {
	var ce *command.Error
	if errors.As(err, &ce) {
		return ce.Code, ce.Message
	}
	return fallback, err.Error()
}

// looseTarget finds relationshipId or customerTenantId in data that failed
// validation, for the failed event's identifiers.
func looseTarget(data []byte) string {
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return ""
	}
	for _, k := range []string{"relationshipId", "customerTenantId"} {
		if s, ok := m[k].(string); ok && len(s) <= 128 {
			return s
		}
	}
	return ""
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
