package report_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/report"
	"github.com/gdapflow/gdapflow/internal/sweep"
)

var now = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

func principal(idp string, roles ...string) report.Principal {
	p := report.Principal{AuthType: idp, Claims: []report.Claim{{Type: "name", Value: "Ops"}}}
	for _, r := range roles {
		p.Claims = append(p.Claims, report.Claim{Type: "roles", Value: r})
	}
	return p
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	const role = "GDAP.Report.Read"
	tests := []struct {
		name     string
		header   string
		idp      string
		allowDev bool
		wantErr  string
	}{
		{"entra principal with the role", principal("aad", "Other", role).Encode(), "aad", false, ""},
		{"dev principal in local development", principal("gdapflow-dev", role).Encode(), "gdapflow-dev", true, ""},
		{"no header", "", "", false, "no X-MS-CLIENT-PRINCIPAL"},
		{"not base64", "%%%", "aad", false, "not base64"},
		{"not json", base64.StdEncoding.EncodeToString([]byte("[1]")), "aad", false, "not a principal"},
		{"without the role", principal("aad", "Other").Encode(), "aad", false, "lacks the app role"},
		{"role in another claim type", report.Principal{AuthType: "aad", Claims: []report.Claim{{Type: "groups", Value: role}}}.Encode(), "aad", false, "lacks the app role"},
		{"forged dev principal outside local development", principal("gdapflow-dev", role).Encode(), "gdapflow-dev", false, "development principal outside local development"},
		{"other identity provider", principal("github", role).Encode(), "github", false, "is not Entra ID"},
		{"idp header disagrees", principal("aad", role).Encode(), "gdapflow-dev", true, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := map[string]string{report.HeaderPrincipal: tt.header, report.HeaderPrincipalIDP: tt.idp}
			p, err := report.Authorize(func(n string) string { return h[n] }, report.AuthOptions{Role: role, AllowDev: tt.allowDev})
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.Equal(t, "Ops", p.Name())
				return
			}
			require.ErrorIs(t, err, report.ErrForbidden)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestWeekCounts(t *testing.T) {
	t.Parallel()
	ends := []sweep.EndMark{
		{End: now.Add(-day), Category: sweep.CategoryAutoExtends},           // past: left out
		{End: now.Add(day), Category: sweep.CategoryAutoExtends},            // week 0
		{End: now.Add(6 * day), Category: sweep.CategoryLapseGlobalAdmin},   // week 0
		{End: now.Add(7 * day), Category: sweep.CategoryLapseNoAutoExtend},  // week 1
		{End: now.Add(25*7*day + day), Category: sweep.CategoryProtected},   // week 25
		{End: now.Add(26*7*day + day), Category: sweep.CategoryAutoExtends}, // beyond
	}
	c := report.WeekCounts(now, ends)
	require.Equal(t, [sweep.Categories]int{1, 0, 1, 0}, c[0])
	require.Equal(t, [sweep.Categories]int{0, 1, 0, 0}, c[1])
	require.Equal(t, [sweep.Categories]int{0, 0, 0, 1}, c[25])
}

func TestRenderEscapesAndBanner(t *testing.T) {
	t.Parallel()
	xss := "<script>alert(1)</script>"
	in := report.Input{Now: now, WarningDays: 30, SweepPeriod: 6 * time.Hour, Policy: "off",
		Sweep: sweep.Report{ByStatus: map[string]int{"active": 2}, Active: 2, AutoExtends: 1,
			Ends: []sweep.EndMark{{End: now.Add(3 * day), Category: sweep.CategoryLapseNoAutoExtend}, {End: now.Add(3 * day), Category: sweep.CategoryAutoExtends}},
			Lapsing: []sweep.Item{{Snapshot: sweep.Snapshot{RelationshipID: "r1", DisplayName: xss, CustomerName: `"><img src=x>`,
				Status: "active", AutoExtend: "PT0S", End: now.Add(3 * day)}, Category: sweep.CategoryLapseNoAutoExtend}},
			LapsingTotal:  1,
			LastCompleted: &sweep.CompletedSweep{SweepID: "s", StartedAt: now.Add(-13 * time.Hour), FinishedAt: now.Add(-13 * time.Hour)}},
		Failures: []ledger.FailureEntry{{OperationID: "op-1", Code: op.CodeThrottled, Message: xss, FinishedAt: now.Add(-time.Hour)}},
	}
	v := report.Build(in)
	require.Equal(t, "50.0%", v.Coverage)
	require.Contains(t, v.Sweep.Banner, "No expiry sweep completed in the last 12h0m0s")
	html, err := report.Render(v)
	require.NoError(t, err)
	s := string(html)
	require.NotContains(t, s, "<script")
	require.NotContains(t, s, "<img")
	require.Contains(t, s, "&lt;script&gt;alert(1)&lt;/script&gt;")
	require.Contains(t, s, `id="sweep-banner"`)
	require.Contains(t, s, `data-count="1"`)
	require.Contains(t, s, "gdap.relationship.update --relationship-id r1")
	require.Contains(t, report.Headers()["Content-Security-Policy"], "default-src 'none'")

	in.Sweep.LastCompleted.FinishedAt = now.Add(-time.Hour)
	html, err = report.Render(report.Build(in))
	require.NoError(t, err)
	require.False(t, strings.Contains(string(html), `id="sweep-banner"`), "a sweep within twice the schedule: no banner")
}
