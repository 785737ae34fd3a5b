package tests

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHostileMessages sends malformed or hostile bodies to the commands
// queue. Each must end in gdap.command.rejected (not a CloudEvent) or
// gdap.operation.failed (a CloudEvent whose data is bad) with the right code,
// be answered 200 to the host, and cause no upstream call.
func TestHostileMessages(t *testing.T) {
	t.Parallel()
	relID := "11111111-2222-4333-8444-555555555555-66666666-7777-4888-8999-000000000000"
	ce := func(id, typ, data string) string {
		return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"/hostile","type":%q,"data":%s}`, id, typ, data)
	}
	upd := func(id, changes string) string {
		return ce(id, "gdap.relationship.update", fmt.Sprintf(`{"relationshipId":%q,"changes":%s}`, relID, changes))
	}
	deep := strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)
	type msg struct {
		name  string
		body  string
		event string // "rejected" or "failed"
		code  string
		opID  string // for failed: the operation id
	}
	cases := []msg{
		{name: "empty", body: "", event: "rejected", code: "invalid_command"},
		{name: "not json", body: "hello", event: "rejected", code: "invalid_command"},
		{name: "json array", body: `[1,2,3]`, event: "rejected", code: "invalid_command"},
		{name: "json string", body: `"gdap"`, event: "rejected", code: "invalid_command"},
		{name: "null", body: `null`, event: "rejected", code: "invalid_command"},
		{name: "truncated", body: `{"specversion":"1.0","id":"x"`, event: "rejected", code: "invalid_command"},
		{name: "oversized", body: ce("op-big", "gdap.relationship.update", `{"relationshipId":"`+strings.Repeat("a", 70_000)+`"}`), event: "rejected", code: "invalid_command"},
		{name: "deep nesting", body: ce("op-deep", "gdap.relationship.update", deep), event: "rejected", code: "invalid_command"},
		{name: "wrong specversion", body: `{"specversion":"0.3","id":"x2","source":"/s","type":"gdap.sweep.run","data":{}}`, event: "rejected", code: "invalid_command"},
		{name: "missing id", body: `{"specversion":"1.0","source":"/s","type":"gdap.sweep.run","data":{}}`, event: "rejected", code: "invalid_command"},
		{name: "missing source", body: `{"specversion":"1.0","id":"x3","type":"gdap.sweep.run","data":{}}`, event: "rejected", code: "invalid_command"},
		{name: "missing data", body: `{"specversion":"1.0","id":"x4","source":"/s","type":"gdap.sweep.run"}`, event: "rejected", code: "invalid_command"},
		{name: "data not object", body: ce("x5", "gdap.sweep.run", `"data"`), event: "rejected", code: "invalid_command"},
		{name: "id path traversal", body: ce("../../etc/passwd", "gdap.sweep.run", `{}`), event: "rejected", code: "invalid_command"},
		{name: "id sql injection", body: ce("x'; DROP TABLE ops;--", "gdap.sweep.run", `{}`), event: "rejected", code: "invalid_command"},
		{name: "id with newline", body: ce("x\r\ninjected: 1", "gdap.sweep.run", `{}`), event: "rejected", code: "invalid_command"},
		{name: "id too long", body: ce(strings.Repeat("x", 129), "gdap.sweep.run", `{}`), event: "rejected", code: "invalid_command"},
		{name: "id odata filter", body: ce("x' or PartitionKey ne '", "gdap.sweep.run", `{}`), event: "rejected", code: "invalid_command"},
		{name: "invalid utf8", body: "{\"specversion\":\"1.0\",\"id\":\"x6\",\"source\":\"/\xff\xfe\",\"type\":\"gdap.sweep.run\",\"data\":{}}", event: "rejected", code: "invalid_command"},
		{name: "utf16 bom", body: "\xff\xfe{\x00}\x00", event: "rejected", code: "invalid_command"},
		{name: "utf8 bom", body: "\xef\xbb\xbf" + ce("x7", "gdap.sweep.run", `{}`), event: "rejected", code: "invalid_command"},
		{name: "duplicate keys", body: `{"specversion":"1.0","id":"x8","id":"x9","source":"/s","type":"gdap.sweep.run","data":{}}`, event: "rejected", code: "invalid_command"},
		{name: "data_base64", body: `{"specversion":"1.0","id":"x10","source":"/s","type":"gdap.sweep.run","data_base64":"e30="}`, event: "rejected", code: "invalid_command"},
		{name: "unknown type", body: ce("op-h-type", "gdap.relationship.delete", `{"relationshipId":"`+relID+`"}`), event: "failed", code: "unsupported_command", opID: "op-h-type"},
		{name: "bad guid", body: ce("op-h-guid", "gdap.relationship.request", `{"relationshipId":"not-a-guid","action":"terminate"}`), event: "failed", code: "invalid_command", opID: "op-h-guid"},
		{name: "guid injection", body: ce("op-h-guid2", "gdap.relationship.request", `{"relationshipId":"`+relID+`/../../x","action":"terminate"}`), event: "failed", code: "invalid_command", opID: "op-h-guid2"},
		{name: "bad action", body: ce("op-h-action", "gdap.relationship.request", `{"relationshipId":"`+relID+`","action":"delete"}`), event: "failed", code: "invalid_command", opID: "op-h-action"},
		{name: "wrong type of field", body: ce("op-h-bool", "gdap.relationship.removeGlobalAdmin", `{"relationshipId":"`+relID+`","enableAutoExtend":"yes"}`), event: "failed", code: "invalid_command", opID: "op-h-bool"},
		{name: "unknown field", body: ce("op-h-unknown", "gdap.customer.removeDap", `{"customerTenantId":"aaaaaaaa-1111-4111-8111-000000000001","force":true}`), event: "failed", code: "invalid_command", opID: "op-h-unknown"},
		{name: "empty changes", body: upd("op-h-empty", `{}`), event: "failed", code: "invalid_command", opID: "op-h-empty"},
		{name: "duration too long", body: upd("op-h-dur", `{"duration":"P3Y"}`), event: "failed", code: "invalid_command", opID: "op-h-dur"},
		{name: "duration months", body: upd("op-h-dur2", `{"duration":"P1M"}`), event: "failed", code: "invalid_command", opID: "op-h-dur2"},
		{name: "duration garbage", body: upd("op-h-dur3", `{"duration":"1 year"}`), event: "failed", code: "invalid_command", opID: "op-h-dur3"},
		{name: "auto-extend 90 days", body: upd("op-h-ae", `{"autoExtendDuration":"P90D"}`), event: "failed", code: "invalid_command", opID: "op-h-ae"},
		{name: "display name too long", body: upd("op-h-name", `{"displayName":"`+strings.Repeat("n", 51)+`"}`), event: "failed", code: "invalid_command", opID: "op-h-name"},
		{name: "roles empty", body: upd("op-h-roles", `{"accessDetails":{"unifiedRoles":[]}}`), event: "failed", code: "invalid_command", opID: "op-h-roles"},
		{name: "roles duplicate", body: upd("op-h-roles2", `{"accessDetails":{"unifiedRoles":[{"roleDefinitionId":"`+roleHelpdesk+`"},{"roleDefinitionId":"`+strings.ToUpper(roleHelpdesk)+`"}]}}`), event: "failed", code: "invalid_command", opID: "op-h-roles2"},
		{name: "number as id", body: upd("op-h-num", `{"displayName":12}`), event: "failed", code: "invalid_command", opID: "op-h-num"},
		{name: "empty ifMatch", body: ce("op-h-ifm", "gdap.relationship.update", `{"relationshipId":"`+relID+`","changes":{"displayName":"x"},"ifMatch":""}`), event: "failed", code: "invalid_command", opID: "op-h-ifm"},
		{name: "customer tenant not guid", body: ce("op-h-cust", "gdap.customer.removeDap", `{"customerTenantId":"contoso.onmicrosoft.com"}`), event: "failed", code: "invalid_command", opID: "op-h-cust"},
	}
	require.GreaterOrEqual(t, len(cases), 30)
	b := setup(t, nil)
	for i, c := range cases {
		require.NoError(t, b.SendBody(t.Context(), fmt.Sprintf("hostile-%02d", i), []byte(c.body)), c.name)
	}
	b.drain(t)

	rejectedByMsg := map[string]string{}
	rejected, err := b.EventsOfType("gdap.command.rejected")
	require.NoError(t, err)
	for _, e := range rejected {
		var d struct {
			MessageID string                `json:"messageId"`
			Error     struct{ Code string } `json:"error"`
		}
		require.NoError(t, e.Decode(&d))
		rejectedByMsg[d.MessageID] = d.Error.Code
	}
	outcomes, err := b.Outcomes()
	require.NoError(t, err)
	failed := 0
	for i, c := range cases {
		switch c.event {
		case "rejected":
			require.Equal(t, c.code, rejectedByMsg[fmt.Sprintf("hostile-%02d", i)], "%s: rejected with %s", c.name, c.code)
		case "failed":
			require.Len(t, outcomes[c.opID], 1, c.name)
			requireFailed(t, outcomes[c.opID][0], c.code)
			failed++
		}
	}
	require.Len(t, outcomes, failed, "no other operation was accepted")
	require.Zero(t, graphCalls(b), "no upstream call")
	require.Zero(t, b.PC.Counters().CustomerGets+b.PC.Counters().CustomerPatches)
	for _, inv := range b.Emu.Invocations() {
		require.Equal(t, http.StatusOK, inv.StatusCode, "message %s answered 200", inv.MessageID)
	}
}
