package ledger_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/localenv"
	"github.com/gdapflow/gdapflow/internal/ledger"
)

// setupDue gives each test its own due index table in the package's Azurite.
func setupDue(t *testing.T, partitions int) *ledger.DueIndex {
	t.Helper()
	az := localenv.SharedAzurite(t)
	client, err := az.NewTableClient(localenv.UniqueName("due"))
	require.NoError(t, err)
	idx := ledger.NewDueIndex(client, &ledger.DueIndexOptions{Partitions: partitions})
	require.NoError(t, idx.EnsureTable(t.Context()))
	require.NoError(t, idx.EnsureTable(t.Context()), "idempotent")
	return idx
}

func TestDueIndexOverdueSlice(t *testing.T) {
	t.Parallel()
	for _, partitions := range []int{1, 4} {
		t.Run(fmt.Sprint(partitions), func(t *testing.T) {
			t.Parallel()
			idx := setupDue(t, partitions)
			ctx := t.Context()
			// Ten operations due a minute apart from t0, plus sub-second
			// precision and the contract's id alphabet.
			for i := range 10 {
				require.NoError(t, idx.Add(ctx, fmt.Sprintf("op-%02d", i), t0.Add(time.Duration(i)*time.Minute)))
			}
			require.NoError(t, idx.Add(ctx, "A.b:c-9", t0.Add(90*time.Second+123456700)))

			got, err := idx.Overdue(ctx, t0.Add(-time.Nanosecond*100), 100)
			require.NoError(t, err)
			require.Empty(t, got, "nothing due before t0")

			got, err = idx.Overdue(ctx, t0, 100)
			require.NoError(t, err)
			require.Equal(t, []ledger.DueEntry{{OperationID: "op-00", Due: t0}}, got, "due exactly now is overdue")

			got, err = idx.Overdue(ctx, t0.Add(3*time.Minute), 100)
			require.NoError(t, err)
			require.Equal(t, []ledger.DueEntry{
				{OperationID: "op-00", Due: t0},
				{OperationID: "op-01", Due: t0.Add(time.Minute)},
				{OperationID: "A.b:c-9", Due: t0.Add(90*time.Second + 123456700)},
				{OperationID: "op-02", Due: t0.Add(2 * time.Minute)},
				{OperationID: "op-03", Due: t0.Add(3 * time.Minute)},
			}, got, "earliest first, 100 ns precision")

			got, err = idx.Overdue(ctx, t0.Add(time.Hour), 3)
			require.NoError(t, err)
			require.Len(t, got, 3, "the page size bounds the slice")
			require.Equal(t, "op-00", got[0].OperationID)
			require.Equal(t, "op-01", got[1].OperationID)
			require.Equal(t, "A.b:c-9", got[2].OperationID)

			got, err = idx.Overdue(ctx, t0.Add(time.Hour), 0)
			require.NoError(t, err)
			require.Empty(t, got)
		})
	}
}

func TestDueIndexAddMoveRemove(t *testing.T) {
	t.Parallel()
	idx := setupDue(t, 0) // default partitions
	ctx := t.Context()
	overdue := func(now time.Time) []ledger.DueEntry {
		t.Helper()
		got, err := idx.Overdue(ctx, now, 100)
		require.NoError(t, err)
		return got
	}

	require.NoError(t, idx.Add(ctx, "op-1", t0))
	require.NoError(t, idx.Add(ctx, "op-1", t0), "idempotent")
	require.Equal(t, []ledger.DueEntry{{OperationID: "op-1", Due: t0}}, overdue(t0))

	// Moving later takes the operation out of the overdue slice.
	later := t0.Add(10 * time.Minute)
	require.NoError(t, idx.Move(ctx, "op-1", t0, later))
	require.Empty(t, overdue(t0.Add(time.Minute)))
	require.Equal(t, []ledger.DueEntry{{OperationID: "op-1", Due: later}}, overdue(later))
	require.NoError(t, idx.Move(ctx, "op-1", later, later), "moving to the same time is a no-op")
	require.NoError(t, idx.Move(ctx, "op-1", t0, later), "a repeated move (old entry gone) succeeds")
	require.NoError(t, idx.Move(ctx, "op-2", time.Time{}, later), "a move from nothing adds")
	require.Len(t, overdue(later), 2)

	require.NoError(t, idx.Remove(ctx, "op-1", later))
	require.NoError(t, idx.Remove(ctx, "op-1", later), "removing twice is fine")
	require.NoError(t, idx.Remove(ctx, "op-1", t0.Add(time.Hour)), "removing an entry never written is fine")
	require.Equal(t, []ledger.DueEntry{{OperationID: "op-2", Due: later}}, overdue(later))

	require.ErrorIs(t, idx.Add(ctx, "bad/id", t0), ledger.ErrInvalid)
	require.ErrorIs(t, idx.Add(ctx, "op-3", time.Time{}), ledger.ErrInvalid)
	require.ErrorIs(t, idx.Remove(ctx, "", t0), ledger.ErrInvalid)
}

// TestDueIndexSharesLedgerTable stores entries in the ledger's own table:
// records and entries never collide, and records never show up as due.
func TestDueIndexSharesLedgerTable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	idx := ledger.NewDueIndex(b.client, nil)
	ctx := t.Context()
	rec := newRecord("op-1")
	require.NoError(t, b.store.Create(ctx, rec))
	require.NoError(t, idx.Add(ctx, "op-1", t0))
	got, err := idx.Overdue(ctx, t0.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Equal(t, []ledger.DueEntry{{OperationID: "op-1", Due: t0}}, got)
	stored, err := b.store.Get(ctx, "op-1")
	require.NoError(t, err)
	require.Equal(t, rec.ContentHash, stored.ContentHash)
}
