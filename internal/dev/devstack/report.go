package devstack

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/dev/hostemu"
	"github.com/gdapflow/gdapflow/internal/report"
)

// ReportFunction is the operators' page (GET /api/report).
const ReportFunction = "report"

// DevPrincipal is the local operator the emulator presents to HTTP
// functions in place of App Service Authentication, holding roles (the
// handler accepts it only with GDAP_DEV_REPORT_PRINCIPAL, local only).
func DevPrincipal(roles ...string) *hostemu.ClientPrincipal {
	p := report.Principal{AuthType: report.IdentityProviderDev, NameType: "name", RoleType: "roles",
		Claims: []report.Claim{{Type: "name", Value: "local operator"}}}
	for _, r := range roles {
		p.Claims = append(p.Claims, report.Claim{Type: "roles", Value: r})
	}
	return &hostemu.ClientPrincipal{Value: p.Encode(), IdentityProvider: report.IdentityProviderDev, Name: "local operator"}
}

// principalOf is the principal the stack's emulator presents: Options'
// own, none when Anonymous, else a local operator with the report role.
func principalOf(opts Options) *hostemu.ClientPrincipal {
	switch {
	case opts.Anonymous:
		return nil
	case opts.ClientPrincipal != nil:
		return opts.ClientPrincipal
	}
	return DevPrincipal(config.DefaultReportRole)
}

// ReportURL is the report page's local URL.
func (s *Stack) ReportURL() (string, error) { return s.Emu.FunctionURL(ReportFunction) }

// GetReport fetches the report page; it returns the status and body.
func (s *Stack) GetReport(ctx context.Context) (int, []byte, http.Header, error) {
	u, err := s.ReportURL()
	if err != nil {
		return 0, nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("devstack: get report: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, resp.Header, err
}
