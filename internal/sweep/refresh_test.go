package sweep

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

// pendingRelationship seeds a relationship awaiting approval, seen by one sweep.
func pendingRelationship(t *testing.T, b *testBundle) string {
	t.Helper()
	id := b.add(t, gdap.Relationship{DisplayName: "Pending", Status: gdap.StatusApprovalPending,
		Duration: "P730D", UnifiedRoles: []string{"729827e3-9c14-49f7-bb1b-9608f156bbb8"}})
	b.sweep(t, "s-1")
	return id
}

// approveNow has the customer approve relationship id and lets the
// simulator make it active.
func approveNow(t *testing.T, b *testBundle, id string) {
	t.Helper()
	require.NoError(t, b.sim.Approve(id, &gdap.Customer{TenantID: "5b8c7e1a-1d2f-4a5b-9c3d-2e1f0a9b8c7d", DisplayName: "Contoso"}))
	b.clock.Advance(2 * time.Minute) // approved → active
}

func TestRefreshAnnouncesActivationOnceAndWakes(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	id := pendingRelationship(t, b)
	approveNow(t, b, id)

	require.NoError(t, b.sw.Refresh(t.Context(), b.inv(), id))
	activated := b.sender.unique(testEvents, "gdap.relationship.activated")
	require.Len(t, activated, 1)
	wakes := b.sender.unique(testContinuations, op.SubjectContinuation)
	require.Len(t, wakes, 1)
	require.Equal(t, string(op.KindWake), wakes[0].ApplicationProperties["kind"])
	require.Equal(t, op.FollowUpID(id), wakes[0].ApplicationProperties["operationId"])

	// A second delivery and the next sweep see the row: nothing more.
	sends := b.sender.count(testEvents)
	require.NoError(t, b.sw.Refresh(t.Context(), b.inv(), id))
	b.sweep(t, "s-2")
	require.Len(t, b.sender.unique(testEvents, "gdap.relationship.activated"), 1)
	require.Equal(t, sends+1, b.sender.count(testEvents), "only gdap.sweep.completed of s-2")
}

func TestRefreshAnnouncesEnd(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	id := b.add(t, gdap.Relationship{DisplayName: "Active", Status: gdap.StatusActive, Duration: "P730D",
		UnifiedRoles: []string{"729827e3-9c14-49f7-bb1b-9608f156bbb8"}})
	b.sweep(t, "s-1")
	require.NoError(t, b.sim.TerminateByCustomer(id))
	b.clock.Advance(2 * time.Minute)
	require.NoError(t, b.sw.Refresh(t.Context(), b.inv(), id))
	require.Len(t, b.sender.unique(testEvents, "gdap.relationship.ended"), 1)
	b.sweep(t, "s-2")
	require.Len(t, b.sender.unique(testEvents, "gdap.relationship.ended"), 1)
}

func TestRefreshUnknownRelationship(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	require.NoError(t, b.sw.Refresh(t.Context(), b.inv(), "00000000-0000-0000-0000-000000000000-00000000-0000-0000-0000-000000000000"))
	require.Zero(t, b.sender.count(testEvents))
	require.Zero(t, b.sender.count(testContinuations))
}

func TestWriteRowIsETagGuarded(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := t.Context()
	st := b.sw.store
	rec := record{DisplayName: "a", Status: gdap.StatusActive}
	require.NoError(t, st.writeRow(ctx, "r1", rec, ""))
	require.ErrorIs(t, st.writeRow(ctx, "r1", rec, ""), ErrConflict, "insert of an existing row")
	got, etag, err := st.readRow(ctx, "r1")
	require.NoError(t, err)
	require.Equal(t, "a", got.DisplayName)
	// A sweep page rewrites the row in between.
	stale, err := st.writeRows(ctx, []row{{id: "r1", rec: record{DisplayName: "b", Status: gdap.StatusActive, Activated: true}}})
	require.NoError(t, err)
	require.Empty(t, stale)
	require.ErrorIs(t, st.writeRow(ctx, "r1", rec, etag), ErrConflict)
	got, etag, err = st.readRow(ctx, "r1")
	require.NoError(t, err)
	require.True(t, got.Activated)
	require.NoError(t, st.writeRow(ctx, "r1", *got, etag))
}
