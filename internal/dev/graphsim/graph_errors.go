package graphsim

import (
	"net/http"
	"strconv"
	"time"
)

// Graph error codes the simulator answers with. Graph publishes no
// GDAP-specific codes; these are the simulator's choices (docs/simulator.md).
const (
	CodeInvalidAuthenticationToken = "InvalidAuthenticationToken"
	CodeBadRequest                 = "BadRequest"
	CodeItemNotFound               = "itemNotFound"
	CodeMethodNotAllowed           = "methodNotAllowed"
	CodeUnsupportedMediaType       = "unsupportedMediaType"
	CodePreconditionFailed         = "PreconditionFailed"
	CodePreconditionRequired       = "preconditionRequired"
	CodeEntityTagDoesNotMatch      = "entityTagDoesNotMatch"
	CodeInvalidState               = "invalidRelationshipState"
	CodeRequestConflict            = "requestAlreadyInProgress"
	CodeConflict                   = "conflict"
	CodeGlobalAdminAutoExtend      = "globalAdminAutoExtendNotAllowed"
	CodeTooManyRequests            = "TooManyRequests"
	CodeServiceUnavailable         = "serviceNotAvailable"
	CodeInternalServerError        = "generalException"
)

// apiError is a Graph error response about to be written.
type apiError struct {
	status     int
	code       string
	message    string
	innerCode  string
	retryAfter int // seconds, 0 = no header
}

// Error implements error.
func (e *apiError) Error() string { return strconv.Itoa(e.status) + " " + e.code + ": " + e.message }

func errorf(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message}
}

func badRequest(message string) *apiError {
	return errorf(http.StatusBadRequest, CodeBadRequest, message)
}

func notFound(what string) *apiError {
	return errorf(http.StatusNotFound, CodeItemNotFound, what+" was not found.")
}

// writeGraphError writes e as a Graph error body (rule 3). The request-id
// and client-request-id headers were set when the request arrived.
func writeGraphError(w http.ResponseWriter, e *apiError, now time.Time) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	inner := obj{
		{"date", now.UTC().Format("2006-01-02T15:04:05")},
		{"request-id", h.Get("request-id")},
		{"client-request-id", h.Get("client-request-id")},
	}
	if e.innerCode != "" {
		inner = append(obj{{"code", e.innerCode}}, inner...)
	}
	body := obj{{"error", obj{
		{"code", e.code},
		{"message", e.message},
		{"innerError", inner},
	}}}
	w.WriteHeader(e.status)
	_, _ = w.Write(body.appendJSON(nil))
}
