package engine

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gdapflow/gdapflow/internal/errcode"

	"github.com/gdapflow/gdapflow/internal/upstream"
)

// Stable error codes of docs/contract.md §3 (aliases of internal/errcode).
const (
	CodeInvalidCommand              = errcode.InvalidCommand
	CodeUnsupportedCommand          = errcode.UnsupportedCommand
	CodeNotFound                    = errcode.NotFound
	CodeInvalidState                = errcode.InvalidState
	CodePreconditionFailed          = errcode.PreconditionFailed
	CodeConflict                    = errcode.Conflict
	CodeGlobalAdminBlocksAutoExtend = errcode.GlobalAdminBlocksAutoExtend
	CodeUnauthorized                = errcode.Unauthorized
	CodeForbidden                   = errcode.Forbidden
	CodeThrottled                   = errcode.Throttled
	CodeUpstreamUnavailable         = errcode.UpstreamUnavailable
	CodeOperationFailed             = errcode.OperationFailed
	CodeOperationTimedOut           = errcode.OperationTimedOut
	CodePolicyDenied                = errcode.PolicyDenied
	CodeInternal                    = errcode.Internal
)

// Failure is a terminal failure of an operation: it ends in a
// gdap.operation.failed event carrying these fields.
type Failure struct {
	Code              string `json:"code"`
	Message           string `json:"message"`
	HTTPStatus        int    `json:"httpStatus,omitempty"`
	UpstreamCode      string `json:"upstreamCode,omitempty"`
	UpstreamRequestID string `json:"upstreamRequestId,omitempty"`
}

// Error implements error.
func (f *Failure) Error() string { return fmt.Sprintf("%s: %s", f.Code, f.Message) }

func fail(code, format string, args ...any) *Failure {
	return &Failure{Code: code, Message: fmt.Sprintf(format, args...)}
}

// upstreamFailure maps a non-transient upstream error to the contract's code,
// keeping the upstream status, code and request id. what describes the call
// for the message ("relationship 123").
func upstreamFailure(ue *upstream.Error, what string) *Failure {
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

// classify turns a step error into either a terminal failure or a transient
// upstream error worth retrying later.
func classify(err error, what string) (*Failure, *upstream.Error) {
	var fl *Failure
	if ue, ok := upstream.As(err); ok && ue.Transient() && !errors.As(err, &fl) {
		return nil, ue
	}
	return FailureOf(err, what), nil
}

// FailureOf maps any error from an upstream call to the failure an operation
// would end with; what names the target for the message ("relationship
// 123"). Other components (the sweep) use it so that codes stay consistent.
func FailureOf(err error, what string) *Failure {
	var fl *Failure
	if errors.As(err, &fl) {
		return fl
	}
	if ue, ok := upstream.As(err); ok {
		return upstreamFailure(ue, what)
	}
	return &Failure{Code: CodeInternal, Message: err.Error()}
}
