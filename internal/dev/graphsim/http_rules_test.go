package graphsim_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

const relsPath = "/tenantRelationships/delegatedAdminRelationships"

const validBody = `{"displayName":"Raw","duration":"P730D","accessDetails":{"unifiedRoles":[{"roleDefinitionId":"` + roleHelpdesk + `"}]}}`

// Rules 1–6 over plain HTTP.
func TestHTTPGeneralRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   graphsim.Options
		req    rawReq
		status int
		code   string
	}{
		{name: "v1.0 serves the same surface (rule 1)", req: rawReq{method: "GET", path: "/v1.0" + relsPath}, status: 200},
		{name: "unknown path → 404", req: rawReq{method: "GET", path: "/tenantRelationships/unknownThings"}, status: 404, code: graphsim.CodeItemNotFound},
		{name: "unknown relationship → 404", req: rawReq{method: "GET", path: relsPath + "/nope"}, status: 404, code: graphsim.CodeItemNotFound},
		{name: "unsupported method → 405", req: rawReq{method: "PUT", path: relsPath}, status: 405, code: graphsim.CodeMethodNotAllowed},
		{name: "no Authorization → 401 (rule 2)", req: rawReq{method: "GET", path: relsPath, noAuth: true}, status: 401, code: graphsim.CodeInvalidAuthenticationToken},
		{name: "empty bearer → 401", req: rawReq{method: "GET", path: relsPath, headers: map[string]string{"Authorization": "Bearer "}}, status: 401, code: graphsim.CodeInvalidAuthenticationToken},
		{name: "Basic auth → 401", req: rawReq{method: "GET", path: relsPath, headers: map[string]string{"Authorization": "Basic eDp5"}}, status: 401, code: graphsim.CodeInvalidAuthenticationToken},
		{name: "gzip body accepted (rule 4)", req: rawReq{method: "POST", path: relsPath, body: validBody, gzip: true}, status: 201},
		{name: "gzip label on plain body → 400", req: rawReq{method: "POST", path: relsPath, body: validBody, headers: map[string]string{"Content-Encoding": "gzip"}}, status: 400},
		{name: "gzip refused in 415 mode", opts: graphsim.Options{RejectGzip: true}, req: rawReq{method: "POST", path: relsPath, body: validBody, gzip: true}, status: 415, code: graphsim.CodeUnsupportedMediaType},
		{name: "identity accepted", req: rawReq{method: "POST", path: relsPath, body: validBody}, status: 201},
		{name: "Content-Type with parameters (rule 5)", req: rawReq{method: "POST", path: relsPath, body: validBody, headers: map[string]string{"Content-Type": "application/json; charset=utf-8"}}, status: 201},
		{name: "text/plain → 415", req: rawReq{method: "POST", path: relsPath, body: validBody, headers: map[string]string{"Content-Type": "text/plain"}}, status: 415},
		{name: "malformed JSON → 400", req: rawReq{method: "POST", path: relsPath, body: `{"displayName":`}, status: 400, code: graphsim.CodeBadRequest},
		{name: "JSON array → 400", req: rawReq{method: "POST", path: relsPath, body: `[]`}, status: 400},
		{name: "unknown nested property → 400 (rule 6)", req: rawReq{method: "POST", path: relsPath, body: `{"displayName":"x","duration":"P1D","accessDetails":{"unifiedRoles":[{"roleDefinitionId":"` + roleHelpdesk + `","name":"x"}]}}`}, status: 400},
		{name: "@odata.type tolerated", req: rawReq{method: "POST", path: relsPath, body: `{"@odata.type":"#microsoft.graph.delegatedAdminRelationship","displayName":"x","duration":"P1D","accessDetails":{"unifiedRoles":[{"roleDefinitionId":"` + roleHelpdesk + `"}]}}`}, status: 201},
		{name: "wrong JSON type → 400", req: rawReq{method: "POST", path: relsPath, body: `{"displayName":5,"duration":"P1D","accessDetails":{"unifiedRoles":[]}}`}, status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tc.opts)
			if tc.req.headers == nil {
				tc.req.headers = map[string]string{}
			}
			tc.req.headers["client-request-id"] = "crid-123"
			resp := b.do(t, tc.req)
			require.Equal(t, tc.status, resp.status, string(resp.body))
			require.NotEmpty(t, resp.header.Get("request-id"))
			require.Equal(t, "crid-123", resp.header.Get("client-request-id"))
			if tc.status >= 400 {
				// Rule 3: Graph error body.
				require.Equal(t, "application/json", resp.header.Get("Content-Type"))
				e := resp.json(t)["error"].(map[string]any)
				require.NotEmpty(t, e["code"])
				require.NotEmpty(t, e["message"])
				inner := e["innerError"].(map[string]any)
				require.Equal(t, resp.header.Get("request-id"), inner["request-id"])
				require.Equal(t, "crid-123", inner["client-request-id"])
				require.NotEmpty(t, inner["date"])
				if tc.code != "" {
					require.Equal(t, tc.code, e["code"])
				}
			}
		})
	}
}

// Rules 13, 15, 24: create response shape, ETag format, reseller rendering.
func TestHTTPEntityShape(t *testing.T) {
	t.Parallel()
	b := setup(t, graphsim.Options{})
	resp := b.do(t, rawReq{method: "POST", path: relsPath, body: validBody})
	require.Equal(t, 201, resp.status)
	m := resp.json(t)
	id := m["id"].(string)
	require.Equal(t, b.base+relsPath+"/"+id, resp.header.Get("Location"))
	require.Equal(t, b.base+"/$metadata#tenantRelationships/delegatedAdminRelationships/$entity", m["@odata.context"])
	require.Equal(t, "#microsoft.graph.delegatedAdminRelationship", m["@odata.type"])
	require.Nil(t, m["activatedDateTime"])
	require.Nil(t, m["endDateTime"])
	etag := m["@odata.etag"].(string)
	require.True(t, strings.HasPrefix(etag, `W/"`) && strings.HasSuffix(etag, `"`))
	payload, err := base64.StdEncoding.DecodeString(etag[3 : len(etag)-1])
	require.NoError(t, err)
	require.Regexp(t, `^'"[0-9a-f]{8}-0000-1900-0000-[0-9a-f]{12}"'$`, string(payload))

	rid := b.addRel(t, gdap.Relationship{DisplayName: "Reseller", Status: gdap.StatusApprovalPending, IsReseller: true,
		IndirectProviderTenantID: tenantA, IsPartnerConsentPending: true})
	got := b.do(t, rawReq{method: "GET", path: relsPath + "/" + rid}).json(t)
	require.Equal(t, "#microsoft.graph.resellerDelegatedAdminRelationship", got["@odata.type"])
	require.Equal(t, tenantA, got["indirectProviderTenantId"])
	require.Equal(t, true, got["isPartnerConsentPending"])
	require.Nil(t, got["customer"])

	// Rule 15: system transitions change the etag too.
	before := b.rel(t, rid).ETag
	require.NoError(t, b.sim.Approve(rid, nil))
	require.NotEqual(t, before, b.rel(t, rid).ETag)
}

// Rule 16 inner error over plain HTTP, and the journal's view of headers.
func TestHTTPPreconditionFailed(t *testing.T) {
	t.Parallel()
	b := setup(t, graphsim.Options{})
	id := b.addRel(t, gdap.Relationship{})
	resp := b.do(t, rawReq{method: "PATCH", path: relsPath + "/" + id, body: `{"displayName":"y"}`, headers: map[string]string{"If-Match": `W/"old"`}})
	require.Equal(t, http.StatusPreconditionFailed, resp.status)
	e := resp.json(t)["error"].(map[string]any)
	require.Equal(t, graphsim.CodePreconditionFailed, e["code"])
	require.Equal(t, graphsim.CodeEntityTagDoesNotMatch, e["innerError"].(map[string]any)["code"])
	j := b.sim.Journal()
	require.Len(t, j, 1)
	require.Equal(t, `W/"old"`, j[0].Headers["If-Match"])
	require.Equal(t, `{"displayName":"y"}`, j[0].Body)
	require.Equal(t, 412, j[0].Status)
	require.Equal(t, graphsim.RouteRelationship, j[0].Route)
	require.Equal(t, 1, b.sim.Counters()[graphsim.CounterKey("PATCH", graphsim.RouteRelationship)])
}
