package engine

import (
	"context"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/op"
)

// maxConfirmReads bounds how often a DAP removal is re-read for confirmation.
const maxConfirmReads = 5

// removeDAPWorkflow removes legacy DAP through Partner Center: read the
// customer; already off → alreadyDone; otherwise PATCH AllowDelegatedAccess
// false and read back to confirm.
func removeDAPWorkflow(ctx context.Context, r *run) (stepResult, error) {
	cmd, ok := r.cmd.(*command.RemoveDAP)
	if !ok {
		return failed(op.Failf(op.CodeInternal, "unexpected command %T", r.cmd)), nil
	}
	if r.e.opts.Protected(cmd.CustomerTenantID) {
		return failed(op.Failf(op.CodePolicyDenied, "customer %s is protected (GDAP_PROTECTED_CUSTOMERS): DAP will not be removed", cmd.CustomerTenantID)), nil
	}
	step := r.step()
	if step == stepStart {
		step = stepApply
	}
	return dapStep(ctx, r, cmd.CustomerTenantID, step, stepApply, stepConfirm, func() stepResult { return done(&op.Result{}) })
}

// dapStep runs one step of a DAP removal for tenant: at apply it reads the
// customer and, unless delegated access is off already, disables it; at
// confirm it reads back until Partner Center shows it off. apply and confirm
// name the calling workflow's steps; confirmed is its result once DAP is off.
func dapStep(ctx context.Context, r *run, tenant string, step, apply, confirm Step, confirmed func() stepResult) (stepResult, error) {
	pc := r.e.opts.PartnerCenter
	if pc == nil {
		return failed(op.Failf(op.CodeUnauthorized, "Partner Center App+User credentials are not configured: set GDAP_PC_CLIENT_ID, GDAP_PARTNER_TENANT_ID and GDAP_PC_REFRESH_TOKEN_SECRET_URI (see docs/partner-center-auth.md)")), nil
	}
	corr := r.rec.OperationID
	c, err := pc.GetCustomer(ctx, tenant, corr)
	if err != nil {
		return stepResult{}, err
	}
	if c.AllowDelegatedAccess != nil && !*c.AllowDelegatedAccess {
		return confirmed(), nil
	}
	switch step {
	case apply:
		if _, err := pc.DisableDelegatedAccess(ctx, tenant, corr); err != nil {
			return stepResult{}, err
		}
		r.wf.Wrote = true
		r.wf.Polls = 0
		return goTo(confirm), nil
	case confirm:
		r.wf.Polls++
		if r.wf.Polls >= maxConfirmReads {
			return failed(op.Failf(op.CodeOperationFailed, "Partner Center accepted the DAP removal for customer %s but still reports AllowDelegatedAccess true after %d reads", tenant, r.wf.Polls)), nil
		}
		return waitFor(confirm, op.PollDelay(op.DefaultPollInterval, r.wf.Polls)), nil
	}
	return failed(op.Failf(op.CodeInternal, "unknown step %q", r.rec.Step)), nil
}
