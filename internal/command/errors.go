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
// or op.CodeUnsupportedCommand. Field is the JSON path of the offending
// attribute or data field, dotted with array indexes in brackets (e.g.
// "data.changes.autoExtendDuration",
// "data.changes.accessDetails.unifiedRoles[1].roleDefinitionId"), or "" when
// the body as a whole is at fault. Message is complete on its own, for the
// outcome event's error.message: it starts with Field when there is one
// ("data.changes.autoExtendDuration: must be one of 'P0D', 'PT0S', 'P180D'").
type Error struct {
	Code    op.Code
	Stage   string
	Field   string
	Message string
}

// Error implements error.
func (e *Error) Error() string {
	return string(e.Code) + ": " + e.Message
}

// FieldOf returns the Field of a *Error in err's chain, or "" if there is
// none.
func FieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
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
	return newError(op.CodeInvalidCommand, StageEnvelope, field, msg)
}

func dataErr(field, msg string) *Error {
	return newError(op.CodeInvalidCommand, StageData, field, msg)
}

// newError builds an *Error whose Message leads with the field path. Both are
// bounded (limit), so hostile input cannot bloat events and logs.
func newError(code op.Code, stage, field, msg string) *Error {
	field = limit(field)
	return &Error{Code: code, Stage: stage, Field: field, Message: limit(withField(field, msg))}
}

// withField prefixes msg with "field: " when there is a field.
func withField(field, msg string) string {
	if field == "" {
		return msg
	}
	return field + ": " + msg
}
