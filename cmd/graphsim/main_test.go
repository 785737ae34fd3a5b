package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
			resp, err = http.Get(base + "/v1/customers/x") // fallback: none mounted → 404
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
