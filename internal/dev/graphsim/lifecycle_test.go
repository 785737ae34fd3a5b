package graphsim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

const day = 24 * time.Hour

// Rule 30: clock-driven lifecycle and the approval hook.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	type step struct {
		advance time.Duration
		status  string
	}
	tests := []struct {
		name  string
		rel   gdap.Relationship
		hook  func(t *testing.T, b *testBundle, id string)
		steps []step
		check func(t *testing.T, r gdap.Relationship)
	}{
		{name: "customer approval", rel: gdap.Relationship{Status: gdap.StatusApprovalPending, Duration: "P90D"},
			hook: func(t *testing.T, b *testBundle, id string) {
				require.NoError(t, b.sim.Approve(id, &gdap.Customer{TenantID: tenantA, DisplayName: "Contoso"}))
			},
			steps: []step{{0, gdap.StatusApproved}, {30 * time.Second, gdap.StatusActivating}, {30 * time.Second, gdap.StatusActive}},
			check: func(t *testing.T, r gdap.Relationship) {
				require.Equal(t, t0.Add(time.Minute), r.ActivatedDateTime)
				require.Equal(t, t0.Add(time.Minute+90*day), r.EndDateTime)
				require.Equal(t, tenantA, r.Customer.TenantID)
			}},
		{name: "expiry without auto-extend (PT0S)", rel: gdap.Relationship{Status: gdap.StatusActive, ActivatedDateTime: t0.Add(-29 * day), Duration: "P30D"},
			steps: []step{{day - time.Second, gdap.StatusActive}, {time.Second, gdap.StatusExpiring}, {time.Minute, gdap.StatusExpired}}},
		{name: "expiry with P0D", rel: gdap.Relationship{Status: gdap.StatusActive, ActivatedDateTime: t0.Add(-29 * day), Duration: "P30D", AutoExtendDuration: "P0D"},
			steps: []step{{day + time.Minute, gdap.StatusExpired}}},
		{name: "auto-extension P180D", rel: gdap.Relationship{Status: gdap.StatusActive, ActivatedDateTime: t0.Add(-29 * day), Duration: "P30D", AutoExtendDuration: "P180D"},
			steps: []step{{day, gdap.StatusActive}, {180 * day, gdap.StatusActive}},
			check: func(t *testing.T, r gdap.Relationship) {
				require.Equal(t, t0.Add(day+360*day), r.EndDateTime)
			}},
		{name: "approvalPending lapses after 90 days", rel: gdap.Relationship{Status: gdap.StatusApprovalPending, CreatedDateTime: t0.Add(-89 * day)},
			steps: []step{{day - time.Second, gdap.StatusApprovalPending}, {time.Second, gdap.StatusExpired}}},
		{name: "customer-initiated termination", rel: gdap.Relationship{Status: gdap.StatusActive},
			hook:  func(t *testing.T, b *testBundle, id string) { require.NoError(t, b.sim.TerminateByCustomer(id)) },
			steps: []step{{0, gdap.StatusTerminationRequested}, {30 * time.Second, gdap.StatusTerminating}, {30 * time.Second, gdap.StatusTerminated}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, graphsim.Options{})
			id := b.addRel(t, tc.rel)
			if tc.hook != nil {
				tc.hook(t, b, id)
			}
			etag := b.rel(t, id).ETag
			for _, st := range tc.steps {
				b.clock.Advance(st.advance)
				// Through HTTP as well: every request applies due transitions.
				got := b.do(t, rawReq{method: "GET", path: relsPath + "/" + id}).json(t)
				require.Equal(t, st.status, got["status"])
			}
			r := b.rel(t, id)
			if tc.check != nil {
				tc.check(t, r)
			}
			require.NotEqual(t, etag, r.ETag, "transitions change the etag")
		})
	}
}

// Go API errors of the hooks.
func TestHookErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, graphsim.Options{})
	active := b.addRel(t, gdap.Relationship{Status: gdap.StatusActive})
	tests := []struct {
		name string
		err  error
		want error
	}{
		{name: "approve unknown", err: b.sim.Approve("nope", nil), want: graphsim.ErrNotFound},
		{name: "approve active", err: b.sim.Approve(active, nil), want: graphsim.ErrInvalidState},
		{name: "terminate unknown", err: b.sim.TerminateByCustomer("nope"), want: graphsim.ErrNotFound},
		{name: "fail-next unknown", err: b.sim.FailNextOperation("nope"), want: graphsim.ErrNotFound},
		{name: "add duplicate name", err: func() error {
			_, err := b.sim.AddRelationship(gdap.Relationship{DisplayName: strings.ToUpper(b.rel(t, active).DisplayName)})
			return err
		}(), want: graphsim.ErrInvalidRelationship},
		{name: "add bad duration", err: func() error {
			_, err := b.sim.AddRelationship(gdap.Relationship{Duration: "P1M"})
			return err
		}(), want: graphsim.ErrInvalidRelationship},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.ErrorIs(t, tc.err, tc.want)
		})
	}
}

// Rule 31: delegatedAdminCustomers follow active relationships; details are fixture-driven.
func TestCustomers(t *testing.T) {
	t.Parallel()
	b := setup(t, graphsim.Options{})
	_, err := b.sim.LoadFixtures(strings.NewReader(`{"relationships":[
		{"displayName":"A1","status":"active","customer":{"tenantId":"` + tenantA + `","displayName":"Contoso"}},
		{"displayName":"A2","status":"approvalPending","customer":{"tenantId":"22222222-2222-4222-8222-222222222222","displayName":"Fabrikam"}}],
		"serviceManagementDetails":{"` + tenantA + `":[{"serviceName":"Intune","serviceManagementUrl":"https://intune.example"}]}}`))
	require.NoError(t, err)
	list := b.do(t, rawReq{method: "GET", path: "/tenantRelationships/delegatedAdminCustomers"}).json(t)["value"].([]any)
	require.Len(t, list, 1)
	require.Equal(t, tenantA, list[0].(map[string]any)["tenantId"])
	details := b.do(t, rawReq{method: "GET", path: "/tenantRelationships/delegatedAdminCustomers/" + tenantA + "/serviceManagementDetails"}).json(t)["value"].([]any)
	require.Len(t, details, 1)
	require.Equal(t, "Intune", details[0].(map[string]any)["serviceName"])
	require.Equal(t, 404, b.do(t, rawReq{method: "GET", path: "/tenantRelationships/delegatedAdminCustomers/22222222-2222-4222-8222-222222222222"}).status)

	// Terminating the only active relationship removes the customer.
	id := b.do(t, rawReq{method: "GET", path: relsPath + "?$filter=status%20eq%20'active'"}).json(t)["value"].([]any)[0].(map[string]any)["id"].(string)
	require.NoError(t, b.sim.TerminateByCustomer(id))
	require.Equal(t, 404, b.do(t, rawReq{method: "GET", path: "/tenantRelationships/delegatedAdminCustomers/" + tenantA}).status)
}

// CustomerApproval plays a customer who approves every relationship that
// waits for approval, after the configured time.
func TestScriptedCustomerApproval(t *testing.T) {
	t.Parallel()
	b := setup(t, graphsim.Options{CustomerApproval: time.Hour})
	id, err := b.sim.AddRelationship(gdap.Relationship{Status: gdap.StatusApprovalPending, Duration: "P90D"})
	require.NoError(t, err)
	b.clock.Advance(59 * time.Minute)
	r, _ := b.sim.Relationship(id)
	require.Equal(t, gdap.StatusApprovalPending, r.Status)
	b.clock.Advance(2 * time.Minute) // approved at 60 min, active a minute later
	r, _ = b.sim.Relationship(id)
	require.Equal(t, gdap.StatusActive, r.Status)
	require.NotEmpty(t, r.Customer.TenantID, "an open invitation gets the approving customer")
}
