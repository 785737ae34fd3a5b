package command

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

const (
	relID    = "5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836"
	tenantID = "5d027261-d21f-4aa9-b7db-7fa1f56fb163"
	roleA    = "62e90394-69f5-4237-9190-012177145e10"
	roleB    = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
)

// msg builds a command body with the given type and raw data JSON.
func msg(typ, data string) string {
	return `{"specversion":"1.0","id":"op-1","source":"/tests","type":"` + typ + `","datacontenttype":"application/json","data":` + data + `}`
}

func TestGoodCommands(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	tests := []struct {
		name string
		body string
		want Command
	}{
		{"update all fields", msg(TypeRelationshipUpdate, `{"relationshipId":"`+relID+`","ifMatch":"W/\"abc\"","changes":{
			"displayName":"Contoso admins","duration":"P2Y","autoExtendDuration":"P180D",
			"customer":{"tenantId":"`+tenantID+`","displayName":"Contoso"},
			"accessDetails":{"unifiedRoles":[{"roleDefinitionId":"`+roleA+`"},{"roleDefinitionId":"`+roleB+`"}]}}}`),
			&UpdateRelationship{RelationshipID: relID, IfMatch: `W/"abc"`, Changes: Changes{
				DisplayName: str("Contoso admins"), Duration: str("P730D"), AutoExtendDuration: str("P180D"),
				Customer:     &Customer{TenantID: tenantID, DisplayName: "Contoso"},
				UnifiedRoles: []string{roleA, roleB},
			}}},
		{"update duration only, guid id", msg(TypeRelationshipUpdate, `{"relationshipId":"`+tenantID+`","changes":{"duration":"PT24H"}}`),
			&UpdateRelationship{RelationshipID: tenantID, Changes: Changes{Duration: str("P1D")}}},
		{"update auto-extend off", msg(TypeRelationshipUpdate, `{"relationshipId":"`+relID+`","changes":{"autoExtendDuration":"PT0S"}}`),
			&UpdateRelationship{RelationshipID: relID, Changes: Changes{AutoExtendDuration: str("PT0S")}}},
		{"update customer without name", msg(TypeRelationshipUpdate, `{"relationshipId":"`+relID+`","changes":{"customer":{"tenantId":"`+tenantID+`"}}}`),
			&UpdateRelationship{RelationshipID: relID, Changes: Changes{Customer: &Customer{TenantID: tenantID}}}},
		{"update unicode display name", msg(TypeRelationshipUpdate, `{"relationshipId":"`+relID+`","changes":{"displayName":"Zürich Ünïcødé 管理者"}}`),
			&UpdateRelationship{RelationshipID: relID, Changes: Changes{DisplayName: str("Zürich Ünïcødé 管理者")}}},
		{"request lockForApproval", msg(TypeRelationshipRequest, `{"relationshipId":"`+relID+`","action":"lockForApproval"}`),
			&RequestRelationship{RelationshipID: relID, Action: gdap.ActionLockForApproval}},
		{"request terminate", msg(TypeRelationshipRequest, `{"relationshipId":"`+relID+`","action":"terminate"}`),
			&RequestRelationship{RelationshipID: relID, Action: gdap.ActionTerminate}},
		{"removeGlobalAdmin default", msg(TypeRemoveGlobalAdmin, `{"relationshipId":"`+relID+`"}`),
			&RemoveGlobalAdmin{RelationshipID: relID}},
		{"removeGlobalAdmin with auto-extend", msg(TypeRemoveGlobalAdmin, `{"relationshipId":"`+relID+`","enableAutoExtend":true}`),
			&RemoveGlobalAdmin{RelationshipID: relID, EnableAutoExtend: true}},
		{"removeDap", msg(TypeRemoveDAP, `{"customerTenantId":"`+tenantID+`"}`),
			&RemoveDAP{CustomerTenantID: tenantID}},
		{"sweep", msg(TypeSweepRun, `{}`), &RunSweep{}},
		{"extensions and optional attributes", `{"specversion":"1.0","id":"A.b_c:d-1","source":"urn:partner:portal","type":"gdap.sweep.run",
			"subject":"all","time":"2026-03-01T10:00:00.123Z","dataschema":"https://example.com/s.json","traceparent":"00-abc-def-01",
			"priority":3,"urgent":true,"datacontenttype":"application/json; charset=utf-8","data":{}}`, &RunSweep{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, err := ParseEnvelope([]byte(tt.body))
			require.NoError(t, err)
			require.Len(t, env.ContentHash, 64)
			cmd, err := env.Decode()
			require.NoError(t, err)
			require.Equal(t, tt.want, cmd)
			require.Equal(t, env.Type, cmd.Type())
			require.True(t, json.Valid(env.Data))
		})
	}
}

func TestEnvelopeFields(t *testing.T) {
	t.Parallel()
	env, err := ParseEnvelope([]byte(`{"specversion":"1.0","id":"op-9","source":"/portal","type":"gdap.customer.removeDap",
		"subject":"cust","time":"2026-03-01T10:00:00+02:00","ext1":"v","data":{"customerTenantId":"` + tenantID + `"}}`))
	require.NoError(t, err)
	require.Equal(t, "op-9", env.ID)
	require.Equal(t, "/portal", env.Source)
	require.Equal(t, TypeRemoveDAP, env.Type)
	require.Equal(t, "cust", env.Subject)
	require.Equal(t, "2026-03-01T08:00:00Z", env.Time.UTC().Format("2006-01-02T15:04:05Z07:00"))
	require.Equal(t, map[string]any{"ext1": "v"}, env.Extensions)
	require.JSONEq(t, `{"customerTenantId":"`+tenantID+`"}`, string(env.Data))
	require.Equal(t, "op-9", env.CloudEvent().ID())
}

func TestToGDAPChanges(t *testing.T) {
	t.Parallel()
	env, err := ParseEnvelope([]byte(msg(TypeRelationshipUpdate, `{"relationshipId":"`+relID+`","changes":{
		"displayName":"x","duration":"P1W","customer":{"tenantId":"`+tenantID+`","displayName":"C"},
		"accessDetails":{"unifiedRoles":[{"roleDefinitionId":"`+roleB+`"}]}}}`)))
	require.NoError(t, err)
	cmd, err := env.Decode()
	require.NoError(t, err)
	up := cmd.(*UpdateRelationship)
	ch := up.ToGDAPChanges()
	require.Equal(t, []string{"displayName", "duration", "customer", "accessDetails"}, ch.Fields())
	require.Equal(t, "P7D", *ch.Duration)
	require.Equal(t, gdap.Customer{TenantID: tenantID, DisplayName: "C"}, *ch.Customer)
	require.Equal(t, []string{roleB}, ch.UnifiedRoles)
	// No shared memory.
	*ch.DisplayName = "changed"
	ch.UnifiedRoles[0] = "changed"
	require.Equal(t, "x", *up.Changes.DisplayName)
	require.Equal(t, roleB, up.Changes.UnifiedRoles[0])
	require.Nil(t, (&UpdateRelationship{Changes: Changes{DisplayName: up.Changes.DisplayName}}).ToGDAPChanges().UnifiedRoles)
}

func TestTargetID(t *testing.T) {
	t.Parallel()
	require.Equal(t, relID, TargetID(&UpdateRelationship{RelationshipID: relID}))
	require.Equal(t, relID, TargetID(&RequestRelationship{RelationshipID: relID}))
	require.Equal(t, relID, TargetID(&RemoveGlobalAdmin{RelationshipID: relID}))
	require.Equal(t, tenantID, TargetID(&RemoveDAP{CustomerTenantID: tenantID}))
	require.Empty(t, TargetID(&RunSweep{}))
	require.Empty(t, TargetID(nil))
	for _, typ := range Types() {
		require.True(t, Supported(typ))
	}
	require.False(t, Supported("gdap.relationship.frobnicate"))
}

func TestContentHash(t *testing.T) {
	t.Parallel()
	base := `{"specversion":"1.0","id":"op-1","source":"/s","type":"gdap.relationship.request","time":"2026-01-01T00:00:00Z","data":{"relationshipId":"` + relID + `","action":"approve"}}`
	same := []string{
		// key order, whitespace, id, time, subject, extensions and escapes do not matter
		`{"data":{"action":"approve","relationshipId":"` + relID + `"},"type":"gdap.relationship.request","source":"/s","id":"op-2","specversion":"1.0"}`,
		"{\n  \"specversion\" : \"1.0\",\t\"id\":\"op-1\",\"source\":\"/s\",\"type\":\"gdap.relationship.request\",\"time\":\"2027-05-05T00:00:00Z\",\n \"subject\":\"x\",\"ext\":\"y\",\"data\": { \"relationshipId\" : \"" + relID + "\" , \"action\" : \"\\u0061pprove\" } }",
	}
	different := []string{
		strings.Replace(base, `"approve"`, `"reject"`, 1),
		strings.Replace(base, `"/s"`, `"/t"`, 1),
		strings.Replace(base, `gdap.relationship.request`, `gdap.relationship.requestx`, 1),
	}
	h := func(s string) string {
		env, err := ParseEnvelope([]byte(s))
		require.NoError(t, err)
		return env.ContentHash
	}
	want := h(base)
	for _, s := range same {
		require.Equal(t, want, h(s), s)
	}
	for _, s := range different {
		require.NotEqual(t, want, h(s), s)
	}
	// Numbers keep their text, so 1 and 1.0 differ, but key order inside nested objects does not matter.
	a := h(msg("x.y", `{"n":{"b":1,"a":[1,2]}}`))
	require.Equal(t, a, h(msg("x.y", `{"n":{"a":[1,2],"b":1}}`)))
	require.NotEqual(t, a, h(msg("x.y", `{"n":{"a":[2,1],"b":1}}`)))
}

func TestRejected(t *testing.T) {
	t.Parallel()
	good := func(typ, data string) string { return msg(typ, data) }
	upd := func(changes string) string {
		return good(TypeRelationshipUpdate, `{"relationshipId":"`+relID+`","changes":`+changes+`}`)
	}
	deep := `{"specversion":"1.0","id":"a","source":"/s","type":"gdap.sweep.run","data":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40) + `}`
	huge := msg(TypeSweepRun, `{"pad":"`+strings.Repeat("x", MaxBodyBytes)+`"}`)
	utf16 := func(s string) []byte {
		out := []byte{0xFF, 0xFE}
		for _, r := range s {
			out = append(out, byte(r), 0)
		}
		return out
	}
	utf16NoBOM := utf16(msg(TypeSweepRun, `{}`))[2:]

	tests := []struct {
		name  string
		body  []byte
		code  op.Code
		stage string
		field string // expected Field prefix; "" = don't care
	}{
		// --- envelope stage ---
		{"empty", []byte(""), op.CodeInvalidCommand, StageEnvelope, ""},
		{"whitespace", []byte(" \n\t"), op.CodeInvalidCommand, StageEnvelope, ""},
		{"oversized", []byte(huge), op.CodeInvalidCommand, StageEnvelope, ""},
		{"deep nesting", []byte(deep), op.CodeInvalidCommand, StageEnvelope, "data"},
		{"utf-8 bom", append([]byte{0xEF, 0xBB, 0xBF}, msg(TypeSweepRun, `{}`)...), op.CodeInvalidCommand, StageEnvelope, ""},
		{"utf-16 with bom", utf16(msg(TypeSweepRun, `{}`)), op.CodeInvalidCommand, StageEnvelope, ""},
		{"utf-16 without bom", utf16NoBOM, op.CodeInvalidCommand, StageEnvelope, ""},
		{"invalid utf-8", []byte(msg(TypeSweepRun, "{\"x\":\"\xc3\x28\"}")), op.CodeInvalidCommand, StageEnvelope, ""},
		{"latin-1 bytes", []byte(msg(TypeRelationshipUpdate, "{\"relationshipId\":\""+relID+"\",\"changes\":{\"displayName\":\"Z\xfcrich\"}}")), op.CodeInvalidCommand, StageEnvelope, ""},
		{"not json", []byte("hello"), op.CodeInvalidCommand, StageEnvelope, ""},
		{"truncated json", []byte(msg(TypeSweepRun, `{}`)[:40]), op.CodeInvalidCommand, StageEnvelope, ""},
		{"trailing data", []byte(msg(TypeSweepRun, `{}`) + `{}`), op.CodeInvalidCommand, StageEnvelope, ""},
		{"array", []byte(`[` + msg(TypeSweepRun, `{}`) + `]`), op.CodeInvalidCommand, StageEnvelope, ""},
		{"json string", []byte(`"` + strings.ReplaceAll(msg(TypeSweepRun, `{}`), `"`, `\"`) + `"`), op.CodeInvalidCommand, StageEnvelope, ""},
		{"null", []byte(`null`), op.CodeInvalidCommand, StageEnvelope, ""},
		{"missing specversion", []byte(`{"id":"a","source":"/s","type":"gdap.sweep.run","data":{}}`), op.CodeInvalidCommand, StageEnvelope, ""},
		{"specversion 0.3", []byte(`{"specversion":"0.3","id":"a","source":"/s","type":"gdap.sweep.run","data":{}}`), op.CodeInvalidCommand, StageEnvelope, "specversion"},
		{"specversion number", []byte(`{"specversion":1.0,"id":"a","source":"/s","type":"gdap.sweep.run","data":{}}`), op.CodeInvalidCommand, StageEnvelope, "specversion"},
		{"missing id", []byte(`{"specversion":"1.0","source":"/s","type":"gdap.sweep.run","data":{}}`), op.CodeInvalidCommand, StageEnvelope, ""},
		{"empty id", []byte(`{"specversion":"1.0","id":"","source":"/s","type":"gdap.sweep.run","data":{}}`), op.CodeInvalidCommand, StageEnvelope, "id"},
		{"id too long", []byte(`{"specversion":"1.0","id":"` + strings.Repeat("a", 129) + `","source":"/s","type":"gdap.sweep.run","data":{}}`), op.CodeInvalidCommand, StageEnvelope, "id"},
		{"id path traversal", []byte(`{"specversion":"1.0","id":"../../etc/passwd","source":"/s","type":"gdap.sweep.run","data":{}}`), op.CodeInvalidCommand, StageEnvelope, "id"},
		{"id sql injection", []byte(`{"specversion":"1.0","id":"x'; DROP TABLE ledger;--","source":"/s","type":"gdap.sweep.run","data":{}}`), op.CodeInvalidCommand, StageEnvelope, "id"},
		{"id with CRLF", []byte(`{"specversion":"1.0","id":"a\r\nb","source":"/s","type":"gdap.sweep.run","data":{}}`), op.CodeInvalidCommand, StageEnvelope, "id"},
		{"id with trailing newline", []byte(`{"specversion":"1.0","id":"abc\n","source":"/s","type":"gdap.sweep.run","data":{}}`), op.CodeInvalidCommand, StageEnvelope, "id"},
		{"id unicode", []byte(`{"specversion":"1.0","id":"ａｂｃ","source":"/s","type":"gdap.sweep.run","data":{}}`), op.CodeInvalidCommand, StageEnvelope, "id"},
		{"id with NUL escape", []byte(`{"specversion":"1.0","id":"a\u0000b","source":"/s","type":"gdap.sweep.run","data":{}}`), op.CodeInvalidCommand, StageEnvelope, "id"},
		{"id number", []byte(`{"specversion":"1.0","id":42,"source":"/s","type":"gdap.sweep.run","data":{}}`), op.CodeInvalidCommand, StageEnvelope, "id"},
		{"missing source", []byte(`{"specversion":"1.0","id":"a","type":"gdap.sweep.run","data":{}}`), op.CodeInvalidCommand, StageEnvelope, ""},
		{"empty source", []byte(`{"specversion":"1.0","id":"a","source":"","type":"gdap.sweep.run","data":{}}`), op.CodeInvalidCommand, StageEnvelope, "source"},
		{"source with CRLF", []byte(`{"specversion":"1.0","id":"a","source":"/s\r\nX-Injected: 1","type":"gdap.sweep.run","data":{}}`), op.CodeInvalidCommand, StageEnvelope, "source"},
		{"missing type", []byte(`{"specversion":"1.0","id":"a","source":"/s","data":{}}`), op.CodeInvalidCommand, StageEnvelope, ""},
		{"type object", []byte(`{"specversion":"1.0","id":"a","source":"/s","type":{},"data":{}}`), op.CodeInvalidCommand, StageEnvelope, "type"},
		{"missing data", []byte(`{"specversion":"1.0","id":"a","source":"/s","type":"gdap.sweep.run"}`), op.CodeInvalidCommand, StageEnvelope, ""},
		{"data null", []byte(msg(TypeSweepRun, `null`)), op.CodeInvalidCommand, StageEnvelope, "data"},
		{"data string", []byte(msg(TypeSweepRun, `"{}"`)), op.CodeInvalidCommand, StageEnvelope, "data"},
		{"data array", []byte(msg(TypeSweepRun, `[]`)), op.CodeInvalidCommand, StageEnvelope, "data"},
		{"data_base64", []byte(`{"specversion":"1.0","id":"a","source":"/s","type":"gdap.sweep.run","data_base64":"e30="}`), op.CodeInvalidCommand, StageEnvelope, "data_base64"},
		{"xml content type", []byte(`{"specversion":"1.0","id":"a","source":"/s","type":"gdap.sweep.run","datacontenttype":"application/xml","data":{}}`), op.CodeInvalidCommand, StageEnvelope, "datacontenttype"},
		{"bad time", []byte(`{"specversion":"1.0","id":"a","source":"/s","type":"gdap.sweep.run","time":"yesterday","data":{}}`), op.CodeInvalidCommand, StageEnvelope, "time"},
		{"unknown attribute upper case", []byte(`{"specversion":"1.0","id":"a","source":"/s","type":"gdap.sweep.run","Data":{},"data":{}}`), op.CodeInvalidCommand, StageEnvelope, "Data"},
		{"extension name too long", []byte(`{"specversion":"1.0","id":"a","source":"/s","type":"gdap.sweep.run","abcdefghijklmnopqrstu":"x","data":{}}`), op.CodeInvalidCommand, StageEnvelope, "abcdefghijklmnopqrstu"},
		{"extension with underscore", []byte(`{"specversion":"1.0","id":"a","source":"/s","type":"gdap.sweep.run","my_ext":"x","data":{}}`), op.CodeInvalidCommand, StageEnvelope, "my_ext"},
		{"extension object value", []byte(`{"specversion":"1.0","id":"a","source":"/s","type":"gdap.sweep.run","ext":{"a":1},"data":{}}`), op.CodeInvalidCommand, StageEnvelope, "ext"},
		{"duplicate id member", []byte(`{"specversion":"1.0","id":"a","id":"b","source":"/s","type":"gdap.sweep.run","data":{}}`), op.CodeInvalidCommand, StageEnvelope, "id"},
		{"duplicate data member", []byte(msg(TypeRelationshipRequest, `{"relationshipId":"`+relID+`","action":"approve","action":"terminate"}`)), op.CodeInvalidCommand, StageEnvelope, "data.action"},

		// --- data stage ---
		{"unsupported type", []byte(msg("gdap.relationship.frobnicate", `{}`)), op.CodeUnsupportedCommand, StageData, "type"},
		{"unsupported type case", []byte(msg("GDAP.SWEEP.RUN", `{}`)), op.CodeUnsupportedCommand, StageData, "type"},
		{"sweep with fields", []byte(msg(TypeSweepRun, `{"force":true}`)), op.CodeInvalidCommand, StageData, "data"},
		{"update missing changes", []byte(good(TypeRelationshipUpdate, `{"relationshipId":"`+relID+`"}`)), op.CodeInvalidCommand, StageData, "data"},
		{"update empty changes", []byte(upd(`{}`)), op.CodeInvalidCommand, StageData, "data.changes"},
		{"update unknown change", []byte(upd(`{"status":"active"}`)), op.CodeInvalidCommand, StageData, "data.changes"},
		{"update unknown top field", []byte(good(TypeRelationshipUpdate, `{"relationshipId":"`+relID+`","changes":{"displayName":"x"},"force":true}`)), op.CodeInvalidCommand, StageData, "data"},
		{"update bad relationship id", []byte(good(TypeRelationshipUpdate, `{"relationshipId":"../../x","changes":{"displayName":"x"}}`)), op.CodeInvalidCommand, StageData, "data.relationshipId"},
		{"update relationship id three guids", []byte(good(TypeRelationshipUpdate, `{"relationshipId":"`+relID+`-`+tenantID+`","changes":{"displayName":"x"}}`)), op.CodeInvalidCommand, StageData, "data.relationshipId"},
		{"update relationship id with newline", []byte(good(TypeRelationshipUpdate, `{"relationshipId":"`+relID+`\n","changes":{"displayName":"x"}}`)), op.CodeInvalidCommand, StageData, "data.relationshipId"},
		{"update display name empty", []byte(upd(`{"displayName":""}`)), op.CodeInvalidCommand, StageData, "data.changes.displayName"},
		{"update display name 51 chars", []byte(upd(`{"displayName":"` + strings.Repeat("é", 51) + `"}`)), op.CodeInvalidCommand, StageData, "data.changes.displayName"},
		{"update display name control char", []byte(upd(`{"displayName":"a\u0007b"}`)), op.CodeInvalidCommand, StageData, "data.changes.displayName"},
		{"update display name number", []byte(upd(`{"displayName":5}`)), op.CodeInvalidCommand, StageData, "data.changes.displayName"},
		{"update duration months", []byte(upd(`{"duration":"P3M"}`)), op.CodeInvalidCommand, StageData, "data.changes.duration"},
		{"update duration zero", []byte(upd(`{"duration":"P0D"}`)), op.CodeInvalidCommand, StageData, "data.changes.duration"},
		{"update duration too long", []byte(upd(`{"duration":"P731D"}`)), op.CodeInvalidCommand, StageData, "data.changes.duration"},
		{"update duration partial day", []byte(upd(`{"duration":"PT36H"}`)), op.CodeInvalidCommand, StageData, "data.changes.duration"},
		{"update duration negative", []byte(upd(`{"duration":"-P1D"}`)), op.CodeInvalidCommand, StageData, "data.changes.duration"},
		{"update duration garbage", []byte(upd(`{"duration":"two years"}`)), op.CodeInvalidCommand, StageData, "data.changes.duration"},
		{"update duration P alone", []byte(upd(`{"duration":"P"}`)), op.CodeInvalidCommand, StageData, "data.changes.duration"},
		{"update duration number", []byte(upd(`{"duration":730}`)), op.CodeInvalidCommand, StageData, "data.changes.duration"},
		{"update duration overflow", []byte(upd(`{"duration":"P99999999999999999999D"}`)), op.CodeInvalidCommand, StageData, "data.changes.duration"},
		{"update auto-extend 90 days", []byte(upd(`{"autoExtendDuration":"P90D"}`)), op.CodeInvalidCommand, StageData, "data.changes.autoExtendDuration"},
		{"update auto-extend lower case", []byte(upd(`{"autoExtendDuration":"p180d"}`)), op.CodeInvalidCommand, StageData, "data.changes.autoExtendDuration"},
		{"update customer bad guid", []byte(upd(`{"customer":{"tenantId":"not-a-guid"}}`)), op.CodeInvalidCommand, StageData, "data.changes.customer.tenantId"},
		{"update customer braces guid", []byte(upd(`{"customer":{"tenantId":"{` + tenantID + `}"}}`)), op.CodeInvalidCommand, StageData, "data.changes.customer.tenantId"},
		{"update customer unknown field", []byte(upd(`{"customer":{"tenantId":"` + tenantID + `","x":1}}`)), op.CodeInvalidCommand, StageData, "data.changes.customer"},
		{"update roles empty", []byte(upd(`{"accessDetails":{"unifiedRoles":[]}}`)), op.CodeInvalidCommand, StageData, "data.changes.accessDetails.unifiedRoles"},
		{"update roles missing", []byte(upd(`{"accessDetails":{}}`)), op.CodeInvalidCommand, StageData, "data.changes.accessDetails"},
		{"update roles bad guid", []byte(upd(`{"accessDetails":{"unifiedRoles":[{"roleDefinitionId":"Global Administrator"}]}}`)), op.CodeInvalidCommand, StageData, "data.changes.accessDetails.unifiedRoles[0].roleDefinitionId"},
		{"update roles strings", []byte(upd(`{"accessDetails":{"unifiedRoles":["` + roleA + `"]}}`)), op.CodeInvalidCommand, StageData, "data.changes.accessDetails.unifiedRoles[0]"},
		{"update roles duplicate", []byte(upd(`{"accessDetails":{"unifiedRoles":[{"roleDefinitionId":"` + roleA + `"},{"roleDefinitionId":"` + roleA + `"}]}}`)), op.CodeInvalidCommand, StageData, "data.changes.accessDetails.unifiedRoles"},
		{"update roles duplicate case", []byte(upd(`{"accessDetails":{"unifiedRoles":[{"roleDefinitionId":"` + roleA + `"},{"roleDefinitionId":"` + strings.ToUpper(roleA) + `"}]}}`)), op.CodeInvalidCommand, StageData, "data.changes.accessDetails.unifiedRoles[1].roleDefinitionId"},
		{"update ifMatch empty", []byte(good(TypeRelationshipUpdate, `{"relationshipId":"`+relID+`","changes":{"displayName":"x"},"ifMatch":""}`)), op.CodeInvalidCommand, StageData, "data.ifMatch"},
		{"update ifMatch number", []byte(good(TypeRelationshipUpdate, `{"relationshipId":"`+relID+`","changes":{"displayName":"x"},"ifMatch":1}`)), op.CodeInvalidCommand, StageData, "data.ifMatch"},
		{"request bad action", []byte(good(TypeRelationshipRequest, `{"relationshipId":"`+relID+`","action":"delete"}`)), op.CodeInvalidCommand, StageData, "data.action"},
		{"request action case", []byte(good(TypeRelationshipRequest, `{"relationshipId":"`+relID+`","action":"Approve"}`)), op.CodeInvalidCommand, StageData, "data.action"},
		{"request missing action", []byte(good(TypeRelationshipRequest, `{"relationshipId":"`+relID+`"}`)), op.CodeInvalidCommand, StageData, "data"},
		{"removeGlobalAdmin string bool", []byte(good(TypeRemoveGlobalAdmin, `{"relationshipId":"`+relID+`","enableAutoExtend":"true"}`)), op.CodeInvalidCommand, StageData, "data.enableAutoExtend"},
		{"removeGlobalAdmin null id", []byte(good(TypeRemoveGlobalAdmin, `{"relationshipId":null}`)), op.CodeInvalidCommand, StageData, "data.relationshipId"},
		{"removeDap sql injection", []byte(good(TypeRemoveDAP, `{"customerTenantId":"'; DROP TABLE customers;--"}`)), op.CodeInvalidCommand, StageData, "data.customerTenantId"},
		{"removeDap relationship id", []byte(good(TypeRemoveDAP, `{"customerTenantId":"`+relID+`"}`)), op.CodeInvalidCommand, StageData, "data.customerTenantId"},
		{"removeDap wrong field name", []byte(good(TypeRemoveDAP, `{"tenantId":"`+tenantID+`"}`)), op.CodeInvalidCommand, StageData, "data"},
	}
	require.GreaterOrEqual(t, len(tests), 30)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, err := ParseEnvelope(tt.body)
			if tt.stage == StageData {
				require.NoError(t, err)
				_, err = env.Decode()
			}
			require.Error(t, err)
			var ce *Error
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tt.code, ce.Code, "%v", err)
			require.Equal(t, tt.stage, ce.Stage, "%v", err)
			require.Equal(t, tt.code, CodeOf(err))
			require.NotEmpty(t, ce.Message)
			require.LessOrEqual(t, len(ce.Message), 600)
			if tt.field != "" {
				require.True(t, strings.HasPrefix(ce.Field, tt.field), "field %q, want prefix %q (%v)", ce.Field, tt.field, err)
			}
		})
	}
}

func BenchmarkParseAndDecode(b *testing.B) {
	body := []byte(msg(TypeRelationshipUpdate, `{"relationshipId":"`+relID+`","changes":{"duration":"P730D","accessDetails":{"unifiedRoles":[{"roleDefinitionId":"`+roleA+`"}]}}}`))
	for b.Loop() {
		env, err := ParseEnvelope(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := env.Decode(); err != nil {
			b.Fatal(err)
		}
	}
}
