package tests

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/pcsim"
)

func removeDap(tenant string) map[string]any { return map[string]any{"customerTenantId": tenant} }

func TestRemoveDAP(t *testing.T) {
	t.Parallel()
	b := setup(t, map[string]string{"GDAP_PROTECTED_CUSTOMERS": customerB})
	withDAP := "dddddddd-0000-4000-8000-000000000001"
	withoutDAP := "dddddddd-0000-4000-8000-000000000002"
	unknown := "dddddddd-0000-4000-8000-0000000000ff"
	b.PC.AddCustomer(withDAP, "Northwind", true)
	b.PC.AddCustomer(withoutDAP, "Tailspin", false)
	b.PC.AddCustomer(customerB, "Protected Ltd", true)

	b.send(t, "op-dap", command.TypeRemoveDAP, removeDap(withDAP))
	b.send(t, "op-dap-done", command.TypeRemoveDAP, removeDap(withoutDAP))
	b.send(t, "op-dap-unknown", command.TypeRemoveDAP, removeDap(unknown))
	b.send(t, "op-dap-protected", command.TypeRemoveDAP, removeDap(customerB))
	b.drain(t)

	o := b.outcome(t, "op-dap")
	requireSucceeded(t, o)
	require.False(t, o.Result.AlreadyDone)
	require.Equal(t, withDAP, o.CustomerTenantID)
	c, ok := b.PC.Customer(withDAP)
	require.True(t, ok)
	require.False(t, c.AllowDelegatedAccess)

	done := b.outcome(t, "op-dap-done")
	requireSucceeded(t, done)
	require.True(t, done.Result.AlreadyDone)

	nf := b.outcome(t, "op-dap-unknown")
	requireFailed(t, nf, "not_found")
	require.NotEmpty(t, nf.Error.UpstreamRequestID, "Partner Center's MS-RequestId is kept")

	requireFailed(t, b.outcome(t, "op-dap-protected"), "policy_denied")
	p, _ := b.PC.Customer(customerB)
	require.True(t, p.AllowDelegatedAccess, "nothing sent for a protected customer")

	counters := b.PC.Counters()
	require.Equal(t, 1, counters.DAPRemovals)
	require.Equal(t, 1, counters.RefreshTokenGrants, "one App+User token served every command")
}

func TestRemoveDAPConcurrentCommandsShareOneRefresh(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	var ids []string
	for i := range 8 {
		tenant := "eeeeeeee-0000-4000-8000-00000000000" + string(rune('0'+i))
		b.PC.AddCustomer(tenant, "Customer", true)
		ids = append(ids, tenant)
	}
	var wg sync.WaitGroup
	for i, tenant := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.send(t, "op-dap-"+string(rune('a'+i)), command.TypeRemoveDAP, removeDap(tenant))
		}()
	}
	wg.Wait()
	b.drain(t)
	for i := range ids {
		requireSucceeded(t, b.outcome(t, "op-dap-"+string(rune('a'+i))))
	}
	require.Equal(t, 1, b.PC.Counters().RefreshTokenGrants)
}

func TestRemoveDAPThrottled(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tenant := "ffffffff-0000-4000-8000-000000000001"
	b.PC.AddCustomer(tenant, "Throttled", true)
	require.NoError(t, b.PC.InjectFault(pcsim.RouteCustomers, "PATCH", pcsim.Fault{Kind: pcsim.FaultThrottle, Count: 2, RetryAfter: 30 * time.Second}))
	b.send(t, "op-dap-throttled", command.TypeRemoveDAP, removeDap(tenant))
	b.drain(t)
	o := b.outcome(t, "op-dap-throttled")
	requireSucceeded(t, o)
	require.Equal(t, 3, o.Attempts)
	c, _ := b.PC.Customer(tenant)
	require.False(t, c.AllowDelegatedAccess)
}

func TestRemoveDAPRevokedRefreshToken(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tenant := "ffffffff-0000-4000-8000-000000000002"
	b.PC.AddCustomer(tenant, "Revoked", true)
	require.True(t, b.PC.RevokeRefreshToken(b.RefreshToken))
	b.send(t, "op-dap-revoked", command.TypeRemoveDAP, removeDap(tenant))
	b.drain(t)
	o := b.outcome(t, "op-dap-revoked")
	requireFailed(t, o, "unauthorized")
	require.Equal(t, "invalid_grant", o.Error.UpstreamCode)
	require.Contains(t, o.Error.Message, "docs/partner-center-auth.md", "the message tells the operator what to do")
	c, _ := b.PC.Customer(tenant)
	require.True(t, c.AllowDelegatedAccess)
}

func TestRemoveDAPAppOnlyTokenRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tenant := "ffffffff-0000-4000-8000-000000000003"
	b.PC.AddCustomer(tenant, "AppOnly", true)
	// An app-only token (client_credentials) is what a misconfigured
	// deployment would present; Partner Center refuses it with 403.
	token := appOnlyToken(t, b)
	resp := pcGet(t, b, "/v1/customers/"+tenant, token)
	require.Equal(t, 403, resp.StatusCode)
}

// appOnlyToken obtains a client_credentials (app-only) token from the
// simulated Entra token endpoint.
func appOnlyToken(t *testing.T, b *bundle) string {
	t.Helper()
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {devstack.PCClientID},
		"client_secret": {devstack.PCClientSecret}, "scope": {"https://api.partnercenter.microsoft.com/.default"},
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
		b.SimURL+"/"+devstack.PartnerTenantID+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	require.NotEmpty(t, tok.AccessToken)
	return tok.AccessToken
}

// pcGet calls the simulated Partner Center with a bearer token.
func pcGet(t *testing.T, b *bundle, path, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.SimURL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}
