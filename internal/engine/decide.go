package engine

import (
	"time"

	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
)

// input is what arrived for an operation that is already recorded: a
// duplicate command (cont nil) or a continuation.
type input struct {
	// messageID is the Service Bus MessageId of the input (for a deferred
	// input, of the original message).
	messageID string
	// cont is the continuation, nil for a command.
	cont *op.Continuation
}

// action is what a decision tells act to do.
type action int

// Actions of a decision.
const (
	// actIgnore acknowledges the input without effect.
	actIgnore action = iota
	// actPublish makes sure a finished operation's outcome is published.
	actPublish
	// actExecute runs the workflow from the current step.
	actExecute
	// actTakeOver runs the workflow of an operation whose lease expired.
	actTakeOver
	// actRewake schedules an overdue waiting operation again under a new id.
	actRewake
	// actResend re-sends the pending continuation (the input scheduled it).
	actResend
	// actLeaseCheck schedules a check for when the current lease expires.
	actLeaseCheck
)

// decision is the outcome of decide.
type decision struct {
	action action
	// reason says why, for the log.
	reason string
	// at is when the lease expires (actLeaseCheck, actTakeOver).
	at time.Time
}

// decide says what an input may do with an existing operation, level-based
// on its ledger record. It is pure: act performs the decision.
func decide(rec *ledger.Record, in input, now time.Time, lease time.Duration) decision {
	c := in.cont
	if rec.IsTerminal() {
		if c != nil {
			return decision{action: actPublish, reason: "stale continuation for finished operation acknowledged"}
		}
		return decision{action: actPublish, reason: "duplicate command for finished operation"}
	}
	if c != nil && c.Kind == op.KindWake && rec.State != ledger.StateWaiting {
		// Running: the invocation that holds it reads upstream anyway.
		return decision{action: actIgnore, reason: "wake for an operation that is not waiting acknowledged"}
	}
	switch rec.State {
	case ledger.StateAccepted:
		return decision{action: actExecute, reason: "operation not started yet"}
	case ledger.StateWaiting:
		switch {
		case c != nil && c.Kind == op.KindResume && c.WakeID == rec.WakeID:
			return decision{action: actExecute, reason: "continuation is the pending one"}
		case c != nil && c.Kind == op.KindWake && Step(rec.Step).Poll():
			// What the operation waits on changed: check now. A poll step
			// only reads upstream; the pending continuation, its wake id
			// spent by the next write, is then ignored.
			return decision{action: actExecute, reason: "woken early"}
		case c == nil && rec.WakeID != "" && now.After(rec.WakeAt.Add(lease)):
			// A command re-sent for an operation whose continuation is long
			// overdue (lost, or dead-lettered during an outage).
			return decision{action: actRewake, reason: "continuation overdue; command re-sent"}
		case decodeState(rec.Workflow).LastInputID == in.messageID && rec.WakeID != "":
			// This very message scheduled the wait before; its earlier
			// attempt may have failed to send the continuation.
			return decision{action: actResend, reason: "re-sending continuation after redelivery"}
		}
		return decision{action: actIgnore, reason: "input does not match the pending continuation; acknowledged"}
	case ledger.StateRunning:
		expiry := rec.UpdatedAt.Add(lease)
		if !now.Before(expiry) {
			return decision{action: actTakeOver, reason: "taking over operation whose lease expired", at: expiry}
		}
		return decision{action: actLeaseCheck, reason: "operation is being executed elsewhere; lease check scheduled", at: expiry}
	}
	return decision{action: actIgnore, reason: "operation in unknown state acknowledged"}
}
