package engine

import (
	"context"

	"github.com/gdapflow/gdapflow/internal/op"
)

// sweepPollInterval is how often a gdap.sweep.run polls its sweep's state.
const sweepPollInterval = op.DefaultPollInterval

// sweepRunWorkflow runs gdap.sweep.run as an ordinary workflow: the first
// step starts the sweep named after the operation (or joins the one already
// running) under the operation's lease; the poll step then reads the sweep's
// state until it has ended.
func sweepRunWorkflow(ctx context.Context, r *run) (stepResult, error) {
	sw := r.e.opts.Sweeper
	if sw == nil {
		return failed(op.Failf(op.CodeUnsupportedCommand, "the expiry sweep is not configured in this deployment")), nil
	}
	switch r.step() {
	case stepStart:
		id, err := sw.Start(ctx, r.inv, r.rec.OperationID)
		if err != nil {
			return stepResult{}, err
		}
		r.wf.SweepID = id
		r.wf.Wrote = true // a sweep that ran is never "already done"
		r.wf.Polls = 0
		return goTo(stepPollSweep), nil
	case stepPollSweep:
		st, err := sw.Status(ctx, r.wf.SweepID)
		if err != nil {
			return stepResult{}, err
		}
		switch {
		case st.Done && st.Failure != nil:
			return failed(st.Failure), nil
		case st.Done:
			return done(&op.Result{SweepID: r.wf.SweepID}), nil
		}
		r.wf.Polls++
		return waitFor(stepPollSweep, op.PollDelay(sweepPollInterval, r.wf.Polls)), nil
	}
	return failed(op.Failf(op.CodeInternal, "unknown step %q", r.rec.Step)), nil
}
