package graphapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

// faultScene is the state every fault case starts from: a created
// relationship, and an active one with one active assignment.
type faultScene struct {
	created gdap.Relationship
	active  string
	aa      gdap.AccessAssignment
}

func newFaultScene(t *testing.T, b simBundle) faultScene {
	t.Helper()
	var s faultScene
	var err error
	s.created, err = b.client.GetRelationship(t.Context(), b.add(t, gdap.Relationship{DisplayName: "Created one",
		Customer: gdap.Customer{TenantID: tenantID}}))
	require.NoError(t, err)
	s.active = b.activeRel(t)
	s.aa, err = b.client.CreateAccessAssignment(t.Context(), s.active, groupA, []string{roleUser})
	require.NoError(t, err)
	b.settle(t)
	s.aa, err = b.client.GetAccessAssignment(t.Context(), s.active, s.aa.ID)
	require.NoError(t, err)
	return s
}

// Every new call meets the simulator's generic faults: 429 with
// Retry-After, 5xx, a connection reset before serving and a lost response
// (served, answer dropped). effect reports whether a write took place.
func TestSimFaultsOnOnboardingCalls(t *testing.T) {
	t.Parallel()
	type call struct {
		name, route, method string
		run                 func(t *testing.T, b simBundle, s faultScene) error
		effect              func(t *testing.T, b simBundle, s faultScene) bool // nil for reads
	}
	calls := []call{
		{name: "create relationship", route: graphsim.RouteRelationships, method: http.MethodPost,
			run: func(t *testing.T, b simBundle, _ faultScene) error {
				_, err := b.client.CreateRelationship(t.Context(), gdap.NewRelationship{DisplayName: "New one", Duration: "P90D", UnifiedRoles: []string{roleUser}})
				return err
			},
			effect: func(t *testing.T, b simBundle, _ faultScene) bool {
				got, err := b.client.FindRelationshipsByName(t.Context(), "New one")
				require.NoError(t, err)
				return len(got) == 1
			}},
		{name: "delete relationship", route: graphsim.RouteRelationship, method: http.MethodDelete,
			run: func(t *testing.T, b simBundle, s faultScene) error {
				return b.client.DeleteRelationship(t.Context(), s.created.ID, s.created.ETag)
			},
			effect: func(_ *testing.T, b simBundle, s faultScene) bool {
				_, ok := b.sim.Relationship(s.created.ID)
				return !ok
			}},
		{name: "find by name", route: graphsim.RouteRelationships, method: http.MethodGet,
			run: func(t *testing.T, b simBundle, _ faultScene) error {
				_, err := b.client.FindRelationshipsByName(t.Context(), "Created one")
				return err
			}},
		{name: "list customer relationships", route: graphsim.RouteRelationships, method: http.MethodGet,
			run: func(t *testing.T, b simBundle, _ faultScene) error {
				_, err := b.client.ListCustomerRelationships(t.Context(), tenantID)
				return err
			}},
		{name: "list assignments", route: graphsim.RouteAssignments, method: http.MethodGet,
			run: func(t *testing.T, b simBundle, s faultScene) error {
				_, err := b.client.ListAccessAssignments(t.Context(), s.active)
				return err
			}},
		{name: "get assignment", route: graphsim.RouteAssignment, method: http.MethodGet,
			run: func(t *testing.T, b simBundle, s faultScene) error {
				_, err := b.client.GetAccessAssignment(t.Context(), s.active, s.aa.ID)
				return err
			}},
		{name: "create assignment", route: graphsim.RouteAssignments, method: http.MethodPost,
			run: func(t *testing.T, b simBundle, s faultScene) error {
				_, err := b.client.CreateAccessAssignment(t.Context(), s.active, groupB, []string{roleHelpdesk})
				return err
			},
			effect: func(t *testing.T, b simBundle, s faultScene) bool {
				got, err := b.client.ListAccessAssignments(t.Context(), s.active)
				require.NoError(t, err)
				return len(got) == 2
			}},
		{name: "update assignment", route: graphsim.RouteAssignment, method: http.MethodPatch,
			run: func(t *testing.T, b simBundle, s faultScene) error {
				_, err := b.client.PatchAccessAssignment(t.Context(), s.active, s.aa.ID, s.aa.ETag, []string{roleUser, roleHelpdesk})
				return err
			},
			effect: func(t *testing.T, b simBundle, s faultScene) bool {
				ops, err := b.client.ListOperations(t.Context(), s.active)
				require.NoError(t, err)
				return len(ops) == 1
			}},
		{name: "delete assignment", route: graphsim.RouteAssignment, method: http.MethodDelete,
			run: func(t *testing.T, b simBundle, s faultScene) error {
				return b.client.DeleteAccessAssignment(t.Context(), s.active, s.aa.ID, s.aa.ETag)
			},
			effect: func(t *testing.T, b simBundle, s faultScene) bool {
				a, err := b.client.GetAccessAssignment(t.Context(), s.active, s.aa.ID)
				require.NoError(t, err)
				return a.Status == gdap.AssignmentDeleting
			}},
	}
	faults := []struct {
		kind       graphsim.FaultKind
		wantStatus int // 0: transport error
		wantRetry  time.Duration
		executed   bool
	}{
		{kind: graphsim.FaultThrottle, wantStatus: http.StatusTooManyRequests, wantRetry: 7 * time.Second},
		{kind: graphsim.FaultUnavailable, wantStatus: http.StatusServiceUnavailable, wantRetry: 7 * time.Second},
		{kind: graphsim.FaultInternal, wantStatus: http.StatusInternalServerError, wantRetry: 7 * time.Second},
		{kind: graphsim.FaultReset},
		{kind: graphsim.FaultLost, executed: true},
	}
	for _, c := range calls {
		for _, f := range faults {
			t.Run(c.name+"/"+string(f.kind), func(t *testing.T) {
				t.Parallel()
				b := setupSim(t, graphsim.Options{})
				s := newFaultScene(t, b)
				require.NoError(t, b.sim.AddFault(graphsim.Fault{Route: c.route, Method: c.method, Kind: f.kind, Times: 1, RetryAfter: 7}))
				before := len(b.sim.Journal())
				err := c.run(t, b, s)
				sent := b.sim.Journal()[before:]
				hits := faultHits(sent, c.route, c.method)
				require.Len(t, hits, 1, "the fault hit once")
				switch {
				case c.method == http.MethodGet && f.wantStatus == 0 && err == nil:
					// net/http replays an idempotent GET whose reused
					// connection broke: the same request, served again.
					require.Len(t, sent, 2)
					require.Equal(t, sent[0].Headers["client-request-id"], sent[1].Headers["client-request-id"])
				default:
					ue := mustUpstream(t, err)
					require.Equal(t, f.wantStatus, ue.StatusCode)
					require.Equal(t, f.wantRetry, ue.RetryAfter)
					require.True(t, ue.Transient())
				}
				require.Equal(t, f.executed, hits[0].Lost)
				if c.effect != nil {
					require.Equal(t, f.executed, c.effect(t, b, s), "write executed")
				}
			})
		}
	}
}

// faultHits returns the entries of route and method that a fault answered:
// an error status, a reset (status 0) or a lost response.
func faultHits(entries []graphsim.JournalEntry, route, method string) []graphsim.JournalEntry {
	var out []graphsim.JournalEntry
	for _, e := range entries {
		if e.Route == route && e.Method == method &&
			(e.Lost || e.Status == 0 || e.Status >= 500 || e.Status == http.StatusTooManyRequests) {
			out = append(out, e)
		}
	}
	return out
}
