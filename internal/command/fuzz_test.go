package command

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/op"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(msg(TypeRelationshipUpdate, `{"relationshipId":"`+relID+`","changes":{"duration":"P2Y","accessDetails":{"unifiedRoles":[{"roleDefinitionId":"`+roleA+`"}]}}}`)))
	f.Add([]byte(msg(TypeRelationshipRequest, `{"relationshipId":"`+relID+`","action":"approve"}`)))
	f.Add([]byte(msg(TypeRemoveGlobalAdmin, `{"relationshipId":"`+relID+`","enableAutoExtend":true}`)))
	f.Add([]byte(msg(TypeRemoveDAP, `{"customerTenantId":"`+tenantID+`"}`)))
	f.Add([]byte(msg(TypeSweepRun, `{}`)))
	f.Add([]byte(`{"specversion":"1.0","id":"a","id":"b","source":"/s","type":"x","data":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := ParseEnvelope(body)
		if err != nil {
			var ce *Error
			require.ErrorAs(t, err, &ce)
			require.Equal(t, op.CodeInvalidCommand, ce.Code)
			require.Equal(t, StageEnvelope, ce.Stage)
			return
		}
		require.NotEmpty(t, env.ID)
		require.LessOrEqual(t, len(env.ID), 128)
		require.Len(t, env.ContentHash, 64)
		require.True(t, json.Valid(env.Data))
		// Parsing is deterministic.
		again, err := ParseEnvelope(body)
		require.NoError(t, err)
		require.Equal(t, env.ContentHash, again.ContentHash)

		cmd, err := env.Decode()
		if err != nil {
			var ce *Error
			require.ErrorAs(t, err, &ce)
			require.Contains(t, []op.Code{op.CodeInvalidCommand, op.CodeUnsupportedCommand}, ce.Code)
			require.Equal(t, StageData, ce.Stage)
			return
		}
		require.Equal(t, env.Type, cmd.Type())
		if u, ok := cmd.(*UpdateRelationship); ok {
			require.NotEmpty(t, u.ToGDAPChanges().Fields())
		}
	})
}
