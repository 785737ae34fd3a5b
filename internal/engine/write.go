package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/gdapflow/gdapflow/internal/ledger"
)

// One rule settles every ETag-guarded ledger write, claimed or not. aztables
// retries a write whose response was lost (or that got a 5xx); when the first
// try took effect, the retry fails with 412 against the ETag that try
// produced. So a conflict is not proof that someone else wrote: the record is
// re-read and, if it holds what this invocation wrote, the write took effect
// and the invocation carries on (sends the continuation, publishes the
// outcome); otherwise another invocation moved the operation on and this one
// re-decides from what is stored.

// supersededError reports that another invocation changed the record; Stored
// is what is stored now.
type supersededError struct {
	Stored *ledger.Record
}

func (e *supersededError) Error() string {
	return fmt.Sprintf("operation %s changed concurrently", e.Stored.OperationID)
}

// Unwrap makes errors.Is(err, ledger.ErrConflict) true.
func (e *supersededError) Unwrap() error { return ledger.ErrConflict }

// sameWrite reports whether stored is the record intended was written as:
// the same transition (state, step, attempts, update and finish time, the
// input that drove it and the lease it held) and the same wake id. A record some other invocation wrote
// differs in at least its update time or its input.
func sameWrite(intended, stored *ledger.Record) bool {
	return stored.State == intended.State &&
		stored.Step == intended.Step &&
		stored.WakeID == intended.WakeID &&
		stored.Attempts == intended.Attempts &&
		stored.UpdatedAt.Equal(intended.UpdatedAt) &&
		stored.FinishedAt.Equal(intended.FinishedAt) &&
		sameInput(decodeState(stored.Workflow), decodeState(intended.Workflow))
}

// sameInput reports whether two workflow states were written for the same
// input under the same lease.
func sameInput(a, b *wfState) bool { return a.LastInputID == b.LastInputID && a.Lease == b.Lease }

// write stores r.rec with its ETag under the one rule: nil when the record
// holds this write (now, or from an earlier try whose response was lost),
// a *supersededError when another invocation changed it, another error when
// the ledger failed.
func (e *Engine) write(ctx context.Context, r *run) error {
	err := e.opts.Ledger.Update(ctx, r.rec)
	if !errors.Is(err, ledger.ErrConflict) {
		return err
	}
	stored, gerr := e.opts.Ledger.Get(ctx, r.rec.OperationID)
	if gerr != nil {
		return fmt.Errorf("re-read operation %s after a conflict: %w", r.rec.OperationID, gerr)
	}
	if sameWrite(r.rec, stored) {
		r.log.InfoContext(ctx, "ledger write took effect on an earlier try; carrying on")
		r.rec.ETag = stored.ETag
		return nil
	}
	return &supersededError{Stored: stored}
}

// settle handles a failed write: superseded → re-decide from the stored
// record (bounded); otherwise the error, described by what.
func (e *Engine) settle(ctx context.Context, r *run, err error, what string) error {
	var se *supersededError
	if errors.As(err, &se) && r.depth < maxRedecisions {
		r.log.InfoContext(ctx, "another invocation changed the operation first; re-deciding", "write", what)
		n := &run{e: e, inv: r.inv, in: r.in, rec: se.Stored, wf: decodeState(se.Stored.Workflow), log: r.log, depth: r.depth + 1}
		return e.resume(ctx, n)
	}
	return fmt.Errorf("%s of operation %s: %w", what, r.rec.OperationID, err)
}
