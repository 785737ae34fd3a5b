package pcauth_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/localenv"
	"github.com/gdapflow/gdapflow/internal/dev/pcsim"
	"github.com/gdapflow/gdapflow/internal/pcauth"
	"github.com/gdapflow/gdapflow/internal/upstream"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

const (
	tenant     = "11111111-1111-1111-1111-111111111111"
	clientID   = "22222222-2222-2222-2222-222222222222"
	secret     = "app-secret-value-XYZ"
	assertion  = "mi-federated-assertion-ABC"
	secretName = "pc-refresh-token"
)

// errorLines returns the log lines at level ERROR.
func errorLines(b *localenv.Buffer) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, `"level":"ERROR"`) {
			out = append(out, l)
		}
	}
	return out
}

// fakeCredential is an azcore.TokenCredential returning a fixed token and
// recording what was asked of it.
type fakeCredential struct {
	token string
	mu    sync.Mutex
	asked []policy.TokenRequestOptions
}

func (f *fakeCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, o)
	return azcore.AccessToken{Token: f.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func (f *fakeCredential) requests() []policy.TokenRequestOptions {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]policy.TokenRequestOptions(nil), f.asked...)
}

type testBundle struct {
	sim   *pcsim.Sim
	srv   *httptest.Server
	clock *vclock.Virtual
	logs  *localenv.Buffer
}

func setup(t *testing.T, mod func(*pcsim.Options)) testBundle {
	t.Helper()
	clock := vclock.NewFrozen(time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC))
	o := pcsim.Options{Clock: clock, TenantID: tenant, ClientID: clientID, ClientSecret: secret, AcceptedAssertion: assertion}
	if mod != nil {
		mod(&o)
	}
	sim := pcsim.New(o)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return testBundle{sim: sim, srv: srv, clock: clock, logs: &localenv.Buffer{}}
}

func (b testBundle) source(t *testing.T, store pcauth.RefreshTokenStore, mod func(*pcauth.Options)) *pcauth.Source {
	t.Helper()
	o := pcauth.Options{
		LoginBaseURL: b.srv.URL, TenantID: tenant, ClientID: clientID, ClientSecret: secret,
		Store: store, Clock: b.clock, HTTPClient: b.srv.Client(),
		Logger: slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&o)
	}
	s, err := pcauth.New(o)
	require.NoError(t, err)
	return s
}

func (b testBundle) keyVaultStore(t *testing.T, cred *fakeCredential) *pcauth.KeyVaultStore {
	t.Helper()
	st, err := pcauth.NewKeyVaultStoreFromURI(b.srv.URL+"/secrets/"+secretName, cred, &pcauth.KeyVaultStoreOptions{HTTPClient: b.srv.Client()})
	require.NoError(t, err)
	return st
}

func requireUpstream(t *testing.T, err error) *upstream.Error {
	t.Helper()
	require.Error(t, err)
	ue, ok := upstream.As(err)
	require.True(t, ok, "want *upstream.Error, got %T: %v", err, err)
	return ue
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	store := pcauth.NewMemoryStore("rt")
	base := pcauth.Options{LoginBaseURL: "https://login.microsoftonline.com", TenantID: tenant, ClientID: clientID, ClientSecret: secret, Store: store}
	for _, tc := range []struct {
		name string
		mod  func(*pcauth.Options)
		want string
	}{
		{"ok", func(*pcauth.Options) {}, ""},
		{"loopback http ok", func(o *pcauth.Options) { o.LoginBaseURL = "http://127.0.0.1:1234" }, ""},
		{"assertion instead of secret", func(o *pcauth.Options) {
			o.ClientSecret = ""
			o.Assertion = func(context.Context) (string, error) { return "a", nil }
		}, ""},
		{"plain http remote", func(o *pcauth.Options) { o.LoginBaseURL = "http://login.example.com" }, "https"},
		{"no login", func(o *pcauth.Options) { o.LoginBaseURL = "" }, "LoginBaseURL"},
		{"no tenant", func(o *pcauth.Options) { o.TenantID = "" }, "TenantID"},
		{"no client", func(o *pcauth.Options) { o.ClientID = "" }, "ClientID"},
		{"no credential", func(o *pcauth.Options) { o.ClientSecret = "" }, "ClientSecret or Assertion"},
		{"no store", func(o *pcauth.Options) { o.Store = nil }, "Store"},
	} {
		o := base
		tc.mod(&o)
		_, err := pcauth.New(o)
		if tc.want == "" {
			require.NoError(t, err, tc.name)
			continue
		}
		require.ErrorContains(t, err, tc.want, tc.name)
	}
}

// TestRotationPersisted redeems, checks that the rotated refresh token is
// saved (memory and Key Vault stores) and that the next refresh uses it:
// the simulator runs with strict rotation, so the old token would fail.
func TestRotationPersisted(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"memory", "keyvault"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(o *pcsim.Options) { o.StrictRotation = true })
			rt1 := b.sim.IssueRefreshToken(clientID)
			cred := &fakeCredential{token: "kv-access-token"}
			var store pcauth.RefreshTokenStore
			if kind == "memory" {
				store = pcauth.NewMemoryStore(rt1)
			} else {
				b.sim.SetSecret(secretName, rt1)
				store = b.keyVaultStore(t, cred)
			}
			src := b.source(t, store, nil)

			at1, err := src.Token(t.Context())
			require.NoError(t, err)
			cur, err := store.Current(t.Context())
			rt2 := cur.Value
			require.NoError(t, err)
			require.NotEqual(t, rt1, rt2, "rotated token saved")
			require.NotEmpty(t, rt2)

			again, err := src.Token(t.Context())
			require.NoError(t, err)
			require.Equal(t, at1, again, "cached")
			require.Equal(t, 1, b.sim.Counters().RefreshTokenGrants)

			b.clock.Advance(54 * time.Minute)
			again, err = src.Token(t.Context())
			require.NoError(t, err)
			require.Equal(t, at1, again, "still cached before expiry - margin")

			b.clock.Advance(2 * time.Minute) // 56 min: inside the 5-minute margin
			at2, err := src.Token(t.Context())
			require.NoError(t, err, "the rotated token (not the redeemed one) was used")
			require.NotEqual(t, at1, at2)
			require.Equal(t, 2, b.sim.Counters().RefreshTokenGrants)
			cur, err = store.Current(t.Context())
			require.NoError(t, err)
			rt3 := cur.Value
			require.NotEqual(t, rt2, rt3)

			if kind == "keyvault" {
				require.Equal(t, 3, b.sim.SecretVersions(secretName), "one new version per rotation")
				v, _ := b.sim.Secret(secretName)
				require.Equal(t, rt3, v)
				require.Positive(t, b.sim.Counters().KeyVaultChallenges, "challenge handshake happened")
				asked := cred.requests()
				require.NotEmpty(t, asked)
				require.Equal(t, []string{"https://vault.azure.net/.default"}, asked[0].Scopes)
				require.Equal(t, tenant, asked[0].TenantID, "tenant from the challenge")
			}
		})
	}
}

func TestInvalidGrant(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		prepare func(b testBundle) string // returns the stored refresh token
	}{
		{"revoked", func(b testBundle) string {
			rt := b.sim.IssueRefreshToken(clientID)
			b.sim.RevokeRefreshToken(rt)
			return rt
		}},
		{"expired after inactivity", func(b testBundle) string {
			rt := b.sim.IssueRefreshToken(clientID)
			b.clock.Advance(91 * 24 * time.Hour)
			return rt
		}},
		{"nothing stored", func(testBundle) string { return "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			store := pcauth.NewMemoryStore(tc.prepare(b))
			src := b.source(t, store, nil)
			for range 3 {
				_, err := src.Token(t.Context())
				ue := requireUpstream(t, err)
				require.Equal(t, upstream.ServiceEntra, ue.Service)
				require.Equal(t, http.StatusBadRequest, ue.StatusCode)
				require.Equal(t, pcauth.CodeInvalidGrant, ue.Code)
				require.Contains(t, ue.Message, "docs/partner-center-auth.md")
				require.False(t, ue.Transient())
			}
			lines := errorLines(b.logs)
			require.Len(t, lines, 1, "logged once, loudly")
			require.Contains(t, lines[0], `"oauth_error":"invalid_grant"`)

			// The operator re-bootstraps: the next call succeeds, a later lapse alarms again.
			fresh := b.sim.IssueRefreshToken(clientID)
			require.NoError(t, store.Save(t.Context(), fresh))
			_, err := src.Token(t.Context())
			require.NoError(t, err)
			b.sim.RevokeAllRefreshTokens(clientID)
			b.clock.Advance(time.Hour)
			_, err = src.Token(t.Context())
			require.Equal(t, pcauth.CodeInvalidGrant, requireUpstream(t, err).Code)
			require.Len(t, errorLines(b.logs), 2)
		})
	}
}

// TestConcurrentCallersShareOneRefresh holds the token endpoint until every
// caller has started, then checks that only one grant happened.
func TestConcurrentCallersShareOneRefresh(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	const callers = 16
	started := make(chan struct{}, callers)
	release := make(chan struct{})
	gated := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/token") {
			<-release
		}
		b.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(gated.Close)
	src := b.source(t, pcauth.NewMemoryStore(b.sim.IssueRefreshToken(clientID)), func(o *pcauth.Options) { o.LoginBaseURL = gated.URL })

	var wg sync.WaitGroup
	tokens := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			started <- struct{}{}
			tokens[i], errs[i] = src.Token(t.Context())
		})
	}
	for range callers {
		<-started
	}
	close(release)
	wg.Wait()
	for i := range callers {
		require.NoError(t, errs[i])
		require.Equal(t, tokens[0], tokens[i])
	}
	require.Equal(t, 1, b.sim.Counters().RefreshTokenGrants)
}

func TestAssertionClientAuth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		cred    string
		simMod  func(*pcsim.Options)
		wantErr string
	}{
		{"accepted assertion, no secret anywhere", assertion, func(o *pcsim.Options) { o.DisableClientSecret = true }, ""},
		{"assertion not trusted", "some-other-identity", nil, pcauth.CodeInvalidClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tc.simMod)
			cred := &fakeCredential{token: tc.cred}
			src := b.source(t, pcauth.NewMemoryStore(b.sim.IssueRefreshToken(clientID)), func(o *pcauth.Options) {
				o.ClientSecret = ""
				o.Assertion = pcauth.NewManagedIdentityAssertion(cred)
			})
			tok, err := src.Token(t.Context())
			asked := cred.requests()
			require.Len(t, asked, 1)
			require.Equal(t, []string{pcauth.AssertionScope}, asked[0].Scopes)
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.NotEmpty(t, tok)
				j := b.sim.Journal()
				require.Contains(t, j[len(j)-1].Body, "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer")
				require.NotContains(t, j[len(j)-1].Body, "client_secret")
				return
			}
			ue := requireUpstream(t, err)
			require.Equal(t, tc.wantErr, ue.Code)
			require.Equal(t, http.StatusUnauthorized, ue.StatusCode)
			require.Contains(t, ue.Message, "federated credential")
			require.Len(t, errorLines(b.logs), 1)
		})
	}
}

func TestAssertionProviderFailure(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	src := b.source(t, pcauth.NewMemoryStore(b.sim.IssueRefreshToken(clientID)), func(o *pcauth.Options) {
		o.ClientSecret = ""
		o.Assertion = func(context.Context) (string, error) { return "", errors.New("IMDS unreachable") }
	})
	_, err := src.Token(t.Context())
	ue := requireUpstream(t, err)
	require.True(t, ue.Transient())
	require.Zero(t, b.sim.Counters().RefreshTokenGrants+b.sim.Counters().FailedGrants, "no grant attempted")
}

func TestTransientTokenEndpointFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		fault  pcsim.Fault
		status int
		retry  time.Duration
	}{
		{"throttled", pcsim.Fault{Kind: pcsim.FaultThrottle, RetryAfter: 5 * time.Second}, 429, 5 * time.Second},
		{"unavailable", pcsim.Fault{Kind: pcsim.FaultUnavailable}, 503, 0},
		{"connection reset", pcsim.Fault{Kind: pcsim.FaultReset}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			require.NoError(t, b.sim.InjectFault(pcsim.RouteToken, http.MethodPost, tc.fault))
			store := pcauth.NewMemoryStore(b.sim.IssueRefreshToken(clientID))
			src := b.source(t, store, nil)
			_, err := src.Token(t.Context())
			ue := requireUpstream(t, err)
			require.Equal(t, upstream.ServiceEntra, ue.Service)
			require.Equal(t, tc.status, ue.StatusCode)
			require.Equal(t, tc.retry, ue.RetryAfter)
			require.True(t, ue.Transient())
			require.Empty(t, errorLines(b.logs), "transient failures are not alarms")
			_, err = src.Token(t.Context())
			require.NoError(t, err, "the next call succeeds with the same stored token")
		})
	}
}

// failingStore fails its first Replace.
type failingStore struct {
	*pcauth.MemoryStore
	mu    sync.Mutex
	fails int
}

func (f *failingStore) Replace(ctx context.Context, redeemed pcauth.StoredToken, token string) error {
	f.mu.Lock()
	if f.fails > 0 {
		f.fails--
		f.mu.Unlock()
		return &upstream.Error{Service: upstream.ServiceKeyVault, Operation: "write rotated refresh token secret", StatusCode: 503}
	}
	f.mu.Unlock()
	return f.MemoryStore.Replace(ctx, redeemed, token)
}

// TestRotatedTokenSavedBeforeUse checks that no access token is handed out
// while its rotated refresh token is not persisted, and that the pending
// save is retried without a second grant.
func TestRotatedTokenSavedBeforeUse(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *pcsim.Options) { o.StrictRotation = true })
	rt1 := b.sim.IssueRefreshToken(clientID)
	store := &failingStore{MemoryStore: pcauth.NewMemoryStore(rt1), fails: 1}
	src := b.source(t, store, nil)
	_, err := src.Token(t.Context())
	ue := requireUpstream(t, err)
	require.Equal(t, upstream.ServiceKeyVault, ue.Service)
	require.True(t, ue.Transient())
	cur, _ := store.Load(t.Context())
	require.Equal(t, rt1, cur)

	tok, err := src.Token(t.Context())
	require.NoError(t, err)
	require.NotEmpty(t, tok)
	require.Equal(t, 1, b.sim.Counters().RefreshTokenGrants, "pending save retried, no new grant")
	cur, _ = store.Load(t.Context())
	require.NotEqual(t, rt1, cur)
}

func TestCallerCancellation(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	gated := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		b.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(gated.Close)
	src := b.source(t, pcauth.NewMemoryStore(b.sim.IssueRefreshToken(clientID)), func(o *pcauth.Options) { o.LoginBaseURL = gated.URL })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := src.Token(ctx)
		done <- err
	}()
	<-arrived
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled)
	close(release)
	// The detached refresh completed; a new caller gets its token.
	tok, err := src.Token(t.Context())
	require.NoError(t, err)
	require.NotEmpty(t, tok)
}

func TestKeyVaultStore(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *pcsim.Options) { o.KeyVaultToken = "the-kv-token" })
	store := b.keyVaultStore(t, &fakeCredential{token: "the-kv-token"})
	v, err := store.Load(t.Context())
	require.NoError(t, err)
	require.Empty(t, v, "a missing secret reads as no token")
	require.NoError(t, store.Save(t.Context(), "rt-1"))
	require.NoError(t, store.Save(t.Context(), "rt-2"))
	v, err = store.Load(t.Context())
	require.NoError(t, err)
	require.Equal(t, "rt-2", v)
	require.Equal(t, 2, b.sim.SecretVersions(secretName))

	bad := b.keyVaultStore(t, &fakeCredential{token: "wrong"})
	_, err = bad.Load(t.Context())
	ue := requireUpstream(t, err)
	require.Equal(t, upstream.ServiceKeyVault, ue.Service)
	require.Equal(t, http.StatusUnauthorized, ue.StatusCode)
	require.Contains(t, ue.Message, "Key Vault Secrets Officer")
}

func TestParseSecretURIAndLoopbackTransport(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		uri, vault, name string
		ok               bool
	}{
		{"https://myvault.vault.azure.net/secrets/pc-rt", "https://myvault.vault.azure.net", "pc-rt", true},
		{"https://myvault.vault.azure.net/secrets/pc-rt/0123456789abcdef", "https://myvault.vault.azure.net", "pc-rt", true},
		{"http://127.0.0.1:8080/secrets/pc-rt/", "http://127.0.0.1:8080", "pc-rt", true},
		{"http://localhost:8080/secrets/pc-rt", "http://localhost:8080", "pc-rt", true},
		{"http://myvault.vault.azure.net/secrets/pc-rt", "", "", false},
		{"https://myvault.vault.azure.net/keys/pc-rt", "", "", false},
		{"https://myvault.vault.azure.net/secrets/", "", "", false},
		{"not a url", "", "", false},
	} {
		vault, name, err := pcauth.ParseSecretURI(tc.uri)
		if !tc.ok {
			require.Error(t, err, tc.uri)
			continue
		}
		require.NoError(t, err, tc.uri)
		require.Equal(t, tc.vault, vault, tc.uri)
		require.Equal(t, tc.name, name, tc.uri)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://myvault.vault.azure.net/secrets/x", nil)
	require.NoError(t, err)
	_, err = pcauth.LoopbackHTTPTransport{}.Do(req)
	require.ErrorContains(t, err, "non-loopback")
	_, err = pcauth.NewKeyVaultStoreFromURI("https://myvault.vault.azure.net/secrets/x", &fakeCredential{}, nil)
	require.NoError(t, err)
}

// TestNoSecretsInLogsOrErrors drives success, rotation and every failure
// path with debug logging and checks that no credential leaks.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rt1 := b.sim.IssueRefreshToken(clientID)
	cred := &fakeCredential{token: "kv-bearer-SECRET"}
	b.sim.SetSecret(secretName, rt1)
	store := b.keyVaultStore(t, cred)
	src := b.source(t, store, nil)
	var texts []string
	leaks := []string{secret, rt1, cred.token}

	at, err := src.Token(t.Context())
	require.NoError(t, err)
	rt2, _ := store.Load(t.Context())
	leaks = append(leaks, at, rt2)

	require.NoError(t, b.sim.InjectFault(pcsim.RouteToken, http.MethodPost, pcsim.Fault{Kind: pcsim.FaultThrottle}))
	b.clock.Advance(time.Hour)
	_, err = src.Token(t.Context())
	texts = append(texts, err.Error())
	b.sim.RevokeAllRefreshTokens(clientID)
	_, err = src.Token(t.Context())
	texts = append(texts, err.Error())

	wrongSecret := b.source(t, pcauth.NewMemoryStore(b.sim.IssueRefreshToken(clientID)), func(o *pcauth.Options) { o.ClientSecret = "wrong-secret-QQQ" })
	_, err = wrongSecret.Token(t.Context())
	texts = append(texts, err.Error())
	leaks = append(leaks, "wrong-secret-QQQ")

	withAssertion := b.source(t, pcauth.NewMemoryStore(b.sim.IssueRefreshToken(clientID)), func(o *pcauth.Options) {
		o.ClientSecret = ""
		o.Assertion = func(context.Context) (string, error) { return assertion, nil }
	})
	at2, err := withAssertion.Token(t.Context())
	require.NoError(t, err)
	leaks = append(leaks, at2, assertion)

	texts = append(texts, b.logs.String())
	require.NotEmpty(t, errorLines(b.logs))
	for _, text := range texts {
		for _, l := range leaks {
			require.NotContains(t, text, l)
		}
	}
}
