package bus

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var _ interface {
	Send(context.Context, string, Message) error
} = (*LocalBroker)(nil)

// received is one request the fake broker saw.
type received struct {
	method, path, rawPath, contentType string
	body                               []byte
}

type brokerBundle struct {
	broker *LocalBroker
	mu     sync.Mutex
	reqs   []received
	status int
	reply  string
}

func setupBroker(t *testing.T, status int, reply string) *brokerBundle {
	t.Helper()
	b := &brokerBundle{status: status, reply: reply}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		b.mu.Lock()
		b.reqs = append(b.reqs, received{r.Method, r.URL.Path, r.URL.EscapedPath(), r.Header.Get("Content-Type"), body})
		b.mu.Unlock()
		w.WriteHeader(b.status)
		_, _ = io.WriteString(w, b.reply)
	}))
	t.Cleanup(srv.Close)
	b.broker = NewLocalBroker(srv.URL+"/", srv.Client())
	return b
}

func (b *brokerBundle) only(t *testing.T) received {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	require.Len(t, b.reqs, 1)
	return b.reqs[0]
}

func TestLocalBrokerJSONShape(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.FixedZone("PST", -8*3600))
	atFrac := time.Date(2026, 11, 22, 17, 0, 0, 250000000, time.UTC)
	full := Message{
		MessageID:     "op-1:outcome",
		CorrelationID: "op-1",
		Subject:       "gdap.operation.succeeded",
		ContentType:   "application/cloudevents+json; charset=utf-8",
		Body:          []byte{0xff, 0x00, '{', '}'},
		ApplicationProperties: map[string]any{
			"attempt": 3, "wide": int64(1) << 40, "ratio": 0.5, "final": true, "kind": "poll",
		},
	}
	scheduled := full
	scheduled.ScheduledEnqueueTime = &at
	fractional := full
	fractional.ScheduledEnqueueTime = &atFrac

	tests := []struct {
		name string
		msg  Message
		want string
	}{
		{
			name: "immediate, every field",
			msg:  full,
			want: `{"messageId":"op-1:outcome","body":"/wB7fQ==","contentType":"application/cloudevents+json; charset=utf-8",
				"correlationId":"op-1","subject":"gdap.operation.succeeded",
				"applicationProperties":{"attempt":3,"wide":1099511627776,"ratio":0.5,"final":true,"kind":"poll"}}`,
		},
		{
			name: "scheduled time in UTC",
			msg:  scheduled,
			want: `{"messageId":"op-1:outcome","body":"/wB7fQ==","contentType":"application/cloudevents+json; charset=utf-8",
				"correlationId":"op-1","subject":"gdap.operation.succeeded",
				"applicationProperties":{"attempt":3,"wide":1099511627776,"ratio":0.5,"final":true,"kind":"poll"},
				"scheduledEnqueueTime":"2026-11-22T17:00:00Z"}`,
		},
		{
			name: "scheduled time keeps its fraction",
			msg:  fractional,
			want: `{"messageId":"op-1:outcome","body":"/wB7fQ==","contentType":"application/cloudevents+json; charset=utf-8",
				"correlationId":"op-1","subject":"gdap.operation.succeeded",
				"applicationProperties":{"attempt":3,"wide":1099511627776,"ratio":0.5,"final":true,"kind":"poll"},
				"scheduledEnqueueTime":"2026-11-22T17:00:00.25Z"}`,
		},
		{
			name: "empty message",
			msg:  Message{},
			want: `{"messageId":"","body":"","contentType":"","correlationId":"","subject":"","applicationProperties":{}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupBroker(t, http.StatusCreated, "")
			require.NoError(t, b.broker.Send(t.Context(), "gdap-events", tt.msg))
			got := b.only(t)
			require.Equal(t, http.MethodPost, got.method)
			require.Equal(t, "/gdap-events/messages", got.path)
			require.Equal(t, "application/json", got.contentType)
			require.JSONEq(t, tt.want, string(got.body))
			// Exactly these keys, nothing more (JSONEq already checks values).
			var keys map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(got.body, &keys))
			_, hasSchedule := keys["scheduledEnqueueTime"]
			require.Equal(t, tt.msg.ScheduledEnqueueTime != nil, hasSchedule)
		})
	}
}

func TestLocalBrokerStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		reply   string
		wantErr bool
	}{
		{name: "201 accepted", status: http.StatusCreated},
		{name: "200 duplicate dropped", status: http.StatusOK, reply: `{"duplicate":true}`},
		{name: "202 is not in the protocol", status: http.StatusAccepted, wantErr: true},
		{name: "404 unknown entity", status: http.StatusNotFound, reply: "no such queue\n", wantErr: true},
		{name: "500", status: http.StatusInternalServerError, reply: "boom", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupBroker(t, tt.status, tt.reply)
			err := b.broker.Send(t.Context(), "gdap-continuations", Message{MessageID: "m1"})
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			var be *BrokerError
			require.ErrorAs(t, err, &be)
			require.Equal(t, tt.status, be.StatusCode)
			require.Equal(t, "gdap-continuations", be.Entity)
			require.Equal(t, "m1", be.MessageID)
			require.Equal(t, strings.TrimSpace(tt.reply), be.Body)
			require.Contains(t, be.Error(), "HTTP")
		})
	}
}

func TestLocalBrokerEscapesEntity(t *testing.T) {
	t.Parallel()
	b := setupBroker(t, http.StatusCreated, "")
	require.NoError(t, b.broker.Send(t.Context(), "topic/sub name?x", Message{MessageID: "m"}))
	got := b.only(t)
	require.Equal(t, "/topic%2Fsub%20name%3Fx/messages", got.rawPath)
}

func TestLocalBrokerRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		entity  string
		msg     Message
		wantErr error
	}{
		{"empty entity", "", Message{}, ErrUnknownEntity},
		{"unsupported property", "q", Message{ApplicationProperties: map[string]any{"t": time.Now()}}, ErrInvalidMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupBroker(t, http.StatusCreated, "")
			require.ErrorIs(t, b.broker.Send(t.Context(), tt.entity, tt.msg), tt.wantErr)
			b.mu.Lock()
			defer b.mu.Unlock()
			require.Empty(t, b.reqs, "nothing is sent")
		})
	}
}

func TestLocalBrokerTransportError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more
	err := NewLocalBroker(url, nil).Send(t.Context(), "q", Message{MessageID: "m"})
	require.Error(t, err)
	var be *BrokerError
	require.False(t, errors.As(err, &be), "no HTTP status, so not a BrokerError")
}

func TestLocalBrokerContextCanceled(t *testing.T) {
	t.Parallel()
	b := setupBroker(t, http.StatusCreated, "")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, b.broker.Send(ctx, "q", Message{}), context.Canceled)
}
