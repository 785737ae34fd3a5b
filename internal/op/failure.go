package op

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gdapflow/gdapflow/internal/upstream"
)

// Failure is the one failure shape: the terminal failure of an operation as
// the ledger records it and gdap.operation.failed publishes it (its "error"
// object). It is also an error, so a workflow step can return it.
type Failure struct {
	// Code is the stable code consumers branch on.
	Code Code `json:"code"`
	// Message says what happened, for people; it is not a contract.
	Message string `json:"message"`
	// HTTPStatus, UpstreamCode and UpstreamRequestID are set when an
	// upstream call failed.
	HTTPStatus        int    `json:"httpStatus,omitempty"`
	UpstreamCode      string `json:"upstreamCode,omitempty"`
	UpstreamRequestID string `json:"upstreamRequestId,omitempty"`
	// Field is the JSON path of the offending command field when the
	// command was invalid (e.g. "data.changes.autoExtendDuration"); the
	// Message then starts with it.
	Field string `json:"field,omitempty"`
}

// Error implements error.
func (f *Failure) Error() string { return fmt.Sprintf("%s: %s", f.Code, f.Message) }

// Failf returns a Failure with code and a formatted message.
func Failf(code Code, format string, args ...any) *Failure {
	return &Failure{Code: code, Message: fmt.Sprintf(format, args...)}
}

// UpstreamFailure maps a non-transient upstream error to the contract's code,
// keeping the upstream status, code and request id. what describes the call
// for the message ("relationship 123").
func UpstreamFailure(ue *upstream.Error, what string) *Failure {
	f := &Failure{HTTPStatus: ue.StatusCode, UpstreamCode: ue.Code, UpstreamRequestID: ue.RequestID}
	detail := ue.Message
	if detail == "" {
		detail = http.StatusText(ue.StatusCode)
	}
	switch {
	case ue.Service == upstream.ServiceEntra || ue.Service == upstream.ServiceKeyVault:
		f.Code = CodeUnauthorized
		f.Message = fmt.Sprintf("the %s token request failed: %s", ue.Service, detail)
	case ue.StatusCode == http.StatusNotFound:
		f.Code = CodeNotFound
		f.Message = fmt.Sprintf("%s was not found upstream: %s", what, detail)
	case ue.StatusCode == http.StatusUnauthorized:
		f.Code = CodeUnauthorized
		f.Message = fmt.Sprintf("%s refused the credentials for %s: %s", ue.Service, what, detail)
	case ue.StatusCode == http.StatusForbidden:
		f.Code = CodeForbidden
		f.Message = fmt.Sprintf("%s denied access to %s: %s", ue.Service, what, detail)
	case ue.StatusCode == http.StatusPreconditionFailed:
		f.Code = CodePreconditionFailed
		f.Message = fmt.Sprintf("%s changed since it was read (ETag mismatch): %s", what, detail)
	case ue.StatusCode == http.StatusConflict:
		f.Code = CodeConflict
		f.Message = fmt.Sprintf("%s is in a conflicting state: %s", what, detail)
	case ue.StatusCode == http.StatusTooManyRequests:
		f.Code = CodeThrottled
		f.Message = fmt.Sprintf("%s kept throttling calls for %s: %s", ue.Service, what, detail)
	case ue.Transient():
		f.Code = CodeUpstreamUnavailable
		f.Message = fmt.Sprintf("%s stayed unavailable for %s: %s", ue.Service, what, detail)
	case ue.StatusCode >= 400 && ue.StatusCode < 500:
		f.Code = CodeInvalidState
		f.Message = fmt.Sprintf("%s rejected the change to %s: %s", ue.Service, what, detail)
	default:
		f.Code = CodeInternal
		f.Message = fmt.Sprintf("unexpected answer from %s for %s: %s", ue.Service, what, detail)
	}
	return f
}

// FailureOf maps any error to the failure an operation would end with: a
// *Failure in its chain as is, an upstream error by UpstreamFailure, anything
// else as CodeInternal. what names the target for the message ("relationship
// 123"), so that the engine and the sweep word and code failures alike.
func FailureOf(err error, what string) *Failure {
	var fl *Failure
	if errors.As(err, &fl) {
		return fl
	}
	if ue, ok := upstream.As(err); ok {
		return UpstreamFailure(ue, what)
	}
	return &Failure{Code: CodeInternal, Message: err.Error()}
}
