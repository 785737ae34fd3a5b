package tests

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

// TestProtectedCustomerGuards covers contract §6.4's gaps: switching
// auto-extend off for a protected customer is refused (it would let the
// relationship lapse quietly), a relationship whose customer cannot be
// determined is treated as protected (fail closed), and removing Global
// Administrator stays allowed.
func TestProtectedCustomerGuards(t *testing.T) {
	t.Parallel()
	b := setup(t, map[string]string{"GDAP_PROTECTED_CUSTOMERS": customerA})
	extends := addRelationship(t, b, gdap.Relationship{DisplayName: "protected-extends", Status: gdap.StatusActive,
		AutoExtendDuration: gdap.AutoExtendOn})
	anonID, err := b.Graph.AddRelationship(gdap.Relationship{DisplayName: "customer-unknown", Status: gdap.StatusActive,
		Duration: "P730D", AutoExtendDuration: gdap.AutoExtendOff, UnifiedRoles: []string{roleHelpdesk}})
	require.NoError(t, err)
	withGA := addRelationship(t, b, gdap.Relationship{DisplayName: "protected-ga", Status: gdap.StatusActive,
		UnifiedRoles: []string{roleHelpdesk, gdap.GlobalAdminRoleID}})
	other := addRelationship(t, b, gdap.Relationship{DisplayName: "other-customer", Status: gdap.StatusActive,
		AutoExtendDuration: gdap.AutoExtendOn, Customer: gdap.Customer{TenantID: customerB, DisplayName: "Other"}})

	b.send(t, "op-prot-off", command.TypeRelationshipUpdate, update(extends, map[string]any{"autoExtendDuration": "PT0S"}))
	b.send(t, "op-prot-p0d", command.TypeRelationshipUpdate, update(extends, map[string]any{"autoExtendDuration": "P0D"}))
	b.send(t, "op-prot-anon", command.TypeRelationshipRequest, request(anonID, gdap.ActionTerminate))
	b.send(t, "op-prot-removega", command.TypeRemoveGlobalAdmin, map[string]any{"relationshipId": withGA, "enableAutoExtend": true})
	b.send(t, "op-other-off", command.TypeRelationshipUpdate, update(other, map[string]any{"autoExtendDuration": "PT0S"}))
	b.drain(t)

	requireFailed(t, b.outcome(t, "op-prot-off"), "policy_denied")
	requireFailed(t, b.outcome(t, "op-prot-p0d"), "policy_denied")
	requireFailed(t, b.outcome(t, "op-prot-anon"), "policy_denied")
	require.Zero(t, writes(b, extends), "nothing written for a refused command")
	require.Empty(t, journal(b, http.MethodPost, anonID+"/requests", 0))
	requireSucceeded(t, b.outcome(t, "op-prot-removega"))
	requireSucceeded(t, b.outcome(t, "op-other-off"))
}
