package invoke

import (
	"context"
	"net/http"
	"time"

	"github.com/gdapflow/gdapflow/internal/hostwire"
	"github.com/gdapflow/gdapflow/internal/report"
)

// FunctionReport is the HTTP function serving the operators' page
// (functions/report, GET /api/report).
const FunctionReport = "report"

// reportPage renders the report as of a time (*report.Source).
type reportPage interface {
	Page(ctx context.Context, now time.Time) ([]byte, error)
}

var _ reportPage = (*report.Source)(nil)

// report serves the HTTP-triggered report function: GET only, and only for
// a principal holding the report role (App Service Authentication is in
// front; this is defence in depth). Refusals say only "forbidden"; the log
// says why.
func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	c := s.begin(w, r, FunctionReport)
	if c == nil {
		return
	}
	defer c.cancel()
	c.inv.MessageID = r.Header.Get("X-Azure-Functions-InvocationId")
	text := func(status int, body string) {
		hostwire.WriteHTTPResponse(w, bindingResponse, hostwire.HTTPResponse{StatusCode: status,
			Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}, Body: body}, c.logs.result())
	}
	req, err := c.host.HTTPRequest(bindingRequest)
	if err != nil {
		c.inv.Logger.ErrorContext(c.ctx, "HTTP request could not be decoded", "error", err.Error())
		text(http.StatusBadRequest, "bad request")
		return
	}
	if req.Method != http.MethodGet {
		text(http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	p, err := report.Authorize(req.Header, s.opts.ReportAuth)
	if err != nil {
		c.inv.Logger.WarnContext(c.ctx, "report request refused", "reason", err.Error())
		text(http.StatusForbidden, "forbidden")
		return
	}
	if s.opts.Report == nil {
		text(http.StatusServiceUnavailable, "not configured")
		return
	}
	page, err := s.opts.Report.Page(c.ctx, c.inv.Clock.Now().UTC())
	if err != nil {
		c.inv.Logger.ErrorContext(c.ctx, "report could not be built", "error", err.Error())
		text(http.StatusInternalServerError, "the report is unavailable; try again")
		return
	}
	c.inv.Logger.InfoContext(c.ctx, "report served", "identity_provider", p.AuthType, "bytes", len(page),
		"elapsed_ms", time.Since(c.start).Milliseconds())
	hostwire.WriteHTTPResponse(w, bindingResponse, hostwire.HTTPResponse{StatusCode: http.StatusOK,
		Headers: report.Headers(), Body: string(page)}, c.logs.result())
}
