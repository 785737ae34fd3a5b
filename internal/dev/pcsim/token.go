package pcsim

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

type refreshToken struct {
	clientID string
	issued   time.Time
	expires  time.Time
	revoked  bool
	redeemed bool
}

type accessToken struct {
	clientID string
	appUser  bool
	expires  time.Time
	revoked  bool
}

// IssueRefreshToken mints a refresh token for clientID, as the interactive
// authorization-code sign-in of an Admin Agent would during bootstrap.
func (s *Sim) IssueRefreshToken(clientID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueRefreshLocked(clientID, s.opts.Clock.Now())
}

func (s *Sim) issueRefreshLocked(clientID string, now time.Time) string {
	tok := "pcsim.rt." + newID(24)
	s.refresh[tok] = &refreshToken{clientID: clientID, issued: now, expires: now.Add(s.opts.RefreshTokenLifetime)}
	return tok
}

// RevokeRefreshToken revokes one refresh token; it reports whether the
// token was known.
func (s *Sim) RevokeRefreshToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refresh[token]
	if ok {
		rt.revoked = true
	}
	return ok
}

// RevokeAllRefreshTokens revokes every refresh token issued to clientID (as
// "revoke sessions" on the signed-in user does) and returns how many there were.
func (s *Sim) RevokeAllRefreshTokens(clientID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, rt := range s.refresh {
		if rt.clientID == clientID && !rt.revoked {
			rt.revoked = true
			n++
		}
	}
	return n
}

// RevokeAccessTokens invalidates every access token issued to clientID
// before its expiry, so Partner Center answers 401 to them (as after the
// user's sessions are revoked), and returns how many there were. Refresh
// tokens stay valid.
func (s *Sim) RevokeAccessTokens(clientID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, at := range s.access {
		if at.clientID == clientID && !at.revoked {
			at.revoked = true
			n++
		}
	}
	return n
}

// oauthError is the token endpoint's error body.
type oauthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes,omitempty"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
}

func writeOAuthError(w http.ResponseWriter, now time.Time, status int, code, description string) {
	var codes []int
	var n int
	if _, err := fmt.Sscanf(description, "AADSTS%d:", &n); err == nil {
		codes = []int{n}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, oauthError{
		Error: code, ErrorDescription: description, ErrorCodes: codes,
		Timestamp: now.UTC().Format("2006-01-02 15:04:05Z"), TraceID: newGUID(), CorrelationID: newGUID(),
	})
}

// tokenFailure is an OAuth error the token endpoint answers with.
type tokenFailure struct {
	status      int
	code        string
	description string
}

func (s *Sim) serveToken(w http.ResponseWriter, r *http.Request, body []byte) {
	fail := func(f tokenFailure) {
		s.mu.Lock()
		s.counters.FailedGrants++
		s.mu.Unlock()
		writeOAuthError(w, s.opts.Clock.Now(), f.status, f.code, f.description)
	}
	if r.Method != http.MethodPost {
		fail(tokenFailure{http.StatusMethodNotAllowed, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests."})
		return
	}
	tenant := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
	if s.opts.TenantID != "" && !strings.EqualFold(tenant, s.opts.TenantID) {
		fail(tokenFailure{http.StatusBadRequest, "invalid_request", "AADSTS90002: Tenant '" + tenant + "' not found."})
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		fail(tokenFailure{http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must be application/x-www-form-urlencoded."})
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		fail(tokenFailure{http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body is not a valid form."})
		return
	}
	if f, ok := s.authenticateClient(form); !ok {
		fail(f)
		return
	}
	switch form.Get("grant_type") {
	case "refresh_token":
		s.grantRefresh(w, form, fail)
	case "client_credentials":
		s.grantClientCredentials(w, form, fail)
	case "":
		fail(tokenFailure{http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'."})
	default:
		fail(tokenFailure{http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type '" + form.Get("grant_type") + "'."})
	}
}

// authenticateClient checks client_id and exactly one of client_secret or
// a jwt-bearer client_assertion.
func (s *Sim) authenticateClient(form url.Values) (tokenFailure, bool) {
	clientID := form.Get("client_id")
	secret, assertion := form.Get("client_secret"), form.Get("client_assertion")
	switch {
	case clientID == "":
		return tokenFailure{http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'client_id'."}, false
	case s.opts.ClientID != "" && !strings.EqualFold(clientID, s.opts.ClientID):
		return tokenFailure{http.StatusUnauthorized, "invalid_client", "AADSTS700016: Application with identifier '" + clientID + "' was not found in the directory."}, false
	case secret != "" && assertion != "":
		return tokenFailure{http.StatusBadRequest, "invalid_request", "AADSTS90009: Send either client_secret or client_assertion, not both."}, false
	case assertion != "":
		if form.Get("client_assertion_type") != JWTBearerAssertionType {
			return tokenFailure{http.StatusBadRequest, "invalid_request", "AADSTS50027: client_assertion_type must be " + JWTBearerAssertionType + "."}, false
		}
		if s.opts.AcceptedAssertion == "" || assertion != s.opts.AcceptedAssertion {
			return tokenFailure{http.StatusUnauthorized, "invalid_client", "AADSTS700213: No matching federated identity record found for presented assertion."}, false
		}
		return tokenFailure{}, true
	case secret != "":
		if s.opts.DisableClientSecret || (s.opts.ClientSecret != "" && secret != s.opts.ClientSecret) {
			return tokenFailure{http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided."}, false
		}
		return tokenFailure{}, true
	default:
		return tokenFailure{http.StatusUnauthorized, "invalid_client", "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}, false
	}
}

func (s *Sim) grantRefresh(w http.ResponseWriter, form url.Values, fail func(tokenFailure)) {
	scopes := strings.Fields(form.Get("scope"))
	if !slices.Contains(scopes, s.opts.Scope) {
		fail(tokenFailure{http.StatusBadRequest, "invalid_scope", "AADSTS70011: The provided request must include a 'scope' input parameter containing " + s.opts.Scope + "."})
		return
	}
	presented := form.Get("refresh_token")
	if presented == "" {
		fail(tokenFailure{http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'refresh_token'."})
		return
	}
	clientID := form.Get("client_id")
	s.mu.Lock()
	now := s.opts.Clock.Now()
	rt, ok := s.refresh[presented]
	var f *tokenFailure
	switch {
	case !ok:
		f = &tokenFailure{http.StatusBadRequest, "invalid_grant", "AADSTS9002313: Invalid request. Request is malformed or invalid."}
	case rt.revoked:
		f = &tokenFailure{http.StatusBadRequest, "invalid_grant", "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed."}
	case !now.Before(rt.expires):
		f = &tokenFailure{http.StatusBadRequest, "invalid_grant", "AADSTS700082: The refresh token has expired due to inactivity. The token was issued on " + rt.issued.Format(time.RFC3339) + "."}
	case rt.redeemed && s.opts.StrictRotation:
		f = &tokenFailure{http.StatusBadRequest, "invalid_grant", "AADSTS70000: Provided grant is invalid or malformed: the refresh token was already redeemed."}
	case !strings.EqualFold(rt.clientID, clientID):
		f = &tokenFailure{http.StatusBadRequest, "invalid_grant", "AADSTS70000: Provided grant is invalid or malformed: the refresh token was issued to another client."}
	}
	if f != nil {
		s.mu.Unlock()
		fail(*f)
		return
	}
	rt.redeemed = true
	next := s.issueRefreshLocked(rt.clientID, now)
	at := s.issueAccessLocked("pcsim.at.", clientID, true, now)
	s.counters.RefreshTokenGrants++
	s.mu.Unlock()
	s.writeToken(w, map[string]any{"access_token": at, "scope": s.opts.Scope, "refresh_token": next})
}

func (s *Sim) grantClientCredentials(w http.ResponseWriter, form url.Values, fail func(tokenFailure)) {
	scope := form.Get("scope")
	if !strings.HasSuffix(scope, "/.default") || strings.Contains(scope, " ") {
		fail(tokenFailure{http.StatusBadRequest, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier."})
		return
	}
	s.mu.Lock()
	at := s.issueAccessLocked("pcsim.app.", form.Get("client_id"), false, s.opts.Clock.Now())
	s.counters.ClientCredentialsGrants++
	s.mu.Unlock()
	s.writeToken(w, map[string]any{"access_token": at})
}

// issueAccessLocked mints an access token (prefix names its kind) valid for
// AccessTokenLifetime from now.
func (s *Sim) issueAccessLocked(prefix, clientID string, appUser bool, now time.Time) string {
	at := prefix + newID(24)
	s.access[at] = &accessToken{clientID: clientID, appUser: appUser, expires: now.Add(s.opts.AccessTokenLifetime)}
	return at
}

// writeToken answers a successful grant: fields plus the token type and
// lifetime every grant returns.
func (s *Sim) writeToken(w http.ResponseWriter, fields map[string]any) {
	secs := int(s.opts.AccessTokenLifetime / time.Second)
	fields["token_type"], fields["expires_in"], fields["ext_expires_in"] = "Bearer", secs, secs
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, fields)
}

// redactTokenForm renders a token request body for the journal with every
// credential replaced.
func redactTokenForm(body []byte) string {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "<unparsable form>"
	}
	for _, k := range []string{"refresh_token", "client_secret", "client_assertion", "code", "assertion", "password"} {
		if form.Has(k) {
			form.Set(k, "<redacted>")
		}
	}
	return form.Encode()
}
