package webhook

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of VerifierOptions.
const (
	// DefaultCertificateHost is where Partner Center's signing certificate
	// is published (docs/platform/partner-center-webhooks.md).
	DefaultCertificateHost = "3psostorageacct.blob.core.windows.net"
	// DefaultIssuerOrganization is the organization the signing
	// certificate's issuer must name.
	DefaultIssuerOrganization = "Microsoft Corporation"
	// DefaultSubjectDomain is the DNS domain the signing certificate's
	// subject (common name or a DNS name) must belong to.
	DefaultSubjectDomain = "microsoft.com"
	// DefaultFetchTimeout bounds one certificate download.
	DefaultFetchTimeout = 5 * time.Second
	// DefaultCacheTTL is how long a downloaded certificate is reused.
	DefaultCacheTTL = time.Hour
	// MaxCertificateBytes bounds a downloaded certificate file.
	MaxCertificateBytes = 32 << 10
	// maxCacheEntries bounds the certificate cache.
	maxCacheEntries = 16
	// maxIssuerHops bounds issuer downloads (AIA) while building a chain.
	maxIssuerHops = 2
	// minRSABits is the smallest signing key accepted.
	minRSABits = 2048
)

// VerifierOptions configure a Verifier.
type VerifierOptions struct {
	// AllowedHosts are the hosts (host or host:port, compared exactly,
	// case-insensitively) X-MS-Certificate-Url may name. Default
	// DefaultCertificateHost.
	AllowedHosts []string
	// Roots are the trusted roots; nil means the system roots. Only local
	// development sets them (internal/config refuses them otherwise); they
	// also serve as the TLS roots of the certificate download.
	Roots *x509.CertPool
	// IssuerOrganization is the organization the leaf's issuer must name.
	// Default DefaultIssuerOrganization.
	IssuerOrganization string
	// SubjectDomain is the DNS domain the leaf's name must be in. Default
	// DefaultSubjectDomain.
	SubjectDomain string
	// Client downloads certificates; its redirects are refused. Default: a
	// client with DefaultFetchTimeout.
	Client *http.Client
	// CacheTTL is how long a downloaded certificate is reused. Default
	// DefaultCacheTTL.
	CacheTTL time.Duration
}

// Verifier authenticates deliveries. It is safe for concurrent use.
type Verifier struct {
	opts  VerifierOptions
	mu    sync.Mutex
	cache map[string]cached
}

// cached is a downloaded certificate with the intermediates found for it.
type cached struct {
	leaf          *x509.Certificate
	intermediates []*x509.Certificate
	at            time.Time
}

// NewVerifier returns a Verifier.
func NewVerifier(opts VerifierOptions) *Verifier {
	if len(opts.AllowedHosts) == 0 {
		opts.AllowedHosts = []string{DefaultCertificateHost}
	}
	if opts.IssuerOrganization == "" {
		opts.IssuerOrganization = DefaultIssuerOrganization
	}
	if opts.SubjectDomain == "" {
		opts.SubjectDomain = DefaultSubjectDomain
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = DefaultCacheTTL
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: DefaultFetchTimeout}
	}
	c := *opts.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	opts.Client = &c
	return &Verifier{opts: opts, cache: map[string]cached{}}
}

// Verify authenticates body with the parsed headers at now: the certificate
// URL names an allowed host, the certificate chains to a trusted root at
// now, its issuer and subject are Microsoft's, and the RSA-SHA256 signature
// verifies over the exact bytes of body. Failures are *Rejection.
func (v *Verifier) Verify(ctx context.Context, h Headers, body []byte, now time.Time) error {
	host := strings.ToLower(h.CertificateURL.Host)
	if !slices.ContainsFunc(v.opts.AllowedHosts, func(a string) bool { return strings.EqualFold(a, host) }) {
		return reject(ReasonCertificateHost, "certificate host "+quote(h.CertificateURL.Host)+" is not allowed")
	}
	c, err := v.certificate(ctx, h.CertificateURL.String(), now)
	if err != nil {
		return err
	}
	if err := v.checkChain(ctx, &c, now); err != nil {
		return err
	}
	if err := v.checkNames(c.leaf); err != nil {
		return err
	}
	pub, ok := c.leaf.PublicKey.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() < minRSABits {
		return reject(ReasonSignature, "the certificate's key is not RSA of at least 2048 bits")
	}
	sum := sha256.Sum256(body)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], h.Signature); err != nil {
		return reject(ReasonSignature, "the signature does not verify over the body")
	}
	return nil
}

// certificate returns the cached or downloaded certificate at url.
func (v *Verifier) certificate(ctx context.Context, url string, now time.Time) (cached, error) {
	v.mu.Lock()
	c, ok := v.cache[url]
	v.mu.Unlock()
	if ok && now.Sub(c.at) < v.opts.CacheTTL && now.Sub(c.at) >= 0 {
		return c, nil
	}
	certs, err := v.download(ctx, url)
	if err != nil {
		return cached{}, reject(ReasonCertificate, err.Error())
	}
	c = cached{leaf: certs[0], intermediates: certs[1:], at: now}
	v.mu.Lock()
	if len(v.cache) >= maxCacheEntries {
		clear(v.cache)
	}
	v.cache[url] = c
	v.mu.Unlock()
	return c, nil
}

// download fetches url (no redirects, bounded size and time) and parses
// the certificates in it: DER, or one or more PEM blocks (leaf first).
func (v *Verifier) download(ctx context.Context, url string) ([]*x509.Certificate, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("certificate request: %w", err)
	}
	resp, err := v.opts.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("certificate download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("certificate download: status %d", resp.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxCertificateBytes+1))
	if err != nil {
		return nil, fmt.Errorf("certificate download: %w", err)
	}
	if len(raw) > MaxCertificateBytes {
		return nil, fmt.Errorf("certificate download: larger than %d bytes", MaxCertificateBytes)
	}
	return parseCertificates(raw)
}

// parseCertificates parses DER or PEM certificate data.
func parseCertificates(raw []byte) ([]*x509.Certificate, error) {
	if !strings.Contains(string(raw), "-----BEGIN") {
		c, err := x509.ParseCertificate(raw)
		if err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		return []*x509.Certificate{c}, nil
	}
	var out []*x509.Certificate
	for rest := raw; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("certificate: no certificate in the file")
	}
	return out, nil
}

// checkChain verifies the leaf against the trusted roots at now. When the
// issuer is missing, it is downloaded from the leaf's Authority Information
// Access URL (at most maxIssuerHops times; what it finds must chain to a
// trusted root like the rest, and the leaf itself came from an allowed host).
func (v *Verifier) checkChain(ctx context.Context, c *cached, now time.Time) error {
	for hop := 0; ; hop++ {
		pool := x509.NewCertPool()
		for _, ic := range c.intermediates {
			pool.AddCert(ic)
		}
		_, err := c.leaf.Verify(x509.VerifyOptions{Roots: v.opts.Roots, Intermediates: pool, CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err == nil {
			return nil
		}
		var unknown x509.UnknownAuthorityError
		if hop >= maxIssuerHops || !errors.As(err, &unknown) {
			return reject(ReasonChain, err.Error())
		}
		last := c.leaf
		if n := len(c.intermediates); n > 0 {
			last = c.intermediates[n-1]
		}
		if len(last.IssuingCertificateURL) == 0 {
			return reject(ReasonChain, err.Error())
		}
		issuers, derr := v.download(ctx, last.IssuingCertificateURL[0])
		if derr != nil {
			return reject(ReasonChain, err.Error()+"; issuer: "+derr.Error())
		}
		c.intermediates = append(c.intermediates, issuers...)
	}
}

// checkNames requires the issuer's organization and a subject name in the
// subject domain.
func (v *Verifier) checkNames(leaf *x509.Certificate) error {
	if !slices.Contains(leaf.Issuer.Organization, v.opts.IssuerOrganization) {
		return reject(ReasonSubject, "the certificate's issuer is not "+quote(v.opts.IssuerOrganization))
	}
	in := func(name string) bool {
		name = strings.ToLower(strings.TrimSuffix(name, "."))
		d := strings.ToLower(v.opts.SubjectDomain)
		return name == d || strings.HasSuffix(name, "."+d)
	}
	if in(leaf.Subject.CommonName) || slices.ContainsFunc(leaf.DNSNames, in) {
		return nil
	}
	return reject(ReasonSubject, "the certificate's subject is not in "+quote(v.opts.SubjectDomain))
}
