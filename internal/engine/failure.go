package engine

import (
	"errors"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/upstream"
)

// classify turns a step error into either a terminal failure or a transient
// upstream error worth retrying later.
func classify(err error, what string) (*op.Failure, *upstream.Error) {
	var fl *op.Failure
	if ue, ok := upstream.As(err); ok && ue.Transient() && !errors.As(err, &fl) {
		return nil, ue
	}
	return op.FailureOf(err, what), nil
}

// commandFailure is the failure of a command the command package refused
// (invalid_command or unsupported_command, with its message).
func commandFailure(err error) *op.Failure {
	var ce *command.Error
	if errors.As(err, &ce) {
		return &op.Failure{Code: ce.Code, Message: ce.Message, Field: ce.Field}
	}
	return &op.Failure{Code: op.CodeInvalidCommand, Message: err.Error()}
}
