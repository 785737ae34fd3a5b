// Package pcauth provides the App+User (secure application model) access
// token gdapflow presents to Partner Center.
//
// A Source redeems a stored refresh token at the Entra v2 token endpoint
// ({LoginBaseURL}/{TenantID}/oauth2/v2.0/token) with the refresh_token
// grant, authenticating the app registration either with its client secret
// or with a federated client assertion obtained from the managed identity
// (no secret at all). The grant goes through golang.org/x/oauth2: its
// clientcredentials.Config sends scope, client_id and client_secret as form
// parameters (AuthStyleInParams) and explicitly lets EndpointParams
// override grant_type, which is how the refresh_token grant with an explicit
// scope and an optional client_assertion is expressed without hand-written
// token plumbing (oauth2.Config's own refresher sends no scope and cannot
// carry an assertion).
//
// Every grant returns a new (rotated) refresh token; the Source stores it in
// its RefreshTokenStore (Key Vault in Azure: a new secret version) before it
// hands out the access token, with a compare-and-swap against the token it
// redeemed, so that instances rotating concurrently never put an older
// token back over a newer one (RefreshTokenStore.Replace). Access tokens are cached until RefreshMargin
// before expiry, by the injected clock, and concurrent callers share one
// grant (singleflight). Tokens and secrets never appear in logs or errors.
package pcauth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/sync/singleflight"

	"github.com/gdapflow/gdapflow/internal/upstream"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// Defaults and fixed values.
const (
	// RefreshMarginDefault is how long before expiry a cached access token
	// is refreshed.
	RefreshMarginDefault = 5 * time.Minute
	// RefreshTimeout bounds one refresh (store load, grant, store save). It
	// is independent of any single caller's context, since callers share it.
	RefreshTimeout = 30 * time.Second
	// PartnerCenterScope is the delegated Partner Center scope.
	PartnerCenterScope = "https://api.partnercenter.microsoft.com/user_impersonation"
	// JWTBearerAssertionType is the client_assertion_type of a federated
	// (JWT) client assertion.
	JWTBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// CodeInvalidGrant is the OAuth error code of a revoked, expired or
	// unknown refresh token.
	CodeInvalidGrant = "invalid_grant"
	// CodeInvalidClient is the OAuth error code of rejected app credentials.
	CodeInvalidClient = "invalid_client"
)

// opRefresh is the upstream.Error Operation of every refresh failure.
const opRefresh = "refresh App+User token"

// DefaultScopes are the scopes requested when Options.Scopes is empty.
func DefaultScopes() []string { return []string{PartnerCenterScope, "offline_access"} }

// InvalidGrantRemedy is the operator-facing message of an invalid_grant
// failure. It never contains the token.
const InvalidGrantRemedy = "the Partner Center App+User refresh token was rejected (revoked, expired after 90 days without use, or issued to another app): " +
	"an Admin Agent must sign in again with MFA to consent and bootstrap a new refresh token, then store it in the Key Vault secret named by GDAP_PC_REFRESH_TOKEN_SECRET_URI " +
	"(or GDAP_PC_REFRESH_TOKEN locally); see docs/partner-center-auth.md"

// InvalidClientRemedy is the operator-facing message of an invalid_client failure.
const InvalidClientRemedy = "the token endpoint rejected the Partner Center app's credentials: check GDAP_PC_CLIENT_ID and GDAP_PC_CLIENT_SECRET, " +
	"or, without a secret, the federated credential on the app registration that trusts the function app's managed identity; see docs/partner-center-auth.md"

// Options configures a Source.
type Options struct {
	// LoginBaseURL is the Entra root, e.g. https://login.microsoftonline.com
	// (GDAP_LOGIN_BASE_URL). Required; https unless the host is loopback.
	LoginBaseURL string
	// TenantID is the partner tenant (GDAP_PARTNER_TENANT_ID). Required.
	TenantID string
	// ClientID is the secure-application-model app (GDAP_PC_CLIENT_ID). Required.
	ClientID string
	// ClientSecret authenticates the app (GDAP_PC_CLIENT_SECRET). When empty,
	// Assertion is required.
	ClientSecret string
	// Assertion returns a federated client assertion (a managed identity
	// token for api://AzureADTokenExchange, see NewManagedIdentityAssertion).
	// Used when ClientSecret is empty.
	Assertion func(ctx context.Context) (string, error)
	// Scopes requested by the grant. Default DefaultScopes().
	Scopes []string
	// Store holds the refresh token and receives every rotated one. Required.
	Store RefreshTokenStore
	// Clock decides token expiry. Default vclock.Real.
	Clock vclock.Clock
	// HTTPClient calls the token endpoint. Default a client with a 30s
	// timeout. New uses a copy that never follows a redirect (see
	// noRedirects), whatever the given client's CheckRedirect says.
	HTTPClient *http.Client
	// Logger receives refresh events and the invalid_grant alarm. Default a
	// JSON handler on stderr at warn level.
	Logger *slog.Logger
	// RefreshMargin is how long before expiry a token is refreshed. Default
	// RefreshMarginDefault; capped at half the token's lifetime.
	RefreshMargin time.Duration
}

// Source issues App+User access tokens for Partner Center. It is safe for
// concurrent use.
type Source struct {
	opts     Options
	tokenURL string
	group    singleflight.Group

	mu        sync.Mutex
	access    string
	refreshAt time.Time
	// unsaved is a rotated refresh token not yet persisted to the Store,
	// and unsavedFrom the stored token it was redeemed from.
	unsaved     string
	unsavedFrom StoredToken
	// alarmed records OAuth error codes already logged loudly since the last
	// successful grant.
	alarmed map[string]bool
}

// New validates opts, applies defaults and returns a Source.
func New(opts Options) (*Source, error) {
	var errs []error
	opts.LoginBaseURL = strings.TrimRight(opts.LoginBaseURL, "/")
	if u, err := url.Parse(opts.LoginBaseURL); opts.LoginBaseURL == "" || err != nil || u.Host == "" {
		errs = append(errs, errors.New("pcauth: LoginBaseURL must be an absolute URL"))
	} else if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		errs = append(errs, fmt.Errorf("pcauth: LoginBaseURL must use https unless the host is loopback, got %q", opts.LoginBaseURL))
	}
	if opts.TenantID == "" || strings.ContainsAny(opts.TenantID, "/?#") {
		errs = append(errs, errors.New("pcauth: TenantID is required"))
	}
	if opts.ClientID == "" {
		errs = append(errs, errors.New("pcauth: ClientID is required"))
	}
	if opts.ClientSecret == "" && opts.Assertion == nil {
		errs = append(errs, errors.New("pcauth: ClientSecret or Assertion is required"))
	}
	if opts.Store == nil {
		errs = append(errs, errors.New("pcauth: Store is required"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(opts.Scopes) == 0 {
		opts.Scopes = DefaultScopes()
	}
	if opts.Clock == nil {
		opts.Clock = vclock.Real{}
	}
	opts.HTTPClient = noRedirects(opts.HTTPClient)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	opts.RefreshMargin = cmp.Or(opts.RefreshMargin, RefreshMarginDefault)
	return &Source{
		opts:     opts,
		tokenURL: opts.LoginBaseURL + "/" + url.PathEscape(opts.TenantID) + "/oauth2/v2.0/token",
		alarmed:  map[string]bool{},
	}, nil
}

// Token returns a valid App+User access token for Partner Center, from the
// cache or by one shared refresh. Errors are *upstream.Error: invalid_grant
// (Service entra, StatusCode 400, Code "invalid_grant", Message
// InvalidGrantRemedy) means an operator must re-bootstrap the refresh
// token; transport failures and 429/5xx are transient.
func (s *Source) Token(ctx context.Context) (string, error) {
	if tok, ok := s.cached(); ok {
		return tok, nil
	}
	// The refresh runs detached from this caller's cancellation because other
	// callers may be sharing it; RefreshTimeout bounds it.
	ch := s.group.DoChan("refresh", func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RefreshTimeout)
		defer cancel()
		return s.refresh(rctx)
	})
	select {
	case <-ctx.Done():
		return "", &upstream.Error{Service: upstream.ServiceEntra, Operation: opRefresh, Err: ctx.Err()}
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(string), nil
	}
}

// Invalidate drops token from the cache if it is the cached access token,
// so that the next Token call redeems the refresh token again. Partner
// Center callers use it when a token is refused with 401 before its expiry
// (for example after the Admin Agent's sessions were revoked).
func (s *Source) Invalidate(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token != "" && s.access == token {
		s.access = ""
	}
}

func (s *Source) cached() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.access != "" && s.unsaved == "" && s.opts.Clock.Now().Before(s.refreshAt) {
		return s.access, true
	}
	return "", false
}

// refresh persists a pending rotated refresh token, then returns the cached
// access token if still valid, else redeems the stored refresh token.
func (s *Source) refresh(ctx context.Context) (string, error) {
	s.mu.Lock()
	pending, from := s.unsaved, s.unsavedFrom
	s.mu.Unlock()
	if pending != "" {
		if err := s.save(ctx, from, pending); err != nil {
			return "", err
		}
	}
	if tok, ok := s.cached(); ok {
		return tok, nil
	}

	cur, err := s.opts.Store.Current(ctx)
	if err != nil {
		return "", err
	}
	if cur.Value == "" {
		uerr := &upstream.Error{Service: upstream.ServiceEntra, Operation: opRefresh, StatusCode: http.StatusBadRequest,
			Code: CodeInvalidGrant, Message: "no refresh token is stored: " + InvalidGrantRemedy}
		s.alarm(ctx, CodeInvalidGrant, "", uerr)
		return "", uerr
	}

	start := s.opts.Clock.Now()
	tok, err := s.grant(ctx, cur.Value)
	if isInvalidGrant(err) {
		// Where refresh tokens are single-use, another instance may have
		// redeemed this one and stored its successor since it was read:
		// read again and, if the store moved on, redeem the newer token.
		if again, lerr := s.opts.Store.Current(ctx); lerr == nil && again.Value != "" && again.Value != cur.Value {
			s.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "refresh token was rotated by another instance meanwhile; redeeming the newer one",
				slog.String("client_id", s.opts.ClientID))
			cur = again
			tok, err = s.grant(ctx, cur.Value)
		}
	}
	if err != nil {
		return "", s.grantError(ctx, err, cur.Value)
	}
	lifetime := expiresIn(tok)
	margin := min(s.opts.RefreshMargin, lifetime/2)
	rotated := tok.RefreshToken != "" && tok.RefreshToken != cur.Value

	s.mu.Lock()
	s.access = tok.AccessToken
	s.refreshAt = start.Add(lifetime - margin)
	if rotated {
		s.unsaved, s.unsavedFrom = tok.RefreshToken, cur
	}
	clear(s.alarmed)
	s.mu.Unlock()
	s.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "refreshed Partner Center App+User token",
		slog.String("client_id", s.opts.ClientID), slog.Time("expires_at", start.Add(lifetime)), slog.Bool("refresh_token_rotated", rotated))

	if rotated {
		if err := s.save(ctx, cur, tok.RefreshToken); err != nil {
			return "", err
		}
	}
	return tok.AccessToken, nil
}

// save stores a rotated refresh token in place of the token it was redeemed
// from (a compare-and-swap) and clears it from the pending slot. When the
// store has moved on (another instance rotated first), the rotated token is
// dropped: the stored one is newer or equally valid, and the access token
// already obtained stays good.
func (s *Source) save(ctx context.Context, from StoredToken, rt string) error {
	err := s.opts.Store.Replace(ctx, from, rt)
	switch {
	case errors.Is(err, ErrTokenSuperseded):
		s.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "another instance stored a newer Partner Center refresh token first; this rotation's token is dropped",
			slog.String("client_id", s.opts.ClientID), slog.String("redeemed_version", from.Version))
	case err != nil:
		s.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "could not persist the rotated Partner Center refresh token; will retry before handing out a token",
			slog.String("error", err.Error()))
		return err
	}
	s.mu.Lock()
	if s.unsaved == rt {
		s.unsaved, s.unsavedFrom = "", StoredToken{}
	}
	s.mu.Unlock()
	return nil
}

// isInvalidGrant reports a token endpoint answer with invalid_grant.
func isInvalidGrant(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == CodeInvalidGrant
}

// grant redeems rt with the refresh_token grant through x/oauth2.
func (s *Source) grant(ctx context.Context, rt string) (*oauth2.Token, error) {
	params := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	if s.opts.ClientSecret == "" {
		a, err := s.opts.Assertion(ctx)
		if err != nil {
			return nil, fmt.Errorf("federated client assertion: %w", err)
		}
		params.Set("client_assertion_type", JWTBearerAssertionType)
		params.Set("client_assertion", a)
	}
	cfg := clientcredentials.Config{
		ClientID:       s.opts.ClientID,
		ClientSecret:   s.opts.ClientSecret,
		TokenURL:       s.tokenURL,
		Scopes:         s.opts.Scopes,
		EndpointParams: params,
		AuthStyle:      oauth2.AuthStyleInParams,
	}
	return cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, s.opts.HTTPClient))
}

var aadstsRE = regexp.MustCompile(`AADSTS\d+`)

// grantError maps a grant failure to *upstream.Error and raises the alarm
// for credential failures. secret is scrubbed from any text kept.
func (s *Source) grantError(ctx context.Context, err error, secret string) error {
	if ue, ok := upstream.As(err); ok {
		return ue // from the assertion provider
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return &upstream.Error{Service: upstream.ServiceEntra, Operation: opRefresh, Err: errors.New(scrub(err.Error(), secret, s.opts.ClientSecret))}
	}
	ue := &upstream.Error{
		Service:    upstream.ServiceEntra,
		Operation:  opRefresh,
		StatusCode: re.Response.StatusCode,
		Code:       re.ErrorCode,
		RequestID:  re.Response.Header.Get("x-ms-request-id"),
		RetryAfter: upstream.ParseRetryAfter(re.Response.Header.Get("Retry-After"), s.opts.Clock.Now()),
	}
	if re.Response.StatusCode >= 300 && re.Response.StatusCode < 400 {
		ue.Message = redirectRefused(re.Response)
		return ue
	}
	aadsts := aadstsRE.FindString(re.ErrorDescription)
	switch re.ErrorCode {
	case CodeInvalidGrant:
		ue.StatusCode = http.StatusBadRequest
		ue.Message = InvalidGrantRemedy
	case CodeInvalidClient:
		ue.Message = InvalidClientRemedy
	default:
		ue.Message = aadsts
	}
	if aadsts != "" && ue.Message != aadsts {
		ue.Message += " (" + aadsts + ")"
	}
	if re.ErrorCode == CodeInvalidGrant || re.ErrorCode == CodeInvalidClient {
		s.alarm(ctx, re.ErrorCode, aadsts, ue)
	}
	return ue
}

// alarm logs a credential failure once, at error level, until the next
// successful grant. It never logs the token.
func (s *Source) alarm(ctx context.Context, code, aadsts string, ue *upstream.Error) {
	s.mu.Lock()
	seen := s.alarmed[code]
	s.alarmed[code] = true
	s.mu.Unlock()
	if seen {
		return
	}
	s.opts.Logger.LogAttrs(ctx, slog.LevelError, "Partner Center App+User credentials rejected: DAP removal fails with unauthorized until an operator fixes them",
		slog.String("service", ue.Service), slog.String("oauth_error", code), slog.String("aadsts", aadsts),
		slog.String("tenant_id", s.opts.TenantID), slog.String("client_id", s.opts.ClientID),
		slog.String("remedy", ue.Message))
}

// expiresIn reads the token lifetime from the response (expires_in),
// ignoring the wall-clock Expiry x/oauth2 computes.
func expiresIn(t *oauth2.Token) time.Duration {
	switch v := t.Extra("expires_in").(type) {
	case float64:
		return time.Duration(v) * time.Second
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return time.Duration(n) * time.Second
		}
	}
	if t.ExpiresIn > 0 {
		return time.Duration(t.ExpiresIn) * time.Second
	}
	return 0 // unknown: used once, never cached
}

// scrub removes secrets from text.
func scrub(text string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			text = strings.ReplaceAll(text, sec, "<redacted>")
		}
	}
	return text
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
