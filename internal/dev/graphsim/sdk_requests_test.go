package graphsim_test

import (
	"strings"
	"testing"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/tenantrelationships"
	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

func actionBody(a models.DelegatedAdminRelationshipRequestAction) models.DelegatedAdminRelationshipRequestable {
	q := models.NewDelegatedAdminRelationshipRequest()
	q.SetAction(&a)
	return q
}

func preferHeaders() *abstractions.RequestHeaders {
	h := abstractions.NewRequestHeaders()
	h.Add("Prefer", "include-unknown-enum-members")
	return h
}

// Rules 25–29 through the SDK: request lifecycle and relationship transitions.
func TestSDKRequests(t *testing.T) {
	t.Parallel()
	type step struct {
		advance time.Duration
		req     models.DelegatedAdminRelationshipRequestStatus
		rel     string
	}
	tests := []struct {
		name     string
		opts     graphsim.Options
		rel      gdap.Relationship
		action   models.DelegatedAdminRelationshipRequestAction
		failNext bool
		status   int // expected error status of the POST
		steps    []step
		check    func(t *testing.T, b *testBundle, id string)
	}{
		{name: "lockForApproval on created", rel: gdap.Relationship{Status: gdap.StatusCreated},
			action: models.LOCKFORAPPROVAL_DELEGATEDADMINRELATIONSHIPREQUESTACTION, steps: []step{
				{0, models.CREATED_DELEGATEDADMINRELATIONSHIPREQUESTSTATUS, gdap.StatusCreated},
				{2 * time.Second, models.PENDING_DELEGATEDADMINRELATIONSHIPREQUESTSTATUS, gdap.StatusCreated},
				{10 * time.Second, models.SUCCEEDED_DELEGATEDADMINRELATIONSHIPREQUESTSTATUS, gdap.StatusApprovalPending},
			}},
		{name: "lockForApproval scripted failure", rel: gdap.Relationship{Status: gdap.StatusCreated}, failNext: true,
			action: models.LOCKFORAPPROVAL_DELEGATEDADMINRELATIONSHIPREQUESTACTION, steps: []step{
				{12 * time.Second, models.FAILED_DELEGATEDADMINRELATIONSHIPREQUESTSTATUS, gdap.StatusCreated},
			}},
		{name: "lockForApproval on active → 400", rel: gdap.Relationship{Status: gdap.StatusActive},
			action: models.LOCKFORAPPROVAL_DELEGATEDADMINRELATIONSHIPREQUESTACTION, status: 400},
		{name: "terminate on created → 409 when configured", opts: graphsim.Options{InvalidStateStatus: 409},
			rel: gdap.Relationship{Status: gdap.StatusCreated}, action: models.TERMINATE_DELEGATEDADMINRELATIONSHIPREQUESTACTION, status: 409},
		{name: "terminate on active", rel: gdap.Relationship{Status: gdap.StatusActive},
			action: models.TERMINATE_DELEGATEDADMINRELATIONSHIPREQUESTACTION, steps: []step{
				{0, models.CREATED_DELEGATEDADMINRELATIONSHIPREQUESTSTATUS, gdap.StatusTerminationRequested},
				{2 * time.Second, models.PENDING_DELEGATEDADMINRELATIONSHIPREQUESTSTATUS, gdap.StatusTerminating},
				{10 * time.Second, models.SUCCEEDED_DELEGATEDADMINRELATIONSHIPREQUESTSTATUS, gdap.StatusTerminated},
			}, check: func(t *testing.T, b *testBundle, id string) {
				require.Equal(t, t0.Add(12*time.Second), b.rel(t, id).EndDateTime)
			}},
		{name: "terminate failure returns to active", rel: gdap.Relationship{Status: gdap.StatusActive}, failNext: true,
			action: models.TERMINATE_DELEGATEDADMINRELATIONSHIPREQUESTACTION, steps: []step{
				{12 * time.Second, models.FAILED_DELEGATEDADMINRELATIONSHIPREQUESTSTATUS, gdap.StatusActive},
			}},
		{name: "terminate failing after the end date: back to active, then it expires",
			rel: gdap.Relationship{Status: gdap.StatusActive, EndDateTime: t0.Add(5 * time.Second)}, failNext: true,
			action: models.TERMINATE_DELEGATEDADMINRELATIONSHIPREQUESTACTION, steps: []step{
				{12 * time.Second, models.FAILED_DELEGATEDADMINRELATIONSHIPREQUESTSTATUS, gdap.StatusExpiring},
				{time.Minute, models.FAILED_DELEGATEDADMINRELATIONSHIPREQUESTSTATUS, gdap.StatusExpired},
			}},
		{name: "approve on reseller awaiting consent", rel: gdap.Relationship{Status: gdap.StatusApprovalPending, IsReseller: true,
			IndirectProviderTenantID: tenantA, IsPartnerConsentPending: true, Customer: gdap.Customer{TenantID: tenantA}},
			action: models.APPROVE_DELEGATEDADMINRELATIONSHIPREQUESTACTION, steps: []step{
				{12 * time.Second, models.SUCCEEDED_DELEGATEDADMINRELATIONSHIPREQUESTSTATUS, gdap.StatusApproved},
				{30 * time.Second, models.SUCCEEDED_DELEGATEDADMINRELATIONSHIPREQUESTSTATUS, gdap.StatusActivating},
				{30 * time.Second, models.SUCCEEDED_DELEGATEDADMINRELATIONSHIPREQUESTSTATUS, gdap.StatusActive},
			}, check: func(t *testing.T, b *testBundle, id string) {
				r := b.rel(t, id)
				require.False(t, r.IsPartnerConsentPending)
				require.Equal(t, t0.Add(72*time.Second), r.ActivatedDateTime)
				require.Equal(t, r.ActivatedDateTime.AddDate(0, 0, 730), r.EndDateTime)
			}},
		{name: "approve on a direct relationship → 400", rel: gdap.Relationship{Status: gdap.StatusApprovalPending},
			action: models.APPROVE_DELEGATEDADMINRELATIONSHIPREQUESTACTION, status: 400},
		{name: "reject on reseller → terminated", rel: gdap.Relationship{Status: gdap.StatusApprovalPending, IsReseller: true,
			IndirectProviderTenantID: tenantA, IsPartnerConsentPending: true},
			action: models.REJECT_DELEGATEDADMINRELATIONSHIPREQUESTACTION, steps: []step{
				{12 * time.Second, models.SUCCEEDED_DELEGATEDADMINRELATIONSHIPREQUESTSTATUS, gdap.StatusTerminated},
			}, check: func(t *testing.T, b *testBundle, id string) {
				require.False(t, b.rel(t, id).IsPartnerConsentPending)
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tc.opts)
			id := b.addRel(t, tc.rel)
			if tc.failNext {
				require.NoError(t, b.sim.FailNextRequest(id))
			}
			before := b.rel(t, id).ETag
			reqs := b.sdk(t).ByDelegatedAdminRelationshipId(id).Requests()
			hi := khttp.NewHeadersInspectionOptions()
			hi.InspectResponseHeaders = true
			got, err := reqs.Post(t.Context(), actionBody(tc.action),
				&tenantrelationships.DelegatedAdminRelationshipsItemRequestsRequestBuilderPostRequestConfiguration{
					Headers: preferHeaders(), Options: []abstractions.RequestOption{hi}})
			if tc.status != 0 {
				odataErr(t, err, tc.status, graphsim.CodeInvalidState)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.action, *got.GetAction())
			require.Equal(t, []string{b.base + "/tenantRelationships/delegatedAdminRelationships/" + id + "/requests/" + *got.GetId()},
				hi.GetResponseHeaders().Get("Location"))
			for _, st := range tc.steps {
				b.clock.Advance(st.advance)
				q, err := reqs.ByDelegatedAdminRelationshipRequestId(*got.GetId()).Get(t.Context(), nil)
				require.NoError(t, err)
				require.Equal(t, st.req, *q.GetStatus())
				require.Equal(t, st.rel, b.rel(t, id).Status)
			}
			if b.rel(t, id).Status != tc.rel.Status {
				require.NotEqual(t, before, b.rel(t, id).ETag)
			}
			if tc.check != nil {
				tc.check(t, b, id)
			}
		})
	}
}

// Rules 25, 27, 28, 29: request body, conflicts, 405s, evolvable enums.
func TestSDKRequestRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, b *testBundle, item *tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilder, id string)
	}{
		{name: "second request while one is open → 409 (rule 27)", run: func(t *testing.T, b *testBundle, item *tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilder, _ string) {
			_, err := item.Requests().Post(t.Context(), actionBody(models.LOCKFORAPPROVAL_DELEGATEDADMINRELATIONSHIPREQUESTACTION), nil)
			require.NoError(t, err)
			b.clock.Advance(3 * time.Second) // pending
			_, err = item.Requests().Post(t.Context(), actionBody(models.LOCKFORAPPROVAL_DELEGATEDADMINRELATIONSHIPREQUESTACTION), nil)
			odataErr(t, err, 409, graphsim.CodeRequestConflict)
		}},
		{name: "unknown action → 400 (rule 25)", run: func(t *testing.T, _ *testBundle, item *tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilder, _ string) {
			q := models.NewDelegatedAdminRelationshipRequest()
			q.SetAdditionalData(map[string]any{"action": "launch"})
			_, err := item.Requests().Post(t.Context(), q, nil)
			odataErr(t, err, 400, "")
		}},
		{name: "extra property → 400 (rule 25)", run: func(t *testing.T, _ *testBundle, item *tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilder, _ string) {
			q := actionBody(models.LOCKFORAPPROVAL_DELEGATEDADMINRELATIONSHIPREQUESTACTION)
			q.SetAdditionalData(map[string]any{"reason": "x"})
			_, err := item.Requests().Post(t.Context(), q, nil)
			odataErr(t, err, 400, "")
		}},
		{name: "PATCH/DELETE request and POST/PATCH/DELETE operation → 405 (rule 28)", run: func(t *testing.T, b *testBundle, item *tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilder, _ string) {
			got, err := item.Requests().Post(t.Context(), actionBody(models.LOCKFORAPPROVAL_DELEGATEDADMINRELATIONSHIPREQUESTACTION), nil)
			require.NoError(t, err)
			reqItem := item.Requests().ByDelegatedAdminRelationshipRequestId(*got.GetId())
			_, err = reqItem.Patch(t.Context(), actionBody(models.TERMINATE_DELEGATEDADMINRELATIONSHIPREQUESTACTION), nil)
			odataErr(t, err, 405, graphsim.CodeMethodNotAllowed)
			odataErr(t, reqItem.Delete(t.Context(), nil), 405, graphsim.CodeMethodNotAllowed)
			_, err = item.Operations().Post(t.Context(), models.NewDelegatedAdminRelationshipOperation(), nil)
			odataErr(t, err, 405, graphsim.CodeMethodNotAllowed)
			opItem := item.Operations().ByDelegatedAdminRelationshipOperationId("00000000-0000-4000-8000-000000000000")
			_, err = opItem.Patch(t.Context(), models.NewDelegatedAdminRelationshipOperation(), nil)
			odataErr(t, err, 405, graphsim.CodeMethodNotAllowed)
			odataErr(t, opItem.Delete(t.Context(), nil), 405, graphsim.CodeMethodNotAllowed)
		}},
		{name: "requests list in a terminal state (rule 28)", run: func(t *testing.T, b *testBundle, item *tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilder, id string) {
			_, err := item.Requests().Post(t.Context(), actionBody(models.LOCKFORAPPROVAL_DELEGATEDADMINRELATIONSHIPREQUESTACTION), nil)
			require.NoError(t, err)
			b.clock.Advance(time.Minute)
			b.clock.Advance(91 * 24 * time.Hour) // approval lapses
			require.Equal(t, gdap.StatusExpired, b.rel(t, id).Status)
			list, err := item.Requests().Get(t.Context(), nil)
			require.NoError(t, err)
			require.Len(t, list.GetValue(), 1)
		}},
		{name: "reject hidden without Prefer (rule 29)", run: func(t *testing.T, b *testBundle, _ *tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilder, _ string) {
			id := b.addRel(t, gdap.Relationship{DisplayName: "Reseller", Status: gdap.StatusApprovalPending, IsReseller: true,
				IndirectProviderTenantID: tenantA, IsPartnerConsentPending: true})
			reqs := b.sdk(t).ByDelegatedAdminRelationshipId(id).Requests()
			got, err := reqs.Post(t.Context(), actionBody(models.REJECT_DELEGATEDADMINRELATIONSHIPREQUESTACTION), nil)
			require.NoError(t, err)
			require.Equal(t, models.UNKNOWNFUTUREVALUE_DELEGATEDADMINRELATIONSHIPREQUESTACTION, *got.GetAction())
			withPrefer, err := reqs.ByDelegatedAdminRelationshipRequestId(*got.GetId()).Get(t.Context(),
				&tenantrelationships.DelegatedAdminRelationshipsItemRequestsDelegatedAdminRelationshipRequestItemRequestBuilderGetRequestConfiguration{Headers: preferHeaders()})
			require.NoError(t, err)
			require.Equal(t, models.REJECT_DELEGATEDADMINRELATIONSHIPREQUESTACTION, *withPrefer.GetAction())
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, graphsim.Options{})
			id := b.addRel(t, gdap.Relationship{Status: gdap.StatusCreated})
			tc.run(t, b, b.sdk(t).ByDelegatedAdminRelationshipId(id), id)
		})
	}
}

// Rules 29 and 35: operations list/get, data string, operationType rendering.
func TestSDKOperations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		prefer bool
		want   models.DelegatedAdminRelationshipOperationType
	}{
		{name: "without Prefer", want: models.UNKNOWNFUTUREVALUE_DELEGATEDADMINRELATIONSHIPOPERATIONTYPE},
		{name: "with Prefer", prefer: true, want: models.DELEGATEDADMINRELATIONSHIPUPDATE_DELEGATEDADMINRELATIONSHIPOPERATIONTYPE},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, graphsim.Options{})
			id := b.addRel(t, gdap.Relationship{Status: gdap.StatusActive, UnifiedRoles: []string{gdap.GlobalAdminRoleID, roleHelpdesk}})
			item := b.sdk(t).ByDelegatedAdminRelationshipId(id)
			body := models.NewDelegatedAdminRelationship()
			body.SetAccessDetails(accessDetails(roleHelpdesk))
			_, err := item.Patch(t.Context(), body,
				&tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilderPatchRequestConfiguration{Headers: ifMatch(b.rel(t, id).ETag)})
			require.NoError(t, err)
			cfg := &tenantrelationships.DelegatedAdminRelationshipsItemOperationsRequestBuilderGetRequestConfiguration{}
			if tc.prefer {
				cfg.Headers = preferHeaders()
			}
			list, err := item.Operations().Get(t.Context(), cfg)
			require.NoError(t, err)
			require.Len(t, list.GetValue(), 1)
			op := list.GetValue()[0]
			require.Equal(t, tc.want, *op.GetOperationType())
			require.Equal(t, models.NOTSTARTED_LONGRUNNINGOPERATIONSTATUS, *op.GetStatus())
			require.Contains(t, *op.GetData(), `"unifiedRoles":[{"roleDefinitionId":"`+roleHelpdesk+`"}]`)
			_, err = item.Operations().ByDelegatedAdminRelationshipOperationId("00000000-0000-4000-8000-000000000000").Get(t.Context(), nil)
			odataErr(t, err, 404, graphsim.CodeItemNotFound)
		})
	}
}

// Rules 32–34 through the SDK: access assignments.
func TestSDKAccessAssignments(t *testing.T) {
	t.Parallel()
	newAA := func(group string, roles ...string) models.DelegatedAdminAccessAssignmentable {
		a := models.NewDelegatedAdminAccessAssignment()
		c := models.NewDelegatedAdminAccessContainer()
		c.SetAccessContainerId(&group)
		c.SetAccessContainerType(ptr(models.SECURITYGROUP_DELEGATEDADMINACCESSCONTAINERTYPE))
		a.SetAccessContainer(c)
		a.SetAccessDetails(accessDetails(roles...))
		return a
	}
	tests := []struct {
		name      string
		relStatus string
		run       func(t *testing.T, b *testBundle, item *tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilder)
	}{
		{name: "create on active → pending → active (rule 32)", relStatus: gdap.StatusActive, run: func(t *testing.T, b *testBundle, item *tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilder) {
			got, err := item.AccessAssignments().Post(t.Context(), newAA(groupA, roleHelpdesk), nil)
			require.NoError(t, err)
			require.Equal(t, models.PENDING_DELEGATEDADMINACCESSASSIGNMENTSTATUS, *got.GetStatus())
			b.clock.Advance(10 * time.Second)
			got, err = item.AccessAssignments().ByDelegatedAdminAccessAssignmentId(*got.GetId()).Get(t.Context(), nil)
			require.NoError(t, err)
			require.Equal(t, models.ACTIVE_DELEGATEDADMINACCESSASSIGNMENTSTATUS, *got.GetStatus())
		}},
		{name: "create on created relationship → 400", relStatus: gdap.StatusCreated, run: func(t *testing.T, _ *testBundle, item *tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilder) {
			_, err := item.AccessAssignments().Post(t.Context(), newAA(groupA, roleHelpdesk), nil)
			odataErr(t, err, 400, "")
		}},
		{name: "roles not a subset → 400", relStatus: gdap.StatusActive, run: func(t *testing.T, _ *testBundle, item *tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilder) {
			_, err := item.AccessAssignments().Post(t.Context(), newAA(groupA, gdap.GlobalAdminRoleID), nil)
			odataErr(t, err, 400, "")
		}},
		{name: "empty roles → 400", relStatus: gdap.StatusActive, run: func(t *testing.T, _ *testBundle, item *tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilder) {
			_, err := item.AccessAssignments().Post(t.Context(), newAA(groupA), nil)
			odataErr(t, err, 400, "")
		}},
		{name: "second assignment for the group → 409", relStatus: gdap.StatusActive, run: func(t *testing.T, _ *testBundle, item *tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilder) {
			_, err := item.AccessAssignments().Post(t.Context(), newAA(groupA, roleHelpdesk), nil)
			require.NoError(t, err)
			_, err = item.AccessAssignments().Post(t.Context(), newAA(strings.ToUpper(groupA), roleUserAdmin), nil)
			odataErr(t, err, 409, graphsim.CodeConflict)
		}},
		{name: "PATCH identical → 200, changed → 202 + operation (rule 33)", relStatus: gdap.StatusActive, run: func(t *testing.T, b *testBundle, item *tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilder) {
			got, err := item.AccessAssignments().Post(t.Context(), newAA(groupA, roleHelpdesk), nil)
			require.NoError(t, err)
			b.clock.Advance(10 * time.Second)
			aa := item.AccessAssignments().ByDelegatedAdminAccessAssignmentId(*got.GetId())
			cur, err := aa.Get(t.Context(), nil)
			require.NoError(t, err)
			etag := etagOf(t, cur)
			body := models.NewDelegatedAdminAccessAssignment()
			body.SetAccessDetails(accessDetails(roleHelpdesk))
			same, err := aa.Patch(t.Context(), body, &tenantrelationships.DelegatedAdminRelationshipsItemAccessAssignmentsDelegatedAdminAccessAssignmentItemRequestBuilderPatchRequestConfiguration{Headers: ifMatch(etag)})
			require.NoError(t, err)
			require.Equal(t, etag, etagOf(t, same))
			_, err = aa.Patch(t.Context(), body, nil)
			odataErr(t, err, 400, "") // If-Match required
			body.SetAccessDetails(accessDetails(roleHelpdesk, roleUserAdmin))
			hi := khttp.NewHeadersInspectionOptions()
			hi.InspectResponseHeaders = true
			_, err = aa.Patch(t.Context(), body, &tenantrelationships.DelegatedAdminRelationshipsItemAccessAssignmentsDelegatedAdminAccessAssignmentItemRequestBuilderPatchRequestConfiguration{
				Headers: ifMatch(etag), Options: []abstractions.RequestOption{hi}})
			require.NoError(t, err)
			require.Len(t, hi.GetResponseHeaders().Get("Location"), 1)
			ops, err := item.Operations().Get(t.Context(), nil)
			require.NoError(t, err)
			require.Equal(t, models.DELEGATEDADMINACCESSASSIGNMENTUPDATE_DELEGATEDADMINRELATIONSHIPOPERATIONTYPE, *ops.GetValue()[0].GetOperationType())
			require.Contains(t, *ops.GetValue()[0].GetData(), roleUserAdmin)
			b.clock.Advance(12 * time.Second)
			after, err := aa.Get(t.Context(), nil)
			require.NoError(t, err)
			require.Len(t, after.GetAccessDetails().GetUnifiedRoles(), 2)
			require.NotEqual(t, etag, etagOf(t, after))
		}},
		{name: "DELETE → 204, deleting → deleted (rule 34)", relStatus: gdap.StatusActive, run: func(t *testing.T, b *testBundle, item *tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilder) {
			got, err := item.AccessAssignments().Post(t.Context(), newAA(groupA, roleHelpdesk), nil)
			require.NoError(t, err)
			aa := item.AccessAssignments().ByDelegatedAdminAccessAssignmentId(*got.GetId())
			odataErr(t, aa.Delete(t.Context(), &tenantrelationships.DelegatedAdminRelationshipsItemAccessAssignmentsDelegatedAdminAccessAssignmentItemRequestBuilderDeleteRequestConfiguration{Headers: ifMatch(`W/"x"`)}), 412, graphsim.CodePreconditionFailed)
			require.NoError(t, aa.Delete(t.Context(), &tenantrelationships.DelegatedAdminRelationshipsItemAccessAssignmentsDelegatedAdminAccessAssignmentItemRequestBuilderDeleteRequestConfiguration{Headers: ifMatch(etagOf(t, got))}))
			cur, err := aa.Get(t.Context(), nil)
			require.NoError(t, err)
			require.Equal(t, models.DELETING_DELEGATEDADMINACCESSASSIGNMENTSTATUS, *cur.GetStatus())
			b.clock.Advance(10 * time.Second)
			cur, err = aa.Get(t.Context(), nil)
			require.NoError(t, err)
			require.Equal(t, models.DELETED_DELEGATEDADMINACCESSASSIGNMENTSTATUS, *cur.GetStatus())
			_, err = item.AccessAssignments().Post(t.Context(), newAA(groupA, roleHelpdesk), nil)
			require.NoError(t, err, "a deleted assignment frees the group")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, graphsim.Options{})
			id := b.addRel(t, gdap.Relationship{Status: tc.relStatus})
			tc.run(t, b, b.sdk(t).ByDelegatedAdminRelationshipId(id))
		})
	}
}
