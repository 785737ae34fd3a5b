package graphapi_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/graphapi"
)

const roleHelpdesk = "729827e3-9c14-49f7-bb1b-9608f156bbb8"

func TestSimCreateRelationship(t *testing.T) {
	t.Parallel()
	valid := func(mod func(*gdap.NewRelationship)) gdap.NewRelationship {
		nr := gdap.NewRelationship{DisplayName: "Contoso onboarding", Duration: "P730D", UnifiedRoles: []string{roleUser}}
		if mod != nil {
			mod(&nr)
		}
		return nr
	}
	tests := []struct {
		name       string
		in         gdap.NewRelationship
		wantStatus int   // 0: success
		wantErr    error // a refusal before sending
		check      func(t *testing.T, rel gdap.Relationship)
	}{
		{name: "open invitation", in: valid(nil), check: func(t *testing.T, rel gdap.Relationship) {
			require.Equal(t, gdap.StatusCreated, rel.Status)
			require.Empty(t, rel.Customer.TenantID)
			require.Equal(t, "P730D", rel.Duration)
			require.Equal(t, gdap.AutoExtendOff, rel.AutoExtendDuration)
			require.Equal(t, []string{roleUser}, rel.UnifiedRoles)
			require.Equal(t, simStart, rel.CreatedDateTime)
			require.NotEmpty(t, rel.ETag)
		}},
		{name: "customer and auto-extend", in: valid(func(nr *gdap.NewRelationship) {
			nr.Customer = &gdap.Customer{TenantID: tenantID, DisplayName: "Contoso"}
			nr.AutoExtendDuration = gdap.AutoExtendOn
			nr.Duration = "P1D"
		}), check: func(t *testing.T, rel gdap.Relationship) {
			require.Equal(t, tenantID, rel.Customer.TenantID)
			require.Equal(t, gdap.AutoExtendOn, rel.AutoExtendDuration)
			require.Equal(t, "P1D", rel.Duration)
		}},
		{name: "P2Y is the longest", in: valid(func(nr *gdap.NewRelationship) { nr.Duration = "P2Y" })},
		{name: "name taken, other case", in: valid(func(nr *gdap.NewRelationship) { nr.DisplayName = "TAKEN name" }), wantStatus: http.StatusConflict},
		{name: "name of 51 characters", in: valid(func(nr *gdap.NewRelationship) { nr.DisplayName = strings.Repeat("n", 51) }), wantStatus: http.StatusBadRequest},
		{name: "duration over P2Y", in: valid(func(nr *gdap.NewRelationship) { nr.Duration = "P731D" }), wantStatus: http.StatusBadRequest},
		{name: "duration under P1D", in: valid(func(nr *gdap.NewRelationship) { nr.Duration = "PT1H" }), wantStatus: http.StatusBadRequest},
		{name: "Global Administrator with P180D", in: valid(func(nr *gdap.NewRelationship) {
			nr.UnifiedRoles = []string{gdap.GlobalAdminRoleID}
			nr.AutoExtendDuration = gdap.AutoExtendOn
		}), wantStatus: http.StatusBadRequest},
		{name: "no roles", in: valid(func(nr *gdap.NewRelationship) { nr.UnifiedRoles = nil }), wantErr: graphapi.ErrInvalidArgument},
		{name: "no name", in: valid(func(nr *gdap.NewRelationship) { nr.DisplayName = " " }), wantErr: graphapi.ErrInvalidArgument},
		{name: "no duration", in: valid(func(nr *gdap.NewRelationship) { nr.Duration = "" }), wantErr: graphapi.ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupSim(t, graphsim.Options{})
			b.add(t, gdap.Relationship{DisplayName: "Taken Name"})
			rel, err := b.client.CreateRelationship(t.Context(), tt.in)
			switch {
			case tt.wantErr != nil:
				require.ErrorIs(t, err, tt.wantErr)
				require.Empty(t, b.sim.Journal(), "nothing sent")
				return
			case tt.wantStatus != 0:
				ue := mustUpstream(t, err)
				require.Equal(t, tt.wantStatus, ue.StatusCode)
				require.NotEmpty(t, ue.Code)
				require.False(t, ue.Transient())
				require.Equal(t, 1, b.sim.Len())
				return
			}
			require.NoError(t, err)
			stored, ok := b.sim.Relationship(rel.ID)
			require.True(t, ok)
			require.Equal(t, stored.ETag, rel.ETag)
			require.Equal(t, tt.in.DisplayName, rel.DisplayName)
			if tt.check != nil {
				tt.check(t, rel)
			}
			requireSimWire(t, b.sim)
		})
	}
}

func TestSimDeleteRelationship(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     string
		etag       func(rel gdap.Relationship) string
		id         string
		wantStatus int
	}{
		{name: "created", status: gdap.StatusCreated},
		{name: "stale etag", status: gdap.StatusCreated, etag: func(gdap.Relationship) string { return `W/"stale"` }, wantStatus: http.StatusPreconditionFailed},
		{name: "approvalPending", status: gdap.StatusApprovalPending, wantStatus: http.StatusBadRequest},
		{name: "active", status: gdap.StatusActive, wantStatus: http.StatusBadRequest},
		{name: "unknown", status: gdap.StatusCreated, id: "00000000-0000-0000-0000-000000000000-00000000-0000-0000-0000-000000000000", wantStatus: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupSim(t, graphsim.Options{})
			id := b.add(t, gdap.Relationship{Status: tt.status})
			rel, err := b.client.GetRelationship(t.Context(), id)
			require.NoError(t, err)
			etag := rel.ETag
			if tt.etag != nil {
				etag = tt.etag(rel)
			}
			target := id
			if tt.id != "" {
				target = tt.id
			}
			err = b.client.DeleteRelationship(t.Context(), target, etag)
			if tt.wantStatus != 0 {
				require.Equal(t, tt.wantStatus, mustUpstream(t, err).StatusCode)
				require.Equal(t, 1, b.sim.Len())
				return
			}
			require.NoError(t, err)
			_, err = b.client.GetRelationship(t.Context(), id)
			require.Equal(t, http.StatusNotFound, mustUpstream(t, err).StatusCode)
			require.ErrorIs(t, b.client.DeleteRelationship(t.Context(), id, ""), graphapi.ErrInvalidArgument)
			requireSimWire(t, b.sim)
		})
	}
}

func TestSimFindRelationshipsByName(t *testing.T) {
	t.Parallel()
	names := []string{"Tom and Jerry", "O'Brien & Sons + co #1", "Contoso", "Contoso 2", "Tom"}
	tests := []struct {
		find string
		want []string
	}{
		{"Tom and Jerry", []string{"Tom and Jerry"}},
		{"O'Brien & Sons + co #1", []string{"O'Brien & Sons + co #1"}},
		{"contoso", []string{"Contoso"}}, // case-insensitive, like uniqueness
		{"Contoso 3", nil},
		{"Tom", []string{"Tom"}},
	}
	b := setupSim(t, graphsim.Options{PageSize: 2})
	for _, n := range names {
		b.add(t, gdap.Relationship{DisplayName: n})
	}
	for _, tt := range tests {
		t.Run(tt.find, func(t *testing.T) {
			got, err := b.client.FindRelationshipsByName(t.Context(), tt.find)
			require.NoError(t, err)
			var gotNames []string
			for _, r := range got {
				gotNames = append(gotNames, r.DisplayName)
				require.NotEmpty(t, r.ETag)
			}
			require.Equal(t, tt.want, gotNames)
		})
	}
	_, err := b.client.FindRelationshipsByName(t.Context(), "")
	require.ErrorIs(t, err, graphapi.ErrInvalidArgument)
	requireSimWire(t, b.sim)
}

// A customer with relationships in every status, loaded through fixtures,
// listed across pages; other customers' relationships stay out.
func TestSimListCustomerRelationships(t *testing.T) {
	t.Parallel()
	statuses := []string{
		gdap.StatusCreated, gdap.StatusApprovalPending, gdap.StatusApproved, gdap.StatusActivating,
		gdap.StatusActive, gdap.StatusExpiring, gdap.StatusExpired, gdap.StatusTerminationRequested,
		gdap.StatusTerminating, gdap.StatusTerminated,
	}
	var fx graphsim.Fixtures
	for i, st := range statuses {
		fx.Relationships = append(fx.Relationships,
			graphsim.FixtureRelationship{DisplayName: "Contoso " + st, Status: st,
				Customer: &graphsim.FixtureCustomer{TenantID: strings.ToUpper(tenantID), DisplayName: "Contoso"}},
			graphsim.FixtureRelationship{DisplayName: "Other " + string(rune('a'+i)), Status: st,
				Customer: &graphsim.FixtureCustomer{TenantID: "9e0c1f2a-3b4c-4d5e-8f60-718293a4b5c6"}})
	}
	b := setupSim(t, graphsim.Options{PageSize: 3})
	ids, err := b.sim.LoadFixtures(fixtureReader(t, fx))
	require.NoError(t, err)
	require.Len(t, ids, 2*len(statuses))

	got, err := b.client.ListCustomerRelationships(t.Context(), tenantID)
	require.NoError(t, err)
	byStatus := map[string]int{}
	for _, r := range got {
		require.Equal(t, tenantID, r.Customer.TenantID)
		byStatus[r.Status]++
	}
	require.Len(t, got, len(statuses))
	for _, st := range statuses {
		require.Equal(t, 1, byStatus[st], st)
	}
	require.Len(t, b.sim.Journal(), 4, "10 relationships in pages of 3")

	none, err := b.client.ListCustomerRelationships(t.Context(), "00000000-0000-4000-8000-000000000000")
	require.NoError(t, err)
	require.Empty(t, none)
	_, err = b.client.ListCustomerRelationships(t.Context(), "")
	require.True(t, errors.Is(err, graphapi.ErrInvalidArgument))
	requireSimWire(t, b.sim)
}

// The customer declines the invitation: the relationship ends (status
// assumed terminated, docs/platform/graph-facts.md §1.3).
func TestSimRejectedInvitation(t *testing.T) {
	t.Parallel()
	b := setupSim(t, graphsim.Options{})
	rel, err := b.client.CreateRelationship(t.Context(), gdap.NewRelationship{DisplayName: "Declined", Duration: "P30D", UnifiedRoles: []string{roleUser}})
	require.NoError(t, err)
	_, err = b.client.CreateRequest(t.Context(), rel.ID, gdap.ActionLockForApproval)
	require.NoError(t, err)
	require.ErrorIs(t, b.sim.Reject(rel.ID), graphsim.ErrInvalidState, "not yet approvalPending")
	_, err = b.sim.Advance(time.Minute)
	require.NoError(t, err)
	require.NoError(t, b.sim.Reject(rel.ID))
	got, err := b.client.GetRelationship(t.Context(), rel.ID)
	require.NoError(t, err)
	require.Equal(t, gdap.StatusTerminated, got.Status)
	require.Equal(t, b.sim.Now(), got.EndDateTime)
	require.ErrorIs(t, b.sim.Reject("nope"), graphsim.ErrNotFound)
}
