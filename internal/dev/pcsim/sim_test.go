package pcsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/pcsim"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

const (
	tenant    = "11111111-1111-1111-1111-111111111111"
	clientID  = "22222222-2222-2222-2222-222222222222"
	secret    = "s3cr3t-value"
	assertion = "federated-assertion-jwt"
	customer  = "33333333-3333-3333-3333-333333333333"
	cleared   = "44444444-4444-4444-4444-444444444444"
)

type bundle struct {
	sim   *pcsim.Sim
	srv   *httptest.Server
	clock *vclock.Virtual
}

func setup(t *testing.T, mod func(*pcsim.Options)) bundle {
	t.Helper()
	clock := vclock.NewFrozen(time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC))
	opts := pcsim.Options{Clock: clock, TenantID: tenant, ClientID: clientID, ClientSecret: secret, AcceptedAssertion: assertion}
	if mod != nil {
		mod(&opts)
	}
	sim := pcsim.New(opts)
	sim.AddCustomer(customer, "Contoso", true)
	sim.AddCustomer(cleared, "Fabrikam", false)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return bundle{sim: sim, srv: srv, clock: clock}
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func do(t *testing.T, method, target string, header map[string]string, body string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, target, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := reply{status: resp.StatusCode, header: resp.Header}
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out.body), "body %s", raw)
	}
	return out
}

// grant redeems a refresh token (or runs client_credentials) and returns the reply.
func grant(t *testing.T, b bundle, form url.Values) reply {
	t.Helper()
	return do(t, http.MethodPost, b.srv.URL+"/"+tenant+"/oauth2/v2.0/token",
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, form.Encode())
}

func refreshForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {clientID}, "client_secret": {secret},
		"scope": {pcsim.PartnerCenterScopeDefault + " offline_access"}}
}

func appUserToken(t *testing.T, b bundle) string {
	t.Helper()
	r := grant(t, b, refreshForm(b.sim.IssueRefreshToken(clientID)))
	require.Equal(t, http.StatusOK, r.status, r.body)
	return r.body["access_token"].(string)
}

func TestHandles(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]bool{
		"/v1/customers/x": true, "/secrets/a": true, "/_pcsim/journal": true, "/" + tenant + "/oauth2/v2.0/token": true,
		"/beta/tenantRelationships/delegatedAdminRelationships": false, "/v1/customers": false, "/x/oauth2/v2.0/authorize": false,
	} {
		require.Equal(t, want, pcsim.Handles(path), path)
	}
}

func TestCustomers(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	at := appUserToken(t, b)
	app := grant(t, b, url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
		"scope": {"https://api.partnercenter.microsoft.com/.default"}})
	require.Equal(t, http.StatusOK, app.status, app.body)
	require.Nil(t, app.body["refresh_token"])
	appTok := app.body["access_token"].(string)
	jsonHdr := func(tok string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json; charset=utf-8", "MS-CorrelationId": "corr-1"}
	}
	dap := `{"AllowDelegatedAccess":false,"attributes":{"objectType":"Customer"}}`

	for _, tc := range []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		code                     string
	}{
		{"no bearer", http.MethodGet, "/v1/customers/" + customer, "", nil, 401, "Unauthorized"},
		{"unknown token", http.MethodGet, "/v1/customers/" + customer, "", jsonHdr("not-a-sim-token"), 403, "Forbidden"},
		{"app-only token", http.MethodPatch, "/v1/customers/" + customer + "/", dap, jsonHdr(appTok), 403, "Forbidden"},
		{"get unknown", http.MethodGet, "/v1/customers/55555555-5555-5555-5555-555555555555", "", jsonHdr(at), 404, "CustomerNotFound"},
		{"patch unknown", http.MethodPatch, "/v1/customers/55555555-5555-5555-5555-555555555555/", dap, jsonHdr(at), 404, "CustomerNotFound"},
		{"patch true", http.MethodPatch, "/v1/customers/" + customer, `{"AllowDelegatedAccess":true}`, jsonHdr(at), 400, "InvalidInput"},
		{"patch missing flag", http.MethodPatch, "/v1/customers/" + customer, `{"attributes":{}}`, jsonHdr(at), 400, "InvalidInput"},
		{"patch not json", http.MethodPatch, "/v1/customers/" + customer, `nope`, jsonHdr(at), 400, "InvalidInput"},
		{"patch wrong type", http.MethodPatch, "/v1/customers/" + customer, dap, map[string]string{"Authorization": "Bearer " + at, "Content-Type": "text/plain"}, 415, "InvalidInput"},
		{"delete", http.MethodDelete, "/v1/customers/" + customer, "", jsonHdr(at), 405, "MethodNotAllowed"},
	} {
		r := do(t, tc.method, b.srv.URL+tc.path, tc.header, tc.body)
		require.Equal(t, tc.status, r.status, "%s: %v", tc.name, r.body)
		require.Equal(t, tc.code, r.body["code"], tc.name)
		require.Equal(t, "PartnerAPIs", r.body["source"], tc.name)
		require.NotEmpty(t, r.header.Get("MS-RequestId"), tc.name)
	}
	got, _ := b.sim.Customer(customer)
	require.True(t, got.AllowDelegatedAccess, "failed requests change nothing")

	r := do(t, http.MethodGet, b.srv.URL+"/v1/customers/"+strings.ToUpper(customer), nil, "")
	require.Equal(t, 401, r.status)
	r = do(t, http.MethodGet, b.srv.URL+"/v1/customers/"+customer, jsonHdr(at), "")
	require.Equal(t, 200, r.status)
	require.Equal(t, true, r.body["allowDelegatedAccess"])
	require.Equal(t, "corr-1", r.header.Get("MS-CorrelationId"))

	for range 2 { // idempotent, trailing slash and lower-case key accepted
		r = do(t, http.MethodPatch, b.srv.URL+"/v1/customers/"+customer+"/", jsonHdr(at), `{"allowdelegatedaccess":false}`)
		require.Equal(t, 200, r.status, r.body)
		require.Equal(t, customer, r.body["id"])
		require.NotContains(t, r.body, "allowDelegatedAccess", "PATCH response omits the flag")
		require.Equal(t, "Contoso", r.body["companyProfile"].(map[string]any)["companyName"])
	}
	got, _ = b.sim.Customer(customer)
	require.False(t, got.AllowDelegatedAccess)
	r = do(t, http.MethodGet, b.srv.URL+"/v1/customers/"+customer+"/", jsonHdr(at), "")
	require.Equal(t, false, r.body["allowDelegatedAccess"])

	c := b.sim.Counters()
	require.Equal(t, 2, c.CustomerPatches)
	require.Equal(t, 1, c.DAPRemovals)
	require.Equal(t, 2, c.CustomerGets)

	// Expired App+User token → 401.
	b.clock.Advance(pcsim.AccessTokenLifetimeDefault)
	r = do(t, http.MethodGet, b.srv.URL+"/v1/customers/"+customer, jsonHdr(at), "")
	require.Equal(t, 401, r.status)
	require.Equal(t, "TokenExpired", r.body["code"])
}

func TestAppOnlyAllowed(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *pcsim.Options) { o.AllowAppOnly = true })
	app := grant(t, b, url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
		"scope": {"https://api.partnercenter.microsoft.com/.default"}})
	r := do(t, http.MethodGet, b.srv.URL+"/v1/customers/"+customer, map[string]string{"Authorization": "Bearer " + app.body["access_token"].(string)}, "")
	require.Equal(t, 200, r.status)
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	revoked := b.sim.IssueRefreshToken(clientID)
	require.True(t, b.sim.RevokeRefreshToken(revoked))
	otherClient := b.sim.IssueRefreshToken("99999999-9999-9999-9999-999999999999")
	expired := b.sim.IssueRefreshToken(clientID)
	b.clock.Advance(pcsim.RefreshTokenLifetimeDefault)
	fresh := func() string { return b.sim.IssueRefreshToken(clientID) }
	with := func(v url.Values, kv ...string) url.Values {
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				v.Del(kv[i])
			} else {
				v.Set(kv[i], kv[i+1])
			}
		}
		return v
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"refresh ok", refreshForm(fresh()), 200, ""},
		{"assertion ok", with(refreshForm(fresh()), "client_secret", "", "client_assertion", assertion, "client_assertion_type", pcsim.JWTBearerAssertionType), 200, ""},
		{"wrong assertion", with(refreshForm(fresh()), "client_secret", "", "client_assertion", "other", "client_assertion_type", pcsim.JWTBearerAssertionType), 401, "invalid_client"},
		{"assertion wrong type", with(refreshForm(fresh()), "client_secret", "", "client_assertion", assertion, "client_assertion_type", "x"), 400, "invalid_request"},
		{"secret and assertion", with(refreshForm(fresh()), "client_assertion", assertion, "client_assertion_type", pcsim.JWTBearerAssertionType), 400, "invalid_request"},
		{"wrong secret", with(refreshForm(fresh()), "client_secret", "nope"), 401, "invalid_client"},
		{"no client auth", with(refreshForm(fresh()), "client_secret", ""), 401, "invalid_client"},
		{"unknown client", with(refreshForm(fresh()), "client_id", "88888888-8888-8888-8888-888888888888"), 401, "invalid_client"},
		{"revoked", refreshForm(revoked), 400, "invalid_grant"},
		{"expired", refreshForm(expired), 400, "invalid_grant"},
		{"unknown refresh token", refreshForm("pcsim.rt.unknown"), 400, "invalid_grant"},
		{"token of another client", refreshForm(otherClient), 400, "invalid_grant"},
		{"missing scope", with(refreshForm(fresh()), "scope", ""), 400, "invalid_scope"},
		{"unsupported grant", with(refreshForm(fresh()), "grant_type", "password"), 400, "unsupported_grant_type"},
		{"client credentials bad scope", url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "scope": {"x"}}, 400, "invalid_scope"},
	} {
		r := grant(t, b, tc.form)
		require.Equal(t, tc.status, r.status, "%s: %v", tc.name, r.body)
		if tc.code != "" {
			require.Equal(t, tc.code, r.body["error"], tc.name)
			require.NotEmpty(t, r.body["error_description"], tc.name)
			continue
		}
		require.Equal(t, "Bearer", r.body["token_type"], tc.name)
		require.Equal(t, float64(3600), r.body["expires_in"], tc.name)
		require.Equal(t, pcsim.PartnerCenterScopeDefault, r.body["scope"], tc.name)
		require.NotEqual(t, tc.form.Get("refresh_token"), r.body["refresh_token"], tc.name)
	}

	r := do(t, http.MethodPost, b.srv.URL+"/other-tenant/oauth2/v2.0/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, refreshForm(fresh()).Encode())
	require.Equal(t, 400, r.status)
	require.Equal(t, "invalid_request", r.body["error"])
	require.Equal(t, 2, b.sim.Counters().RefreshTokenGrants)
}

func TestRotation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		strict    bool
		oldStatus int
	}{{"lenient like Entra", false, 200}, {"strict", true, 400}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(o *pcsim.Options) { o.StrictRotation = tc.strict })
			rt1 := b.sim.IssueRefreshToken(clientID)
			r := grant(t, b, refreshForm(rt1))
			require.Equal(t, 200, r.status)
			rt2 := r.body["refresh_token"].(string)
			require.NotEqual(t, rt1, rt2)
			require.Equal(t, tc.oldStatus, grant(t, b, refreshForm(rt1)).status)
			require.Equal(t, 200, grant(t, b, refreshForm(rt2)).status)
			require.Positive(t, b.sim.RevokeAllRefreshTokens(clientID))
			require.Zero(t, b.sim.RevokeAllRefreshTokens(clientID), "revoking twice is harmless")
			require.Equal(t, 400, grant(t, b, refreshForm(rt2)).status)
		})
	}
}

func TestFaultsAndJournal(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	at := appUserToken(t, b)
	hdr := map[string]string{"Authorization": "Bearer " + at, "MS-CorrelationId": "corr-9", "MS-RequestId": "req-9"}
	require.NoError(t, b.sim.InjectFault(pcsim.RouteCustomers, "GET", pcsim.Fault{Kind: pcsim.FaultThrottle, Count: 2, RetryAfter: 7 * time.Second}))
	require.NoError(t, b.sim.InjectFault(pcsim.RouteCustomers, "GET", pcsim.Fault{Kind: pcsim.FaultUnavailable}))
	require.NoError(t, b.sim.InjectFault(pcsim.RouteCustomers, "GET", pcsim.Fault{Kind: pcsim.FaultReset}))
	require.Error(t, b.sim.InjectFault("nope", "GET", pcsim.Fault{Kind: pcsim.FaultReset}))
	for _, want := range []int{429, 429, 503} {
		r := do(t, http.MethodGet, b.srv.URL+"/v1/customers/"+customer, hdr, "")
		require.Equal(t, want, r.status)
		require.Equal(t, "corr-9", r.header.Get("MS-CorrelationId"))
		if want == 429 {
			require.Equal(t, "7", r.header.Get("Retry-After"))
			require.Equal(t, "TooManyRequests", r.body["code"])
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.srv.URL+"/v1/customers/"+customer, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	if err == nil { // headers arrived; the body is cut short
		_, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
	}
	require.Error(t, err, "connection reset")
	require.Equal(t, 200, do(t, http.MethodGet, b.srv.URL+"/v1/customers/"+customer, hdr, "").status)
	require.Equal(t, 4, b.sim.Counters().FaultsInjected)

	// The reset request is journaled before its connection drops, so the
	// journal is in the order the client saw its answers.
	j := b.sim.Journal()
	require.GreaterOrEqual(t, len(j), 2)
	tail := j[len(j)-2:]
	last := tail[1]
	require.Equal(t, "GET", last.Method)
	require.Equal(t, 200, last.Status)
	require.Equal(t, "Bearer <redacted>", last.Headers["Authorization"])
	require.Equal(t, "corr-9", last.Headers["MS-CorrelationId"])
	require.Equal(t, "req-9", last.Headers["MS-RequestId"])
	require.Equal(t, 0, tail[0].Status, "reset is journaled with status 0")
	raw, err := json.Marshal(j)
	require.NoError(t, err)
	for _, s := range []string{at, secret} {
		require.NotContains(t, string(raw), s, "journal leaks a credential")
	}
	require.Contains(t, string(raw), "refresh_token=%3Credacted%3E")
}

func TestControlAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	r := do(t, http.MethodPost, b.srv.URL+"/_pcsim/customers", nil, `{"tenantId":"66666666-6666-6666-6666-666666666666","name":"Woodgrove","allowDelegatedAccess":true}`)
	require.Equal(t, 201, r.status)
	r = do(t, http.MethodGet, b.srv.URL+"/_pcsim/customers/66666666-6666-6666-6666-666666666666", nil, "")
	require.Equal(t, true, r.body["allowDelegatedAccess"])
	r = do(t, http.MethodPost, b.srv.URL+"/_pcsim/refresh-tokens", nil, `{"clientId":"`+clientID+`"}`)
	rt := r.body["refreshToken"].(string)
	r = do(t, http.MethodPost, b.srv.URL+"/_pcsim/refresh-tokens/revoke", nil, `{"refreshToken":"`+rt+`"}`)
	require.Equal(t, float64(1), r.body["revoked"])
	require.Equal(t, 400, grant(t, b, refreshForm(rt)).status)
	require.Equal(t, 204, do(t, http.MethodPost, b.srv.URL+"/_pcsim/faults", nil, `{"route":"token","method":"POST","kind":"throttle","count":1,"retryAfterSeconds":3}`).status)
	r = grant(t, b, refreshForm(b.sim.IssueRefreshToken(clientID)))
	require.Equal(t, 429, r.status)
	require.Equal(t, "3", r.header.Get("Retry-After"))
	require.Equal(t, 200, do(t, http.MethodPut, b.srv.URL+"/_pcsim/secrets/pc-refresh", nil, `{"value":"v1"}`).status)
	v, ok := b.sim.Secret("pc-refresh")
	require.True(t, ok)
	require.Equal(t, "v1", v)
	r = do(t, http.MethodGet, b.srv.URL+"/_pcsim/counters", nil, "")
	require.Equal(t, float64(1), r.body["faultsInjected"])
	require.Equal(t, 404, do(t, http.MethodGet, b.srv.URL+"/_pcsim/nope", nil, "").status)
}

func TestKeyVaultREST(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	base := b.srv.URL + "/secrets/pc-refresh"
	// Unauthenticated request → challenge.
	r := do(t, http.MethodGet, base+"?api-version=7.5", nil, "")
	require.Equal(t, 401, r.status)
	require.Equal(t, `Bearer authorization="https://login.microsoftonline.com/`+tenant+`", resource="https://vault.azure.net"`, r.header.Get("WWW-Authenticate"))
	auth := map[string]string{"Authorization": "Bearer kv-token", "Content-Type": "application/json"}
	require.Equal(t, 404, do(t, http.MethodGet, base+"?api-version=7.5", auth, "").status)
	require.Equal(t, 400, do(t, http.MethodGet, base, auth, "").status, "api-version required")
	r = do(t, http.MethodPut, base+"?api-version=7.5", auth, `{"value":"one"}`)
	require.Equal(t, 200, r.status)
	id1 := r.body["id"].(string)
	require.True(t, strings.HasPrefix(id1, b.srv.URL+"/secrets/pc-refresh/"), id1)
	r = do(t, http.MethodPut, base+"?api-version=7.5", auth, `{"value":"two","contentType":"text/plain"}`)
	require.Equal(t, "two", r.body["value"])
	require.Equal(t, true, r.body["attributes"].(map[string]any)["enabled"])
	require.Equal(t, "two", do(t, http.MethodGet, base+"/?api-version=7.5", auth, "").body["value"])
	require.Equal(t, "one", do(t, http.MethodGet, b.srv.URL+strings.TrimPrefix(id1, b.srv.URL)+"?api-version=7.5", auth, "").body["value"])
	require.Equal(t, 2, b.sim.SecretVersions("pc-refresh"))
	require.Equal(t, 400, do(t, http.MethodPut, base+"?api-version=7.5", auth, `{"nope":1}`).status)
	require.Equal(t, 405, do(t, http.MethodDelete, base+"?api-version=7.5", auth, "").status)
	raw, err := json.Marshal(b.sim.Journal())
	require.NoError(t, err)
	require.NotContains(t, string(raw), `"two"`)
	require.NotContains(t, string(raw), "kv-token")
}
