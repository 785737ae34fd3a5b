package engine

import (
	"strings"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/graphapi"
	"github.com/gdapflow/gdapflow/internal/op"
)

// assignmentPatch is what PATCH of an access assignment answers.
type assignmentPatch = graphapi.AssignmentPatchResult

// assignmentWrite is one planned Graph write of an access assignment.
type assignmentWrite struct {
	// action is op.AssignmentCreated, AssignmentUpdated or AssignmentDeleted.
	action string
	group  string
	roles  []string
	// existing is the assignment updated or deleted.
	existing gdap.AccessAssignment
}

// assignmentPlan is the difference between the desired and the current
// access assignments of a relationship.
type assignmentPlan struct {
	// writes bring the current state closer to the desired one.
	writes []assignmentWrite
	// converged is true when the desired state holds (writes is empty).
	converged bool
	// failure ends the operation (an assignment in error).
	failure *op.Failure
}

// currentByGroup maps lower-case security group ids to their current
// assignment: the one not deleted if there is one.
func currentByGroup(existing []gdap.AccessAssignment) map[string]gdap.AccessAssignment {
	out := make(map[string]gdap.AccessAssignment, len(existing))
	for _, a := range existing {
		key := strings.ToLower(a.SecurityGroupID)
		if prev, ok := out[key]; ok && prev.Status != gdap.AssignmentDeleted {
			continue
		}
		out[key] = a
	}
	return out
}

// diffAssignments compares the command's desired assignments with the
// current ones. inFlight names assignments whose update this operation
// follows (not planned again). It is pure.
func diffAssignments(cmd *command.SetAssignments, existing []gdap.AccessAssignment, inFlight map[string]string) assignmentPlan {
	cur := currentByGroup(existing)
	p := assignmentPlan{converged: true}
	wait := func() { p.converged = false }
	for _, want := range cmd.Assignments {
		a, ok := cur[strings.ToLower(want.SecurityGroupID)]
		_, updating := inFlight[a.ID]
		switch {
		case !ok || a.Status == gdap.AssignmentDeleted:
			p.writes = append(p.writes, assignmentWrite{action: op.AssignmentCreated, group: want.SecurityGroupID, roles: want.Roles})
		case a.Status == gdap.AssignmentError:
			p.failure = op.Failf(op.CodeOperationFailed,
				"access assignment %s of security group %s on relationship %s is in status error (roles %s); Graph could not apply it",
				a.ID, a.SecurityGroupID, cmd.RelationshipID, strings.Join(a.Roles, ", "))
			return p
		case a.Status == gdap.AssignmentDeleting, a.Status == gdap.AssignmentPending, updating && !sameRoles(a.Roles, want.Roles):
			wait()
		case !sameRoles(a.Roles, want.Roles):
			// Active (or a status Graph added later) with other roles.
			p.writes = append(p.writes, assignmentWrite{action: op.AssignmentUpdated, group: want.SecurityGroupID, roles: want.Roles, existing: a})
		case a.Status != gdap.AssignmentActive:
			wait()
		}
	}
	if cmd.Prune {
		for key, a := range cur {
			if wanted(cmd, key) {
				continue
			}
			switch a.Status {
			case gdap.AssignmentActive, gdap.AssignmentPending:
				p.writes = append(p.writes, assignmentWrite{action: op.AssignmentDeleted, group: a.SecurityGroupID, existing: a})
			case gdap.AssignmentDeleting:
				wait()
			}
		}
	}
	if len(p.writes) > 0 {
		p.converged = false
	}
	return p
}

// wanted reports whether the command lists the lower-case group id key.
func wanted(cmd *command.SetAssignments, key string) bool {
	for _, w := range cmd.Assignments {
		if strings.EqualFold(w.SecurityGroupID, key) {
			return true
		}
	}
	return false
}
