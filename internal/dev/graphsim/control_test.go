package graphsim_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// The /_sim control surface.
func TestControlRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t, graphsim.Options{})
	ctl := func(method, path, body string) rawResp {
		return b.do(t, rawReq{method: method, path: "/_sim" + path, body: body, noAuth: true})
	}
	r := ctl("POST", "/relationships", `{"displayName":"Ctl","status":"approvalPending"}`)
	require.Equal(t, 201, r.status, string(r.body))
	id := r.json(t)["id"].(string)
	require.Equal(t, 204, ctl("POST", "/approve", `{"relationshipId":"`+id+`","customer":{"tenantId":"`+tenantA+`"}}`).status)
	require.Equal(t, 409, ctl("POST", "/approve", `{"relationshipId":"`+id+`"}`).status)
	require.Equal(t, 200, ctl("POST", "/clock/advance", `{"by":"2m"}`).status)
	require.Equal(t, gdap.StatusActive, ctl("GET", "/relationships/"+id, "").json(t)["Status"])
	require.Equal(t, t0.Add(2*time.Minute).Format(time.RFC3339), ctl("GET", "/clock", "").json(t)["now"])

	require.Equal(t, 201, ctl("POST", "/faults", `{"kind":"throttle","route":"`+graphsim.RouteRelationships+`","times":1,"retryAfter":2}`).status)
	require.Equal(t, 400, ctl("POST", "/faults", `{"kind":"latency","latency":"soon"}`).status)
	require.Len(t, b.sim.Faults(), 1)
	require.Equal(t, 429, b.do(t, rawReq{method: "GET", path: relsPath}).status)
	require.Equal(t, 204, ctl("DELETE", "/faults", "").status)

	require.Equal(t, 204, ctl("POST", "/fail-next", `{"relationshipId":"`+id+`","kind":"operation"}`).status)
	require.Equal(t, 204, ctl("POST", "/fail-next", `{"relationshipId":"`+id+`","kind":"assignment"}`).status)
	require.Equal(t, 400, ctl("POST", "/fail-next", `{"relationshipId":"`+id+`","kind":"party"}`).status)
	require.Equal(t, 201, ctl("POST", "/faults", `{"kind":"lost","route":"`+graphsim.RouteAssignments+`","method":"POST","times":1}`).status)
	require.Equal(t, 204, ctl("DELETE", "/faults", "").status)
	require.Equal(t, 404, ctl("POST", "/fail-next", `{"relationshipId":"nope","kind":"request"}`).status)

	pending := ctl("POST", "/relationships", `{"displayName":"Declined","status":"approvalPending"}`).json(t)["id"].(string)
	require.Equal(t, 204, ctl("POST", "/reject", `{"relationshipId":"`+pending+`"}`).status)
	require.Equal(t, gdap.StatusTerminated, b.rel(t, pending).Status)
	require.Equal(t, 409, ctl("POST", "/reject", `{"relationshipId":"`+pending+`"}`).status)
	require.Equal(t, 404, ctl("POST", "/reject", `{"relationshipId":"nope"}`).status)
	require.Equal(t, 400, ctl("POST", "/reject", `{"id":"x"}`).status)

	require.Equal(t, 200, ctl("GET", "/journal", "").status)
	require.Equal(t, 1.0, ctl("GET", "/counters", "").json(t)[graphsim.CounterKey("GET", graphsim.RouteRelationships)])
	require.Equal(t, 204, ctl("DELETE", "/journal", "").status)
	require.Empty(t, b.sim.Journal())

	s := ctl("POST", "/seed", `{"count":50,"seed":7}`)
	require.Equal(t, 200, s.status)
	require.Equal(t, 50.0, s.json(t)["count"])
	require.Equal(t, 52, b.sim.Len())
	f := ctl("POST", "/fixtures", `{"relationships":[{"displayName":"Fx"}]}`)
	require.Equal(t, 200, f.status, string(f.body))
	require.Equal(t, 400, ctl("POST", "/fixtures", `{"relationships":[{"colour":"red"}]}`).status)
	require.Equal(t, 204, ctl("POST", "/reset", "").status)
	require.Equal(t, 0, b.sim.Len())
	require.Equal(t, 404, ctl("GET", "/nothing", "").status)
}

// Seeding: size, mix, determinism.
func TestSeed(t *testing.T) {
	t.Parallel()
	gen := func(seed uint64) (*graphsim.Sim, graphsim.SeedSummary) {
		s := graphsim.New(graphsim.Options{Clock: vclock.NewFrozen(t0)})
		return s, s.Seed(graphsim.SeedOptions{Count: 5000, Seed: seed})
	}
	a, sa := gen(42)
	_, sb := gen(42)
	_, sc := gen(43)
	require.Equal(t, sa, sb)
	require.NotEqual(t, sa.FirstID, sc.FirstID)
	require.Equal(t, 5000, a.Len())
	require.Greater(t, sa.ByStatus[gdap.StatusActive], 3000)
	for _, st := range []string{gdap.StatusCreated, gdap.StatusApprovalPending, gdap.StatusExpired, gdap.StatusTerminated} {
		require.Positive(t, sa.ByStatus[st], st)
	}
	require.Positive(t, sa.Resellers)
	require.Greater(t, sa.WithGA, 1000)
	require.Less(t, sa.WithGA, 1600)
	first, ok := a.Relationship(sa.FirstID)
	require.True(t, ok)
	require.NotEmpty(t, first.DisplayName)
}
