package engine

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
)

// TestReservedIDs: a command from the commands queue may not take an id in
// the service's reserved space (gdapflow.*): it is rejected invalid_command
// naming the id field and nothing is recorded. A deferred command (checked
// when it first arrived) is parsed without that check.
func TestReservedIDs(t *testing.T) {
	t.Parallel()
	const id = "gdapflow.sweep.autoextend.rel-1.2026-11-22"
	body := func(t *testing.T) []byte {
		return commandBody(t, id, command.TypeSweepRun, map[string]any{})
	}

	t.Run("commands queue: rejected", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.send(t, body(t))
		require.NoError(t, err)
		rej := b.rejections(t)
		require.Len(t, rej, 1)
		e := rej[0]["error"].(map[string]any)
		require.Equal(t, "invalid_command", e["code"])
		require.Equal(t, "id", e["field"])
		require.Contains(t, e["message"], command.ReservedIDPrefix)
		_, err = b.led.Get(t.Context(), id)
		require.ErrorIs(t, err, ledger.ErrNotFound, "nothing is accepted")
	})

	t.Run("deferred command: accepted", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c, err := json.Marshal(op.Continuation{Kind: op.KindDeferred, OperationID: id,
			Deferred: &op.Deferred{InputID: "m-orig", Count: 1, Since: b.clock.Now(), Command: body(t)}})
		require.NoError(t, err)
		require.NoError(t, b.eng.HandleContinuation(t.Context(), b.inv("m-defer"), c))
		require.Empty(t, b.rejections(t))
		rec, err := b.led.Get(t.Context(), id)
		require.NoError(t, err)
		require.Equal(t, command.TypeSweepRun, rec.CommandType)
	})

	t.Run("service-issued command on continuations: accepted", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c, err := json.Marshal(op.Continuation{Kind: op.KindCommand, OperationID: id, Command: body(t)})
		require.NoError(t, err)
		require.NoError(t, b.eng.HandleContinuation(t.Context(), b.inv(id), c))
		require.Empty(t, b.rejections(t))
		rec, err := b.led.Get(t.Context(), id)
		require.NoError(t, err)
		require.Equal(t, command.TypeSweepRun, rec.CommandType)
	})
}
