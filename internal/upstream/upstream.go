// Package upstream defines the error every client of a remote service
// (Microsoft Graph, Partner Center, the Entra token endpoint, Key Vault)
// returns, so that the engine can classify failures in one place without
// knowing which client produced them.
package upstream

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Service names used in Error.Service.
const (
	ServiceGraph         = "graph"
	ServicePartnerCenter = "partnercenter"
	ServiceEntra         = "entra"
	ServiceKeyVault      = "keyvault"
)

// Error is a failed call to a remote service. StatusCode is 0 when no HTTP
// response arrived (connection refused or reset, timeout).
type Error struct {
	// Service is one of the Service* constants.
	Service string
	// Operation names what was attempted, for messages ("get relationship").
	Operation string
	// StatusCode is the HTTP status, or 0 for transport failures.
	StatusCode int
	// Code is the service's error code (Graph error.code, Partner Center
	// code, OAuth error such as invalid_grant).
	Code string
	// Message is the service's error message (not a contract).
	Message string
	// RequestID is the service's request id (Graph request-id,
	// Partner Center MS-RequestId) when known.
	RequestID string
	// RetryAfter is the server's Retry-After, zero when absent.
	RetryAfter time.Duration
	// Reserved, when set, is a slot the client reserved for the caller's
	// retry of ReservedCalls calls (client-side pacing after throttling);
	// a retry at that time presents it instead of taking another.
	Reserved      time.Time
	ReservedCalls int
	// ReservedEpoch identifies the pacing rate the slot was reserved at:
	// a slot reserved before the client slowed down is not honoured.
	ReservedEpoch uint64
	// Err is the underlying error, if any.
	Err error
}

// Error implements error. It never contains tokens or secrets.
func (e *Error) Error() string {
	status := "transport error"
	if e.StatusCode != 0 {
		status = fmt.Sprintf("HTTP %d", e.StatusCode)
	}
	msg := fmt.Sprintf("%s %s: %s", e.Service, e.Operation, status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.StatusCode == 0 && e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Transient reports whether retrying the same call later may succeed:
// throttling (429), server errors 500, 502, 503, 504, and transport failures.
func (e *Error) Transient() bool {
	switch e.StatusCode {
	case 0, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// Throttled reports whether the service throttled the call (429).
func (e *Error) Throttled() bool { return e.StatusCode == http.StatusTooManyRequests }

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var ue *Error
	if errors.As(err, &ue) {
		return ue, true
	}
	return nil, false
}

// ParseRetryAfter parses a Retry-After header value (delay seconds or an
// HTTP date relative to now). It returns 0 for an empty or invalid value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var secs int
	if _, err := fmt.Sscanf(v, "%d", &secs); err == nil && fmt.Sprint(secs) == v {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
