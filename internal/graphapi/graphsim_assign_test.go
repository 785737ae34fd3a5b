package graphapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/graphapi"
)

const (
	groupA = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
	groupB = "bbbbbbbb-cccc-4ddd-8eee-ffffffffffff"
)

func fixtureReader(t *testing.T, fx graphsim.Fixtures) io.Reader {
	t.Helper()
	raw, err := json.Marshal(fx)
	require.NoError(t, err)
	return bytes.NewReader(raw)
}

// activeRel adds an active relationship with roleUser and roleHelpdesk.
func (b simBundle) activeRel(t *testing.T) string {
	t.Helper()
	return b.add(t, gdap.Relationship{Status: gdap.StatusActive, UnifiedRoles: []string{roleUser, roleHelpdesk}})
}

// settle advances the clock past the simulator's assignment step.
func (b simBundle) settle(t *testing.T) {
	t.Helper()
	_, err := b.sim.Advance(graphsim.AssignmentStepDelayDefault)
	require.NoError(t, err)
}

// followOperation polls an operation URL by its Retry-After until it ends.
func (b simBundle) followOperation(t *testing.T, u string, retry time.Duration) gdap.Operation {
	t.Helper()
	for range 10 {
		_, err := b.sim.Advance(retry)
		require.NoError(t, err)
		op, err := b.client.GetOperation(t.Context(), u)
		require.NoError(t, err)
		if op.Status == gdap.OperationSucceeded || op.Status == gdap.OperationFailed {
			return op
		}
	}
	t.Fatal("operation never ended")
	return gdap.Operation{}
}

func TestSimAccessAssignmentLifecycle(t *testing.T) {
	t.Parallel()
	b := setupSim(t, graphsim.Options{})
	id := b.activeRel(t)

	a, err := b.client.CreateAccessAssignment(t.Context(), id, groupA, []string{roleUser})
	require.NoError(t, err)
	require.Equal(t, gdap.AssignmentPending, a.Status)
	require.Equal(t, groupA, a.SecurityGroupID)
	require.Equal(t, []string{roleUser}, a.Roles)
	require.Equal(t, simStart, a.CreatedDateTime)
	require.NotEmpty(t, a.ETag)
	b.settle(t)
	a, err = b.client.GetAccessAssignment(t.Context(), id, a.ID)
	require.NoError(t, err)
	require.Equal(t, gdap.AssignmentActive, a.Status)

	// Unchanged roles: 200 with the assignment, no operation.
	res, err := b.client.PatchAccessAssignment(t.Context(), id, a.ID, a.ETag, []string{roleUser})
	require.NoError(t, err)
	require.False(t, res.Accepted())
	require.NotNil(t, res.Assignment)
	require.Equal(t, a.ETag, res.Assignment.ETag)

	// Changed roles: 202 and an operation that applies them.
	res, err = b.client.PatchAccessAssignment(t.Context(), id, a.ID, a.ETag, []string{roleUser, roleHelpdesk})
	require.NoError(t, err)
	require.True(t, res.Accepted())
	require.Nil(t, res.Assignment)
	require.Equal(t, graphsim.RetryAfterDefault*time.Second, res.RetryAfter)
	require.Equal(t, b.client.OperationURL(id, lastOperationID(t, b, id)), res.OperationURL)
	op := b.followOperation(t, res.OperationURL, res.RetryAfter)
	require.Equal(t, gdap.OperationSucceeded, op.Status)
	require.Equal(t, "delegatedAdminAccessAssignmentUpdate", op.OperationType)
	after, err := b.client.GetAccessAssignment(t.Context(), id, a.ID)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{roleUser, roleHelpdesk}, after.Roles)
	require.NotEqual(t, a.ETag, after.ETag)

	// The etag read before the update is stale now.
	_, err = b.client.PatchAccessAssignment(t.Context(), id, a.ID, a.ETag, []string{roleUser})
	require.Equal(t, http.StatusPreconditionFailed, mustUpstream(t, err).StatusCode)
	require.Equal(t, http.StatusPreconditionFailed, mustUpstream(t, b.client.DeleteAccessAssignment(t.Context(), id, a.ID, a.ETag)).StatusCode)

	require.NoError(t, b.client.DeleteAccessAssignment(t.Context(), id, a.ID, after.ETag))
	gone, err := b.client.GetAccessAssignment(t.Context(), id, a.ID)
	require.NoError(t, err)
	require.Equal(t, gdap.AssignmentDeleting, gone.Status)
	b.settle(t)
	gone, err = b.client.GetAccessAssignment(t.Context(), id, a.ID)
	require.NoError(t, err)
	require.Equal(t, gdap.AssignmentDeleted, gone.Status)
	require.True(t, gdap.IsAssignmentSettled(gone.Status))
	requireSimWire(t, b.sim)
}

func lastOperationID(t *testing.T, b simBundle, relID string) string {
	t.Helper()
	ops, err := b.sim.Operations(relID)
	require.NoError(t, err)
	require.NotEmpty(t, ops)
	return ops[len(ops)-1].ID
}

func TestSimAccessAssignmentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		relStatus  string
		call       func(t *testing.T, b simBundle, relID, aaID, etag string) error
		wantStatus int
		wantErr    error
	}{
		{name: "second assignment for a group", relStatus: gdap.StatusActive, wantStatus: http.StatusConflict,
			call: func(t *testing.T, b simBundle, relID, _, _ string) error {
				_, err := b.client.CreateAccessAssignment(t.Context(), relID, groupA, []string{roleHelpdesk})
				return err
			}},
		{name: "roles outside the relationship's", relStatus: gdap.StatusActive, wantStatus: http.StatusBadRequest,
			call: func(t *testing.T, b simBundle, relID, _, _ string) error {
				_, err := b.client.CreateAccessAssignment(t.Context(), relID, groupB, []string{gdap.GlobalAdminRoleID})
				return err
			}},
		{name: "relationship not active", relStatus: gdap.StatusApprovalPending, wantStatus: http.StatusBadRequest,
			call: func(t *testing.T, b simBundle, relID, _, _ string) error {
				_, err := b.client.CreateAccessAssignment(t.Context(), relID, groupB, []string{roleUser})
				return err
			}},
		{name: "patch roles outside the relationship's", relStatus: gdap.StatusActive, wantStatus: http.StatusBadRequest,
			call: func(t *testing.T, b simBundle, relID, aaID, etag string) error {
				_, err := b.client.PatchAccessAssignment(t.Context(), relID, aaID, etag, []string{gdap.GlobalAdminRoleID})
				return err
			}},
		{name: "unknown assignment", relStatus: gdap.StatusActive, wantStatus: http.StatusNotFound,
			call: func(t *testing.T, b simBundle, relID, _, _ string) error {
				_, err := b.client.GetAccessAssignment(t.Context(), relID, "00000000-0000-4000-8000-000000000000")
				return err
			}},
		{name: "unknown relationship", relStatus: gdap.StatusActive, wantStatus: http.StatusNotFound,
			call: func(t *testing.T, b simBundle, _, _, _ string) error {
				_, err := b.client.ListAccessAssignments(t.Context(), "00000000-0000-4000-8000-000000000000")
				return err
			}},
		{name: "empty If-Match", relStatus: gdap.StatusActive, wantErr: graphapi.ErrInvalidArgument,
			call: func(t *testing.T, b simBundle, relID, aaID, _ string) error {
				return b.client.DeleteAccessAssignment(t.Context(), relID, aaID, "")
			}},
		{name: "no roles", relStatus: gdap.StatusActive, wantErr: graphapi.ErrInvalidArgument,
			call: func(t *testing.T, b simBundle, relID, _, _ string) error {
				_, err := b.client.CreateAccessAssignment(t.Context(), relID, groupB, nil)
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupSim(t, graphsim.Options{})
			relID := b.add(t, gdap.Relationship{Status: gdap.StatusActive, UnifiedRoles: []string{roleUser, roleHelpdesk}})
			a, err := b.client.CreateAccessAssignment(t.Context(), relID, groupA, []string{roleUser})
			require.NoError(t, err)
			b.settle(t)
			a, err = b.client.GetAccessAssignment(t.Context(), relID, a.ID)
			require.NoError(t, err)
			if tt.relStatus != gdap.StatusActive {
				relID = b.add(t, gdap.Relationship{Status: tt.relStatus})
			}
			sent := len(b.sim.Journal())
			err = tt.call(t, b, relID, a.ID, a.ETag)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.Len(t, b.sim.Journal(), sent, "nothing sent")
				return
			}
			ue := mustUpstream(t, err)
			require.Equal(t, tt.wantStatus, ue.StatusCode)
			require.NotEmpty(t, ue.Code)
			require.False(t, ue.Transient())
		})
	}
}

func TestSimListAccessAssignmentsPages(t *testing.T) {
	t.Parallel()
	b := setupSim(t, graphsim.Options{PageSize: 2})
	id := b.activeRel(t)
	groups := []string{groupA, groupB, "cccccccc-dddd-4eee-8fff-000000000001", "cccccccc-dddd-4eee-8fff-000000000002", "cccccccc-dddd-4eee-8fff-000000000003"}
	for _, g := range groups {
		_, err := b.client.CreateAccessAssignment(t.Context(), id, g, []string{roleHelpdesk})
		require.NoError(t, err)
	}
	b.sim.ResetJournal()
	got, err := b.client.ListAccessAssignments(t.Context(), id)
	require.NoError(t, err)
	require.Len(t, got, len(groups))
	for i, a := range got {
		require.Equal(t, groups[i], a.SecurityGroupID)
		require.Equal(t, gdap.AssignmentPending, a.Status)
		require.NotEmpty(t, a.ETag)
	}
	require.Len(t, b.sim.Journal(), 3, "5 assignments in pages of 2")
	requireSimWire(t, b.sim)
}

// FailNextAssignment: a created assignment ends in error; an update's
// operation fails and leaves the assignment in error.
func TestSimAssignmentErrorOnDemand(t *testing.T) {
	t.Parallel()
	b := setupSim(t, graphsim.Options{})
	id := b.activeRel(t)

	require.NoError(t, b.sim.FailNextAssignment(id))
	bad, err := b.client.CreateAccessAssignment(t.Context(), id, groupA, []string{roleUser})
	require.NoError(t, err)
	require.Equal(t, gdap.AssignmentPending, bad.Status)
	good, err := b.client.CreateAccessAssignment(t.Context(), id, groupB, []string{roleUser})
	require.NoError(t, err)
	b.settle(t)
	bad, err = b.client.GetAccessAssignment(t.Context(), id, bad.ID)
	require.NoError(t, err)
	require.Equal(t, gdap.AssignmentError, bad.Status)
	require.True(t, gdap.IsAssignmentSettled(bad.Status))
	good, err = b.client.GetAccessAssignment(t.Context(), id, good.ID)
	require.NoError(t, err)
	require.Equal(t, gdap.AssignmentActive, good.Status, "only the next one fails")

	// The group stays taken until the failed assignment is deleted.
	_, err = b.client.CreateAccessAssignment(t.Context(), id, groupA, []string{roleUser})
	require.Equal(t, http.StatusConflict, mustUpstream(t, err).StatusCode)
	require.NoError(t, b.client.DeleteAccessAssignment(t.Context(), id, bad.ID, bad.ETag))

	// An update: unchanged roles do not use the failure up, a change does.
	require.NoError(t, b.sim.FailNextAssignment(id))
	res, err := b.client.PatchAccessAssignment(t.Context(), id, good.ID, good.ETag, []string{roleUser})
	require.NoError(t, err)
	require.False(t, res.Accepted())
	res, err = b.client.PatchAccessAssignment(t.Context(), id, good.ID, good.ETag, []string{roleHelpdesk})
	require.NoError(t, err)
	require.True(t, res.Accepted())
	op := b.followOperation(t, res.OperationURL, res.RetryAfter)
	require.Equal(t, gdap.OperationFailed, op.Status)
	after, err := b.client.GetAccessAssignment(t.Context(), id, good.ID)
	require.NoError(t, err)
	require.Equal(t, gdap.AssignmentError, after.Status)
	require.Equal(t, []string{roleUser}, after.Roles, "roles unchanged")
	require.ErrorIs(t, b.sim.FailNextAssignment("nope"), graphsim.ErrNotFound)
}
