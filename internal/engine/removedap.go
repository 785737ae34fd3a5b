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
	pc := r.e.opts.PartnerCenter
	if pc == nil {
		return failed(op.Failf(op.CodeUnauthorized, "Partner Center App+User credentials are not configured: set GDAP_PC_CLIENT_ID, GDAP_PARTNER_TENANT_ID and GDAP_PC_REFRESH_TOKEN_SECRET_URI (see docs/partner-center-auth.md)")), nil
	}
	corr := r.rec.OperationID
	switch r.step() {
	case "", stepApply:
		c, err := pc.GetCustomer(ctx, cmd.CustomerTenantID, corr)
		if err != nil {
			return stepResult{}, err
		}
		if c.AllowDelegatedAccess != nil && !*c.AllowDelegatedAccess {
			return done(&op.Result{}), nil
		}
		if _, err := pc.DisableDelegatedAccess(ctx, cmd.CustomerTenantID, corr); err != nil {
			return stepResult{}, err
		}
		r.wf.Wrote = true
		r.wf.Polls = 0
		return goTo(stepConfirm), nil
	case stepConfirm:
		c, err := pc.GetCustomer(ctx, cmd.CustomerTenantID, corr)
		if err != nil {
			return stepResult{}, err
		}
		if c.AllowDelegatedAccess != nil && !*c.AllowDelegatedAccess {
			return done(&op.Result{}), nil
		}
		r.wf.Polls++
		if r.wf.Polls >= maxConfirmReads {
			return failed(op.Failf(op.CodeOperationFailed, "Partner Center accepted the DAP removal for customer %s but still reports AllowDelegatedAccess true after %d reads", cmd.CustomerTenantID, r.wf.Polls)), nil
		}
		return waitFor(stepConfirm, op.PollDelay(op.DefaultPollInterval, r.wf.Polls)), nil
	}
	return failed(op.Failf(op.CodeInternal, "unknown step %q", r.rec.Step)), nil
}
