package tests

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

// roleSecurityReader is a role the replacement adds.
const roleSecurityReader = "5d6b6bb7-de71-4623-b4af-96380a352509"

func replaceData(relID string, roleIDs ...string) map[string]any {
	return map[string]any{"relationshipId": relID, "accessDetails": map[string]any{"unifiedRoles": roles(roleIDs...)}}
}

// TestReplaceRelationship: new roles for an active relationship. The
// replacement is created and locked; once the customer approves, the old
// relationship's assignments are reproduced with the roles the new one
// grants (a group left with none is reported, not assigned), then the old
// relationship is terminated.
func TestReplaceRelationship(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	old := activeWithAssignments(t, b, "Contoso helpdesk", map[string][]string{
		groupHelpdesk: {roleHelpdesk}, groupLegacy: {roleUserAdmin}, groupAdmins: {roleHelpdesk, roleUserAdmin}})
	b.send(t, "op-replace", command.TypeRelationshipReplace, replaceData(old, roleHelpdesk, roleSecurityReader))
	b.advance(t, 5*time.Minute, 10*time.Second)

	o := b.outcome(t, "op-replace")
	requireSucceeded(t, o)
	newRel := o.Result.Relationship
	require.NotNil(t, newRel)
	require.NotEqual(t, old, newRel.ID)
	require.Equal(t, gdap.StatusApprovalPending, newRel.Status)
	require.LessOrEqual(t, len([]rune(newRel.DisplayName)), 50)
	require.Contains(t, newRel.DisplayName, "Contoso helpdesk")
	require.Equal(t, gdap.InvitationURL(newRel.ID), o.Result.InvitationURL)
	require.Equal(t, op.FollowUpID(newRel.ID), o.Result.FollowUpOperationID)
	require.Equal(t, customerA, relationship(t, b, newRel.ID).Customer.TenantID)
	require.Equal(t, gdap.StatusActive, relationship(t, b, old).Status, "the old relationship waits for the approval")

	b.advance(t, 3*24*time.Hour, time.Hour)
	require.NoError(t, b.Graph.Approve(newRel.ID, nil))
	b.Clock.Advance(2 * time.Minute)
	require.NoError(t, b.Emu.FireTimer(t.Context(), "expiry-sweep"))
	b.drain(t)

	f := b.outcome(t, o.Result.FollowUpOperationID)
	requireSucceeded(t, f)
	got := map[string]op.Assignment{}
	for _, a := range f.Result.Assignments {
		got[a.SecurityGroupID] = a
	}
	require.Len(t, got, 3)
	require.Equal(t, op.AssignmentCreated, got[groupHelpdesk].Action)
	require.Equal(t, []string{roleHelpdesk}, got[groupHelpdesk].Roles)
	require.Equal(t, op.AssignmentCreated, got[groupAdmins].Action)
	require.Equal(t, []string{roleHelpdesk}, got[groupAdmins].Roles, "limited to the new roles")
	require.Equal(t, op.AssignmentSkipped, got[groupLegacy].Action, "no role left")
	require.NotNil(t, f.Result.ReplacedRelationship)
	require.Equal(t, old, f.Result.ReplacedRelationship.ID)
	require.Equal(t, gdap.StatusTerminated, f.Result.ReplacedRelationship.Status)
	require.Equal(t, gdap.StatusTerminated, relationship(t, b, old).Status)
	require.Len(t, journal(b, http.MethodPost, old+"/requests", http.StatusCreated), 1, "one terminate request")
	require.Len(t, journal(b, http.MethodPost, newRel.ID+"/accessAssignments", http.StatusCreated), 2)
}

func TestReplaceApprovalLapsesAndProtected(t *testing.T) {
	t.Parallel()
	b := setup(t, map[string]string{"GDAP_PROTECTED_CUSTOMERS": customerB})
	old := activeWithAssignments(t, b, "Lapsing replacement", map[string][]string{groupHelpdesk: {roleHelpdesk}})
	prot := addRelationship(t, b, gdap.Relationship{DisplayName: "Protected helpdesk", Status: gdap.StatusActive,
		Customer: gdap.Customer{TenantID: customerB, DisplayName: "Protected Ltd"}})
	b.Graph.ResetJournal()
	b.send(t, "op-replace-lapse", command.TypeRelationshipReplace, replaceData(old, roleHelpdesk, roleSecurityReader))
	b.send(t, "op-replace-protected", command.TypeRelationshipReplace, replaceData(prot, roleHelpdesk))
	b.drain(t) // through the 90 days

	o := b.outcome(t, "op-replace-lapse")
	requireSucceeded(t, o)
	requireFailed(t, b.outcome(t, o.Result.FollowUpOperationID), "approval_expired")
	require.Equal(t, gdap.StatusActive, relationship(t, b, old).Status, "untouched")
	require.Zero(t, writes(b, old))

	requireFailed(t, b.outcome(t, "op-replace-protected"), "policy_denied")
	require.Equal(t, 1, relationshipPosts(b), "only the lapsing replacement was created")
}
