package hostemu

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by methods called after Close.
var ErrClosed = errors.New("hostemu: emulator closed")

// ErrHandlerGaveUp is returned once the handler crashed too often (as the
// host does, 3 unexpected exits within 30 minutes) and the emulator stopped
// restarting it.
var ErrHandlerGaveUp = errors.New("hostemu: handler crashed too often, gave up restarting it")

// ConfigError is a problem with Options, host.json or a function.json.
type ConfigError struct {
	// Field names the option, file or setting at fault.
	Field string
	// Err describes the problem.
	Err error
}

// Error implements error.
func (e *ConfigError) Error() string { return fmt.Sprintf("hostemu: %s: %v", e.Field, e.Err) }

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// Failure kinds of an InvocationError.
const (
	// FailureStatus: the handler answered with a non-2xx status.
	FailureStatus = "status"
	// FailureResponse: a 2xx answer that is not the JSON response envelope.
	FailureResponse = "invalid_response"
	// FailureTransport: no answer (connection refused or reset, crash).
	FailureTransport = "transport"
	// FailureTimeout: the invocation exceeded host.json functionTimeout; the
	// handler was restarted.
	FailureTimeout = "timeout"
)

// InvocationError is a failed invocation, as the host would see it.
type InvocationError struct {
	// Function is the function folder name.
	Function string
	// Kind is one of the Failure* constants.
	Kind string
	// StatusCode is the handler's HTTP status (0 without a response).
	StatusCode int
	// Err is the underlying error.
	Err error
}

// Error implements error.
func (e *InvocationError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("hostemu: invocation of %s failed (%s, HTTP %d): %v", e.Function, e.Kind, e.StatusCode, e.Err)
	}
	return fmt.Sprintf("hostemu: invocation of %s failed (%s): %v", e.Function, e.Kind, e.Err)
}

// Unwrap returns the underlying error.
func (e *InvocationError) Unwrap() error { return e.Err }

// BrokerError is a message the local broker refuses (HTTP 400).
type BrokerError struct {
	// Entity is the queue or topic the message was sent to.
	Entity string
	// Err describes what is wrong with the message.
	Err error
}

// Error implements error.
func (e *BrokerError) Error() string {
	return fmt.Sprintf("hostemu: invalid message for %q: %v", e.Entity, e.Err)
}

// Unwrap returns the underlying error.
func (e *BrokerError) Unwrap() error { return e.Err }
