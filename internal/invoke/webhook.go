package invoke

import (
	"context"
	"net/http"

	"github.com/gdapflow/gdapflow/internal/hostwire"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/webhook"
)

// FunctionPartnerCenterWebhook is the HTTP function Partner Center posts
// its webhook events to (functions/partner-center-webhook).
const FunctionPartnerCenterWebhook = "partner-center-webhook"

// Binding names of functions/partner-center-webhook/function.json.
const (
	bindingRequest  = "req"
	bindingResponse = "res"
)

// webhookReceiver handles one Partner Center delivery (*webhook.Receiver).
type webhookReceiver interface {
	Handle(ctx context.Context, inv op.Invocation, req webhook.Request) webhook.Response
}

var _ webhookReceiver = (*webhook.Receiver)(nil)

// webhook serves the HTTP-triggered partner-center-webhook function: the
// request is Data.req, the answer goes back as the output binding res, and
// the host itself always gets 200 (docs/platform/functions-host-facts.md §3.7).
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	c := s.begin(w, r, FunctionPartnerCenterWebhook)
	if c == nil {
		return
	}
	defer c.cancel()
	c.inv.MessageID = r.Header.Get("X-Azure-Functions-InvocationId")
	answer := func(status int, body string) {
		hostwire.WriteHTTPResponse(w, bindingResponse, hostwire.HTTPResponse{StatusCode: status,
			Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: body}, c.logs.result())
	}
	req, err := c.host.HTTPRequest(bindingRequest)
	if err != nil {
		c.inv.Logger.ErrorContext(c.ctx, "HTTP request could not be decoded", "error", err.Error())
		answer(http.StatusBadRequest, "bad request")
		return
	}
	if s.opts.Webhook == nil {
		c.inv.Logger.WarnContext(c.ctx, "webhook delivery but no receiver is configured")
		answer(http.StatusServiceUnavailable, "not configured")
		return
	}
	resp := s.opts.Webhook.Handle(c.ctx, c.inv, webhook.Request{Method: req.Method, Headers: req.Headers, Body: req.Body})
	answer(resp.Status, resp.Body)
}
