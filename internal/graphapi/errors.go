package graphapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gdapflow/gdapflow/internal/upstream"
)

// CodeInvalidResponse is the upstream.Error Code used when Graph answered
// with a success status but a body or headers this client cannot use
// (malformed JSON, a 202 without Location).
const CodeInvalidResponse = "invalidResponse"

// CodeTokenUnavailable is the upstream.Error Code used when the credential
// could not produce a token for Graph (Service is upstream.ServiceEntra).
const CodeTokenUnavailable = "tokenUnavailable"

// graphErrorBody is Graph's error envelope.
type graphErrorBody struct {
	Error *struct {
		Code       string          `json:"code"`
		Message    string          `json:"message"`
		InnerError json.RawMessage `json:"innerError"`
	} `json:"error"`
}

// innerError is the part of innerError this client reads; it may nest.
type innerError struct {
	RequestID  string          `json:"request-id"`
	InnerError json.RawMessage `json:"innerError"`
}

// transportError classifies a failure that produced no usable HTTP response.
func (c *Client) transportError(op string, err error) error {
	var te *tokenError
	if errors.As(err, &te) {
		return &upstream.Error{
			Service:   upstream.ServiceEntra,
			Operation: "acquire Graph token for " + op,
			Code:      CodeTokenUnavailable,
			Message:   "the credential could not provide a token",
			Err:       te.err,
		}
	}
	msg := "no response from Graph"
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		msg = fmt.Sprintf("timed out (per-call limit %s or caller deadline)", c.timeout)
	case errors.Is(err, context.Canceled):
		msg = "canceled"
	}
	return &upstream.Error{
		Service:   upstream.ServiceGraph,
		Operation: op,
		Message:   msg,
		Err:       err,
	}
}

// statusError turns a non-success HTTP response into *upstream.Error.
func (c *Client) statusError(op string, r *response) error {
	e := &upstream.Error{
		Service:    upstream.ServiceGraph,
		Operation:  op,
		StatusCode: r.status,
		RequestID:  r.header.Get("request-id"),
		RetryAfter: c.retryAfter(r),
	}
	var body graphErrorBody
	if len(r.body) > 0 && json.Unmarshal(r.body, &body) == nil && body.Error != nil {
		e.Code = body.Error.Code
		e.Message = body.Error.Message
		if e.RequestID == "" {
			e.RequestID = innerRequestID(body.Error.InnerError)
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(r.status)
	}
	return e
}

// retryAfter reads r's Retry-After header (zero when absent or invalid).
func (c *Client) retryAfter(r *response) time.Duration {
	return upstream.ParseRetryAfter(strings.TrimSpace(r.header.Get("Retry-After")), c.clock.Now())
}

// innerRequestID returns the first request-id found in nested innerError objects.
func innerRequestID(raw json.RawMessage) string {
	for depth := 0; len(raw) > 0 && depth < 8; depth++ {
		var ie innerError
		if json.Unmarshal(raw, &ie) != nil {
			return ""
		}
		if ie.RequestID != "" {
			return ie.RequestID
		}
		raw = ie.InnerError
	}
	return ""
}

// invalidResponse reports a success status whose content cannot be used.
func (c *Client) invalidResponse(op string, r *response, err error) error {
	return &upstream.Error{
		Service:    upstream.ServiceGraph,
		Operation:  op,
		StatusCode: r.status,
		Code:       CodeInvalidResponse,
		Message:    err.Error(),
		RequestID:  r.header.Get("request-id"),
		Err:        err,
	}
}

// expect returns nil when r's status is one of ok, else the mapped error:
// an error status becomes statusError, any other success status
// invalidResponse.
func (c *Client) expect(op string, r *response, ok ...int) error {
	for _, s := range ok {
		if r.status == s {
			return nil
		}
	}
	if r.status >= 200 && r.status < 300 {
		return c.invalidResponse(op, r, fmt.Errorf("unexpected status %d", r.status))
	}
	return c.statusError(op, r)
}
