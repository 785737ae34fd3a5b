package sweep

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/graphapi"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/upstream"
)

// TestGroupedPages: pages processed three at a time commit once per
// group, announce each relationship once, and an unchanged second sweep
// reads and writes nothing.
func TestGroupedPages(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{pageSize: 2, pagesPerCommit: 3})
	now := b.clock.Now()
	for i := range 7 {
		b.add(t, activeRel(now, time.Duration(10+i*10)*day))
	}
	b.sweep(t, "s-1")
	require.Equal(t, op.SweepStatus{Done: true}, b.status(t, "s-1"))
	sum := b.summary(t, "s-1")
	require.Equal(t, 7, sum.Relationships)
	require.Equal(t, 4, sum.Pages)
	require.Len(t, b.warnings(t, 0), 3)
	require.Len(t, b.sender.unique(testEvents, "gdap.relationship.activated"), 7)
	first := b.sw.Stats()
	// Start, two group commits (page 0, then pages 1-3 and finishing), done.
	require.EqualValues(t, 4, first.StateWrites)
	require.Zero(t, first.SnapshotReads)

	b.sweep(t, "s-2")
	second := b.sw.Stats()
	require.Equal(t, first.SnapshotReads, second.SnapshotReads)
	require.Equal(t, first.SnapshotWrites, second.SnapshotWrites)
	require.Equal(t, 7, b.summary(t, "s-2").Relationships)
}

// dupLister repeats the last relationship of the second page at the
// start of the third, as a list that shifted between two calls would.
type dupLister struct {
	lister
	mu   sync.Mutex
	n    int
	last gdap.Relationship
}

func (d *dupLister) ListRelationships(ctx context.Context, link string, top int) (graphapi.RelationshipPage, error) {
	page, err := d.lister.ListRelationships(ctx, link, top)
	if err != nil {
		return page, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n++
	switch d.n {
	case 2:
		d.last = page.Relationships[len(page.Relationships)-1]
	case 3:
		page.Relationships = append([]gdap.Relationship{d.last}, page.Relationships...)
	}
	return page, nil
}

// TestGroupWithRelationshipListedTwice: a relationship on two pages of one
// group (an invocation's first group is its first page; the second group
// is pages 1 and 2) is settled once: one row in one transaction, one
// announcement.
func TestGroupWithRelationshipListedTwice(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{pageSize: 2, pagesPerCommit: 2})
	b.sw.graph = &dupLister{lister: b.sw.graph}
	now := b.clock.Now()
	for i := range 5 {
		b.add(t, activeRel(now, time.Duration(10+i*10)*day))
	}
	b.sweep(t, "s-1")
	require.Equal(t, op.SweepStatus{Done: true}, b.status(t, "s-1"))
	require.Equal(t, 6, b.summary(t, "s-1").Relationships, "counted where listed")
	require.Len(t, b.sender.unique(testEvents, "gdap.relationship.activated"), 5)
	require.Equal(t, 5+3+1, b.sender.count(testEvents), "activated 5, expiring 3 (10, 20, 30 days), completed 1")
	require.Zero(t, b.sw.Stats().InsertConflicts)
}

// failingLister fails its call number fail (1-based) with a 503.
type failingLister struct {
	lister
	mu      sync.Mutex
	n, fail int
}

func (f *failingLister) ListRelationships(ctx context.Context, link string, top int) (graphapi.RelationshipPage, error) {
	f.mu.Lock()
	f.n++
	fail := f.n == f.fail
	f.mu.Unlock()
	if fail {
		return graphapi.RelationshipPage{}, &upstream.Error{Service: upstream.ServiceGraph, Operation: "list relationships", StatusCode: 503}
	}
	return f.lister.ListRelationships(ctx, link, top)
}

// TestListFailsInsideGroup: the listing fails on the second page of a
// group; the first is processed and committed, and the retry continues
// from the failed page.
func TestListFailsInsideGroup(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{pageSize: 2, pagesPerCommit: 3})
	b.sw.graph = &failingLister{lister: b.sw.graph, fail: 2}
	now := b.clock.Now()
	for i := range 5 {
		b.add(t, activeRel(now, time.Duration(100+i)*day))
	}
	require.NoError(t, b.start(t, "s-1"))
	st, err := b.sw.store.loadState(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, st.Page, "the page before the failure is committed")
	require.Equal(t, 1, st.Retries)
	b.clock.Advance(time.Hour) // past the retry delay
	b.drain(t)
	require.Equal(t, op.SweepStatus{Done: true}, b.status(t, "s-1"))
	sum := b.summary(t, "s-1")
	require.Equal(t, 5, sum.Relationships)
	require.Equal(t, 3, sum.Pages)
	require.Len(t, b.sender.unique(testEvents, "gdap.relationship.activated"), 5)
}
