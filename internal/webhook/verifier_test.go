package webhook

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/pcsim"
)

// testNow is the time every test verifies at.
var testNow = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) //nolint:gochecknoglobals // test constant

// pkiBundle is one test PKI with its certificate host and a verifier that
// trusts it.
type pkiBundle struct {
	pki  *pcsim.WebhookPKI
	host *pcsim.CertificateHost
	ver  *Verifier
}

//nolint:gochecknoglobals // one PKI per test binary: RSA key generation is slow
var (
	sharedPKIOnce sync.Once
	sharedPKI     *pcsim.WebhookPKI
	sharedPKIErr  error
)

// setupPKI starts a certificate host for the shared PKI and a verifier that
// trusts its CA and allows its host.
func setupPKI(t *testing.T) pkiBundle {
	t.Helper()
	sharedPKIOnce.Do(func() { sharedPKI, sharedPKIErr = pcsim.NewWebhookPKI(testNow) })
	require.NoError(t, sharedPKIErr)
	host := sharedPKI.StartCertificateHost()
	t.Cleanup(host.Close)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(sharedPKI.CAPEM))
	client := &http.Client{Timeout: DefaultFetchTimeout, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	ver := NewVerifier(VerifierOptions{AllowedHosts: []string{host.Host()}, Roots: roots, Client: client})
	return pkiBundle{pki: sharedPKI, host: host, ver: ver}
}

func (b pkiBundle) headers(t *testing.T, body []byte, certPath string) Headers {
	t.Helper()
	h, err := ParseHeaders(map[string][]string{
		"Authorization":            {"Signature " + b.pki.Sign(body)},
		"X-MS-Certificate-Url":     {b.host.URL + certPath},
		"X-MS-Signature-Algorithm": {"rsa-sha256"},
	})
	require.NoError(t, err)
	return h
}

func TestVerify(t *testing.T) {
	t.Parallel()
	b := setupPKI(t)
	body := []byte(`{"EventName":"granular-admin-relationship-activated"}`)
	tests := []struct {
		name   string
		mutate func(h *Headers)
		body   []byte
		at     time.Time
		want   Reason
	}{
		{name: "genuine"},
		{name: "body changed after signing", body: append([]byte(" "), body...), want: ReasonSignature},
		{name: "signature of another body", mutate: func(h *Headers) { h.Signature[0] ^= 0xff }, want: ReasonSignature},
		{name: "host not allowed", mutate: func(h *Headers) { h.CertificateURL.Host = "evil.example.com" }, want: ReasonCertificateHost},
		{name: "default host port differs", mutate: func(h *Headers) { h.CertificateURL.Host = "127.0.0.1" }, want: ReasonCertificateHost},
		{name: "expired certificate", mutate: func(h *Headers) { h.CertificateURL.Path = pcsim.ExpiredCertPath }, want: ReasonChain},
		{name: "self-signed certificate", mutate: func(h *Headers) { h.CertificateURL.Path = pcsim.UntrustedCertPath }, want: ReasonChain},
		{name: "certificate for another name", mutate: func(h *Headers) { h.CertificateURL.Path = pcsim.WrongNameCertPath }, want: ReasonSubject},
		{name: "certificate missing", mutate: func(h *Headers) { h.CertificateURL.Path = "/cert/none.cer" }, want: ReasonCertificate},
		{name: "verified after the certificate lapsed", at: testNow.Add(11 * 365 * 24 * time.Hour), want: ReasonChain},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := b.headers(t, body, pcsim.SigningCertPath)
			u := *h.CertificateURL
			h.CertificateURL = &u
			if tc.mutate != nil {
				h.Signature = append([]byte(nil), h.Signature...)
				tc.mutate(&h)
			}
			sent := body
			if tc.body != nil {
				sent = tc.body
			}
			at := testNow
			if !tc.at.IsZero() {
				at = tc.at
			}
			err := b.ver.Verify(t.Context(), h, sent, at)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			rej, ok := AsRejection(err)
			require.True(t, ok, "a rejection: %v", err)
			require.Equal(t, tc.want, rej.Reason, rej.Detail)
		})
	}
}

func TestVerifySystemRootsRefuseTestCA(t *testing.T) {
	t.Parallel()
	b := setupPKI(t)
	// Without injected roots the test CA is not trusted (system roots);
	// the download itself uses the test TLS roots.
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(b.pki.CAPEM))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	ver := NewVerifier(VerifierOptions{AllowedHosts: []string{b.host.Host()}, Client: client})
	body := []byte(`{}`)
	err := ver.Verify(t.Context(), b.headers(t, body, pcsim.SigningCertPath), body, testNow)
	rej, ok := AsRejection(err)
	require.True(t, ok)
	require.Equal(t, ReasonChain, rej.Reason)
}

func TestVerifyCachesCertificate(t *testing.T) {
	t.Parallel()
	b := setupPKI(t)
	body := []byte(`{"a":1}`)
	h := b.headers(t, body, pcsim.SigningCertPath)
	require.NoError(t, b.ver.Verify(t.Context(), h, body, testNow))
	b.host.Close() // a cached certificate needs no download
	require.NoError(t, b.ver.Verify(t.Context(), h, body, testNow.Add(time.Minute)))
	err := b.ver.Verify(t.Context(), h, body, testNow.Add(DefaultCacheTTL+time.Minute))
	rej, ok := AsRejection(err)
	require.True(t, ok)
	require.Equal(t, ReasonCertificate, rej.Reason, "after the TTL the certificate is fetched again")
}

func TestParseHeaders(t *testing.T) {
	t.Parallel()
	good := map[string][]string{
		"authorization":            {"Signature AAEC"},
		"x-ms-certificate-url":     {"https://3psostorageacct.blob.core.windows.net/cert/pcnotifications-dispatch.microsoft.com.cer"},
		"x-ms-signature-algorithm": {"RSA-SHA256"},
	}
	with := func(k string, v ...string) map[string][]string {
		out := map[string][]string{}
		for kk, vv := range good {
			out[kk] = vv
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name string
		h    map[string][]string
		want Reason
	}{
		{"genuine", good, ""},
		{"x-ms-signature instead", func() map[string][]string {
			h := with("authorization")
			h["X-MS-Signature"] = []string{"Signature AAEC"}
			return h
		}(), ""},
		{"no signature", with("authorization"), ReasonMissingHeader},
		{"bearer scheme", with("authorization", "Bearer AAEC"), ReasonSignatureHeader},
		{"not base64", with("authorization", "Signature !!"), ReasonSignatureHeader},
		{"two signatures", with("authorization", "Signature AAEC", "Signature AAEC"), ReasonSignatureHeader},
		{"no algorithm", with("x-ms-signature-algorithm"), ReasonMissingHeader},
		{"sha1", with("x-ms-signature-algorithm", "rsa-sha1"), ReasonAlgorithm},
		{"no certificate url", with("x-ms-certificate-url"), ReasonMissingHeader},
		{"http certificate url", with("x-ms-certificate-url", "http://3psostorageacct.blob.core.windows.net/cert/x.cer"), ReasonCertificateURL},
		{"relative certificate url", with("x-ms-certificate-url", "/cert/x.cer"), ReasonCertificateURL},
		{"user info", with("x-ms-certificate-url", "https://a@3psostorageacct.blob.core.windows.net/x.cer"), ReasonCertificateURL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, err := ParseHeaders(tc.h)
			if tc.want == "" {
				require.NoError(t, err)
				require.Equal(t, []byte{0, 1, 2}, h.Signature)
				return
			}
			rej, ok := AsRejection(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, tc.want, rej.Reason)
		})
	}
}

func TestDecodeEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		relID  string
		hasRel bool
		bad    bool
	}{
		{"relationship", `{"EventName":"granular-admin-relationship-activated","ResourceUri":"https://api.partnercenter.microsoft.com/v1/granularAdminRelationships/aaaa-bbbb","ResourceName":"GranularAdminRelationship","AuditUri":null,"ResourceChangeUtcDate":"2018-02-17T00:05:39.5485487+00:00"}`, "aaaa-bbbb", true, false},
		{"assignment", `{"EventName":"granular-admin-access-assignment-created","ResourceUri":"https://partner.microsoft.com/granularAdminRelationships/r1/accessAssignments/a1","ResourceChangeUtcDate":"2018-02-17T00:05:39Z","Extra":1}`, "r1", true, false},
		{"test event", `{"EventName":"test-created","ResourceUri":"http://localhost:16722/v1/webhooks/registration/test","ResourceName":"test","AuditUri":null,"ResourceChangeUtcDate":"2017-11-16T16:19:06.3520276+00:00"}`, "", false, false},
		{"hostile id", `{"EventName":"x","ResourceUri":"https://x/granularAdminRelationships/a%22b","ResourceChangeUtcDate":"2018-02-17T00:05:39Z"}`, "", false, false},
		{"not json", `EventName=x`, "", false, true},
		{"trailing data", `{"EventName":"x","ResourceChangeUtcDate":"2018-02-17T00:05:39Z"} {}`, "", false, true},
		{"no name", `{"ResourceChangeUtcDate":"2018-02-17T00:05:39Z"}`, "", false, true},
		{"no date", `{"EventName":"x"}`, "", false, true},
		{"date without zone", `{"EventName":"x","ResourceChangeUtcDate":"2018-02-17T00:05:39"}`, "", false, true},
		{"array", `[]`, "", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev, err := DecodeEvent([]byte(tc.body))
			if tc.bad {
				rej, ok := AsRejection(err)
				require.True(t, ok, "%v", err)
				require.Equal(t, ReasonMalformed, rej.Reason)
				return
			}
			require.NoError(t, err)
			id, ok := ev.RelationshipID()
			require.Equal(t, tc.hasRel, ok)
			require.Equal(t, tc.relID, id)
		})
	}
}

func TestRefreshMessageID(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 2, 9, 0, 0, 123, time.UTC)
	a, err := RefreshMessage("r1", at, testNow)
	require.NoError(t, err)
	b, err := RefreshMessage("r1", at, testNow.Add(time.Hour))
	require.NoError(t, err)
	c, err := RefreshMessage("r1", at.Add(time.Nanosecond), testNow)
	require.NoError(t, err)
	require.Equal(t, a.MessageID, b.MessageID, "one id per relationship and event time")
	require.NotEqual(t, a.MessageID, c.MessageID)
	_, err = url.Parse(a.MessageID)
	require.NoError(t, err)
}
