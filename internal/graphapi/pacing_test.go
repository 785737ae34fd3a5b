package graphapi

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPacer(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	ctx := context.Background()
	p := newPacer(Pacing{})

	// Free running until Graph throttles: 100 calls in one instant.
	for range 100 {
		_, ok := p.admit(ctx, t0)
		require.True(t, ok)
	}
	require.Zero(t, p.pacedRate())

	// A 429 with Retry-After 1 s: pacing starts at 90 % of the 100/s
	// achieved, nothing goes before the Retry-After, and the retry gets a
	// slot after it.
	retry := p.throttled(t0, time.Second)
	require.InDelta(t, 90, p.pacedRate(), 0.001)
	require.False(t, retry.Before(t0.Add(time.Second)))
	slot, ok := p.admit(ctx, t0.Add(100*time.Millisecond))
	require.False(t, ok)
	require.True(t, slot.After(retry), "each deferred caller gets its own later slot")
	// Slots are spread at the paced rate: 2 calls each at 90/s.
	next, ok := p.admit(ctx, t0.Add(100*time.Millisecond))
	require.False(t, ok)
	require.InDelta(t, (2.0 / 90 * float64(time.Second)), float64(next.Sub(slot)), float64(time.Millisecond))

	// A retry presenting its reservation goes through for its calls only.
	rctx := WithReservation(ctx, slot, 2)
	for range 2 {
		_, ok := p.admit(rctx, slot)
		require.True(t, ok)
	}
	_, ok = p.admit(rctx, slot)
	require.True(t, ok, "a third call goes on too, on a later slot")
	after, ok := p.admit(ctx, slot)
	require.False(t, ok)
	require.True(t, after.After(next.Add(2*time.Second/90)), "the caller after it waits longer")
	// Presented too early (beyond the slack): not honoured.
	_, ok = p.admit(WithReservation(ctx, slot.Add(time.Second), 2), slot)
	require.False(t, ok)

	// Additive increase while calls succeed; decrease on the next 429.
	p.succeeded(t0.Add(11 * time.Second))
	require.InDelta(t, 90*(1+0.005*11), p.pacedRate(), 0.01)
	before := p.pacedRate()
	p.throttled(t0.Add(12*time.Second), 2*time.Second)
	require.InDelta(t, before*0.9, p.pacedRate(), 0.01)

	// Calm for Pacing.Calm: free running again.
	_, ok = p.admit(ctx, t0.Add(12*time.Second+5*time.Minute))
	require.True(t, ok)
	require.Zero(t, p.pacedRate())
}

func TestPacerBounds(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	p := newPacer(Pacing{MinRate: 5, MaxRate: 20})
	_, _ = p.admit(context.Background(), t0)
	p.throttled(t0, 0)
	require.InDelta(t, 5, p.pacedRate(), 0.001, "one call observed: the minimum")
	p.succeeded(t0.Add(time.Hour))
	require.InDelta(t, 20, p.pacedRate(), 0.001, "capped")
}
