package pcauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/gdapflow/gdapflow/internal/upstream"
)

// RefreshTokenStore holds the App+User refresh token. Several instances of
// the service share it, and each may redeem the stored token and receive a
// rotated one: Replace is a compare-and-swap, so a rotated token is stored
// only if the token it was redeemed from is still the current one, and an
// instance that was overtaken (by another instance's rotation, or by an
// operator storing a freshly bootstrapped token) never puts an older token
// back over a newer one.
type RefreshTokenStore interface {
	// Current returns the current refresh token (Value "" when none is
	// stored) and what identifies this version of it.
	Current(ctx context.Context) (StoredToken, error)
	// Replace stores token as the successor of redeemed, only if redeemed is
	// still the current token; otherwise it fails with ErrTokenSuperseded
	// and stores nothing. Replacing with a token already stored as
	// redeemed's successor (a retry) succeeds.
	Replace(ctx context.Context, redeemed StoredToken, token string) error
}

// StoredToken is one version of the stored refresh token.
type StoredToken struct {
	// Value is the refresh token ("" when none is stored).
	Value string
	// Version identifies this version (a Key Vault secret version, or a
	// counter in memory). It is not secret.
	Version string
	// guard is the ETag of the guard row naming Version (KeyVaultStore with
	// a guard table); "" when the row does not exist yet.
	guard azcore.ETag
}

// ErrTokenSuperseded: Replace found that the redeemed refresh token is no
// longer the current one (another instance rotated it first, or an
// operator stored a new one); nothing was stored.
var ErrTokenSuperseded = errors.New("pcauth: the stored refresh token changed since it was redeemed")

var (
	_ RefreshTokenStore = (*MemoryStore)(nil)
	_ RefreshTokenStore = (*KeyVaultStore)(nil)
)

// MemoryStore keeps the refresh token in memory (local runs with
// GDAP_PC_REFRESH_TOKEN): rotated tokens survive only as long as the process.
type MemoryStore struct {
	mu      sync.Mutex
	token   string
	version int
}

// NewMemoryStore returns a store holding initial.
func NewMemoryStore(initial string) *MemoryStore { return &MemoryStore{token: initial} }

// Load returns the current token.
func (m *MemoryStore) Load(context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.token, nil
}

// Save replaces the current token unconditionally (an operator's bootstrap).
func (m *MemoryStore) Save(_ context.Context, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.token = token
	m.version++
	return nil
}

// Current implements RefreshTokenStore.
func (m *MemoryStore) Current(context.Context) (StoredToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return StoredToken{Value: m.token, Version: strconv.Itoa(m.version)}, nil
}

// Replace implements RefreshTokenStore.
func (m *MemoryStore) Replace(_ context.Context, redeemed StoredToken, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case strconv.Itoa(m.version) == redeemed.Version:
		m.token = token
		m.version++
		return nil
	case m.token == token:
		return nil // a retry of a Replace that took effect
	}
	return ErrTokenSuperseded
}

// KeyVaultStore keeps the refresh token in a Key Vault secret, one secret
// version per rotation. Key Vault's Set Secret has no condition (it always
// adds a version), so the compare-and-swap of Replace goes through a guard:
// a Table Storage row naming the current version, updated with If-Match
// (see guard.go). Without a guard Replace checks the latest version before
// writing, which leaves a window of one Key Vault round trip.
type KeyVaultStore struct {
	client *azsecrets.Client
	name   string
	guard  *aztables.Client
}

// NewKeyVaultStore returns a store using the secret secretName through client.
func NewKeyVaultStore(client *azsecrets.Client, secretName string) *KeyVaultStore {
	return &KeyVaultStore{client: client, name: secretName}
}

// KeyVaultStoreOptions configures NewKeyVaultStoreFromURI.
type KeyVaultStoreOptions struct {
	// HTTPClient carries the requests. Default http.DefaultClient.
	HTTPClient *http.Client
	// ClientOptions are further azsecrets options (retry, logging). Its
	// Transport is replaced by HTTPClient (wrapped for loopback vaults).
	ClientOptions *azsecrets.ClientOptions
	// Guard is the table holding the guard row of the secret (see
	// KeyVaultStore); nil means none. EnsureGuardTable creates it.
	Guard *aztables.Client
}

// ParseSecretURI splits a Key Vault secret URI
// (https://<vault>.vault.azure.net/secrets/<name>[/<version>]) into the vault
// URL and the secret name. A version, if present, is ignored: the store
// always reads the latest version, because it writes a new one on every rotation.
func ParseSecretURI(secretURI string) (vaultURL, name string, err error) {
	u, err := url.Parse(secretURI)
	if err != nil || u.Host == "" {
		return "", "", fmt.Errorf("pcauth: secret URI %q is not an absolute URL", secretURI)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] != "secrets" || parts[1] == "" {
		return "", "", fmt.Errorf("pcauth: secret URI %q must look like https://<vault>/secrets/<name>[/<version>]", secretURI)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return "", "", fmt.Errorf("pcauth: secret URI %q must use https unless the host is loopback", secretURI)
	}
	return u.Scheme + "://" + u.Host, parts[1], nil
}

// NewKeyVaultStoreFromURI builds an azsecrets client for the vault of
// secretURI (GDAP_PC_REFRESH_TOKEN_SECRET_URI) and returns a store on it.
//
// A loopback vault (a local simulator, tests) may be plain http: azsecrets
// refuses to send credentials over http and checks that the challenge
// resource matches the vault's domain, so for a loopback host only the
// client is given the https:// form of the URL, a transport that sends
// requests for loopback hosts over plain http (and refuses every other host),
// and DisableChallengeResourceVerification. Non-loopback vaults get the
// stock client.
func NewKeyVaultStoreFromURI(secretURI string, cred azcore.TokenCredential, opts *KeyVaultStoreOptions) (*KeyVaultStore, error) {
	vaultURL, name, err := ParseSecretURI(secretURI)
	if err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &KeyVaultStoreOptions{}
	}
	co := azsecrets.ClientOptions{}
	if opts.ClientOptions != nil {
		co = *opts.ClientOptions
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	co.Transport = hc
	u, _ := url.Parse(vaultURL)
	if isLoopback(u.Hostname()) {
		vaultURL = "https://" + u.Host
		co.Transport = LoopbackHTTPTransport{Client: hc}
		co.DisableChallengeResourceVerification = true
	}
	client, err := azsecrets.NewClient(vaultURL, cred, &co)
	if err != nil {
		return nil, fmt.Errorf("pcauth: key vault client: %w", err)
	}
	st := NewKeyVaultStore(client, name)
	st.guard = opts.Guard
	return st, nil
}

// LoopbackHTTPTransport is an azcore transport for local Key Vault
// endpoints: it sends requests addressed to a loopback host over plain http
// (whatever their scheme) and refuses requests to any other host, so that
// credentials can cross plain http only on loopback.
type LoopbackHTTPTransport struct {
	// Client sends the requests. Default http.DefaultClient.
	Client *http.Client
}

var _ policy.Transporter = LoopbackHTTPTransport{}

// Do implements policy.Transporter.
func (t LoopbackHTTPTransport) Do(req *http.Request) (*http.Response, error) {
	if !isLoopback(req.URL.Hostname()) {
		return nil, fmt.Errorf("pcauth: loopback transport refuses non-loopback host %q", req.URL.Hostname())
	}
	r := req.Clone(req.Context())
	r.URL.Scheme = "http"
	hc := t.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	return hc.Do(r)
}

// Load returns the current refresh token (Current's Value); a missing
// secret reads as "" (no refresh token stored).
func (k *KeyVaultStore) Load(ctx context.Context) (string, error) {
	cur, err := k.Current(ctx)
	return cur.Value, err
}

// Save writes token as a new version of the secret, unconditionally (as
// an operator's bootstrap does). The service itself uses Replace.
func (k *KeyVaultStore) Save(ctx context.Context, token string) error {
	_, err := k.set(ctx, token)
	return err
}

// kvError maps an azsecrets failure to *upstream.Error without copying the
// raw response (which never holds the secret on failure, but keep it out).
func kvError(op string, err error) error {
	ue := &upstream.Error{Service: upstream.ServiceKeyVault, Operation: op}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		ue.StatusCode = re.StatusCode
		ue.Code = re.ErrorCode
		if re.RawResponse != nil {
			ue.RequestID = re.RawResponse.Header.Get("x-ms-request-id")
		}
		switch re.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			ue.Message = "the function app's identity needs Key Vault secret get and set rights (Key Vault Secrets Officer) on the refresh token secret"
		}
		return ue
	}
	ue.Err = err
	return ue
}
