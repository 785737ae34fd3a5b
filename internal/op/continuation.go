package op

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/gdapflow/gdapflow/internal/bus"
)

// Kind is the kind of a continuation message.
type Kind string

// Continuation kinds.
const (
	// KindResume resumes an operation at a step; only the continuation whose
	// id the ledger record names as WakeID may act.
	KindResume Kind = "resume"
	// KindLeaseCheck takes over an operation whose lease expired (a handler
	// crashed while executing it).
	KindLeaseCheck Kind = "leaseCheck"
	// KindSweep carries the next page of an expiry sweep.
	KindSweep Kind = "sweep"
	// KindDeferred re-delivers, after a back-off, an input (a command or a
	// continuation) whose processing failed because Table Storage was
	// unavailable.
	KindDeferred Kind = "deferred"
	// KindCommand carries a command the service issues itself (a sweep
	// policy action); it is processed like a command from the commands queue.
	KindCommand Kind = "command"
	// KindWake asks a waiting operation to run its step now rather than at
	// its scheduled time: sent when something the operation waits on has
	// changed (the sweep seeing a relationship approved, activated or
	// ended). It names no wake id and acts only on an operation waiting at a
	// step that only reads upstream; anything else ignores it.
	KindWake Kind = "wake"
	// KindRefresh re-reads one relationship (RelationshipID) from Graph and
	// settles its snapshot row as the sweep would: sent for a verified
	// Partner Center webhook event.
	KindRefresh Kind = "refresh"
)

// SubjectContinuation is the Subject of continuation messages.
const SubjectContinuation = "gdap.continuation"

// Continuation is the body of a message on the continuations queue. It names
// an operation and a step; it carries no state (level-based).
type Continuation struct {
	Kind        Kind   `json:"kind"`
	OperationID string `json:"operationId,omitempty"`
	WakeID      string `json:"wakeId,omitempty"`
	Step        string `json:"step,omitempty"`
	// Sweep carries the sweep's own continuation payload.
	Sweep json.RawMessage `json:"sweep,omitempty"`
	// Deferred carries the input of a KindDeferred continuation.
	Deferred *Deferred `json:"deferred,omitempty"`
	// Command is the CloudEvent of a KindCommand continuation.
	Command json.RawMessage `json:"command,omitempty"`
	// Resend numbers the re-sends of a self-scheduled message (a lease
	// check), so that each gets a fresh, deterministic id.
	Resend int `json:"resend,omitempty"`
	// RelationshipID names the relationship of a KindRefresh continuation.
	RelationshipID string `json:"relationshipId,omitempty"`
}

// Deferred is the payload of a KindDeferred continuation: the input as it
// arrived, and how often it has been deferred.
type Deferred struct {
	// Command is the body of a deferred command message (nil for a
	// deferred continuation).
	Command []byte `json:"command,omitempty"`
	// Continuation is a deferred continuation (nil for a command).
	Continuation *Continuation `json:"continuation,omitempty"`
	// InputID is the Service Bus MessageId of the original message: the
	// deferred input is processed as if it were that message.
	InputID string `json:"inputId"`
	// Count is how many times the input has been deferred (1 for the
	// first deferral).
	Count int `json:"count"`
	// Since is when the input was first deferred; it is dropped (left to
	// Service Bus redelivery) once GDAP_OPERATION_DEADLINE has passed.
	Since time.Time `json:"since"`
}

// NewContinuationMessage builds the bus message for c under id, delivered
// at at.
func NewContinuationMessage(c Continuation, id, correlationID string, at time.Time) (bus.Message, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return bus.Message{}, fmt.Errorf("encode continuation: %w", err)
	}
	at = at.UTC()
	return bus.Message{
		MessageID:     id,
		CorrelationID: correlationID,
		Subject:       SubjectContinuation,
		ContentType:   "application/json",
		Body:          body,
		ApplicationProperties: map[string]any{
			"kind": string(c.Kind), "operationId": c.OperationID, "step": c.Step,
		},
		ScheduledEnqueueTime: &at,
	}, nil
}

// ScheduleAt rounds t up to the next whole second. Every self-scheduled
// message uses it: AMQP carries whole milliseconds and the invocation's clock
// may trail the broker's, so a message scheduled for an exact instant can be
// delivered up to a millisecond early; at a whole second later it cannot be
// processed before the instant it was scheduled for.
func ScheduleAt(t time.Time) time.Time {
	return t.Truncate(time.Second).Add(time.Second)
}
