package command

import (
	"errors"

	"github.com/gdapflow/gdapflow/internal/op"
)

// Stages at which a command can be refused. They matter to the caller: an
// envelope failure means there is no accepted operation (answer with
// gdap.command.rejected), a data failure belongs to an accepted operation
// (answer with gdap.operation.failed).
const (
	// StageEnvelope: ParseEnvelope refused the body.
	StageEnvelope = "envelope"
	// StageData: Envelope.Decode refused the type or the data.
	StageData = "data"
)

// Error is the one error type of this package. Code is op.CodeInvalidCommand
// or op.CodeUnsupportedCommand; Field names the offending attribute or data
// field (dotted path, e.g. "data.changes.duration") when there is one.
type Error struct {
	Code    op.Code
	Stage   string
	Field   string
	Message string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Field != "" {
		return string(e.Code) + ": " + e.Field + ": " + e.Message
	}
	return string(e.Code) + ": " + e.Message
}

// CodeOf returns the code of a *Error in err's chain, or "" if there is none.
func CodeOf(err error) op.Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func envelopeErr(field, msg string) *Error {
	return &Error{Code: op.CodeInvalidCommand, Stage: StageEnvelope, Field: field, Message: msg}
}

func dataErr(field, msg string) *Error {
	return &Error{Code: op.CodeInvalidCommand, Stage: StageData, Field: field, Message: msg}
}
