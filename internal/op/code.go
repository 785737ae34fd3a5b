package op

import "slices"

// Code is a stable error code of the gdapflow contract (§3). Codes appear in
// gdap.operation.failed and gdap.command.rejected events as error.code;
// consumers branch on them, so they never change.
type Code string

// The stable error codes.
const (
	// CodeInvalidCommand: the message is not a valid command (envelope or data).
	CodeInvalidCommand Code = "invalid_command"
	// CodeUnsupportedCommand: a well-formed CloudEvent of a type gdapflow does not handle.
	CodeUnsupportedCommand Code = "unsupported_command"
	// CodeNotFound: the relationship or customer does not exist.
	CodeNotFound Code = "not_found"
	// CodeInvalidState: the relationship's status does not allow the change or action.
	CodeInvalidState Code = "invalid_state"
	// CodePreconditionFailed: the caller's ifMatch etag no longer matches.
	CodePreconditionFailed Code = "precondition_failed"
	// CodeConflict: the operation id was reused with different content, or Graph reported a conflict.
	CodeConflict Code = "conflict"
	// CodeGlobalAdminBlocksAutoExtend: auto-extend cannot be enabled while Global Administrator is granted.
	CodeGlobalAdminBlocksAutoExtend Code = "global_admin_blocks_auto_extend"
	// CodeUnauthorized: the service's credentials were rejected.
	CodeUnauthorized Code = "unauthorized"
	// CodeForbidden: the service lacks the permission for the call.
	CodeForbidden Code = "forbidden"
	// CodeThrottled: retries of a throttled call were exhausted.
	CodeThrottled Code = "throttled"
	// CodeUpstreamUnavailable: retries of a transient upstream failure were exhausted.
	CodeUpstreamUnavailable Code = "upstream_unavailable"
	// CodeOperationFailed: Graph's long-running operation or request ended as failed.
	CodeOperationFailed Code = "operation_failed"
	// CodeOperationTimedOut: the operation was still unfinished at its deadline.
	CodeOperationTimedOut Code = "operation_timed_out"
	// CodePolicyDenied: the service's policy forbids the action (protected customers).
	CodePolicyDenied Code = "policy_denied"
	// CodeInternal: a bug or an unexpected response.
	CodeInternal Code = "internal"
	// CodeApprovalExpired: the customer did not approve the relationship
	// within Graph's approval window (90 days); contract §6.2.
	CodeApprovalExpired Code = "approval_expired"
)

var allCodes = []Code{
	CodeInvalidCommand, CodeUnsupportedCommand, CodeNotFound, CodeInvalidState, CodePreconditionFailed,
	CodeConflict, CodeGlobalAdminBlocksAutoExtend, CodeUnauthorized, CodeForbidden, CodeThrottled,
	CodeUpstreamUnavailable, CodeOperationFailed, CodeOperationTimedOut, CodePolicyDenied, CodeInternal,
	CodeApprovalExpired,
}

// Codes returns every stable code, in contract order. The slice is a copy.
func Codes() []Code { return slices.Clone(allCodes) }

// Valid reports whether c is one of the stable codes.
func (c Code) Valid() bool { return slices.Contains(allCodes, c) }
