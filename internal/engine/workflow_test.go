package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
)

const (
	customerA  = "8777b240-c6f0-4469-9e98-a3205431b836"
	customerB  = "1c2d3e4f-0000-4000-8000-00000000000b"
	roleHelpFx = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
)

func active(name string, roles ...string) gdap.Relationship {
	if len(roles) == 0 {
		roles = []string{roleHelpFx}
	}
	return gdap.Relationship{DisplayName: name, Status: gdap.StatusActive, UnifiedRoles: roles,
		Customer: gdap.Customer{TenantID: customerA, DisplayName: "Contoso"}}
}

// requireSucceeded checks an operation's single outcome and its ledger record.
func requireSucceeded(t *testing.T, b *testBundle, id string) outcome {
	t.Helper()
	o := b.outcome(t, id)
	require.Equal(t, "gdap.operation.succeeded", o.Type, "%s: %+v", id, o.Data.Error)
	rec := b.led.get(t, id)
	require.Equal(t, ledger.StateSucceeded, rec.State)
	require.True(t, rec.OutcomePublished)
	return o
}

// requireFailed checks an operation's single outcome is a failure with code.
func requireFailed(t *testing.T, b *testBundle, id string, code op.Code) outcome {
	t.Helper()
	o := b.outcome(t, id)
	require.Equal(t, "gdap.operation.failed", o.Type)
	require.Equal(t, code, o.Data.Error.Code, o.Data.Error.Message)
	require.Equal(t, ledger.StateFailed, b.led.get(t, id).State)
	return o
}

func TestUpdateWorkflow(t *testing.T) {
	t.Parallel()
	on, name := gdap.AutoExtendOn, "renamed"
	t.Run("active: auto-extend through the 202 operation", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, active("u1"))
		b.command(t, "op-1", command.TypeRelationshipUpdate, map[string]any{"relationshipId": rel, "changes": map[string]any{"autoExtendDuration": on}})
		b.deliver(t)
		o := requireSucceeded(t, b, "op-1")
		require.False(t, o.Data.Result.AlreadyDone)
		require.Equal(t, on, o.Data.Result.Relationship.AutoExtendDuration)
		got, _ := b.sim.Relationship(rel)
		require.Equal(t, on, got.AutoExtendDuration)
	})
	t.Run("goal already holds", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := active("u2")
		r.AutoExtendDuration = on
		rel := b.addRelationship(t, r)
		b.command(t, "op-1", command.TypeRelationshipUpdate, map[string]any{"relationshipId": rel, "changes": map[string]any{"autoExtendDuration": on}})
		require.True(t, requireSucceeded(t, b, "op-1").Data.Result.AlreadyDone)
	})
	t.Run("created: rename in one PATCH", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, gdap.Relationship{DisplayName: "u3"})
		b.command(t, "op-1", command.TypeRelationshipUpdate, map[string]any{"relationshipId": rel, "changes": map[string]any{"displayName": name}})
		b.deliver(t)
		require.Equal(t, name, requireSucceeded(t, b, "op-1").Data.Result.Relationship.DisplayName)
	})
	t.Run("active: rename refused", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, active("u4"))
		b.command(t, "op-1", command.TypeRelationshipUpdate, map[string]any{"relationshipId": rel, "changes": map[string]any{"displayName": name}})
		requireFailed(t, b, "op-1", op.CodeInvalidState)
	})
	t.Run("ifMatch no longer matches", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, gdap.Relationship{DisplayName: "u5"})
		b.command(t, "op-1", command.TypeRelationshipUpdate, map[string]any{"relationshipId": rel, "ifMatch": `W/"stale"`,
			"changes": map[string]any{"displayName": name}})
		requireFailed(t, b, "op-1", op.CodePreconditionFailed)
	})
	t.Run("relationship not found", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.command(t, "op-1", command.TypeRelationshipUpdate, map[string]any{"relationshipId": "00000000-0000-4000-8000-000000000001-" + customerA,
			"changes": map[string]any{"autoExtendDuration": on}})
		requireFailed(t, b, "op-1", op.CodeNotFound)
	})
	t.Run("transient failure retried", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, gdap.Relationship{DisplayName: "u6"})
		require.NoError(t, b.sim.AddFault(graphsim.Fault{Kind: graphsim.FaultUnavailable, Times: 2}))
		b.command(t, "op-1", command.TypeRelationshipUpdate, map[string]any{"relationshipId": rel, "changes": map[string]any{"displayName": name}})
		require.Len(t, b.continuationIDs(), 1, "retry scheduled")
		b.deliver(t)
		require.Equal(t, 3, requireSucceeded(t, b, "op-1").Data.Attempts)
	})
	t.Run("throttled until the retries are used up", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, gdap.Relationship{DisplayName: "u7"})
		require.NoError(t, b.sim.AddFault(graphsim.Fault{Kind: graphsim.FaultThrottle, RetryAfter: 3}))
		b.command(t, "op-1", command.TypeRelationshipUpdate, map[string]any{"relationshipId": rel, "changes": map[string]any{"displayName": name}})
		b.deliver(t)
		o := requireFailed(t, b, "op-1", op.CodeThrottled)
		require.Contains(t, o.Data.Error.Message, "gave up after 3 retries")
	})
	t.Run("operation deadline", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(o *Options) { o.OperationDeadline = 5 * time.Second })
		rel := b.addRelationship(t, gdap.Relationship{DisplayName: "u8"})
		require.NoError(t, b.sim.AddFault(graphsim.Fault{Kind: graphsim.FaultUnavailable, RetryAfter: 10}))
		b.command(t, "op-1", command.TypeRelationshipUpdate, map[string]any{"relationshipId": rel, "changes": map[string]any{"displayName": name}})
		b.deliver(t)
		requireFailed(t, b, "op-1", op.CodeOperationTimedOut)
	})
}

func TestRequestWorkflow(t *testing.T) {
	t.Parallel()
	t.Run("lockForApproval followed to the end", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, gdap.Relationship{DisplayName: "r1"})
		b.command(t, "op-1", command.TypeRelationshipRequest, map[string]any{"relationshipId": rel, "action": gdap.ActionLockForApproval})
		b.deliver(t)
		o := requireSucceeded(t, b, "op-1")
		require.NotEmpty(t, o.Data.Result.RequestID)
		require.Equal(t, gdap.RequestSucceeded, o.Data.Result.RequestStatus)
		require.Equal(t, gdap.StatusApprovalPending, o.Data.Result.Relationship.Status)
	})
	t.Run("a request in flight is followed, not repeated", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, gdap.Relationship{DisplayName: "r2"})
		b.command(t, "op-1", command.TypeRelationshipRequest, map[string]any{"relationshipId": rel, "action": gdap.ActionLockForApproval})
		b.command(t, "op-2", command.TypeRelationshipRequest, map[string]any{"relationshipId": rel, "action": gdap.ActionLockForApproval})
		b.deliver(t)
		requireSucceeded(t, b, "op-1")
		o := requireSucceeded(t, b, "op-2")
		require.True(t, o.Data.Result.AlreadyDone)
		reqs, err := b.sim.Requests(rel)
		require.NoError(t, err)
		require.Len(t, reqs, 1)
	})
	t.Run("request fails upstream", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, gdap.Relationship{DisplayName: "r3"})
		require.NoError(t, b.sim.FailNextRequest(rel))
		b.command(t, "op-1", command.TypeRelationshipRequest, map[string]any{"relationshipId": rel, "action": gdap.ActionLockForApproval})
		b.deliver(t)
		requireFailed(t, b, "op-1", op.CodeOperationFailed)
	})
	t.Run("goal already holds", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, active("r4"))
		b.command(t, "op-1", command.TypeRelationshipRequest, map[string]any{"relationshipId": rel, "action": gdap.ActionLockForApproval})
		require.True(t, requireSucceeded(t, b, "op-1").Data.Result.AlreadyDone)
	})
	t.Run("terminate refused for a protected customer", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(o *Options) { o.Protected = func(id string) bool { return id == customerA } })
		rel := b.addRelationship(t, active("r5"))
		b.command(t, "op-1", command.TypeRelationshipRequest, map[string]any{"relationshipId": rel, "action": gdap.ActionTerminate})
		requireFailed(t, b, "op-1", op.CodePolicyDenied)
	})
	t.Run("terminate needs an active relationship", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, gdap.Relationship{DisplayName: "r6"})
		b.command(t, "op-1", command.TypeRelationshipRequest, map[string]any{"relationshipId": rel, "action": gdap.ActionTerminate})
		requireFailed(t, b, "op-1", op.CodeInvalidState)
	})
	t.Run("approve needs a reseller relationship awaiting consent", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, gdap.Relationship{DisplayName: "r8"})
		b.command(t, "op-1", command.TypeRelationshipRequest, map[string]any{"relationshipId": rel, "action": gdap.ActionApprove})
		requireFailed(t, b, "op-1", op.CodeInvalidState)
	})
	t.Run("terminating on its own is followed", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := active("r9")
		r.Status = gdap.StatusTerminating
		rel := b.addRelationship(t, r)
		b.command(t, "op-1", command.TypeRelationshipRequest, map[string]any{"relationshipId": rel, "action": gdap.ActionTerminate})
		b.deliver(t)
		require.True(t, requireSucceeded(t, b, "op-1").Data.Result.AlreadyDone)
	})
	t.Run("terminate followed to terminated", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, active("r7"))
		b.command(t, "op-1", command.TypeRelationshipRequest, map[string]any{"relationshipId": rel, "action": gdap.ActionTerminate})
		b.deliver(t)
		require.Equal(t, gdap.StatusTerminated, requireSucceeded(t, b, "op-1").Data.Result.Relationship.Status)
	})
}

func TestRemoveGlobalAdminWorkflow(t *testing.T) {
	t.Parallel()
	t.Run("remove, then enable auto-extend", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, active("g1", gdap.GlobalAdminRoleID, roleHelpFx))
		b.command(t, "op-1", command.TypeRemoveGlobalAdmin, map[string]any{"relationshipId": rel, "enableAutoExtend": true})
		b.deliver(t)
		o := requireSucceeded(t, b, "op-1")
		require.Equal(t, []string{roleHelpFx}, o.Data.Result.Relationship.UnifiedRoles)
		require.Equal(t, gdap.AutoExtendOn, o.Data.Result.Relationship.AutoExtendDuration)
	})
	t.Run("created: removed in one PATCH", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, gdap.Relationship{DisplayName: "g2", UnifiedRoles: []string{gdap.GlobalAdminRoleID, roleHelpFx}})
		b.command(t, "op-1", command.TypeRemoveGlobalAdmin, map[string]any{"relationshipId": rel})
		b.deliver(t)
		require.Equal(t, []string{roleHelpFx}, requireSucceeded(t, b, "op-1").Data.Result.Relationship.UnifiedRoles)
	})
	t.Run("no Global Administrator: already done", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, active("g3"))
		b.command(t, "op-1", command.TypeRemoveGlobalAdmin, map[string]any{"relationshipId": rel})
		require.True(t, requireSucceeded(t, b, "op-1").Data.Result.AlreadyDone)
	})
	t.Run("only Global Administrator", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, active("g4", gdap.GlobalAdminRoleID))
		b.command(t, "op-1", command.TypeRemoveGlobalAdmin, map[string]any{"relationshipId": rel})
		requireFailed(t, b, "op-1", op.CodeInvalidState)
	})
	t.Run("expired relationship", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := active("g5", gdap.GlobalAdminRoleID, roleHelpFx)
		r.Status = gdap.StatusExpired
		rel := b.addRelationship(t, r)
		b.command(t, "op-1", command.TypeRemoveGlobalAdmin, map[string]any{"relationshipId": rel, "enableAutoExtend": true})
		requireFailed(t, b, "op-1", op.CodeInvalidState)
	})
	t.Run("etag race is re-read", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, gdap.Relationship{DisplayName: "g6", UnifiedRoles: []string{gdap.GlobalAdminRoleID, roleHelpFx}})
		require.NoError(t, b.sim.AddFault(graphsim.Fault{Kind: graphsim.FaultETagRace, Method: "GET", Times: 1}))
		b.command(t, "op-1", command.TypeRemoveGlobalAdmin, map[string]any{"relationshipId": rel, "enableAutoExtend": true})
		b.deliver(t)
		requireSucceeded(t, b, "op-1")
	})
}

func TestRemoveDAPWorkflow(t *testing.T) {
	t.Parallel()
	data := map[string]any{"customerTenantId": customerB}
	t.Run("removed and confirmed", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.pc.sticky = 2
		b.command(t, "op-1", command.TypeRemoveDAP, data)
		b.deliver(t)
		o := requireSucceeded(t, b, "op-1")
		require.False(t, o.Data.Result.AlreadyDone)
		require.Equal(t, customerB, o.Data.CustomerTenantID)
		require.Empty(t, o.Data.RelationshipID)
	})
	t.Run("already off", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.pc.dap = map[string]bool{customerB: false}
		b.command(t, "op-1", command.TypeRemoveDAP, data)
		require.True(t, requireSucceeded(t, b, "op-1").Data.Result.AlreadyDone)
	})
	t.Run("never confirmed", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.pc.sticky = 100
		b.command(t, "op-1", command.TypeRemoveDAP, data)
		b.deliver(t)
		requireFailed(t, b, "op-1", op.CodeOperationFailed)
	})
	t.Run("protected customer", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(o *Options) { o.Protected = func(id string) bool { return id == customerB } })
		b.command(t, "op-1", command.TypeRemoveDAP, data)
		requireFailed(t, b, "op-1", op.CodePolicyDenied)
	})
	t.Run("Partner Center not configured", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(o *Options) { o.PartnerCenter = nil })
		b.command(t, "op-1", command.TypeRemoveDAP, data)
		requireFailed(t, b, "op-1", op.CodeUnauthorized)
	})
}

func TestSweepRunWorkflow(t *testing.T) {
	t.Parallel()
	t.Run("waits for the sweep it started", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.command(t, "op-1", command.TypeSweepRun, map[string]any{})
		require.Equal(t, []string{"op-1"}, b.sw.started)
		require.Empty(t, b.outcomes(t))
		m, ok := b.snd.popContinuation()
		require.True(t, ok, "polls the sweep")
		b.sw.finish("op-1", op.SweepStatus{Done: true})
		b.clock.AdvanceTo(*m.ScheduledEnqueueTime)
		require.NoError(t, b.eng.HandleContinuation(t.Context(), b.inv(m.MessageID), m.Body))
		o := requireSucceeded(t, b, "op-1")
		require.Equal(t, "op-1", o.Data.Result.SweepID)
		require.False(t, o.Data.Result.AlreadyDone)
	})
	t.Run("joins the running sweep and ends with its failure", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.sw.running = "timer.1"
		b.command(t, "op-1", command.TypeSweepRun, map[string]any{})
		b.sw.finish("timer.1", op.SweepStatus{Done: true, Failure: &op.Failure{Code: op.CodeForbidden, Message: "listing denied"}})
		b.deliver(t)
		requireFailed(t, b, "op-1", op.CodeForbidden)
	})
	t.Run("sweep already over", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.sw.finish("op-1", op.SweepStatus{Done: true})
		b.command(t, "op-1", command.TypeSweepRun, map[string]any{})
		require.Equal(t, "op-1", requireSucceeded(t, b, "op-1").Data.Result.SweepID)
	})
	t.Run("no sweeper configured", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(o *Options) { o.Sweeper = nil })
		b.command(t, "op-1", command.TypeSweepRun, map[string]any{})
		requireFailed(t, b, "op-1", op.CodeUnsupportedCommand)
	})
}
