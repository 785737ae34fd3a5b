package engine

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

func requestWorkflow(ctx context.Context, r *run) (stepResult, error) {
	cmd, ok := r.cmd.(*command.RequestRelationship)
	if !ok {
		return failed(op.Failf(op.CodeInternal, "unexpected command %T", r.cmd)), nil
	}
	switch r.step() {
	case "", stepApply:
		return startRequest(ctx, r, cmd)
	case stepPollRequest:
		return pollRequest(ctx, r, cmd.RelationshipID, cmd.Action, stepFinish)
	case stepFinish:
		rel, err := r.e.opts.Graph.GetRelationship(ctx, cmd.RelationshipID)
		if err != nil {
			return stepResult{}, err
		}
		return done(&op.Result{Relationship: op.RelationshipOf(rel), RequestID: r.wf.RequestID, RequestStatus: r.wf.RequestStatus}), nil
	}
	return failed(op.Failf(op.CodeInternal, "unknown step %q", r.rec.Step)), nil
}

// startRequest: read; goal holds → alreadyDone; policy; follow a request for
// the same action already in flight; status check; POST (409 → follow).
func startRequest(ctx context.Context, r *run, cmd *command.RequestRelationship) (stepResult, error) {
	rel, err := r.e.opts.Graph.GetRelationship(ctx, cmd.RelationshipID)
	if err != nil {
		return stepResult{}, err
	}
	if cmd.Action == gdap.ActionTerminate {
		if f := r.e.protectedFailure(rel, "terminated"); f != nil {
			return failed(f), nil
		}
	}
	if actionGoalHolds(cmd.Action, rel) {
		return done(&op.Result{Relationship: op.RelationshipOf(rel)}), nil
	}
	reqs, err := r.e.opts.Graph.ListRequests(ctx, cmd.RelationshipID)
	if err != nil {
		return stepResult{}, err
	}
	if req, ok := activeRequest(reqs, cmd.Action); ok {
		r.log.InfoContext(ctx, "following request already in flight", "request_id", req.ID, "request_status", req.Status)
		return r.followRequest(req), nil
	}
	if cmd.Action == gdap.ActionTerminate && (rel.Status == gdap.StatusTerminationRequested || rel.Status == gdap.StatusTerminating) {
		// Terminating on its own (for example the customer terminated it):
		// follow the relationship until it is terminated.
		r.wf.Polls++
		return waitFor(stepApply, op.PollDelay(op.DefaultPollInterval, r.wf.Polls)), nil
	}
	if f := checkActionAllowed(cmd.Action, rel); f != nil {
		return failed(f), nil
	}
	req, err := r.e.opts.Graph.CreateRequest(ctx, cmd.RelationshipID, cmd.Action)
	if isStatus(err, http.StatusConflict) {
		reqs, lerr := r.e.opts.Graph.ListRequests(ctx, cmd.RelationshipID)
		if lerr != nil {
			return stepResult{}, lerr
		}
		if pending, ok := activeRequest(reqs, cmd.Action); ok {
			r.log.InfoContext(ctx, "request conflicted; following the pending one", "request_id", pending.ID)
			return r.followRequest(pending), nil
		}
		return stepResult{}, err // mapped to conflict
	}
	if err != nil {
		return stepResult{}, err
	}
	r.wf.Wrote = true
	r.log.InfoContext(ctx, "relationship request created", "request_id", req.ID, "action", cmd.Action)
	return r.followRequest(req), nil
}

func (r *run) followRequest(req gdap.Request) stepResult {
	r.wf.RequestID = req.ID
	r.wf.RequestStatus = req.Status
	r.wf.PollBaseMS = op.DefaultPollInterval.Milliseconds()
	r.wf.Polls = 0
	switch req.Status {
	case gdap.RequestSucceeded:
		return goTo(stepFinish)
	case gdap.RequestFailed:
		return failed(op.Failf(op.CodeOperationFailed, "relationship request %s (%s) failed", req.ID, req.Action))
	}
	return waitFor(stepPollRequest, op.DefaultPollInterval)
}

// pollRequest polls the followed request (of action on relationship relID)
// once; on success it moves to next.
func pollRequest(ctx context.Context, r *run, relID, action string, next Step) (stepResult, error) {
	req, err := r.e.opts.Graph.GetRequest(ctx, relID, r.wf.RequestID)
	if err != nil {
		return stepResult{}, err
	}
	r.wf.Polls++
	r.wf.RequestStatus = req.Status
	switch req.Status {
	case gdap.RequestSucceeded:
		r.log.InfoContext(ctx, "relationship request succeeded", "request_id", req.ID, "polls", r.wf.Polls)
		return goTo(next), nil
	case gdap.RequestFailed:
		return failed(op.Failf(op.CodeOperationFailed, "relationship request %s (%s) failed upstream", req.ID, action)), nil
	}
	return waitFor(r.step(), op.PollDelay(time.Duration(r.wf.PollBaseMS)*time.Millisecond, r.wf.Polls)), nil
}

// actionGoalHolds reports whether the relationship is already where the
// action leads.
func actionGoalHolds(action string, rel gdap.Relationship) bool {
	switch action {
	case gdap.ActionLockForApproval:
		return slices.Contains([]string{gdap.StatusApprovalPending, gdap.StatusApproved, gdap.StatusActivating, gdap.StatusActive}, rel.Status)
	case gdap.ActionApprove:
		return slices.Contains([]string{gdap.StatusApproved, gdap.StatusActivating, gdap.StatusActive}, rel.Status)
	case gdap.ActionTerminate:
		return rel.Status == gdap.StatusTerminated
	case gdap.ActionReject:
		return rel.IsReseller && !rel.IsPartnerConsentPending && gdap.IsTerminal(rel.Status)
	}
	return false
}

// checkActionAllowed refuses actions the status does not allow (no POST).
func checkActionAllowed(action string, rel gdap.Relationship) *op.Failure {
	switch action {
	case gdap.ActionLockForApproval:
		if rel.Status == gdap.StatusCreated {
			return nil
		}
		return op.Failf(op.CodeInvalidState, "relationship %s is %s: lockForApproval needs status created", rel.ID, rel.Status)
	case gdap.ActionTerminate:
		if rel.Status == gdap.StatusActive {
			return nil
		}
		return op.Failf(op.CodeInvalidState, "relationship %s is %s: terminate needs status active", rel.ID, rel.Status)
	case gdap.ActionApprove, gdap.ActionReject:
		if rel.Status == gdap.StatusApprovalPending && rel.IsReseller && rel.IsPartnerConsentPending {
			return nil
		}
		return op.Failf(op.CodeInvalidState, "relationship %s (status %s) is not a reseller relationship awaiting the partner's consent: %s is not possible", rel.ID, rel.Status, action)
	}
	return op.Failf(op.CodeInvalidCommand, "unknown action %q", action)
}

func activeRequest(reqs []gdap.Request, action string) (gdap.Request, bool) {
	for _, q := range reqs {
		if q.Action == action && (q.Status == gdap.RequestCreated || q.Status == gdap.RequestPending) {
			return q, true
		}
	}
	return gdap.Request{}, false
}
