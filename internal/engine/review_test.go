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
