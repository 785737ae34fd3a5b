package sweep

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

// requireNoPendingRows fails if a snapshot row is still Pending.
func requireNoPendingRows(t *testing.T, b *testBundle, ids []string) {
	t.Helper()
	rows, _, err := b.sw.store.readRows(t.Context(), ids)
	require.NoError(t, err)
	for i, r := range rows {
		require.NotNil(t, r, ids[i])
		require.False(t, r.Pending, "row of %s still Pending", ids[i])
	}
}

// TestFirstSweepReadsNoRow: a first sweep inserts the rows it has nothing
// to read for; a second sweep, unchanged, reads and writes none.
func TestFirstSweepReadsNoRow(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{pageSize: 3})
	now := b.clock.Now()
	var ids []string
	for i := range 8 {
		r := activeRel(now, time.Duration(100+i)*day)
		r.CreatedDateTime = now.Add(-400 * day) // activated long ago: nothing to announce
		ids = append(ids, b.add(t, r))
	}
	ids = append(ids, b.add(t, activeRel(now, 20*day))) // expiring: announced
	b.sweep(t, "s-1")
	first := b.sw.Stats()
	require.Zero(t, first.SnapshotReads)
	require.Zero(t, first.InsertConflicts)
	require.EqualValues(t, 10, first.SnapshotWrites, "9 inserted, the announced one written again")
	require.Len(t, b.warnings(t, 0), 1)

	b.sweep(t, "s-2")
	second := b.sw.Stats()
	require.Equal(t, first.SnapshotReads, second.SnapshotReads)
	require.Equal(t, first.SnapshotWrites, second.SnapshotWrites)
	requireNoPendingRows(t, b, ids)
}

// TestCrashAfterPendingInsert: the sends of a page fail after its rows
// were inserted Pending (a crash in between). The retry meets the rows,
// reads them back, counts the Pending ones as none and announces: every
// announcement goes out, and no row stays Pending.
func TestCrashAfterPendingInsert(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{pageSize: 10})
	now := b.clock.Now()
	var ids []string
	for i := range 4 {
		ids = append(ids, b.add(t, activeRel(now, time.Duration(5+i*10)*day)))
	}
	b.sender.setFail(onceFailer(func(entity string, m bus.Message) bool { return m.Subject == typeExpiring }))
	require.Error(t, b.start(t, "s-1"), "the first send fails")
	b.sender.setFail(nil)
	b.sweep(t, "s-1") // the trigger again: takes the page over
	require.Equal(t, op.SweepStatus{Done: true}, b.status(t, "s-1"))
	require.Len(t, b.warnings(t, 0), 3, "5, 15 and 25 days: every expiring relationship announced")
	require.Len(t, b.sender.unique(testEvents, "gdap.relationship.activated"), 4)
	require.Positive(t, b.sw.Stats().InsertConflicts, "the retry's inserts met the Pending rows")
	requireNoPendingRows(t, b, ids)
}

// lostInsertClient executes an insert transaction and answers with its
// retry's outcome (it fails: the rows exist), as when the first answer is
// lost on the wire.
type lostInsertClient struct {
	tableClient
	mu   sync.Mutex
	lost int
}

func (c *lostInsertClient) SubmitTransaction(ctx context.Context, actions []aztables.TransactionAction, o *aztables.SubmitTransactionOptions) (aztables.TransactionResponse, error) {
	resp, err := c.tableClient.SubmitTransaction(ctx, actions, o)
	if err == nil && actions[0].ActionType == aztables.TransactionTypeAdd {
		c.mu.Lock()
		c.lost++
		c.mu.Unlock()
		return c.tableClient.SubmitTransaction(ctx, actions, o)
	}
	return resp, err
}

// TestLostInsertAnswer: every insert transaction's answer is lost. The
// rows are read back and decided again: each announcement exactly once
// (counting duplicate sends), no row left Pending.
func TestLostInsertAnswer(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{pageSize: 4})
	lc := &lostInsertClient{tableClient: b.sw.store.client}
	b.sw.store.client = lc
	now := b.clock.Now()
	var ids []string
	for i := range 6 {
		ids = append(ids, b.add(t, activeRel(now, time.Duration(5+i*10)*day)))
	}
	b.sweep(t, "s-1")
	require.Positive(t, lc.lost)
	require.EqualValues(t, lc.lost, b.sw.Stats().InsertConflicts)
	require.Len(t, b.warnings(t, 0), 3)
	// Sends, duplicates included: 6 activated, 3 expiring, 1 completed.
	require.Equal(t, 10, b.sender.count(testEvents))
	requireNoPendingRows(t, b, ids)
}

// TestRowWrittenByRefreshIsRead: a relationship a webhook refresh stored
// before any sweep is unknown to the page index; its insert fails and the
// row is read, so the sweep does not announce it again.
func TestRowWrittenByRefreshIsRead(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{pageSize: 5})
	now := b.clock.Now()
	id := b.add(t, activeRel(now, 400*day))
	for i := range 3 {
		b.add(t, activeRel(now, time.Duration(200+i)*day))
	}
	require.NoError(t, b.sw.Refresh(t.Context(), b.inv(), id))
	require.Len(t, b.sender.unique(testEvents, "gdap.relationship.activated"), 1)
	b.sweep(t, "s-1")
	require.Equal(t, 5, b.sender.count(testEvents), "4 activated (one by the refresh) and the completed event")
	require.EqualValues(t, 1, b.sw.Stats().InsertConflicts)
}

// TestShiftedPagesNeedNoRead: deleting the first relationship moves every
// later one a position back; the neighbouring page indexes still know
// them, so a second sweep reads and writes no row.
func TestShiftedPagesNeedNoRead(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{pageSize: 2})
	now := b.clock.Now()
	gone := b.add(t, gdap.Relationship{DisplayName: "To delete", Status: gdap.StatusCreated, Duration: "P730D",
		UnifiedRoles: []string{"729827e3-9c14-49f7-bb1b-9608f156bbb8"}})
	for i := range 7 {
		r := activeRel(now, time.Duration(100+i)*day)
		r.DisplayName = fmt.Sprintf("rel-%d", i)
		b.add(t, r)
	}
	b.sweep(t, "s-1")
	before := b.sw.Stats()
	rel, err := b.graph.GetRelationship(t.Context(), gone)
	require.NoError(t, err)
	require.NoError(t, b.graph.DeleteRelationship(t.Context(), gone, rel.ETag))
	b.sweep(t, "s-2")
	after := b.sw.Stats()
	require.Equal(t, before.SnapshotReads, after.SnapshotReads)
	require.Equal(t, before.SnapshotWrites, after.SnapshotWrites)
	require.Equal(t, before.InsertConflicts, after.InsertConflicts)
	require.Equal(t, 7, b.summary(t, "s-2").Relationships)
}

// TestRefreshCountsPendingRowAsNone: a row left Pending by a crashed page
// does not stop a refresh from announcing.
func TestRefreshCountsPendingRowAsNone(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	id := pendingRelationship(t, b)
	approveNow(t, b, id)
	rel, err := b.graph.GetRelationship(t.Context(), id)
	require.NoError(t, err)
	d := decide(b.clock.Now(), rel, nil, b.sw.rules, "crashed")
	d.next.Pending = true
	stale, err := b.sw.store.writeRows(t.Context(), []row{{id: id, rec: d.next}})
	require.NoError(t, err)
	require.Empty(t, stale)

	require.NoError(t, b.sw.Refresh(t.Context(), b.inv(), id))
	require.Len(t, b.sender.unique(testEvents, "gdap.relationship.activated"), 1)
	requireNoPendingRows(t, b, []string{id})
}

// hookClient runs before() once, just before the first conditional write
// transaction (a row replaced over the version read) is submitted.
type hookClient struct {
	tableClient
	once   sync.Once
	before func()
}

func (c *hookClient) SubmitTransaction(ctx context.Context, actions []aztables.TransactionAction, o *aztables.SubmitTransactionOptions) (aztables.TransactionResponse, error) {
	if actions[0].IfMatch != nil {
		c.once.Do(c.before)
	}
	return c.tableClient.SubmitTransaction(ctx, actions, o)
}

// TestPageWriteLosesToRefresh: a webhook refresh stores a row between the
// sweep page's read of it and its write. The page's write is conditional
// on the version it read, fails, and the page reads and decides again:
// the refresh's row stays, and the activation is announced once.
func TestPageWriteLosesToRefresh(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	id := pendingRelationship(t, b)
	approveNow(t, b, id)
	b.sw.store.client = &hookClient{tableClient: b.sw.store.client, before: func() {
		require.NoError(t, b.sw.Refresh(t.Context(), b.inv(), id))
	}}
	b.sweep(t, "s-2")
	require.EqualValues(t, 1, b.sw.Stats().WriteConflicts)
	rows, _, err := b.sw.store.readRows(t.Context(), []string{id})
	require.NoError(t, err)
	require.Equal(t, RefreshSweepID, rows[0].ChangedBy, "the refresh's row was not overwritten")
	require.Len(t, b.sender.unique(testEvents, "gdap.relationship.activated"), 1)
	require.Len(t, b.sender.unique(testContinuations, op.SubjectContinuation), 1, "one wake")
}
