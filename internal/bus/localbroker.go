package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// LocalBroker sends messages to the local broker of docs/contract.md §5
// (GDAP_BROKER_URL), used for development and tests instead of Service Bus.
// It is safe for concurrent use.
type LocalBroker struct {
	baseURL string
	hc      *http.Client
}

// NewLocalBroker returns a sender posting to baseURL (trailing slashes are
// ignored). A nil hc means http.DefaultClient; the context of each Send
// bounds the request.
func NewLocalBroker(baseURL string, hc *http.Client) *LocalBroker {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &LocalBroker{baseURL: strings.TrimRight(baseURL, "/"), hc: hc}
}

// brokerMessage is the JSON of docs/contract.md §5.
type brokerMessage struct {
	MessageID             string         `json:"messageId"`
	Body                  []byte         `json:"body"` // encoding/json: standard base64
	ContentType           string         `json:"contentType"`
	CorrelationID         string         `json:"correlationId"`
	Subject               string         `json:"subject"`
	ApplicationProperties map[string]any `json:"applicationProperties"`
	ScheduledEnqueueTime  string         `json:"scheduledEnqueueTime,omitempty"`
}

// maxErrorBody bounds how much of a refusal's body goes into BrokerError.
const maxErrorBody = 512

// Send posts m to {baseURL}/{entity}/messages. 201 (accepted) and 200
// (duplicate messageId, dropped) are success; any other status is a
// *BrokerError, and transport failures are returned wrapped.
func (b *LocalBroker) Send(ctx context.Context, entity string, m Message) error {
	if entity == "" {
		return fmt.Errorf("%w: empty entity name", ErrUnknownEntity)
	}
	props, err := normalizeProperties(m.ApplicationProperties)
	if err != nil {
		return err
	}
	bm := brokerMessage{
		MessageID:             m.MessageID,
		Body:                  m.Body,
		ContentType:           m.ContentType,
		CorrelationID:         m.CorrelationID,
		Subject:               m.Subject,
		ApplicationProperties: props,
	}
	if bm.Body == nil {
		bm.Body = []byte{} // "" rather than null
	}
	if m.ScheduledEnqueueTime != nil {
		bm.ScheduledEnqueueTime = m.ScheduledEnqueueTime.UTC().Format(time.RFC3339Nano)
	}
	payload, err := json.Marshal(bm)
	if err != nil {
		return fmt.Errorf("bus: encode message %q: %w", m.MessageID, err)
	}
	u := b.baseURL + "/" + url.PathEscape(entity) + "/messages"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("bus: send to %q: %w", entity, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.hc.Do(req)
	if err != nil {
		return fmt.Errorf("bus: send to %q: %w", entity, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated, http.StatusOK:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // allow connection reuse
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &BrokerError{
		Entity:     entity,
		MessageID:  m.MessageID,
		StatusCode: resp.StatusCode,
		Body:       strings.TrimSpace(string(body)),
	}
}
