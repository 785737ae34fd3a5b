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
// the same action already in flight; status check; POST (refused → follow).
//
// The list of requests before the POST is skipped when the status allows
// the action and this is the operation's first execution: no earlier
// attempt of this operation can have posted a request whose answer was
// lost, and another client's request in flight is found through the POST's
// refusal. A retry lists first, so that it never POSTs a second request.
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
	notAllowed := checkActionAllowed(cmd.Action, rel)
	if notAllowed != nil || !r.firstExecution() {
		req, ok, err := r.inFlightRequest(ctx, cmd.RelationshipID, cmd.Action)
		if err != nil {
			return stepResult{}, err
		}
		if ok {
			r.log.InfoContext(ctx, "following request already in flight", "request_id", req.ID, "request_status", req.Status)
			return r.followRequest(req), nil
		}
	}
	if cmd.Action == gdap.ActionTerminate && (rel.Status == gdap.StatusTerminationRequested || rel.Status == gdap.StatusTerminating) {
		// Terminating on its own (for example the customer terminated it):
		// follow the relationship until it is terminated.
		r.wf.Polls++
		return waitFor(stepApply, op.PollDelay(op.DefaultPollInterval, r.wf.Polls)), nil
	}
	if notAllowed != nil {
		return failed(notAllowed), nil
	}
	req, posted, err := r.postRequest(ctx, cmd.RelationshipID, cmd.Action)
	if err != nil {
		return stepResult{}, err // a refusal is mapped to conflict or invalid_state
	}
	if !posted {
		r.log.InfoContext(ctx, "request refused; following the one in flight", "request_id", req.ID)
		return r.followRequest(req), nil
	}
	r.wf.Wrote = true
	r.log.InfoContext(ctx, "relationship request created", "request_id", req.ID, "action", cmd.Action)
	return r.followRequest(req), nil
}

// firstExecution reports whether this invocation is the operation's first
// execution, so that any upstream write the operation sent, it sent itself
// (and knows the answer of). Every other invocation claims the record
// (Attempts + 1) before a step that may write; the one that accepted the
// command created it with Attempts 1.
func (r *run) firstExecution() bool { return r.rec.Attempts <= 1 }

// inFlightRequest lists relationship relID's requests and returns one for
// action that is still created or pending.
func (r *run) inFlightRequest(ctx context.Context, relID, action string) (gdap.Request, bool, error) {
	reqs, err := r.e.opts.Graph.ListRequests(ctx, relID)
	if err != nil {
		return gdap.Request{}, false, err
	}
	req, ok := activeRequest(reqs, action)
	return req, ok, nil
}

// postRequest creates a request for action on relationship relID (posted
// true). A POST Graph refuses — 409 (another request in progress), 400 or
// 412 (the relationship changed) — is answered by listing the requests: one
// for action in flight (an earlier POST of this operation whose answer was
// lost, or another client's) is returned with posted false; otherwise the
// POST's error, for the caller to decide.
func (r *run) postRequest(ctx context.Context, relID, action string) (req gdap.Request, posted bool, err error) {
	req, err = r.e.opts.Graph.CreateRequest(ctx, relID, action)
	if err == nil {
		return req, true, nil
	}
	if !isRefusal(err) {
		return gdap.Request{}, false, err
	}
	pending, ok, lerr := r.inFlightRequest(ctx, relID, action)
	if lerr != nil {
		return gdap.Request{}, false, lerr
	}
	if ok {
		return pending, false, nil
	}
	return gdap.Request{}, false, err
}

// isRefusal reports whether Graph refused a request POST because of the
// relationship's state: 409, 400 or 412.
func isRefusal(err error) bool {
	return isStatus(err, http.StatusConflict) || isStatus(err, http.StatusBadRequest) || isStatus(err, http.StatusPreconditionFailed)
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
