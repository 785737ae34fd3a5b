package tests

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

// Security groups used by the onboarding tests.
const (
	groupHelpdesk = "0b1d3b4e-5a1e-4c7e-9d7e-2f1f0c7a9e01"
	groupAdmins   = "0b1d3b4e-5a1e-4c7e-9d7e-2f1f0c7a9e02"
	groupLegacy   = "0b1d3b4e-5a1e-4c7e-9d7e-2f1f0c7a9e03"
	groupNew      = "0b1d3b4e-5a1e-4c7e-9d7e-2f1f0c7a9e04"
)

func roles(ids ...string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = map[string]any{"roleDefinitionId": id}
	}
	return out
}

func assignment(group string, roleIDs ...string) map[string]any {
	return map[string]any{"securityGroupId": group, "roles": roles(roleIDs...)}
}

func createData(name string, extra map[string]any) map[string]any {
	d := map[string]any{"displayName": name, "duration": "P730D",
		"accessDetails": map[string]any{"unifiedRoles": roles(roleHelpdesk, roleUserAdmin)}}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

// relationshipPosts counts POSTs that created a relationship.
func relationshipPosts(b *bundle) int {
	n := 0
	for _, e := range b.Graph.Journal() {
		if e.Method == http.MethodPost && strings.HasSuffix(e.Path, "/delegatedAdminRelationships") && e.Status == http.StatusCreated {
			n++
		}
	}
	return n
}

// advance moves the virtual clock forward by total in steps, letting
// everything due run at each step (unlike drain, which runs everything
// scheduled, however far ahead).
func (b *bundle) advance(t *testing.T, total, step time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	for elapsed := time.Duration(0); ; elapsed += step {
		require.NoError(t, b.Emu.Idle(ctx))
		if elapsed >= total {
			return
		}
		b.Clock.Advance(step)
	}
}

func TestCreateRelationship(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.send(t, "op-create-open", command.TypeRelationshipCreate, createData("Open invitation", nil))
	b.send(t, "op-create-contoso", command.TypeRelationshipCreate, createData("Contoso admins", map[string]any{
		"customer": map[string]any{"tenantId": customerA, "displayName": "Contoso"}}))
	b.send(t, "op-create-draft", command.TypeRelationshipCreate, createData("Draft only", map[string]any{"lockForApproval": false}))
	b.drain(t)

	for _, id := range []string{"op-create-open", "op-create-contoso"} {
		o := b.outcome(t, id)
		requireSucceeded(t, o)
		rel := o.Result.Relationship
		require.NotNil(t, rel, id)
		require.Equal(t, gdap.StatusApprovalPending, rel.Status, id)
		require.Equal(t, gdap.InvitationURL(rel.ID), o.Result.InvitationURL)
		require.Equal(t, rel.ID, o.RelationshipID, "the outcome names the new relationship")
		require.Empty(t, o.Result.FollowUpOperationID)
		require.False(t, o.Result.AlreadyDone)
	}
	contoso := relationship(t, b, b.outcome(t, "op-create-contoso").Result.Relationship.ID)
	require.Equal(t, customerA, contoso.Customer.TenantID)
	require.Equal(t, "P730D", contoso.Duration)
	draft := b.outcome(t, "op-create-draft")
	requireSucceeded(t, draft)
	require.Equal(t, gdap.StatusCreated, draft.Result.Relationship.Status)
	require.Equal(t, 3, relationshipPosts(b))

	// The same command again: one relationship still.
	b.send(t, "op-create-contoso", command.TypeRelationshipCreate, createData("Contoso admins", map[string]any{
		"customer": map[string]any{"tenantId": customerA, "displayName": "Contoso"}}))
	b.drain(t)
	requireSucceeded(t, b.outcome(t, "op-create-contoso"))
	require.Equal(t, 3, relationshipPosts(b))
}

func TestCreateNameTakenIsConflict(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	addRelationship(t, b, gdap.Relationship{DisplayName: "Fabrikam", Status: gdap.StatusActive})
	b.send(t, "op-create-taken", command.TypeRelationshipCreate, createData("Fabrikam", nil))
	b.drain(t)
	requireFailed(t, b.outcome(t, "op-create-taken"), "conflict")
	require.Zero(t, relationshipPosts(b))
}

// TestCreateLockRaces: another client locks the new relationship first
// (Graph refuses the second lock: the service re-reads and follows it), or
// deletes it before the lock (the lock is refused: not_found, nothing more).
func TestCreateLockRaces(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	relPath := func(name string) string {
		rels := b.Graph.RelationshipsNamed(name)
		require.Len(t, rels, 1)
		return "/tenantRelationships/delegatedAdminRelationships/" + rels[0].ID
	}
	require.NoError(t, b.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteRequests, Method: http.MethodPost,
		Kind: graphsim.FaultBefore, Times: 1, Before: func() {
			resp := simPost(t, b, relPath("Locked by another")+"/requests", map[string]any{"action": "lockForApproval"})
			require.Equal(t, http.StatusCreated, resp.StatusCode)
		}}))
	b.send(t, "op-create-lock-race", command.TypeRelationshipCreate, createData("Locked by another", nil))
	b.drain(t)
	o := b.outcome(t, "op-create-lock-race")
	requireSucceeded(t, o)
	require.Equal(t, gdap.StatusApprovalPending, o.Result.Relationship.Status)

	require.NoError(t, b.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteRequests, Method: http.MethodPost,
		Kind: graphsim.FaultBefore, Times: 1, Before: func() {
			rel := b.Graph.RelationshipsNamed("Deleted before lock")[0]
			resp := simSend(t, b, http.MethodDelete, relPath(rel.DisplayName), rel.ETag, nil)
			require.Equal(t, http.StatusNoContent, resp.StatusCode)
		}}))
	b.send(t, "op-create-lock-gone", command.TypeRelationshipCreate, createData("Deleted before lock", nil))
	b.drain(t)
	requireFailed(t, b.outcome(t, "op-create-lock-gone"), "not_found")
	require.Equal(t, 2, relationshipPosts(b))
}

// TestCreateHandlerKilledDuringPost kills the handler while its POST is in
// flight: Graph creates the relationship, the answer is lost with the
// process, the redelivery finds the relationship by name and adopts it.
func TestCreateHandlerKilledDuringPost(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	require.NoError(t, b.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteRelationships, Method: http.MethodPost,
		Kind: graphsim.FaultBefore, Times: 1, Before: func() { _ = b.Emu.KillHandler() }}))
	b.send(t, "op-create-killed", command.TypeRelationshipCreate, createData("Killed mid-POST", nil))
	b.drain(t)
	o := b.outcome(t, "op-create-killed")
	requireSucceeded(t, o)
	require.Equal(t, 1, relationshipPosts(b))
	require.Equal(t, gdap.StatusApprovalPending, relationship(t, b, o.Result.Relationship.ID).Status)
}

// TestOnboardingFollowUp: create with assignments → the customer approves
// ten virtual days later → the sweep announces the activation and wakes the
// follow-up → the assignments are applied → the follow-up succeeds.
func TestOnboardingFollowUp(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.send(t, "op-onboard", command.TypeRelationshipCreate, createData("Northwind", map[string]any{
		"customer":          map[string]any{"tenantId": customerB, "displayName": "Northwind"},
		"accessAssignments": []any{assignment(groupHelpdesk, roleHelpdesk), assignment(groupAdmins, roleHelpdesk, roleUserAdmin)}}))
	b.advance(t, 5*time.Minute, 10*time.Second)
	created := b.outcome(t, "op-onboard")
	requireSucceeded(t, created)
	relID := created.Result.Relationship.ID
	followUp := created.Result.FollowUpOperationID
	require.Equal(t, op.FollowUpID(relID), followUp)

	b.advance(t, 10*24*time.Hour, time.Hour)
	require.NoError(t, b.Graph.Approve(relID, nil))
	b.Clock.Advance(2 * time.Minute) // approved → activating → active
	require.NoError(t, b.Emu.FireTimer(t.Context(), "expiry-sweep"))
	b.drain(t)

	require.Equal(t, []string{relID}, eventsFor(t, b, "gdap.relationship.activated"))
	o := b.outcome(t, followUp)
	requireSucceeded(t, o)
	require.Equal(t, command.TypeAssignmentsSet, o.CommandType)
	require.Len(t, o.Result.Assignments, 2)
	for _, a := range o.Result.Assignments {
		require.Equal(t, op.AssignmentCreated, a.Action)
		require.Equal(t, gdap.AssignmentActive, a.Status)
	}
	require.Len(t, journal(b, http.MethodPost, relID+"/accessAssignments", http.StatusCreated), 2)
	// Waiting ten days cost about ten checks, not a poll loop.
	require.LessOrEqual(t, len(journal(b, http.MethodGet, relID, 0)), 20)
}

func TestOnboardingApprovalExpires(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.send(t, "op-onboard-lapse", command.TypeRelationshipCreate, createData("Lapses", map[string]any{
		"accessAssignments": []any{assignment(groupHelpdesk, roleHelpdesk)}}))
	b.drain(t) // fast-forwards through the 90 days
	created := b.outcome(t, "op-onboard-lapse")
	requireSucceeded(t, created)
	relID := created.Result.Relationship.ID
	requireFailed(t, b.outcome(t, created.Result.FollowUpOperationID), "approval_expired")
	reads := len(journal(b, http.MethodGet, relID, 0))
	require.LessOrEqual(t, reads, 90+5, "one check a day (GDAP_FOLLOWUP_POLL) and a few more: %d", reads)
	require.Empty(t, journal(b, http.MethodPost, relID+"/accessAssignments", 0))
}

func TestOnboardingRejected(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.send(t, "op-onboard-reject", command.TypeRelationshipCreate, createData("Rejected", map[string]any{
		"accessAssignments": []any{assignment(groupHelpdesk, roleHelpdesk)}}))
	b.advance(t, 5*time.Minute, 10*time.Second)
	created := b.outcome(t, "op-onboard-reject")
	requireSucceeded(t, created)
	require.NoError(t, b.Graph.Reject(created.Result.Relationship.ID))
	require.NoError(t, b.Emu.FireTimer(t.Context(), "expiry-sweep"))
	b.drain(t)
	requireFailed(t, b.outcome(t, created.Result.FollowUpOperationID), "invalid_state")
}

// activeWithAssignments seeds an active relationship and, through Graph as
// another client would, active assignments for groups.
func activeWithAssignments(t *testing.T, b *bundle, name string, groups map[string][]string) string {
	t.Helper()
	id := addRelationship(t, b, gdap.Relationship{DisplayName: name, Status: gdap.StatusActive,
		UnifiedRoles: []string{roleHelpdesk, roleUserAdmin}})
	for g, rs := range groups {
		resp := simPost(t, b, "/tenantRelationships/delegatedAdminRelationships/"+id+"/accessAssignments", map[string]any{
			"accessContainer": map[string]any{"accessContainerId": g, "accessContainerType": "securityGroup"},
			"accessDetails":   map[string]any{"unifiedRoles": roles(rs...)}})
		require.Equal(t, http.StatusCreated, resp.StatusCode)
	}
	b.Clock.Advance(time.Minute) // pending → active
	return id
}

func TestSetAssignments(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	id := activeWithAssignments(t, b, "Assignments", map[string][]string{
		groupHelpdesk: {roleHelpdesk}, groupAdmins: {roleHelpdesk}, groupLegacy: {roleUserAdmin}})
	b.Graph.ResetJournal()
	desired := map[string]any{"relationshipId": id, "prune": true, "assignments": []any{
		assignment(groupHelpdesk, roleHelpdesk),              // unchanged
		assignment(groupAdmins, roleHelpdesk, roleUserAdmin), // updated (202)
		assignment(groupNew, roleUserAdmin)}}                 // created; groupLegacy deleted
	b.send(t, "op-set", command.TypeAssignmentsSet, desired)
	b.drain(t)
	o := b.outcome(t, "op-set")
	requireSucceeded(t, o)
	actions := map[string]string{}
	for _, a := range o.Result.Assignments {
		actions[a.SecurityGroupID] = a.Action
	}
	require.Equal(t, map[string]string{groupHelpdesk: op.AssignmentUnchanged, groupAdmins: op.AssignmentUpdated,
		groupNew: op.AssignmentCreated, groupLegacy: op.AssignmentDeleted}, actions)
	require.Len(t, journal(b, http.MethodPost, id+"/accessAssignments", 0), 1)
	require.Len(t, journal(b, http.MethodPatch, id+"/accessAssignments/", 0), 1)
	require.Len(t, journal(b, http.MethodDelete, id+"/accessAssignments/", 0), 1)
	require.False(t, o.Result.AlreadyDone)

	// The same desired state again writes nothing.
	b.Graph.ResetJournal()
	b.send(t, "op-set-again", command.TypeAssignmentsSet, desired)
	b.drain(t)
	again := b.outcome(t, "op-set-again")
	requireSucceeded(t, again)
	require.True(t, again.Result.AlreadyDone)
	require.Zero(t, writes(b, id))
}

func TestSetAssignmentsErrorAndRace(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	broken := activeWithAssignments(t, b, "Broken", nil)
	require.NoError(t, b.Graph.FailNextAssignment(broken))
	b.send(t, "op-set-error", command.TypeAssignmentsSet, map[string]any{"relationshipId": broken,
		"assignments": []any{assignment(groupHelpdesk, roleHelpdesk)}})

	raced := activeWithAssignments(t, b, "Raced", map[string][]string{groupAdmins: {roleHelpdesk}})
	// Another client changes the assignment between the service's read
	// and its PATCH: the PATCH meets 412, the service re-lists and patches
	// again.
	require.NoError(t, b.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteAssignment, Method: http.MethodPatch,
		Kind: graphsim.FaultBefore, Times: 1, Before: func() {
			path := "/tenantRelationships/delegatedAdminRelationships/" + raced + "/accessAssignments"
			list := simSend(t, b, http.MethodGet, path, "", nil)
			var page struct {
				Value []struct {
					ID   string `json:"id"`
					ETag string `json:"@odata.etag"`
				} `json:"value"`
			}
			require.NoError(t, json.NewDecoder(list.Body).Decode(&page))
			require.Len(t, page.Value, 1)
			resp := simPatch(t, b, path+"/"+page.Value[0].ID, page.Value[0].ETag,
				map[string]any{"accessDetails": map[string]any{"unifiedRoles": roles(roleUserAdmin)}})
			require.Equal(t, http.StatusAccepted, resp.StatusCode)
			b.Clock.Advance(time.Minute) // the other client's update completes
		}}))
	b.send(t, "op-set-race", command.TypeAssignmentsSet, map[string]any{"relationshipId": raced,
		"assignments": []any{assignment(groupAdmins, roleHelpdesk, roleUserAdmin)}})
	b.drain(t)

	failed := b.outcome(t, "op-set-error")
	requireFailed(t, failed, "operation_failed")
	require.Contains(t, failed.Error.Message, groupHelpdesk)

	requireSucceeded(t, b.outcome(t, "op-set-race"))
	require.Len(t, journal(b, http.MethodPatch, raced+"/accessAssignments/", http.StatusPreconditionFailed), 1)
	require.Len(t, journal(b, http.MethodPatch, raced+"/accessAssignments/", http.StatusAccepted), 2, "the other client's and the service's")
}
