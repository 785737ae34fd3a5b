package pcauth

import (
	"fmt"
	"net/http"
)

// noRedirects returns a copy of hc (or a new client with RefreshTimeout
// when nil) that does not follow redirects. Go's default policy re-sends a
// POST to wherever a 307 or 308 points, body included: for the token
// endpoint that is the refresh token and the client secret (or assertion).
// With http.ErrUseLastResponse the client returns the 3xx response itself,
// which x/oauth2 reports as a *oauth2.RetrieveError and grantError maps to
// an *upstream.Error naming the redirect. Entra's token endpoint does not
// redirect, so a redirect means a misconfigured LoginBaseURL or something in
// the path; it is never retried elsewhere.
func noRedirects(hc *http.Client) *http.Client {
	var c http.Client
	if hc == nil {
		c.Timeout = RefreshTimeout
	} else {
		c = *hc
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// redirectRefused is the operator-facing message of a redirect answer. It
// names the status and the target's host only (never a query, which could
// carry anything).
func redirectRefused(resp *http.Response) string {
	msg := fmt.Sprintf("the token endpoint answered %d (a redirect); redirects are refused so that the refresh token and client credentials are never sent anywhere else: check GDAP_LOGIN_BASE_URL", resp.StatusCode)
	if loc, err := resp.Location(); err == nil && loc.Host != "" {
		msg += " (redirect target host " + loc.Host + ")"
	}
	return msg
}
