// Package errcode lists the stable error codes of the gdapflow contract (§3).
// They appear in gdap.operation.failed and gdap.command.rejected events as
// error.code; consumers branch on them, so they never change.
package errcode

import "slices"

// The stable error codes.
const (
	// InvalidCommand: the message is not a valid command (envelope or data).
	InvalidCommand = "invalid_command"
	// UnsupportedCommand: a well-formed CloudEvent of a type gdapflow does not handle.
	UnsupportedCommand = "unsupported_command"
	// NotFound: the relationship or customer does not exist.
	NotFound = "not_found"
	// InvalidState: the relationship's status does not allow the change or action.
	InvalidState = "invalid_state"
	// PreconditionFailed: the caller's ifMatch etag no longer matches.
	PreconditionFailed = "precondition_failed"
	// Conflict: the operation id was reused with different content, or Graph reported a conflict.
	Conflict = "conflict"
	// GlobalAdminBlocksAutoExtend: auto-extend cannot be enabled while Global Administrator is granted.
	GlobalAdminBlocksAutoExtend = "global_admin_blocks_auto_extend"
	// Unauthorized: the service's credentials were rejected.
	Unauthorized = "unauthorized"
	// Forbidden: the service lacks the permission for the call.
	Forbidden = "forbidden"
	// Throttled: retries of a throttled call were exhausted.
	Throttled = "throttled"
	// UpstreamUnavailable: retries of a transient upstream failure were exhausted.
	UpstreamUnavailable = "upstream_unavailable"
	// OperationFailed: Graph's long-running operation or request ended as failed.
	OperationFailed = "operation_failed"
	// OperationTimedOut: the operation was still unfinished at its deadline.
	OperationTimedOut = "operation_timed_out"
	// PolicyDenied: the service's policy forbids the action (protected customers).
	PolicyDenied = "policy_denied"
	// Internal: a bug or an unexpected response.
	Internal = "internal"
)

var all = []string{
	InvalidCommand, UnsupportedCommand, NotFound, InvalidState, PreconditionFailed,
	Conflict, GlobalAdminBlocksAutoExtend, Unauthorized, Forbidden, Throttled,
	UpstreamUnavailable, OperationFailed, OperationTimedOut, PolicyDenied, Internal,
}

// All returns every stable code, in contract order. The slice is a copy.
func All() []string { return slices.Clone(all) }

// Valid reports whether code is one of the stable codes.
func Valid(code string) bool { return slices.Contains(all, code) }
