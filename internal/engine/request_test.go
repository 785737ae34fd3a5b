package engine

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

// requestCalls counts the simulator's request POSTs and request lists.
func requestCalls(b *testBundle) (posts, lists int) {
	c := b.sim.Counters()
	return c[graphsim.CounterKey(http.MethodPost, graphsim.RouteRequests)], c[graphsim.CounterKey(http.MethodGet, graphsim.RouteRequests)]
}

// A relationship request is POSTed once per operation: the first execution
// POSTs without listing the requests first (the minimum of Graph calls), a
// retry lists first and follows what an earlier POST created, and a
// refused POST follows the request in flight.
func TestRequestPostedOnce(t *testing.T) {
	t.Parallel()
	create := map[string]any{"displayName": "locked once", "duration": "P730D", "lockForApproval": true,
		"accessDetails": map[string]any{"unifiedRoles": []any{map[string]any{"roleDefinitionId": roleHelpFx}}}}
	tests := []struct {
		name string
		// typ and data are the command; data gets relationshipId when
		// the test seeds a created relationship.
		typ  string
		data map[string]any
		// fault is scripted before the command (b is the bundle, rel the
		// seeded relationship).
		fault func(t *testing.T, b *testBundle, rel string) graphsim.Fault
		// want: request POSTs (answered or refused) and lists, and whether
		// the outcome reports the goal as already done (a request found in
		// flight is followed without knowing whose it is).
		posts       int
		lists       int
		alreadyDone bool
	}{
		{name: "request, first execution: POST without a list", typ: command.TypeRelationshipRequest,
			data:  map[string]any{"action": gdap.ActionLockForApproval},
			posts: 1, lists: 0},
		{name: "request, retry after the POST's answer was lost: its request followed", typ: command.TypeRelationshipRequest,
			data: map[string]any{"action": gdap.ActionLockForApproval},
			fault: func(*testing.T, *testBundle, string) graphsim.Fault {
				return graphsim.Fault{Route: graphsim.RouteRequests, Method: http.MethodPost, Kind: graphsim.FaultLost, Times: 1}
			},
			posts: 1, lists: 1, alreadyDone: true},
		{name: "request, another client's request in flight: the refused POST follows it", typ: command.TypeRelationshipRequest,
			data: map[string]any{"action": gdap.ActionLockForApproval},
			fault: func(t *testing.T, b *testBundle, rel string) graphsim.Fault {
				return graphsim.Fault{Route: graphsim.RouteRequests, Method: http.MethodPost, Kind: graphsim.FaultBefore, Times: 1,
					Before: func() {
						_, err := b.graph.CreateRequest(t.Context(), rel, gdap.ActionLockForApproval)
						require.NoError(t, err)
					}}
			},
			posts: 2, lists: 1, alreadyDone: true},
		{name: "create, first execution: lock without a list", typ: command.TypeRelationshipCreate, data: create,
			posts: 1, lists: 0},
		{name: "create, retry after the lock's answer was lost: its lock followed", typ: command.TypeRelationshipCreate, data: create,
			fault: func(*testing.T, *testBundle, string) graphsim.Fault {
				return graphsim.Fault{Route: graphsim.RouteRequests, Method: http.MethodPost, Kind: graphsim.FaultLost, Times: 1}
			},
			posts: 1, lists: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			data := map[string]any{}
			for k, v := range tt.data {
				data[k] = v
			}
			rel := ""
			if tt.typ == command.TypeRelationshipRequest {
				rel = b.addRelationship(t, gdap.Relationship{DisplayName: "r"})
				data["relationshipId"] = rel
			}
			if tt.fault != nil {
				require.NoError(t, b.sim.AddFault(tt.fault(t, b, rel)))
			}
			b.command(t, "op-1", tt.typ, data)
			b.deliver(t)
			o := requireSucceeded(t, b, "op-1")
			require.Equal(t, gdap.StatusApprovalPending, o.Data.Result.Relationship.Status)
			require.Equal(t, tt.alreadyDone, o.Data.Result.AlreadyDone)
			posts, lists := requestCalls(b)
			require.Equal(t, tt.posts, posts, "request POSTs")
			require.Equal(t, tt.lists, lists, "request lists")
			reqs, err := b.sim.Requests(o.Data.Result.Relationship.ID)
			require.NoError(t, err)
			require.Len(t, reqs, 1, "one request upstream")
			if tt.typ == command.TypeRelationshipRequest {
				require.Equal(t, reqs[0].ID, o.Data.Result.RequestID, "the outcome names the request followed")
			}
		})
	}
}
