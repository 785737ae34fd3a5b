package upstream

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTransient(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		want   bool
	}{{0, true}, {429, true}, {500, true}, {502, true}, {503, true}, {504, true}, {400, false}, {401, false}, {404, false}, {409, false}, {412, false}} {
		require.Equal(t, tc.want, (&Error{StatusCode: tc.status}).Transient(), "status %d", tc.status)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"10", 10 * time.Second}, {"0", 0}, {"-3", 0}, {"abc", 0}, {"10s", 0},
		{now.Add(30 * time.Second).Format("Mon, 02 Jan 2006 15:04:05 GMT"), 30 * time.Second},
		{now.Add(-30 * time.Second).Format("Mon, 02 Jan 2006 15:04:05 GMT"), 0},
	} {
		require.Equal(t, tc.want, ParseRetryAfter(tc.in, now), "input %q", tc.in)
	}
}

func TestAsAndMessage(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("wrapped: %w", &Error{Service: ServiceGraph, Operation: "get relationship", StatusCode: 404, Code: "itemNotFound", Message: "gone"})
	ue, ok := As(err)
	require.True(t, ok)
	require.Equal(t, 404, ue.StatusCode)
	require.Equal(t, "wrapped: graph get relationship: HTTP 404 itemNotFound: gone", err.Error())
}

// TestNewTransportReusesConnectionsAcrossConcurrentCalls runs two rounds of
// 16 concurrent requests: the second round must reuse the first round's
// connections (net/http's default transport would keep only 2 and open 14
// new ones).
func TestNewTransportReusesConnectionsAcrossConcurrentCalls(t *testing.T) {
	t.Parallel()
	const calls = 16
	var opened atomic.Int32
	release := make(chan struct{})
	var arrived sync.WaitGroup
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("hold") != "" {
			arrived.Done()
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: NewTransport()}
	round := func(hold bool) {
		var wg sync.WaitGroup
		url := srv.URL
		if hold {
			// All requests in flight at once, so each needs a connection.
			url += "?hold=1"
			arrived.Add(calls)
			go func() { arrived.Wait(); close(release) }()
		}
		for range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := client.Get(url)
				if !assert.NoError(t, err) {
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}()
		}
		wg.Wait()
	}
	round(true)
	require.EqualValues(t, calls, opened.Load())
	round(false)
	require.EqualValues(t, calls, opened.Load(), "the second round opened new connections")
}

// writeCounter counts the writes made on the connections it dials.
type writeCounter struct{ writes atomic.Int32 }

func (w *writeCounter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: &w.writes}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int32
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(b)
}

// sdkBody is a rewindable body of a type net/http does not know to be in
// memory, as the Azure SDK's are.
type sdkBody struct{ *strings.Reader }

func (sdkBody) Close() error { return nil }

func TestAzureTransportSendsHeadersAndBodyInOneWrite(t *testing.T) {
	t.Parallel()
	const payload = `{"PartitionKey":"p","RowKey":"r","Value":"x"}`
	var got []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)

	send := func(tr interface {
		Do(*http.Request) (*http.Response, error)
	}, body *sdkBody) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.URL, body)
		require.NoError(t, err)
		req.ContentLength = int64(len(payload))
		resp, err := tr.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
	}
	for _, tc := range []struct {
		name   string
		wrap   bool
		writes int32
	}{{"plain client: headers flushed ahead of the body", false, 2}, {"AzureTransport", true, 1}} {
		wc := &writeCounter{}
		client := &http.Client{Transport: &http.Transport{DialContext: wc.dial}}
		body := &sdkBody{strings.NewReader(payload)}
		if tc.wrap {
			send(AzureTransport{Client: client}, body)
			// The SDK rewinds its own body between tries: it must still be
			// readable from the start.
			_, err := body.Seek(0, io.SeekStart)
			require.NoError(t, err)
		} else {
			send(client, body)
		}
		require.Equal(t, tc.writes, wc.writes.Load(), tc.name)
	}
	require.Equal(t, []string{payload, payload}, got)
}
