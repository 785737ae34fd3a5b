package command

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/op"
)

// TestErrorNamesField checks that every kind of validation failure names the
// JSON path of the offending field in Field and at the start of Message.
func TestErrorNamesField(t *testing.T) {
	t.Parallel()
	upd := func(changes string) string {
		return msg(TypeRelationshipUpdate, `{"relationshipId":"`+relID+`","changes":`+changes+`}`)
	}
	env := func(attrs string) string {
		return `{"specversion":"1.0","source":"/s","type":"gdap.sweep.run","data":{}` + attrs + `}`
	}
	tests := []struct {
		name    string
		body    string
		code    op.Code
		field   string
		message string // the whole Message
	}{
		// schema keywords, data stage
		{"enum, number given", upd(`{"autoExtendDuration":180}`), op.CodeInvalidCommand,
			"data.changes.autoExtendDuration", "data.changes.autoExtendDuration: must be one of 'P0D', 'PT0S', 'P180D'"},
		{"enum, string given", upd(`{"autoExtendDuration":"P90D"}`), op.CodeInvalidCommand,
			"data.changes.autoExtendDuration", "data.changes.autoExtendDuration: must be one of 'P0D', 'PT0S', 'P180D'"},
		{"required", msg(TypeRelationshipUpdate, `{"relationshipId":"`+relID+`"}`), op.CodeInvalidCommand,
			"data.changes", "data.changes: required"},
		{"unknown member", upd(`{"status":"active"}`), op.CodeInvalidCommand,
			"data.changes.status", "data.changes.status: unknown field"},
		{"unknown top-level member", msg(TypeSweepRun, `{"force":true,"all":1}`), op.CodeInvalidCommand,
			"data.all", "data.all: unknown field (also unknown: force)"},
		{"minProperties", upd(`{}`), op.CodeInvalidCommand,
			"data.changes", "data.changes: must have at least 1 member(s) (got 0)"},
		{"minLength", upd(`{"displayName":""}`), op.CodeInvalidCommand,
			"data.changes.displayName", "data.changes.displayName: must be at least 1 character(s) long (got 0)"},
		{"type", upd(`{"displayName":5}`), op.CodeInvalidCommand,
			"data.changes.displayName", "data.changes.displayName: must be a string (got number)"},
		{"type object", upd(`{"customer":"x"}`), op.CodeInvalidCommand,
			"data.changes.customer", "data.changes.customer: must be an object (got string)"},
		{"minItems", upd(`{"accessDetails":{"unifiedRoles":[]}}`), op.CodeInvalidCommand,
			"data.changes.accessDetails.unifiedRoles", "data.changes.accessDetails.unifiedRoles: must have at least 1 item(s) (got 0)"},
		{"pattern in array", upd(`{"accessDetails":{"unifiedRoles":[{"roleDefinitionId":"` + roleA + `"},{"roleDefinitionId":"x"}]}}`), op.CodeInvalidCommand,
			"data.changes.accessDetails.unifiedRoles[1].roleDefinitionId",
			"data.changes.accessDetails.unifiedRoles[1].roleDefinitionId: 'x' does not match the pattern ^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"},
		{"two fields wrong", msg(TypeRemoveDAP, `{"tenantId":"x"}`), op.CodeInvalidCommand,
			"data.customerTenantId", "data.customerTenantId: required; data.tenantId: unknown field"},

		// rules beyond the schema, data stage
		{"duration in months", upd(`{"duration":"P3M"}`), op.CodeInvalidCommand,
			"data.changes.duration", `data.changes.duration: "P3M" is not a whole number of days (months and partial days are not allowed)`},
		{"duration too long", upd(`{"duration":"P731D"}`), op.CodeInvalidCommand,
			"data.changes.duration", `data.changes.duration: "P731D" is 731 days; must be between P1D and P2Y (730 days)`},
		{"duplicate role", upd(`{"accessDetails":{"unifiedRoles":[{"roleDefinitionId":"` + roleA + `"},{"roleDefinitionId":"` + strings.ToUpper(roleA) + `"}]}}`), op.CodeInvalidCommand,
			"data.changes.accessDetails.unifiedRoles[1].roleDefinitionId", "data.changes.accessDetails.unifiedRoles[1].roleDefinitionId: duplicate of unifiedRoles[0]"},
		{"unsupported type", msg("gdap.relationship.frobnicate", `{}`), op.CodeUnsupportedCommand,
			"type", `type: unsupported command type "gdap.relationship.frobnicate" (supported: ` + strings.Join(Types(), ", ") + `)`},

		// envelope stage
		{"missing id", env(``), op.CodeInvalidCommand, "id", "id: required"},
		{"bad id", env(`,"id":"a b"`), op.CodeInvalidCommand, "id", "id: 'a b' does not match the pattern ^[A-Za-z0-9._:-]{1,128}$"},
		{"duplicate member", msg(TypeRelationshipRequest, `{"relationshipId":"`+relID+`","action":"approve","action":"terminate"}`), op.CodeInvalidCommand,
			"data.action", "data.action: duplicate member name"},
		{"whole body", "hello", op.CodeInvalidCommand, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := ParseEnvelope([]byte(tt.body))
			if err == nil {
				_, err = e.Decode()
			}
			var ce *Error
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tt.code, ce.Code)
			require.Equal(t, tt.field, ce.Field)
			require.Equal(t, tt.field, FieldOf(err))
			require.Equal(t, string(tt.code)+": "+ce.Message, err.Error())
			if tt.message != "" {
				require.Equal(t, tt.message, ce.Message)
			}
			if tt.field == "" {
				require.NotEmpty(t, ce.Message)
				return
			}
			require.True(t, strings.HasPrefix(ce.Message, tt.field+": "), ce.Message)
		})
	}
}

func TestFieldOfOtherErrors(t *testing.T) {
	t.Parallel()
	require.Empty(t, FieldOf(nil))
	require.Empty(t, FieldOf(errString("x")))
}

type errString string

func (e errString) Error() string { return string(e) }
