package event

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/schemas"
)

const (
	relID    = "5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836"
	tenantID = "5d027261-d21f-4aa9-b7db-7fa1f56fb163"
)

var (
	now      = time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.FixedZone("X", 3600))
	accepted = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	endDate  = time.Date(2026, 3, 20, 17, 30, 0, 0, time.UTC)
)

func compileEventSchema(t *testing.T, typ string) *jsonschema.Schema {
	t.Helper()
	c, err := schemas.NewCompiler()
	require.NoError(t, err)
	s, err := c.Compile(schemas.BaseURI + schemas.EventPath(typ))
	require.NoError(t, err)
	return s
}

type built struct {
	name     string
	typ      string
	msg      bus.Message
	err      error
	wantID   string
	wantCorr string
	wantSubj string
	wantData string
}

func buildAll(b *Builder) []built {
	var out []built
	add := func(name, typ, id, corr, subj, data string, m bus.Message, err error) {
		out = append(out, built{name: name, typ: typ, msg: m, err: err, wantID: id, wantCorr: corr, wantSubj: subj, wantData: data})
	}
	m, err := b.OperationSucceeded(now, OperationSucceeded{
		Operation: Operation{OperationID: "op-1", CommandType: "gdap.relationship.update", RelationshipID: relID, Attempts: 2,
			AcceptedAt: accepted, FinishedAt: now},
		Result: op.Result{Relationship: &op.Relationship{ID: relID, DisplayName: "Contoso", Status: "active", EndDateTime: &endDate,
			AutoExtendDuration: "P180D", UnifiedRoles: []string{"f2ef992c-3afb-46b9-b7cf-a126ee74c451"}, ETag: `W/"abc"`}},
	})
	add("succeeded update", TypeOperationSucceeded, "op-1.succeeded", "op-1", relID, `{"operationId":"op-1","commandType":"gdap.relationship.update",
		"relationshipId":"`+relID+`","attempts":2,"acceptedAt":"2026-03-01T08:00:00Z","finishedAt":"2026-03-01T09:00:00.123456789Z",
		"result":{"relationship":{"id":"`+relID+`","displayName":"Contoso","status":"active","endDateTime":"2026-03-20T17:30:00Z",
		"autoExtendDuration":"P180D","unifiedRoles":["f2ef992c-3afb-46b9-b7cf-a126ee74c451"],"etag":"W/\"abc\""},"alreadyDone":false}}`, m, err)

	m, err = b.OperationSucceeded(now, OperationSucceeded{
		Operation: Operation{OperationID: "op-2", CommandType: "gdap.relationship.request", RelationshipID: relID, Attempts: 1,
			AcceptedAt: accepted, FinishedAt: now},
		Result: op.Result{Relationship: &op.Relationship{ID: relID, Status: "approvalPending"}, RequestID: "req-1", RequestStatus: "succeeded", AlreadyDone: true},
	})
	add("succeeded request, nil roles and end date", TypeOperationSucceeded, "op-2.succeeded", "op-2", relID, `{"operationId":"op-2","commandType":"gdap.relationship.request",
		"relationshipId":"`+relID+`","attempts":1,"acceptedAt":"2026-03-01T08:00:00Z","finishedAt":"2026-03-01T09:00:00.123456789Z",
		"result":{"relationship":{"id":"`+relID+`","displayName":"","status":"approvalPending","endDateTime":null,
		"autoExtendDuration":"","unifiedRoles":[],"etag":""},"requestId":"req-1","requestStatus":"succeeded","alreadyDone":true}}`, m, err)

	m, err = b.OperationSucceeded(now, OperationSucceeded{
		Operation: Operation{OperationID: "op-3", CommandType: "gdap.customer.removeDap", CustomerTenantID: tenantID, Attempts: 1,
			AcceptedAt: accepted, FinishedAt: now}, Result: op.Result{AlreadyDone: true},
	})
	add("succeeded removeDap", TypeOperationSucceeded, "op-3.succeeded", "op-3", tenantID, `{"operationId":"op-3","commandType":"gdap.customer.removeDap",
		"customerTenantId":"`+tenantID+`","attempts":1,"acceptedAt":"2026-03-01T08:00:00Z","finishedAt":"2026-03-01T09:00:00.123456789Z",
		"result":{"alreadyDone":true}}`, m, err)

	m, err = b.OperationSucceeded(now, OperationSucceeded{
		Operation: Operation{OperationID: "op-4", CommandType: "gdap.sweep.run", Attempts: 1, AcceptedAt: accepted, FinishedAt: now}, Result: op.Result{SweepID: "sw-1"},
	})
	add("succeeded sweep", TypeOperationSucceeded, "op-4.succeeded", "op-4", "", `{"operationId":"op-4","commandType":"gdap.sweep.run",
		"attempts":1,"acceptedAt":"2026-03-01T08:00:00Z","finishedAt":"2026-03-01T09:00:00.123456789Z","result":{"sweepId":"sw-1","alreadyDone":false}}`, m, err)

	m, err = b.OperationFailed(now, OperationFailed{
		Operation: Operation{OperationID: "op-5", CommandType: "gdap.relationship.update", RelationshipID: relID, Attempts: 8, AcceptedAt: accepted, FinishedAt: now},
		Error:     op.Failure{Code: op.CodeThrottled, Message: "Graph kept answering 429", HTTPStatus: 429, UpstreamCode: "TooManyRequests", UpstreamRequestID: "r-1"},
	})
	add("failed upstream", TypeOperationFailed, "op-5.failed", "op-5", relID, `{"operationId":"op-5","commandType":"gdap.relationship.update",
		"relationshipId":"`+relID+`","attempts":8,"acceptedAt":"2026-03-01T08:00:00Z","finishedAt":"2026-03-01T09:00:00.123456789Z",
		"error":{"code":"throttled","message":"Graph kept answering 429","httpStatus":429,"upstreamCode":"TooManyRequests","upstreamRequestId":"r-1"}}`, m, err)

	m, err = b.OperationFailed(now, OperationFailed{
		Operation: Operation{OperationID: "op-6", CommandType: "gdap.relationship.create", Attempts: 0, AcceptedAt: accepted, FinishedAt: now},
		Error:     op.Failure{Code: op.CodeUnsupportedCommand, Message: "unsupported command type"},
	})
	add("failed unsupported", TypeOperationFailed, "op-6.failed", "op-6", "", `{"operationId":"op-6","commandType":"gdap.relationship.create",
		"attempts":0,"acceptedAt":"2026-03-01T08:00:00Z","finishedAt":"2026-03-01T09:00:00.123456789Z",
		"error":{"code":"unsupported_command","message":"unsupported command type"}}`, m, err)

	m, err = b.OperationFailed(now, OperationFailed{
		Operation: Operation{OperationID: "op-7", CommandType: "gdap.relationship.update", RelationshipID: relID, Attempts: 0, AcceptedAt: accepted, FinishedAt: now},
		Error: op.Failure{Code: op.CodeInvalidCommand, Field: "data.changes.autoExtendDuration",
			Message: "data.changes.autoExtendDuration: must be one of 'P0D', 'PT0S', 'P180D'"},
	})
	add("failed invalid field", TypeOperationFailed, "op-7.failed", "op-7", relID, `{"operationId":"op-7","commandType":"gdap.relationship.update",
		"relationshipId":"`+relID+`","attempts":0,"acceptedAt":"2026-03-01T08:00:00Z","finishedAt":"2026-03-01T09:00:00.123456789Z",
		"error":{"code":"invalid_command","message":"data.changes.autoExtendDuration: must be one of 'P0D', 'PT0S', 'P180D'","field":"data.changes.autoExtendDuration"}}`, m, err)

	m, err = b.RelationshipExpiring(now, "sw-1", RelationshipExpiring{
		RelationshipID: relID, DisplayName: "Contoso", CustomerTenantID: tenantID, CustomerDisplayName: "Contoso Ltd", Status: "active",
		EndDateTime: endDate, DaysRemaining: 19, ThresholdDays: 30, AutoExtendDuration: "PT0S", HasGlobalAdmin: true,
	})
	add("expiring", TypeRelationshipExpiring, "expiring."+relID+".20260320.30", "sw-1", relID, `{"relationshipId":"`+relID+`","displayName":"Contoso",
		"customerTenantId":"`+tenantID+`","customerDisplayName":"Contoso Ltd","status":"active","endDateTime":"2026-03-20T17:30:00Z",
		"daysRemaining":19,"thresholdDays":30,"autoExtendDuration":"PT0S","hasGlobalAdmin":true,"protected":false}`, m, err)

	m, err = b.RelationshipEnded(now, "sw-1", RelationshipEnded{RelationshipID: relID, DisplayName: "Contoso", CustomerTenantID: tenantID, Status: "expired", EndDateTime: &endDate})
	add("ended", TypeRelationshipEnded, "ended."+relID+".expired", "sw-1", relID, `{"relationshipId":"`+relID+`","displayName":"Contoso",
		"customerTenantId":"`+tenantID+`","status":"expired","endDateTime":"2026-03-20T17:30:00Z"}`, m, err)

	created := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	m, err = b.ApprovalPending(now, "sw-1", ApprovalPending{RelationshipID: relID, DisplayName: "Contoso", CreatedDateTime: created, DaysPending: 90, ApprovalExpiresDateTime: created.AddDate(0, 0, 90)})
	add("approval pending", TypeApprovalPending, "approvalPending."+relID, "sw-1", relID, `{"relationshipId":"`+relID+`","displayName":"Contoso",
		"createdDateTime":"2025-12-01T00:00:00Z","daysPending":90,"approvalExpiresDateTime":"2026-03-01T00:00:00Z"}`, m, err)

	activated := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
	m, err = b.RelationshipActivated(now, "sw-1", RelationshipActivated{RelationshipID: relID, DisplayName: "Contoso",
		CustomerTenantID: tenantID, CustomerDisplayName: "Contoso <Ltd>", ActivatedDateTime: activated, EndDateTime: activated.AddDate(0, 0, 730),
		UnifiedRoles: []string{"f2ef992c-3afb-46b9-b7cf-a126ee74c451"}})
	add("activated", TypeRelationshipActivated, "activated."+relID, "sw-1", relID, `{"relationshipId":"`+relID+`","displayName":"Contoso",
		"customerTenantId":"`+tenantID+`","customerDisplayName":"Contoso <Ltd>","activatedDateTime":"2026-02-01T08:00:00Z",
		"endDateTime":"2028-02-01T08:00:00Z","unifiedRoles":["f2ef992c-3afb-46b9-b7cf-a126ee74c451"]}`, m, err)

	m, err = b.CommandRejected(now, CommandRejected{OperationID: "msg-1", MessageID: "msg-1", Error: RejectionError{Code: op.CodeInvalidCommand, Message: "body is not a JSON object"}}, []byte("hello"))
	add("rejected", TypeCommandRejected, "rejected.msg-1.2cf24dba5fb0a30e", "msg-1", "", `{"operationId":"msg-1","messageId":"msg-1",
		"error":{"code":"invalid_command","message":"body is not a JSON object"}}`, m, err)

	m, err = b.CommandRejected(now, CommandRejected{OperationID: "msg-2", MessageID: "msg-2", Error: RejectionError{Code: op.CodeInvalidCommand, Field: "id", Message: "id: required"}}, []byte("{}"))
	add("rejected field", TypeCommandRejected, "rejected.msg-2.44136fa355b3678a", "msg-2", "", `{"operationId":"msg-2","messageId":"msg-2",
		"error":{"code":"invalid_command","message":"id: required","field":"id"}}`, m, err)

	m, err = b.SweepCompleted(now, SweepCompleted{SweepID: "sw-1", StartedAt: accepted, FinishedAt: now, Relationships: 12,
		CountsByStatus: map[string]int{"active": 10, "expired": 2}, Expiring: 3, Pages: 2, Invocations: 3})
	add("sweep completed", TypeSweepCompleted, "sweep.sw-1.completed", "sw-1", "", `{"sweepId":"sw-1","startedAt":"2026-03-01T08:00:00Z",
		"finishedAt":"2026-03-01T09:00:00.123456789Z","relationships":12,"countsByStatus":{"active":10,"expired":2},"expiring":3,"pages":2,"invocations":3}`, m, err)

	m, err = b.SweepCompleted(now, SweepCompleted{SweepID: "sw-2", StartedAt: accepted, FinishedAt: now})
	add("sweep completed empty", TypeSweepCompleted, "sweep.sw-2.completed", "sw-2", "", `{"sweepId":"sw-2","startedAt":"2026-03-01T08:00:00Z",
		"finishedAt":"2026-03-01T09:00:00.123456789Z","relationships":0,"countsByStatus":{},"expiring":0,"pages":0,"invocations":0}`, m, err)
	return out
}

func TestEventsMatchSchemasAndContract(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	for _, tt := range buildAll(NewBuilder("")) {
		covered[tt.typ] = true
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.NoError(t, tt.err)
			m := tt.msg
			require.Equal(t, tt.wantID, m.MessageID)
			require.LessOrEqual(t, len(m.MessageID), MaxIDLength)
			require.Equal(t, tt.wantCorr, m.CorrelationID)
			require.Equal(t, tt.typ, m.Subject)
			require.Equal(t, ContentType, m.ContentType)
			require.Nil(t, m.ScheduledEnqueueTime)

			// The body validates against the event's schema.
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(m.Body))
			require.NoError(t, err)
			require.NoError(t, compileEventSchema(t, tt.typ).Validate(doc))

			// Envelope attributes.
			var env map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(m.Body, &env))
			var attrs struct {
				SpecVersion, ID, Source, Type, Time, DataContentType, Subject string
			}
			require.NoError(t, json.Unmarshal(m.Body, &attrs))
			require.Equal(t, "1.0", attrs.SpecVersion)
			require.Equal(t, tt.wantID, attrs.ID)
			require.Equal(t, DefaultSource, attrs.Source)
			require.Equal(t, tt.typ, attrs.Type)
			require.Equal(t, "2026-03-01T09:00:00.123456789Z", attrs.Time)
			require.Equal(t, "application/json", attrs.DataContentType)
			require.Equal(t, tt.wantSubj, attrs.Subject)
			require.JSONEq(t, tt.wantData, string(env["data"]))

			// The SDK reads it back as a valid event.
			var e ce.Event
			require.NoError(t, json.Unmarshal(m.Body, &e))
			require.NoError(t, e.Validate())
			require.Equal(t, tt.wantID, e.ID())
		})
	}
	for _, typ := range Types() {
		require.True(t, covered[typ], typ)
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	a, b := buildAll(NewBuilder("/custom")), buildAll(&Builder{Source: "/custom"})
	require.Len(t, b, len(a))
	for i := range a {
		require.Equal(t, a[i].msg, b[i].msg, a[i].name)
		var attrs struct{ Source string }
		require.NoError(t, json.Unmarshal(a[i].msg.Body, &attrs))
		require.Equal(t, "/custom", attrs.Source)
	}
	var zero Builder
	m, err := zero.SweepCompleted(now, SweepCompleted{SweepID: "s"})
	require.NoError(t, err)
	require.Contains(t, string(m.Body), `"source":"/gdapflow"`)
}

func TestRejectedIDs(t *testing.T) {
	t.Parallel()
	b := NewBuilder("")
	d := CommandRejected{OperationID: "op", MessageID: "op", Error: RejectionError{Code: op.CodeConflict, Message: "id reused"}}
	m1, err := b.CommandRejected(now, d, []byte("body-1"))
	require.NoError(t, err)
	m1again, err := b.CommandRejected(now.Add(time.Hour), d, []byte("body-1"))
	require.NoError(t, err)
	m2, err := b.CommandRejected(now, d, []byte("body-2"))
	require.NoError(t, err)
	require.Equal(t, m1.MessageID, m1again.MessageID, "a redelivery is deduplicated")
	require.NotEqual(t, m1.MessageID, m2.MessageID, "different content is announced")
	require.True(t, strings.HasPrefix(m1.MessageID, "rejected.op."))
}

func TestBoundID(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 200)
	tests := []struct {
		name string
		in   string
		same bool
	}{
		{"plain", "op-1.succeeded", true},
		{"exactly 128", strings.Repeat("b", 128), true},
		{"long", long, false},
		{"unsafe characters", "rejected.a b/c\r\n.1", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := BoundID(tt.in)
			require.LessOrEqual(t, len(got), MaxIDLength)
			require.Regexp(t, `^[A-Za-z0-9._:-]+$`, got)
			if tt.same {
				require.Equal(t, tt.in, got)
			} else {
				require.NotEqual(t, tt.in, got)
				require.Equal(t, got, BoundID(tt.in))
			}
		})
	}
	require.NotEqual(t, BoundID(long+"x"), BoundID(long+"y"))
	require.NotEqual(t, BoundID("a b"), BoundID("a_b"))
	// Operation ids may be 128 characters; their outcome ids still fit.
	op := strings.Repeat("z", 128)
	require.LessOrEqual(t, len(OperationSucceededID(op)), MaxIDLength)
	require.NotEqual(t, OperationSucceededID(op), OperationFailedID(op))
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	b := NewBuilder("")
	_, err := b.SweepCompleted(time.Time{}, SweepCompleted{SweepID: "s"})
	require.Error(t, err)
	_, err = b.OperationFailed(now, OperationFailed{Operation: Operation{OperationID: "op"}})
	require.Error(t, err)
}

func TestSchemaErrorCodesMatchOpCodes(t *testing.T) {
	t.Parallel()
	raw, err := schemas.FS.ReadFile("defs.json")
	require.NoError(t, err)
	var defs struct {
		Defs struct {
			ErrorCode struct {
				Enum []op.Code `json:"enum"`
			} `json:"errorCode"`
		} `json:"$defs"`
	}
	require.NoError(t, json.Unmarshal(raw, &defs))
	require.Equal(t, op.Codes(), defs.Defs.ErrorCode.Enum)
}
