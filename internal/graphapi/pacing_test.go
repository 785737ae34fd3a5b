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
		_, _, ok := p.admit(ctx, t0)
		require.True(t, ok)
		p.succeeded(t0)
	}
	require.Zero(t, p.pacedRate())

	// A 429 with Retry-After 1 s: pacing starts at 90 % of the 100/s
	// achieved, nothing goes before the Retry-After, and the retry gets a
	// slot after it.
	retry, epoch := p.throttled(t0, time.Second)
	require.InDelta(t, 90, p.pacedRate(), 0.001)
	p.throttled(t0, time.Second) // answered together: one decrease
	require.InDelta(t, 90, p.pacedRate(), 0.001)
	require.False(t, retry.Before(t0.Add(time.Second)))
	slot, ep, ok := p.admit(ctx, t0.Add(100*time.Millisecond))
	require.Equal(t, epoch, ep)
	require.False(t, ok)
	require.True(t, slot.After(retry), "each deferred caller gets its own later slot")
	// Slots are spread at the paced rate: 2 calls each at 90/s.
	next, _, ok := p.admit(ctx, t0.Add(100*time.Millisecond))
	require.False(t, ok)
	require.InDelta(t, (2.0 / 90 * float64(time.Second)), float64(next.Sub(slot)), float64(time.Millisecond))

	// A retry presenting its reservation goes through for its calls only.
	rctx := WithReservation(ctx, slot, 2, epoch)
	for range 2 {
		_, _, ok := p.admit(rctx, slot)
		require.True(t, ok)
	}
	_, _, ok = p.admit(rctx, slot)
	require.True(t, ok, "a third call goes on too, on a later slot")
	after, _, ok := p.admit(ctx, slot)
	require.False(t, ok)
	require.True(t, after.After(next.Add(2*time.Second/90)), "the caller after it waits longer")
	// Presented too early (beyond the slack): not honoured.
	_, _, ok = p.admit(WithReservation(ctx, slot.Add(time.Second), 2, epoch), slot)
	require.False(t, ok)

	// Increase while calls succeed; decrease on the next 429.
	p.succeeded(t0.Add(11 * time.Second))
	require.InDelta(t, 90*(1+0.005*11), p.pacedRate(), 0.01)
	before := p.pacedRate()
	var later time.Time
	for ok = true; ok; {
		later, _, ok = p.admit(ctx, t0.Add(11*time.Second)) // until the bucket is empty
	}
	_, newEpoch := p.throttled(t0.Add(12*time.Second), 2*time.Second)
	require.InDelta(t, before*0.9, p.pacedRate(), 0.01)
	require.Greater(t, newEpoch, epoch)
	// A slot reserved before the slow-down is void; the holder reserves
	// again (after the Retry-After).
	again, _, ok := p.admit(WithReservation(ctx, later, 2, epoch), later.Add(2*time.Second))
	require.False(t, ok)
	require.False(t, again.Before(t0.Add(14*time.Second)))

	// Calm for Pacing.Calm: free running again.
	_, _, ok = p.admit(ctx, t0.Add(12*time.Second+5*time.Minute))
	require.True(t, ok)
	require.Zero(t, p.pacedRate())
}

func TestPacerBounds(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	p := newPacer(Pacing{MinRate: 5, MaxRate: 20})
	_, _, _ = p.admit(context.Background(), t0)
	p.succeeded(t0)
	p.throttled(t0, 0)
	require.InDelta(t, 5, p.pacedRate(), 0.001, "one call observed: the minimum")
	p.succeeded(t0.Add(time.Hour))
	require.InDelta(t, 20, p.pacedRate(), 0.001, "capped")
}

// A call answered during a Retry-After (it was under way when the 429
// came) must not hand the limiter the blocked time again: the slots
// reserved after it stay spaced at the paced rate, two calls each, instead
// of coming early and bunched into Graph's next 429.
func TestPacerSlotsStaySpacedAcrossARetryAfter(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	ctx := context.Background()
	tests := []struct {
		name string
		// answered is when a call under way is answered (none: zero).
		answered time.Duration
	}{
		{name: "nothing answered meanwhile"},
		{name: "a call answered during the Retry-After", answered: 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newPacer(Pacing{})
			for range 50 {
				_, _, ok := p.admit(ctx, t0)
				require.True(t, ok)
				p.succeeded(t0)
			}
			first, _ := p.throttled(t0, 2*time.Second) // pacing at 45/s, nothing before t0+2s
			var slots []time.Time
			for i := range 20 {
				at := t0.Add(time.Duration(i) * 10 * time.Millisecond)
				if tt.answered != 0 && at.Equal(t0.Add(100*time.Millisecond)) {
					p.succeeded(t0.Add(tt.answered))
				}
				slot, _, ok := p.admit(ctx, at)
				require.False(t, ok)
				slots = append(slots, slot)
			}
			// 2 calls at 45/s: 44.4 ms (the success raised the rate a little).
			gap := 43 * time.Millisecond
			prev := first
			for i, s := range slots {
				require.GreaterOrEqual(t, s.Sub(prev), gap, "slot %d comes %s after the one before", i, s.Sub(prev))
				prev = s
			}
		})
	}
}
