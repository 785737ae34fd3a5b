package hostemu

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/bus"
)

// postBroker sends raw JSON to the broker and returns the status code.
func postBroker(t *testing.T, b *testBundle, entity, body string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.emu.BrokerURL()+"/"+entity+"/messages", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode
}

func TestBrokerDuplicateDetection(t *testing.T) {
	t.Parallel()
	b := setup(t, setupConfig{})
	msg := `{"messageId":"evt-1","body":"e30=","contentType":"application/json"}`
	require.Equal(t, http.StatusCreated, postBroker(t, b, "gdap-events", msg))
	require.Equal(t, http.StatusOK, postBroker(t, b, "gdap-events", msg), "duplicate within the window")
	require.Equal(t, http.StatusOK, postBroker(t, b, "GDAP-Events", msg), "entity names are case-insensitive")
	require.Equal(t, http.StatusCreated, postBroker(t, b, "other-topic", msg), "detection is per entity")

	ok, err := b.emu.Send(t.Context(), "gdap-events", bus.Message{MessageID: "evt-1", Body: []byte("{}")})
	require.NoError(t, err)
	require.False(t, ok, "Send applies duplicate detection too")

	b.clock.Advance(DuplicateDetectionWindowDefault - time.Second)
	require.Equal(t, http.StatusOK, postBroker(t, b, "gdap-events", msg), "still inside the window")
	b.clock.Advance(time.Second)
	require.Equal(t, http.StatusCreated, postBroker(t, b, "gdap-events", msg), "window elapsed on the virtual clock")

	pub := b.emu.Published("gdap-events")
	require.Len(t, pub, 2)
	require.Equal(t, "evt-1", pub[0].MessageID)
	require.Equal(t, "{}", string(pub[0].Body))
	require.Equal(t, "application/json", pub[0].ContentType)
	require.Equal(t, t0, pub[0].EnqueuedTime)
	require.Less(t, pub[0].SequenceNumber, pub[1].SequenceNumber)
}

func TestBrokerRejectsMalformedMessages(t *testing.T) {
	t.Parallel()
	b := setup(t, setupConfig{})
	for name, body := range map[string]string{
		"not json":             `{"messageId":`,
		"unknown field":        `{"messageId":"a","body":"e30=","sessionId":"s"}`,
		"missing body":         `{"messageId":"a"}`,
		"bad base64":           `{"messageId":"a","body":"***"}`,
		"bad schedule":         `{"messageId":"a","body":"e30=","scheduledEnqueueTime":"tomorrow"}`,
		"nested property":      `{"messageId":"a","body":"e30=","applicationProperties":{"k":{"x":1}}}`,
		"null property":        `{"messageId":"a","body":"e30=","applicationProperties":{"k":null}}`,
		"trailing data":        `{"messageId":"a","body":"e30="} {}`,
		"messageId too long":   `{"messageId":"` + strings.Repeat("x", 129) + `","body":"e30="}`,
		"body is not a string": `{"messageId":"a","body":123}`,
	} {
		require.Equal(t, http.StatusBadRequest, postBroker(t, b, "gdap-events", body), name)
	}
	require.Empty(t, b.emu.Published("gdap-events"))

	_, err := b.emu.Send(t.Context(), "gdap-events", bus.Message{MessageID: "a", ApplicationProperties: map[string]any{"k": []string{"x"}}})
	var be *BrokerError
	require.ErrorAs(t, err, &be)
}

func TestPublishedFromHandler(t *testing.T) {
	t.Parallel()
	b := setup(t, setupConfig{})
	publish := `{"action":"publish","entity":"gdap-events","messageId":"evt-7"}`
	b.send(t, "c-1", publish)
	b.send(t, "c-2", publish) // republishes the same event id: dropped
	b.drain(t)

	pub := b.emu.Published("gdap-events")
	require.Len(t, pub, 1)
	got := pub[0]
	require.Equal(t, "gdap-events", got.Entity)
	require.Equal(t, "evt-7", got.MessageID)
	require.Equal(t, "corr-evt-7", got.CorrelationID)
	require.Equal(t, "test.published", got.Subject)
	require.Equal(t, "application/json", got.ContentType)
	require.JSONEq(t, `{"action":"ok"}`, string(got.Body))
	require.Equal(t, map[string]any{"attempt": int64(2)}, got.ApplicationProperties)
	require.Nil(t, got.ScheduledEnqueueTime)

	invs := b.emu.Invocations()
	require.Len(t, invs, 2)
	var logs []string
	for _, inv := range invs {
		require.NoError(t, inv.Err)
		logs = append(logs, inv.Logs...)
	}
	require.Contains(t, logs, "published 201")
	require.Contains(t, logs, "published 200")
	require.Empty(t, b.emu.Published("gdap-commands"), "queues are not topics")
}

func TestBrokerResponseBody(t *testing.T) {
	t.Parallel()
	b := setup(t, setupConfig{})
	resp, err := http.Post(b.emu.BrokerURL()+"/gdap-events/messages", "application/json", strings.NewReader(`{"messageId":"x","body":""}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	var got map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
	require.Equal(t, "x", got["messageId"])
	require.InDelta(t, 1, got["sequenceNumber"], 0)
	require.Equal(t, http.StatusMethodNotAllowed, func() int {
		r, err := http.Get(b.emu.BrokerURL() + "/gdap-events/messages")
		require.NoError(t, err)
		_ = r.Body.Close()
		return r.StatusCode
	}())
}
