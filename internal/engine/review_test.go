package engine

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
