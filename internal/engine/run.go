package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/graphapi"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/upstream"
)

// errInfra marks a step error of the service's own messaging (a send to
// Service Bus failed after its retries): runSteps fails the invocation so
// that the input is redelivered, instead of failing the operation.
var errInfra = errors.New("service bus unavailable")

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
	// SweepID names the sweep a gdap.sweep.run waits for.
	SweepID string `json:"sweepId,omitempty"`
	// Lease is a random token of the invocation that claimed the record
	// last: it tells that invocation's write apart from another's (sameWrite).
	Lease string `json:"lease,omitempty"`
	// Wrote records that an upstream write was executed for the operation.
	Wrote bool `json:"wrote,omitempty"`
	// CreateIntent is when gdap.relationship.create recorded that it is
	// about to POST: a relationship of its name created since is its own.
	CreateIntent time.Time `json:"createIntent,omitzero"`
	// RelationshipID is the relationship gdap.relationship.create created.
	RelationshipID string `json:"relationshipId,omitempty"`
	// AwaitingApproval is true while the operation waits for a customer's
	// approval: the operation deadline does not run (deadlineOf).
	AwaitingApproval bool `json:"awaitingApproval,omitempty"`
	// DeadlineFrom, when set, is when the operation deadline starts (the
	// relationship's activation, after a wait for approval).
	DeadlineFrom time.Time `json:"deadlineFrom,omitzero"`
	// Assignments are the actions gdap.relationship.accessAssignments.set
	// took, by lower-case security group id.
	Assignments map[string]string `json:"assignments,omitempty"`
	// AssignmentOps are the 202 operations of assignment updates being
	// followed, by assignment id.
	AssignmentOps map[string]string `json:"assignmentOps,omitempty"`
	// Copied are the assignments taken over from CopyFrom (CopyRead: read).
	Copied   []copiedAssignment `json:"copied,omitempty"`
	CopyRead bool               `json:"copyRead,omitempty"`
	// Replace is the relationship gdap.relationship.replace creates.
	Replace *replaceSpec `json:"replace,omitempty"`
	// Offboard is what gdap.customer.offboard did, by relationship id.
	Offboard map[string]*offboardEntry `json:"offboard,omitempty"`
	// DAPRemoved records that an offboarding's DAP removal is confirmed.
	DAPRemoved bool `json:"dapRemoved,omitempty"`
	// Paced and PacedCalls are a slot the Graph client reserved for the
	// step's retry after throttling (graphapi.Pacing): the retry presents
	// it (graphapi.WithReservation) and goes through.
	Paced      time.Time `json:"paced,omitzero"`
	PacedCalls int       `json:"pacedCalls,omitempty"`
	PacedEpoch uint64    `json:"pacedEpoch,omitempty"`
}

func decodeState(b []byte) *wfState {
	wf := &wfState{}
	if len(b) > 0 {
		_ = json.Unmarshal(b, wf) // written only by encodeState
	}
	return wf
}

// newLease returns a random lease token.
func newLease() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

func encodeState(wf *wfState) []byte {
	b, _ := json.Marshal(wf) // plain struct: cannot fail
	return b
}

// run is one invocation's execution of an operation.
type run struct {
	e   *Engine
	inv op.Invocation
	in  input
	rec *ledger.Record
	wf  *wfState
	cmd command.Command
	log *slog.Logger
	// fresh is a relationship read earlier in this invocation with no write
	// since, which the next step may use instead of reading again.
	fresh *gdap.Relationship
	// claimed reports whether this invocation holds the record's lease.
	claimed bool
	// depth counts re-decisions after lost ETag races in this invocation.
	depth int
}

func (r *run) now() time.Time { return r.inv.Clock.Now().UTC() }

// step is the operation's current step.
func (r *run) step() Step { return Step(r.rec.Step) }

// takeFresh returns (and forgets) the relationship read by the previous step.
func (r *run) takeFresh() (gdap.Relationship, bool) {
	if r.fresh == nil {
		return gdap.Relationship{}, false
	}
	rel := *r.fresh
	r.fresh = nil
	return rel, true
}

// freshOrGet returns the relationship read by the previous step, or reads
// relationship id.
func (r *run) freshOrGet(ctx context.Context, id string) (gdap.Relationship, error) {
	if rel, ok := r.takeFresh(); ok {
		return rel, nil
	}
	return r.e.opts.Graph.GetRelationship(ctx, id)
}

// stepResult is what a workflow step decided.
type stepResult struct {
	done *op.Result    // succeeded
	fail *op.Failure   // failed terminally
	next Step          // step to run next
	wait time.Duration // > 0: continue at next after this delay
}

func done(res *op.Result) stepResult  { return stepResult{done: res} }
func failed(f *op.Failure) stepResult { return stepResult{fail: f} }
func goTo(step Step) stepResult       { return stepResult{next: step} }
func waitFor(step Step, d time.Duration) stepResult {
	if d <= 0 {
		d = time.Second
	}
	return stepResult{next: step, wait: d}
}

// execute runs an operation's workflow for an input that may act on it. A
// continuation resuming a poll step runs without claiming the record (a poll
// only reads upstream); every other step is run under the record's lease,
// taken with an ETag-guarded update before the step.
func (e *Engine) execute(ctx context.Context, r *run) error {
	if r.rec.State != ledger.StateWaiting || !r.step().Poll() {
		if handled, err := e.claim(ctx, r); handled {
			return err
		}
	}
	env, err := command.ParseEnvelope(r.rec.Command)
	if err != nil {
		return e.finish(ctx, r, nil, op.Failf(op.CodeInternal, "stored command cannot be read: %s", err))
	}
	cmd, err := env.Decode()
	if err != nil {
		return e.finish(ctx, r, nil, commandFailure(err))
	}
	r.cmd = cmd
	return e.runSteps(ctx, r)
}

// runSteps runs the workflow of an operation until it finishes, waits, or
// the step budget is spent, claiming the record before any step that is not
// a poll.
func (e *Engine) runSteps(ctx context.Context, r *run) error {
	rec := r.rec
	wf, ok := workflows[rec.CommandType]
	if !ok {
		return e.finish(ctx, r, nil, op.Failf(op.CodeUnsupportedCommand, "command type %q is not supported", rec.CommandType))
	}
	// A slot the Graph client reserved for this input (a retry after
	// throttling) covers the calls of every step it runs: a poll and the
	// read that follows it are the two calls it reserved, and a second
	// step without it would be deferred again, leaving a reserved call
	// unused.
	stepCtx := ctx
	for range maxStepsPerInvocation {
		if !r.claimed && !r.step().Poll() {
			if handled, err := e.claim(ctx, r); handled {
				return err
			}
		}
		if !r.now().Before(e.deadlineOf(rec, r.wf)) {
			return e.finish(ctx, r, nil, e.timedOut(r))
		}
		if !r.wf.Paced.IsZero() {
			stepCtx = graphapi.WithReservation(ctx, r.wf.Paced, r.wf.PacedCalls, r.wf.PacedEpoch)
			r.wf.Paced, r.wf.PacedCalls, r.wf.PacedEpoch = time.Time{}, 0, 0
		}
		res, err := wf.run(stepCtx, r)
		var se *supersededError
		if errors.As(err, &se) {
			return e.settle(ctx, r, err, "checkpoint")
		}
		if _, up := upstream.As(err); err != nil && !up && (ledger.IsUnavailable(err) || errors.Is(err, errInfra)) {
			// A ledger write inside the step (checkpoint) or a send (a
			// follow-up) failed: not the operation's failure; the input is
			// deferred or redelivered.
			return err
		}
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
			r.log.DebugContext(ctx, "step transition", "from", r.step().String(), "to", res.next.String())
			rec.Step = string(res.next)
		}
	}
	// Budget spent: continue right away in a fresh invocation.
	return e.wait(ctx, r, r.step(), time.Millisecond)
}

// retryLater schedules a transient-failure retry of the current step, or
// fails the operation when the step's retries are used up. A call the Graph
// client deferred itself (pacing after throttling: no request was sent)
// does not count as a retry; its retry is scheduled at the slot the client
// reserved for it, which it presents when it runs.
func (e *Engine) retryLater(ctx context.Context, r *run, ue *upstream.Error) error {
	local := ue.Code == graphapi.LocalThrottleCode
	if !local {
		r.rec.StepAttempt++
	}
	code := op.CodeUpstreamUnavailable
	if ue.Throttled() {
		code = op.CodeThrottled
	}
	last := op.UpstreamFailure(ue, describeTarget(r.rec))
	last.Code = code
	if r.rec.StepAttempt > e.opts.RetryMaxAttempts {
		last.Message = fmt.Sprintf("gave up after %d retries (GDAP_RETRY_MAX_ATTEMPTS): %s", e.opts.RetryMaxAttempts, last.Message)
		return e.finish(ctx, r, nil, last)
	}
	d := op.RetryDelay(r.rec.OperationID, r.rec.StepAttempt, ue.RetryAfter)
	if !ue.Reserved.IsZero() {
		r.wf.Paced, r.wf.PacedCalls, r.wf.PacedEpoch = ue.Reserved, ue.ReservedCalls, ue.ReservedEpoch
		d = ue.Reserved.Sub(r.now())
	}
	if !local {
		r.log.WarnContext(ctx, "transient upstream failure; retry scheduled",
			"service", ue.Service, "status", ue.StatusCode, "upstream_code", ue.Code,
			"retry", r.rec.StepAttempt, "delay", d.String())
	}
	return e.wait(ctx, r, r.step(), d)
}

// approvalWindow bounds a wait for a customer's approval: Graph lets an
// unapproved relationship lapse after 90 days (docs/platform/graph-facts.md);
// a day more allows for the lapse to show.
const approvalWindow = 91 * 24 * time.Hour

// deadlineOf is when the operation fails with operation_timed_out:
// GDAP_OPERATION_DEADLINE after it was accepted, or after the relationship
// it waited for became active; while it waits for a customer's approval,
// the approval window plus the deadline.
func (e *Engine) deadlineOf(rec *ledger.Record, wf *wfState) time.Time {
	from := rec.AcceptedAt
	if wf.DeadlineFrom.After(from) {
		from = wf.DeadlineFrom
	}
	if wf.AwaitingApproval {
		return from.Add(approvalWindow + e.opts.OperationDeadline)
	}
	return from.Add(e.opts.OperationDeadline)
}

// timedOut is the failure of an operation past its deadline.
func (e *Engine) timedOut(r *run) *op.Failure {
	return op.Failf(op.CodeOperationTimedOut,
		"operation did not finish within %s (GDAP_OPERATION_DEADLINE); last step %q", e.opts.OperationDeadline, r.step())
}

// checkpoint stores the running operation's record (step and workflow
// state) before an upstream write whose retry must know it was attempted.
// The record stays claimed; the lease is renewed. A *supersededError means
// another invocation took the operation over (runSteps re-decides).
func (e *Engine) checkpoint(ctx context.Context, r *run) error {
	rec := r.rec
	prevDue, now := e.dueOf(rec), r.now()
	if err := e.fileDue(ctx, rec.OperationID, now.Add(e.opts.LeaseDuration)); err != nil {
		return err
	}
	rec.UpdatedAt = now
	rec.Workflow = encodeState(r.wf)
	if err := e.write(ctx, r); err != nil {
		return err
	}
	e.unfileDue(ctx, r.log, rec.OperationID, prevDue, e.dueOf(rec))
	return nil
}
