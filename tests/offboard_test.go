package tests

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

func offboard(tenant string, removeDAP bool) map[string]any {
	return map[string]any{"customerTenantId": tenant, "removeDap": removeDAP}
}

// successfulWrites counts 2xx writes (method) on paths containing fragment.
func successfulWrites(b *bundle, method, fragment string) int {
	n := 0
	for _, e := range b.Graph.Journal() {
		if e.Method == method && strings.Contains(e.Path, fragment) && e.Status >= 200 && e.Status < 300 {
			n++
		}
	}
	return n
}

// TestOffboardCustomer offboards a customer with active, created,
// approvalPending and terminated relationships while answers are lost,
// connections reset and the handler is killed: each relationship is ended
// exactly once, and one created meanwhile is picked up by the final list.
func TestOffboardCustomer(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	const tenant = "0ff0ff00-1111-4111-8111-000000000001"
	cust := gdap.Customer{TenantID: tenant, DisplayName: "Offboarded Ltd"}
	active1 := addRelationship(t, b, gdap.Relationship{DisplayName: "off-active-1", Status: gdap.StatusActive, Customer: cust})
	active2 := addRelationship(t, b, gdap.Relationship{DisplayName: "off-active-2", Status: gdap.StatusActive, Customer: cust})
	created := addRelationship(t, b, gdap.Relationship{DisplayName: "off-created", Status: gdap.StatusCreated, Customer: cust})
	pending := addRelationship(t, b, gdap.Relationship{DisplayName: "off-pending", Status: gdap.StatusApprovalPending, Customer: cust})
	ended := addRelationship(t, b, gdap.Relationship{DisplayName: "off-ended", Status: gdap.StatusTerminated, Customer: cust})
	other := addRelationship(t, b, gdap.Relationship{DisplayName: "other-customer", Status: gdap.StatusActive})

	require.NoError(t, b.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteRequests, Method: http.MethodPost, Kind: graphsim.FaultLost, Times: 1}))
	require.NoError(t, b.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteRelationship, Method: http.MethodDelete, Kind: graphsim.FaultLost, Times: 1}))
	var killed atomic.Bool
	require.NoError(t, b.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteRequests, Method: http.MethodPost, Kind: graphsim.FaultBefore, Times: 2,
		Before: func() {
			if killed.CompareAndSwap(false, true) {
				_ = b.Emu.KillHandler()
			}
		}}))
	// A relationship created for the customer while the offboarding runs.
	var late atomic.Value
	var lists atomic.Int32
	require.NoError(t, b.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteRelationships, Method: http.MethodGet, Kind: graphsim.FaultBefore, Times: 2,
		Before: func() {
			if lists.Add(1) != 2 { // before the second list: after the first writes
				return
			}
			id, err := b.Graph.AddRelationship(gdap.Relationship{DisplayName: "off-late", Status: gdap.StatusCreated, Duration: "P730D",
				UnifiedRoles: []string{roleHelpdesk}, Customer: cust})
			if err == nil {
				late.Store(id)
			}
		}}))

	b.send(t, "op-offboard", command.TypeCustomerOffboard, offboard(tenant, false))
	b.drain(t)

	o := b.outcome(t, "op-offboard")
	requireSucceeded(t, o)
	require.Equal(t, tenant, o.CustomerTenantID)
	lateID, _ := late.Load().(string)
	require.NotEmpty(t, lateID, "the late relationship was created")
	got := map[string]op.OffboardedRelationship{}
	for _, r := range o.Result.Relationships {
		got[r.ID] = r
	}
	want := map[string][3]string{ // previousStatus, action, status
		active1: {gdap.StatusActive, op.OffboardTerminated, gdap.StatusTerminated},
		active2: {gdap.StatusActive, op.OffboardTerminated, gdap.StatusTerminated},
		created: {gdap.StatusCreated, op.OffboardDeleted, "deleted"},
		lateID:  {gdap.StatusCreated, op.OffboardDeleted, "deleted"},
		pending: {gdap.StatusApprovalPending, op.OffboardNone, gdap.StatusApprovalPending},
		ended:   {gdap.StatusTerminated, op.OffboardNone, gdap.StatusTerminated},
	}
	require.Len(t, got, len(want))
	for id, w := range want {
		r := got[id]
		require.Equal(t, w, [3]string{r.PreviousStatus, r.Action, r.Status}, "relationship %s", r.DisplayName)
	}
	for _, id := range []string{active1, active2} {
		require.Equal(t, 1, successfulWrites(b, http.MethodPost, id+"/requests"), "one terminate request for %s", id)
	}
	for _, id := range []string{created, lateID} {
		require.Equal(t, 1, successfulWrites(b, http.MethodDelete, id), "one DELETE for %s", id)
	}
	require.Zero(t, writes(b, pending))
	require.Equal(t, gdap.StatusActive, relationship(t, b, other).Status)
	require.True(t, killed.Load())
}

func TestOffboardRemovesDAPAndRefusesProtected(t *testing.T) {
	t.Parallel()
	b := setup(t, map[string]string{"GDAP_PROTECTED_CUSTOMERS": customerB})
	const tenant = "0ff0ff00-1111-4111-8111-000000000002"
	b.PC.AddCustomer(tenant, "DAP Ltd", true)
	b.PC.AddCustomer(customerB, "Protected Ltd", true)
	rel := addRelationship(t, b, gdap.Relationship{DisplayName: "dap-active", Status: gdap.StatusActive,
		Customer: gdap.Customer{TenantID: tenant, DisplayName: "DAP Ltd"}})
	prot := addRelationship(t, b, gdap.Relationship{DisplayName: "protected-active", Status: gdap.StatusActive,
		Customer: gdap.Customer{TenantID: customerB, DisplayName: "Protected Ltd"}})

	b.send(t, "op-offboard-dap", command.TypeCustomerOffboard, offboard(tenant, true))
	b.send(t, "op-offboard-protected", command.TypeCustomerOffboard, offboard(customerB, true))
	b.drain(t)

	o := b.outcome(t, "op-offboard-dap")
	requireSucceeded(t, o)
	require.NotNil(t, o.Result.DapRemoved)
	require.True(t, *o.Result.DapRemoved)
	c, ok := b.PC.Customer(tenant)
	require.True(t, ok)
	require.False(t, c.AllowDelegatedAccess)
	require.Equal(t, gdap.StatusTerminated, relationship(t, b, rel).Status)

	requireFailed(t, b.outcome(t, "op-offboard-protected"), "policy_denied")
	require.Zero(t, writes(b, prot))
	pc, _ := b.PC.Customer(customerB)
	require.True(t, pc.AllowDelegatedAccess)
}
