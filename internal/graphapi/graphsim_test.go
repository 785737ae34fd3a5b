package graphapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/graphapi"
	"github.com/gdapflow/gdapflow/internal/upstream"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// simBundle is a graphapi client wired to an in-process strict simulator.
type simBundle struct {
	client *graphapi.Client
	sim    *graphsim.Sim
	clock  *vclock.Virtual
	srv    *httptest.Server
}

var simStart = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func setupSim(t *testing.T, opts graphsim.Options) simBundle {
	t.Helper()
	clock := vclock.NewFrozen(simStart)
	opts.Clock = clock
	sim := graphsim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := graphapi.New(graphapi.Options{
		BaseURL:    srv.URL + "/beta",
		Credential: graphapi.NewStaticTokenCredential(testToken),
		HTTPClient: srv.Client(),
		Clock:      clock,
	})
	require.NoError(t, err)
	return simBundle{client: c, sim: sim, clock: clock, srv: srv}
}

func (b simBundle) add(t *testing.T, r gdap.Relationship) string {
	t.Helper()
	id, err := b.sim.AddRelationship(r)
	require.NoError(t, err)
	return id
}

// requireSimWire checks the journal: every request carried Prefer and no
// Content-Encoding, and no SDK retry happened.
func requireSimWire(t *testing.T, sim *graphsim.Sim) {
	t.Helper()
	for _, e := range sim.Journal() {
		require.Equal(t, "include-unknown-enum-members", e.Headers["Prefer"], "%s %s", e.Method, e.Path)
		require.Empty(t, e.Headers["Content-Encoding"], "%s %s", e.Method, e.Path)
		require.Empty(t, e.Headers["Retry-Attempt"], "%s %s", e.Method, e.Path)
		require.NotEqual(t, http.StatusUnauthorized, e.Status, "%s %s", e.Method, e.Path)
	}
}

func TestSimGetAndPatchCreated(t *testing.T) {
	t.Parallel()
	b := setupSim(t, graphsim.Options{})
	id := b.add(t, gdap.Relationship{DisplayName: "Created one", Duration: "P730D"})

	rel, err := b.client.GetRelationship(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, gdap.StatusCreated, rel.Status)
	require.Equal(t, "P730D", rel.Duration)
	require.Equal(t, gdap.AutoExtendOff, rel.AutoExtendDuration)
	require.NotEmpty(t, rel.ETag)
	require.True(t, rel.ActivatedDateTime.IsZero())

	res, err := b.client.PatchRelationship(t.Context(), id, rel.ETag, gdap.Changes{
		DisplayName:        ptr("Renamed one"),
		Duration:           ptr("P14D"),
		AutoExtendDuration: ptr("PT0S"),
		Customer:           &gdap.Customer{TenantID: tenantID, DisplayName: "Contoso"},
		UnifiedRoles:       []string{roleUser},
	})
	require.NoError(t, err)
	require.False(t, res.Accepted())
	require.NotNil(t, res.Relationship)
	got := *res.Relationship
	require.Equal(t, "Renamed one", got.DisplayName)
	require.Equal(t, "P14D", got.Duration)
	require.Equal(t, gdap.AutoExtendOff, got.AutoExtendDuration)
	require.Equal(t, []string{roleUser}, got.UnifiedRoles)
	require.Equal(t, tenantID, got.Customer.TenantID)
	require.NotEqual(t, rel.ETag, got.ETag)

	// The stale etag is refused with 412.
	_, err = b.client.PatchRelationship(t.Context(), id, rel.ETag, gdap.Changes{DisplayName: ptr("Again")})
	ue := mustUpstream(t, err)
	require.Equal(t, http.StatusPreconditionFailed, ue.StatusCode)
	require.NotEmpty(t, ue.Code)
	require.NotEmpty(t, ue.RequestID)
	require.False(t, ue.Transient())

	// The wire carried exactly the strings given.
	var patches []graphsim.JournalEntry
	for _, e := range b.sim.Journal() {
		if e.Method == http.MethodPatch {
			patches = append(patches, e)
		}
	}
	require.Len(t, patches, 2)
	require.Contains(t, patches[0].Body, `"autoExtendDuration":"PT0S"`)
	require.Contains(t, patches[0].Body, `"duration":"P14D"`)
	require.Equal(t, rel.ETag, patches[0].Headers["If-Match"])
	requireSimWire(t, b.sim)
}

func TestSimPatchActiveAutoExtend(t *testing.T) {
	t.Parallel()
	b := setupSim(t, graphsim.Options{})
	id := b.add(t, gdap.Relationship{DisplayName: "Active one", Status: gdap.StatusActive, Duration: "P730D"})

	rel, err := b.client.GetRelationship(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, gdap.StatusActive, rel.Status)
	require.Equal(t, simStart, rel.ActivatedDateTime)
	require.Equal(t, simStart.AddDate(0, 0, 730), rel.EndDateTime)

	res, err := b.client.PatchRelationship(t.Context(), id, rel.ETag, gdap.Changes{AutoExtendDuration: ptr(gdap.AutoExtendOn)})
	require.NoError(t, err)
	require.NotNil(t, res.Relationship)
	require.Equal(t, gdap.AutoExtendOn, res.Relationship.AutoExtendDuration)

	res, err = b.client.PatchRelationship(t.Context(), id, res.Relationship.ETag, gdap.Changes{AutoExtendDuration: ptr(gdap.AutoExtendOff)})
	require.NoError(t, err)
	require.NotNil(t, res.Relationship)
	require.Equal(t, gdap.AutoExtendOff, res.Relationship.AutoExtendDuration)

	// displayName may not change while active.
	_, err = b.client.PatchRelationship(t.Context(), id, res.Relationship.ETag, gdap.Changes{DisplayName: ptr("Nope")})
	ue := mustUpstream(t, err)
	require.Equal(t, http.StatusBadRequest, ue.StatusCode)
	requireSimWire(t, b.sim)
}

func TestSimRemoveGlobalAdmin(t *testing.T) {
	t.Parallel()
	b := setupSim(t, graphsim.Options{})
	id := b.add(t, gdap.Relationship{
		DisplayName: "GA one", Status: gdap.StatusActive,
		UnifiedRoles: []string{gdap.GlobalAdminRoleID, roleUser},
	})
	rel, err := b.client.GetRelationship(t.Context(), id)
	require.NoError(t, err)
	require.True(t, rel.HasGlobalAdmin())

	res, err := b.client.PatchRelationship(t.Context(), id, rel.ETag, gdap.Changes{
		UnifiedRoles: gdap.WithoutRole(rel.UnifiedRoles, gdap.GlobalAdminRoleID),
	})
	require.NoError(t, err)
	require.True(t, res.Accepted())
	require.Nil(t, res.Relationship)
	require.True(t, strings.HasPrefix(res.OperationURL, b.srv.URL+"/beta/tenantRelationships/delegatedAdminRelationships/"+id+"/operations/"), res.OperationURL)
	require.Equal(t, time.Duration(graphsim.RetryAfterDefault)*time.Second, res.RetryAfter)

	op, err := b.client.GetOperation(t.Context(), res.OperationURL)
	require.NoError(t, err)
	require.Equal(t, "delegatedAdminRelationshipUpdate", op.OperationType)
	require.Contains(t, []string{gdap.OperationNotStarted, gdap.OperationRunning}, op.Status)

	// The operation is also found by listing (recovery after a lost 202).
	ops, err := b.client.ListOperations(t.Context(), id)
	require.NoError(t, err)
	require.Len(t, ops, 1)
	require.Equal(t, op.ID, ops[0].ID)
	require.Equal(t, res.OperationURL, b.client.OperationURL(id, ops[0].ID))

	// Poll as the engine would: advance the virtual clock by Retry-After.
	for range 10 {
		if op.Status == gdap.OperationSucceeded || op.Status == gdap.OperationFailed {
			break
		}
		_, err = b.sim.Advance(res.RetryAfter)
		require.NoError(t, err)
		op, err = b.client.GetOperation(t.Context(), res.OperationURL)
		require.NoError(t, err)
	}
	require.Equal(t, gdap.OperationSucceeded, op.Status)

	after, err := b.client.GetRelationship(t.Context(), id)
	require.NoError(t, err)
	require.False(t, after.HasGlobalAdmin())
	require.Equal(t, []string{roleUser}, after.UnifiedRoles)
	require.NotEqual(t, rel.ETag, after.ETag)
	requireSimWire(t, b.sim)
}

func TestSimRequestsLifecycle(t *testing.T) {
	t.Parallel()
	b := setupSim(t, graphsim.Options{})
	id := b.add(t, gdap.Relationship{DisplayName: "Lock me"})

	req, err := b.client.CreateRequest(t.Context(), id, gdap.ActionLockForApproval)
	require.NoError(t, err)
	require.Equal(t, gdap.ActionLockForApproval, req.Action)
	require.Equal(t, gdap.RequestCreated, req.Status)
	require.NotEmpty(t, req.ID)

	// A second request while the first is in flight conflicts.
	_, err = b.client.CreateRequest(t.Context(), id, gdap.ActionLockForApproval)
	ue := mustUpstream(t, err)
	require.Equal(t, http.StatusConflict, ue.StatusCode)
	require.NotEmpty(t, ue.Code)

	for range 10 {
		if req.Status == gdap.RequestSucceeded || req.Status == gdap.RequestFailed {
			break
		}
		_, err = b.sim.Advance(5 * time.Second)
		require.NoError(t, err)
		req, err = b.client.GetRequest(t.Context(), id, req.ID)
		require.NoError(t, err)
	}
	require.Equal(t, gdap.RequestSucceeded, req.Status)

	rel, err := b.client.GetRelationship(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, gdap.StatusApprovalPending, rel.Status)

	list, err := b.client.ListRequests(t.Context(), id)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, req.ID, list[0].ID)
	require.Equal(t, gdap.RequestSucceeded, list[0].Status)

	// lockForApproval is not valid any more.
	_, err = b.client.CreateRequest(t.Context(), id, gdap.ActionLockForApproval)
	ue = mustUpstream(t, err)
	require.Equal(t, http.StatusBadRequest, ue.StatusCode)
	requireSimWire(t, b.sim)
}

func TestSimResellerReject(t *testing.T) {
	t.Parallel()
	b := setupSim(t, graphsim.Options{})
	id := b.add(t, gdap.Relationship{
		DisplayName: "Reseller one", Status: gdap.StatusApprovalPending,
		IsReseller: true, IndirectProviderTenantID: "0e5ddb2e-2e4a-4e0a-9d59-8f2f9c9a5a11", IsPartnerConsentPending: true,
		Customer: gdap.Customer{TenantID: tenantID, DisplayName: "Contoso"},
	})
	rel, err := b.client.GetRelationship(t.Context(), id)
	require.NoError(t, err)
	require.True(t, rel.IsReseller)
	require.True(t, rel.IsPartnerConsentPending)
	require.Equal(t, "0e5ddb2e-2e4a-4e0a-9d59-8f2f9c9a5a11", rel.IndirectProviderTenantID)

	req, err := b.client.CreateRequest(t.Context(), id, gdap.ActionReject)
	require.NoError(t, err)
	require.Equal(t, gdap.ActionReject, req.Action, "Prefer: include-unknown-enum-members must be sent")
	requireSimWire(t, b.sim)
}

func TestSimListWalk(t *testing.T) {
	t.Parallel()
	b := setupSim(t, graphsim.Options{})
	sum := b.sim.Seed(graphsim.SeedOptions{Count: 23, Seed: 7})
	require.Equal(t, 23, sum.Count)

	seen := map[string]bool{}
	pages := 0
	next := ""
	for {
		page, err := b.client.ListRelationships(t.Context(), next, 5)
		require.NoError(t, err)
		pages++
		for _, r := range page.Relationships {
			require.False(t, seen[r.ID], "duplicate %s", r.ID)
			seen[r.ID] = true
			require.NotEmpty(t, r.ETag)
			require.NotEmpty(t, r.Status)
			require.NotEmpty(t, r.Duration)
			require.NotEmpty(t, r.AutoExtendDuration)
			require.NotEqual(t, "P", r.AutoExtendDuration)
		}
		if page.NextLink == "" {
			break
		}
		require.LessOrEqual(t, len(page.Relationships), 5)
		next = page.NextLink
		require.Less(t, pages, 20)
	}
	require.Len(t, seen, 23)
	require.Equal(t, 5, pages)
	requireSimWire(t, b.sim)
}

func TestSimFaults(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		fault      graphsim.Fault
		wantStatus int
		wantRetry  time.Duration
	}{
		{"throttled", graphsim.Fault{Route: graphsim.RouteRelationship, Kind: graphsim.FaultThrottle, Times: 1, RetryAfter: 30}, http.StatusTooManyRequests, 30 * time.Second},
		{"unavailable", graphsim.Fault{Route: graphsim.RouteRelationship, Kind: graphsim.FaultUnavailable, Times: 1, RetryAfter: 4}, http.StatusServiceUnavailable, 4 * time.Second},
		{"internal", graphsim.Fault{Route: graphsim.RouteRelationship, Kind: graphsim.FaultInternal, Times: 1}, http.StatusInternalServerError, 0},
		{"reset", graphsim.Fault{Route: graphsim.RouteRelationship, Kind: graphsim.FaultReset, Times: 1}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupSim(t, graphsim.Options{})
			id := b.add(t, gdap.Relationship{DisplayName: "Faulty", Status: gdap.StatusActive})
			rel, err := b.client.GetRelationship(t.Context(), id)
			require.NoError(t, err)
			require.NoError(t, b.sim.AddFault(tt.fault))

			_, err = b.client.PatchRelationship(t.Context(), id, rel.ETag, gdap.Changes{AutoExtendDuration: ptr(gdap.AutoExtendOn)})
			ue := mustUpstream(t, err)
			require.Equal(t, upstream.ServiceGraph, ue.Service)
			require.Equal(t, tt.wantStatus, ue.StatusCode)
			require.Equal(t, tt.wantRetry, ue.RetryAfter)
			require.True(t, ue.Transient())
			require.Len(t, b.sim.Journal(), 2, "no SDK retry")

			// The fault is spent: the same write now succeeds.
			res, err := b.client.PatchRelationship(t.Context(), id, rel.ETag, gdap.Changes{AutoExtendDuration: ptr(gdap.AutoExtendOn)})
			require.NoError(t, err)
			require.Equal(t, gdap.AutoExtendOn, res.Relationship.AutoExtendDuration)
			requireSimWire(t, b.sim)
		})
	}
}

func TestSimNotFound(t *testing.T) {
	t.Parallel()
	b := setupSim(t, graphsim.Options{})
	_, err := b.client.GetRelationship(t.Context(), "00000000-0000-0000-0000-000000000000-00000000-0000-0000-0000-000000000000")
	ue := mustUpstream(t, err)
	require.Equal(t, http.StatusNotFound, ue.StatusCode)
	require.NotEmpty(t, ue.Code)
	require.NotEmpty(t, ue.RequestID)
}

func TestSimETagRace(t *testing.T) {
	t.Parallel()
	b := setupSim(t, graphsim.Options{})
	id := b.add(t, gdap.Relationship{DisplayName: "Racy", Status: gdap.StatusActive})
	require.NoError(t, b.sim.AddFault(graphsim.Fault{Route: graphsim.RouteRelationship, Method: http.MethodGet, Kind: graphsim.FaultETagRace, Times: 1}))

	rel, err := b.client.GetRelationship(t.Context(), id)
	require.NoError(t, err)
	_, err = b.client.PatchRelationship(t.Context(), id, rel.ETag, gdap.Changes{AutoExtendDuration: ptr(gdap.AutoExtendOn)})
	ue := mustUpstream(t, err)
	require.Equal(t, http.StatusPreconditionFailed, ue.StatusCode)

	// Re-read and retry with the fresh etag, as the engine does.
	rel, err = b.client.GetRelationship(t.Context(), id)
	require.NoError(t, err)
	res, err := b.client.PatchRelationship(t.Context(), id, rel.ETag, gdap.Changes{AutoExtendDuration: ptr(gdap.AutoExtendOn)})
	require.NoError(t, err)
	require.Equal(t, gdap.AutoExtendOn, res.Relationship.AutoExtendDuration)
	for _, e := range b.sim.Journal() {
		if e.Method == http.MethodPatch {
			require.True(t, strings.HasPrefix(e.Headers["Content-Type"], "application/json"), e.Headers["Content-Type"])
		}
	}
	requireSimWire(t, b.sim)
}
