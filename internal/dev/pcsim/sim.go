// Package pcsim simulates the three remote services gdapflow's legacy DAP
// removal talks to, behind one http.Handler:
//
//   - Partner Center: GET and PATCH /v1/customers/{id} (App+User tokens only),
//   - the Entra token endpoint: POST /{tenant}/oauth2/v2.0/token
//     (refresh_token and client_credentials grants, refresh token rotation),
//   - the Key Vault secrets REST subset: GET and PUT /secrets/{name}[/{version}]
//     with Key Vault's challenge-based authentication, so that the real
//     azsecrets client works against it.
//
// Control endpoints live under /_pcsim/. The handler answers only these path
// prefixes (see Handles), so it can share a listener with the Graph
// simulator. Time (token expiry) is read from an injected vclock.Clock; the
// simulator never sleeps.
//
// Refresh token rotation: every refresh_token grant returns a new refresh
// token. Like real Entra, the redeemed (older) refresh token stays valid
// until its own lifetime ends or it is revoked; Options.StrictRotation makes
// a redeemed refresh token invalid (invalid_grant) instead, which is the
// stricter model clients must also survive.
package pcsim

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gdapflow/gdapflow/internal/vclock"
)

// Defaults applied by New.
const (
	// AccessTokenLifetimeDefault is the default access token lifetime (expires_in).
	AccessTokenLifetimeDefault = time.Hour
	// RefreshTokenLifetimeDefault is the default refresh token lifetime: Entra
	// refresh tokens lapse after 90 days without use.
	RefreshTokenLifetimeDefault = 90 * 24 * time.Hour
	// PartnerCenterScopeDefault is the delegated scope App+User tokens carry.
	PartnerCenterScopeDefault = "https://api.partnercenter.microsoft.com/user_impersonation"
	// LoginBaseURLDefault is the login root named in Key Vault's challenge.
	LoginBaseURLDefault = "https://login.microsoftonline.com"
	// VaultResourceDefault is the resource named in Key Vault's challenge.
	VaultResourceDefault = "https://vault.azure.net"
	// TenantIDDefault is the tenant named in Key Vault's challenge when
	// Options.TenantID is empty.
	TenantIDDefault = "00000000-0000-0000-0000-000000000000"
	// JWTBearerAssertionType is the OAuth client_assertion_type for a
	// federated (JWT) client assertion.
	JWTBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// Options configures a Sim. The zero value is usable: it accepts any
// client id with any non-empty secret and no assertion.
type Options struct {
	// Clock drives token expiry. Default vclock.Real.
	Clock vclock.Clock
	// TenantID is the partner tenant the token endpoint serves; requests for
	// another tenant path fail with invalid_request. Empty accepts any tenant.
	TenantID string
	// ClientID is the only app registration the token endpoint knows. Empty
	// accepts any client id.
	ClientID string
	// ClientSecret is the app's secret. Empty accepts any non-empty secret;
	// set DisableClientSecret to refuse secrets altogether.
	ClientSecret string
	// DisableClientSecret refuses client_secret authentication (an app with a
	// federated credential and no secret).
	DisableClientSecret bool
	// AcceptedAssertion is the client_assertion value accepted with
	// client_assertion_type jwt-bearer. Empty refuses assertions.
	AcceptedAssertion string
	// AccessTokenLifetime is expires_in of issued access tokens. Default 1h.
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime is how long a refresh token stays redeemable
	// after it was issued. Default 90 days.
	RefreshTokenLifetime time.Duration
	// StrictRotation makes a refresh token invalid once it has been redeemed.
	// Default false: like Entra, an old refresh token stays valid for its
	// lifetime after rotation.
	StrictRotation bool
	// Scope is the delegated scope the refresh_token grant requires and
	// returns. Default PartnerCenterScopeDefault.
	Scope string
	// AllowAppOnly makes Partner Center accept app-only (client_credentials)
	// tokens. Default false: Partner Center's DAP removal is App+User only.
	AllowAppOnly bool
	// LoginBaseURL is the login root in Key Vault's challenge. Default
	// LoginBaseURLDefault.
	LoginBaseURL string
	// VaultResource is the resource in Key Vault's challenge. Default
	// VaultResourceDefault.
	VaultResource string
	// KeyVaultToken, when set, is the only bearer token Key Vault accepts.
	// Default: any non-empty bearer token.
	KeyVaultToken string
}

// Counters counts requests the simulator answered, by kind.
type Counters struct {
	// RefreshTokenGrants counts successful refresh_token grants.
	RefreshTokenGrants int `json:"refreshTokenGrants"`
	// ClientCredentialsGrants counts successful client_credentials grants.
	ClientCredentialsGrants int `json:"clientCredentialsGrants"`
	// FailedGrants counts token requests answered with an OAuth error.
	FailedGrants int `json:"failedGrants"`
	// CustomerGets counts successful GET /v1/customers/{id}.
	CustomerGets int `json:"customerGets"`
	// CustomerPatches counts successful PATCH /v1/customers/{id}.
	CustomerPatches int `json:"customerPatches"`
	// DAPRemovals counts PATCHes that actually changed AllowDelegatedAccess.
	DAPRemovals int `json:"dapRemovals"`
	// SecretGets counts successful Key Vault secret reads.
	SecretGets int `json:"secretGets"`
	// SecretSets counts successful Key Vault secret writes (new versions).
	SecretSets int `json:"secretSets"`
	// KeyVaultChallenges counts 401 challenges Key Vault answered.
	KeyVaultChallenges int `json:"keyVaultChallenges"`
	// FaultsInjected counts requests answered by an injected fault.
	FaultsInjected int `json:"faultsInjected"`
}

// JournalEntry is one request the simulator answered. Secrets are redacted:
// the Authorization value, refresh tokens, client secrets, assertions and
// Key Vault secret values never appear.
type JournalEntry struct {
	// Time is the simulator clock when the request arrived.
	Time time.Time `json:"time"`
	// Method and Path identify the request; Query is its raw query.
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query,omitempty"`
	// Headers holds the relevant request headers (Authorization redacted).
	Headers map[string]string `json:"headers,omitempty"`
	// Body is the request body, with secret fields redacted.
	Body string `json:"body,omitempty"`
	// Status is the response status, 0 for an injected connection reset.
	Status int `json:"status"`
	// ResponseHeaders holds the relevant response headers.
	ResponseHeaders map[string]string `json:"responseHeaders,omitempty"`
}

// Sim is the simulator. It is safe for concurrent use.
type Sim struct {
	opts Options

	mu        sync.Mutex
	customers map[string]*Customer
	refresh   map[string]*refreshToken
	access    map[string]*accessToken
	secrets   map[string][]secretVersion
	faults    map[faultKey][]Fault
	journal   []JournalEntry
	counters  Counters
	hooks     webhookState
}

// New returns a simulator with opts' defaults applied.
func New(opts Options) *Sim {
	if opts.Clock == nil {
		opts.Clock = vclock.Real{}
	}
	if opts.AccessTokenLifetime <= 0 {
		opts.AccessTokenLifetime = AccessTokenLifetimeDefault
	}
	if opts.RefreshTokenLifetime <= 0 {
		opts.RefreshTokenLifetime = RefreshTokenLifetimeDefault
	}
	if opts.Scope == "" {
		opts.Scope = PartnerCenterScopeDefault
	}
	if opts.LoginBaseURL == "" {
		opts.LoginBaseURL = LoginBaseURLDefault
	}
	opts.LoginBaseURL = strings.TrimRight(opts.LoginBaseURL, "/")
	if opts.VaultResource == "" {
		opts.VaultResource = VaultResourceDefault
	}
	return &Sim{
		opts:      opts,
		customers: map[string]*Customer{},
		refresh:   map[string]*refreshToken{},
		access:    map[string]*accessToken{},
		secrets:   map[string][]secretVersion{},
		faults:    map[faultKey][]Fault{},
	}
}

var tokenPathRE = regexp.MustCompile(`^/[^/]+/oauth2/v2\.0/token/?$`)

// Handles reports whether path belongs to this simulator: /v1/customers/,
// /webhooks/v1/registration,
// /{tenant}/oauth2/v2.0/token, /secrets/ or /_pcsim/. A combined server
// routes requests for which Handles is true to the Sim.
func Handles(path string) bool {
	return strings.HasPrefix(path, "/v1/customers/") ||
		strings.HasPrefix(path, "/webhooks/v1/registration") ||
		strings.HasPrefix(path, "/secrets/") ||
		strings.HasPrefix(path, "/_pcsim/") ||
		tokenPathRE.MatchString(path)
}

// ServeHTTP implements http.Handler.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/_pcsim/"):
		s.serveControl(w, r)
	case strings.HasPrefix(p, "/v1/customers/"):
		s.serveRecorded(w, r, RouteCustomers, s.serveCustomers, nil)
	case strings.HasPrefix(p, "/webhooks/v1/registration"):
		s.serveRecorded(w, r, RouteWebhooks, s.serveWebhooks, nil)
	case strings.HasPrefix(p, "/secrets/"):
		s.serveRecorded(w, r, RouteSecrets, s.serveSecrets, redactSecretBody)
	case tokenPathRE.MatchString(p):
		s.serveRecorded(w, r, RouteToken, s.serveToken, redactTokenForm)
	default:
		http.NotFound(w, r)
	}
}

// recorder captures the status and selected headers of a response.
type recorder struct {
	http.ResponseWriter
	status int
}

func (rec *recorder) WriteHeader(code int) {
	if rec.status == 0 {
		rec.status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.ResponseWriter.Write(b)
}

// serveRecorded reads the body, applies injected faults, serves the request
// with fn and appends a journal entry.
func (s *Sim) serveRecorded(w http.ResponseWriter, r *http.Request, route Route, fn func(http.ResponseWriter, *http.Request, []byte), redact func([]byte) string) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	_ = r.Body.Close()
	entry := JournalEntry{
		Time:    s.opts.Clock.Now(),
		Method:  r.Method,
		Path:    r.URL.Path,
		Query:   r.URL.RawQuery,
		Headers: relevantHeaders(r.Header),
	}
	if redact != nil {
		entry.Body = redact(body)
	} else {
		entry.Body = string(body)
	}
	if route == RouteCustomers {
		// Partner Center answers every request with its own MS-RequestId and
		// echoes the caller's MS-CorrelationId.
		w.Header().Set("MS-RequestId", newGUID())
		if c := r.Header.Get("MS-CorrelationId"); c != "" {
			w.Header().Set("MS-CorrelationId", c)
		}
	}
	rec := &recorder{ResponseWriter: w}
	record := func(status int) {
		entry.Status = status
		entry.ResponseHeaders = relevantHeaders(w.Header())
		s.mu.Lock()
		s.journal = append(s.journal, entry)
		s.mu.Unlock()
	}
	f, faulted := s.takeFault(route, r.Method)
	if faulted && f.Kind == FaultReset {
		// Journal the reset (status 0) before the connection drops: the
		// client sees the reset only after the entry exists, so the journal
		// order is the order in which callers saw their answers.
		record(0)
		resetConnection(rec)
		return
	}
	if faulted {
		s.serveFault(rec, route, f)
	} else {
		fn(rec, r, body)
	}
	record(rec.status)
}

var journalHeaders = []string{"Authorization", "Content-Type", "MS-CorrelationId", "MS-RequestId", "Retry-After", "WWW-Authenticate", "Accept"}

func relevantHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for _, k := range journalHeaders {
		v := h.Get(k)
		if v == "" {
			continue
		}
		if k == "Authorization" {
			scheme, _, _ := strings.Cut(v, " ")
			v = scheme + " <redacted>"
		}
		out[k] = v
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Journal returns a copy of every request answered so far, oldest first.
func (s *Sim) Journal() []JournalEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]JournalEntry(nil), s.journal...)
}

// Counters returns the request counters.
func (s *Sim) Counters() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counters
}

// newID returns n random bytes as hex.
func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
