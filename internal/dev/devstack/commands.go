package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/event"
	"github.com/gdapflow/gdapflow/internal/op"
)

// CommandSource is the CloudEvents source of commands the stack sends.
const CommandSource = "/devstack"

// NewCommand returns a command CloudEvent body.
func NewCommand(id, typ string, data any) ([]byte, error) {
	return json.Marshal(map[string]any{
		"specversion":     "1.0",
		"id":              id,
		"source":          CommandSource,
		"type":            typ,
		"datacontenttype": "application/json",
		"data":            data,
	})
}

// NewCommandBody is NewCommand as a method, for callers holding a Stack.
func (s *Stack) NewCommandBody(id, typ string, data any) ([]byte, error) {
	return NewCommand(id, typ, data)
}

// Send sends a command to the commands queue as another system would, with
// the operation id as the Service Bus MessageId.
func (s *Stack) Send(ctx context.Context, id, typ string, data any) error {
	body, err := NewCommand(id, typ, data)
	if err != nil {
		return err
	}
	return s.SendBody(ctx, id, body)
}

// SendBody sends a raw body to the commands queue.
func (s *Stack) SendBody(ctx context.Context, messageID string, body []byte) error {
	_, err := s.Emu.Send(ctx, s.Env["GDAP_COMMANDS_QUEUE"], bus.Message{
		MessageID:   messageID,
		ContentType: "application/cloudevents+json; charset=utf-8",
		Body:        body,
	})
	return err
}

// Drain delivers every message, fast-forwarding the virtual clock over
// scheduled ones, until nothing is left.
func (s *Stack) Drain(ctx context.Context) error { return s.Emu.Drain(ctx) }

// Event is a published event as other systems would read it.
type Event struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	Source        string          `json:"source"`
	Subject       string          `json:"subject"`
	Time          time.Time       `json:"time"`
	Data          json.RawMessage `json:"data"`
	CorrelationID string          `json:"-"`
	MessageID     string          `json:"-"`
	ContentType   string          `json:"-"`
}

// Decode decodes the event's data into v.
func (e Event) Decode(v any) error { return json.Unmarshal(e.Data, v) }

// Events returns every event published to the events topic, in order.
func (s *Stack) Events() ([]Event, error) {
	var out []Event
	for _, d := range s.Emu.Published(s.Env["GDAP_EVENTS_TOPIC"]) {
		var e Event
		if err := json.Unmarshal(d.Body, &e); err != nil {
			return nil, fmt.Errorf("event %s is not a CloudEvent: %w", d.MessageID, err)
		}
		e.CorrelationID, e.MessageID, e.ContentType = d.CorrelationID, d.MessageID, d.ContentType
		out = append(out, e)
	}
	return out, nil
}

// Outcome is the data of gdap.operation.succeeded / failed, decoded into
// the event package's types.
type Outcome struct {
	Type string `json:"-"`
	event.Operation
	Result op.Result  `json:"result"`
	Error  op.Failure `json:"error"`
}

// Succeeded reports whether the outcome is gdap.operation.succeeded.
func (o Outcome) Succeeded() bool { return o.Type == "gdap.operation.succeeded" }

// Outcomes returns the outcome events per operation id (a correct service
// publishes exactly one per operation).
func (s *Stack) Outcomes() (map[string][]Outcome, error) {
	evs, err := s.Events()
	if err != nil {
		return nil, err
	}
	out := map[string][]Outcome{}
	for _, e := range evs {
		if e.Type != "gdap.operation.succeeded" && e.Type != "gdap.operation.failed" {
			continue
		}
		var o Outcome
		if err := e.Decode(&o); err != nil {
			return nil, err
		}
		o.Type = e.Type
		out[o.OperationID] = append(out[o.OperationID], o)
	}
	return out, nil
}

// EventsOfType returns the published events of one type.
func (s *Stack) EventsOfType(typ string) ([]Event, error) {
	evs, err := s.Events()
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out, nil
}

// SortedKeys returns m's keys in order (for stable reports).
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
