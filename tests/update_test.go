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

func update(id string, changes map[string]any) map[string]any {
	return map[string]any{"relationshipId": id, "changes": changes}
}

func TestUpdateCreatedRelationship(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	id := addRelationship(t, b, gdap.Relationship{DisplayName: "contoso-draft", Status: gdap.StatusCreated})
	b.send(t, "op-update-created", command.TypeRelationshipUpdate, update(id, map[string]any{
		"displayName": "contoso-final", "duration": "P1Y",
		"customer":      map[string]any{"tenantId": customerB, "displayName": "Fabrikam"},
		"accessDetails": map[string]any{"unifiedRoles": []any{map[string]any{"roleDefinitionId": roleUserAdmin}}},
	}))
	b.drain(t)
	o := b.outcome(t, "op-update-created")
	requireSucceeded(t, o)
	require.False(t, o.Result.AlreadyDone)
	require.Equal(t, "contoso-final", o.Result.Relationship.DisplayName)
	require.Equal(t, []string{roleUserAdmin}, o.Result.Relationship.UnifiedRoles)
	rel := relationship(t, b, id)
	require.Equal(t, "contoso-final", rel.DisplayName)
	require.Equal(t, "P365D", rel.Duration)
	require.Equal(t, customerB, rel.Customer.TenantID)
	require.Equal(t, rel.ETag, o.Result.Relationship.ETag)

	patches := journal(b, http.MethodPatch, id, 0)
	require.Len(t, patches, 1)
	require.NotEmpty(t, patches[0].Headers["If-Match"], "PATCH carries If-Match")

	// The same command again (a new message id, as a producer retrying after
	// the duplicate-detection window): level-based, nothing left to do.
	body, err := b.NewCommandBody("op-update-created-again", command.TypeRelationshipUpdate, update(id, map[string]any{"displayName": "contoso-final"}))
	require.NoError(t, err)
	require.NoError(t, b.SendBody(t.Context(), "m-again", body))
	b.drain(t)
	again := b.outcome(t, "op-update-created-again")
	requireSucceeded(t, again)
	require.True(t, again.Result.AlreadyDone)
	require.Len(t, journal(b, http.MethodPatch, id, 0), 1, "no write when the goal already holds")
}

func TestUpdateActiveRelationship(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	plain := addRelationship(t, b, gdap.Relationship{DisplayName: "active-plain", Status: gdap.StatusActive})
	withGA := addRelationship(t, b, gdap.Relationship{DisplayName: "active-ga", Status: gdap.StatusActive,
		UnifiedRoles: []string{roleHelpdesk, gdap.GlobalAdminRoleID}})

	b.send(t, "op-active-autoextend", command.TypeRelationshipUpdate, update(plain, map[string]any{"autoExtendDuration": "P180D"}))
	b.send(t, "op-active-rename", command.TypeRelationshipUpdate, update(plain, map[string]any{"displayName": "renamed"}))
	b.send(t, "op-active-ga-autoextend", command.TypeRelationshipUpdate, update(withGA, map[string]any{"autoExtendDuration": "P180D"}))
	b.send(t, "op-active-add-role", command.TypeRelationshipUpdate, update(plain, map[string]any{
		"accessDetails": map[string]any{"unifiedRoles": []any{
			map[string]any{"roleDefinitionId": roleHelpdesk}, map[string]any{"roleDefinitionId": roleUserAdmin}}},
	}))
	b.drain(t)

	requireSucceeded(t, b.outcome(t, "op-active-autoextend"))
	require.Equal(t, gdap.AutoExtendOn, relationship(t, b, plain).AutoExtendDuration)
	requireFailed(t, b.outcome(t, "op-active-rename"), "invalid_state")
	requireFailed(t, b.outcome(t, "op-active-ga-autoextend"), "global_admin_blocks_auto_extend")
	requireFailed(t, b.outcome(t, "op-active-add-role"), "invalid_state")
	require.Len(t, journal(b, http.MethodPatch, plain, 0), 1, "refused changes are never sent")
	require.Empty(t, journal(b, http.MethodPatch, withGA, 0))
}

func TestUpdateETagRace(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	id := addRelationship(t, b, gdap.Relationship{DisplayName: "race", Status: gdap.StatusCreated})
	require.NoError(t, b.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteRelationship, Method: http.MethodGet, Kind: graphsim.FaultETagRace, Times: 1}))
	b.send(t, "op-race", command.TypeRelationshipUpdate, update(id, map[string]any{"displayName": "race-won"}))
	b.drain(t)
	requireSucceeded(t, b.outcome(t, "op-race"))
	require.Len(t, journal(b, http.MethodPatch, id, http.StatusPreconditionFailed), 1, "first PATCH lost the race")
	require.Len(t, journal(b, http.MethodPatch, id, http.StatusOK), 1, "re-read and won")
	require.Len(t, journal(b, http.MethodGet, id, 0), 2)
	require.Equal(t, "race-won", relationship(t, b, id).DisplayName)
}

func TestUpdateCallerIfMatch(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	id := addRelationship(t, b, gdap.Relationship{DisplayName: "ifmatch", Status: gdap.StatusCreated})
	current := relationship(t, b, id).ETag
	b.send(t, "op-stale-ifmatch", command.TypeRelationshipUpdate, map[string]any{
		"relationshipId": id, "changes": map[string]any{"displayName": "nope"}, "ifMatch": `W/"c3RhbGU="`,
	})
	b.drain(t)
	o := b.outcome(t, "op-stale-ifmatch")
	requireFailed(t, o, "precondition_failed")
	require.Equal(t, http.StatusPreconditionFailed, o.Error.HTTPStatus)
	require.Len(t, journal(b, http.MethodPatch, id, 0), 1, "no retry when the caller insisted on an etag")

	b.send(t, "op-good-ifmatch", command.TypeRelationshipUpdate, map[string]any{
		"relationshipId": id, "changes": map[string]any{"displayName": "yes"}, "ifMatch": current,
	})
	b.drain(t)
	requireSucceeded(t, b.outcome(t, "op-good-ifmatch"))
	require.Equal(t, "yes", relationship(t, b, id).DisplayName)
}

func TestUpdateNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	missing := "11111111-2222-4333-8444-555555555555-66666666-7777-4888-8999-000000000000"
	b.send(t, "op-missing", command.TypeRelationshipUpdate, update(missing, map[string]any{"displayName": "x"}))
	b.drain(t)
	o := b.outcome(t, "op-missing")
	requireFailed(t, o, "not_found")
	require.Equal(t, http.StatusNotFound, o.Error.HTTPStatus)
	require.NotEmpty(t, o.Error.UpstreamCode)
	require.NotEmpty(t, o.Error.UpstreamRequestID)
	require.Equal(t, missing, o.RelationshipID)
}

func TestUpdateThrottledHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	id := addRelationship(t, b, gdap.Relationship{DisplayName: "throttled", Status: gdap.StatusCreated})
	require.NoError(t, b.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteRelationship, Method: http.MethodPatch,
		Kind: graphsim.FaultThrottle, Times: 2, RetryAfter: 120}))
	b.send(t, "op-throttled", command.TypeRelationshipUpdate, update(id, map[string]any{"displayName": "eventually"}))
	b.drain(t)
	o := b.outcome(t, "op-throttled")
	requireSucceeded(t, o)
	patches := journal(b, http.MethodPatch, id, 0)
	require.Len(t, patches, 3)
	require.Equal(t, http.StatusTooManyRequests, patches[0].Status)
	require.Equal(t, http.StatusTooManyRequests, patches[1].Status)
	require.Equal(t, http.StatusOK, patches[2].Status)
	for i := 1; i < len(patches); i++ {
		gap := patches[i].Time.Sub(patches[i-1].Time)
		require.GreaterOrEqual(t, gap, 120*time.Second, "retry %d honoured Retry-After (gap %s)", i, gap)
	}
	require.Equal(t, 3, o.Attempts)
}

func TestUpdatePersistentUnavailable(t *testing.T) {
	t.Parallel()
	b := setup(t, map[string]string{"GDAP_RETRY_MAX_ATTEMPTS": "3"})
	id := addRelationship(t, b, gdap.Relationship{DisplayName: "down", Status: gdap.StatusCreated})
	require.NoError(t, b.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteRelationship, Method: http.MethodGet, Kind: graphsim.FaultUnavailable}))
	b.send(t, "op-down", command.TypeRelationshipUpdate, update(id, map[string]any{"displayName": "never"}))
	b.drain(t)
	o := b.outcome(t, "op-down")
	requireFailed(t, o, "upstream_unavailable")
	require.Equal(t, http.StatusServiceUnavailable, o.Error.HTTPStatus)
	require.Len(t, journal(b, http.MethodGet, id, 0), 4, "the first try and 3 retries")
	require.Empty(t, journal(b, http.MethodPatch, id, 0))
	require.Empty(t, b.Emu.DeadLetters("gdap-commands"))
	require.Empty(t, b.Emu.DeadLetters("gdap-continuations"))
}

func TestDuplicateDeliveryAndIDReuse(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	id := addRelationship(t, b, gdap.Relationship{DisplayName: "dup", Status: gdap.StatusCreated})
	body, err := b.NewCommandBody("op-dup", command.TypeRelationshipUpdate, update(id, map[string]any{"displayName": "dup-done"}))
	require.NoError(t, err)
	// Three deliveries of the same command under different broker message
	// ids (so the broker's duplicate detection cannot hide them), two of
	// them concurrent with the first execution, one after it finished.
	require.NoError(t, b.SendBody(t.Context(), "m1", body))
	require.NoError(t, b.SendBody(t.Context(), "m2", body))
	b.drain(t)
	require.NoError(t, b.SendBody(t.Context(), "m3", body))
	// The same operation id with different content is rejected.
	other, err := b.NewCommandBody("op-dup", command.TypeRelationshipUpdate, update(id, map[string]any{"displayName": "hijack"}))
	require.NoError(t, err)
	require.NoError(t, b.SendBody(t.Context(), "m4", other))
	b.drain(t)

	requireSucceeded(t, b.outcome(t, "op-dup"))
	require.Len(t, journal(b, http.MethodPatch, id, 0), 1, "executed exactly once")
	require.Equal(t, "dup-done", relationship(t, b, id).DisplayName)
	rejected, err := b.EventsOfType("gdap.command.rejected")
	require.NoError(t, err)
	require.Len(t, rejected, 1)
	var data struct {
		OperationID string                `json:"operationId"`
		MessageID   string                `json:"messageId"`
		Error       struct{ Code string } `json:"error"`
	}
	require.NoError(t, rejected[0].Decode(&data))
	require.Equal(t, "op-dup", data.OperationID)
	require.Equal(t, "m4", data.MessageID)
	require.Equal(t, "conflict", data.Error.Code)
}

func TestMalformedCommands(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	require.NoError(t, b.SendBody(t.Context(), "not-json", []byte("{this is not json")))
	require.NoError(t, b.SendBody(t.Context(), "no-specversion", []byte(`{"id":"x1","source":"/s","type":"gdap.relationship.update","data":{}}`)))
	b.send(t, "op-bad-guid", command.TypeRelationshipUpdate, update("not-a-guid", map[string]any{"displayName": "x"}))
	b.send(t, "op-unknown-type", "gdap.relationship.explode", map[string]any{"relationshipId": "x"})
	b.send(t, "op-bad-duration", command.TypeRelationshipUpdate, update(
		"11111111-2222-4333-8444-555555555555-66666666-7777-4888-8999-000000000000", map[string]any{"duration": "P3Y"}))
	b.drain(t)

	rejected, err := b.EventsOfType("gdap.command.rejected")
	require.NoError(t, err)
	require.Len(t, rejected, 2)
	for _, e := range rejected {
		var d struct {
			OperationID string                `json:"operationId"`
			Error       struct{ Code string } `json:"error"`
		}
		require.NoError(t, e.Decode(&d))
		require.Equal(t, "invalid_command", d.Error.Code)
		require.Contains(t, []string{"not-json", "no-specversion"}, d.OperationID, "falls back to the message id")
	}
	requireFailed(t, b.outcome(t, "op-bad-guid"), "invalid_command")
	requireFailed(t, b.outcome(t, "op-unknown-type"), "unsupported_command")
	requireFailed(t, b.outcome(t, "op-bad-duration"), "invalid_command")
	require.Zero(t, graphCalls(b), "nothing executed")
	for _, inv := range b.Emu.Invocations() {
		require.Equal(t, http.StatusOK, inv.StatusCode, "every bad message is answered 200")
	}
}
