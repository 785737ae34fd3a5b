package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/op"
)

// deferSendTimeout bounds the deferral's send. It is not cut short by the
// invocation's context, whose deadline may be what made the ledger call
// fail.
const deferSendTimeout = 5 * time.Second

// Deferral: an input (a command or a continuation) whose processing failed
// because Table Storage (the ledger, or the sweep's table) was unavailable
// is re-delivered after a back-off in an op.KindDeferred continuation.
// Returning an error instead would make Service Bus redeliver the message at
// once, and a Table Storage outage of a few seconds would use up every
// delivery and dead-letter it with no outcome event; a deferral keeps
// retrying with back-off until the operation deadline.

// deferInput schedules in (whose Count and Since describe the deferrals so
// far, zero for a first one) for another attempt after a back-off, because
// Table Storage failed with cause. It returns nil once the deferral is sent
// (the message has been dealt with), and cause when the operation deadline
// has passed, the input has no message id, or the deferral cannot be sent:
// the broker's redelivery is then the only way left.
func (e *Engine) deferInput(ctx context.Context, inv op.Invocation, operationID string, in op.Deferred, cause error) error {
	now := inv.Clock.Now().UTC()
	if in.Since.IsZero() {
		in.Since = now
	}
	if inv.MessageID == "" {
		// Without an id the deferral could not be named deterministically
		// nor processed as the original message.
		return cause
	}
	if e.opts.OperationDeadline > 0 && now.Sub(in.Since) > e.opts.OperationDeadline {
		inv.Logger.ErrorContext(ctx, "table storage unavailable past the operation deadline; leaving the input to redelivery",
			"error", cause.Error(), "deferred_since", in.Since)
		return cause
	}
	in.Count++
	in.InputID = inv.MessageID
	delay := op.RetryDelay(operationID, in.Count, 0)
	parts := []string{in.InputID, "deferred", strconv.Itoa(in.Count)}
	if operationID != "" {
		parts = append([]string{operationID}, parts...)
	}
	msg, err := op.NewContinuationMessage(op.Continuation{Kind: op.KindDeferred, OperationID: operationID, Deferred: &in},
		op.MessageID(parts...), operationID, now.Add(delay))
	if err != nil {
		return errors.Join(cause, err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deferSendTimeout)
	defer cancel()
	if err := e.send(sctx, e.opts.ContinuationsQueue, msg); err != nil {
		return errors.Join(cause, fmt.Errorf("defer input: %w", err))
	}
	inv.Logger.WarnContext(ctx, "table storage unavailable; input deferred", "error", cause.Error(),
		"retry_at", now.Add(delay), "deferrals", in.Count)
	return nil
}

// handleDeferred processes a KindDeferred continuation: the original input
// again, as the original message.
func (e *Engine) handleDeferred(ctx context.Context, inv op.Invocation, c op.Continuation) error {
	d := c.Deferred
	if d == nil || d.InputID == "" || (d.Command == nil) == (d.Continuation == nil) ||
		(d.Continuation != nil && d.Continuation.Kind == op.KindDeferred) {
		inv.Logger.ErrorContext(ctx, "malformed deferred input dropped")
		return nil
	}
	inv.MessageID = d.InputID
	if d.Command != nil {
		return e.handleCommand(ctx, inv, d.Command, *d, command.ParseEnvelope)
	}
	return e.handleContinuation(ctx, inv, *d.Continuation, *d)
}
