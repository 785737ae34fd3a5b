package engine

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/upstream"
)

// maxAssignmentWrites bounds the Graph writes of one step, so that an
// invocation stays short whatever the number of groups; the rest follow in
// the next step.
const maxAssignmentWrites = 8

// assignmentsWorkflow runs gdap.relationship.accessAssignments.set
// (docs/contract.md §6.1), desired-state and level-based:
//
//	start, apply     read the relationship (waiting for approval if asked),
//	                 list its assignments, diff, write what differs
//	awaitApproval    the relationship still waits for the customer (poll)
//	pollAssignments  follow pending assignments and update operations until
//	                 the desired state holds (poll)
//
// Every write is guarded: a POST for a group that has an assignment answers
// 409, a PATCH or DELETE carries If-Match (412 re-lists and re-diffs), so a
// retry after a lost answer never writes twice.
func assignmentsWorkflow(ctx context.Context, r *run) (stepResult, error) {
	cmd, ok := r.cmd.(*command.SetAssignments)
	if !ok {
		return failed(op.Failf(op.CodeInternal, "unexpected command %T", r.cmd)), nil
	}
	switch r.step() {
	case stepStart, stepApply:
		return applyAssignments(ctx, r, cmd)
	case stepAwaitActive:
		return awaitActive(ctx, r, cmd)
	case stepPollAssignments:
		return pollAssignments(ctx, r, cmd)
	case stepTerminateCopied:
		return terminateCopied(ctx, r, cmd)
	case stepPollRequest:
		return pollRequest(ctx, r, cmd.CopyFrom, gdap.ActionTerminate, stepFinish)
	case stepFinish:
		return finishCopied(ctx, r, cmd)
	}
	return failed(op.Failf(op.CodeInternal, "unknown step %q", r.rec.Step)), nil
}

// awaitsApproval reports whether status means the customer has yet to
// approve, or has approved and the relationship is being provisioned.
func awaitsApproval(status string) bool {
	return status == gdap.StatusApprovalPending || status == gdap.StatusApproved || status == gdap.StatusActivating
}

// readyForAssignments reads the relationship and decides whether
// assignments can be set now. ok is false when res is the step's result
// (wait for approval, or fail).
func readyForAssignments(ctx context.Context, r *run, cmd *command.SetAssignments) (gdap.Relationship, stepResult, bool, error) {
	rel, err := r.freshOrGet(ctx, cmd.RelationshipID)
	if err != nil {
		return rel, stepResult{}, false, err
	}
	switch {
	case rel.Status == gdap.StatusActive:
		if r.wf.AwaitingApproval {
			// The operation deadline counts from here.
			r.wf.AwaitingApproval = false
			r.wf.DeadlineFrom = r.now()
			r.log.InfoContext(ctx, "relationship approved and active", "relationship_id", rel.ID)
		}
		return rel, stepResult{}, true, nil
	case cmd.AwaitApproval && awaitsApproval(rel.Status):
		r.wf.AwaitingApproval = true
		r.wf.Polls++
		return rel, waitFor(stepAwaitActive, r.e.approvalCheckDelay(rel, r.now())), false, nil
	case cmd.AwaitApproval && rel.Status == gdap.StatusExpired && rel.ActivatedDateTime.IsZero():
		return rel, failed(op.Failf(op.CodeApprovalExpired,
			"relationship %s was not approved by the customer within the approval window and has expired", rel.ID)), false, nil
	case cmd.AwaitApproval && gdap.IsEnded(rel.Status):
		return rel, failed(op.Failf(op.CodeInvalidState,
			"relationship %s is %s: the customer rejected it or it was terminated before it became active", rel.ID, rel.Status)), false, nil
	}
	return rel, failed(op.Failf(op.CodeInvalidState,
		"relationship %s is %s: access assignments can only be set on an active relationship", rel.ID, rel.Status)), false, nil
}

// approvalCheckDelay is when to look again at a relationship waiting for
// approval: GDAP_FOLLOWUP_POLL, or just after the approval window lapses if
// that is sooner (the sweep and webhooks wake the operation earlier).
func (e *Engine) approvalCheckDelay(rel gdap.Relationship, now time.Time) time.Duration {
	d := e.opts.FollowUpPoll
	if !rel.CreatedDateTime.IsZero() {
		if lapse := rel.CreatedDateTime.Add(approvalLapse + time.Minute).Sub(now); lapse > 0 && lapse < d {
			d = lapse
		}
	}
	return max(d, time.Minute)
}

// approvalLapse is how long Graph keeps a relationship waiting for approval
// (docs/platform/graph-facts.md).
const approvalLapse = 90 * 24 * time.Hour

func awaitActive(ctx context.Context, r *run, cmd *command.SetAssignments) (stepResult, error) {
	rel, res, ok, err := readyForAssignments(ctx, r, cmd)
	if err != nil || !ok {
		return res, err
	}
	// Active: writing needs the lease; apply uses what was just read.
	r.fresh = &rel
	return goTo(stepApply), nil
}

// applyAssignments makes the listed assignments hold: one diff, then the
// writes, re-listing after a 409 or 412.
func applyAssignments(ctx context.Context, r *run, cmd *command.SetAssignments) (stepResult, error) {
	rel, res, ok, err := readyForAssignments(ctx, r, cmd)
	if err != nil || !ok {
		return res, err
	}
	if cmd, err = r.desired(ctx, cmd, rel); err != nil {
		return stepResult{}, err
	}
	if f := rolesNotGranted(rel, cmd); f != nil {
		return failed(f), nil
	}
	writes := 0
	for attempt := 0; ; attempt++ {
		existing, err := r.e.opts.Graph.ListAccessAssignments(ctx, cmd.RelationshipID)
		if err != nil {
			return stepResult{}, err
		}
		p := diffAssignments(cmd, existing, r.wf.AssignmentOps)
		if p.failure != nil {
			return failed(p.failure), nil
		}
		if len(p.writes) == 0 {
			if p.converged && len(r.wf.AssignmentOps) == 0 {
				return r.assignmentsDone(cmd, existing), nil
			}
			return waitFor(stepPollAssignments, op.DefaultPollInterval), nil
		}
		if attempt > maxPreconditionRetries {
			return failed(op.Failf(op.CodePreconditionFailed,
				"the access assignments of relationship %s kept changing between read and write (%d attempts)", cmd.RelationshipID, attempt)), nil
		}
		raced := false
		for _, w := range p.writes {
			if writes >= maxAssignmentWrites {
				// Continue in the next step, under a fresh invocation budget.
				return waitFor(stepApply, time.Millisecond), nil
			}
			writes++
			err := r.writeAssignment(ctx, cmd.RelationshipID, w)
			if isStatus(err, http.StatusConflict) || isStatus(err, http.StatusPreconditionFailed) {
				r.log.InfoContext(ctx, "access assignment changed between read and write; re-listing",
					"security_group_id", w.group, "status", statusOf(err))
				raced = true
				break
			}
			if err != nil {
				return stepResult{}, err
			}
		}
		if !raced {
			r.wf.Polls = 0
			return waitFor(stepPollAssignments, op.DefaultPollInterval), nil
		}
	}
}

// pollAssignments follows update operations and pending assignments. When
// the desired state holds it succeeds; when a write is needed again (an
// assignment was changed meanwhile) it goes back to apply.
func pollAssignments(ctx context.Context, r *run, cmd *command.SetAssignments) (stepResult, error) {
	cmd = r.effective(cmd)
	for aid, url := range r.wf.AssignmentOps {
		if url == "" {
			continue // followed by the assignment's roles below
		}
		gop, err := r.e.opts.Graph.GetOperation(ctx, url)
		if err != nil {
			return stepResult{}, err
		}
		switch gop.Status {
		case gdap.OperationSucceeded:
			delete(r.wf.AssignmentOps, aid)
		case gdap.OperationFailed:
			msg := fmt.Sprintf("the update of access assignment %s failed upstream (operation %s)", aid, gop.ID)
			if gop.Data != "" {
				msg += ": " + truncate(gop.Data, 1024)
			}
			return failed(&op.Failure{Code: op.CodeOperationFailed, Message: msg}), nil
		}
	}
	existing, err := r.e.opts.Graph.ListAccessAssignments(ctx, cmd.RelationshipID)
	if err != nil {
		return stepResult{}, err
	}
	settleUnfollowed(cmd, existing, r.wf.AssignmentOps)
	p := diffAssignments(cmd, existing, r.wf.AssignmentOps)
	switch {
	case p.failure != nil:
		return failed(p.failure), nil
	case len(p.writes) > 0:
		return goTo(stepApply), nil
	case p.converged && len(r.wf.AssignmentOps) == 0:
		return r.assignmentsDone(cmd, existing), nil
	}
	r.wf.Polls++
	return waitFor(stepPollAssignments, op.PollDelay(op.DefaultPollInterval, r.wf.Polls)), nil
}

// rolesNotGranted refuses roles the relationship does not grant.
func rolesNotGranted(rel gdap.Relationship, cmd *command.SetAssignments) *op.Failure {
	for i, a := range cmd.Assignments {
		for j, role := range a.Roles {
			if !gdap.HasRole(rel.UnifiedRoles, role) {
				f := op.Failf(op.CodeInvalidCommand,
					"data.assignments[%d].roles[%d].roleDefinitionId: role %s is not among the roles of relationship %s", i, j, role, rel.ID)
				f.Field = fmt.Sprintf("data.assignments[%d].roles[%d].roleDefinitionId", i, j)
				return f
			}
		}
	}
	return nil
}

// writeAssignment performs one planned write and records what it did.
func (r *run) writeAssignment(ctx context.Context, relID string, w assignmentWrite) error {
	g := r.e.opts.Graph
	var err error
	switch w.action {
	case op.AssignmentCreated:
		var a gdap.AccessAssignment
		a, err = g.CreateAccessAssignment(ctx, relID, w.group, w.roles)
		if err == nil {
			r.log.InfoContext(ctx, "access assignment created", "security_group_id", w.group, "access_assignment_id", a.ID)
		}
	case op.AssignmentUpdated:
		var res assignmentPatch
		res, err = g.PatchAccessAssignment(ctx, relID, w.existing.ID, w.existing.ETag, w.roles)
		if isStatus(err, http.StatusConflict) {
			// An update of this assignment is in flight: this operation's
			// own, started before a crash (Graph allows one at a time).
			// Follow it by the assignment's roles.
			r.log.InfoContext(ctx, "access assignment update already in flight; following it", "access_assignment_id", w.existing.ID)
			res, err = assignmentPatch{OperationURL: ""}, nil
		}
		if err == nil && res.Assignment == nil {
			if r.wf.AssignmentOps == nil {
				r.wf.AssignmentOps = map[string]string{}
			}
			r.wf.AssignmentOps[w.existing.ID] = res.OperationURL
			r.log.InfoContext(ctx, "access assignment update accepted", "access_assignment_id", w.existing.ID, "operation_url", res.OperationURL)
		}
	case op.AssignmentDeleted:
		err = g.DeleteAccessAssignment(ctx, relID, w.existing.ID, w.existing.ETag)
		if err == nil {
			r.log.InfoContext(ctx, "access assignment deleted", "access_assignment_id", w.existing.ID)
		}
	}
	if err != nil {
		return err
	}
	r.wf.Wrote = true
	if r.wf.Assignments == nil {
		r.wf.Assignments = map[string]string{}
	}
	r.wf.Assignments[strings.ToLower(w.group)] = w.action
	return nil
}

// assignmentsResult reports every listed group and, with prune, every
// group whose assignment this operation deleted.
func (r *run) assignmentsResult(cmd *command.SetAssignments, existing []gdap.AccessAssignment) *op.Result {
	byGroup := currentByGroup(existing)
	out := make([]op.Assignment, 0, len(cmd.Assignments))
	for _, want := range cmd.Assignments {
		key := strings.ToLower(want.SecurityGroupID)
		a := byGroup[key]
		out = append(out, op.Assignment{
			SecurityGroupID: want.SecurityGroupID, AccessAssignmentID: a.ID, Roles: nonNil(a.Roles),
			Status: a.Status, Action: r.actionFor(key, a),
		})
	}
	for _, c := range r.wf.Copied {
		if c.Skipped {
			out = append(out, op.Assignment{SecurityGroupID: c.Group, Roles: []string{}, Action: op.AssignmentSkipped})
		}
	}
	if !cmd.Prune {
		return &op.Result{Assignments: out}
	}
	for _, a := range existing {
		key := strings.ToLower(a.SecurityGroupID)
		if byGroup[key].ID != a.ID || wanted(cmd, key) || (a.Status != gdap.AssignmentDeleting && a.Status != gdap.AssignmentDeleted) {
			continue
		}
		if r.wf.Assignments[key] == op.AssignmentDeleted || !a.LastModified.Before(r.rec.AcceptedAt) {
			out = append(out, op.Assignment{SecurityGroupID: a.SecurityGroupID, AccessAssignmentID: a.ID,
				Roles: nonNil(a.Roles), Status: a.Status, Action: op.AssignmentDeleted})
		}
	}
	return &op.Result{Assignments: out}
}

// actionFor is what this operation did to a group's assignment a. Should
// the workflow state have lost it (a crash between Graph's answer and the
// next ledger write), an assignment created since the operation was
// accepted was created by it.
func (r *run) actionFor(group string, a gdap.AccessAssignment) string {
	if act, ok := r.wf.Assignments[group]; ok {
		return act
	}
	if !a.CreatedDateTime.IsZero() && !a.CreatedDateTime.Before(r.rec.AcceptedAt) {
		return op.AssignmentCreated
	}
	return op.AssignmentUnchanged
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func statusOf(err error) int {
	if ue, ok := upstream.As(err); ok {
		return ue.StatusCode
	}
	return 0
}

// settleUnfollowed drops, from the updates being followed, those followed
// without an operation URL whose assignment now has the desired roles.
func settleUnfollowed(cmd *command.SetAssignments, existing []gdap.AccessAssignment, ops map[string]string) {
	for _, a := range existing {
		url, ok := ops[a.ID]
		if !ok || url != "" {
			continue
		}
		for _, w := range cmd.Assignments {
			if strings.EqualFold(w.SecurityGroupID, a.SecurityGroupID) && sameRoles(w.Roles, a.Roles) {
				delete(ops, a.ID)
			}
		}
	}
}
