package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gdapflow/gdapflow/internal/bus"
)

// Continuation kinds.
const (
	// KindResume resumes an operation at a step; only the continuation whose
	// id the ledger record names as WakeID may act.
	KindResume = "resume"
	// KindLeaseCheck takes over an operation whose lease expired (a handler
	// crashed while executing it).
	KindLeaseCheck = "leaseCheck"
	// KindSweep carries the next page of an expiry sweep.
	KindSweep = "sweep"
)

// SubjectContinuation is the Subject of continuation messages.
const SubjectContinuation = "gdap.continuation"

// Continuation is the body of a message on the continuations queue. It names
// an operation and a step; it carries no state (level-based).
type Continuation struct {
	Kind        string `json:"kind"`
	OperationID string `json:"operationId,omitempty"`
	WakeID      string `json:"wakeId,omitempty"`
	Step        string `json:"step,omitempty"`
	// Sweep carries the sweep's own continuation payload.
	Sweep json.RawMessage `json:"sweep,omitempty"`
	// Deferred carries the input of a KindDeferred continuation.
	Deferred *Deferred `json:"deferred,omitempty"`
}

// maxMessageIDLen is Service Bus's MessageId limit.
const maxMessageIDLen = 128

// messageID returns a deterministic Service Bus message id built from parts,
// hashed when it would exceed the limit.
func messageID(parts ...string) string {
	id := ""
	for i, p := range parts {
		if i > 0 {
			id += "."
		}
		id += p
	}
	if len(id) <= maxMessageIDLen {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return id[:maxMessageIDLen-33] + "~" + hex.EncodeToString(sum[:16])
}

// NewContinuationMessage builds the bus message for c, delivered at at.
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
			"kind": c.Kind, "operationId": c.OperationID, "step": c.Step,
		},
		ScheduledEnqueueTime: &at,
	}, nil
}
