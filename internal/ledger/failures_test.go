package ledger_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/localenv"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
)

// TestRecentFailures: failed operations land in the failure index when
// their failure is recorded, once per operation, newest first, within the
// window asked for; succeeded ones and List are unaffected.
func TestRecentFailures(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	idx, err := localenv.SharedAzurite(t).NewTableClient(localenv.UniqueName("failures"))
	require.NoError(t, err)
	b.store.WithFailureIndex(idx)
	require.NoError(t, b.store.EnsureTable(ctx))
	fail := func(id string, at time.Time, code op.Code) {
		r := newRecord(id)
		require.NoError(t, b.store.Create(ctx, r))
		r.State, r.FinishedAt, r.UpdatedAt = ledger.StateFailed, at, at
		r.LastError = &op.Failure{Code: code, Message: "boom " + id}
		require.NoError(t, b.store.Update(ctx, r))
		r.OutcomePublished = true // the second update writes no entry
		r.UpdatedAt = at.Add(time.Minute)
		require.NoError(t, b.store.Update(ctx, r))
	}
	fail("op-old", t0.Add(-8*24*time.Hour), op.CodeThrottled)
	fail("op-a", t0.Add(-3*24*time.Hour), op.CodeOperationFailed)
	fail("op-b", t0.Add(-2*time.Hour), op.CodeThrottled)
	fail("op-c", t0.Add(-time.Hour), op.CodeThrottled)
	ok := newRecord("op-ok")
	ok.State = ledger.StateSucceeded
	require.NoError(t, b.store.Create(ctx, ok))

	tests := []struct {
		name      string
		limit     int
		want      []string
		truncated bool
	}{
		{"all in 7 days", 100, []string{"op-c", "op-b", "op-a"}, false},
		{"limited", 2, []string{"op-c", "op-b"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, truncated, err := b.store.RecentFailures(ctx, t0.Add(-7*24*time.Hour), t0, tt.limit)
			require.NoError(t, err)
			var ids []string
			for _, e := range got {
				ids = append(ids, e.OperationID)
			}
			require.Equal(t, tt.want, ids)
			require.Equal(t, tt.truncated, truncated)
			require.Equal(t, fmt.Sprintf("boom %s", got[0].OperationID), got[0].Message)
		})
	}
	got, _, err := b.store.RecentFailures(ctx, t0.Add(-7*24*time.Hour), t0, 100)
	require.NoError(t, err)
	require.Equal(t, op.CodeThrottled, got[0].Code)
	require.Equal(t, "gdap.relationship.update", got[0].CommandType)
	require.Equal(t, t0.Add(-time.Hour), got[0].FinishedAt)

	all, err := b.store.List(ctx, nil)
	require.NoError(t, err)
	require.Len(t, all, 5, "the ledger holds the records only")
}
