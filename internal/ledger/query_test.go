package ledger_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/localenv"
	"github.com/gdapflow/gdapflow/internal/ledger"
)

// listSetup gives a test its own ledger table holding records in several
// states, updated an hour apart (the newest first in ids).
func listSetup(t *testing.T) (*ledger.Store, time.Time) {
	t.Helper()
	az := localenv.SharedAzurite(t)
	client, err := az.NewTableClient(localenv.UniqueName("ledgerlist"))
	require.NoError(t, err)
	store := ledger.New(client)
	require.NoError(t, store.EnsureTable(t.Context()))
	base := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for i, st := range []ledger.State{ledger.StateFailed, ledger.StateWaiting, ledger.StateSucceeded, ledger.StateFailed, ledger.StateRunning} {
		at := base.Add(-time.Duration(i) * time.Hour)
		require.NoError(t, store.Create(t.Context(), &ledger.Record{
			OperationID: "op-" + string(rune('a'+i)), CommandType: "gdap.sweep.run", Source: "/test",
			ContentHash: "h", State: st, AcceptedAt: at, UpdatedAt: at,
		}))
	}
	return store, base
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	store, base := listSetup(t)
	ids := func(rs []*ledger.Record) []string {
		out := []string{}
		for _, r := range rs {
			out = append(out, r.OperationID)
		}
		return out
	}
	tests := []struct {
		name string
		opts *ledger.ListOptions
		want []string
	}{
		{"all, newest first", nil, []string{"op-a", "op-b", "op-c", "op-d", "op-e"}},
		{"failed", &ledger.ListOptions{States: []ledger.State{ledger.StateFailed}}, []string{"op-a", "op-d"}},
		{"waiting or running", &ledger.ListOptions{States: []ledger.State{ledger.StateWaiting, ledger.StateRunning}}, []string{"op-b", "op-e"}},
		{"since", &ledger.ListOptions{UpdatedSince: base.Add(-90 * time.Minute)}, []string{"op-a", "op-b"}},
		{"failed since", &ledger.ListOptions{States: []ledger.State{ledger.StateFailed}, UpdatedSince: base.Add(-4 * time.Hour)}, []string{"op-a", "op-d"}},
		{"nothing", &ledger.ListOptions{UpdatedSince: base.Add(time.Minute)}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := store.List(t.Context(), tt.opts)
			require.NoError(t, err)
			require.Equal(t, tt.want, ids(got))
		})
	}
	got, err := store.List(t.Context(), &ledger.ListOptions{Limit: 2})
	require.NoError(t, err)
	require.Len(t, got, 2)
	_, err = store.List(t.Context(), &ledger.ListOptions{States: []ledger.State{"done"}})
	require.ErrorIs(t, err, ledger.ErrInvalid)
}
