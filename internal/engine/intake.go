package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
)

// HandleCommand processes one message from the commands queue. A nil error
// means the message has been dealt with (the handler answers 200).
func (e *Engine) HandleCommand(ctx context.Context, inv op.Invocation, body []byte) error {
	// A message from the commands queue may not take a reserved id
	// (gdapflow.*: docs/contract.md §6.5).
	return e.handleCommand(ctx, inv, body, op.Deferred{}, command.ParseCommandsEnvelope)
}

// parseFunc parses a command's envelope: command.ParseCommandsEnvelope for
// the commands queue, command.ParseEnvelope for commands the service issued
// itself and for deferred commands (checked when they first arrived).
type parseFunc func(body []byte) (*command.Envelope, error)

// handleCommand processes a command, arrived now or deferred (d) because
// Table Storage was unavailable, parsed with parse. If it fails because
// Table Storage is unavailable (at any point: a redelivery is always safe,
// and a deferral is a delayed redelivery), it is deferred.
func (e *Engine) handleCommand(ctx context.Context, inv op.Invocation, body []byte, d op.Deferred, parse parseFunc) error {
	inv.Logger = inv.Log()
	env, err := parse(body)
	if err != nil {
		f := commandFailure(err)
		inv.Logger.WarnContext(ctx, "command rejected", "code", f.Code, "reason", f.Message)
		return e.reject(ctx, inv, inv.MessageID, body, f)
	}
	inv.Logger = inv.Logger.With("operation_id", env.ID, "command_type", env.Type)
	accepted := d.Since // a deferred command was accepted when it first arrived
	if accepted.IsZero() {
		accepted = inv.Clock.Now().UTC()
	}
	err = e.acceptCommand(ctx, inv, env, body, accepted)
	if ledger.IsUnavailable(err) {
		d.Command = body
		return e.deferInput(ctx, inv, env.ID, d, err)
	}
	return err
}

// acceptCommand records a parsed command in the ledger (or finds it there)
// and runs it.
func (e *Engine) acceptCommand(ctx context.Context, inv op.Invocation, env *command.Envelope, body []byte, accepted time.Time) error {
	log := inv.Logger
	now := inv.Clock.Now().UTC()
	cmd, decodeErr := env.Decode()
	// The record is created already claimed by this invocation (state
	// running, attempt 1): creation is the lease, no second write needed.
	wf := &wfState{LastInputID: inv.MessageID, Lease: newLease()}
	rec := &ledger.Record{
		OperationID: env.ID,
		CommandType: env.Type,
		Source:      env.Source,
		ContentHash: env.ContentHash,
		State:       ledger.StateRunning,
		Attempts:    1,
		AcceptedAt:  accepted,
		UpdatedAt:   now,
		Command:     body,
		Workflow:    encodeState(wf),
	}
	if decodeErr == nil {
		rec.TargetID = command.TargetID(cmd)
	} else {
		rec.TargetID = looseTarget(env.Data)
	}
	in := input{messageID: inv.MessageID}
	// A duplicate's entry is left for the reaper to clear: another
	// invocation may have filed the same instant for the record.
	if err := e.fileDue(ctx, rec.OperationID, now.Add(e.opts.LeaseDuration)); err != nil {
		return err
	}
	err := e.opts.Ledger.Create(ctx, rec)
	switch {
	case errors.Is(err, ledger.ErrExists):
		existing, gerr := e.opts.Ledger.Get(ctx, env.ID)
		if gerr != nil {
			return fmt.Errorf("read operation %s: %w", env.ID, gerr)
		}
		if existing.ContentHash != env.ContentHash {
			log.WarnContext(ctx, "operation id reused with different content")
			return e.reject(ctx, inv, env.ID, body, op.Failf(op.CodeConflict,
				"operation id %q was already used for a different command; use a new id", env.ID))
		}
		log.InfoContext(ctx, "duplicate command delivery", "state", existing.State)
		return e.resume(ctx, &run{e: e, inv: inv, in: in, rec: existing, wf: decodeState(existing.Workflow), log: log})
	case err != nil:
		return fmt.Errorf("record operation %s: %w", env.ID, err)
	}
	log.InfoContext(ctx, "command accepted", "target", rec.TargetID)
	r := &run{e: e, inv: inv, in: in, rec: rec, wf: wf, log: log, cmd: cmd, claimed: true}
	if decodeErr != nil {
		rec.Attempts = 0 // nothing was executed
		return e.finish(ctx, r, nil, commandFailure(decodeErr))
	}
	return e.runSteps(ctx, r)
}

// RejectUndecodable answers a commands-queue message the handler could not
// decode at all with gdap.command.rejected (invalid_command, reason as the
// message); inv.MessageID names the message. A nil error means the message
// has been dealt with.
func (e *Engine) RejectUndecodable(ctx context.Context, inv op.Invocation, reason string) error {
	inv.Log().WarnContext(ctx, "command rejected", "code", op.CodeInvalidCommand, "reason", reason)
	return e.reject(ctx, inv, inv.MessageID, nil, &op.Failure{Code: op.CodeInvalidCommand, Message: reason})
}

// HandleContinuation processes one message from the continuations queue.
func (e *Engine) HandleContinuation(ctx context.Context, inv op.Invocation, body []byte) error {
	inv.Logger = inv.Log()
	var c op.Continuation
	if err := json.Unmarshal(body, &c); err != nil {
		// Only the service writes this queue; a body it cannot read is a bug
		// or tampering. Acknowledge it: retrying cannot help.
		inv.Logger.ErrorContext(ctx, "unreadable continuation dropped", "error", err.Error())
		return nil
	}
	switch c.Kind {
	case op.KindDeferred:
		return e.handleDeferred(ctx, inv, c)
	case op.KindCommand:
		// A command the service issued itself (a sweep policy action, under
		// a reserved gdapflow. id): processed like one from the commands queue.
		return e.handleCommand(ctx, inv, c.Command, op.Deferred{}, command.ParseEnvelope)
	case op.KindRefresh:
		return e.handleRefresh(ctx, inv, c)
	}
	return e.handleContinuation(ctx, inv, c, op.Deferred{})
}

// handleContinuation processes a continuation, arrived now or deferred (d)
// because Table Storage was unavailable; if it fails because Table Storage
// is unavailable, it is deferred (again).
func (e *Engine) handleContinuation(ctx context.Context, inv op.Invocation, c op.Continuation, d op.Deferred) error {
	err := e.continueWith(ctx, inv, c)
	if ledger.IsUnavailable(err) {
		d.Continuation = &c
		return e.deferInput(ctx, inv, c.OperationID, d, err)
	}
	return err
}

// continueWith acts on a continuation: the next page of a sweep, or the
// operation it names, level-based on its ledger record.
func (e *Engine) continueWith(ctx context.Context, inv op.Invocation, c op.Continuation) error {
	if c.Kind == op.KindSweep {
		if e.opts.Sweeper == nil {
			inv.Logger.WarnContext(ctx, "sweep continuation without a sweeper dropped")
			return nil
		}
		return e.opts.Sweeper.Continue(ctx, inv, c.Sweep)
	}
	log := inv.Logger.With("operation_id", c.OperationID, "continuation", c.Kind, "wake_id", c.WakeID)
	inv.Logger = log
	rec, err := e.opts.Ledger.Get(ctx, c.OperationID)
	if errors.Is(err, ledger.ErrNotFound) {
		if c.Kind == op.KindWake {
			// Wakes are sent by id to whatever may wait (op.FollowUpID).
			log.InfoContext(ctx, "wake for an operation that does not exist ignored")
			return nil
		}
		log.WarnContext(ctx, "continuation for unknown operation ignored")
		return nil
	}
	if err != nil {
		return fmt.Errorf("read operation %s: %w", c.OperationID, err)
	}
	in := input{messageID: inv.MessageID, cont: &c}
	return e.resume(ctx, &run{e: e, inv: inv, in: in, rec: rec, wf: decodeState(rec.Workflow), log: log})
}

// looseTarget finds relationshipId or customerTenantId in data that failed
// validation, for the failed event's identifiers.
func looseTarget(data []byte) string {
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return ""
	}
	for _, k := range []string{"relationshipId", "customerTenantId"} {
		if s, ok := m[k].(string); ok && len(s) <= 128 {
			return s
		}
	}
	return ""
}
