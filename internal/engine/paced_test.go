package engine

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/graphapi"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/upstream"
)

// pacedGraph gives the bundle's engine a Graph client that paces itself
// after a 429 (graphapi.Pacing), as the handler's does.
func pacedGraph(t *testing.T, b *testBundle) {
	t.Helper()
	srv := httptest.NewServer(b.sim)
	t.Cleanup(srv.Close)
	g, err := graphapi.New(graphapi.Options{BaseURL: srv.URL + "/beta",
		Credential: graphapi.NewStaticTokenCredential("test-token"), HTTPClient: srv.Client(), Clock: b.clock, Pacing: &graphapi.Pacing{}})
	require.NoError(t, err)
	b.graph, b.opts.Graph = g, g
	b.eng = New(b.opts)
}

// saturate takes every call the paced client allows now, so that a call
// without a reservation is deferred.
func saturate(t *testing.T, b *testBundle, rel string) {
	t.Helper()
	for range 10 {
		_, err := b.graph.GetRelationship(t.Context(), rel)
		if ue, ok := upstream.As(err); ok && ue.Code == graphapi.LocalThrottleCode {
			return
		}
		require.NoError(t, err)
	}
	t.Fatal("the paced client never deferred a call")
}

// deliverNext delivers the continuation due first at its scheduled time
// (or now, if that has passed).
func deliverNext(t *testing.T, b *testBundle) {
	t.Helper()
	m, ok := b.snd.popContinuation()
	require.True(t, ok, "a continuation is pending")
	if at := *m.ScheduledEnqueueTime; at.After(b.clock.Now()) {
		b.clock.AdvanceTo(at)
	}
	require.NoError(t, b.eng.HandleContinuation(t.Context(), b.inv(m.MessageID), m.Body))
}

// A continuation that presents the slot the paced Graph client reserved
// for it (two calls) spends both in the steps it runs: the 202 operation's
// poll and the read that finishes the update, in one invocation. Before,
// the reservation covered the poll's step only, and the read was deferred
// again to a slot behind every other caller's, leaving a reserved call
// unused: under a throttled burst, a third of the paced rate went unused.
func TestReservationCoversTheInvocationsSteps(t *testing.T) {
	t.Parallel()
	b := setup(t)
	pacedGraph(t, b)
	rel := b.addRelationship(t, active("paced", gdap.GlobalAdminRoleID, roleHelpFx))
	// The first read is throttled: the client paces itself from now on.
	require.NoError(t, b.sim.AddFault(graphsim.Fault{Route: graphsim.RouteRelationship, Method: "GET", Kind: graphsim.FaultThrottle, Times: 1, RetryAfter: 1}))
	b.command(t, "op-1", command.TypeRelationshipUpdate, map[string]any{"relationshipId": rel,
		"changes": map[string]any{"accessDetails": map[string]any{"unifiedRoles": []any{map[string]any{"roleDefinitionId": roleHelpFx}}}}})
	deliverNext(t, b) // the read and the PATCH (202), on their reserved slot
	require.Equal(t, string(stepPollOperation), b.led.get(t, "op-1").Step)

	// The poll is due once the operation has finished, while every call
	// the client allows is taken: the poll is deferred to a reserved slot.
	b.clock.Advance(time.Minute)
	saturate(t, b, rel)
	deliverNext(t, b)
	rec := b.led.get(t, "op-1")
	require.Equal(t, ledger.StateWaiting, rec.State)
	require.Equal(t, string(stepPollOperation), rec.Step)
	require.False(t, decodeState(rec.Workflow).Paced.IsZero(), "deferred to a reserved slot")

	// On its slot, the poll and the final read both go through.
	deliverNext(t, b)
	o := requireSucceeded(t, b, "op-1")
	require.Equal(t, []string{roleHelpFx}, o.Data.Result.Relationship.UnifiedRoles)
}
