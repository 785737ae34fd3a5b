package partnercenter

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/gdapflow/gdapflow/internal/upstream"
)

// WebhookRegistration is a partner's Partner Center webhook registration
// (docs/platform/partner-center-webhooks.md).
type WebhookRegistration struct {
	SubscriberID  string   `json:"SubscriberId,omitempty"`
	WebhookURL    string   `json:"WebhookUrl"`
	WebhookEvents []string `json:"WebhookEvents"`
}

// registrationPath and validationPath are the webhook registration API.
const (
	registrationPath = "/webhooks/v1/registration"
	validationPath   = "/webhooks/v1/registration/validationEvents"
)

// GetWebhookRegistration reads the registration; found is false when
// Partner Center has none (404).
func (c *Client) GetWebhookRegistration(ctx context.Context) (reg WebhookRegistration, found bool, err error) {
	err = c.call(ctx, "get webhook registration", http.MethodGet, c.baseURL+registrationPath, nil, "", &reg)
	if ue, ok := upstream.As(err); ok && ue.StatusCode == http.StatusNotFound {
		return WebhookRegistration{}, false, nil
	}
	return reg, err == nil, err
}

// PutWebhookRegistration creates the registration (POST) or, when exists,
// replaces it (PUT), and returns what Partner Center stored.
func (c *Client) PutWebhookRegistration(ctx context.Context, reg WebhookRegistration, exists bool) (WebhookRegistration, error) {
	body, err := json.Marshal(WebhookRegistration{WebhookURL: reg.WebhookURL, WebhookEvents: reg.WebhookEvents})
	if err != nil {
		return WebhookRegistration{}, err
	}
	method := http.MethodPost
	if exists {
		method = http.MethodPut
	}
	var out WebhookRegistration
	err = c.call(ctx, "register webhook", method, c.baseURL+registrationPath, body, "", &out)
	return out, err
}

// SendTestEvent asks Partner Center to deliver a test-created event to the
// registered URL and returns its correlation id.
func (c *Client) SendTestEvent(ctx context.Context) (string, error) {
	var out struct {
		CorrelationID string `json:"correlationId"`
	}
	if err := c.call(ctx, "send webhook test event", http.MethodPost, c.baseURL+validationPath, []byte{}, "", &out); err != nil {
		return "", err
	}
	if out.CorrelationID == "" {
		return "", errors.New("partner center: the test event answer has no correlationId")
	}
	return out.CorrelationID, nil
}

// TestEventStatus reads the delivery attempts of a test event (raw JSON).
func (c *Client) TestEventStatus(ctx context.Context, correlationID string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.call(ctx, "get webhook test event", http.MethodGet, c.baseURL+validationPath+"/"+url.PathEscape(correlationID), nil, "", &out)
	return out, err
}
