package partnercenter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/pcsim"
	"github.com/gdapflow/gdapflow/internal/partnercenter"
	"github.com/gdapflow/gdapflow/internal/pcauth"
	"github.com/gdapflow/gdapflow/internal/upstream"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

const (
	tenant   = "11111111-1111-1111-1111-111111111111"
	clientID = "22222222-2222-2222-2222-222222222222"
	secret   = "pc-app-secret-777"
	dapOn    = "33333333-3333-3333-3333-333333333333"
	dapOff   = "44444444-4444-4444-4444-444444444444"
	unknown  = "55555555-5555-5555-5555-555555555555"
)

type testBundle struct {
	sim    *pcsim.Sim
	srv    *httptest.Server
	clock  *vclock.Virtual
	source *pcauth.Source
	store  *pcauth.MemoryStore
	logs   *bytes.Buffer
	client *partnercenter.Client
}

func setup(t *testing.T) testBundle {
	t.Helper()
	clock := vclock.NewFrozen(time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC))
	sim := pcsim.New(pcsim.Options{Clock: clock, TenantID: tenant, ClientID: clientID, ClientSecret: secret})
	sim.AddCustomer(dapOn, "Contoso", true)
	sim.AddCustomer(dapOff, "Fabrikam", false)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	store := pcauth.NewMemoryStore(sim.IssueRefreshToken(clientID))
	logs := &bytes.Buffer{}
	src, err := pcauth.New(pcauth.Options{
		LoginBaseURL: srv.URL, TenantID: tenant, ClientID: clientID, ClientSecret: secret, Store: store,
		Clock: clock, HTTPClient: srv.Client(), Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	require.NoError(t, err)
	return testBundle{
		sim: sim, srv: srv, clock: clock, source: src, store: store, logs: logs,
		client: partnercenter.New(srv.URL, src, srv.Client(), clock),
	}
}

func requireUpstream(t *testing.T, err error) *upstream.Error {
	t.Helper()
	require.Error(t, err)
	ue, ok := upstream.As(err)
	require.True(t, ok, "want *upstream.Error, got %T: %v", err, err)
	return ue
}

// customerRequests returns the journal entries of Partner Center calls.
func customerRequests(sim *pcsim.Sim) []pcsim.JournalEntry {
	var out []pcsim.JournalEntry
	for _, e := range sim.Journal() {
		if strings.HasPrefix(e.Path, "/v1/customers/") {
			out = append(out, e)
		}
	}
	return out
}

// removeDAP is the workflow the engine runs: read, decide, write, confirm.
func removeDAP(ctx context.Context, c *partnercenter.Client, tenantID, corr string) (alreadyDone bool, err error) {
	cust, err := c.GetCustomer(ctx, tenantID, corr)
	if err != nil {
		return false, err
	}
	if cust.AllowDelegatedAccess != nil && !*cust.AllowDelegatedAccess {
		return true, nil
	}
	if _, err := c.DisableDelegatedAccess(ctx, tenantID, corr); err != nil {
		return false, err
	}
	cust, err = c.GetCustomer(ctx, tenantID, corr)
	if err != nil {
		return false, err
	}
	if cust.AllowDelegatedAccess == nil || *cust.AllowDelegatedAccess {
		return false, fmt.Errorf("not confirmed")
	}
	return false, nil
}

func TestRemoveDAP(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		customer    string
		alreadyDone bool
		requests    []string // method per Partner Center request
		status      int      // of the failure, 0 for success
		code        string
	}{
		{"removal", dapOn, false, []string{"GET", "PATCH", "GET"}, 0, ""},
		{"already removed", dapOff, true, []string{"GET"}, 0, ""},
		{"unknown customer", unknown, false, []string{"GET"}, 404, "CustomerNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			corr := uuid.NewString()
			done, err := removeDAP(t.Context(), b.client, tc.customer, corr)
			reqs := customerRequests(b.sim)
			methods := []string{}
			seenIDs := map[string]bool{}
			for _, r := range reqs {
				methods = append(methods, r.Method)
				require.Equal(t, corr, r.Headers["MS-CorrelationId"])
				require.Equal(t, "Bearer <redacted>", r.Headers["Authorization"])
				_, perr := uuid.Parse(r.Headers["MS-RequestId"])
				require.NoError(t, perr)
				require.False(t, seenIDs[r.Headers["MS-RequestId"]], "new MS-RequestId per call")
				seenIDs[r.Headers["MS-RequestId"]] = true
				if r.Method == http.MethodPatch {
					require.Equal(t, "/v1/customers/"+tc.customer+"/", r.Path)
					require.Equal(t, "application/json; charset=utf-8", r.Headers["Content-Type"])
					require.JSONEq(t, `{"AllowDelegatedAccess":false,"attributes":{"objectType":"Customer"}}`, r.Body)
				}
			}
			require.Equal(t, tc.requests, methods)
			if tc.status != 0 {
				ue := requireUpstream(t, err)
				require.Equal(t, upstream.ServicePartnerCenter, ue.Service)
				require.Equal(t, tc.status, ue.StatusCode)
				require.Equal(t, tc.code, ue.Code)
				require.Contains(t, ue.Message, "was not found")
				require.Equal(t, reqs[len(reqs)-1].ResponseHeaders["MS-RequestId"], ue.RequestID, "Partner Center's request id")
				require.False(t, ue.Transient())
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.alreadyDone, done)
			c, _ := b.sim.Customer(tc.customer)
			require.False(t, c.AllowDelegatedAccess)
		})
	}
}

func TestCustomerFields(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c, err := b.client.GetCustomer(t.Context(), dapOn, "corr")
	require.NoError(t, err)
	require.Equal(t, dapOn, c.ID)
	require.Equal(t, "Contoso", c.CompanyName)
	require.NotNil(t, c.AllowDelegatedAccess)
	require.True(t, *c.AllowDelegatedAccess)
	c, err = b.client.DisableDelegatedAccess(t.Context(), dapOn, "corr")
	require.NoError(t, err)
	require.Equal(t, dapOn, c.ID)
	require.Nil(t, c.AllowDelegatedAccess, "PATCH responses do not report the flag")
	c, err = b.client.DisableDelegatedAccess(t.Context(), dapOn, "corr")
	require.NoError(t, err, "idempotent")
	require.Equal(t, 1, b.sim.Counters().DAPRemovals)
}

// staticTokens is a TokenSource handing out a fixed token.
type staticTokens string

func (s staticTokens) Token(context.Context) (string, error) { return string(s), nil }

func TestRefusedCredentials(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// An app-only token from the client_credentials grant.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "scope": {"https://api.partnercenter.microsoft.com/.default"}}
	resp, err := b.srv.Client().PostForm(b.srv.URL+"/"+tenant+"/oauth2/v2.0/token", form)
	require.NoError(t, err)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	_ = resp.Body.Close()
	require.NotEmpty(t, tok.AccessToken)

	appUser, err := b.source.Token(t.Context())
	require.NoError(t, err)
	expired := partnercenter.New(b.srv.URL, staticTokens(appUser), b.srv.Client(), b.clock)

	for _, tc := range []struct {
		name   string
		client *partnercenter.Client
		before func()
		status int
		hint   string
		secret string
	}{
		{"app-only token refused", partnercenter.New(b.srv.URL, staticTokens(tok.AccessToken), b.srv.Client(), b.clock), nil, 403, partnercenter.ForbiddenHint, tok.AccessToken},
		{"expired token", expired, func() { b.clock.Advance(2 * time.Hour) }, 401, partnercenter.UnauthorizedHint, appUser},
	} {
		if tc.before != nil {
			tc.before()
		}
		_, err := tc.client.DisableDelegatedAccess(t.Context(), dapOn, "corr")
		ue := requireUpstream(t, err)
		require.Equal(t, tc.status, ue.StatusCode, tc.name)
		require.True(t, strings.HasPrefix(ue.Message, tc.hint), tc.name)
		require.Contains(t, ue.Message, "Partner Center said:", tc.name)
		require.False(t, ue.Transient(), tc.name)
		require.NotContains(t, err.Error(), tc.secret, tc.name)
	}
	c, _ := b.sim.Customer(dapOn)
	require.True(t, c.AllowDelegatedAccess, "refused calls change nothing")
}

func TestTransientFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		fault  pcsim.Fault
		status int
		retry  time.Duration
	}{
		{"throttled", pcsim.Fault{Kind: pcsim.FaultThrottle, RetryAfter: 7 * time.Second}, 429, 7 * time.Second},
		{"unavailable", pcsim.Fault{Kind: pcsim.FaultUnavailable, RetryAfter: 30 * time.Second}, 503, 30 * time.Second},
		{"connection reset", pcsim.Fault{Kind: pcsim.FaultReset}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			require.NoError(t, b.sim.InjectFault(pcsim.RouteCustomers, http.MethodPatch, tc.fault))
			_, err := b.client.DisableDelegatedAccess(t.Context(), dapOn, "corr")
			ue := requireUpstream(t, err)
			require.Equal(t, upstream.ServicePartnerCenter, ue.Service)
			require.Equal(t, tc.status, ue.StatusCode)
			require.Equal(t, tc.retry, ue.RetryAfter)
			require.True(t, ue.Transient())
			require.Equal(t, tc.status == 429, ue.Throttled())
			require.NotEmpty(t, ue.RequestID)
			// The engine's retry later succeeds.
			_, err = b.client.DisableDelegatedAccess(t.Context(), dapOn, "corr")
			require.NoError(t, err)
		})
	}
}

func TestTokenFailureSendsNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.sim.RevokeAllRefreshTokens(clientID)
	_, err := b.client.DisableDelegatedAccess(t.Context(), dapOn, "corr")
	ue := requireUpstream(t, err)
	require.Equal(t, upstream.ServiceEntra, ue.Service)
	require.Equal(t, pcauth.CodeInvalidGrant, ue.Code)
	require.Contains(t, ue.Message, "docs/partner-center-auth.md")
	require.Empty(t, customerRequests(b.sim))
}

// TestConcurrentCommandsShareOneRefresh runs removals for many customers at
// once through one token source.
func TestConcurrentCommandsShareOneRefresh(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 12
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
		b.sim.AddCustomer(ids[i], fmt.Sprintf("Customer %d", i), true)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = removeDAP(t.Context(), b.client, ids[i], uuid.NewString()) })
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		c, _ := b.sim.Customer(ids[i])
		require.False(t, c.AllowDelegatedAccess)
	}
	require.Equal(t, 1, b.sim.Counters().RefreshTokenGrants)
}

func TestNoTokensInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	initial, _ := b.store.Load(t.Context())
	at, err := b.source.Token(t.Context())
	require.NoError(t, err)
	rotated, _ := b.store.Load(t.Context())
	var texts []string
	for _, f := range []pcsim.Fault{{Kind: pcsim.FaultThrottle}, {Kind: pcsim.FaultUnavailable}, {Kind: pcsim.FaultReset}} {
		require.NoError(t, b.sim.InjectFault(pcsim.RouteCustomers, http.MethodGet, f))
		_, err := b.client.GetCustomer(t.Context(), dapOn, "corr")
		texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
	}
	_, err = b.client.GetCustomer(t.Context(), unknown, "corr")
	texts = append(texts, err.Error())
	b.sim.RevokeAllRefreshTokens(clientID)
	b.clock.Advance(2 * time.Hour)
	_, err = b.client.GetCustomer(t.Context(), dapOn, "corr")
	texts = append(texts, err.Error(), b.logs.String())
	journal, err := json.Marshal(b.sim.Journal())
	require.NoError(t, err)
	texts = append(texts, string(journal))
	for _, text := range texts {
		for _, s := range []string{secret, initial, rotated, at} {
			require.NotContains(t, text, s)
		}
	}
}

// Compile-time check that pcauth.Source is a TokenSource.
var _ partnercenter.TokenSource = (*pcauth.Source)(nil)

// TestRevokedAccessTokenIsReplaced: Partner Center refuses a cached access
// token before its expiry (401); the client drops it, redeems the refresh
// token again and retries the call once.
func TestRevokedAccessTokenIsReplaced(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.client.GetCustomer(t.Context(), dapOn, "corr-1")
	require.NoError(t, err)
	require.Equal(t, 1, b.sim.Counters().RefreshTokenGrants)
	require.Equal(t, 1, b.sim.RevokeAccessTokens(clientID))

	alreadyDone, err := removeDAP(t.Context(), b.client, dapOn, "corr-2")
	require.NoError(t, err)
	require.False(t, alreadyDone)
	require.Equal(t, 2, b.sim.Counters().RefreshTokenGrants, "one new grant after the 401")
	reqs := customerRequests(b.sim)
	require.Equal(t, http.StatusUnauthorized, reqs[1].Status, "the revoked token was refused once")

	// A token source that cannot invalidate: the 401 is returned as is.
	tok, err := b.source.Token(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, b.sim.RevokeAccessTokens(clientID))
	plain := partnercenter.New(b.srv.URL, staticToken(tok), b.srv.Client(), b.clock)
	_, err = plain.GetCustomer(t.Context(), dapOn, "corr-3")
	require.Equal(t, http.StatusUnauthorized, requireUpstream(t, err).StatusCode)
}

// staticToken is a TokenSource with one fixed token and no invalidation.
type staticToken string

func (s staticToken) Token(context.Context) (string, error) { return string(s), nil }
