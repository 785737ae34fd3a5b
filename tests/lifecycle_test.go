package tests

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

func request(id, action string) map[string]any {
	return map[string]any{"relationshipId": id, "action": action}
}

func TestRequestActions(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	created := addRelationship(t, b, gdap.Relationship{DisplayName: "to-lock", Status: gdap.StatusCreated})
	active := addRelationship(t, b, gdap.Relationship{DisplayName: "to-terminate", Status: gdap.StatusActive})
	reseller := addRelationship(t, b, gdap.Relationship{DisplayName: "reseller-approve", Status: gdap.StatusApprovalPending,
		IsReseller: true, IsPartnerConsentPending: true, IndirectProviderTenantID: customerB})
	rejectMe := addRelationship(t, b, gdap.Relationship{DisplayName: "reseller-reject", Status: gdap.StatusApprovalPending,
		IsReseller: true, IsPartnerConsentPending: true, IndirectProviderTenantID: customerB})
	plainPending := addRelationship(t, b, gdap.Relationship{DisplayName: "direct-pending", Status: gdap.StatusApprovalPending})
	ended := addRelationship(t, b, gdap.Relationship{DisplayName: "ended", Status: gdap.StatusTerminated})
	otherActive := addRelationship(t, b, gdap.Relationship{DisplayName: "stays-active", Status: gdap.StatusActive})

	b.send(t, "op-lock", command.TypeRelationshipRequest, request(created, gdap.ActionLockForApproval))
	b.send(t, "op-terminate", command.TypeRelationshipRequest, request(active, gdap.ActionTerminate))
	b.send(t, "op-approve", command.TypeRelationshipRequest, request(reseller, gdap.ActionApprove))
	b.send(t, "op-reject", command.TypeRelationshipRequest, request(rejectMe, gdap.ActionReject))
	// Refused states: nothing is posted.
	b.send(t, "op-lock-ended", command.TypeRelationshipRequest, request(ended, gdap.ActionLockForApproval))
	b.send(t, "op-terminate-created", command.TypeRelationshipRequest, request(plainPending, gdap.ActionTerminate))
	b.send(t, "op-approve-direct", command.TypeRelationshipRequest, request(plainPending, gdap.ActionApprove))
	b.drain(t)

	for op, rel := range map[string]string{"op-lock": created, "op-terminate": active, "op-approve": reseller, "op-reject": rejectMe} {
		o := b.outcome(t, op)
		requireSucceeded(t, o)
		require.NotEmpty(t, o.Result.RequestID, op)
		require.Equal(t, gdap.RequestSucceeded, o.Result.RequestStatus, op)
		require.Equal(t, relationship(t, b, rel).Status, o.Result.Relationship.Status, "%s reports the final relationship", op)
		require.Len(t, journal(b, http.MethodPost, rel+"/requests", 0), 1, "%s posted exactly once", op)
	}
	require.Equal(t, gdap.StatusApprovalPending, relationship(t, b, created).Status)
	require.Equal(t, gdap.StatusTerminated, relationship(t, b, active).Status)
	require.Equal(t, gdap.StatusApproved, relationship(t, b, reseller).Status, "the approve request succeeded; activation follows")
	b.Clock.Advance(2 * time.Minute)
	require.Equal(t, gdap.StatusActive, relationship(t, b, reseller).Status)
	require.False(t, relationship(t, b, rejectMe).IsPartnerConsentPending)

	requireFailed(t, b.outcome(t, "op-lock-ended"), "invalid_state")
	require.Zero(t, writes(b, ended))
	requireFailed(t, b.outcome(t, "op-terminate-created"), "invalid_state")
	requireFailed(t, b.outcome(t, "op-approve-direct"), "invalid_state")
	require.Empty(t, journal(b, http.MethodPost, plainPending+"/requests", 0))

	// Already done: locking a locked (or already active) relationship
	// writes nothing.
	b.send(t, "op-lock-again", command.TypeRelationshipRequest, request(created, gdap.ActionLockForApproval))
	b.send(t, "op-lock-active", command.TypeRelationshipRequest, request(otherActive, gdap.ActionLockForApproval))
	b.drain(t)
	activeDone := b.outcome(t, "op-lock-active")
	requireSucceeded(t, activeDone)
	require.True(t, activeDone.Result.AlreadyDone)
	require.Zero(t, writes(b, otherActive))
	again := b.outcome(t, "op-lock-again")
	requireSucceeded(t, again)
	require.True(t, again.Result.AlreadyDone)
	require.Len(t, journal(b, http.MethodPost, created+"/requests", 0), 1)
}

func TestRequestPollsWithinBound(t *testing.T) {
	t.Parallel()
	complete := 5 * time.Minute
	b := setup(t, nil, func(o *devstackOptions) {
		o.Graph.RequestStartDelay = 30 * time.Second
		o.Graph.RequestCompleteDelay = complete
	})
	created := addRelationship(t, b, gdap.Relationship{DisplayName: "slow-lock", Status: gdap.StatusCreated})
	b.send(t, "op-slow-lock", command.TypeRelationshipRequest, request(created, gdap.ActionLockForApproval))
	b.drain(t)
	requireSucceeded(t, b.outcome(t, "op-slow-lock"))
	polls := journal(b, http.MethodGet, created+"/requests/", 0)
	duration := 30*time.Second + complete
	// The service polls every 10 s at first, growing gently after six polls.
	require.LessOrEqual(t, len(polls), int(duration/(10*time.Second))+1, "polls: %d", len(polls))
	require.GreaterOrEqual(t, len(polls), 2)
}

// TestRequestFollowsPendingRequest: another client's request for the same
// action is pending when the command arrives. The service's first POST is
// refused (409) and it follows that request: one request upstream.
func TestRequestFollowsPendingRequest(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, func(o *devstackOptions) { o.Graph.RequestCompleteDelay = time.Minute })
	created := addRelationship(t, b, gdap.Relationship{DisplayName: "pending-lock", Status: gdap.StatusCreated})
	resp := simPost(t, b, "/tenantRelationships/delegatedAdminRelationships/"+created+"/requests", map[string]any{"action": "lockForApproval"})
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	b.send(t, "op-pending", command.TypeRelationshipRequest, request(created, gdap.ActionLockForApproval))
	b.drain(t)
	o := b.outcome(t, "op-pending")
	requireSucceeded(t, o)
	require.NotEmpty(t, o.Result.RequestID)
	require.Equal(t, 1, successfulWrites(b, http.MethodPost, created+"/requests"), "only the other client's request: the service followed it")
	require.Equal(t, gdap.StatusApprovalPending, relationship(t, b, created).Status)
}

// TestRequestHandlerKilledDuringPost kills the handler while its request
// POST is in flight: Graph creates the request, the answer is lost with
// the process, and the redelivery lists the requests before any POST and
// follows that one: one POST in all. The request takes longer than the
// lease the redelivery waits out, so that it is still pending then.
func TestRequestHandlerKilledDuringPost(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, func(o *devstackOptions) { o.Graph.RequestCompleteDelay = 10 * time.Minute })
	created := addRelationship(t, b, gdap.Relationship{DisplayName: "killed-lock", Status: gdap.StatusCreated})
	require.NoError(t, b.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteRequests, Method: http.MethodPost,
		Kind: graphsim.FaultBefore, Times: 1, Before: func() { _ = b.Emu.KillHandler() }}))
	b.send(t, "op-killed", command.TypeRelationshipRequest, request(created, gdap.ActionLockForApproval))
	b.drain(t)
	o := b.outcome(t, "op-killed")
	requireSucceeded(t, o)
	require.NotEmpty(t, o.Result.RequestID)
	require.Len(t, journal(b, http.MethodPost, created+"/requests", 0), 1, "one POST: the retry followed the request it created")
	require.NotEmpty(t, journal(b, http.MethodGet, created+"/requests", 0), "the retry listed the requests")
	require.Equal(t, gdap.StatusApprovalPending, relationship(t, b, created).Status)
}

func TestRequestConflictOnPost(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	active := addRelationship(t, b, gdap.Relationship{DisplayName: "race-terminate", Status: gdap.StatusActive})
	path := "/tenantRelationships/delegatedAdminRelationships/" + active + "/requests"
	// Another client posts the same request just before the service's
	// POST: the service's POST gets 409 and follows the other request.
	require.NoError(t, b.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteRequests, Method: http.MethodPost, Kind: graphsim.FaultBefore, Times: 1,
		Before: func() {
			resp := simPost(t, b, path, map[string]any{"action": "terminate"})
			require.Equal(t, http.StatusCreated, resp.StatusCode)
		}}))
	b.send(t, "op-409", command.TypeRelationshipRequest, request(active, gdap.ActionTerminate))
	b.drain(t)
	o := b.outcome(t, "op-409")
	requireSucceeded(t, o)
	posts := journal(b, http.MethodPost, active+"/requests", 0)
	require.Len(t, posts, 2)
	require.Equal(t, http.StatusCreated, posts[0].Status, "the other client's POST")
	require.Equal(t, http.StatusConflict, posts[1].Status, "the service's POST")
	require.Equal(t, gdap.StatusTerminated, relationship(t, b, active).Status)
}

func TestRequestFailedUpstream(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	created := addRelationship(t, b, gdap.Relationship{DisplayName: "doomed-lock", Status: gdap.StatusCreated})
	require.NoError(t, b.Graph.FailNextRequest(created))
	b.send(t, "op-doomed", command.TypeRelationshipRequest, request(created, gdap.ActionLockForApproval))
	b.drain(t)
	requireFailed(t, b.outcome(t, "op-doomed"), "operation_failed")
}

func TestProtectedCustomerIsNotTerminated(t *testing.T) {
	t.Parallel()
	b := setup(t, map[string]string{"GDAP_PROTECTED_CUSTOMERS": customerA})
	active := addRelationship(t, b, gdap.Relationship{DisplayName: "protected", Status: gdap.StatusActive})
	b.send(t, "op-protected", command.TypeRelationshipRequest, request(active, gdap.ActionTerminate))
	b.drain(t)
	requireFailed(t, b.outcome(t, "op-protected"), "policy_denied")
	require.Zero(t, writes(b, active))
	require.Equal(t, gdap.StatusActive, relationship(t, b, active).Status)
}

func TestUpdateLongRunningOperation(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ok := addRelationship(t, b, gdap.Relationship{DisplayName: "lro-ok", Status: gdap.StatusActive,
		UnifiedRoles: []string{roleHelpdesk, gdap.GlobalAdminRoleID}})
	bad := addRelationship(t, b, gdap.Relationship{DisplayName: "lro-fail", Status: gdap.StatusActive,
		UnifiedRoles: []string{roleHelpdesk, gdap.GlobalAdminRoleID}})
	require.NoError(t, b.Graph.FailNextOperation(bad))
	roles := map[string]any{"accessDetails": map[string]any{"unifiedRoles": []any{map[string]any{"roleDefinitionId": roleHelpdesk}}}}
	b.send(t, "op-lro-ok", command.TypeRelationshipUpdate, update(ok, roles))
	b.send(t, "op-lro-fail", command.TypeRelationshipUpdate, update(bad, roles))
	b.drain(t)

	o := b.outcome(t, "op-lro-ok")
	requireSucceeded(t, o)
	require.Equal(t, []string{roleHelpdesk}, o.Result.Relationship.UnifiedRoles)
	require.False(t, relationship(t, b, ok).HasGlobalAdmin())
	require.Len(t, journal(b, http.MethodPatch, ok, http.StatusAccepted), 1)
	polls := journal(b, http.MethodGet, ok+"/operations/", 0)
	require.NotEmpty(t, polls)
	// Default simulator operation: 2 s notStarted + 10 s running; the
	// service polls after Retry-After (10 s): at most 12/10 + 1 polls.
	require.LessOrEqual(t, len(polls), 2)

	f := b.outcome(t, "op-lro-fail")
	requireFailed(t, f, "operation_failed")
	require.True(t, relationship(t, b, bad).HasGlobalAdmin())
}

func TestUpdateLongRunningOperationTimesOut(t *testing.T) {
	t.Parallel()
	b := setup(t, map[string]string{"GDAP_OPERATION_DEADLINE": "30m"}, func(o *devstackOptions) {
		o.Graph.OperationCompleteDelay = 48 * time.Hour
	})
	id := addRelationship(t, b, gdap.Relationship{DisplayName: "lro-slow", Status: gdap.StatusActive,
		UnifiedRoles: []string{roleHelpdesk, gdap.GlobalAdminRoleID}})
	b.send(t, "op-lro-slow", command.TypeRelationshipUpdate, update(id, map[string]any{
		"accessDetails": map[string]any{"unifiedRoles": []any{map[string]any{"roleDefinitionId": roleHelpdesk}}}}))
	b.drain(t)
	requireFailed(t, b.outcome(t, "op-lro-slow"), "operation_timed_out")
	polls := journal(b, http.MethodGet, id+"/operations/", 0)
	// 30 minutes of polling: every 10 s for 6 polls, then growing by half, capped at 5 min.
	require.LessOrEqual(t, len(polls), 20, "gentle back-off: %d polls", len(polls))
}

func TestRemoveGlobalAdminThenAutoExtend(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	id := addRelationship(t, b, gdap.Relationship{DisplayName: "ga-workflow", Status: gdap.StatusActive,
		UnifiedRoles: []string{roleHelpdesk, roleUserAdmin, gdap.GlobalAdminRoleID}})
	// An etag race between the two steps: after the operation succeeds the
	// next read returns an etag that is immediately stale.
	b.send(t, "op-ga", command.TypeRemoveGlobalAdmin, map[string]any{"relationshipId": id, "enableAutoExtend": true})
	require.NoError(t, b.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteOperation, Method: http.MethodGet, Kind: graphsim.FaultBefore, Times: 1,
		Before: func() {
			require.NoError(t, b.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteRelationship, Method: http.MethodGet, Kind: graphsim.FaultETagRace, Times: 1}))
		}}))
	b.drain(t)
	o := b.outcome(t, "op-ga")
	requireSucceeded(t, o)
	rel := relationship(t, b, id)
	require.False(t, rel.HasGlobalAdmin())
	require.Equal(t, gdap.AutoExtendOn, rel.AutoExtendDuration)
	require.Equal(t, gdap.AutoExtendOn, o.Result.Relationship.AutoExtendDuration)
	require.Len(t, journal(b, http.MethodPatch, id, http.StatusAccepted), 1, "one GA removal")
	require.Len(t, journal(b, http.MethodPatch, id, http.StatusOK), 1, "one auto-extend PATCH that won")
	require.LessOrEqual(t, len(journal(b, http.MethodPatch, id, http.StatusPreconditionFailed)), 1)

	// Created relationship with GA: 200, no operation; without auto-extend.
	created := addRelationship(t, b, gdap.Relationship{DisplayName: "ga-created", Status: gdap.StatusCreated,
		UnifiedRoles: []string{roleHelpdesk, gdap.GlobalAdminRoleID}})
	b.send(t, "op-ga-created", command.TypeRemoveGlobalAdmin, map[string]any{"relationshipId": created})
	// Already done: no GA and auto-extend already on.
	b.send(t, "op-ga-done", command.TypeRemoveGlobalAdmin, map[string]any{"relationshipId": id, "enableAutoExtend": true})
	b.drain(t)
	requireSucceeded(t, b.outcome(t, "op-ga-created"))
	require.False(t, relationship(t, b, created).HasGlobalAdmin())
	require.Equal(t, gdap.AutoExtendOff, relationship(t, b, created).AutoExtendDuration)
	done := b.outcome(t, "op-ga-done")
	requireSucceeded(t, done)
	require.True(t, done.Result.AlreadyDone)
}

func TestThrottlingAtEachStep(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	id := addRelationship(t, b, gdap.Relationship{DisplayName: "ga-throttled", Status: gdap.StatusActive,
		UnifiedRoles: []string{roleHelpdesk, gdap.GlobalAdminRoleID}})
	for _, f := range []graphsim.Fault{
		{Route: graphsim.RouteRelationship, Method: http.MethodGet, Kind: graphsim.FaultThrottle, Times: 1, RetryAfter: 5},
		{Route: graphsim.RouteRelationship, Method: http.MethodPatch, Kind: graphsim.FaultThrottle, Times: 2, RetryAfter: 5},
		{Route: graphsim.RouteOperation, Method: http.MethodGet, Kind: graphsim.FaultUnavailable, Times: 1, RetryAfter: 5},
		{Route: graphsim.RouteOperation, Method: http.MethodGet, Kind: graphsim.FaultReset, Times: 1},
	} {
		require.NoError(t, b.Graph.AddFault(f))
	}
	b.send(t, "op-ga-throttled", command.TypeRemoveGlobalAdmin, map[string]any{"relationshipId": id, "enableAutoExtend": true})
	b.drain(t)
	requireSucceeded(t, b.outcome(t, "op-ga-throttled"))
	rel := relationship(t, b, id)
	require.False(t, rel.HasGlobalAdmin())
	require.Equal(t, gdap.AutoExtendOn, rel.AutoExtendDuration)
	require.Len(t, journal(b, http.MethodPatch, id, http.StatusAccepted), 1)
	require.Len(t, journal(b, http.MethodPatch, id, http.StatusOK), 1)
}

func TestDuplicateAndStaleContinuations(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	id := addRelationship(t, b, gdap.Relationship{DisplayName: "ga-dupes", Status: gdap.StatusActive,
		UnifiedRoles: []string{roleHelpdesk, gdap.GlobalAdminRoleID}})
	b.send(t, "op-ga-dupes", command.TypeRemoveGlobalAdmin, map[string]any{"relationshipId": id})
	b.drain(t)
	requireSucceeded(t, b.outcome(t, "op-ga-dupes"))
	// Replay every continuation the service scheduled (a duplicate after the
	// detection window), plus one for an unknown operation.
	conts := 0
	for _, inv := range b.Emu.Invocations() {
		if inv.Function == "continuations" {
			conts++
		}
	}
	require.Positive(t, conts)
	replayed := replayContinuations(t, b)
	require.Equal(t, conts, replayed)
	b.drain(t)
	requireSucceeded(t, b.outcome(t, "op-ga-dupes"))
	require.Len(t, journal(b, http.MethodPatch, id, 0), 1, "stale continuations never act")
	require.Empty(t, b.Emu.DeadLetters("gdap-continuations"))
}

// TestRemoveGlobalAdminAfterLost202 covers a crash between Graph accepting
// the Global Administrator removal (202) and the ledger recording it: the
// operation is already running upstream, so the service's PATCH gets 409;
// it finds the running operation and follows it instead of failing.
func TestRemoveGlobalAdminAfterLost202(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	id := addRelationship(t, b, gdap.Relationship{DisplayName: "lost-202", Status: gdap.StatusActive,
		UnifiedRoles: []string{roleHelpdesk, gdap.GlobalAdminRoleID}})
	require.NoError(t, b.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteRelationship, Method: http.MethodPatch, Kind: graphsim.FaultBefore, Times: 1,
		Before: func() {
			resp := simPatch(t, b, "/tenantRelationships/delegatedAdminRelationships/"+id, relationship(t, b, id).ETag,
				map[string]any{"accessDetails": map[string]any{"unifiedRoles": []any{map[string]any{"roleDefinitionId": roleHelpdesk}}}})
			require.Equal(t, http.StatusAccepted, resp.StatusCode)
		}}))
	b.send(t, "op-lost-202", command.TypeRemoveGlobalAdmin, map[string]any{"relationshipId": id})
	b.drain(t)
	requireSucceeded(t, b.outcome(t, "op-lost-202"))
	require.False(t, relationship(t, b, id).HasGlobalAdmin())
	patches := journal(b, http.MethodPatch, id, 0)
	require.Len(t, patches, 2)
	require.Equal(t, http.StatusAccepted, patches[0].Status)
	require.Equal(t, http.StatusConflict, patches[1].Status)
}
