package engine

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

func TestUpdateWorkflowOperations(t *testing.T) {
	t.Parallel()
	on := gdap.AutoExtendOn
	t.Run("active: remove Global Administrator, then auto-extend", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, active("o1", gdap.GlobalAdminRoleID, roleHelpFx))
		b.command(t, "op-1", command.TypeRelationshipUpdate, map[string]any{"relationshipId": rel,
			"changes": map[string]any{"accessDetails": roles(roleHelpFx), "autoExtendDuration": on}})
		b.deliver(t)
		o := requireSucceeded(t, b, "op-1")
		require.Equal(t, []string{roleHelpFx}, o.Data.Result.Relationship.UnifiedRoles)
		require.Equal(t, on, o.Data.Result.Relationship.AutoExtendDuration)
	})
	t.Run("an operation already in flight is followed", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, active("o2", gdap.GlobalAdminRoleID, roleHelpFx))
		b.command(t, "op-1", command.TypeRemoveGlobalAdmin, map[string]any{"relationshipId": rel})
		b.command(t, "op-2", command.TypeRelationshipUpdate, map[string]any{"relationshipId": rel,
			"changes": map[string]any{"accessDetails": roles(roleHelpFx)}})
		b.deliver(t)
		requireSucceeded(t, b, "op-1")
		requireSucceeded(t, b, "op-2")
		ops, err := b.sim.Operations(rel)
		require.NoError(t, err)
		require.Len(t, ops, 1, "one write")
	})
	t.Run("the 202 operation fails", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, active("o3", gdap.GlobalAdminRoleID, roleHelpFx))
		require.NoError(t, b.sim.FailNextOperation(rel))
		b.command(t, "op-1", command.TypeRelationshipUpdate, map[string]any{"relationshipId": rel, "changes": map[string]any{"accessDetails": roles(roleHelpFx)}})
		b.deliver(t)
		requireFailed(t, b, "op-1", op.CodeOperationFailed)
	})
}

// roles is the accessDetails of an update command.
func roles(ids ...string) map[string]any {
	var rs []map[string]string
	for _, id := range ids {
		rs = append(rs, map[string]string{"roleDefinitionId": id})
	}
	return map[string]any{"unifiedRoles": rs}
}
