package pcauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/gdapflow/gdapflow/internal/upstream"
)

// RefreshTokenStore holds the App+User refresh token. Save is called with
// every rotated token before the access token obtained with it is used.
type RefreshTokenStore interface {
	// Load returns the current refresh token ("" when none is stored).
	Load(ctx context.Context) (string, error)
	// Save stores token as the current refresh token.
	Save(ctx context.Context, token string) error
}

var (
	_ RefreshTokenStore = (*MemoryStore)(nil)
	_ RefreshTokenStore = (*KeyVaultStore)(nil)
)

// MemoryStore keeps the refresh token in memory (local runs with
// GDAP_PC_REFRESH_TOKEN): rotated tokens survive only as long as the process.
type MemoryStore struct {
	mu    sync.Mutex
	token string
}

// NewMemoryStore returns a store holding initial.
func NewMemoryStore(initial string) *MemoryStore { return &MemoryStore{token: initial} }

// Load returns the current token.
func (m *MemoryStore) Load(context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.token, nil
}

// Save replaces the current token.
func (m *MemoryStore) Save(_ context.Context, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.token = token
	return nil
}

// KeyVaultStore keeps the refresh token in a Key Vault secret: Load reads
// the latest version, Save writes a new version.
type KeyVaultStore struct {
	client *azsecrets.Client
	name   string
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
	return NewKeyVaultStore(client, name), nil
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

// Load reads the latest version of the secret; a missing secret reads as
// "" (no refresh token stored).
func (k *KeyVaultStore) Load(ctx context.Context) (string, error) {
	resp, err := k.client.GetSecret(ctx, k.name, "", nil)
	if err != nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusNotFound {
			return "", nil
		}
		return "", kvError("read refresh token secret", err)
	}
	if resp.Value == nil {
		return "", nil
	}
	return *resp.Value, nil
}

// Save writes token as a new version of the secret.
func (k *KeyVaultStore) Save(ctx context.Context, token string) error {
	_, err := k.client.SetSecret(ctx, k.name, azsecrets.SetSecretParameters{
		Value:       to.Ptr(token),
		ContentType: to.Ptr("application/vnd.gdapflow.pc-refresh-token"),
		Tags:        map[string]*string{"writer": to.Ptr("gdapflow")},
	}, nil)
	if err != nil {
		return kvError("write rotated refresh token secret", err)
	}
	return nil
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
