package pcsim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"time"
)

// Certificate paths on the certificate host. SigningCertPath is the path
// Partner Center publishes its certificate under
// (docs/platform/partner-center-webhooks.md); the others serve forged
// deliveries.
const (
	SigningCertPath   = "/cert/pcnotifications-dispatch.microsoft.com.cer"
	ExpiredCertPath   = "/cert/expired.cer"
	UntrustedCertPath = "/cert/untrusted.cer"
	WrongNameCertPath = "/cert/wrong-name.cer"
)

// WebhookPKI is a test certificate authority (named like Microsoft's
// issuer) with the leaf certificates the simulator signs deliveries with.
type WebhookPKI struct {
	// CAPEM is the root certificate, PEM: what the handler must trust
	// (GDAP_DEV_WEBHOOK_ROOTS).
	CAPEM []byte
	// Key signs deliveries; the signing, expired and wrong-name leaves
	// carry its public key.
	Key *rsa.PrivateKey
	ca  *x509.Certificate
	// der holds the DER of each certificate path.
	der map[string][]byte
	tls tls.Certificate
}

// NewWebhookPKI creates the authority and its leaves: valid from a year
// before now for ten years (the expired leaf ended two years before now).
func NewWebhookPKI(now time.Time) (*WebhookPKI, error) {
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	org := []string{"Microsoft Corporation"}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gdapflow test Issuing CA", Organization: org},
		NotBefore: now.Add(-10 * 365 * 24 * time.Hour), NotAfter: now.Add(20 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	p := &WebhookPKI{CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), Key: key, ca: ca, der: map[string][]byte{}}
	leaf := func(serial int64, cn string, from, to time.Time, issuer *x509.Certificate, signer *rsa.PrivateKey) ([]byte, error) {
		t := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: org},
			NotBefore: from, NotAfter: to, DNSNames: []string{cn},
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		}
		if issuer == nil {
			issuer = t
		}
		return x509.CreateCertificate(rand.Reader, t, issuer, &key.PublicKey, signer)
	}
	year := 365 * 24 * time.Hour
	for _, c := range []struct {
		path     string
		cn       string
		from, to time.Time
		self     bool
	}{
		{SigningCertPath, "pcnotifications-dispatch.microsoft.com", now.Add(-year), now.Add(10 * year), false},
		{ExpiredCertPath, "pcnotifications-dispatch.microsoft.com", now.Add(-3 * year), now.Add(-2 * year), false},
		{UntrustedCertPath, "pcnotifications-dispatch.microsoft.com", now.Add(-year), now.Add(10 * year), true},
		{WrongNameCertPath, "webhooks.example.com", now.Add(-year), now.Add(10 * year), false},
	} {
		issuer, signer := ca, caKey
		if c.self {
			issuer, signer = nil, key
		}
		der, err := leaf(int64(len(p.der)+2), c.cn, c.from, c.to, issuer, signer)
		if err != nil {
			return nil, err
		}
		p.der[c.path] = der
	}
	// The certificate host's own TLS certificate (127.0.0.1), from the same
	// CA. TLS checks it against the real clock while now may be virtual:
	// hence the wide validity (of the CA too).
	hostTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(100), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-10 * year), NotAfter: now.Add(10 * year),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	hostDER, err := x509.CreateCertificate(rand.Reader, hostTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	p.tls = tls.Certificate{Certificate: [][]byte{hostDER}, PrivateKey: key}
	return p, nil
}

// Sign returns the base64 RSA-SHA256 (PKCS #1 v1.5) signature of body.
func (p *WebhookPKI) Sign(body []byte) string {
	sum := sha256.Sum256(body)
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.Key, crypto.SHA256, sum[:])
	if err != nil { // unreachable with a valid key
		panic(fmt.Sprintf("pcsim: sign: %v", err))
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// CertificateHost serves the certificates over HTTPS on a free loopback
// port (its TLS certificate is issued by the same test CA).
type CertificateHost struct {
	srv *httptest.Server
	// URL is https://127.0.0.1:<port>.
	URL string
}

// StartCertificateHost starts the certificate host for p.
func (p *WebhookPKI) StartCertificateHost() *CertificateHost {
	mux := http.NewServeMux()
	for path, der := range p.der {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/pkix-cert")
			_, _ = w.Write(der)
		})
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.tls}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	return &CertificateHost{srv: srv, URL: srv.URL}
}

// Host is the host:port of the certificate host.
func (h *CertificateHost) Host() string { return h.srv.Listener.Addr().String() }

// Close stops the certificate host.
func (h *CertificateHost) Close() { h.srv.Close() }
