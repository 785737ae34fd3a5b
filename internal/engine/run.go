package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
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
	// SweepID names the sweep a gdap.sweep.run waits for.
	SweepID string `json:"sweepId,omitempty"`
	// Lease is a random token of the invocation that claimed the record
	// last: it tells that invocation's write apart from another's (sameWrite).
	Lease string `json:"lease,omitempty"`
	// Wrote records that an upstream write was executed for the operation.
	Wrote bool `json:"wrote,omitempty"`
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
	for range maxStepsPerInvocation {
		if !r.claimed && !r.step().Poll() {
			if handled, err := e.claim(ctx, r); handled {
				return err
			}
		}
		if deadline := rec.AcceptedAt.Add(e.opts.OperationDeadline); !r.now().Before(deadline) {
			return e.finish(ctx, r, nil, op.Failf(op.CodeOperationTimedOut,
				"operation did not finish within %s (GDAP_OPERATION_DEADLINE); last step %q", e.opts.OperationDeadline, r.step()))
		}
		res, err := wf.run(ctx, r)
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
// fails the operation when the step's retries are used up.
func (e *Engine) retryLater(ctx context.Context, r *run, ue *upstream.Error) error {
	r.rec.StepAttempt++
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
	r.log.WarnContext(ctx, "transient upstream failure; retry scheduled",
		"service", ue.Service, "status", ue.StatusCode, "upstream_code", ue.Code,
		"retry", r.rec.StepAttempt, "delay", d.String())
	return e.wait(ctx, r, r.step(), d)
}
