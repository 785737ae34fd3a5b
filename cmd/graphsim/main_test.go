package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/pcsim"
)

func TestRunListensAndServes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{name: "free port with seed", args: []string{"-seed", "20"}},
		{name: "explicit loopback port 0 and start", args: []string{"-listen", "127.0.0.1:0", "-start", "2026-01-01T00:00:00Z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			pr, pw := io.Pipe()
			done := make(chan error, 1)
			go func() { done <- run(ctx, tc.args, pw, io.Discard); _ = pw.Close() }()
			line, err := bufio.NewReader(pr).ReadString('\n')
			require.NoError(t, err)
			go func() { _, _ = io.Copy(io.Discard, pr) }()
			base, ok := strings.CutPrefix(strings.TrimSpace(line), "graphsim listening on ")
			require.True(t, ok, line)
			require.True(t, strings.HasPrefix(base, "http://127.0.0.1:"), base)

			resp, err := http.Get(base + "/_sim/clock")
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.NoError(t, resp.Body.Close())
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/beta/tenantRelationships/delegatedAdminRelationships/$count", nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer x")
			resp, err = http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			if len(tc.args) > 0 && tc.args[0] == "-seed" {
				require.Equal(t, "20", string(body))
			}
			resp, err = http.Get(base + "/elsewhere/x") // neither Graph nor Partner Center → 404
			require.NoError(t, err)
			require.Equal(t, http.StatusNotFound, resp.StatusCode)
			require.NoError(t, resp.Body.Close())

			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("run did not stop")
			}
		})
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-seed", "-1"}, {"-start", "yesterday"}, {"-fixtures", "/nonexistent.json"}, {"-bogus"}} {
		require.Error(t, run(t.Context(), args, io.Discard, io.Discard), args)
	}
}

// startRun runs the command on a free loopback port and returns its base URL;
// the command is stopped (and must exit cleanly) when the test ends.
func startRun(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, pw, io.Discard); _ = pw.Close() }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "graphsim listening on ")
	require.True(t, ok, line)
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("run did not stop")
		}
	})
	return base
}

// postJSON posts v as JSON and decodes the JSON answer into out.
func postJSON(t *testing.T, url string, v, out any) int {
	t.Helper()
	body, err := json.Marshal(v)
	require.NoError(t, err)
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	if out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

func TestRunServesPartnerCenter(t *testing.T) {
	t.Parallel()
	base := startRun(t, "-start", "2026-01-01T00:00:00Z")
	const tenant = "5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e81"
	const client = "c0ffee00-0000-4000-8000-0000000000a1"

	// Control API: a customer with DAP, and a refresh token for the app.
	require.Equal(t, http.StatusCreated, postJSON(t, base+"/_pcsim/customers",
		map[string]any{"tenantId": tenant, "name": "Wingtip Toys", "allowDelegatedAccess": true}, nil))
	var rt struct {
		RefreshToken string `json:"refreshToken"`
	}
	require.Equal(t, http.StatusCreated, postJSON(t, base+"/_pcsim/refresh-tokens", map[string]any{"clientId": client}, &rt))
	require.NotEmpty(t, rt.RefreshToken)

	// Entra token endpoint: the refresh-token grant gives an App+User token.
	form := url.Values{
		"grant_type": {"refresh_token"}, "client_id": {client}, "client_secret": {"s3cret"},
		"refresh_token": {rt.RefreshToken}, "scope": {pcsim.PartnerCenterScopeDefault + " offline_access"},
	}
	resp, err := http.PostForm(base+"/00000000-0000-0000-0000-000000000000/oauth2/v2.0/token", form)
	require.NoError(t, err)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	require.NoError(t, resp.Body.Close())
	require.NotEmpty(t, tok.AccessToken)

	// Partner Center: without a token 401, with the App+User token the customer.
	resp, err = http.Get(base + "/v1/customers/" + tenant)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.NoError(t, resp.Body.Close())
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/v1/customers/"+tenant, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Contains(t, string(b), tenant)
	require.NotEmpty(t, resp.Header.Get("MS-RequestId"))

	// Graph paths still go to the Graph simulator.
	req, err = http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/beta/tenantRelationships/delegatedAdminRelationships/$count", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer x")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, resp.Body.Close())
}
