package engine

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/event"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
)

// outcomeMessage builds the operation's single outcome event from its ledger
// record. The event time is the record's FinishedAt, so a re-published
// outcome is byte-identical to the first one.
func (e *Engine) outcomeMessage(rec *ledger.Record) (bus.Message, error) {
	b := event.NewBuilder(e.opts.EventSource)
	o := event.Operation{
		OperationID: rec.OperationID, CommandType: rec.CommandType, RelationshipID: rec.TargetID,
		Attempts: rec.Attempts, AcceptedAt: rec.AcceptedAt, FinishedAt: rec.FinishedAt,
	}
	if workflows[rec.CommandType].customerTarget {
		o.RelationshipID, o.CustomerTenantID = "", rec.TargetID
	}
	if rec.State == ledger.StateFailed {
		if rec.LastError == nil {
			return bus.Message{}, fmt.Errorf("failed operation %s has no error recorded", rec.OperationID)
		}
		return b.OperationFailed(rec.FinishedAt, event.OperationFailed{Operation: o, Error: *rec.LastError})
	}
	var res op.Result
	if len(rec.Result) > 0 {
		if err := json.Unmarshal(rec.Result, &res); err != nil {
			return bus.Message{}, fmt.Errorf("decode result of %s: %w", rec.OperationID, err)
		}
	}
	return b.OperationSucceeded(rec.FinishedAt, event.OperationSucceeded{Operation: o, Result: res})
}

// rejectedMessage builds gdap.command.rejected for a body that is not a
// command, or for an operation id reused with different content.
func (e *Engine) rejectedMessage(operationID, messageID string, body []byte, f *op.Failure, at time.Time) (bus.Message, error) {
	if operationID == "" {
		operationID = messageID
	}
	return event.NewBuilder(e.opts.EventSource).CommandRejected(at, event.CommandRejected{
		OperationID: operationID, MessageID: messageID,
		Error: event.RejectionError{Code: f.Code, Message: f.Message, Field: f.Field},
	}, body)
}
