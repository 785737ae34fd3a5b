package engine

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
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

// A 202 operation is polled after the 202's Retry-After, then, if it is
// still running, after half of it, then at the Retry-After: the
// simulator's removal (2 s not started, 10 s running; Retry-After 10 s) is
// seen done at the second poll, 17 s after the PATCH instead of 22 (each
// wait ends at the next whole second: op.ScheduleAt).
func TestOperationPollTiming(t *testing.T) {
	t.Parallel()
	t.Run("delays", func(t *testing.T) {
		t.Parallel()
		base := 10 * time.Second
		for _, tt := range []struct {
			polls int
			want  time.Duration
		}{
			{polls: 1, want: 5 * time.Second},
			{polls: 2, want: base},
			{polls: 5, want: base},
			{polls: 7, want: op.PollDelay(base, 7)},
			{polls: 50, want: op.MaxDelay},
		} {
			require.Equal(t, tt.want, operationPollDelay(base, tt.polls), "after poll %d", tt.polls)
		}
		require.Equal(t, time.Second, operationPollDelay(time.Second, 1), "never under a second")
	})
	t.Run("Global Administrator removal", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rel := b.addRelationship(t, active("p1", gdap.GlobalAdminRoleID, roleHelpFx))
		b.command(t, "op-1", command.TypeRelationshipUpdate, map[string]any{"relationshipId": rel,
			"changes": map[string]any{"accessDetails": roles(roleHelpFx)}})
		b.deliver(t)
		requireSucceeded(t, b, "op-1")
		require.Equal(t, 2, b.sim.Counters()[graphsim.CounterKey(http.MethodGet, graphsim.RouteOperation)], "polls")
		require.Equal(t, testStart.Add(17*time.Second), b.led.get(t, "op-1").FinishedAt)
	})
}
