package graphapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	abstractions "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	khttp "github.com/microsoft/kiota-http-go"
	jsonserialization "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/tenantrelationships"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	graphauth "github.com/microsoftgraph/msgraph-sdk-go-core/authentication"

	"github.com/gdapflow/gdapflow/internal/upstream"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// DefaultBaseURL is the Graph root gdapflow talks to when none is configured.
const DefaultBaseURL = "https://graph.microsoft.com/beta"

// DefaultRequestTimeout bounds one HTTP call (token acquisition included) when
// Options.RequestTimeout is zero. An invocation must never wait more than
// 10 s in process.
const DefaultRequestTimeout = 8 * time.Second

// maxResponseBytes bounds how much of a response body is read.
const maxResponseBytes = 16 << 20

// jsonContentType is the only content type this client reads and writes.
const jsonContentType = "application/json"

// maxPages bounds how many pages ListRequests follows.
const maxPages = 100

// preferUnknownEnums is sent on every call so that evolvable enum members
// (request action reject, operation type delegatedAdminRelationshipUpdate)
// are returned as themselves instead of unknownFutureValue.
const preferUnknownEnums = "include-unknown-enum-members"

// graphHosts are the public Graph hosts, always allowed to receive the token.
var graphHosts = []string{
	"graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us",
	"graph.microsoft.de", "microsoftgraph.chinacloudapi.cn", "canary.graph.microsoft.com",
}

// ErrInvalidArgument reports a call the client refused before sending
// anything (empty id, empty If-Match, no changes, unknown action).
var ErrInvalidArgument = errors.New("graphapi: invalid argument")

// errNoRelationshipID is the ErrInvalidArgument of an empty relationship id.
var errNoRelationshipID = fmt.Errorf("%w: empty relationship id", ErrInvalidArgument)

// errNoIfMatch is the ErrInvalidArgument of an empty If-Match etag.
var errNoIfMatch = fmt.Errorf("%w: empty If-Match etag", ErrInvalidArgument)

// ErrForeignURL reports an operation URL or next link that is not on the
// BaseURL's host; the client refuses to send the token there.
var ErrForeignURL = errors.New("graphapi: URL is not on the Graph base URL's host")

// Options configures New.
type Options struct {
	// BaseURL is the Graph root including the version segment, e.g.
	// https://graph.microsoft.com/beta or http://127.0.0.1:PORT/beta.
	// Plain http is accepted only for loopback hosts. Default DefaultBaseURL.
	BaseURL string
	// Credential supplies the bearer token (azidentity in Azure,
	// NewStaticTokenCredential for a local simulator). Required.
	Credential azcore.TokenCredential
	// Scopes requested from Credential. Default <scheme>://<host>/.default
	// of BaseURL (https://graph.microsoft.com/.default in Azure).
	Scopes []string
	// RequestTimeout bounds each HTTP call. Default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// HTTPClient optionally supplies the base transport (its Transport is
	// wrapped by the Kiota middleware; nil means Kiota's default transport).
	HTTPClient *http.Client
	// Clock is used to interpret HTTP-date Retry-After values and by
	// Pacing. Default vclock.Real.
	Clock vclock.Clock
	// Pacing, when set, paces the client's calls once Graph throttles it
	// (pacing.go). Nil: no client-side pacing.
	Pacing *Pacing
}

// Client calls the Graph GDAP API. It is safe for concurrent use.
type Client struct {
	adapter *msgraphgocore.GraphRequestAdapterBase
	rels    *tenantrelationships.DelegatedAdminRelationshipsRequestBuilder
	base    *url.URL
	timeout time.Duration
	clock   vclock.Clock
	// pacer is nil without Options.Pacing.
	pacer *pacer
}

// New validates opts and builds the request adapter once.
func New(opts Options) (*Client, error) {
	rawBase := strings.TrimRight(strings.TrimSpace(opts.BaseURL), "/")
	if rawBase == "" {
		rawBase = DefaultBaseURL
	}
	base, err := url.Parse(rawBase)
	if err != nil || base.Host == "" || base.Opaque != "" {
		return nil, fmt.Errorf("graphapi: invalid BaseURL %q", opts.BaseURL)
	}
	if base.RawQuery != "" || base.Fragment != "" || base.User != nil {
		return nil, fmt.Errorf("graphapi: BaseURL %q must not carry a query, fragment or user info", opts.BaseURL)
	}
	switch {
	case strings.EqualFold(base.Scheme, "https"):
	case strings.EqualFold(base.Scheme, "http") && isLoopback(base.Hostname()):
	default:
		return nil, fmt.Errorf("graphapi: BaseURL %q must use https (http only for loopback hosts)", opts.BaseURL)
	}
	if opts.Credential == nil {
		return nil, errors.New("graphapi: Credential is required")
	}
	timeout := opts.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	scopes := opts.Scopes
	if len(scopes) == 0 {
		scopes = []string{strings.ToLower(base.Scheme) + "://" + base.Host + "/.default"}
	}
	hosts := append([]string{strings.ToLower(base.Hostname())}, graphHosts...)
	auth, err := graphauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(
		tokenCredential{inner: opts.Credential}, scopes, hosts)
	if err != nil {
		return nil, fmt.Errorf("graphapi: authentication provider: %w", err)
	}

	httpClient, err := newHTTPClient(opts.HTTPClient, timeout)
	if err != nil {
		return nil, err
	}
	parseNodes := absser.NewParseNodeFactoryRegistry()
	jsonParse := jsonserialization.NewJsonParseNodeFactory()
	parseNodes.ContentTypeAssociatedFactories[jsonContentType] = jsonParse
	writers := absser.NewSerializationWriterFactoryRegistry()
	jsonWrite := jsonserialization.NewJsonSerializationWriterFactory()
	writers.ContentTypeAssociatedFactories[jsonContentType] = jsonWrite

	adapter, err := msgraphgocore.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		auth, clientOptions, parseNodes, writers, httpClient)
	if err != nil {
		return nil, fmt.Errorf("graphapi: request adapter: %w", err)
	}
	adapter.SetBaseUrl(base.String())
	clock := opts.Clock
	if clock == nil {
		clock = vclock.Real{}
	}
	c := &Client{
		adapter: adapter,
		rels: tenantrelationships.NewDelegatedAdminRelationshipsRequestBuilderInternal(
			map[string]string{"baseurl": base.String()}, adapter),
		base:    base,
		timeout: timeout,
		clock:   clock,
	}
	if opts.Pacing != nil {
		c.pacer = newPacer(*opts.Pacing)
	}
	return c, nil
}

// PacedRate reports the rate (calls per second) the client paces itself
// at after Graph throttled it; 0 while it does not pace.
func (c *Client) PacedRate() float64 {
	if c.pacer == nil {
		return 0
	}
	return c.pacer.pacedRate()
}

// clientOptions describes the SDK in the SdkVersion telemetry header.
var clientOptions = msgraphgocore.GraphClientOptions{
	GraphServiceVersion:        "beta",
	GraphServiceLibraryVersion: "0.165.0",
}

// newHTTPClient builds the Kiota middleware chain: Graph telemetry, then the
// Kiota defaults with compression off, retries off and redirects off, then
// sizedBodyHandler.
func newHTTPClient(base *http.Client, timeout time.Duration) (*http.Client, error) {
	never := func(time.Duration, int, *http.Request, *http.Response) bool { return false }
	kiotaMW, err := khttp.GetDefaultMiddlewaresWithOptions(
		khttp.NewCompressionOptionsReference(false),
		&khttp.RetryHandlerOptions{ShouldRetry: never},
		&khttp.RedirectHandlerOptions{ShouldRedirect: func(*http.Request, *http.Response) bool { return false }},
	)
	if err != nil {
		return nil, fmt.Errorf("graphapi: middleware: %w", err)
	}
	mw := append([]khttp.Middleware{msgraphgocore.NewGraphTelemetryHandler(&clientOptions)}, kiotaMW...)
	mw = append(mw, sizedBodyHandler{})
	var parent http.RoundTripper
	if base != nil && base.Transport != nil {
		parent = base.Transport
	}
	return &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(parent, mw...),
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Timeout: timeout,
	}, nil
}

// isLoopback reports whether host (without port) is a loopback name or address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// tokenCredential marks credential failures so that they can be told from
// transport failures.
type tokenCredential struct{ inner azcore.TokenCredential }

// GetToken implements azcore.TokenCredential.
func (c tokenCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.inner.GetToken(ctx, opts)
	if err != nil {
		return azcore.AccessToken{}, &tokenError{err: err}
	}
	return tok, nil
}

// tokenError wraps a credential failure.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return "acquire token: " + e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// response is what the response handler captured of one HTTP exchange.
type response struct {
	status  int
	header  http.Header
	body    []byte
	request *url.URL
}

// bodyReadError is a failure reading a response body (connection reset
// mid-body, timeout): a transport failure.
type bodyReadError struct{ err error }

func (e *bodyReadError) Error() string { return "read response body: " + e.err.Error() }
func (e *bodyReadError) Unwrap() error { return e.err }

// call is one SDK builder invocation: it must pass headers and options into
// the builder's request configuration.
type call func(ctx context.Context, headers *abstractions.RequestHeaders, options []abstractions.RequestOption) error

// send runs one HTTP call through the SDK with the standard headers and
// captures the raw response. It returns the response when its status is one
// of ok; transport and credential failures, error statuses and unexpected
// success statuses become *upstream.Error.
func (c *Client) send(ctx context.Context, op string, extra map[string]string, fn call, ok ...int) (*response, error) {
	if c.pacer != nil {
		now := c.clock.Now()
		if slot, epoch, ok := c.pacer.admit(ctx, now); !ok {
			return nil, &upstream.Error{Service: upstream.ServiceGraph, Operation: op, StatusCode: http.StatusTooManyRequests,
				Code: LocalThrottleCode, Message: "deferred by the client's pacing after Graph throttled it",
				RetryAfter: slot.Sub(now), Reserved: slot, ReservedCalls: c.pacer.cfg.ReserveCalls, ReservedEpoch: epoch}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	headers := abstractions.NewRequestHeaders()
	headers.Add("Prefer", preferUnknownEnums)
	for k, v := range extra {
		headers.Add(k, v)
	}
	var got *response
	handler := abstractions.NewRequestHandlerOption()
	handler.SetResponseHandler(func(raw any, _ abstractions.ErrorMappings) (any, error) {
		resp, ok := raw.(*http.Response)
		if !ok || resp == nil {
			return nil, errors.New("no HTTP response")
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
		if err != nil {
			return nil, &bodyReadError{err: err}
		}
		if len(body) > maxResponseBytes {
			return nil, &bodyReadError{err: fmt.Errorf("response body exceeds %d bytes", maxResponseBytes)}
		}
		r := &response{status: resp.StatusCode, header: resp.Header, body: body}
		if resp.Request != nil {
			r.request = resp.Request.URL
		}
		got = r
		return nil, nil
	})
	err := fn(ctx, headers, []abstractions.RequestOption{handler})
	if err != nil {
		return nil, c.transportError(op, err)
	}
	if got == nil {
		return nil, c.transportError(op, errors.New("no HTTP response"))
	}
	if err := c.expect(op, got, ok...); err != nil {
		if ue, isUE := upstream.As(err); isUE && c.pacer != nil && ue.Throttled() {
			ue.Reserved, ue.ReservedEpoch = c.pacer.throttled(c.clock.Now(), ue.RetryAfter)
			ue.ReservedCalls = c.pacer.cfg.ReserveCalls
		}
		return nil, err
	}
	if c.pacer != nil {
		c.pacer.succeeded(c.clock.Now())
	}
	return got, nil
}
