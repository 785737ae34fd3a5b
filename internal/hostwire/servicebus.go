package hostwire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"
)

// Body forms of a Service Bus trigger value (ServiceBusMessage.BodyForm).
const (
	// BodyBase64 is the dataType "binary" form: a JSON string holding base64.
	BodyBase64 = "base64"
	// BodyDoubleEncoded is the default (string) form: a JSON string whose
	// content is itself a JSON string holding the body text.
	BodyDoubleEncoded = "double-encoded"
	// BodyString is a JSON string holding the body text directly (as some
	// emulators send it); used when the text is not valid base64.
	BodyString = "string"
	// BodyJSON is a body sent as a raw JSON object or array.
	BodyJSON = "json"
)

// ServiceBusMessage is a Service Bus trigger message as the handler sees it.
// Optional metadata that the host did not send is left at its zero value.
type ServiceBusMessage struct {
	// Body holds the message body bytes.
	Body []byte
	// BodyForm tells which of the Body* forms the value arrived in.
	BodyForm         string
	MessageID        string
	CorrelationID    string
	ContentType      string
	Subject          string
	SessionID        string
	ReplyTo          string
	To               string
	LockToken        string
	DeadLetterSource string
	DeliveryCount    int
	SequenceNumber   int64
	EnqueuedTime     time.Time
	ExpiresAt        time.Time
	// ApplicationProperties holds the user properties; JSON numbers become
	// int64 when integral and in range, float64 otherwise.
	ApplicationProperties map[string]any
}

// ServiceBusMessage decodes the Service Bus trigger bound as binding (for
// gdapflow, "message") together with the trigger's metadata.
func (inv *Invocation) ServiceBusMessage(binding string) (*ServiceBusMessage, error) {
	raw, ok := inv.Binding(binding)
	if !ok {
		return nil, &Error{Code: CodeMissingBinding, Key: binding, Message: "no such binding in Data"}
	}
	body, form, err := decodeBody(raw)
	if err != nil {
		return nil, &Error{Code: CodeInvalidBinding, Key: binding, Message: "cannot decode message body", Err: err}
	}
	m := &ServiceBusMessage{Body: body, BodyForm: form}
	strs := []struct {
		dst  *string
		keys []string
	}{
		{&m.MessageID, []string{"MessageId"}},
		{&m.CorrelationID, []string{"CorrelationId"}},
		{&m.ContentType, []string{"ContentType"}},
		{&m.Subject, []string{"Subject", "Label"}},
		{&m.SessionID, []string{"SessionId"}},
		{&m.ReplyTo, []string{"ReplyTo"}},
		{&m.To, []string{"To"}},
		{&m.LockToken, []string{"LockToken"}},
		{&m.DeadLetterSource, []string{"DeadLetterSource"}},
	}
	for _, f := range strs {
		for _, k := range f.keys {
			v, ok, err := inv.MetadataString(k)
			if err != nil {
				return nil, err
			}
			if ok {
				*f.dst = v
				break
			}
		}
	}
	if v, ok, err := inv.metadataInt("DeliveryCount", math.MaxInt32); err != nil {
		return nil, err
	} else if ok {
		m.DeliveryCount = int(v)
	}
	if v, ok, err := inv.metadataInt("SequenceNumber", math.MaxInt64); err != nil {
		return nil, err
	} else if ok {
		m.SequenceNumber = v
	}
	if m.EnqueuedTime, err = inv.metadataTime("EnqueuedTimeUtc", "EnqueuedTime"); err != nil {
		return nil, err
	}
	if m.ExpiresAt, err = inv.metadataTime("ExpiresAtUtc", "ExpiresAt"); err != nil {
		return nil, err
	}
	for _, k := range []string{"ApplicationProperties", "UserProperties"} {
		props, ok, err := inv.metadataObject(k)
		if err != nil {
			return nil, err
		}
		if ok {
			m.ApplicationProperties = props
			break
		}
	}
	return m, nil
}

// decodeBody turns the trigger value into body bytes, accepting every form
// the host (or an emulator) produces.
func decodeBody(raw json.RawMessage) ([]byte, string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, "", errors.New("body is missing")
	}
	if isNull(raw) {
		// The host never sends null for a Service Bus body; treat it as the
		// empty body it stands for, so that the command path rejects it.
		return []byte{}, BodyBase64, nil
	}
	switch raw[0] {
	case '{', '[':
		if !json.Valid(raw) {
			return nil, "", errors.New("invalid JSON")
		}
		return append([]byte(nil), raw...), BodyJSON, nil
	case '"':
	default:
		return nil, "", errors.New("body is neither a string nor an object")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, "", err
	}
	// Default string binding: the body text was serialized a second time.
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		var inner string
		if json.Unmarshal([]byte(s), &inner) == nil {
			return []byte(inner), BodyDoubleEncoded, nil
		}
	}
	if b, err := base64.StdEncoding.Strict().DecodeString(s); err == nil {
		return b, BodyBase64, nil
	}
	return []byte(s), BodyString, nil
}

// metadataInt decodes an integer sent as a number or as a string holding one.
func (inv *Invocation) metadataInt(key string, limit int64) (int64, bool, error) {
	s, ok, err := inv.MetadataString(key)
	if err != nil || !ok {
		return 0, false, err
	}
	n, perr := strconv.ParseInt(s, 10, 64)
	if perr != nil || n < 0 || n > limit {
		return 0, false, &Error{Code: CodeInvalidMetadata, Key: key, Message: "not a non-negative integer: " + strconv.Quote(truncate(s, 64))}
	}
	return n, true, nil
}

// metadataTime decodes the first present key as a timestamp (ParseTime).
// Absent keys give the zero time.
func (inv *Invocation) metadataTime(keys ...string) (time.Time, error) {
	for _, k := range keys {
		s, ok, err := inv.MetadataString(k)
		if err != nil {
			return time.Time{}, err
		}
		if !ok || s == "" {
			continue
		}
		t, err := ParseTime(s)
		if err != nil {
			return time.Time{}, &Error{Code: CodeInvalidMetadata, Key: k, Err: err}
		}
		return t, nil
	}
	return time.Time{}, nil
}

// metadataObject decodes an object-valued metadata key, tolerating the
// double-encoded form (a string holding the object).
func (inv *Invocation) metadataObject(key string) (map[string]any, bool, error) {
	raw, ok := lookup(inv.Metadata, key)
	if !ok || isNull(raw) {
		return nil, false, nil
	}
	raw = unwrapJSONString(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false, &Error{Code: CodeInvalidMetadata, Key: key, Message: "not a JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, false, &Error{Code: CodeInvalidMetadata, Key: key, Message: "not a JSON object", Err: err}
	}
	for k, v := range m {
		m[k] = normalizeNumbers(v)
	}
	return m, true, nil
}

// normalizeNumbers converts json.Number values to int64 or float64, recursively.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
		return x
	default:
		return v
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
