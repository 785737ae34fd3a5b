package engine

import (
	"context"
	"net/http"
	"strings"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

// copiedAssignment is one assignment taken over from the relationship an
// accessAssignments.set copies from (command.SetAssignments.CopyFrom).
type copiedAssignment struct {
	Group string   `json:"g"`
	Roles []string `json:"r"`
	// Skipped: none of the group's roles is granted by this relationship.
	Skipped bool `json:"s,omitempty"`
}

// desired returns the command with the assignments of cmd.CopyFrom added,
// roles limited to rel's roles: read once, when the relationship first is
// active, and kept in the workflow state (the source may be terminated
// afterwards). A group the command lists itself keeps its listed roles.
func (r *run) desired(ctx context.Context, cmd *command.SetAssignments, rel gdap.Relationship) (*command.SetAssignments, error) {
	if cmd.CopyFrom == "" || r.wf.CopyRead {
		return r.effective(cmd), nil
	}
	src, err := r.e.opts.Graph.ListAccessAssignments(ctx, cmd.CopyFrom)
	if err != nil {
		return nil, err
	}
	for _, a := range src {
		if a.Status != gdap.AssignmentActive && a.Status != gdap.AssignmentPending {
			continue
		}
		if wanted(cmd, strings.ToLower(a.SecurityGroupID)) {
			continue
		}
		var roles []string
		for _, role := range a.Roles {
			if gdap.HasRole(rel.UnifiedRoles, role) {
				roles = append(roles, role)
			}
		}
		c := copiedAssignment{Group: a.SecurityGroupID, Roles: roles, Skipped: len(roles) == 0}
		if c.Skipped {
			c.Roles = a.Roles
			r.log.WarnContext(ctx, "security group keeps none of its roles on the new relationship; not assigned",
				"security_group_id", a.SecurityGroupID, "copied_from", cmd.CopyFrom)
		}
		r.wf.Copied = append(r.wf.Copied, c)
	}
	r.wf.CopyRead = true
	return r.effective(cmd), nil
}

// effective is cmd with the copied assignments (desired) added.
func (r *run) effective(cmd *command.SetAssignments) *command.SetAssignments {
	if len(r.wf.Copied) == 0 {
		return cmd
	}
	eff := *cmd
	eff.Assignments = append([]command.Assignment(nil), cmd.Assignments...)
	for _, c := range r.wf.Copied {
		if !c.Skipped {
			eff.Assignments = append(eff.Assignments, command.Assignment{SecurityGroupID: c.Group, Roles: c.Roles})
		}
	}
	return &eff
}

// assignmentsDone ends the assignment work: done, or on to terminating the
// relationship copied from.
func (r *run) assignmentsDone(cmd *command.SetAssignments, existing []gdap.AccessAssignment) stepResult {
	if cmd.TerminateCopied {
		return goTo(stepTerminateCopied)
	}
	return done(r.assignmentsResult(cmd, existing))
}

// terminateCopied terminates the relationship the assignments were copied
// from, once every assignment is active (a replacement's last step). A
// protected customer's relationship is refused (policy_denied) and one
// whose customer is unknown too, while any customer is protected.
func terminateCopied(ctx context.Context, r *run, cmd *command.SetAssignments) (stepResult, error) {
	old, err := r.e.opts.Graph.GetRelationship(ctx, cmd.CopyFrom)
	if err != nil {
		return stepResult{}, err
	}
	if f := r.e.protectedFailure(old, "terminated (replaced)"); f != nil {
		return failed(f), nil
	}
	switch {
	case old.Status == gdap.StatusTerminated:
		return goTo(stepFinish), nil
	case isEnding(old.Status):
		r.wf.Polls++
		return waitFor(stepTerminateCopied, op.PollDelay(op.DefaultPollInterval, r.wf.Polls)), nil
	case old.Status != gdap.StatusActive:
		return failed(op.Failf(op.CodeInvalidState, "relationship %s, copied from, is %s: it cannot be terminated", old.ID, old.Status)), nil
	}
	inFlight, ok, err := r.inFlightRequest(ctx, old.ID, gdap.ActionTerminate)
	if err != nil {
		return stepResult{}, err
	}
	if ok {
		return r.followRequest(inFlight), nil
	}
	req, err := r.e.opts.Graph.CreateRequest(ctx, old.ID, gdap.ActionTerminate)
	if isStatus(err, http.StatusConflict) {
		return waitFor(stepTerminateCopied, op.DefaultPollInterval), nil // re-read
	}
	if err != nil {
		return stepResult{}, err
	}
	r.wf.Wrote = true
	r.log.InfoContext(ctx, "relationship copied from: termination requested", "relationship_id", old.ID, "request_id", req.ID)
	return r.followRequest(req), nil
}

// finishCopied reports the assignments and the terminated relationship.
func finishCopied(ctx context.Context, r *run, cmd *command.SetAssignments) (stepResult, error) {
	existing, err := r.e.opts.Graph.ListAccessAssignments(ctx, cmd.RelationshipID)
	if err != nil {
		return stepResult{}, err
	}
	old, err := r.e.opts.Graph.GetRelationship(ctx, cmd.CopyFrom)
	if err != nil {
		return stepResult{}, err
	}
	res := r.assignmentsResult(r.effective(cmd), existing)
	res.ReplacedRelationship = &op.ReplacedRelationship{ID: old.ID, Status: old.Status}
	return done(res), nil
}
