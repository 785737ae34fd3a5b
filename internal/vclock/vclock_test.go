package vclock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFrozenAdvance(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	c := NewFrozen(start)
	require.Equal(t, start, c.Now())
	c.Advance(10 * time.Second)
	require.Equal(t, start.Add(10*time.Second), c.Now())
	c.Advance(-time.Hour)
	require.Equal(t, start.Add(10*time.Second), c.Now())
	got := c.AdvanceTo(start.Add(time.Minute))
	require.Equal(t, start.Add(time.Minute), got)
	got = c.AdvanceTo(start)
	require.Equal(t, start.Add(time.Minute), got, "AdvanceTo never moves backwards")
}

func TestVirtualMovesWithRealTime(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	c := NewVirtual(start)
	a := c.Now()
	b := c.Now()
	require.False(t, b.Before(a))
	require.False(t, a.Before(start))
}

func TestFollowingOnlyMovesForward(t *testing.T) {
	t.Parallel()
	var f Following
	require.WithinDuration(t, time.Now(), f.Now(), time.Minute, "zero value reads the real clock")
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Observe(base)
	require.False(t, f.Now().Before(base))
	f.Observe(base.Add(-time.Hour))
	require.False(t, f.Now().Before(base), "an older observation does not move it back")
	f.Observe(base.Add(time.Hour))
	require.False(t, f.Now().Before(base.Add(time.Hour)))
}
