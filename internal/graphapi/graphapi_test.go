package graphapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/graphapi"
	"github.com/gdapflow/gdapflow/internal/upstream"
)

const (
	testToken = "test-token-d0n0tl0g"
	relID     = "5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836"
	relPath   = "/beta/tenantRelationships/delegatedAdminRelationships/" + relID
	etag      = `W/"JyI0NzAwNjg0NS0wMDAwLTE5MDAtMDAwMC02MGY0Yjg4MzAwMDAiJw=="`
	tenantID  = "4b1f8c5a-1f0e-4f5e-9a3c-2d9f6f0c1e11"
	roleUser  = "fe930be7-5e62-47db-91af-98c3a49a38b1"
)

// relationshipJSON is a reseller relationship as Graph returns it, including
// the quirks the client must survive (empty activatedDateTime, offsets).
const relationshipJSON = `{
  "@odata.context": "https://graph.microsoft.com/beta/$metadata#tenantRelationships/delegatedAdminRelationships/$entity",
  "@odata.type": "#microsoft.graph.resellerDelegatedAdminRelationship",
  "@odata.etag": "W/\"JyI0NzAwNjg0NS0wMDAwLTE5MDAtMDAwMC02MGY0Yjg4MzAwMDAiJw==\"",
  "id": "` + relID + `",
  "displayName": "Contoso admin",
  "duration": "P14D",
  "status": "approvalPending",
  "autoExtendDuration": "PT0S",
  "createdDateTime": "2022-02-10T11:24:42.3148266Z",
  "lastModifiedDateTime": "2022-02-10T12:26:44.9941884+01:00",
  "activatedDateTime": "",
  "endDateTime": null,
  "customer": {"tenantId": "` + tenantID + `", "displayName": "Contoso"},
  "accessDetails": {"unifiedRoles": [{"roleDefinitionId": "` + gdap.GlobalAdminRoleID + `"}, {"roleDefinitionId": "` + roleUser + `"}]},
  "indirectProviderTenantId": "0e5ddb2e-2e4a-4e0a-9d59-8f2f9c9a5a11",
  "isPartnerConsentPending": true
}`

// activeJSON is a plain active relationship.
const activeJSON = `{
  "@odata.type": "#microsoft.graph.delegatedAdminRelationship",
  "@odata.etag": "W/\"etag-2\"",
  "id": "` + relID + `",
  "displayName": "Contoso admin",
  "duration": "P730D",
  "status": "active",
  "autoExtendDuration": "P180D",
  "createdDateTime": "2026-01-01T00:00:00Z",
  "lastModifiedDateTime": "2026-01-02T00:00:00Z",
  "activatedDateTime": "2026-01-02T00:00:00Z",
  "endDateTime": "2028-01-02T00:00:00Z",
  "customer": {"tenantId": "` + tenantID + `", "displayName": "Contoso"},
  "accessDetails": {"unifiedRoles": [{"roleDefinitionId": "` + roleUser + `"}]}
}`

// seen is one request as it arrived on the wire.
type seen struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
	// ContentLength and TransferEncoding are as the request arrived.
	ContentLength    int64
	TransferEncoding []string
}

// fakeGraph is an httptest server answering with a per-test handler and
// recording every request.
type fakeGraph struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func (f *fakeGraph) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

// testBundle is what setup returns.
type testBundle struct {
	client *graphapi.Client
	graph  *fakeGraph
}

func setup(t *testing.T, respond http.HandlerFunc) testBundle {
	t.Helper()
	f := &fakeGraph{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body,
			ContentLength: r.ContentLength, TransferEncoding: r.TransferEncoding})
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		respond(w, r)
	}))
	t.Cleanup(f.srv.Close)
	c, err := graphapi.New(graphapi.Options{
		BaseURL:        f.srv.URL + "/beta",
		Credential:     graphapi.NewStaticTokenCredential(testToken),
		RequestTimeout: 5 * time.Second,
		HTTPClient:     f.srv.Client(),
	})
	require.NoError(t, err)
	return testBundle{client: c, graph: f}
}

// reply writes a JSON response with optional headers.
func reply(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// requireCommonHeaders checks what every call must carry.
func requireCommonHeaders(t *testing.T, r seen) {
	t.Helper()
	require.Equal(t, "Bearer "+testToken, r.Header.Get("Authorization"))
	require.Equal(t, "include-unknown-enum-members", r.Header.Get("Prefer"))
	require.Empty(t, r.Header.Get("Content-Encoding"), "request bodies must never be compressed")
	require.Empty(t, r.Header.Get("Retry-Attempt"))
}

func TestGetRelationship(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		body string
		want gdap.Relationship
	}{
		{
			name: "reseller approvalPending",
			body: relationshipJSON,
			want: gdap.Relationship{
				ID: relID, DisplayName: "Contoso admin", Status: gdap.StatusApprovalPending,
				Customer: gdap.Customer{TenantID: tenantID, DisplayName: "Contoso"},
				Duration: "P14D", AutoExtendDuration: "PT0S",
				UnifiedRoles:    []string{gdap.GlobalAdminRoleID, roleUser},
				CreatedDateTime: time.Date(2022, 2, 10, 11, 24, 42, 314826600, time.UTC),
				LastModified:    time.Date(2022, 2, 10, 11, 26, 44, 994188400, time.UTC),
				ETag:            etag,
				IsReseller:      true, IndirectProviderTenantID: "0e5ddb2e-2e4a-4e0a-9d59-8f2f9c9a5a11",
				IsPartnerConsentPending: true,
			},
		},
		{
			name: "active with auto-extend",
			body: activeJSON,
			want: gdap.Relationship{
				ID: relID, DisplayName: "Contoso admin", Status: gdap.StatusActive,
				Customer: gdap.Customer{TenantID: tenantID, DisplayName: "Contoso"},
				Duration: "P730D", AutoExtendDuration: "P180D",
				UnifiedRoles:      []string{roleUser},
				CreatedDateTime:   time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
				LastModified:      time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
				ActivatedDateTime: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
				EndDateTime:       time.Date(2028, 1, 2, 0, 0, 0, 0, time.UTC),
				ETag:              `W/"etag-2"`,
			},
		},
		{
			name: "SDK-style zero duration",
			body: `{"id":"r1","status":"created","autoExtendDuration":"P","duration":"P1D"}`,
			want: gdap.Relationship{ID: "r1", Status: gdap.StatusCreated, AutoExtendDuration: "PT0S", Duration: "P1D"},
		},
		{
			name: "null and missing durations",
			body: `{"id":"r1","status":"created","duration":null}`,
			want: gdap.Relationship{ID: "r1", Status: gdap.StatusCreated},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, reply(http.StatusOK, tt.body))
			got, err := b.client.GetRelationship(t.Context(), relID)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)

			reqs := b.graph.requests()
			require.Len(t, reqs, 1)
			require.Equal(t, http.MethodGet, reqs[0].Method)
			require.Equal(t, relPath, reqs[0].Path)
			require.Empty(t, reqs[0].RawQuery)
			require.Empty(t, reqs[0].Body)
			requireCommonHeaders(t, reqs[0])
		})
	}
}

func TestPatchRelationship(t *testing.T) {
	t.Parallel()

	ok := func(string) http.HandlerFunc { return reply(http.StatusOK, activeJSON) }
	tests := []struct {
		name     string
		changes  gdap.Changes
		respond  func(srvURL string) http.HandlerFunc
		wantBody string
		want     func(srvURL string) graphapi.PatchResult // nil: a 200 with activeJSON
	}{
		{
			name:     "disable auto-extend keeps PT0S",
			changes:  gdap.Changes{AutoExtendDuration: ptr("PT0S")},
			respond:  ok,
			wantBody: `{"autoExtendDuration":"PT0S"}`,
		},
		{
			name: "every field in created",
			changes: gdap.Changes{
				DisplayName:        ptr("Renamed"),
				Duration:           ptr("P730D"),
				AutoExtendDuration: ptr("P180D"),
				Customer:           &gdap.Customer{TenantID: tenantID, DisplayName: "Contoso"},
				UnifiedRoles:       []string{roleUser, "729827e3-9c14-49f7-bb1b-9608f156bbb8"},
			},
			respond: ok,
			wantBody: `{"displayName":"Renamed","duration":"P730D","autoExtendDuration":"P180D",
				"customer":{"tenantId":"` + tenantID + `","displayName":"Contoso"},
				"accessDetails":{"unifiedRoles":[{"roleDefinitionId":"` + roleUser + `"},{"roleDefinitionId":"729827e3-9c14-49f7-bb1b-9608f156bbb8"}]}}`,
		},
		{
			name:     "week-sized duration is not reformatted",
			changes:  gdap.Changes{Duration: ptr("P14D")},
			respond:  ok,
			wantBody: `{"duration":"P14D"}`,
		},
		{
			name:    "GA removal accepted",
			changes: gdap.Changes{UnifiedRoles: []string{roleUser}},
			respond: func(srvURL string) http.HandlerFunc {
				return reply(http.StatusAccepted, `{}`, "Location", srvURL+relPath+"/operations/op-1", "Retry-After", "10")
			},
			wantBody: `{"accessDetails":{"unifiedRoles":[{"roleDefinitionId":"` + roleUser + `"}]}}`,
			want: func(srvURL string) graphapi.PatchResult {
				return graphapi.PatchResult{OperationURL: srvURL + relPath + "/operations/op-1", RetryAfter: 10 * time.Second}
			},
		},
		{
			name:     "no content",
			changes:  gdap.Changes{DisplayName: ptr("x")},
			respond:  func(string) http.HandlerFunc { return reply(http.StatusNoContent, "") },
			wantBody: `{"displayName":"x"}`,
			want:     func(string) graphapi.PatchResult { return graphapi.PatchResult{} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var srvURL string
			b := setup(t, func(w http.ResponseWriter, r *http.Request) { tt.respond(srvURL)(w, r) })
			srvURL = b.graph.srv.URL
			got, err := b.client.PatchRelationship(t.Context(), relID, etag, tt.changes)
			require.NoError(t, err)

			reqs := b.graph.requests()
			require.Len(t, reqs, 1)
			r := reqs[0]
			require.Equal(t, http.MethodPatch, r.Method)
			require.Equal(t, relPath, r.Path)
			require.Equal(t, etag, r.Header.Get("If-Match"))
			require.True(t, strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"), r.Header.Get("Content-Type"))
			requireCommonHeaders(t, r)
			require.JSONEq(t, tt.wantBody, string(r.Body))
			require.EqualValues(t, len(r.Body), r.ContentLength, "the body is sent with its length")
			require.Empty(t, r.TransferEncoding, "the body is not chunked")

			if tt.want != nil {
				require.Equal(t, tt.want(srvURL), got)
				require.Equal(t, got.OperationURL != "", got.Accepted())
				return
			}
			require.False(t, got.Accepted())
			require.NotNil(t, got.Relationship)
			require.Equal(t, `W/"etag-2"`, got.Relationship.ETag)
			require.Equal(t, "P180D", got.Relationship.AutoExtendDuration)
		})
	}
}

func TestPatchRelationshipAcceptedVariants(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		location   string // "" = none; "/rel" = relative to the server
		body       string
		wantURL    string // suffix after the server URL
		wantErr    bool
		retryAfter string
	}{
		{name: "empty body", location: relPath + "/operations/op-2", body: "", wantURL: relPath + "/operations/op-2", retryAfter: "5"},
		{name: "relative Location", location: "/beta/x/operations/op-3", body: "{}", wantURL: "/beta/x/operations/op-3"},
		{name: "missing Location", body: "{}", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b testBundle
			b = setup(t, func(w http.ResponseWriter, _ *http.Request) {
				switch {
				case strings.HasPrefix(tt.location, "/beta/x"):
					w.Header().Set("Location", tt.location)
				case tt.location != "":
					w.Header().Set("Location", b.graph.srv.URL+tt.location)
				}
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(http.StatusAccepted)
				_, _ = io.WriteString(w, tt.body)
			})
			got, err := b.client.PatchRelationship(t.Context(), relID, etag, gdap.Changes{UnifiedRoles: []string{roleUser}})
			if tt.wantErr {
				ue, ok := upstream.As(err)
				require.True(t, ok, "%v", err)
				require.Equal(t, http.StatusAccepted, ue.StatusCode)
				require.Equal(t, graphapi.CodeInvalidResponse, ue.Code)
				return
			}
			require.NoError(t, err)
			require.Equal(t, b.graph.srv.URL+tt.wantURL, got.OperationURL)
			if tt.retryAfter != "" {
				require.Equal(t, 5*time.Second, got.RetryAfter)
			}
		})
	}
}

func TestInvalidArguments(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		call func(c *graphapi.Client) error
		want error
	}{
		{"patch without changes", func(c *graphapi.Client) error {
			_, err := c.PatchRelationship(context.Background(), relID, etag, gdap.Changes{})
			return err
		}, graphapi.ErrInvalidArgument},
		{"patch without etag", func(c *graphapi.Client) error {
			_, err := c.PatchRelationship(context.Background(), relID, "", gdap.Changes{DisplayName: ptr("x")})
			return err
		}, graphapi.ErrInvalidArgument},
		{"get without id", func(c *graphapi.Client) error {
			_, err := c.GetRelationship(context.Background(), "")
			return err
		}, graphapi.ErrInvalidArgument},
		{"unknown action", func(c *graphapi.Client) error {
			_, err := c.CreateRequest(context.Background(), relID, "delete")
			return err
		}, graphapi.ErrInvalidArgument},
		{"unknownFutureValue action", func(c *graphapi.Client) error {
			_, err := c.CreateRequest(context.Background(), relID, "unknownFutureValue")
			return err
		}, graphapi.ErrInvalidArgument},
		{"operation on another host", func(c *graphapi.Client) error {
			_, err := c.GetOperation(context.Background(), "https://evil.example/beta/tenantRelationships/delegatedAdminRelationships/x/operations/y")
			return err
		}, graphapi.ErrForeignURL},
		{"relative operation URL", func(c *graphapi.Client) error {
			_, err := c.GetOperation(context.Background(), "/beta/tenantRelationships/delegatedAdminRelationships/x/operations/y")
			return err
		}, graphapi.ErrForeignURL},
		{"next link on another host", func(c *graphapi.Client) error {
			_, err := c.ListRelationships(context.Background(), "http://127.0.0.2:1/beta/tenantRelationships/delegatedAdminRelationships?$skiptoken=x", 0)
			return err
		}, graphapi.ErrForeignURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, reply(http.StatusOK, `{}`))
			err := tt.call(b.client)
			require.ErrorIs(t, err, tt.want)
			_, isUpstream := upstream.As(err)
			require.False(t, isUpstream)
			require.Empty(t, b.graph.requests(), "nothing may be sent")
		})
	}
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		status     int
		body       string
		headers    []string
		wantCode   string
		wantMsg    string
		wantReqID  string
		wantRetry  time.Duration
		transient  bool
		contentTyp string
	}{
		{
			name: "400 with header request-id", status: 400,
			body:    `{"error":{"code":"BadRequest","message":"Only autoExtendDuration may change","innerError":{"request-id":"inner-id","date":"2026-01-01T00:00:00"}}}`,
			headers: []string{"request-id", "hdr-id"}, wantCode: "BadRequest", wantMsg: "Only autoExtendDuration may change", wantReqID: "hdr-id",
		},
		{
			name: "404 inner request-id", status: 404,
			body:     `{"error":{"code":"itemNotFound","message":"not found","innerError":{"request-id":"inner-404"}}}`,
			wantCode: "itemNotFound", wantMsg: "not found", wantReqID: "inner-404",
		},
		{
			name: "409 nested inner request-id", status: 409,
			body:     `{"error":{"code":"conflict","message":"pending request","innerError":{"innerError":{"request-id":"deep"}}}}`,
			wantCode: "conflict", wantMsg: "pending request", wantReqID: "deep",
		},
		{
			name: "412 etag mismatch", status: 412,
			body:     `{"error":{"code":"PreconditionFailed","message":"etag","innerError":{"code":"entityTagDoesNotMatch"}}}`,
			wantCode: "PreconditionFailed", wantMsg: "etag",
		},
		{
			name: "429 throttled with Retry-After", status: 429,
			body:     `{"error":{"code":"TooManyRequests","message":"slow down"}}`,
			headers:  []string{"Retry-After", "17"},
			wantCode: "TooManyRequests", wantMsg: "slow down", wantRetry: 17 * time.Second, transient: true,
		},
		{
			name: "503 unavailable", status: 503,
			body:     `{"error":{"code":"serviceNotAvailable","message":"later"}}`,
			headers:  []string{"Retry-After", "3"},
			wantCode: "serviceNotAvailable", wantMsg: "later", wantRetry: 3 * time.Second, transient: true,
		},
		{
			name: "404 empty body", status: 404, wantMsg: "Not Found",
		},
		{
			name: "502 html body", status: 502, body: "<html>bad gateway</html>", contentTyp: "text/html",
			wantMsg: "Bad Gateway", transient: true,
		},
		{
			name: "401 missing token", status: 401,
			body:     `{"error":{"code":"InvalidAuthenticationToken","message":"Access token is empty."}}`,
			wantCode: "InvalidAuthenticationToken", wantMsg: "Access token is empty.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(w http.ResponseWriter, _ *http.Request) {
				for i := 0; i+1 < len(tt.headers); i += 2 {
					w.Header().Set(tt.headers[i], tt.headers[i+1])
				}
				if tt.contentTyp != "" {
					w.Header().Set("Content-Type", tt.contentTyp)
				} else if tt.body != "" {
					w.Header().Set("Content-Type", "application/json")
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			// A write (retriable by the SDK's defaults) and a read.
			_, perr := b.client.PatchRelationship(t.Context(), relID, etag, gdap.Changes{AutoExtendDuration: ptr("P180D")})
			_, gerr := b.client.GetRelationship(t.Context(), relID)
			for _, err := range []error{perr, gerr} {
				ue, ok := upstream.As(err)
				require.True(t, ok, "%T %v", err, err)
				require.Equal(t, upstream.ServiceGraph, ue.Service)
				require.Equal(t, tt.status, ue.StatusCode)
				require.Equal(t, tt.wantCode, ue.Code)
				require.Equal(t, tt.wantMsg, ue.Message)
				require.Equal(t, tt.wantReqID, ue.RequestID)
				require.Equal(t, tt.wantRetry, ue.RetryAfter)
				require.Equal(t, tt.transient, ue.Transient())
				require.NotContains(t, ue.Error(), testToken)
			}
			require.Equal(t, "update relationship", mustUpstream(t, perr).Operation)
			require.Equal(t, "get relationship", mustUpstream(t, gerr).Operation)
			// No SDK retries: exactly one PATCH and one GET reached the server.
			require.Len(t, b.graph.requests(), 2)
		})
	}
}

func TestTransportFailures(t *testing.T) {
	t.Parallel()

	t.Run("connection reset", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(w http.ResponseWriter, _ *http.Request) {
			hj, ok := w.(http.Hijacker)
			if !ok {
				panic("no hijacker")
			}
			conn, _, err := hj.Hijack()
			if err != nil {
				panic(err)
			}
			if tcp, ok := conn.(*net.TCPConn); ok {
				_ = tcp.SetLinger(0) // RST instead of FIN
			}
			_ = conn.Close()
		})
		_, err := b.client.PatchRelationship(t.Context(), relID, etag, gdap.Changes{AutoExtendDuration: ptr("P180D")})
		ue := mustUpstream(t, err)
		require.Equal(t, 0, ue.StatusCode)
		require.Error(t, ue.Err)
		require.True(t, ue.Transient())
		require.NotContains(t, ue.Error(), testToken)
		require.Len(t, b.graph.requests(), 1, "no SDK retry")
	})

	t.Run("reset after headers", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(w http.ResponseWriter, _ *http.Request) {
			hj := w.(http.Hijacker)
			conn, buf, err := hj.Hijack()
			if err != nil {
				panic(err)
			}
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"id\":")
			_ = buf.Flush()
			if tcp, ok := conn.(*net.TCPConn); ok {
				_ = tcp.SetLinger(0)
			}
			_ = conn.Close()
		})
		_, err := b.client.GetRelationship(t.Context(), relID)
		ue := mustUpstream(t, err)
		require.Equal(t, 0, ue.StatusCode)
		require.True(t, ue.Transient())
	})

	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		c, err := graphapi.New(graphapi.Options{
			BaseURL:        srv.URL + "/beta",
			Credential:     graphapi.NewStaticTokenCredential(testToken),
			RequestTimeout: 50 * time.Millisecond,
		})
		require.NoError(t, err)
		_, err = c.GetRelationship(t.Context(), relID)
		ue := mustUpstream(t, err)
		require.Equal(t, 0, ue.StatusCode)
		require.True(t, ue.Transient())
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})

	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		c, err := graphapi.New(graphapi.Options{BaseURL: "http://" + addr + "/beta", Credential: graphapi.NewStaticTokenCredential(testToken)})
		require.NoError(t, err)
		_, err = c.GetRelationship(t.Context(), relID)
		ue := mustUpstream(t, err)
		require.Equal(t, 0, ue.StatusCode)
		require.True(t, ue.Transient())
		require.Error(t, ue.Err)
	})

	t.Run("credential failure", func(t *testing.T) {
		t.Parallel()
		f := setup(t, reply(http.StatusOK, activeJSON))
		c, err := graphapi.New(graphapi.Options{
			BaseURL:    f.graph.srv.URL + "/beta",
			Credential: failingCredential{},
		})
		require.NoError(t, err)
		_, err = c.GetRelationship(t.Context(), relID)
		ue := mustUpstream(t, err)
		require.Equal(t, upstream.ServiceEntra, ue.Service)
		require.Equal(t, graphapi.CodeTokenUnavailable, ue.Code)
		require.ErrorIs(t, err, errNoToken)
		require.Empty(t, f.graph.requests())
	})

	t.Run("malformed success body", func(t *testing.T) {
		t.Parallel()
		b := setup(t, reply(http.StatusOK, `{"id": "x", "status": `))
		_, err := b.client.GetRelationship(t.Context(), relID)
		ue := mustUpstream(t, err)
		require.Equal(t, http.StatusOK, ue.StatusCode)
		require.Equal(t, graphapi.CodeInvalidResponse, ue.Code)
	})
}

func TestRequests(t *testing.T) {
	t.Parallel()

	reqJSON := func(id, action, status string) string {
		return `{"@odata.type":"#microsoft.graph.delegatedAdminRelationshipRequest","id":"` + id + `","action":"` + action +
			`","status":"` + status + `","createdDateTime":"2026-03-01T10:00:00Z","lastModifiedDateTime":"2026-03-01T10:00:05Z"}`
	}

	t.Run("create", func(t *testing.T) {
		t.Parallel()
		for _, action := range []string{gdap.ActionLockForApproval, gdap.ActionApprove, gdap.ActionTerminate, gdap.ActionReject} {
			b := setup(t, reply(http.StatusCreated, reqJSON("req-1", action, gdap.RequestCreated), "Location", "ignored"))
			got, err := b.client.CreateRequest(t.Context(), relID, action)
			require.NoError(t, err)
			require.Equal(t, gdap.Request{
				ID: "req-1", Action: action, Status: gdap.RequestCreated,
				CreatedDateTime: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
				LastModified:    time.Date(2026, 3, 1, 10, 0, 5, 0, time.UTC),
			}, got)
			reqs := b.graph.requests()
			require.Len(t, reqs, 1)
			require.Equal(t, http.MethodPost, reqs[0].Method)
			require.Equal(t, relPath+"/requests", reqs[0].Path)
			require.JSONEq(t, `{"action":"`+action+`"}`, string(reqs[0].Body))
			require.Empty(t, reqs[0].Header.Get("If-Match"))
			requireCommonHeaders(t, reqs[0])
		}
	})

	t.Run("get", func(t *testing.T) {
		t.Parallel()
		b := setup(t, reply(http.StatusOK, reqJSON("req-2", "terminate", "succeeded")))
		got, err := b.client.GetRequest(t.Context(), relID, "req-2")
		require.NoError(t, err)
		require.Equal(t, gdap.RequestSucceeded, got.Status)
		reqs := b.graph.requests()
		require.Equal(t, relPath+"/requests/req-2", reqs[0].Path)
		requireCommonHeaders(t, reqs[0])
	})

	t.Run("list follows nextLink", func(t *testing.T) {
		t.Parallel()
		var b testBundle
		b = setup(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("$skiptoken") == "" {
				reply(http.StatusOK, `{"value":[`+reqJSON("a", "lockForApproval", "succeeded")+`],"@odata.nextLink":"`+
					b.graph.srv.URL+relPath+`/requests?$skiptoken=p2"}`)(w, r)
				return
			}
			reply(http.StatusOK, `{"value":[`+reqJSON("b", "reject", "pending")+`]}`)(w, r)
		})
		got, err := b.client.ListRequests(t.Context(), relID)
		require.NoError(t, err)
		require.Len(t, got, 2)
		require.Equal(t, "a", got[0].ID)
		require.Equal(t, gdap.ActionReject, got[1].Action)
		reqs := b.graph.requests()
		require.Len(t, reqs, 2)
		require.Empty(t, reqs[0].RawQuery)
		require.Equal(t, "$skiptoken=p2", reqs[1].RawQuery)
		for _, r := range reqs {
			requireCommonHeaders(t, r)
		}
	})

	t.Run("list refuses a foreign nextLink", func(t *testing.T) {
		t.Parallel()
		b := setup(t, reply(http.StatusOK, `{"value":[],"@odata.nextLink":"https://evil.example/beta/x?$skiptoken=1"}`))
		_, err := b.client.ListRequests(t.Context(), relID)
		require.ErrorIs(t, err, graphapi.ErrForeignURL)
		require.Len(t, b.graph.requests(), 1)
	})
}

func TestGetOperation(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		body string
		want gdap.Operation
	}{
		{
			name: "relationship update succeeded",
			body: `{"@odata.etag":"W/\"x\"","id":"op-1","operationType":"delegatedAdminRelationshipUpdate","status":"succeeded",
				"data":"{\"id\":\"r\"}","createdDateTime":"2026-03-01T10:00:00Z","lastModifiedDateTime":"2026-03-01T10:01:00Z"}`,
			want: gdap.Operation{
				ID: "op-1", OperationType: "delegatedAdminRelationshipUpdate", Status: gdap.OperationSucceeded, Data: `{"id":"r"}`,
				CreatedDateTime: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), LastModified: time.Date(2026, 3, 1, 10, 1, 0, 0, time.UTC),
			},
		},
		{
			name: "running",
			body: `{"id":"op-2","operationType":"delegatedAdminAccessAssignmentUpdate","status":"running"}`,
			want: gdap.Operation{ID: "op-2", OperationType: "delegatedAdminAccessAssignmentUpdate", Status: gdap.OperationRunning},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, reply(http.StatusOK, tt.body))
			opURL := b.graph.srv.URL + "/v1.0/tenantRelationships/delegatedAdminRelationships/" + relID + "/operations/" + tt.want.ID
			got, err := b.client.GetOperation(t.Context(), opURL)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			reqs := b.graph.requests()
			require.Len(t, reqs, 1)
			require.Equal(t, http.MethodGet, reqs[0].Method)
			require.Equal(t, "/v1.0/tenantRelationships/delegatedAdminRelationships/"+relID+"/operations/"+tt.want.ID, reqs[0].Path)
			requireCommonHeaders(t, reqs[0])
		})
	}
}

func TestListRelationships(t *testing.T) {
	t.Parallel()

	var b testBundle
	b = setup(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("$skiptoken") {
		case "":
			reply(http.StatusOK, `{"@odata.context":"x","value":[`+relationshipJSON+`,`+activeJSON+`],
				"@odata.nextLink":"`+b.graph.srv.URL+`/beta/tenantRelationships/delegatedAdminRelationships?$top=2&$skiptoken=abc"}`)(w, r)
		default:
			reply(http.StatusOK, `{"value":[{"id":"last","status":"expired","duration":"P7D","autoExtendDuration":"P0D"}]}`)(w, r)
		}
	})
	first, err := b.client.ListRelationships(t.Context(), "", 2)
	require.NoError(t, err)
	require.Len(t, first.Relationships, 2)
	require.True(t, first.Relationships[0].IsReseller)
	require.Equal(t, "P14D", first.Relationships[0].Duration)
	require.Equal(t, etag, first.Relationships[0].ETag)
	require.Equal(t, "P730D", first.Relationships[1].Duration)
	require.NotEmpty(t, first.NextLink)

	second, err := b.client.ListRelationships(t.Context(), first.NextLink, 2)
	require.NoError(t, err)
	require.Equal(t, []gdap.Relationship{{ID: "last", Status: gdap.StatusExpired, Duration: "P7D", AutoExtendDuration: "P0D"}}, second.Relationships)
	require.Empty(t, second.NextLink)

	reqs := b.graph.requests()
	require.Len(t, reqs, 2)
	require.Equal(t, "/beta/tenantRelationships/delegatedAdminRelationships", reqs[0].Path)
	require.Equal(t, "2", queryTop(reqs[0].RawQuery))
	require.NotContains(t, reqs[0].RawQuery, "skiptoken")
	require.Equal(t, "$top=2&$skiptoken=abc", reqs[1].RawQuery)
	for _, r := range reqs {
		requireCommonHeaders(t, r)
	}
}

func TestListRelationshipsTopIsCapped(t *testing.T) {
	t.Parallel()
	b := setup(t, reply(http.StatusOK, `{"value":[]}`))
	page, err := b.client.ListRelationships(t.Context(), "", 5000)
	require.NoError(t, err)
	require.Empty(t, page.Relationships)
	require.Equal(t, "300", queryTop(b.graph.requests()[0].RawQuery))
}

func TestNew(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		opts    graphapi.Options
		wantErr bool
	}{
		{"default base URL", graphapi.Options{Credential: graphapi.NewStaticTokenCredential("x")}, false},
		{"https graph", graphapi.Options{BaseURL: "https://graph.microsoft.com/v1.0/", Credential: graphapi.NewStaticTokenCredential("x")}, false},
		{"http loopback", graphapi.Options{BaseURL: "http://127.0.0.1:1234/beta", Credential: graphapi.NewStaticTokenCredential("x")}, false},
		{"http localhost", graphapi.Options{BaseURL: "http://localhost:1234/beta", Credential: graphapi.NewStaticTokenCredential("x")}, false},
		{"http ipv6 loopback", graphapi.Options{BaseURL: "http://[::1]:1234/beta", Credential: graphapi.NewStaticTokenCredential("x")}, false},
		{"http remote refused", graphapi.Options{BaseURL: "http://graph.example.com/beta", Credential: graphapi.NewStaticTokenCredential("x")}, true},
		{"no credential", graphapi.Options{BaseURL: "https://graph.microsoft.com/beta"}, true},
		{"not a URL", graphapi.Options{BaseURL: "::", Credential: graphapi.NewStaticTokenCredential("x")}, true},
		{"query in base", graphapi.Options{BaseURL: "https://graph.microsoft.com/beta?x=1", Credential: graphapi.NewStaticTokenCredential("x")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := graphapi.New(tt.opts)
			if tt.wantErr {
				require.Error(t, err)
				require.Nil(t, c)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, c)
		})
	}
}

func TestScopesAndHosts(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		host       string // "127.0.0.1" or "localhost"
		scopes     []string
		wantScopes func(srvHost string) []string
	}{
		{"default scope from base URL", "127.0.0.1", nil, func(h string) []string { return []string{"http://" + h + "/.default"} }},
		{"explicit scopes", "127.0.0.1", []string{"https://graph.microsoft.com/.default"}, func(string) []string { return []string{"https://graph.microsoft.com/.default"} }},
		{"localhost is allowed", "localhost", nil, func(h string) []string { return []string{"http://" + h + "/.default"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, reply(http.StatusOK, activeJSON))
			host := strings.TrimPrefix(b.graph.srv.URL, "http://")
			if tt.host == "localhost" {
				host = strings.Replace(host, "127.0.0.1", "localhost", 1)
			}
			cred := &recordingCredential{}
			c, err := graphapi.New(graphapi.Options{BaseURL: "http://" + host + "/beta", Credential: cred, Scopes: tt.scopes})
			require.NoError(t, err)
			_, err = c.GetRelationship(t.Context(), relID)
			require.NoError(t, err)
			require.Equal(t, tt.wantScopes(host), cred.scopes())
			reqs := b.graph.requests()
			require.Len(t, reqs, 1)
			require.Equal(t, "Bearer recorded", reqs[0].Header.Get("Authorization"))
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	b := setup(t, reply(http.StatusOK, activeJSON))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			_, err := b.client.GetRelationship(t.Context(), relID)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, b.graph.requests(), 16)
}

func TestStaticTokenCredential(t *testing.T) {
	t.Parallel()
	tok, err := graphapi.NewStaticTokenCredential("abc").GetToken(t.Context(), policy.TokenRequestOptions{})
	require.NoError(t, err)
	require.Equal(t, "abc", tok.Token)
	_, err = graphapi.NewStaticTokenCredential("").GetToken(t.Context(), policy.TokenRequestOptions{})
	require.Error(t, err)
	require.NotContains(t, graphapi.NewStaticTokenCredential("abc").String(), "abc")
}

// queryTop extracts $top from a raw query.
func queryTop(raw string) string {
	for _, kv := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k == "$top" || k == "%24top" {
			return v
		}
	}
	return ""
}

func mustUpstream(t *testing.T, err error) *upstream.Error {
	t.Helper()
	ue, ok := upstream.As(err)
	require.True(t, ok, "want *upstream.Error, got %T %v", err, err)
	return ue
}

func ptr[T any](v T) *T { return &v }

var errNoToken = errors.New("managed identity unavailable")

// failingCredential never yields a token.
type failingCredential struct{}

func (failingCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, errNoToken
}

// recordingCredential records the scopes it was asked for.
type recordingCredential struct {
	mu   sync.Mutex
	seen []string
}

func (c *recordingCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append([]string(nil), o.Scopes...)
	return azcore.AccessToken{Token: "recorded", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func (c *recordingCredential) scopes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen
}

func TestOperationURLWithDefaultPort(t *testing.T) {
	t.Parallel()
	c, err := graphapi.New(graphapi.Options{BaseURL: "https://graph.microsoft.com/beta", Credential: graphapi.NewStaticTokenCredential("x")})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // nothing may leave the machine: the call fails before dialling
	for _, u := range []string{
		"https://graph.microsoft.com:443/v1.0/tenantRelationships/delegatedAdminRelationships/r/operations/o",
		"https://GRAPH.microsoft.com/v1.0/tenantRelationships/delegatedAdminRelationships/r/operations/o",
	} {
		_, err := c.GetOperation(ctx, u)
		require.NotErrorIs(t, err, graphapi.ErrForeignURL, u)
		ue := mustUpstream(t, err)
		require.ErrorIs(t, ue, context.Canceled)
	}
	for _, u := range []string{
		"https://graph.microsoft.com:8443/v1.0/x",
		"http://graph.microsoft.com/v1.0/x",
		"https://graph.microsoft.us/v1.0/x",
	} {
		_, err := c.GetOperation(ctx, u)
		require.ErrorIs(t, err, graphapi.ErrForeignURL, u)
	}
}

func BenchmarkGetRelationship(b *testing.B) {
	srv := httptest.NewServer(reply(http.StatusOK, activeJSON))
	b.Cleanup(srv.Close)
	c, err := graphapi.New(graphapi.Options{BaseURL: srv.URL + "/beta", Credential: graphapi.NewStaticTokenCredential(testToken), HTTPClient: srv.Client()})
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetRelationship(b.Context(), relID); err != nil {
			b.Fatal(err)
		}
	}
}
