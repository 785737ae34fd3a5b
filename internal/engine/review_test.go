package engine

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
)

// An offboarding's DELETE of a created relationship answered 412 (someone
// locked it for approval between the list and the DELETE) did not delete
// it: the relationship, now approvalPending, is reported untouched (action
// none), not as deleted.
func TestOffboardDeleteRefusedIsNotReportedDeleted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rel := b.addRelationship(t, gdap.Relationship{DisplayName: "o1", Status: gdap.StatusCreated,
		Customer: gdap.Customer{TenantID: customerA, DisplayName: "Contoso"}})
	require.NoError(t, b.sim.AddFault(graphsim.Fault{Route: graphsim.RouteRelationship, Method: http.MethodDelete, Times: 1,
		Kind: graphsim.FaultBefore, Before: func() {
			_, err := b.graph.CreateRequest(context.Background(), rel, gdap.ActionLockForApproval)
			require.NoError(t, err)
			_, err = b.sim.Advance(time.Minute) // the lock completes: approvalPending, new etag
			require.NoError(t, err)
		}}))
	b.command(t, "off-1", command.TypeCustomerOffboard, map[string]any{"customerTenantId": customerA})
	b.deliver(t)
	o := requireSucceeded(t, b, "off-1")
	require.Len(t, o.Data.Result.Relationships, 1)
	got := o.Data.Result.Relationships[0]
	require.Equal(t, gdap.StatusApprovalPending, got.Status)
	require.Equal(t, op.OffboardNone, got.Action, "the DELETE was refused: nothing was done to it")
	require.True(t, o.Data.Result.AlreadyDone, "nothing was written")
}

// A checkpoint (a ledger write inside a step) that fails because Table
// Storage is briefly unavailable must not end the operation: the input is
// retried (deferred) like any other ledger failure, and the creation
// succeeds; it is not failed with internal.
func TestCheckpointLedgerBlipIsNotATerminalFailure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	failed := false
	b.led.beforeUpdate = func(r *ledger.Record) (error, bool) {
		if !failed && r.Step == string(stepCreate) && r.State == ledger.StateRunning {
			failed = true
			return errTableOutage, false // not written
		}
		return nil, false
	}
	b.command(t, "create-1", command.TypeRelationshipCreate, map[string]any{
		"displayName": "blip-1", "duration": "P730D",
		"accessDetails": map[string]any{"unifiedRoles": []any{map[string]any{"roleDefinitionId": roleHelpFx}}},
		"customer":      map[string]any{"tenantId": customerA, "displayName": "Contoso"},
	})
	require.True(t, failed, "the checkpoint write failed")
	require.Empty(t, b.outcomes(t)["create-1"], "no outcome for a transient ledger failure")
	b.deliver(t)
	o := requireSucceeded(t, b, "create-1")
	require.Len(t, b.sim.RelationshipsNamed("blip-1"), 1, "created once")
	require.NotEmpty(t, o.Data.Result.Relationship.ID)
}

// A create with access assignments whose follow-up cannot be sent (Service
// Bus refusing sends beyond the in-invocation retries) must not end in
// gdap.operation.failed: the relationship exists and is locked; the input is
// redelivered and the follow-up started then.
func TestFollowUpSendFailureIsNotATerminalFailure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var down atomic.Bool
	down.Store(true)
	b.snd.fail = func(_ string, m bus.Message) bool {
		return down.Load() && strings.HasPrefix(m.MessageID, op.ReservedPrefix+"followup.")
	}
	body := commandBody(t, "create-2", command.TypeRelationshipCreate, map[string]any{
		"displayName": "fu-send-1", "duration": "P730D",
		"accessDetails":     map[string]any{"unifiedRoles": []any{map[string]any{"roleDefinitionId": roleHelpFx}}},
		"customer":          map[string]any{"tenantId": customerA, "displayName": "Contoso"},
		"accessAssignments": []any{map[string]any{"securityGroupId": "0b7a8c5e-1111-4222-8333-444455556666", "roles": []any{map[string]any{"roleDefinitionId": roleHelpFx}}}},
	})
	_, err := b.send(t, body)
	require.NoError(t, err)
	// The lock is followed; the invocation that finishes fails to send the
	// follow-up.
	var failedMsg *bus.Message
	for range 50 {
		m, ok := b.snd.popContinuation()
		if !ok {
			break
		}
		if at := *m.ScheduledEnqueueTime; at.After(b.clock.Now()) {
			b.clock.AdvanceTo(at)
		}
		if err := b.eng.HandleContinuation(t.Context(), b.inv(m.MessageID), m.Body); err != nil {
			failedMsg = &m
			break
		}
	}
	require.Empty(t, b.outcomes(t)["create-2"], "no outcome while the follow-up could not be sent")
	require.NotNil(t, failedMsg, "the invocation failed: Service Bus redelivers its message")
	down.Store(false)
	require.NoError(t, b.eng.HandleContinuation(t.Context(), b.inv(failedMsg.MessageID), failedMsg.Body))
	b.deliver(t)
	o := requireSucceeded(t, b, "create-2")
	require.NotEmpty(t, o.Data.Result.FollowUpOperationID)
	require.Len(t, b.sim.RelationshipsNamed("fu-send-1"), 1)
}
