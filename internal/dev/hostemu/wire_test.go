package hostemu

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/bus"
)

var guidExpr = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`) //nolint:gochecknoglobals // test constant

// decodeEnvelope splits a recorded body into raw Data and Metadata values.
func decodeEnvelope(t *testing.T, body json.RawMessage) (data, meta map[string]json.RawMessage) {
	t.Helper()
	var top map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &top))
	require.Len(t, top, 2, "only Data and Metadata at the top level")
	require.NoError(t, json.Unmarshal(top["Data"], &data))
	require.NoError(t, json.Unmarshal(top["Metadata"], &meta))
	return data, meta
}

func TestServiceBusInvocationWireFormat(t *testing.T) {
	t.Parallel()
	b := setup(t, setupConfig{})
	body := `{"action":"ok","note":"ünïcode"}`
	ok, err := b.emu.Send(t.Context(), "gdap-commands", bus.Message{
		MessageID: "m-1", CorrelationID: "op-1", Subject: "gdap.relationship.update",
		ContentType: "application/cloudevents+json; charset=utf-8", Body: []byte(body),
		ApplicationProperties: map[string]any{"attempt": int64(1), "kind": "x", "flag": true},
	})
	require.NoError(t, err)
	require.True(t, ok)
	b.drain(t)

	recs := b.recordedInvocations(t, 1)
	rec := recs[0]
	invs := b.emu.Invocations()
	require.Len(t, invs, 1)

	require.Equal(t, "/commands", rec.Path)
	require.Equal(t, invs[0].ID, rec.Headers["X-Azure-Functions-Invocationid"])
	require.Regexp(t, guidExpr, rec.Headers["X-Azure-Functions-Invocationid"])
	require.Equal(t, HostVersion, rec.Headers["X-Azure-Functions-Hostversion"])
	require.Equal(t, "Azure-Functions-Host/"+HostVersion, rec.Headers["User-Agent"])
	require.Regexp(t, `^Azure-Functions-Host/4\.`, rec.Headers["User-Agent"])
	require.Equal(t, "application/json; charset=utf-8", rec.Headers["Content-Type"])
	require.NotContains(t, rec.Headers, "Traceparent")

	data, meta := decodeEnvelope(t, rec.Body)
	require.Len(t, data, 1)
	require.JSONEq(t, `"`+base64.StdEncoding.EncodeToString([]byte(body))+`"`, string(data["message"]))
	var decoded []byte
	require.NoError(t, json.Unmarshal(data["message"], &decoded), "Go decodes the binary body straight into []byte")
	require.Equal(t, body, string(decoded))

	// Scalars are double-encoded, numbers are strings, timestamps have no
	// zone and 1-second precision, objects are real JSON.
	want := map[string]string{
		"MessageId":             `"\"m-1\""`,
		"CorrelationId":         `"\"op-1\""`,
		"ContentType":           `"\"application/cloudevents+json; charset=utf-8\""`,
		"Subject":               `"\"gdap.relationship.update\""`,
		"Label":                 `"\"gdap.relationship.update\""`,
		"DeliveryCount":         `"1"`,
		"SequenceNumber":        `"1"`,
		"EnqueuedTimeUtc":       `"2026-11-22T17:00:00"`,
		"EnqueuedTime":          `"2026-11-22T17:00:00+00:00"`,
		"ExpiresAtUtc":          `"9999-12-31T23:59:59"`,
		"ExpiresAt":             `"9999-12-31T23:59:59+00:00"`,
		"ApplicationProperties": `{"attempt":1,"kind":"x","flag":true}`,
		"UserProperties":        `{"attempt":1,"kind":"x","flag":true}`,
		"Client":                `{"FullyQualifiedNamespace":"127.0.0.1","Identifier":"hostemu-commands","TransportType":0,"IsClosed":false}`,
	}
	for key, v := range want {
		require.Contains(t, meta, key)
		require.JSONEq(t, v, string(meta[key]), key)
	}
	var lockToken string
	require.NoError(t, json.Unmarshal(meta["LockToken"], &lockToken))
	require.Regexp(t, `^"[0-9a-f-]{36}"$`, lockToken)
	for _, absent := range []string{"ReplyTo", "To", "SessionId", "ReplyToSessionId", "PartitionKey", "DeadLetterSource"} {
		require.NotContains(t, meta, absent, "null values are omitted")
	}
	require.Len(t, meta, len(want)+2, "want keys + LockToken + sys")

	var sys map[string]string
	require.NoError(t, json.Unmarshal(meta["sys"], &sys))
	require.Equal(t, "commands", sys["MethodName"])
	require.Equal(t, "2026-11-22T17:00:00.1234567Z", sys["UtcNow"])
	require.Regexp(t, guidExpr, sys["RandGuid"])
	utcNow, err := time.Parse(time.RFC3339Nano, sys["UtcNow"])
	require.NoError(t, err)
	require.Equal(t, t0.Truncate(100*time.Nanosecond), utcNow)
}

func TestServiceBusInvocationOmitsUnsetProperties(t *testing.T) {
	t.Parallel()
	b := setup(t, setupConfig{})
	ok, err := b.emu.Send(t.Context(), "gdap-commands", bus.Message{MessageID: "bare", Body: []byte(`{}`)})
	require.NoError(t, err)
	require.True(t, ok)
	b.drain(t)
	recs := b.recordedInvocations(t, 1)
	_, meta := decodeEnvelope(t, recs[0].Body)
	for _, absent := range []string{"ContentType", "CorrelationId", "Subject", "Label"} {
		require.NotContains(t, meta, absent)
	}
	require.JSONEq(t, `{}`, string(meta["ApplicationProperties"]))
}

func TestStringDataTypeIsDoubleEncoded(t *testing.T) {
	t.Parallel()
	b := setup(t, setupConfig{
		noRepoFns: true,
		functions: map[string]string{"legacy": `{"bindings":[{"name":"message","type":"serviceBusTrigger",
			"direction":"in","queueName":"legacy","connection":"ServiceBusConnection"}]}`},
	})
	ok, err := b.emu.Send(t.Context(), "legacy", busMessage("s-1", `{"a":"b"}`))
	require.NoError(t, err)
	require.True(t, ok)
	b.drain(t)
	recs := b.recordedInvocations(t, 1)
	data, _ := decodeEnvelope(t, recs[0].Body)
	require.Equal(t, `"\"{\\\"a\\\":\\\"b\\\"}\""`, string(data["message"]))
}
