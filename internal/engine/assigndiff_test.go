package engine

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

func TestDiffAssignments(t *testing.T) {
	t.Parallel()
	const g1, g2, g3 = "aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002", "aaaaaaaa-0000-4000-8000-000000000003"
	const r1, r2 = "bbbbbbbb-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
	as := func(id, group, status string, roles ...string) gdap.AccessAssignment {
		return gdap.AccessAssignment{ID: id, SecurityGroupID: group, Status: status, Roles: roles, ETag: "e-" + id}
	}
	want := func(prune bool, ws ...command.Assignment) *command.SetAssignments {
		return &command.SetAssignments{RelationshipID: "rel", Assignments: ws, Prune: prune}
	}
	tests := []struct {
		name      string
		cmd       *command.SetAssignments
		existing  []gdap.AccessAssignment
		inFlight  map[string]string
		actions   []string
		converged bool
		failure   op.Code
	}{
		{name: "nothing yet", cmd: want(false, command.Assignment{SecurityGroupID: g1, Roles: []string{r1}}),
			actions: []string{op.AssignmentCreated}},
		{name: "converged", cmd: want(false, command.Assignment{SecurityGroupID: g1, Roles: []string{r1}}),
			existing: []gdap.AccessAssignment{as("a1", g1, gdap.AssignmentActive, r1)}, converged: true},
		{name: "group case and role order do not matter", cmd: want(false, command.Assignment{SecurityGroupID: "AAAAAAAA-0000-4000-8000-000000000001", Roles: []string{r2, r1}}),
			existing: []gdap.AccessAssignment{as("a1", g1, gdap.AssignmentActive, r1, r2)}, converged: true},
		{name: "pending waits", cmd: want(false, command.Assignment{SecurityGroupID: g1, Roles: []string{r1}}),
			existing: []gdap.AccessAssignment{as("a1", g1, gdap.AssignmentPending, r1)}},
		{name: "roles differ: update", cmd: want(false, command.Assignment{SecurityGroupID: g1, Roles: []string{r1, r2}}),
			existing: []gdap.AccessAssignment{as("a1", g1, gdap.AssignmentActive, r1)}, actions: []string{op.AssignmentUpdated}},
		{name: "update in flight waits", cmd: want(false, command.Assignment{SecurityGroupID: g1, Roles: []string{r1, r2}}),
			existing: []gdap.AccessAssignment{as("a1", g1, gdap.AssignmentActive, r1)}, inFlight: map[string]string{"a1": "url"}},
		{name: "deleted is recreated", cmd: want(false, command.Assignment{SecurityGroupID: g1, Roles: []string{r1}}),
			existing: []gdap.AccessAssignment{as("a0", g1, gdap.AssignmentDeleted, r1)}, actions: []string{op.AssignmentCreated}},
		{name: "deleting waits", cmd: want(false, command.Assignment{SecurityGroupID: g1, Roles: []string{r1}}),
			existing: []gdap.AccessAssignment{as("a0", g1, gdap.AssignmentDeleting, r1)}},
		{name: "error fails", cmd: want(false, command.Assignment{SecurityGroupID: g1, Roles: []string{r1}}),
			existing: []gdap.AccessAssignment{as("a1", g1, gdap.AssignmentError, r1)}, failure: op.CodeOperationFailed},
		{name: "unlisted kept without prune", cmd: want(false, command.Assignment{SecurityGroupID: g1, Roles: []string{r1}}),
			existing: []gdap.AccessAssignment{as("a1", g1, gdap.AssignmentActive, r1), as("a2", g2, gdap.AssignmentActive, r1)}, converged: true},
		{name: "unlisted deleted with prune", cmd: want(true, command.Assignment{SecurityGroupID: g1, Roles: []string{r1}}),
			existing: []gdap.AccessAssignment{as("a1", g1, gdap.AssignmentActive, r1), as("a2", g2, gdap.AssignmentActive, r1),
				as("a3", g3, gdap.AssignmentDeleted, r1)}, actions: []string{op.AssignmentDeleted}},
		{name: "prune waits for deleting", cmd: want(true, command.Assignment{SecurityGroupID: g1, Roles: []string{r1}}),
			existing: []gdap.AccessAssignment{as("a1", g1, gdap.AssignmentActive, r1), as("a2", g2, gdap.AssignmentDeleting, r1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := diffAssignments(tt.cmd, tt.existing, tt.inFlight)
			if tt.failure != "" {
				require.NotNil(t, p.failure)
				require.Equal(t, tt.failure, p.failure.Code)
				return
			}
			require.Nil(t, p.failure)
			var got []string
			for _, w := range p.writes {
				got = append(got, w.action)
			}
			require.Equal(t, tt.actions, got)
			require.Equal(t, tt.converged, p.converged)
		})
	}
}
