package hostemu

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"
)

// Timestamp layouts of the host's wire format.
const (
	// layoutDateTime is a DateTime re-parsed from ToString(): no zone,
	// 1-second precision (EnqueuedTimeUtc, ExpiresAtUtc).
	layoutDateTime = "2006-01-02T15:04:05"
	// layoutDateTimeOffset is a DateTimeOffset re-parsed the same way
	// (EnqueuedTime, ExpiresAt).
	layoutDateTimeOffset = "2006-01-02T15:04:05-07:00"
	// layoutUtcNow is sys.UtcNow: Json.NET's round-trip format of a UTC
	// DateTime, up to 7 fractional digits, trailing zeros trimmed.
	layoutUtcNow = "2006-01-02T15:04:05.9999999Z07:00"
	// layoutTimerInfo is a local-kind DateTime inside TimerInfo.
	layoutTimerInfo = "2006-01-02T15:04:05.9999999-07:00"
	// dateTimeMin is DateTime.MinValue as Json.NET writes it.
	dateTimeMin = "0001-01-01T00:00:00"
)

// neverExpires is the expiry of a message with the default (infinite)
// time to live: DateTime.MaxValue at 1-second precision.
var neverExpires = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC) //nolint:gochecknoglobals // constant value

// invocationRequest is the HttpScriptInvocationContext the host posts.
type invocationRequest struct {
	Data     map[string]any `json:"Data"`
	Metadata map[string]any `json:"Metadata"`
}

// doubleEncoded renders a scalar the way the host does when
// JObject.FromObject throws: JsonConvert.SerializeObject(value), sent as a
// JSON string (so "abc" arrives as "\"abc\"" and 3 as "3").
func doubleEncoded(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// sysMetadata is Metadata.sys.
func sysMetadata(function string, now time.Time) map[string]any {
	return map[string]any{
		"MethodName": function,
		"UtcNow":     now.UTC().Format(layoutUtcNow),
		"RandGuid":   newGUID(),
	}
}

// serviceBusRequest builds the invocation of a Service Bus trigger for m,
// per docs/platform/functions-host-facts.md §3.2 (extension 5.x binding data, nulls omitted).
func (e *Emulator) serviceBusRequest(fn *function, m *message, now time.Time) ([]byte, error) {
	body := m.Body
	if body == nil {
		body = []byte{} // an empty Service Bus body is a zero-length byte[]: base64 ""
	}
	var data any = body // []byte marshals to base64: dataType binary
	if !fn.binary {
		data = doubleEncoded(string(m.Body)) // string binding, serialized again
	}
	props := map[string]any{}
	for k, v := range m.ApplicationProperties {
		props[k] = v
	}
	enq := m.EnqueuedTime.UTC().Truncate(time.Second)
	md := map[string]any{
		"DeliveryCount":         doubleEncoded(m.deliveryCount),
		"SequenceNumber":        doubleEncoded(m.SequenceNumber),
		"MessageId":             doubleEncoded(m.MessageID),
		"LockToken":             doubleEncoded(m.lockToken),
		"EnqueuedTimeUtc":       enq.Format(layoutDateTime),
		"EnqueuedTime":          enq.Format(layoutDateTimeOffset),
		"ExpiresAtUtc":          neverExpires.Format(layoutDateTime),
		"ExpiresAt":             neverExpires.Format(layoutDateTimeOffset),
		"ApplicationProperties": props,
		"UserProperties":        props,
		"Client": map[string]any{
			"FullyQualifiedNamespace": "127.0.0.1",
			"Identifier":              "hostemu-" + fn.name,
			"TransportType":           0,
			"IsClosed":                false,
		},
		"sys": sysMetadata(fn.name, now),
	}
	for key, v := range map[string]string{
		"ContentType":   m.ContentType,
		"CorrelationId": m.CorrelationID,
		"Subject":       m.Subject,
		"Label":         m.Subject,
	} {
		if v != "" {
			md[key] = doubleEncoded(v)
		}
	}
	return json.Marshal(invocationRequest{Data: map[string]any{fn.binding: data}, Metadata: md})
}

// timerInfo is the TimerInfo object of a timer trigger.
type timerInfo struct {
	Schedule       timerSchedule        `json:"Schedule"`
	ScheduleStatus *timerScheduleStatus `json:"ScheduleStatus"`
	IsPastDue      bool                 `json:"IsPastDue"`
}

type timerSchedule struct {
	AdjustForDST bool `json:"AdjustForDST"`
}

type timerScheduleStatus struct {
	Last        string `json:"Last"`
	Next        string `json:"Next"`
	LastUpdated string `json:"LastUpdated"`
}

// timerRequest builds the invocation of a timer trigger (§3.3): Data.<name>
// is a real TimerInfo object, Metadata only sys.
func timerRequest(fn *function, info timerInfo, now time.Time) ([]byte, error) {
	return json.Marshal(invocationRequest{
		Data:     map[string]any{fn.binding: info},
		Metadata: map[string]any{"sys": sysMetadata(fn.name, now)},
	})
}

func formatTimerTime(t time.Time) string {
	if t.IsZero() {
		return dateTimeMin
	}
	return t.UTC().Format(layoutTimerInfo)
}

// invocationResponse is the HttpScriptInvocationResult the handler returns.
type invocationResponse struct {
	Outputs     map[string]json.RawMessage `json:"Outputs"`
	Logs        []string                   `json:"Logs"`
	ReturnValue json.RawMessage            `json:"ReturnValue"`
}

// parseResponse accepts what the host's JSON formatter accepts: a JSON
// media type and a JSON object of the result shape.
func parseResponse(contentType string, body []byte) (invocationResponse, error) {
	var r invocationResponse
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || !(mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")) {
		return r, fmt.Errorf("response Content-Type %q is not JSON", contentType)
	}
	if trimmed := bytes.TrimSpace(body); len(trimmed) == 0 || trimmed[0] != '{' {
		return r, errors.New("response body is not a JSON object")
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return r, fmt.Errorf("response body: %w", err)
	}
	return r, nil
}

// newGUID returns a random (version 4) GUID in .NET's "D" format.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
