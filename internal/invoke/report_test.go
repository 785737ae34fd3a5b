package invoke

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/report"
)

// fixedPage is a report page that records its calls.
type fixedPage struct{ calls int }

func (f *fixedPage) Page(context.Context, time.Time) ([]byte, error) {
	f.calls++
	return []byte("<!DOCTYPE html><p>report</p>"), nil
}

// reportInvocation is the host's envelope of an HTTP request to the report.
func reportInvocation(t *testing.T, method string, headers map[string]string) string {
	t.Helper()
	h := map[string][]string{}
	for k, v := range headers {
		h[k] = []string{v}
	}
	b, err := json.Marshal(map[string]any{
		"Data":     map[string]any{"req": map[string]any{"Url": "https://x/api/report", "Method": method, "Headers": h}},
		"Metadata": map[string]any{},
	})
	require.NoError(t, err)
	return string(b)
}

// TestReportRoute: the page is served only for GET with a principal that
// holds the role; the development principal only in local development;
// every refusal is 403 with nothing rendered; other paths are 404.
func TestReportRoute(t *testing.T) {
	t.Parallel()
	const role = "GDAP.Report.Read"
	entra := func(roles ...string) map[string]string {
		p := report.Principal{AuthType: "aad"}
		for _, r := range roles {
			p.Claims = append(p.Claims, report.Claim{Type: "roles", Value: r})
		}
		return map[string]string{report.HeaderPrincipal: p.Encode(), report.HeaderPrincipalIDP: "aad"}
	}
	dev := map[string]string{report.HeaderPrincipal: report.Principal{AuthType: report.IdentityProviderDev,
		Claims: []report.Claim{{Type: "roles", Value: role}}}.Encode(), report.HeaderPrincipalIDP: report.IdentityProviderDev}
	tests := []struct {
		name     string
		method   string
		headers  map[string]string
		allowDev bool
		status   int
	}{
		{"with the role", http.MethodGet, entra("Other", role), false, http.StatusOK},
		{"without a principal", http.MethodGet, nil, false, http.StatusForbidden},
		{"without the role", http.MethodGet, entra("Other"), false, http.StatusForbidden},
		{"forged development principal outside local development", http.MethodGet, dev, false, http.StatusForbidden},
		{"development principal in local development", http.MethodGet, dev, true, http.StatusOK},
		{"POST", http.MethodPost, entra(role), false, http.StatusMethodNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			page := &fixedPage{}
			srv := New(Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Timeout: time.Minute,
				Report: page, ReportAuth: report.AuthOptions{Role: role, AllowDev: tc.allowDev}})
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+FunctionReport,
				strings.NewReader(reportInvocation(t, tc.method, tc.headers))))
			require.Equal(t, http.StatusOK, rec.Code, "the host always gets 200")
			var out struct {
				Outputs map[string]struct {
					StatusCode int               `json:"statusCode"`
					Headers    map[string]string `json:"headers"`
					Body       string            `json:"body"`
				}
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
			res := out.Outputs["res"]
			require.Equal(t, tc.status, res.StatusCode)
			if tc.status == http.StatusOK {
				require.Equal(t, 1, page.calls)
				require.Contains(t, res.Headers["Content-Security-Policy"], "script-src 'none'")
				require.Contains(t, res.Body, "report")
				return
			}
			require.Zero(t, page.calls, "nothing is read for a refused request")
			require.NotContains(t, res.Body, "report")
		})
	}
	rec := httptest.NewRecorder()
	New(Options{Logger: slog.New(slog.DiscardHandler), Timeout: time.Minute}).Handler().ServeHTTP(rec,
		httptest.NewRequest(http.MethodPost, "/report-other", strings.NewReader("{}")))
	require.Equal(t, http.StatusNotFound, rec.Code)
}
