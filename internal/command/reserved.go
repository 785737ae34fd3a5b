package command

import "strings"

// ReservedIDPrefix begins the operation ids of commands the service issues
// itself (sweep policy actions, follow-up operations). They travel on the
// continuations queue only; docs/contract.md §6.5 reserves the prefix, so
// such an id arriving on the commands queue is refused.
const ReservedIDPrefix = "gdapflow."

// IsReservedID reports whether id is in the service's reserved id space.
// The comparison is exact (ids are case-sensitive ledger keys), as the
// contract states the prefix.
func IsReservedID(id string) bool { return strings.HasPrefix(id, ReservedIDPrefix) }

// CheckReservedID refuses a reserved operation id for a command that came
// from the commands queue. The error is a *Error with Code
// op.CodeInvalidCommand and Stage StageEnvelope: there is no accepted
// operation, so the caller answers gdap.command.rejected (invalid_command)
// and executes nothing (docs/contract.md §6.5). It is nil for every other id.
func CheckReservedID(id string) error {
	if !IsReservedID(id) {
		return nil
	}
	return envelopeErr("id", "operation ids beginning with \""+ReservedIDPrefix+"\" are reserved for commands the service issues itself (docs/contract.md §6.5)")
}

// ParseCommandsEnvelope is ParseEnvelope for a message received on the
// commands queue: it also refuses a reserved operation id (CheckReservedID).
// Messages the service sends itself on continuations, and stored commands
// re-read from the ledger, are parsed with ParseEnvelope, which accepts
// reserved ids.
func ParseCommandsEnvelope(body []byte) (*Envelope, error) {
	env, err := ParseEnvelope(body)
	if err != nil {
		return nil, err
	}
	if err := CheckReservedID(env.ID); err != nil {
		return nil, err
	}
	return env, nil
}
