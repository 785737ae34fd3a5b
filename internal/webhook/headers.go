package webhook

import (
	"encoding/base64"
	"net/url"
	"strings"
)

// Header names of a Partner Center delivery (matched case-insensitively).
const (
	HeaderAuthorization      = "Authorization"
	HeaderSignature          = "X-MS-Signature"
	HeaderCertificateURL     = "X-MS-Certificate-Url"
	HeaderSignatureAlgorithm = "X-MS-Signature-Algorithm"
)

// AlgorithmRSASHA256 is the only signature algorithm accepted.
const AlgorithmRSASHA256 = "rsa-sha256"

// signatureScheme is the Authorization scheme of a delivery.
const signatureScheme = "Signature"

// maxSignatureChars bounds the base64 signature (a 16384-bit RSA
// signature is 2732 characters).
const maxSignatureChars = 4096

// maxCertURLChars bounds X-MS-Certificate-Url.
const maxCertURLChars = 2048

// Headers are the authentication headers of one delivery, parsed.
type Headers struct {
	// Signature is the decoded signature.
	Signature []byte
	// CertificateURL is X-MS-Certificate-Url, parsed (https, no user info,
	// no fragment).
	CertificateURL *url.URL
}

// header returns the single value of name in h (case-insensitive key), ""
// when absent; ok is false when it appears more than once.
func header(h map[string][]string, name string) (string, bool) {
	var vals []string
	for k, v := range h {
		if strings.EqualFold(k, name) {
			vals = append(vals, v...)
		}
	}
	switch len(vals) {
	case 0:
		return "", true
	case 1:
		return strings.TrimSpace(vals[0]), true
	}
	return "", false
}

// ParseHeaders checks and decodes the authentication headers: the
// signature from Authorization ("Signature <base64>") or, as Partner Center
// sends it when a registration asks for it, X-MS-Signature (same form);
// X-MS-Signature-Algorithm rsa-sha256; and an https X-MS-Certificate-Url.
// It does not check the certificate host (see Verifier).
func ParseHeaders(h map[string][]string) (Headers, error) {
	var out Headers
	auth, ok := header(h, HeaderAuthorization)
	if !ok {
		return out, reject(ReasonSignatureHeader, "more than one Authorization header")
	}
	alt, ok := header(h, HeaderSignature)
	if !ok {
		return out, reject(ReasonSignatureHeader, "more than one X-MS-Signature header")
	}
	raw := auth
	if raw == "" {
		raw = alt
	}
	if raw == "" {
		return out, reject(ReasonMissingHeader, "no Authorization (or X-MS-Signature) header")
	}
	scheme, param, found := strings.Cut(raw, " ")
	if !found || !strings.EqualFold(scheme, signatureScheme) {
		return out, reject(ReasonSignatureHeader, "the authorization scheme is not Signature")
	}
	param = strings.TrimSpace(param)
	if param == "" || len(param) > maxSignatureChars {
		return out, reject(ReasonSignatureHeader, "the signature is empty or too long")
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(param)
	if err != nil {
		return out, reject(ReasonSignatureHeader, "the signature is not base64")
	}
	out.Signature = sig

	alg, ok := header(h, HeaderSignatureAlgorithm)
	switch {
	case !ok:
		return out, reject(ReasonAlgorithm, "more than one X-MS-Signature-Algorithm header")
	case alg == "":
		return out, reject(ReasonMissingHeader, "no X-MS-Signature-Algorithm header")
	case !strings.EqualFold(alg, AlgorithmRSASHA256):
		return out, reject(ReasonAlgorithm, "unsupported signature algorithm "+quote(alg))
	}

	raw, ok = header(h, HeaderCertificateURL)
	switch {
	case !ok:
		return out, reject(ReasonCertificateURL, "more than one X-MS-Certificate-Url header")
	case raw == "":
		return out, reject(ReasonMissingHeader, "no X-MS-Certificate-Url header")
	case len(raw) > maxCertURLChars:
		return out, reject(ReasonCertificateURL, "the certificate URL is too long")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return out, reject(ReasonCertificateURL, "the certificate URL is not an absolute URL")
	case !strings.EqualFold(u.Scheme, "https"):
		return out, reject(ReasonCertificateURL, "the certificate URL is not https")
	case u.User != nil || u.Fragment != "":
		return out, reject(ReasonCertificateURL, "the certificate URL carries user info or a fragment")
	}
	out.CertificateURL = u
	return out, nil
}

// quote renders untrusted text for a log line or error: quoted, escaped,
// at most 80 characters.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return strconvQuote(s)
}
