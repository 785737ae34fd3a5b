package graphsim_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/tenantrelationships"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

// Rule 23 through the SDK: $filter, $top and paging with the core PageIterator.
func TestSDKListPaging(t *testing.T) {
	t.Parallel()
	b := setup(t, graphsim.Options{})
	for i := range 25 {
		st := gdap.StatusActive
		if i%5 == 0 {
			st = gdap.StatusExpired
		}
		cust := gdap.Customer{TenantID: tenantA}
		if i%2 == 1 {
			cust = gdap.Customer{TenantID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i)}
		}
		b.addRel(t, gdap.Relationship{DisplayName: fmt.Sprintf("R%02d", i), Status: st, Customer: cust})
	}
	tests := []struct {
		name   string
		filter string
		top    int32
		want   int
	}{
		{name: "all, pages of 7", top: 7, want: 25},
		{name: "status eq active", filter: "status eq 'active'", top: 4, want: 20},
		{name: "customer/tenantId", filter: "customer/tenantId eq '" + tenantA + "'", top: 300, want: 13},
		{name: "combined with and", filter: "status eq 'active' and customer/tenantId eq '" + tenantA + "'", top: 2, want: 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rb := b.sdk(t)
			qp := &tenantrelationships.DelegatedAdminRelationshipsRequestBuilderGetQueryParameters{Top: &tc.top, Count: ptr(true)}
			if tc.filter != "" {
				qp.Filter = &tc.filter
			}
			first, err := rb.Get(t.Context(), &tenantrelationships.DelegatedAdminRelationshipsRequestBuilderGetRequestConfiguration{QueryParameters: qp})
			require.NoError(t, err)
			require.Equal(t, int64(tc.want), *first.GetOdataCount())
			require.LessOrEqual(t, len(first.GetValue()), int(tc.top))
			it, err := core.NewPageIterator[models.DelegatedAdminRelationshipable](first, rb.RequestAdapter,
				models.CreateDelegatedAdminRelationshipCollectionResponseFromDiscriminatorValue)
			require.NoError(t, err)
			seen := map[string]bool{}
			require.NoError(t, it.Iterate(t.Context(), func(r models.DelegatedAdminRelationshipable) bool {
				require.False(t, seen[*r.GetId()], "duplicate")
				seen[*r.GetId()] = true
				return true
			}))
			require.Len(t, seen, tc.want)
		})
	}
	t.Run("$count endpoint", func(t *testing.T) {
		t.Parallel()
		n, err := b.sdk(t).Count().Get(t.Context(), nil)
		require.NoError(t, err)
		require.Equal(t, int32(25), *n)
	})
}

// Rule 23 over HTTP: validation of query options, $orderby, $select.
func TestHTTPListQueries(t *testing.T) {
	t.Parallel()
	b := setup(t, graphsim.Options{})
	for i := range 10 {
		b.clock.Advance(time.Minute)
		b.addRel(t, gdap.Relationship{DisplayName: fmt.Sprintf("N%d", 9-i), Status: gdap.StatusActive})
	}
	for _, n := range []string{"Tom and Jerry's", "Tom"} {
		b.clock.Advance(time.Minute)
		b.addRel(t, gdap.Relationship{DisplayName: n, Status: gdap.StatusCreated})
	}
	tests := []struct {
		name   string
		query  string
		status int
		check  func(t *testing.T, m map[string]any)
	}{
		{name: "$top=0", query: "$top=0", status: 400},
		{name: "$top=301", query: "$top=301", status: 400},
		{name: "$top=abc", query: "$top=abc", status: 400},
		{name: "$skip unsupported", query: "$skip=2", status: 400},
		{name: "$expand unsupported", query: "$expand=operations", status: 400},
		{name: "$search unsupported", query: "$search=x", status: 400},
		{name: "filter on unsupported property", query: url.Values{"$filter": {"duration eq 'P730D'"}}.Encode(), status: 400},
		{name: "filter on displayName, any case", query: url.Values{"$filter": {"displayName eq 'n3'"}}.Encode(), status: 200, check: func(t *testing.T, m map[string]any) {
			require.Equal(t, []string{"N3"}, namesOf(t, b, m))
		}},
		{name: "filter value holding and and quotes", query: url.Values{"$filter": {"displayName eq 'Tom and Jerry''s' and status eq 'created'"}}.Encode(), status: 200, check: func(t *testing.T, m map[string]any) {
			require.Equal(t, []string{"Tom and Jerry's"}, namesOf(t, b, m))
		}},
		{name: "filter on displayName and status, no match", query: url.Values{"$filter": {"displayName eq 'N3' AND status eq 'created'"}}.Encode(), status: 200, check: func(t *testing.T, m map[string]any) {
			require.Empty(t, namesOf(t, b, m))
		}},
		{name: "filter with unterminated literal", query: url.Values{"$filter": {"displayName eq 'Tom and status eq 'x'"}}.Encode(), status: 400},
		{name: "filter with or", query: url.Values{"$filter": {"status eq 'active' or status eq 'expired'"}}.Encode(), status: 400},
		{name: "filter with invalid status", query: url.Values{"$filter": {"status eq 'sleeping'"}}.Encode(), status: 400},
		{name: "orderby unsupported", query: "$orderby=id", status: 400},
		{name: "select unknown", query: "$select=colour", status: 400},
		{name: "bad skiptoken", query: "$skiptoken=%%%", status: 400},
		{name: "orderby displayName paged", query: url.Values{"$orderby": {"displayName asc"}, "$top": {"3"}}.Encode(), status: 200, check: func(t *testing.T, m map[string]any) {
			names := namesOf(t, b, m)
			require.Equal(t, []string{"N0", "N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8", "N9", "Tom", "Tom and Jerry's"}, names)
		}},
		{name: "orderby createdDateTime desc", query: url.Values{"$orderby": {"createdDateTime desc"}, "$top": {"4"}}.Encode(), status: 200, check: func(t *testing.T, m map[string]any) {
			require.Equal(t, []string{"Tom", "Tom and Jerry's", "N0", "N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8", "N9"}, namesOf(t, b, m))
		}},
		{name: "select", query: "$select=id,status", status: 200, check: func(t *testing.T, m map[string]any) {
			item := m["value"].([]any)[0].(map[string]any)
			require.Contains(t, item, "id")
			require.Contains(t, item, "status")
			require.NotContains(t, item, "displayName")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := b.do(t, rawReq{method: "GET", path: relsPath + "?" + tc.query})
			require.Equal(t, tc.status, resp.status, string(resp.body))
			if tc.check != nil {
				tc.check(t, resp.json(t))
			}
		})
	}
}

// namesOf follows nextLinks from the first page and returns display names.
func namesOf(t *testing.T, b *testBundle, m map[string]any) []string {
	t.Helper()
	var names []string
	for {
		for _, v := range m["value"].([]any) {
			names = append(names, v.(map[string]any)["displayName"].(string))
		}
		next, ok := m["@odata.nextLink"].(string)
		if !ok {
			return names
		}
		resp := b.do(t, rawReq{method: "GET", path: next})
		require.Equal(t, 200, resp.status, string(resp.body))
		m = resp.json(t)
	}
}
