package hostemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gdapflow/gdapflow/internal/bus"
)

// maxBrokerBody bounds a broker request (Service Bus Standard allows 256 KiB
// messages; base64 and JSON add about a third).
const maxBrokerBody = 1 << 20

// brokerMessage is the local broker's JSON (docs/contract.md §5).
type brokerMessage struct {
	MessageID             string         `json:"messageId"`
	Body                  *string        `json:"body"`
	ContentType           string         `json:"contentType"`
	CorrelationID         string         `json:"correlationId"`
	Subject               string         `json:"subject"`
	ApplicationProperties map[string]any `json:"applicationProperties"`
	ScheduledEnqueueTime  *string        `json:"scheduledEnqueueTime"`
}

// startBroker listens on a free loopback port and serves the broker.
func (e *Emulator) startBroker() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("hostemu: broker listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{entity}/messages", e.handleSend)
	e.broker = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	e.brokerURL = "http://" + l.Addr().String()
	go func() { _ = e.broker.Serve(l) }()
	return nil
}

// handleSend answers 201 (accepted), 200 (duplicate, dropped) or 400.
func (e *Emulator) handleSend(w http.ResponseWriter, r *http.Request) {
	entity := r.PathValue("entity")
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBrokerBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	m, err := decodeBrokerMessage(raw)
	var accepted bool
	var seq int64
	if err == nil {
		accepted, seq, err = e.enqueue(entity, m)
	}
	var be *BrokerError
	switch {
	case errors.Is(err, ErrClosed):
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	case errors.As(err, &be):
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case err != nil:
		http.Error(w, (&BrokerError{Entity: entity, Err: err}).Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if !accepted {
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(map[string]any{"messageId": m.MessageID, "duplicate": true})
		return
	}
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"messageId": m.MessageID, "sequenceNumber": seq})
}

// decodeBrokerMessage parses and checks the broker JSON strictly: unknown
// fields, bad base64, a bad timestamp or a non-scalar property are errors.
func decodeBrokerMessage(raw []byte) (bus.Message, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var bm brokerMessage
	if err := dec.Decode(&bm); err != nil {
		return bus.Message{}, fmt.Errorf("decode: %w", err)
	}
	if dec.More() {
		return bus.Message{}, errors.New("trailing data after the JSON object")
	}
	if bm.Body == nil {
		return bus.Message{}, errors.New("body is required")
	}
	body, err := base64.StdEncoding.DecodeString(*bm.Body)
	if err != nil {
		return bus.Message{}, fmt.Errorf("body is not base64: %w", err)
	}
	m := bus.Message{
		MessageID: bm.MessageID, CorrelationID: bm.CorrelationID, Subject: bm.Subject,
		ContentType: bm.ContentType, Body: body,
	}
	if bm.ScheduledEnqueueTime != nil {
		t, err := time.Parse(time.RFC3339Nano, *bm.ScheduledEnqueueTime)
		if err != nil {
			return bus.Message{}, fmt.Errorf("scheduledEnqueueTime: %w", err)
		}
		t = t.UTC()
		m.ScheduledEnqueueTime = &t
	}
	if len(bm.ApplicationProperties) > 0 {
		m.ApplicationProperties = make(map[string]any, len(bm.ApplicationProperties))
		for k, v := range bm.ApplicationProperties {
			switch v := v.(type) {
			case string, bool:
				m.ApplicationProperties[k] = v
			case json.Number:
				if i, err := v.Int64(); err == nil {
					m.ApplicationProperties[k] = i
				} else if f, err := v.Float64(); err == nil {
					m.ApplicationProperties[k] = f
				} else {
					return bus.Message{}, fmt.Errorf("application property %q: %w", k, err)
				}
			default:
				return bus.Message{}, fmt.Errorf("application property %q must be a string, number or bool", k)
			}
		}
	}
	return m, nil
}
