package upstream

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// IdleConnsPerHost is how many idle keep-alive connections NewTransport keeps
// per remote host. It is above the number of invocations the host runs at
// once (Service Bus maxConcurrentCalls, 16 by default), so that concurrent
// invocations reuse HTTP/1.1 connections instead of opening (and, over
// HTTPS, TLS-handshaking) a new one for most calls: net/http's default
// keeps 2. HTTP/2 servers multiplex on one connection either way.
const IdleConnsPerHost = 64

// NewTransport returns the HTTP transport the clients of remote services
// share: http.DefaultTransport's settings (proxy from the environment, dial
// and TLS timeouts, HTTP/2 where the server offers it) with IdleConnsPerHost
// idle connections kept per host.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 4 * IdleConnsPerHost
	t.MaxIdleConnsPerHost = IdleConnsPerHost
	return t
}

// AzureTransport is the azcore transport (policy.Transporter) the Azure SDK
// clients use: it sends requests through Client after putting each request
// body in memory behind a reader net/http recognises, so that headers and
// body leave in one write. (net/http flushes the headers ahead of any body
// it does not know to be in memory, and the SDK's rewindable bodies are not
// among those: every Table Storage write would cost two writes.)
type AzureTransport struct {
	// Client sends the requests.
	Client *http.Client
}

// maxBufferedBody bounds the request bodies AzureTransport reads into
// memory; larger ones are sent as they are. Table entities are at most
// 1 MiB.
const maxBufferedBody = 1 << 20

// Do implements policy.Transporter.
func (t AzureTransport) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody && req.ContentLength > 0 && req.ContentLength <= maxBufferedBody {
		b := make([]byte, req.ContentLength)
		if _, err := io.ReadFull(req.Body, b); err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		r := *req
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		req = &r
	}
	return t.Client.Do(req)
}
