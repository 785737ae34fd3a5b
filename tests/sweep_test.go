package tests

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

// expiringIn seeds an active relationship that ends after d.
func expiringIn(t *testing.T, b *bundle, name string, d time.Duration, roles []string, tenant string) string {
	t.Helper()
	now := b.Clock.Now()
	return addRelationship(t, b, gdap.Relationship{
		DisplayName: name, Status: gdap.StatusActive, Duration: "P730D", UnifiedRoles: roles,
		Customer:          gdap.Customer{TenantID: tenant, DisplayName: name + " Ltd"},
		CreatedDateTime:   now.Add(-731 * 24 * time.Hour).Add(d),
		ActivatedDateTime: now.Add(-730 * 24 * time.Hour).Add(d),
		EndDateTime:       now.Add(d),
	})
}

func TestSweepCommandWithAutoExtendPolicy(t *testing.T) {
	t.Parallel()
	b := setup(t, map[string]string{
		"GDAP_AUTO_EXTEND_POLICY":             "remove-global-admin",
		"GDAP_PROTECTED_CUSTOMERS":            customerB,
		"GDAP_SWEEP_MAX_PAGES_PER_INVOCATION": "1",
	})
	day := 24 * time.Hour
	plain := expiringIn(t, b, "sw-plain", 20*day, []string{roleHelpdesk}, "a0000000-0000-4000-8000-000000000001")
	withGA := expiringIn(t, b, "sw-ga", 5*day, []string{roleHelpdesk, gdap.GlobalAdminRoleID}, "a0000000-0000-4000-8000-000000000002")
	protected := expiringIn(t, b, "sw-protected", 10*day, []string{roleHelpdesk}, customerB)
	far := expiringIn(t, b, "sw-far", 200*day, []string{roleHelpdesk}, "a0000000-0000-4000-8000-000000000003")
	ended := addRelationship(t, b, gdap.Relationship{DisplayName: "sw-ended", Status: gdap.StatusTerminated})
	pending := addRelationship(t, b, gdap.Relationship{DisplayName: "sw-pending", Status: gdap.StatusApprovalPending,
		CreatedDateTime: b.Clock.Now().Add(-80 * day)})
	// Enough relationships for several pages ($top=300, one page per invocation).
	b.Graph.Seed(graphsimSeed(650))

	b.send(t, "op-sweep", command.TypeSweepRun, map[string]any{})
	b.drain(t)

	o := b.outcome(t, "op-sweep")
	requireSucceeded(t, o)
	require.NotEmpty(t, o.Result.SweepID)
	completed, err := b.EventsOfType("gdap.sweep.completed")
	require.NoError(t, err)
	require.Len(t, completed, 1)
	var summary struct {
		Relationships int `json:"relationships"`
		Pages         int `json:"pages"`
		Invocations   int `json:"invocations"`
		Expiring      int `json:"expiring"`
	}
	require.NoError(t, completed[0].Decode(&summary))
	require.Equal(t, 656, summary.Relationships)
	require.Equal(t, 3, summary.Pages)
	require.GreaterOrEqual(t, summary.Invocations, 3, "one page per invocation")

	expiring := eventsFor(t, b, "gdap.relationship.expiring")
	require.Contains(t, expiring, plain)
	require.Contains(t, expiring, withGA)
	require.Contains(t, expiring, protected)
	require.NotContains(t, expiring, far)
	require.Contains(t, eventsFor(t, b, "gdap.relationship.ended"), ended)
	require.Contains(t, eventsFor(t, b, "gdap.relationship.approvalPending"), pending)

	// Policy: auto-extend for the plain one, GA removal + auto-extend for the
	// GA one, and auto-extend for the protected customer's one (it would be
	// extended whatever the policy); through the command path.
	require.Equal(t, gdap.AutoExtendOn, relationship(t, b, plain).AutoExtendDuration)
	gaRel := relationship(t, b, withGA)
	require.False(t, gaRel.HasGlobalAdmin())
	require.Equal(t, gdap.AutoExtendOn, gaRel.AutoExtendDuration)
	require.Equal(t, gdap.AutoExtendOn, relationship(t, b, protected).AutoExtendDuration)
	require.Equal(t, 1, writes(b, protected))
	outcomes, err := b.Outcomes()
	require.NoError(t, err)
	for id, os := range outcomes {
		require.Len(t, os, 1, id)
		if !os[0].Succeeded() {
			// Seeded relationships whose only role is Global Administrator
			// cannot lose it: the policy's command fails and says why.
			requireFailed(t, os[0], "invalid_state")
			require.Contains(t, os[0].Error.Message, "only the Global Administrator role")
		}
	}

	// A second sweep: nothing is announced twice, no command issued again.
	before := len(mustEvents(t, b))
	patches := len(journal(b, http.MethodPatch, "", 0))
	b.send(t, "op-sweep-2", command.TypeSweepRun, map[string]any{})
	b.drain(t)
	requireSucceeded(t, b.outcome(t, "op-sweep-2"))
	after := mustEvents(t, b)
	for _, e := range after[before:] {
		require.Contains(t, []string{"gdap.sweep.completed", "gdap.operation.succeeded"}, e.Type, "only the sweep's own events: %s %s", e.Type, e.Subject)
	}
	require.Equal(t, patches, len(journal(b, http.MethodPatch, "", 0)))
}

func TestSweepTimerOverlappingTriggers(t *testing.T) {
	t.Parallel()
	b := setup(t, map[string]string{"GDAP_SWEEP_MAX_PAGES_PER_INVOCATION": "1"})
	b.Graph.Seed(graphsimSeed(900))
	// The timer fires while a gdap.sweep.run is being processed: one sweep
	// runs, both triggers end with it.
	b.send(t, "op-sweep-a", command.TypeSweepRun, map[string]any{})
	require.NoError(t, b.Emu.FireTimer(t.Context(), "expiry-sweep"))
	b.send(t, "op-sweep-b", command.TypeSweepRun, map[string]any{})
	b.drain(t)
	requireSucceeded(t, b.outcome(t, "op-sweep-a"))
	requireSucceeded(t, b.outcome(t, "op-sweep-b"))
	completed, err := b.EventsOfType("gdap.sweep.completed")
	require.NoError(t, err)
	require.NotEmpty(t, completed)
	require.Len(t, completed, 1, "one sweep ran")
	// No event was published twice (ids are deterministic per outcome).
	seen := map[string]bool{}
	for _, d := range b.Emu.Accepted("gdap-events") {
		require.False(t, seen[d.MessageID], "event %s published twice", d.MessageID)
		seen[d.MessageID] = true
	}
}
