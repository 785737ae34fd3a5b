package graphsim_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	khttp "github.com/microsoft/kiota-http-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/tenantrelationships"
	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

var relIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Rules 7–14 and 22 through the SDK.
func TestSDKCreateRelationship(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   graphsim.Options
		body   func() models.DelegatedAdminRelationshipable
		status int // 0 = success
		code   string
		check  func(t *testing.T, b *testBundle, got models.DelegatedAdminRelationshipable)
	}{
		{name: "valid (rule 13)", body: func() models.DelegatedAdminRelationshipable {
			return newRelBody("Contoso GDAP", roleHelpdesk)
		}, check: func(t *testing.T, b *testBundle, got models.DelegatedAdminRelationshipable) {
			require.Regexp(t, relIDRE, *got.GetId())
			require.Equal(t, models.CREATED_DELEGATEDADMINRELATIONSHIPSTATUS, *got.GetStatus())
			require.Equal(t, t0, *got.GetCreatedDateTime())
			require.Equal(t, t0, *got.GetLastModifiedDateTime())
			require.Nil(t, got.GetActivatedDateTime())
			require.Nil(t, got.GetEndDateTime())
			require.Equal(t, "PT0S", b.rel(t, *got.GetId()).AutoExtendDuration)
			require.Regexp(t, `^W/"[A-Za-z0-9+/=]+"$`, etagOf(t, got))
		}},
		{name: "missing displayName", status: 400, body: func() models.DelegatedAdminRelationshipable {
			r := newRelBody("x", roleHelpdesk)
			r.SetDisplayName(nil)
			return r
		}},
		{name: "displayName of 51 chars", status: 400, body: func() models.DelegatedAdminRelationshipable {
			return newRelBody(strings.Repeat("a", 51), roleHelpdesk)
		}},
		{name: "displayName of 50 chars", body: func() models.DelegatedAdminRelationshipable {
			return newRelBody(strings.Repeat("a", 50), roleHelpdesk)
		}},
		{name: "missing duration", status: 400, body: func() models.DelegatedAdminRelationshipable {
			r := newRelBody("x", roleHelpdesk)
			r.SetDuration(nil)
			return r
		}},
		{name: "P2Y is the maximum (rule 9)", body: rawDuration("P2Y"), check: func(t *testing.T, b *testBundle, got models.DelegatedAdminRelationshipable) {
			require.Equal(t, "P730D", got.GetDuration().String())
		}},
		{name: "PT24H is one day", body: rawDuration("PT24H")},
		{name: "P731D too long", status: 400, body: rawDuration("P731D")},
		{name: "P0D too short", status: 400, body: rawDuration("P0D")},
		{name: "months rejected", status: 400, body: rawDuration("P1M")},
		{name: "partial day rejected", status: 400, body: rawDuration("PT36H")},
		{name: "not a duration", status: 400, body: rawDuration("two years")},
		{name: "no roles", status: 400, body: func() models.DelegatedAdminRelationshipable { return newRelBody("x") }},
		{name: "role not a GUID", status: 400, body: func() models.DelegatedAdminRelationshipable {
			return newRelBody("x", "helpdesk")
		}},
		{name: "duplicate role", status: 400, body: func() models.DelegatedAdminRelationshipable {
			return newRelBody("x", roleHelpdesk, strings.ToUpper(roleHelpdesk))
		}},
		{name: "SDK zero autoExtend P accepted (rule 10)", body: typedAutoExtend(0), check: func(t *testing.T, b *testBundle, got models.DelegatedAdminRelationshipable) {
			require.Equal(t, "PT0S", b.rel(t, *got.GetId()).AutoExtendDuration)
		}},
		{name: "SDK zero autoExtend P refused when configured", opts: graphsim.Options{AcceptSDKZeroDuration: ptr(false)},
			status: 400, body: typedAutoExtend(0)},
		{name: "P180D accepted", body: typedAutoExtend(180)},
		{name: "P90D refused", status: 400, body: typedAutoExtend(90)},
		{name: "P180D with Global Administrator (rule 11)", status: 400, code: graphsim.CodeGlobalAdminAutoExtend,
			body: func() models.DelegatedAdminRelationshipable {
				r := newRelBody("x", gdap.GlobalAdminRoleID)
				d, _ := serialization.ParseISODuration("P180D")
				r.SetAutoExtendDuration(d)
				return r
			}},
		{name: "customer tenantId must be a GUID (rule 12)", status: 400, body: func() models.DelegatedAdminRelationshipable {
			r := newRelBody("x", roleHelpdesk)
			c := models.NewDelegatedAdminRelationshipCustomerParticipant()
			c.SetTenantId(ptr("contoso"))
			r.SetCustomer(c)
			return r
		}},
		{name: "customer accepted", body: func() models.DelegatedAdminRelationshipable {
			r := newRelBody("x", roleHelpdesk)
			c := models.NewDelegatedAdminRelationshipCustomerParticipant()
			c.SetTenantId(ptr(tenantA))
			c.SetDisplayName(ptr("Contoso"))
			r.SetCustomer(c)
			return r
		}, check: func(t *testing.T, b *testBundle, got models.DelegatedAdminRelationshipable) {
			require.Equal(t, tenantA, *got.GetCustomer().GetTenantId())
		}},
		{name: "unknown property (rule 6)", status: 400, body: func() models.DelegatedAdminRelationshipable {
			r := newRelBody("x", roleHelpdesk)
			r.SetAdditionalData(map[string]any{"colour": "blue"})
			return r
		}},
		{name: "unknown property tolerated when lenient", opts: graphsim.Options{AllowUnknownProperties: true},
			body: func() models.DelegatedAdminRelationshipable {
				r := newRelBody("x", roleHelpdesk)
				r.SetAdditionalData(map[string]any{"colour": "blue"})
				return r
			}},
		{name: "@odata.etag tolerated", body: func() models.DelegatedAdminRelationshipable {
			r := newRelBody("x", roleHelpdesk)
			r.SetAdditionalData(map[string]any{"@odata.etag": `W/"abc"`})
			return r
		}},
		{name: "read-only status (rule 22)", status: 400, body: func() models.DelegatedAdminRelationshipable {
			r := newRelBody("x", roleHelpdesk)
			r.SetStatus(ptr(models.ACTIVE_DELEGATEDADMINRELATIONSHIPSTATUS))
			return r
		}},
		{name: "read-only id (rule 22)", status: 400, body: func() models.DelegatedAdminRelationshipable {
			r := newRelBody("x", roleHelpdesk)
			r.SetId(ptr("abc"))
			return r
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tc.opts)
			hi := khttp.NewHeadersInspectionOptions()
			hi.InspectResponseHeaders = true
			got, err := b.sdk(t).Post(t.Context(), tc.body(),
				&tenantrelationships.DelegatedAdminRelationshipsRequestBuilderPostRequestConfiguration{Options: []abstractions.RequestOption{hi}})
			if tc.status != 0 {
				odataErr(t, err, tc.status, tc.code)
				require.Equal(t, 0, b.sim.Len())
				return
			}
			require.NoError(t, err)
			require.Equal(t, []string{b.base + "/tenantRelationships/delegatedAdminRelationships/" + *got.GetId()},
				hi.GetResponseHeaders().Get("Location"))
			if tc.check != nil {
				tc.check(t, b, got)
			}
		})
	}
}

func rawDuration(d string) func() models.DelegatedAdminRelationshipable {
	return func() models.DelegatedAdminRelationshipable {
		r := newRelBody("x", roleHelpdesk)
		r.SetDuration(nil)
		r.SetAdditionalData(map[string]any{"duration": d})
		return r
	}
}

func typedAutoExtend(days int) func() models.DelegatedAdminRelationshipable {
	return func() models.DelegatedAdminRelationshipable {
		r := newRelBody("x", roleHelpdesk)
		r.SetAutoExtendDuration(serialization.NewDuration(0, 0, days, 0, 0, 0, 0))
		return r
	}
}

// Rule 8: unique display names, case-insensitive, any status.
func TestSDKDuplicateDisplayName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   graphsim.Options
		status int
		code   string
	}{
		{name: "default 409", status: 409, code: "nameAlreadyExists"},
		{name: "configured", opts: graphsim.Options{DuplicateNameStatus: 400, DuplicateNameCode: "duplicateName"}, status: 400, code: "duplicateName"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tc.opts)
			b.addRel(t, gdap.Relationship{DisplayName: "Contoso GDAP", Status: gdap.StatusTerminated})
			_, err := b.sdk(t).Post(t.Context(), newRelBody("CONTOSO gdap", roleHelpdesk), nil)
			odataErr(t, err, tc.status, tc.code)
		})
	}
}

// Rules 15–21 through the SDK.
func TestSDKPatchAndDeleteRelationship(t *testing.T) {
	t.Parallel()
	type env struct {
		b    *testBundle
		id   string
		etag string
	}
	patch := func(t *testing.T, e env, body models.DelegatedAdminRelationshipable, etag string) (models.DelegatedAdminRelationshipable, *khttp.HeadersInspectionOptions, error) {
		hi := khttp.NewHeadersInspectionOptions()
		hi.InspectResponseHeaders = true
		cfg := &tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilderPatchRequestConfiguration{
			Options: []abstractions.RequestOption{hi},
		}
		if etag != "" {
			cfg.Headers = ifMatch(etag)
		}
		got, err := e.b.sdk(t).ByDelegatedAdminRelationshipId(e.id).Patch(t.Context(), body, cfg)
		return got, hi, err
	}
	named := func(n string) models.DelegatedAdminRelationshipable {
		r := models.NewDelegatedAdminRelationship()
		r.SetDisplayName(&n)
		return r
	}
	auto := func(days int) models.DelegatedAdminRelationshipable {
		r := models.NewDelegatedAdminRelationship()
		if days == 0 {
			r.SetAdditionalData(map[string]any{"autoExtendDuration": "PT0S"})
		} else {
			r.SetAutoExtendDuration(serialization.NewDuration(0, 0, days, 0, 0, 0, 0))
		}
		return r
	}
	roles := func(ids ...string) models.DelegatedAdminRelationshipable {
		r := models.NewDelegatedAdminRelationship()
		r.SetAccessDetails(accessDetails(ids...))
		return r
	}
	tests := []struct {
		name   string
		opts   graphsim.Options
		status string
		roles  []string
		run    func(t *testing.T, e env)
	}{
		{name: "created: rename → 200, new etag, lastModified (rule 17)", status: gdap.StatusCreated, run: func(t *testing.T, e env) {
			e.b.clock.Advance(time.Minute)
			got, _, err := patch(t, e, named("Renamed"), e.etag)
			require.NoError(t, err)
			require.Equal(t, "Renamed", *got.GetDisplayName())
			require.NotEqual(t, e.etag, etagOf(t, got))
			require.Equal(t, t0.Add(time.Minute), *got.GetLastModifiedDateTime())
		}},
		{name: "created: every field editable", status: gdap.StatusCreated, run: func(t *testing.T, e env) {
			r := newRelBody("All new", roleUserAdmin)
			c := models.NewDelegatedAdminRelationshipCustomerParticipant()
			c.SetTenantId(ptr(tenantA))
			r.SetCustomer(c)
			r.SetAutoExtendDuration(serialization.NewDuration(0, 0, 180, 0, 0, 0, 0))
			got, _, err := patch(t, e, r, e.etag)
			require.NoError(t, err)
			require.Equal(t, "P180D", got.GetAutoExtendDuration().String())
			require.Equal(t, tenantA, *got.GetCustomer().GetTenantId())
		}},
		{name: "created: P180D with GA → 400 (rule 11)", status: gdap.StatusCreated, roles: []string{gdap.GlobalAdminRoleID}, run: func(t *testing.T, e env) {
			_, _, err := patch(t, e, auto(180), e.etag)
			odataErr(t, err, 400, graphsim.CodeGlobalAdminAutoExtend)
		}},
		{name: "missing If-Match → 400 (rule 16)", status: gdap.StatusCreated, run: func(t *testing.T, e env) {
			_, _, err := patch(t, e, named("Renamed"), "")
			odataErr(t, err, 400, "")
		}},
		{name: "missing If-Match → 428 when configured", opts: graphsim.Options{MissingIfMatchStatus: 428}, status: gdap.StatusCreated, run: func(t *testing.T, e env) {
			_, _, err := patch(t, e, named("Renamed"), "")
			odataErr(t, err, 428, "")
		}},
		{name: "stale If-Match → 412", status: gdap.StatusCreated, run: func(t *testing.T, e env) {
			_, _, err := patch(t, e, named("Renamed"), `W/"JyJzdGFsZSIn"`)
			odataErr(t, err, 412, graphsim.CodePreconditionFailed)
			inner := err.(*odataerrors.ODataError).GetErrorEscaped().GetInnerError()
			require.Equal(t, graphsim.CodeEntityTagDoesNotMatch, *inner.GetAdditionalData()["code"].(*string))
		}},
		{name: "wildcard If-Match → 412", status: gdap.StatusCreated, run: func(t *testing.T, e env) {
			_, _, err := patch(t, e, named("Renamed"), "*")
			odataErr(t, err, 412, graphsim.CodePreconditionFailed)
		}},
		{name: "active: displayName → 400 (rule 18)", status: gdap.StatusActive, run: func(t *testing.T, e env) {
			_, _, err := patch(t, e, named("Renamed"), e.etag)
			odataErr(t, err, 400, "")
		}},
		{name: "active: autoExtend → 200", status: gdap.StatusActive, run: func(t *testing.T, e env) {
			got, _, err := patch(t, e, auto(180), e.etag)
			require.NoError(t, err)
			require.Equal(t, "P180D", got.GetAutoExtendDuration().String())
			got, _, err = patch(t, env{e.b, e.id, etagOf(t, got)}, auto(0), etagOf(t, got))
			require.NoError(t, err)
			require.Equal(t, "PT0S", e.b.rel(t, e.id).AutoExtendDuration)
		}},
		{name: "active: P180D with GA → 400 (rule 11)", status: gdap.StatusActive, roles: []string{gdap.GlobalAdminRoleID, roleHelpdesk}, run: func(t *testing.T, e env) {
			_, _, err := patch(t, e, auto(180), e.etag)
			odataErr(t, err, 400, graphsim.CodeGlobalAdminAutoExtend)
		}},
		{name: "active: identical roles → 200 unchanged (rule 19)", status: gdap.StatusActive, run: func(t *testing.T, e env) {
			got, hi, err := patch(t, e, roles(roleHelpdesk, roleUserAdmin), e.etag)
			require.NoError(t, err)
			require.Equal(t, e.etag, etagOf(t, got))
			require.Empty(t, hi.GetResponseHeaders().Get("Location"))
		}},
		{name: "active: other role change → 400", status: gdap.StatusActive, run: func(t *testing.T, e env) {
			_, _, err := patch(t, e, roles(roleHelpdesk), e.etag)
			odataErr(t, err, 400, "")
		}},
		{name: "active: remove GA → 202 LRO (rule 19)", status: gdap.StatusActive, roles: []string{roleHelpdesk, gdap.GlobalAdminRoleID, roleUserAdmin},
			run: func(t *testing.T, e env) {
				got, hi, err := patch(t, e, roles(roleHelpdesk, roleUserAdmin), e.etag)
				require.NoError(t, err)
				require.NotNil(t, got) // body {}
				loc := hi.GetResponseHeaders().Get("Location")
				require.Len(t, loc, 1)
				prefix := e.b.base + "/tenantRelationships/delegatedAdminRelationships/" + e.id + "/operations/"
				require.True(t, strings.HasPrefix(loc[0], prefix), loc[0])
				require.Equal(t, []string{"10"}, hi.GetResponseHeaders().Get("Retry-After"))
				opID := strings.TrimPrefix(loc[0], prefix)
				ops := e.b.sdk(t).ByDelegatedAdminRelationshipId(e.id).Operations()
				steps := []struct {
					advance time.Duration
					status  models.LongRunningOperationStatus
					hasGA   bool
				}{
					{0, models.NOTSTARTED_LONGRUNNINGOPERATIONSTATUS, true},
					{2 * time.Second, models.RUNNING_LONGRUNNINGOPERATIONSTATUS, true},
					{9 * time.Second, models.RUNNING_LONGRUNNINGOPERATIONSTATUS, true},
					{time.Second, models.SUCCEEDED_LONGRUNNINGOPERATIONSTATUS, false},
				}
				for _, st := range steps {
					e.b.clock.Advance(st.advance)
					op, err := ops.ByDelegatedAdminRelationshipOperationId("x").WithUrl(loc[0]).Get(t.Context(), nil)
					require.NoError(t, err)
					require.Equal(t, opID, *op.GetId())
					require.Equal(t, st.status, *op.GetStatus())
					rel := e.b.rel(t, e.id)
					require.Equal(t, st.hasGA, rel.HasGlobalAdmin())
					require.Equal(t, st.hasGA, rel.ETag == e.etag, "etag bumps only at success")
				}
				require.Equal(t, []string{roleHelpdesk, roleUserAdmin}, e.b.rel(t, e.id).UnifiedRoles)
			}},
		{name: "active: GA removal plus autoExtend → 400", status: gdap.StatusActive, roles: []string{roleHelpdesk, gdap.GlobalAdminRoleID}, run: func(t *testing.T, e env) {
			r := roles(roleHelpdesk)
			r.SetAutoExtendDuration(serialization.NewDuration(0, 0, 180, 0, 0, 0, 0))
			_, _, err := patch(t, e, r, e.etag)
			odataErr(t, err, 400, "")
		}},
		{name: "active: scripted failed operation keeps GA", status: gdap.StatusActive, roles: []string{roleHelpdesk, gdap.GlobalAdminRoleID}, run: func(t *testing.T, e env) {
			require.NoError(t, e.b.sim.FailNextOperation(e.id))
			_, _, err := patch(t, e, roles(roleHelpdesk), e.etag)
			require.NoError(t, err)
			e.b.clock.Advance(time.Minute)
			ops, err := e.b.sim.Operations(e.id)
			require.NoError(t, err)
			require.Equal(t, gdap.OperationFailed, ops[0].Status)
			require.True(t, e.b.rel(t, e.id).HasGlobalAdmin())
			require.Equal(t, e.etag, e.b.rel(t, e.id).ETag)
		}},
		{name: "approvalPending: PATCH → 400 (rule 20)", status: gdap.StatusApprovalPending, run: func(t *testing.T, e env) {
			_, _, err := patch(t, e, auto(180), e.etag)
			odataErr(t, err, 400, graphsim.CodeInvalidState)
		}},
		{name: "terminated: PATCH → 409 when configured", opts: graphsim.Options{InvalidStateStatus: 409}, status: gdap.StatusTerminated, run: func(t *testing.T, e env) {
			_, _, err := patch(t, e, auto(180), e.etag)
			odataErr(t, err, 409, graphsim.CodeInvalidState)
		}},
		{name: "created: DELETE → 204 then 404 (rule 21)", status: gdap.StatusCreated, run: func(t *testing.T, e env) {
			item := e.b.sdk(t).ByDelegatedAdminRelationshipId(e.id)
			require.NoError(t, item.Delete(t.Context(), &tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilderDeleteRequestConfiguration{Headers: ifMatch(e.etag)}))
			_, err := item.Get(t.Context(), nil)
			odataErr(t, err, 404, graphsim.CodeItemNotFound)
		}},
		{name: "DELETE without If-Match → 400", status: gdap.StatusCreated, run: func(t *testing.T, e env) {
			err := e.b.sdk(t).ByDelegatedAdminRelationshipId(e.id).Delete(t.Context(), nil)
			odataErr(t, err, 400, "")
		}},
		{name: "active: DELETE → 400", status: gdap.StatusActive, run: func(t *testing.T, e env) {
			err := e.b.sdk(t).ByDelegatedAdminRelationshipId(e.id).Delete(t.Context(),
				&tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilderDeleteRequestConfiguration{Headers: ifMatch(e.etag)})
			odataErr(t, err, 400, graphsim.CodeInvalidState)
		}},
		{name: "PATCH back a fetched object → 400 (rule 22)", status: gdap.StatusCreated, run: func(t *testing.T, e env) {
			got, err := e.b.sdk(t).ByDelegatedAdminRelationshipId(e.id).Get(t.Context(), nil)
			require.NoError(t, err)
			_, _, err = patch(t, e, got, e.etag)
			odataErr(t, err, 400, "")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tc.opts)
			id := b.addRel(t, gdap.Relationship{DisplayName: "Rel", Status: tc.status, UnifiedRoles: cmpRoles(tc.roles)})
			tc.run(t, env{b: b, id: id, etag: b.rel(t, id).ETag})
		})
	}
}

func cmpRoles(r []string) []string {
	if len(r) == 0 {
		return []string{roleHelpdesk, roleUserAdmin}
	}
	return r
}
