package bus

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// ServiceBus sends messages to Azure Service Bus queues and topics through
// one long-lived sender per entity, created up front and shared by
// concurrent invocations (docs/platform/functions-host-facts.md §3.6). It is safe for concurrent
// use.
type ServiceBus struct {
	senders map[string]*azservicebus.Sender
}

// NewServiceBus creates one sender for each queue or topic in entities
// (duplicates are ignored). Senders connect lazily, on the first Send.
func NewServiceBus(client *azservicebus.Client, entities []string) (*ServiceBus, error) {
	if client == nil {
		return nil, errors.New("bus: nil Service Bus client")
	}
	if len(entities) == 0 {
		return nil, errors.New("bus: no Service Bus entities")
	}
	sb := &ServiceBus{senders: make(map[string]*azservicebus.Sender, len(entities))}
	for _, e := range entities {
		if e == "" {
			_ = sb.Close(context.Background())
			return nil, errors.New("bus: empty Service Bus entity name")
		}
		if _, ok := sb.senders[e]; ok {
			continue
		}
		s, err := client.NewSender(e, nil)
		if err != nil {
			_ = sb.Close(context.Background())
			return nil, fmt.Errorf("bus: sender for %q: %w", e, err)
		}
		sb.senders[e] = s
	}
	return sb, nil
}

// Entities returns the queues and topics this ServiceBus can send to, sorted.
func (sb *ServiceBus) Entities() []string {
	out := make([]string, 0, len(sb.senders))
	for e := range sb.senders {
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}

// Send sends m to entity, scheduled when m.ScheduledEnqueueTime is set. An
// entity not given to NewServiceBus is ErrUnknownEntity; Service Bus
// failures are returned wrapped (*azservicebus.Error for actionable codes,
// azservicebus.ErrMessageTooLarge).
func (sb *ServiceBus) Send(ctx context.Context, entity string, m Message) error {
	s, ok := sb.senders[entity]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownEntity, entity)
	}
	msg, err := toServiceBusMessage(m)
	if err != nil {
		return err
	}
	if err := s.SendMessage(ctx, msg, nil); err != nil {
		return fmt.Errorf("bus: send %q to %q: %w", m.MessageID, entity, err)
	}
	return nil
}

// Close closes every sender (not the client, which the caller owns).
func (sb *ServiceBus) Close(ctx context.Context) error {
	var errs []error
	for e, s := range sb.senders {
		if err := s.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("bus: close sender for %q: %w", e, err))
		}
	}
	return errors.Join(errs...)
}

// toServiceBusMessage maps m onto a Service Bus message: empty strings stay
// unset (Service Bus then assigns a MessageID), the scheduled time is UTC.
func toServiceBusMessage(m Message) (*azservicebus.Message, error) {
	props, err := normalizeProperties(m.ApplicationProperties)
	if err != nil {
		return nil, err
	}
	msg := &azservicebus.Message{
		MessageID:     optional(m.MessageID),
		CorrelationID: optional(m.CorrelationID),
		Subject:       optional(m.Subject),
		ContentType:   optional(m.ContentType),
		Body:          m.Body,
	}
	if len(props) > 0 {
		msg.ApplicationProperties = props
	}
	if m.ScheduledEnqueueTime != nil {
		t := m.ScheduledEnqueueTime.UTC()
		msg.ScheduledEnqueueTime = &t
	}
	return msg, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
