// Package partnercenter is gdapflow's Partner Center REST client: reading a
// customer and removing legacy DAP (AllowDelegatedAccess false). Partner
// Center accepts these calls only with an App+User token, which a
// TokenSource (pcauth.Source in production) provides.
//
// Every call sends MS-CorrelationId (the operation's correlation id) and a
// fresh MS-RequestId, is bounded by CallTimeout, and fails with
// *upstream.Error (Service partnercenter). Tokens never appear in errors.
package partnercenter

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gdapflow/gdapflow/internal/upstream"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// CallTimeout bounds one Partner Center request.
const CallTimeout = 8 * time.Second

// Operator-facing messages for refused credentials.
const (
	// UnauthorizedHint explains a 401.
	UnauthorizedHint = "Partner Center refused the App+User token: ensure the app registration (GDAP_PC_CLIENT_ID) has the Partner Center user_impersonation delegated permission with admin consent, " +
		"and that the refresh token belongs to an Admin Agent who signed in with MFA; see docs/partner-center-auth.md"
	// ForbiddenHint explains a 403.
	ForbiddenHint = "Partner Center forbade the call: it accepts only App+User tokens of a user holding the Admin Agent role in the partner tenant, signed in with MFA, " +
		"for a customer with a reseller relationship; re-bootstrap the refresh token with such a user (docs/partner-center-auth.md)"
)

// TokenSource supplies App+User access tokens. *pcauth.Source implements it.
type TokenSource interface {
	// Token returns a valid access token.
	Token(ctx context.Context) (string, error)
}

// tokenInvalidator is implemented by token sources that can drop a cached
// token Partner Center refused (pcauth.Source).
type tokenInvalidator interface {
	Invalidate(token string)
}

// Customer is the part of Partner Center's Customer resource gdapflow uses.
type Customer struct {
	// ID is the customer's tenant id.
	ID string
	// CompanyName is companyProfile.companyName.
	CompanyName string
	// AllowDelegatedAccess is the legacy DAP flag; nil when Partner Center
	// did not report it (it does only on a GET of one customer).
	AllowDelegatedAccess *bool
}

// Client calls Partner Center. It is safe for concurrent use.
type Client struct {
	baseURL string
	tokens  TokenSource
	hc      *http.Client
	clock   vclock.Clock
}

// New returns a client for the Partner Center root baseURL
// (GDAP_PARTNER_CENTER_BASE_URL). A nil hc uses http.DefaultClient; a nil
// clock uses vclock.Real.
func New(baseURL string, tokens TokenSource, hc *http.Client, clock vclock.Clock) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	if clock == nil {
		clock = vclock.Real{}
	}
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), tokens: tokens, hc: hc, clock: clock}
}

// GetCustomer reads one customer, including AllowDelegatedAccess.
// A 404 is an *upstream.Error with StatusCode 404.
func (c *Client) GetCustomer(ctx context.Context, tenantID, correlationID string) (Customer, error) {
	return c.do(ctx, "get customer", http.MethodGet, tenantID, nil, correlationID)
}

// dapBody is the Customer resource body that removes legacy DAP, as in
// Partner Center's documentation.
var dapBody = []byte(`{"AllowDelegatedAccess":false,"attributes":{"objectType":"Customer"}}`)

// DisableDelegatedAccess sends PATCH /v1/customers/{id}/ with
// AllowDelegatedAccess false (idempotent) and returns the customer Partner
// Center answers with. Its AllowDelegatedAccess is usually nil, because
// Partner Center reports the flag only on GET: confirm with GetCustomer.
func (c *Client) DisableDelegatedAccess(ctx context.Context, tenantID, correlationID string) (Customer, error) {
	return c.do(ctx, "remove legacy DAP", http.MethodPatch, tenantID, dapBody, correlationID)
}

// customerURL is the URL of one customer. PATCH gets a trailing slash, as in
// the documented request syntax of the DAP removal.
func (c *Client) customerURL(method, tenantID string) string {
	u := c.baseURL + "/v1/customers/" + url.PathEscape(tenantID)
	if method == http.MethodPatch {
		u += "/"
	}
	return u
}

// pcError is Partner Center's error body.
type pcError struct {
	Code        json.RawMessage `json:"code"`
	Description string          `json:"description"`
}

type customerBody struct {
	ID             string `json:"id"`
	CompanyProfile struct {
		TenantID    string `json:"tenantId"`
		CompanyName string `json:"companyName"`
	} `json:"companyProfile"`
	AllowDelegatedAccess *bool `json:"allowDelegatedAccess"`
}

// do sends one request about the customer tenantID and decodes the Customer
// Partner Center answers with.
func (c *Client) do(ctx context.Context, op, method, tenantID string, body []byte, correlationID string) (Customer, error) {
	var cb customerBody
	if err := c.call(ctx, op, method, c.customerURL(method, tenantID), body, correlationID, &cb); err != nil {
		return Customer{}, err
	}
	return Customer{ID: cmp.Or(cb.ID, cb.CompanyProfile.TenantID, tenantID), CompanyName: cb.CompanyProfile.CompanyName, AllowDelegatedAccess: cb.AllowDelegatedAccess}, nil
}

// call sends one request to u and decodes the JSON answer into out. A
// cached token refused with 401 before its expiry (sessions revoked,
// consent withdrawn and granted again) is dropped and the call made once
// more with a freshly redeemed one.
func (c *Client) call(ctx context.Context, op, method, u string, body []byte, correlationID string, out any) error {
	raw, status, requestID, token, err := c.exchange(ctx, op, method, u, body, correlationID)
	if ue, ok := upstream.As(err); ok && ue.StatusCode == http.StatusUnauthorized && ue.Service == upstream.ServicePartnerCenter {
		if inv, ok := c.tokens.(tokenInvalidator); ok {
			inv.Invalidate(token)
			raw, status, requestID, _, err = c.exchange(ctx, op, method, u, body, correlationID)
		}
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &upstream.Error{Service: upstream.ServicePartnerCenter, Operation: op, StatusCode: status,
			Code: "invalid_response", Message: "Partner Center answered with a body that is not the expected JSON", RequestID: requestID, Err: err}
	}
	return nil
}

// exchange sends one App+User request to u and returns the 2xx body, its
// status, the request id, and the token it used; anything else is an
// *upstream.Error.
func (c *Client) exchange(ctx context.Context, op, method, u string, body []byte, correlationID string) ([]byte, int, string, string, error) {
	token, err := c.tokens.Token(ctx)
	if err != nil {
		if _, ok := upstream.As(err); ok {
			return nil, 0, "", "", err
		}
		return nil, 0, "", "", &upstream.Error{Service: upstream.ServiceEntra, Operation: "get App+User token", Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, 0, "", token, &upstream.Error{Service: upstream.ServicePartnerCenter, Operation: op, Err: err}
	}
	requestID := uuid.NewString()
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("MS-RequestId", requestID)
	if correlationID != "" {
		req.Header.Set("MS-CorrelationId", correlationID)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// *url.Error names the URL (no credentials in it) and the cause.
		return nil, 0, requestID, token, &upstream.Error{Service: upstream.ServicePartnerCenter, Operation: op, RequestID: requestID, Err: err}
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if respID := resp.Header.Get("MS-RequestId"); respID != "" {
		requestID = respID
	}
	if err != nil {
		return nil, resp.StatusCode, requestID, token, &upstream.Error{Service: upstream.ServicePartnerCenter, Operation: op, RequestID: requestID, Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, resp.StatusCode, requestID, token, c.responseError(op, resp, raw, requestID)
	}
	return raw, resp.StatusCode, requestID, token, nil
}

func (c *Client) responseError(op string, resp *http.Response, raw []byte, requestID string) error {
	ue := &upstream.Error{
		Service:    upstream.ServicePartnerCenter,
		Operation:  op,
		StatusCode: resp.StatusCode,
		RequestID:  requestID,
		RetryAfter: upstream.ParseRetryAfter(resp.Header.Get("Retry-After"), c.clock.Now()),
	}
	var pe pcError
	if json.Unmarshal(raw, &pe) == nil {
		ue.Code = codeString(pe.Code)
		ue.Message = truncate(pe.Description, 1024)
	}
	hint := ""
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		hint = UnauthorizedHint
	case http.StatusForbidden:
		hint = ForbiddenHint
	}
	if hint != "" {
		if ue.Message != "" {
			hint += fmt.Sprintf(" (Partner Center said: %s)", ue.Message)
		}
		ue.Message = hint
	}
	return ue
}

// codeString renders Partner Center's code, which is a string or a number.
func codeString(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String()
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
