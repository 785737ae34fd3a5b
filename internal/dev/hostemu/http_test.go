package hostemu

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// webFunction copies the repository's partner-center-webhook function.json.
func webFunction(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "functions", "partner-center-webhook", "function.json"))
	require.NoError(t, err)
	return map[string]string{"partner-center-webhook": string(raw)}
}

func TestHTTPTrigger(t *testing.T) {
	t.Parallel()
	b := setup(t, setupConfig{functions: webFunction(t)})
	url, err := b.emu.FunctionURL("partner-center-webhook")
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(url, "/api/partner-center-webhook"))
	tests := []struct {
		name     string
		method   string
		body     string
		status   int
		wantBody string
		echo     bool
	}{
		{name: "status and body mapped back", method: http.MethodPost, body: `{"status":401}`, status: http.StatusUnauthorized, wantBody: `{"status":401}`, echo: true},
		{name: "string status", method: http.MethodPost, body: `{"status":202}`, status: http.StatusAccepted, wantBody: `{"status":202}`, echo: true},
		{name: "no body member: 200 with the object", method: http.MethodPost, body: `{"status":401,"omit":"body"}`, status: http.StatusOK},
		{name: "no output: invocation failed", method: http.MethodPost, body: `{"omit":"output"}`, status: http.StatusInternalServerError},
		{name: "handler answers 500: invocation failed", method: http.MethodPost, body: `{"fail":true}`, status: http.StatusInternalServerError},
		{name: "method not allowed", method: http.MethodGet, status: http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, url+"?a=1&a=2", strings.NewReader(tc.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, tc.status, resp.StatusCode, string(got))
			if tc.wantBody != "" {
				require.Equal(t, tc.wantBody, string(got))
			}
			if tc.echo {
				require.Equal(t, http.MethodPost, resp.Header.Get("X-Echo-Method"))
			}
		})
	}

	// The first invocation's envelope has the golden fixture's shape.
	rec := b.recordedInvocations(t, 5)[0]
	require.Equal(t, "/partner-center-webhook", rec.Path)
	data, meta := decodeEnvelope(t, rec.Body)
	require.Contains(t, data, "req")
	require.JSONEq(t, `"{\"status\":401}"`, string(pick(t, data["req"], "Body")), "the body is a string, byte for byte")
	require.JSONEq(t, `"POST"`, string(pick(t, data["req"], "Method")))
	require.JSONEq(t, `{"a":"1,2"}`, string(pick(t, data["req"], "Query")))
	require.JSONEq(t, `["application/json"]`, string(pick(t, pick(t, data["req"], "Headers"), "Content-Type")), "header values are arrays")
	require.JSONEq(t, `[]`, string(pick(t, data["req"], "Identities")))
	var u string
	require.NoError(t, json.Unmarshal(pick(t, data["req"], "Url"), &u))
	require.Regexp(t, `^http://127\.0\.0\.1:\d+/api/partner-center-webhook\?a=1&a=2$`, u)
	require.Contains(t, meta, "sys")
	require.Contains(t, meta, "Headers")

	for _, inv := range b.emu.Invocations() {
		require.Equal(t, "partner-center-webhook", inv.Function)
	}
}
