// Package bus sends gdapflow's outbound messages (continuations, commands
// issued by the sweep, and events) either to Azure Service Bus or, for local
// runs and tests, to the local broker protocol of docs/contract.md §5.
package bus

import "time"

// Message is one outbound message. Fields map one to one onto Service Bus
// message properties and onto the local broker's JSON.
type Message struct {
	// MessageID is deterministic per logical message so that duplicate
	// detection drops re-sends.
	MessageID string
	// CorrelationID is the operation id (or sweep id).
	CorrelationID string
	// Subject is the event or continuation type.
	Subject string
	// ContentType of Body, e.g. "application/cloudevents+json; charset=utf-8".
	ContentType string
	// Body is the raw message body.
	Body []byte
	// ApplicationProperties are string, bool, int64 or float64 values.
	ApplicationProperties map[string]any
	// ScheduledEnqueueTime delays delivery; nil means immediately.
	ScheduledEnqueueTime *time.Time
}
