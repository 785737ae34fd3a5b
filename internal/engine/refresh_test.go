package engine

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/op"
)

// refreshingSweeper is a fakeSweeper that records refreshes.
type refreshingSweeper struct {
	fakeSweeper
	refreshed []string
}

var _ refresher = (*refreshingSweeper)(nil)

func (f *refreshingSweeper) Refresh(_ context.Context, _ op.Invocation, relID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshed = append(f.refreshed, relID)
	return nil
}

func TestRefreshContinuation(t *testing.T) {
	t.Parallel()
	sw := &refreshingSweeper{}
	b := setup(t, func(o *Options) { o.Sweeper = sw })
	for _, c := range []op.Continuation{
		{Kind: op.KindRefresh, RelationshipID: "rel-1"},
		{Kind: op.KindRefresh}, // names no relationship: dropped
	} {
		body, err := json.Marshal(c)
		require.NoError(t, err)
		require.NoError(t, b.eng.HandleContinuation(t.Context(), b.inv("m-"+c.RelationshipID), body))
	}
	require.Equal(t, []string{"rel-1"}, sw.refreshed)
}
