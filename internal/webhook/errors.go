package webhook

import (
	"errors"
	"strconv"
)

// Reason is the stable code of a rejected delivery.
type Reason string

// Reasons a delivery is rejected (answered 401, or 400 for the body ones).
const (
	ReasonMissingHeader   Reason = "missing_header"
	ReasonSignatureHeader Reason = "bad_signature_header"
	ReasonAlgorithm       Reason = "unsupported_algorithm"
	ReasonCertificateURL  Reason = "bad_certificate_url"
	ReasonCertificateHost Reason = "certificate_host_not_allowed"
	ReasonCertificate     Reason = "certificate_unavailable"
	ReasonChain           Reason = "certificate_not_trusted"
	ReasonSubject         Reason = "certificate_subject"
	ReasonSignature       Reason = "signature_mismatch"
	ReasonStale           Reason = "stale_event"
	// Body problems: answered 400.
	ReasonTooLarge  Reason = "body_too_large"
	ReasonMalformed Reason = "malformed_body"
)

// BadRequest reports whether r is answered 400 rather than 401.
func (r Reason) BadRequest() bool { return r == ReasonTooLarge || r == ReasonMalformed }

// Rejection is why a delivery was not accepted.
type Rejection struct {
	Reason Reason
	Detail string
}

// Error implements error.
func (e *Rejection) Error() string { return "webhook: " + string(e.Reason) + ": " + e.Detail }

func reject(r Reason, detail string) error { return &Rejection{Reason: r, Detail: detail} }

// AsRejection returns the *Rejection in err's chain.
func AsRejection(err error) (*Rejection, bool) {
	var r *Rejection
	ok := errors.As(err, &r)
	return r, ok
}

func strconvQuote(s string) string { return strconv.Quote(s) }
