package command

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/op"
)

// withID builds a gdap.sweep.run command body with the given id.
func withID(id string) []byte {
	return []byte(strings.Replace(msg(TypeSweepRun, `{}`), `"id":"op-1"`, `"id":"`+id+`"`, 1))
}

func TestReservedIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id       string
		reserved bool
	}{
		{"gdapflow.sweep.autoextend.rel-1.2026-12-06", true},
		{"gdapflow.", true},
		{"gdapflow.x", true},
		{"GDAPFLOW.x", false}, // ids are case-sensitive; the contract reserves the exact prefix
		{"gdapflow", false},
		{"gdapflow-x", false},
		{"sweep.autoextend.rel-1.2026-12-06", false},
		{"op-1", false},
		{"x.gdapflow.y", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.reserved, IsReservedID(tt.id))

			// Parsing for the commands queue refuses exactly the reserved ids.
			env, err := ParseCommandsEnvelope(withID(tt.id))
			if !tt.reserved {
				require.NoError(t, err)
				require.Equal(t, tt.id, env.ID)
				require.NoError(t, CheckReservedID(tt.id))
				return
			}
			require.Nil(t, env)
			var cerr *Error
			require.True(t, errors.As(err, &cerr))
			require.Equal(t, op.CodeInvalidCommand, cerr.Code)
			require.Equal(t, StageEnvelope, cerr.Stage, "no accepted operation: gdap.command.rejected")
			require.Equal(t, "id", cerr.Field)
			require.Contains(t, cerr.Message, ReservedIDPrefix)
			require.Equal(t, err.Error(), CheckReservedID(tt.id).Error())

			// The same body is an acceptable service-issued command
			// (continuations queue, or re-read from the ledger).
			env, err = ParseEnvelope(withID(tt.id))
			require.NoError(t, err)
			require.Equal(t, tt.id, env.ID)
		})
	}
}

func TestParseCommandsEnvelopeKeepsOtherErrors(t *testing.T) {
	t.Parallel()
	// An envelope failure is reported as such, whatever the id.
	_, err := ParseCommandsEnvelope([]byte(`{"specversion":"1.0","id":"gdapflow.x"}`))
	require.Error(t, err)
	require.Equal(t, op.CodeInvalidCommand, CodeOf(err))
}
