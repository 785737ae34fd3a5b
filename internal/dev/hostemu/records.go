package hostemu

import (
	"time"

	"github.com/gdapflow/gdapflow/internal/bus"
)

// ReasonMaxDeliveryCountExceeded is the dead-letter reason Service Bus gives
// a message abandoned MaxDeliveryCount times.
const ReasonMaxDeliveryCountExceeded = "MaxDeliveryCountExceeded"

// Settlement outcomes recorded on an Invocation of a Service Bus function.
const (
	// SettlementCompleted: 2xx, the message was completed.
	SettlementCompleted = "completed"
	// SettlementAbandoned: the invocation failed and the message will be
	// delivered again.
	SettlementAbandoned = "abandoned"
	// SettlementDeadLettered: the invocation failed on the last allowed
	// delivery and the message went to the dead-letter queue.
	SettlementDeadLettered = "deadlettered"
)

// Delivered is a message the broker accepted.
type Delivered struct {
	bus.Message
	// Entity is the queue or topic it was sent to.
	Entity string
	// SequenceNumber is the broker's sequence number (unique per emulator).
	SequenceNumber int64
	// EnqueuedTime is the virtual time the message was accepted, or its
	// ScheduledEnqueueTime if that is later.
	EnqueuedTime time.Time
}

// DeadLetter is a message moved to a queue's dead-letter queue.
type DeadLetter struct {
	Delivered
	// Reason is ReasonMaxDeliveryCountExceeded.
	Reason string
	// DeliveryCount is how often the message was delivered.
	DeliveryCount int
	// DeadLetteredAt is the virtual time it was dead-lettered.
	DeadLetteredAt time.Time
	// LastError is the failure of the last delivery.
	LastError error
}

// Invocation records one call of a function, as the host's invocation log
// would.
type Invocation struct {
	// ID is the X-Azure-Functions-InvocationId sent.
	ID string
	// Function is the function folder name.
	Function string
	// MessageID and DeliveryCount describe the triggering message (empty
	// and 0 for timers).
	MessageID     string
	DeliveryCount int
	// StatusCode is the handler's HTTP status, 0 without a response.
	StatusCode int
	// HTTPStatus is, for an HTTP function, the status its caller got.
	HTTPStatus int
	// Err is nil on success, else an *InvocationError.
	Err error
	// Settlement is one of the Settlement* constants for Service Bus
	// functions, empty for timers.
	Settlement string
	// Time is the virtual time the invocation started (sys.UtcNow).
	Time time.Time
	// Duration is the real time the invocation took.
	Duration time.Duration
	// Logs are the response's Logs lines.
	Logs []string
}

// Published returns every message sent to entity while no function listens
// on it (a topic), in acceptance order. Duplicates dropped by duplicate
// detection are not included.
func (e *Emulator) Published(entity string) []Delivered {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Delivered(nil), e.published[entityKey(entity)]...)
}

// Accepted returns every message the broker accepted for entity (queue or
// topic), in acceptance order. Duplicates dropped by duplicate detection are
// not included.
func (e *Emulator) Accepted(entity string) []Delivered {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Delivered(nil), e.accepted[entityKey(entity)]...)
}

// DeadLetters returns the dead-letter queue of queue, oldest first.
func (e *Emulator) DeadLetters(queue string) []DeadLetter {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]DeadLetter(nil), e.deadLetters[entityKey(queue)]...)
}

// Invocations returns every finished invocation, in completion order.
func (e *Emulator) Invocations() []Invocation {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Invocation(nil), e.invocations...)
}
