package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/pcsim"
)

// TestWebhookCommands: register is idempotent (POST, then nothing, then
// PUT for another URL), show prints the registration, test has Partner
// Center deliver a signed test event.
func TestWebhookCommands(t *testing.T) {
	t.Parallel()
	const tenant, client, secret = "7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "c0ffee00-0000-4000-8000-0000000000b2", "s3cret"
	sim := pcsim.New(pcsim.Options{TenantID: tenant, ClientID: client, ClientSecret: secret})
	pki, err := pcsim.NewWebhookPKI(time.Now())
	require.NoError(t, err)
	t.Cleanup(sim.EnableWebhooks(pki).Close)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	var deliveries int
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "rsa-sha256", r.Header.Get("X-MS-Signature-Algorithm"))
		deliveries++
	}))
	t.Cleanup(hook.Close)
	env := map[string]string{
		envPCBaseURL: srv.URL, envLoginBaseURL: srv.URL, envPartnerTenant: tenant, envPCClientID: client,
		envPCClientSecret: secret, envPCRefreshToken: sim.IssueRefreshToken(client),
	}
	posts := func() int {
		n := 0
		for _, e := range sim.Journal() {
			if e.Path == "/webhooks/v1/registration" && e.Method != http.MethodGet {
				n++
			}
		}
		return n
	}

	code, out, errOut := runCLI(t, env, "webhook", "show")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "no webhook registration")

	code, out, errOut = runCLI(t, env, "webhook", "register", "--url", hook.URL+"/api/partner-center-webhook")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "webhook registered")
	code, out, _ = runCLI(t, env, "webhook", "register", "--url", hook.URL+"/api/partner-center-webhook")
	require.Equal(t, exitOK, code)
	require.Contains(t, out, "already registered")
	require.Equal(t, 1, posts(), "registering twice writes once")
	code, out, _ = runCLI(t, env, "webhook", "register", "--url", hook.URL+"/api/other")
	require.Equal(t, exitOK, code)
	require.Contains(t, out, "webhook updated")
	require.Equal(t, 2, posts())

	code, out, _ = runCLI(t, env, "webhook", "show", "--output", "json")
	require.Equal(t, exitOK, code)
	require.Contains(t, out, `"WebhookUrl": "`+hook.URL+`/api/other"`)
	require.Contains(t, out, "granular-admin-relationship-activated")

	code, out, errOut = runCLI(t, env, "webhook", "test")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, `"responseCode":"OK"`)
	require.Equal(t, 1, deliveries)

	code, _, errOut = runCLI(t, env, "webhook", "register", "--url", "http://example.com/hook")
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, "--url must be the https URL")
	delete(env, envPCRefreshToken)
	code, _, errOut = runCLI(t, env, "webhook", "show")
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, envPCRefreshToken)
	require.NotContains(t, errOut+out, secret)
}
