package bus

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/stretchr/testify/require"
)

var _ interface {
	Send(context.Context, string, Message) error
} = (*ServiceBus)(nil)

// newOfflineClient builds a client that never connects: senders are lazy, so
// constructing and closing them needs no Service Bus.
func newOfflineClient(t *testing.T) *azservicebus.Client {
	t.Helper()
	c, err := azservicebus.NewClientFromConnectionString(
		"Endpoint=sb://gdapflow-test.invalid/;SharedAccessKeyName=test;SharedAccessKey=not-a-real-key", nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func ptr[T any](v T) *T { return &v }

func TestToServiceBusMessage(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 22, 9, 0, 0, 5, time.FixedZone("PST", -8*3600))
	tests := []struct {
		name string
		in   Message
		want *azservicebus.Message
	}{
		{
			name: "every field",
			in: Message{
				MessageID:             "op-1:poll:3",
				CorrelationID:         "op-1",
				Subject:               "gdap.continuation",
				ContentType:           "application/json",
				Body:                  []byte(`{"a":1}`),
				ApplicationProperties: map[string]any{"attempt": 3, "n": int32(4), "big": int64(5), "f": 1.5, "ok": true, "s": "x"},
				ScheduledEnqueueTime:  &at,
			},
			want: &azservicebus.Message{
				MessageID:             ptr("op-1:poll:3"),
				CorrelationID:         ptr("op-1"),
				Subject:               ptr("gdap.continuation"),
				ContentType:           ptr("application/json"),
				Body:                  []byte(`{"a":1}`),
				ApplicationProperties: map[string]any{"attempt": int64(3), "n": int64(4), "big": int64(5), "f": 1.5, "ok": true, "s": "x"},
				ScheduledEnqueueTime:  ptr(time.Date(2026, 11, 22, 17, 0, 0, 5, time.UTC)),
			},
		},
		{
			name: "empty strings stay unset, immediate",
			in:   Message{Body: []byte("x")},
			want: &azservicebus.Message{Body: []byte("x")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := toServiceBusMessage(tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			if got.ScheduledEnqueueTime != nil {
				require.Equal(t, time.UTC, got.ScheduledEnqueueTime.Location())
				require.NotSame(t, tt.in.ScheduledEnqueueTime, got.ScheduledEnqueueTime)
			}
		})
	}
}

func TestToServiceBusMessageCopiesProperties(t *testing.T) {
	t.Parallel()
	props := map[string]any{"k": "v"}
	got, err := toServiceBusMessage(Message{ApplicationProperties: props})
	require.NoError(t, err)
	props["k"] = "changed"
	require.Equal(t, "v", got.ApplicationProperties["k"])
}

func TestToServiceBusMessageRejectsPropertyType(t *testing.T) {
	t.Parallel()
	_, err := toServiceBusMessage(Message{ApplicationProperties: map[string]any{"bad": []string{"x"}}})
	require.ErrorIs(t, err, ErrInvalidMessage)
}

func TestNewServiceBus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		entities []string
		want     []string
		wantErr  string
	}{
		{name: "one sender per entity", entities: []string{"gdap-events", "gdap-continuations", "gdap-commands"},
			want: []string{"gdap-commands", "gdap-continuations", "gdap-events"}},
		{name: "duplicates collapse", entities: []string{"q", "q"}, want: []string{"q"}},
		{name: "none", entities: nil, wantErr: "no Service Bus entities"},
		{name: "empty name", entities: []string{"q", ""}, wantErr: "empty Service Bus entity name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sb, err := NewServiceBus(newOfflineClient(t), tt.entities)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, sb.Entities())
			require.NoError(t, sb.Close(t.Context()))
		})
	}
}

func TestNewServiceBusNilClient(t *testing.T) {
	t.Parallel()
	_, err := NewServiceBus(nil, []string{"q"})
	require.Error(t, err)
}

func TestServiceBusUnknownEntity(t *testing.T) {
	t.Parallel()
	sb, err := NewServiceBus(newOfflineClient(t), []string{"gdap-events"})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sb.Close(context.Background())) })

	err = sb.Send(t.Context(), "gdap-other", Message{MessageID: "m"})
	require.ErrorIs(t, err, ErrUnknownEntity)
	require.ErrorContains(t, err, "gdap-other")
}

func TestServiceBusInvalidMessageNotSent(t *testing.T) {
	t.Parallel()
	sb, err := NewServiceBus(newOfflineClient(t), []string{"gdap-events"})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sb.Close(context.Background())) })

	// Rejected before any connection attempt (the namespace does not exist).
	err = sb.Send(t.Context(), "gdap-events", Message{ApplicationProperties: map[string]any{"c": make(chan int)}})
	require.ErrorIs(t, err, ErrInvalidMessage)
}
