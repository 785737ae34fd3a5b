package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/gdapflow/gdapflow/internal/ledger"
)

// sweepWakePrefix marks a gdap.sweep.run operation waiting for its sweep.
const sweepWakePrefix = "sweep:"

// startSweep hands a gdap.sweep.run operation to the sweeper. The operation
// waits (without a continuation of its own) until the sweeper completes it.
func (e *Engine) startSweep(ctx context.Context, r *run) error {
	if e.opts.Sweeper == nil {
		return e.finish(ctx, r, nil, fail(CodeUnsupportedCommand, "the expiry sweep is not configured in this deployment"))
	}
	rec := r.rec
	rec.State = ledger.StateWaiting
	rec.Step = "sweeping"
	rec.WakeID = sweepWakePrefix + rec.OperationID
	rec.UpdatedAt = r.now()
	rec.Workflow = encodeState(r.wf)
	if err := e.opts.Ledger.Update(ctx, rec); err != nil {
		return fmt.Errorf("record sweep start of %s: %w", rec.OperationID, err)
	}
	return e.opts.Sweeper.Start(ctx, r.inv, SweepTrigger{SweepID: rec.OperationID, OperationID: rec.OperationID})
}

// CompleteOperation finishes an operation that waits for another component
// (the sweeper for gdap.sweep.run): exactly one of res and f is non-nil. It
// is idempotent: an already finished operation only gets its outcome
// re-published if that was not confirmed.
func (e *Engine) CompleteOperation(ctx context.Context, inv Invocation, operationID string, res *Result, f *Failure) error {
	for range 3 {
		rec, err := e.opts.Ledger.Get(ctx, operationID)
		if err != nil {
			return fmt.Errorf("read operation %s: %w", operationID, err)
		}
		if rec.State == ledger.StateSucceeded || rec.State == ledger.StateFailed {
			return e.ensureOutcome(ctx, inv, rec)
		}
		// claimed: a conflicting write is retried here, not treated as superseded.
		r := &run{e: e, inv: inv, rec: rec, wf: decodeState(rec.Workflow), log: inv.Logger.With("operation_id", operationID), claimed: true}
		r.wf.Wrote = true // a completed sweep is never "already done"
		err = e.finish(ctx, r, res, f)
		if errors.Is(err, ledger.ErrConflict) {
			continue
		}
		return err
	}
	return fmt.Errorf("complete operation %s: %w", operationID, ledger.ErrConflict)
}
