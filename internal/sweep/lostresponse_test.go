package sweep

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/op"
)

// lostResponseClient loses the response of one write of the state row:
// the write executes, and the caller gets the answer to the SDK's retry of
// it instead (409 for an insert, 412 for a replace: the write itself got
// there first), as when a response is lost on the wire.
type lostResponseClient struct {
	tableClient
	mu sync.Mutex
	// lose is the number (1-based) of the state-row write to lose; n
	// counts them.
	lose, n int
}

// lost reports whether this state-row write is the one to lose.
func (c *lostResponseClient) lost() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return c.n == c.lose
}

func (c *lostResponseClient) AddEntity(ctx context.Context, entity []byte, o *aztables.AddEntityOptions) (aztables.AddEntityResponse, error) {
	resp, err := c.tableClient.AddEntity(ctx, entity, o)
	if err == nil && c.lost() {
		return c.tableClient.AddEntity(ctx, entity, o)
	}
	return resp, err
}

func (c *lostResponseClient) UpdateEntity(ctx context.Context, entity []byte, o *aztables.UpdateEntityOptions) (aztables.UpdateEntityResponse, error) {
	resp, err := c.tableClient.UpdateEntity(ctx, entity, o)
	if err == nil && c.lost() {
		return c.tableClient.UpdateEntity(ctx, entity, o)
	}
	return resp, err
}

// TestLostStateWriteResponse loses the response of each state-row write
// of a four-page sweep in turn (its creation, the four page commits, the
// final write): the sweep must still complete exactly once. A lost
// response on a page commit used to read as "another invocation committed
// this page" and stop the sweep's chain for good.
func TestLostStateWriteResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		lose int
	}{
		{"create", 1},
		{"commit page 1", 2},
		{"commit page 2", 3},
		{"commit page 4, finishing", 5},
		{"done", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{pageSize: 2, maxPages: 10})
			b.sw.store.client = &lostResponseClient{tableClient: b.sw.store.client, lose: tt.lose}
			now := b.clock.Now()
			for i := range 7 {
				b.add(t, activeRel(now, time.Duration(10+i*10)*day))
			}
			b.sweep(t, "op-1")
			require.Equal(t, op.SweepStatus{Done: true}, b.status(t, "op-1"), "lost response on write %d", tt.lose)
			require.Len(t, b.eventData(t, typeSweepCompleted), 1)
			sum := b.summary(t, "op-1")
			require.Equal(t, 7, sum.Relationships, fmt.Sprint(sum))
			require.Equal(t, 4, sum.Pages)
		})
	}
}

// failingClient fails the fail-th state-row replace (1-based) without
// executing it, as an unavailable Table Storage would.
type failingClient struct {
	tableClient
	mu      sync.Mutex
	fail, n int
}

var errTableDown = errors.New("injected: table storage unavailable")

func (c *failingClient) UpdateEntity(ctx context.Context, entity []byte, o *aztables.UpdateEntityOptions) (aztables.UpdateEntityResponse, error) {
	c.mu.Lock()
	c.n++
	fail := c.n == c.fail
	c.mu.Unlock()
	if fail {
		return aztables.UpdateEntityResponse{}, errTableDown
	}
	return c.tableClient.UpdateEntity(ctx, entity, o)
}

// TestMultiPageInvocationFailsAfterCommits runs a continuation that
// processes several pages and fails on a later page's commit, after it
// committed the pages in between: its message, redelivered (or deferred)
// with the page it started at, must resume the sweep from the checkpoint.
// It used to be acknowledged as stale, leaving the sweep without a chain.
func TestMultiPageInvocationFailsAfterCommits(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{pageSize: 2, maxPages: 1})
	now := b.clock.Now()
	for i := range 7 {
		b.add(t, activeRel(now, time.Duration(10+i*10)*day))
	}
	require.NoError(t, b.start(t, "op-1")) // page 0, then a continuation for page 1
	m, ok := b.sender.pop()
	require.True(t, ok)
	b.sw.opts.MaxPagesPerInvocation = 10
	real := b.sw.store.client
	b.sw.store.client = &failingClient{tableClient: real, fail: 3} // commits of pages 1 and 2 pass, page 3's fails
	require.ErrorIs(t, b.sw.Continue(t.Context(), b.inv(), payloadOf(t, m)), errTableDown)
	b.sw.store.client = real
	st, err := b.sw.store.loadState(t.Context())
	require.NoError(t, err)
	require.Equal(t, 3, st.Page, "pages 1 and 2 were committed by the failed invocation")

	require.NoError(t, b.sw.Continue(t.Context(), b.inv(), payloadOf(t, m)), "the redelivery")
	b.drain(t)
	require.Equal(t, op.SweepStatus{Done: true}, b.status(t, "op-1"))
	require.Len(t, b.eventData(t, typeSweepCompleted), 1)
	require.Equal(t, 7, b.summary(t, "op-1").Relationships)
}
