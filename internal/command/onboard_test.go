package command

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/op"
)

const groupA = "0b1d3b4e-5a1e-4c7e-9d7e-2f1f0c7a9e01"

func TestOnboardingCommands(t *testing.T) {
	t.Parallel()
	roles := `"accessDetails":{"unifiedRoles":[{"roleDefinitionId":"` + roleB + `"}]}`
	tests := []struct {
		name string
		body string
		want Command
	}{
		{"create minimal", msg(TypeRelationshipCreate, `{"displayName":"Contoso","duration":"P2Y",`+roles+`}`),
			&CreateRelationship{DisplayName: "Contoso", Duration: "P730D", AutoExtendDuration: "PT0S", UnifiedRoles: []string{roleB}, LockForApproval: true}},
		{"create full", msg(TypeRelationshipCreate, `{"displayName":"Contoso","duration":"P90D",`+roles+`,
			"customer":{"tenantId":"`+tenantID+`","displayName":"Contoso Ltd"},"autoExtendDuration":"P180D","lockForApproval":true,
			"accessAssignments":[{"securityGroupId":"`+groupA+`","roles":[{"roleDefinitionId":"`+roleB+`"}]}]}`),
			&CreateRelationship{DisplayName: "Contoso", Duration: "P90D", AutoExtendDuration: "P180D", UnifiedRoles: []string{roleB},
				Customer: &Customer{TenantID: tenantID, DisplayName: "Contoso Ltd"}, LockForApproval: true,
				Assignments: []Assignment{{SecurityGroupID: groupA, Roles: []string{roleB}}}}},
		{"create without lock", msg(TypeRelationshipCreate, `{"displayName":"C","duration":"P1D",`+roles+`,"lockForApproval":false,"autoExtendDuration":"P0D"}`),
			&CreateRelationship{DisplayName: "C", Duration: "P1D", AutoExtendDuration: "PT0S", UnifiedRoles: []string{roleB}}},
		{"set", msg(TypeAssignmentsSet, `{"relationshipId":"`+relID+`","prune":true,"assignments":[{"securityGroupId":"`+groupA+`","roles":[{"roleDefinitionId":"`+roleA+`"},{"roleDefinitionId":"`+roleB+`"}]}]}`),
			&SetAssignments{RelationshipID: relID, Prune: true, Assignments: []Assignment{{SecurityGroupID: groupA, Roles: []string{roleA, roleB}}}}},
		{"set awaiting approval", msg(TypeAssignmentsSet, `{"relationshipId":"`+relID+`","awaitApproval":true,"assignments":[{"securityGroupId":"`+groupA+`","roles":[{"roleDefinitionId":"`+roleA+`"}]}]}`),
			&SetAssignments{RelationshipID: relID, AwaitApproval: true, Assignments: []Assignment{{SecurityGroupID: groupA, Roles: []string{roleA}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, err := ParseEnvelope([]byte(tt.body))
			require.NoError(t, err)
			cmd, err := env.Decode()
			require.NoError(t, err)
			require.Equal(t, tt.want, cmd)
		})
	}
}

func TestOnboardingRejected(t *testing.T) {
	t.Parallel()
	role := func(id string) string { return `{"roleDefinitionId":"` + id + `"}` }
	create := func(extra string) string {
		return msg(TypeRelationshipCreate, `{"displayName":"Contoso","duration":"P730D","accessDetails":{"unifiedRoles":[`+role(roleB)+`]}`+extra+`}`)
	}
	group := func(id string, roles ...string) string {
		return `{"securityGroupId":"` + id + `","roles":[` + strings.Join(roles, ",") + `]}`
	}
	set := func(assignments ...string) string {
		return msg(TypeAssignmentsSet, `{"relationshipId":"`+relID+`","assignments":[`+strings.Join(assignments, ",")+`]}`)
	}
	tests := []struct {
		name  string
		body  string
		code  op.Code
		field string
	}{
		{"create no roles", msg(TypeRelationshipCreate, `{"displayName":"C","duration":"P730D","accessDetails":{"unifiedRoles":[]}}`), op.CodeInvalidCommand, "data.accessDetails.unifiedRoles"},
		{"create name 51", msg(TypeRelationshipCreate, `{"displayName":"`+strings.Repeat("x", 51)+`","duration":"P730D","accessDetails":{"unifiedRoles":[`+role(roleB)+`]}}`), op.CodeInvalidCommand, "data.displayName"},
		{"create duration too long", msg(TypeRelationshipCreate, `{"displayName":"C","duration":"P731D","accessDetails":{"unifiedRoles":[`+role(roleB)+`]}}`), op.CodeInvalidCommand, "data.duration"},
		{"create duration months", msg(TypeRelationshipCreate, `{"displayName":"C","duration":"P1M","accessDetails":{"unifiedRoles":[`+role(roleB)+`]}}`), op.CodeInvalidCommand, "data.duration"},
		{"create duplicate role", msg(TypeRelationshipCreate, `{"displayName":"C","duration":"P730D","accessDetails":{"unifiedRoles":[`+role(roleB)+`,`+role(strings.ToUpper(roleB))+`]}}`), op.CodeInvalidCommand, "data.accessDetails.unifiedRoles[1].roleDefinitionId"},
		{"create GA with auto-extend", msg(TypeRelationshipCreate, `{"displayName":"C","duration":"P730D","autoExtendDuration":"P180D","accessDetails":{"unifiedRoles":[`+role(roleA)+`]}}`), op.CodeGlobalAdminBlocksAutoExtend, "data.autoExtendDuration"},
		{"create assignment role not granted", create(`,"accessAssignments":[` + group(groupA, role(roleA)) + `]`), op.CodeInvalidCommand, "data.accessAssignments[0].roles[0].roleDefinitionId"},
		{"create assignments without lock", create(`,"lockForApproval":false,"accessAssignments":[` + group(groupA, role(roleB)) + `]`), op.CodeInvalidCommand, "data.accessAssignments"},
		{"create unknown field", create(`,"status":"active"`), op.CodeInvalidCommand, "data.status"},
		{"set group twice", set(group(groupA, role(roleB)), group(strings.ToUpper(groupA), role(roleA))), op.CodeInvalidCommand, "data.assignments[1].securityGroupId"},
		{"set no roles", set(group(groupA)), op.CodeInvalidCommand, "data.assignments[0].roles"},
		{"set bad group", set(group("not-a-guid", role(roleB))), op.CodeInvalidCommand, "data.assignments[0].securityGroupId"},
		{"set empty", set(), op.CodeInvalidCommand, "data.assignments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, err := ParseEnvelope([]byte(tt.body))
			require.NoError(t, err)
			_, err = env.Decode()
			require.Error(t, err)
			require.Equal(t, tt.code, CodeOf(err), err.Error())
			require.Equal(t, tt.field, FieldOf(err), err.Error())
		})
	}
}
