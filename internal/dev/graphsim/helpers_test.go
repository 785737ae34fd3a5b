package graphsim_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/authentication"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	textser "github.com/microsoft/kiota-serialization-text-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/tenantrelationships"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	roleHelpdesk  = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	roleUserAdmin = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	tenantA       = "11111111-2222-4333-8444-555555555555"
	groupA        = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
)

// testBundle is one simulator behind an httptest server.
type testBundle struct {
	sim   *graphsim.Sim
	clock *vclock.Virtual
	srv   *httptest.Server
	base  string // srv.URL + "/beta"
}

func setup(t *testing.T, opts graphsim.Options) *testBundle {
	t.Helper()
	clock := vclock.NewFrozen(t0)
	opts.Clock = clock
	sim := graphsim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &testBundle{sim: sim, clock: clock, srv: srv, base: srv.URL + "/beta"}
}

// addRel adds a relationship through the Go API.
func (b *testBundle) addRel(t *testing.T, r gdap.Relationship) string {
	t.Helper()
	id, err := b.sim.AddRelationship(r)
	require.NoError(t, err)
	return id
}

func (b *testBundle) rel(t *testing.T, id string) gdap.Relationship {
	t.Helper()
	r, ok := b.sim.Relationship(id)
	require.True(t, ok, "relationship %s", id)
	return r
}

// ---- plain HTTP ----

type rawReq struct {
	method  string
	path    string // below /beta, or absolute URL
	body    string
	headers map[string]string
	noAuth  bool
	gzip    bool
}

type rawResp struct {
	status int
	header http.Header
	body   []byte
}

func (r rawResp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), string(r.body))
	return m
}

func (r rawResp) errCode(t *testing.T) string {
	t.Helper()
	m := r.json(t)
	e, ok := m["error"].(map[string]any)
	require.True(t, ok, string(r.body))
	return e["code"].(string)
}

func (b *testBundle) do(t *testing.T, rq rawReq) rawResp {
	t.Helper()
	u := rq.path
	switch {
	case strings.HasPrefix(u, "/v1.0/"), strings.HasPrefix(u, "/_sim/"):
		u = b.srv.URL + u
	case !strings.HasPrefix(u, "http"):
		u = b.base + u
	}
	var body io.Reader
	if rq.body != "" {
		if rq.gzip {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			_, _ = zw.Write([]byte(rq.body))
			require.NoError(t, zw.Close())
			body = &buf
		} else {
			body = strings.NewReader(rq.body)
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), rq.method, u, body)
	require.NoError(t, err)
	if rq.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if rq.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if !rq.noAuth {
		req.Header.Set("Authorization", "Bearer test-token")
	}
	for k, v := range rq.headers {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := b.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return rawResp{status: resp.StatusCode, header: resp.Header, body: raw}
}

// ---- SDK ----

var registerOnce sync.Once

type staticToken struct {
	hosts *authentication.AllowedHostsValidator
}

func (s staticToken) GetAuthorizationToken(_ context.Context, u *url.URL, _ map[string]any) (string, error) {
	if !s.hosts.IsUrlHostValid(u) {
		return "", nil
	}
	return "sdk-test-token", nil
}

func (s staticToken) GetAllowedHostsValidator() *authentication.AllowedHostsValidator { return s.hosts }

// sdk returns a relationships request builder on an adapter pointed at the
// simulator (docs/platform/graph-facts.md §7).
func (b *testBundle) sdk(t *testing.T) *tenantrelationships.DelegatedAdminRelationshipsRequestBuilder {
	t.Helper()
	registerOnce.Do(func() {
		abstractions.RegisterDefaultSerializer(func() serialization.SerializationWriterFactory {
			return jsonser.NewJsonSerializationWriterFactory()
		})
		abstractions.RegisterDefaultDeserializer(func() serialization.ParseNodeFactory {
			return jsonser.NewJsonParseNodeFactory()
		})
		abstractions.RegisterDefaultSerializer(func() serialization.SerializationWriterFactory {
			return textser.NewTextSerializationWriterFactory()
		})
		abstractions.RegisterDefaultDeserializer(func() serialization.ParseNodeFactory {
			return textser.NewTextParseNodeFactory()
		})
	})
	hosts, err := authentication.NewAllowedHostsValidatorErrorCheck([]string{"127.0.0.1"})
	require.NoError(t, err)
	auth := authentication.NewBaseBearerTokenAuthenticationProvider(staticToken{hosts: hosts})
	adapter, err := core.NewGraphRequestAdapterBase(auth, core.GraphClientOptions{
		GraphServiceVersion: "beta", GraphServiceLibraryVersion: "0.165.0",
	})
	require.NoError(t, err)
	adapter.SetBaseUrl(b.base)
	// NewDelegatedAdminRelationshipsRequestBuilder(rawUrl) would store a
	// request-raw-url path parameter that every child builder inherits
	// (ByDelegatedAdminRelationshipId(...).Patch would hit the collection
	// URL), so the root builder is built from the baseurl parameter.
	return tenantrelationships.NewDelegatedAdminRelationshipsRequestBuilderInternal(map[string]string{"baseurl": b.base}, adapter)
}

func ifMatch(etag string) *abstractions.RequestHeaders {
	h := abstractions.NewRequestHeaders()
	h.Add("If-Match", etag)
	return h
}

func etagOf(t *testing.T, r interface{ GetAdditionalData() map[string]any }) string {
	t.Helper()
	v, ok := r.GetAdditionalData()["@odata.etag"].(*string)
	require.True(t, ok, "no @odata.etag")
	return *v
}

// odataErr asserts err is an ODataError with status and code.
func odataErr(t *testing.T, err error, status int, code string) {
	t.Helper()
	require.Error(t, err)
	oe, ok := err.(*odataerrors.ODataError)
	require.True(t, ok, "%T %v", err, err)
	require.Equal(t, status, oe.GetStatusCode(), "code %v", oe.GetErrorEscaped().GetCode())
	if code != "" {
		require.Equal(t, code, *oe.GetErrorEscaped().GetCode())
	}
}

func newRelBody(name string, roles ...string) models.DelegatedAdminRelationshipable {
	r := models.NewDelegatedAdminRelationship()
	r.SetDisplayName(&name)
	d, _ := serialization.ParseISODuration("P730D")
	r.SetDuration(d)
	r.SetAccessDetails(accessDetails(roles...))
	return r
}

func accessDetails(roles ...string) models.DelegatedAdminAccessDetailsable {
	ad := models.NewDelegatedAdminAccessDetails()
	var urs []models.UnifiedRoleable
	for _, id := range roles {
		ur := models.NewUnifiedRole()
		ur.SetRoleDefinitionId(&id)
		urs = append(urs, ur)
	}
	ad.SetUnifiedRoles(urs)
	return ad
}

func ptr[T any](v T) *T { return &v }
