package tests

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/dev/browser"
	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/sweep"
)

const xssName = "<script>alert(1)</script>"

// seedReportMix seeds relationships whose figures the page must show, with
// end dates in the middle of a week so that the virtual clock moving a
// little does not change their week. It returns ids by name.
func seedReportMix(t *testing.T, b *bundle) map[string]string {
	t.Helper()
	week := 7 * 24 * time.Hour
	mid := func(w int) time.Duration { return time.Duration(w)*week + week/2 }
	ids := map[string]string{}
	add := func(name string, d time.Duration, roles []string, tenant string, autoExtend string) {
		now := b.Clock.Now()
		ids[name] = addRelationship(t, b, gdap.Relationship{DisplayName: name, Status: gdap.StatusActive, Duration: "P730D",
			UnifiedRoles: roles, AutoExtendDuration: autoExtend, Customer: gdap.Customer{TenantID: tenant, DisplayName: name + " Ltd"},
			CreatedDateTime: now.Add(-731 * 24 * time.Hour).Add(d), ActivatedDateTime: now.Add(-730 * 24 * time.Hour).Add(d),
			EndDateTime: now.Add(d)})
	}
	add("extends-w1", mid(1), []string{roleHelpdesk}, customerA, gdap.AutoExtendOn)
	add("extends-w1b", mid(1), []string{roleHelpdesk}, customerA, gdap.AutoExtendOn)
	add("extends-w10", mid(10), []string{roleHelpdesk}, customerA, gdap.AutoExtendOn)
	add(xssName, mid(2), []string{roleHelpdesk}, customerA, gdap.AutoExtendOff)
	add("lapses-ga-w3", mid(3), []string{roleHelpdesk, gdap.GlobalAdminRoleID}, customerA, gdap.AutoExtendOff)
	add("lapses-w20", mid(20), []string{roleHelpdesk}, customerA, gdap.AutoExtendOff)
	add("protected-w8", mid(8), []string{roleHelpdesk}, customerB, gdap.AutoExtendOff)
	add("beyond-w40", mid(40), []string{roleHelpdesk}, customerA, gdap.AutoExtendOn)
	ids["pending"] = addRelationship(t, b, gdap.Relationship{DisplayName: "pending", Status: gdap.StatusApprovalPending})
	ids["expired"] = addRelationship(t, b, gdap.Relationship{DisplayName: "expired", Status: gdap.StatusExpired})
	return ids
}

// TestReportPageInBrowser (acceptance 1): headless Chromium loads the page
// from the local stack after a sweep over a seeded mix; the figures, the
// chart's bars and the lists match the seed, and a relationship named
// <script>alert(1)</script> renders as text.
func TestReportPageInBrowser(t *testing.T) {
	t.Parallel()
	if err := browser.Available(t.Context()); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the browser test: %v", err)
		}
		t.Skipf("no browser: %v (make browser installs Debian's chromium)", err)
	}
	b := setup(t, map[string]string{"GDAP_PROTECTED_CUSTOMERS": customerB})
	ids := seedReportMix(t, b)
	b.send(t, "op-report-denied", command.TypeRelationshipRequest, request(ids["protected-w8"], gdap.ActionTerminate))
	b.send(t, "op-report-missing", command.TypeRelationshipUpdate, update("00000000-0000-4000-8000-00000000dead", map[string]any{"displayName": "x"}))
	b.drain(t)
	require.NoError(t, b.Emu.FireTimer(t.Context(), "expiry-sweep"))
	b.drain(t)

	url, err := b.ReportURL()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	dom, err := browser.DumpDOM(ctx, url)
	require.NoError(t, err)
	doc, err := html.Parse(bytes.NewReader(dom))
	require.NoError(t, err)

	figure := func(status string) string {
		n := find(doc, func(n *html.Node) bool { return attr(n, "data-status") == status })
		require.NotNil(t, n, "figure %s", status)
		return text(firstChild(n, "span"))
	}
	require.Equal(t, "10", figure("total"))
	require.Equal(t, "8", figure(gdap.StatusActive))
	require.Equal(t, "1", figure(gdap.StatusApprovalPending))
	require.Equal(t, "1", figure(gdap.StatusExpired))
	require.Equal(t, "4", text(byID(doc, "autoextend-count")))
	require.Equal(t, "50.0%", text(byID(doc, "coverage-value")))

	// The chart: week -> category -> count, from the rects' data.
	bars := map[int]map[int]int{}
	for _, g := range findAll(doc, func(n *html.Node) bool { return n.Data == "g" && attr(n, "data-week") != "" }) {
		w, _ := strconv.Atoi(attr(g, "data-week"))
		for _, r := range findAll(g, func(n *html.Node) bool { return n.Data == "rect" }) {
			c, _ := strconv.Atoi(attr(r, "data-category"))
			k, _ := strconv.Atoi(attr(r, "data-count"))
			require.NotEqual(t, "0", attr(r, "height"), "a drawn bar has a height")
			if bars[w] == nil {
				bars[w] = map[int]int{}
			}
			bars[w][c] += k
		}
	}
	require.Len(t, findAll(doc, func(n *html.Node) bool { return n.Data == "g" && attr(n, "data-week") != "" }), 26)
	require.Equal(t, map[int]map[int]int{
		2:  {sweep.CategoryAutoExtends: 2},
		3:  {sweep.CategoryLapseNoAutoExtend: 1},
		4:  {sweep.CategoryLapseGlobalAdmin: 1},
		9:  {sweep.CategoryProtected: 1},
		11: {sweep.CategoryAutoExtends: 1},
		21: {sweep.CategoryLapseNoAutoExtend: 1},
	}, bars, "data-week is 1-based")

	// The lapse list (30 days): the XSS-named one and the GA one, as text.
	lapsing := findAll(byID(doc, "lapsing"), func(n *html.Node) bool { return n.Data == "tr" && attr(n, "data-relationship") != "" })
	require.Len(t, lapsing, 2)
	require.Equal(t, ids[xssName], attr(lapsing[0], "data-relationship"))
	require.True(t, strings.HasPrefix(text(lapsing[0]), xssName), "the name renders as text: %q", text(lapsing[0]))
	require.Contains(t, text(lapsing[0]), "gdap.relationship.update --relationship-id "+ids[xssName])
	require.Contains(t, text(lapsing[1]), "gdap.relationship.removeGlobalAdmin --relationship-id "+ids["lapses-ga-w3"])
	require.Nil(t, find(doc, func(n *html.Node) bool { return n.Data == "script" }), "no script element anywhere")

	pending := findAll(byID(doc, "pending"), func(n *html.Node) bool { return n.Data == "tr" && attr(n, "data-relationship") != "" })
	require.Len(t, pending, 1)
	require.Contains(t, text(pending[0]), "90")

	codes := map[string]string{}
	for _, tr := range findAll(byID(doc, "failure-codes"), func(n *html.Node) bool { return attr(n, "data-code") != "" }) {
		codes[attr(tr, "data-code")] = strings.TrimSpace(text(lastChild(tr, "td")))
	}
	require.Equal(t, map[string]string{"policy_denied": "1", "not_found": "1"}, codes)
	require.Contains(t, text(byID(doc, "failure-latest")), "op-report-denied")
	require.Nil(t, byID(doc, "sweep-banner"), "a sweep just completed")
	require.NotEmpty(t, text(byID(doc, "sweep-finished")))
}

// TestReportAccess (acceptance 2, through the emulator): no principal, or
// one without the role, is refused with 403; a caller's own principal
// header is removed as App Service Authentication does (so it cannot forge
// one); other paths are 404; the local operator gets the page with its CSP.
func TestReportAccess(t *testing.T) {
	t.Parallel()
	anon := setup(t, nil, func(o *devstack.Options) { o.Anonymous = true })
	noRole := setup(t, nil, func(o *devstack.Options) { o.ClientPrincipal = devstack.DevPrincipal("Other.Role") })
	ok := setup(t, nil)
	forged := devstack.DevPrincipal("GDAP.Report.Read")
	get := func(b *bundle, path string, h map[string]string) int {
		u, err := b.ReportURL()
		require.NoError(t, err)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, strings.TrimSuffix(u, "/report")+path, nil)
		require.NoError(t, err)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		return resp.StatusCode
	}
	tests := []struct {
		name   string
		b      *bundle
		path   string
		header map[string]string
		want   int
	}{
		{"no principal", anon, "/report", nil, http.StatusForbidden},
		{"principal header sent by the caller", anon, "/report", map[string]string{"X-MS-CLIENT-PRINCIPAL": forged.Value, "X-MS-CLIENT-PRINCIPAL-IDP": forged.IdentityProvider}, http.StatusForbidden},
		{"without the role", noRole, "/report", nil, http.StatusForbidden},
		{"other path", ok, "/reports", nil, http.StatusNotFound},
		{"other function path", ok, "/report/x", nil, http.StatusNotFound},
		{"with the role", ok, "/report", nil, http.StatusOK},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, get(tt.b, tt.path, tt.header), tt.name)
	}
	status, body, h, err := ok.GetReport(t.Context())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, h.Get("Content-Security-Policy"), "script-src 'none'")
	require.Contains(t, string(body), "No expiry sweep has completed yet")
}
