package graphsim_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

// Rule 36: scripted faults per route and method, and per-client budgets.
func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault graphsim.Fault
		run   func(t *testing.T, b *testBundle, id string)
	}{
		{name: "429 twice then success", fault: graphsim.Fault{Route: graphsim.RouteRelationship, Method: "GET", Kind: graphsim.FaultThrottle, Times: 2, RetryAfter: 7},
			run: func(t *testing.T, b *testBundle, id string) {
				for range 2 {
					resp := b.do(t, rawReq{method: "GET", path: relsPath + "/" + id})
					require.Equal(t, 429, resp.status)
					require.Equal(t, "7", resp.header.Get("Retry-After"))
					require.Equal(t, graphsim.CodeTooManyRequests, resp.errCode(t))
				}
				require.Equal(t, 200, b.do(t, rawReq{method: "GET", path: relsPath + "/" + id}).status)
			}},
		{name: "other methods unaffected", fault: graphsim.Fault{Route: graphsim.RouteRelationship, Method: "PATCH", Kind: graphsim.FaultThrottle},
			run: func(t *testing.T, b *testBundle, id string) {
				require.Equal(t, 200, b.do(t, rawReq{method: "GET", path: relsPath + "/" + id}).status)
			}},
		{name: "503 with Retry-After", fault: graphsim.Fault{Kind: graphsim.FaultUnavailable, Times: 1, RetryAfter: 3},
			run: func(t *testing.T, b *testBundle, _ string) {
				resp := b.do(t, rawReq{method: "GET", path: relsPath})
				require.Equal(t, 503, resp.status)
				require.Equal(t, "3", resp.header.Get("Retry-After"))
			}},
		{name: "500 custom code", fault: graphsim.Fault{Kind: graphsim.FaultInternal, Times: 1, Code: "activityLimitReached"},
			run: func(t *testing.T, b *testBundle, _ string) {
				resp := b.do(t, rawReq{method: "GET", path: relsPath})
				require.Equal(t, 500, resp.status)
				require.Equal(t, "activityLimitReached", resp.errCode(t))
				require.Empty(t, resp.header.Get("Retry-After"))
			}},
		{name: "connection reset", fault: graphsim.Fault{Route: graphsim.RouteRelationships, Kind: graphsim.FaultReset, Times: 1},
			run: func(t *testing.T, b *testBundle, _ string) {
				req, err := http.NewRequestWithContext(t.Context(), "GET", b.base+relsPath, nil)
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer x")
				_, err = b.srv.Client().Do(req)
				require.Error(t, err)
				require.Equal(t, 200, b.do(t, rawReq{method: "GET", path: relsPath}).status)
				require.Equal(t, 0, b.sim.Journal()[0].Status)
			}},
		{name: "lost response: served, answer dropped", fault: graphsim.Fault{Route: graphsim.RouteRelationships, Method: "POST", Kind: graphsim.FaultLost, Times: 1},
			run: func(t *testing.T, b *testBundle, _ string) {
				req, err := http.NewRequestWithContext(t.Context(), "POST", b.base+relsPath,
					strings.NewReader(`{"displayName":"Lost","duration":"P30D","accessDetails":{"unifiedRoles":[{"roleDefinitionId":"`+roleHelpdesk+`"}]}}`))
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer x")
				req.Header.Set("Content-Type", "application/json")
				_, err = b.srv.Client().Do(req)
				require.Error(t, err)
				require.Equal(t, 2, b.sim.Len(), "the relationship was created")
				e := b.sim.Journal()[0]
				require.True(t, e.Lost)
				require.Equal(t, 201, e.Status)
				// A retry meets the name it created.
				resp := b.do(t, rawReq{method: "POST", path: relsPath, body: e.Body})
				require.Equal(t, 409, resp.status)
			}},
		{name: "etag race", fault: graphsim.Fault{Route: graphsim.RouteRelationship, Kind: graphsim.FaultETagRace, Times: 1},
			run: func(t *testing.T, b *testBundle, id string) {
				got := b.do(t, rawReq{method: "GET", path: relsPath + "/" + id}).json(t)
				resp := b.do(t, rawReq{method: "PATCH", path: relsPath + "/" + id, body: `{"displayName":"new"}`,
					headers: map[string]string{"If-Match": got["@odata.etag"].(string)}})
				require.Equal(t, 412, resp.status)
				fresh := b.do(t, rawReq{method: "GET", path: relsPath + "/" + id}).json(t)
				resp = b.do(t, rawReq{method: "PATCH", path: relsPath + "/" + id, body: `{"displayName":"new"}`,
					headers: map[string]string{"If-Match": fresh["@odata.etag"].(string)}})
				require.Equal(t, 200, resp.status)
			}},
		{name: "latency (real sleep)", fault: graphsim.Fault{Kind: graphsim.FaultLatency, Latency: 20 * time.Millisecond, Times: 1},
			run: func(t *testing.T, b *testBundle, _ string) {
				start := time.Now()
				require.Equal(t, 200, b.do(t, rawReq{method: "GET", path: relsPath}).status)
				require.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, graphsim.Options{})
			id := b.addRel(t, gdap.Relationship{})
			require.NoError(t, b.sim.AddFault(tc.fault))
			tc.run(t, b, id)
		})
	}
}

func TestAddFaultValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, graphsim.Options{})
	for _, f := range []graphsim.Fault{{Kind: "explode"}, {Kind: graphsim.FaultLatency}, {Kind: graphsim.FaultThrottle, Route: "/nope"}, {Kind: graphsim.FaultThrottle, Times: -1}} {
		require.ErrorIs(t, b.sim.AddFault(f), graphsim.ErrInvalidFault)
	}
}

func TestThrottleBudget(t *testing.T) {
	t.Parallel()
	b := setup(t, graphsim.Options{Throttle: &graphsim.ThrottleBudget{Requests: 2, Window: 10 * time.Second}})
	for range 2 {
		require.Equal(t, 200, b.do(t, rawReq{method: "GET", path: relsPath}).status)
	}
	resp := b.do(t, rawReq{method: "GET", path: relsPath})
	require.Equal(t, 429, resp.status)
	require.Equal(t, "10", resp.header.Get("Retry-After"))
	// Another client has its own budget; time restores the first one.
	require.Equal(t, 200, b.do(t, rawReq{method: "GET", path: relsPath, headers: map[string]string{"Authorization": "Bearer other"}}).status)
	b.clock.Advance(10 * time.Second)
	require.Equal(t, 200, b.do(t, rawReq{method: "GET", path: relsPath}).status)
}

// Rule 41: a token bucket per client application.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, graphsim.Options{RateLimit: &graphsim.RateLimit{Rate: 10, Burst: 5}})
	get := func(token string) rawResp {
		h := map[string]string{}
		if token != "" {
			h["Authorization"] = "Bearer " + token
		}
		return b.do(t, rawReq{method: "GET", path: relsPath, headers: h})
	}
	// The burst, then 429 with the time to the next token (0.1 s → 1 s).
	for range 5 {
		require.Equal(t, 200, get("").status)
	}
	resp := get("")
	require.Equal(t, 429, resp.status)
	require.Equal(t, "1", resp.header.Get("Retry-After"))
	// A refused request takes nothing; another client has its own bucket.
	require.Equal(t, 200, get("other").status)
	b.clock.Advance(100 * time.Millisecond)
	require.Equal(t, 200, get("").status)
	require.Equal(t, 429, get("").status)

	// Held over time: in 60 s at most 10/s (plus the refilled burst).
	ok := 0
	for range 600 {
		b.clock.Advance(100 * time.Millisecond)
		for range 3 {
			if get("").status == 200 {
				ok++
			}
		}
	}
	require.InDelta(t, 600, ok, 6, "the rate is held")
}

func TestRateLimitRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rate float64
		want string
	}{{rate: 10, want: "1"}, {rate: 0.5, want: "2"}, {rate: 0.2, want: "5"}}
	for _, tt := range tests {
		b := setup(t, graphsim.Options{RateLimit: &graphsim.RateLimit{Rate: tt.rate, Burst: 1}})
		require.Equal(t, 200, b.do(t, rawReq{method: "GET", path: relsPath}).status)
		resp := b.do(t, rawReq{method: "GET", path: relsPath})
		require.Equal(t, 429, resp.status)
		require.Equal(t, tt.want, resp.header.Get("Retry-After"), "rate %v", tt.rate)
	}
}
