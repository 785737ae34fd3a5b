package bus

import (
	"errors"
	"fmt"
)

// Sentinel errors, usable with errors.Is.
var (
	// ErrUnknownEntity: the sender has no queue or topic of that name.
	ErrUnknownEntity = errors.New("bus: unknown entity")
	// ErrInvalidMessage: the message cannot be sent as given (for example
	// an application property of an unsupported type).
	ErrInvalidMessage = errors.New("bus: invalid message")
)

// BrokerError is a send the local broker refused: it answered with a status
// other than 200 or 201.
type BrokerError struct {
	// Entity is the queue or topic.
	Entity string
	// MessageID is the message's id.
	MessageID string
	// StatusCode is the broker's HTTP status.
	StatusCode int
	// Body is the start of the broker's response body.
	Body string
}

// Error implements error.
func (e *BrokerError) Error() string {
	msg := fmt.Sprintf("bus: local broker refused message %q for %q: HTTP %d", e.MessageID, e.Entity, e.StatusCode)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// normalizeProperties checks that every application property is a string,
// bool, int64 or float64 (int and int32 are accepted and widened to int64)
// and returns a copy, never nil.
func normalizeProperties(props map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(props))
	for k, v := range props {
		switch v := v.(type) {
		case string, bool, int64, float64:
			out[k] = v
		case int:
			out[k] = int64(v)
		case int32:
			out[k] = int64(v)
		default:
			return nil, fmt.Errorf("%w: application property %q has unsupported type %T", ErrInvalidMessage, k, v)
		}
	}
	return out, nil
}
