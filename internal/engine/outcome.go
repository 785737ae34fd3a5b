package engine

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/event"
	"github.com/gdapflow/gdapflow/internal/ledger"
)

// outcomeMessage builds the operation's single outcome event from its ledger
// record. The event time is the record's FinishedAt, so a re-published
// outcome is byte-identical to the first one.
func (e *Engine) outcomeMessage(rec *ledger.Record) (bus.Message, error) {
	b := event.NewBuilder(e.opts.EventSource)
	op := event.Operation{
		OperationID: rec.OperationID, CommandType: rec.CommandType, RelationshipID: rec.TargetID,
		Attempts: rec.Attempts, AcceptedAt: rec.AcceptedAt, FinishedAt: rec.FinishedAt,
	}
	if rec.CommandType == command.TypeRemoveDAP {
		op.RelationshipID, op.CustomerTenantID = "", rec.TargetID
	}
	if rec.State == ledger.StateFailed {
		if rec.LastError == nil {
			return bus.Message{}, fmt.Errorf("failed operation %s has no error recorded", rec.OperationID)
		}
		return b.OperationFailed(rec.FinishedAt, event.OperationFailed{
			Operation: op,
			Error: event.ErrorInfo{
				Code: rec.LastError.Code, Message: rec.LastError.Message, HTTPStatus: rec.LastError.HTTPStatus,
				UpstreamCode: rec.LastError.UpstreamCode, UpstreamRequestID: rec.LastError.UpstreamRequestID,
			},
		})
	}
	var res Result
	if len(rec.Result) > 0 {
		if err := json.Unmarshal(rec.Result, &res); err != nil {
			return bus.Message{}, fmt.Errorf("decode result of %s: %w", rec.OperationID, err)
		}
	}
	er := event.Result{RequestID: res.RequestID, RequestStatus: res.RequestStatus, SweepID: res.SweepID, AlreadyDone: res.AlreadyDone}
	if rr := res.Relationship; rr != nil {
		var end *time.Time
		if !rr.EndDateTime.IsZero() {
			t := rr.EndDateTime
			end = &t
		}
		er.Relationship = &event.Relationship{
			ID: rr.ID, DisplayName: rr.DisplayName, Status: rr.Status, EndDateTime: end,
			AutoExtendDuration: rr.AutoExtendDuration, UnifiedRoles: rr.UnifiedRoles, ETag: rr.ETag,
		}
	}
	return b.OperationSucceeded(rec.FinishedAt, event.OperationSucceeded{Operation: op, Result: er})
}

// rejectedMessage builds gdap.command.rejected for a body that is not a
// command, or for an operation id reused with different content.
func (e *Engine) rejectedMessage(operationID, messageID string, body []byte, code, message string, at time.Time) (bus.Message, error) {
	if operationID == "" {
		operationID = messageID
	}
	return event.NewBuilder(e.opts.EventSource).CommandRejected(at, event.CommandRejected{
		OperationID: operationID, MessageID: messageID,
		Error: event.RejectionError{Code: code, Message: message},
	}, body)
}
