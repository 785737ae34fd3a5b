package op

import (
	"log/slog"

	"github.com/gdapflow/gdapflow/internal/vclock"
)

// Invocation is the per-invocation context the handler passes to the engine
// and the sweep.
type Invocation struct {
	// Clock is "now" for this invocation (the real clock in Azure).
	Clock vclock.Clock
	// Logger is the invocation's child logger.
	Logger *slog.Logger
	// MessageID is the Service Bus MessageId of the trigger message.
	MessageID string
	// DeliveryCount is the trigger message's delivery count.
	DeliveryCount int
	// Function is the function name (commands, continuations, expiry-sweep).
	Function string
}

// Log returns the invocation's logger, or a discarding one.
func (inv Invocation) Log() *slog.Logger {
	if inv.Logger != nil {
		return inv.Logger
	}
	return slog.New(slog.DiscardHandler)
}
