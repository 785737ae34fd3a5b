package command

import (
	"errors"

	"github.com/gdapflow/gdapflow/internal/errcode"
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

// Error is the one error type of this package. Code is errcode.InvalidCommand
// or errcode.UnsupportedCommand; Field names the offending attribute or data
// field (dotted path, e.g. "data.changes.duration") when there is one.
type Error struct {
	Code    string
	Stage   string
	Field   string
	Message string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Field != "" {
		return e.Code + ": " + e.Field + ": " + e.Message
	}
	return e.Code + ": " + e.Message
}

// CodeOf returns the code of a *Error in err's chain, or "" if there is none.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func envelopeErr(field, msg string) *Error {
	return &Error{Code: errcode.InvalidCommand, Stage: StageEnvelope, Field: field, Message: msg}
}

func dataErr(field, msg string) *Error {
	return &Error{Code: errcode.InvalidCommand, Stage: StageData, Field: field, Message: msg}
}
