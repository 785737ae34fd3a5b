package hostwire

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const fixtureDir = "../../tests/testdata/invocations"

const fixtureBody = `{"specversion":"1.0","id":"7f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f","source":"/partner-portal","type":"gdap.relationship.request","datacontenttype":"application/json","data":{"relationshipId":"5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836","action":"lockForApproval"}}`

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestGoldenInvocations(t *testing.T) {
	t.Parallel()
	type want struct {
		sb     *ServiceBusMessage
		timer  *TimerInfo
		utcNow time.Time
	}
	tests := map[string]want{
		"servicebus-binary.json": {
			sb: &ServiceBusMessage{
				Body: []byte(fixtureBody), BodyForm: BodyBase64,
				MessageID:     "7f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f",
				CorrelationID: "7f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f",
				ContentType:   "application/cloudevents+json; charset=utf-8",
				Subject:       "gdap.relationship.request",
				LockToken:     "b2d9a7e4-1c0f-4a8e-9d61-5f4e3c2b1a09",
				DeliveryCount: 1, SequenceNumber: 42,
				EnqueuedTime:          ts("2026-03-01T10:15:30Z"),
				ExpiresAt:             ts("2026-03-15T10:15:30Z"),
				ApplicationProperties: map[string]any{"origin": "partner-portal", "priority": int64(2)},
			},
			utcNow: ts("2026-03-01T10:15:31.1234567Z"),
		},
		"servicebus-string-double-encoded.json": {
			sb: &ServiceBusMessage{
				Body: []byte(fixtureBody), BodyForm: BodyDoubleEncoded,
				MessageID:     "123",
				ContentType:   "application/cloudevents+json",
				Subject:       "legacy-label",
				DeliveryCount: 2, SequenceNumber: 9007199254740993,
				EnqueuedTime:          ts("2026-03-01T10:15:30Z"),
				ApplicationProperties: map[string]any{"attempt": int64(3), "ratio": 0.5, "flag": true, "name": "x"},
			},
			utcNow: ts("2026-03-01T10:15:31Z"),
		},
		"servicebus-redelivered.json": {
			sb: &ServiceBusMessage{
				Body: []byte(fixtureBody), BodyForm: BodyBase64,
				MessageID: "msg-3", CorrelationID: "op-3",
				ContentType:   "application/cloudevents+json; charset=utf-8",
				Subject:       "gdap.continuation",
				DeliveryCount: 3, SequenceNumber: 17,
				EnqueuedTime:          ts("2026-03-01T10:15:30.1234567Z"),
				ApplicationProperties: map[string]any{"attempt": int64(4), "kind": "poll", "big": int64(12345678901234), "f": 1.25},
			},
			utcNow: ts("2026-03-01T10:25:30.5Z"),
		},
		"servicebus-minimal.json": {
			sb: &ServiceBusMessage{
				Body: []byte(`{"specversion":"1.0"}`), BodyForm: BodyBase64,
				MessageID: "only-id", DeliveryCount: 1,
			},
			utcNow: ts("2026-03-01T10:15:31.1234567Z"),
		},
		"servicebus-empty-body.json": {
			sb: &ServiceBusMessage{
				Body: []byte{}, BodyForm: BodyBase64, MessageID: "empty", DeliveryCount: 1,
				EnqueuedTime: ts("2026-03-01T10:15:30Z"),
			},
			utcNow: ts("2026-03-01T10:15:31Z"),
		},
		"timer-null-status.json": {
			timer:  &TimerInfo{AdjustForDST: true},
			utcNow: ts("2026-03-01T12:00:00.0019348Z"),
		},
		"timer-first-run.json": {
			timer: &TimerInfo{AdjustForDST: true, ScheduleStatus: &ScheduleStatus{
				Next: ts("2026-03-01T18:00:00Z"),
			}},
			utcNow: ts("2026-03-01T12:00:00Z"),
		},
		"timer-past-due.json": {
			timer: &TimerInfo{IsPastDue: true, ScheduleStatus: &ScheduleStatus{
				Last:        ts("2026-03-01T06:00:00.0045678Z"),
				Next:        ts("2026-03-01T18:00:00Z"),
				LastUpdated: ts("2026-03-01T06:00:00.0061234Z"),
			}},
			utcNow: ts("2026-03-01T12:03:10.25Z"),
		},
	}

	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	require.NoError(t, err)
	require.Len(t, files, len(tests), "every fixture needs an expectation and vice versa")

	for name, w := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(filepath.Join(fixtureDir, name))
			require.NoError(t, err)
			inv, err := Decode(raw)
			require.NoError(t, err)
			now, ok := inv.UtcNow()
			require.True(t, ok)
			require.True(t, w.utcNow.Equal(now), "UtcNow %v", now)
			if w.sb != nil {
				m, err := inv.ServiceBusMessage("message")
				require.NoError(t, err)
				require.Equal(t, w.sb, m)
				_, err = inv.Timer("timer")
				require.True(t, HasCode(err, CodeMissingBinding))
			}
			if w.timer != nil {
				ti, err := inv.Timer("timer")
				require.NoError(t, err)
				require.Equal(t, w.timer, ti)
				_, err = inv.ServiceBusMessage("message")
				require.True(t, HasCode(err, CodeMissingBinding))
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		code string
	}{
		{"empty", "", CodeMalformedInvocation},
		{"whitespace", "  \n", CodeMalformedInvocation},
		{"array", `[]`, CodeMalformedInvocation},
		{"null", `null`, CodeMalformedInvocation},
		{"string", `"x"`, CodeMalformedInvocation},
		{"truncated", `{"Data":{`, CodeMalformedInvocation},
		{"data array", `{"Data":[1],"Metadata":{}}`, CodeMalformedInvocation},
		{"metadata string", `{"Data":{},"Metadata":"x"}`, CodeMalformedInvocation},
		{"invalid utf8", "{\"Data\":{\"m\":\"\xff\"}}", CodeMalformedInvocation},
		{"trailing garbage", `{"Data":{}} x`, CodeMalformedInvocation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tt.body))
			require.Error(t, err)
			require.True(t, HasCode(err, tt.code), "got %v", err)
		})
	}
}

func TestDecodeTolerant(t *testing.T) {
	t.Parallel()
	inv, err := Decode([]byte(`{"data":{"message":"aGk="},"metadata":{"messageid":"\"x\""}}`))
	require.NoError(t, err)
	m, err := inv.ServiceBusMessage("message")
	require.NoError(t, err)
	require.Equal(t, "hi", string(m.Body))
	require.Equal(t, "x", m.MessageID)

	inv, err = Decode([]byte(`{"Data":null}`))
	require.NoError(t, err)
	require.Empty(t, inv.Data)
	require.Empty(t, inv.Metadata)
	_, ok := inv.UtcNow()
	require.False(t, ok)
}

func TestServiceBusMessageForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		data     string
		meta     string
		wantBody string
		wantForm string
		code     string
		check    func(t *testing.T, m *ServiceBusMessage)
	}{
		{name: "base64", data: `"eyJhIjoxfQ=="`, wantBody: `{"a":1}`, wantForm: BodyBase64},
		{name: "double encoded", data: `"\"{\\\"a\\\":1}\""`, wantBody: `{"a":1}`, wantForm: BodyDoubleEncoded},
		{name: "plain string", data: `"{\"a\":1}"`, wantBody: `{"a":1}`, wantForm: BodyString},
		{name: "raw object", data: `{"a":1}`, wantBody: `{"a":1}`, wantForm: BodyJSON},
		{name: "null body is empty", data: `null`, wantBody: ``, wantForm: BodyBase64},
		{name: "number body", data: `12`, code: CodeInvalidBinding},
		{name: "bool body", data: `true`, code: CodeInvalidBinding},
		{name: "bad delivery count", data: `""`, meta: `"DeliveryCount":"abc"`, code: CodeInvalidMetadata},
		{name: "negative delivery count", data: `""`, meta: `"DeliveryCount":"-1"`, code: CodeInvalidMetadata},
		{name: "huge delivery count", data: `""`, meta: `"DeliveryCount":"99999999999"`, code: CodeInvalidMetadata},
		{name: "delivery count object", data: `""`, meta: `"DeliveryCount":{"x":1}`, code: CodeInvalidMetadata},
		{name: "bad enqueued time", data: `""`, meta: `"EnqueuedTimeUtc":"yesterday"`, code: CodeInvalidMetadata},
		{name: "app props array", data: `""`, meta: `"ApplicationProperties":[1]`, code: CodeInvalidMetadata},
		{name: "numbers as numbers", data: `""`, meta: `"DeliveryCount":4,"SequenceNumber":7,"MessageId":12`, wantForm: BodyBase64,
			check: func(t *testing.T, m *ServiceBusMessage) {
				require.Equal(t, 4, m.DeliveryCount)
				require.Equal(t, int64(7), m.SequenceNumber)
				require.Equal(t, "12", m.MessageID)
			}},
		{name: "double-encoded count", data: `""`, meta: `"DeliveryCount":"\"5\""`, wantForm: BodyBase64,
			check: func(t *testing.T, m *ServiceBusMessage) { require.Equal(t, 5, m.DeliveryCount) }},
		{name: "single-encoded strings", data: `""`, meta: `"MessageId":"abc","CorrelationId":"\"op\"","Label":"\"lbl\""`, wantForm: BodyBase64,
			check: func(t *testing.T, m *ServiceBusMessage) {
				require.Equal(t, "abc", m.MessageID)
				require.Equal(t, "op", m.CorrelationID)
				require.Equal(t, "lbl", m.Subject)
			}},
		{name: "message id that looks like json", data: `""`, meta: `"MessageId":"\"{\\\"a\\\":1}\""`, wantForm: BodyBase64,
			check: func(t *testing.T, m *ServiceBusMessage) { require.Equal(t, `{"a":1}`, m.MessageID) }},
		{name: "subject wins over label", data: `""`, meta: `"Label":"\"l\"","Subject":"\"s\""`, wantForm: BodyBase64,
			check: func(t *testing.T, m *ServiceBusMessage) { require.Equal(t, "s", m.Subject) }},
		{name: "user properties fallback", data: `""`, meta: `"UserProperties":{"k":"v"}`, wantForm: BodyBase64,
			check: func(t *testing.T, m *ServiceBusMessage) {
				require.Equal(t, map[string]any{"k": "v"}, m.ApplicationProperties)
			}},
		{name: "enqueued time fallback", data: `""`, meta: `"EnqueuedTime":"2026-01-02T03:04:05+02:00"`, wantForm: BodyBase64,
			check: func(t *testing.T, m *ServiceBusMessage) {
				require.Equal(t, ts("2026-01-02T01:04:05Z"), m.EnqueuedTime)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inv, err := Decode([]byte(`{"Data":{"message":` + tt.data + `},"Metadata":{` + tt.meta + `}}`))
			require.NoError(t, err)
			m, err := inv.ServiceBusMessage("message")
			if tt.code != "" {
				require.Error(t, err)
				require.True(t, HasCode(err, tt.code), "got %v", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantForm, m.BodyForm)
			if tt.wantBody != "" {
				require.Equal(t, tt.wantBody, string(m.Body))
			}
			if tt.check != nil {
				tt.check(t, m)
			}
		})
	}
}

func TestTimerForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		code string
		want *TimerInfo
	}{
		{name: "minimal", data: `{}`, want: &TimerInfo{}},
		{name: "string bool", data: `{"IsPastDue":"true"}`, want: &TimerInfo{IsPastDue: true}},
		{name: "double encoded object", data: `"{\"IsPastDue\":true,\"ScheduleStatus\":null}"`, want: &TimerInfo{IsPastDue: true}},
		{name: "empty status", data: `{"ScheduleStatus":{}}`, want: &TimerInfo{ScheduleStatus: &ScheduleStatus{}}},
		{name: "last is min value with zone", data: `{"ScheduleStatus":{"Last":"0001-01-01T00:00:00+00:00","Next":"2026-01-01T00:00:00"}}`,
			want: &TimerInfo{ScheduleStatus: &ScheduleStatus{Next: ts("2026-01-01T00:00:00Z")}}},
		{name: "not object", data: `5`, code: CodeInvalidBinding},
		{name: "null", data: `null`, code: CodeInvalidBinding},
		{name: "bad bool", data: `{"IsPastDue":"maybe"}`, code: CodeInvalidBinding},
		{name: "bad status", data: `{"ScheduleStatus":[1]}`, code: CodeInvalidBinding},
		{name: "bad time", data: `{"ScheduleStatus":{"Next":"soon"}}`, code: CodeInvalidBinding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inv, err := Decode([]byte(`{"Data":{"timer":` + tt.data + `}}`))
			require.NoError(t, err)
			ti, err := inv.Timer("timer")
			if tt.code != "" {
				require.True(t, HasCode(err, tt.code), "got %v", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, ti)
		})
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // RFC 3339; "" means zero time
	}{
		{"2026-03-01T10:15:30Z", "2026-03-01T10:15:30Z"},
		{"2026-03-01T10:15:30", "2026-03-01T10:15:30Z"},
		{"2026-03-01T10:15:30.1234567", "2026-03-01T10:15:30.1234567Z"},
		{"2026-03-01T10:15:30.1234567Z", "2026-03-01T10:15:30.1234567Z"},
		{"2026-03-01T10:15:30+00:00", "2026-03-01T10:15:30Z"},
		{"2026-03-01T12:15:30+02:00", "2026-03-01T10:15:30Z"},
		{"2026-03-01T12:15:30+0200", "2026-03-01T10:15:30Z"},
		{"2026-03-01 10:15:30Z", "2026-03-01T10:15:30Z"},
		{"2026-03-01 10:15:30", "2026-03-01T10:15:30Z"},
		{"3/1/2026 10:15:30 AM", "2026-03-01T10:15:30Z"},
		{"3/1/2026 10:15:30 PM", "2026-03-01T22:15:30Z"},
		{"3/1/2026 10:15:30 PM +00:00", "2026-03-01T22:15:30Z"},
		{"03/01/2026 22:15:30", "2026-03-01T22:15:30Z"},
		{" 2026-03-01T10:15:30Z ", "2026-03-01T10:15:30Z"},
		{"0001-01-01T00:00:00", ""},
		{"0001-01-01T00:00:00Z", ""},
		{"1/1/0001 12:00:00 AM", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTime(tt.in)
			require.NoError(t, err)
			if tt.want == "" {
				require.True(t, got.IsZero())
				return
			}
			require.Equal(t, ts(tt.want), got)
			require.Equal(t, time.UTC, got.Location())
		})
	}
	for _, bad := range []string{"", "yesterday", "2026-13-01T00:00:00Z", "2026-03-01T25:00:00", strings.Repeat("9", 100), "1700000000"} {
		_, err := ParseTime(bad)
		require.ErrorIs(t, err, ErrTimestamp, bad)
	}
}

func TestWriteResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		logs   []string
		want   string
	}{
		{"nil logs", http.StatusOK, nil, `{"Outputs":{},"Logs":[],"ReturnValue":null}`},
		{"logs", http.StatusOK, []string{"a", `q"uote`}, `{"Outputs":{},"Logs":["a","q\"uote"],"ReturnValue":null}`},
		{"failure", http.StatusInternalServerError, []string{"x"}, `{"Outputs":{},"Logs":["x"],"ReturnValue":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			WriteResponse(rec, tt.status, tt.logs)
			require.Equal(t, tt.status, rec.Code)
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			require.JSONEq(t, tt.want, rec.Body.String())
			require.Equal(t, tt.want, rec.Body.String())
		})
	}
	b, err := json.Marshal(Response{})
	require.NoError(t, err)
	require.Equal(t, `{"Outputs":{},"Logs":[],"ReturnValue":null}`, string(b))
	b, err = json.Marshal(Response{Outputs: map[string]any{"out": 1}, ReturnValue: "r"})
	require.NoError(t, err)
	require.Equal(t, `{"Outputs":{"out":1},"Logs":[],"ReturnValue":"r"}`, string(b))
}

func TestDecodeRequest(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest(http.MethodPost, "/commands", strings.NewReader(`{"Data":{"message":"aGk="}}`))
	inv, err := DecodeRequest(req)
	require.NoError(t, err)
	require.Contains(t, inv.Data, "message")

	big := `{"Data":{"message":"` + strings.Repeat("A", MaxInvocationBytes) + `"}}`
	req = httptest.NewRequest(http.MethodPost, "/commands", strings.NewReader(big))
	_, err = DecodeRequest(req)
	require.True(t, HasCode(err, CodeInvocationTooLarge))
}

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"Data":{"message":"\"\\\"x\\\"\""},"Metadata":{"DeliveryCount":"\"3\"","ApplicationProperties":"{\"a\":[1,2.5e400]}"}}`))
	f.Add([]byte(`{"Data":{"timer":"{\"ScheduleStatus\":{\"Last\":\"1/1/0001 12:00:00 AM\"}}"}}`))
	if b, err := os.ReadFile(filepath.Join("testdata", "http", "invocation-webhook.json")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"Data":{"req":{"Headers":{"Content-Type":["multipart/x"]},"Body":"%%"}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		inv, err := Decode(body)
		if err != nil {
			var e *Error
			require.ErrorAs(t, err, &e)
			require.NotEmpty(t, e.Code)
			return
		}
		// None of the accessors may panic; errors must be typed.
		for _, call := range []func() error{
			func() error { _, err := inv.ServiceBusMessage("message"); return err },
			func() error { _, err := inv.Timer("timer"); return err },
			func() error { _, _ = inv.UtcNow(); return nil },
			func() error { _, err := inv.HTTPRequest("req"); return err },
		} {
			if err := call(); err != nil {
				var e *Error
				require.ErrorAs(t, err, &e)
			}
		}
	})
}
