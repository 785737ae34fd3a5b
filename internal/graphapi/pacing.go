package graphapi

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Pacing configures how the client paces its calls once Graph throttles it
// (docs/performance.md, "Throttling"). Until Graph answers 429 the client
// does not limit itself. On a 429 it starts pacing at 90 % of the rate it
// was achieving, honours the Retry-After for every call of the process, and
// then adapts: additive increase while calls succeed, multiplicative
// decrease on each further 429. A call that would have to wait is not held
// in process: it fails at once with a *upstream.Error of status 429 and
// code LocalThrottleCode whose Reserved names a slot reserved for the
// caller's retry (a continuation); a retry presenting that slot
// (WithReservation) goes through without taking another.
type Pacing struct {
	// MinRate and MaxRate bound the paced rate in calls per second.
	// Defaults 1 and 1000.
	MinRate, MaxRate float64
	// Decrease multiplies the rate on a 429. Default 0.9.
	Decrease float64
	// Increase is the additive increase per second of sustained success,
	// as a fraction of the current rate. Default 0.005 (0.5 % per second).
	Increase float64
	// Calm is how long without a 429 before pacing stops. Default 5 min.
	Calm time.Duration
	// ReserveCalls is how many calls a deferred caller reserves for its
	// retry (a step's GET and PATCH). Default 2.
	ReserveCalls int
}

// LocalThrottleCode is the upstream.Error Code of a call the client
// deferred itself (no request was sent).
const LocalThrottleCode = "localRateLimit"

func (p Pacing) withDefaults() Pacing {
	def := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&p.MinRate, 1)
	def(&p.MaxRate, 1000)
	def(&p.Decrease, 0.9)
	def(&p.Increase, 0.005)
	if p.Calm <= 0 {
		p.Calm = 5 * time.Minute
	}
	if p.ReserveCalls <= 0 {
		p.ReserveCalls = 2
	}
	return p
}

// pacer is the process-wide state of Pacing.
type pacer struct {
	cfg Pacing
	mu  sync.Mutex
	// lim is nil while not pacing.
	lim *rate.Limiter
	// limAt is the latest time lim was told of (limTime): a reservation
	// after a Retry-After is made at that later time.
	limAt time.Time
	// rate is the paced rate (calls per second).
	rate float64
	// blockedUntil honours the last Retry-After for every call.
	blockedUntil time.Time
	lastThrottle time.Time
	lastIncrease time.Time
	// lastDecrease is when the rate was last decreased: the 429s of calls
	// already under way then (answered together) count as one.
	lastDecrease time.Time
	// epoch counts the decreases: a slot reserved in an earlier epoch was
	// reserved at a rate Graph refused and is not honoured.
	epoch atomic.Uint64
	// window counts the calls Graph accepted in the current and the
	// previous second (rate estimate before pacing).
	windowStart time.Time
	cur, prev   int
}

func newPacer(cfg Pacing) *pacer { return &pacer{cfg: cfg.withDefaults()} }

// reservation is a slot reserved for n calls at or after at, in epoch.
type reservation struct {
	at    time.Time
	epoch uint64
	n     atomic.Int32
}

type reservationKey struct{}

// reservationSlack is how early a retry may present its reservation (the
// broker can deliver a scheduled message a little early).
const reservationSlack = 50 * time.Millisecond

// WithReservation returns ctx carrying a slot reserved for n calls at at
// in epoch (a LocalThrottleCode error's Reserved, ReservedCalls and
// ReservedEpoch): the calls made with it, at or after at, go through; the
// first n on the reservation, any further ones taking later slots from
// those who come after (so that the retried step is not cut short). A
// reservation of an earlier epoch (the client slowed down since), or
// presented while a Retry-After holds, is not honoured: the caller is
// deferred again at the current rate.
func WithReservation(ctx context.Context, at time.Time, n int, epoch uint64) context.Context {
	if at.IsZero() || n <= 0 {
		return ctx
	}
	r := &reservation{at: at, epoch: epoch}
	r.n.Store(int32(min(n, math.MaxInt32)))
	return context.WithValue(ctx, reservationKey{}, r)
}

// admit decides for one call at now: go (ok), or defer to the returned
// slot, reserved for Pacing.ReserveCalls calls in the returned epoch.
func (p *pacer) admit(ctx context.Context, now time.Time) (slot time.Time, epoch uint64, ok bool) {
	r, _ := ctx.Value(reservationKey{}).(*reservation)
	p.mu.Lock()
	defer p.mu.Unlock()
	epoch = p.epoch.Load()
	if p.lim != nil && now.Sub(p.lastThrottle) >= p.cfg.Calm {
		p.lim = nil // calm again: stop pacing
	}
	if p.lim == nil {
		return time.Time{}, epoch, true
	}
	if r != nil && r.epoch == epoch && !now.Before(r.at.Add(-reservationSlack)) && !now.Before(p.blockedUntil) {
		if r.n.Add(-1) < 0 {
			// Calls beyond the reserved ones go on (a step must not be
			// cut short again and again), taking later slots: the
			// callers after it wait longer.
			p.lim.ReserveN(p.limTime(now), 1)
		}
		return time.Time{}, epoch, true
	}
	from := now
	if p.blockedUntil.After(from) {
		from = p.blockedUntil
	}
	if from.Equal(now) {
		at := p.limTime(now)
		one := p.lim.ReserveN(at, 1)
		if d := one.DelayFrom(now); one.OK() && d <= 0 {
			return time.Time{}, epoch, true
		}
		one.CancelAt(at)
	}
	slotRes := p.lim.ReserveN(p.limTime(from), p.cfg.ReserveCalls)
	if !slotRes.OK() {
		return from, epoch, false
	}
	return from.Add(slotRes.DelayFrom(from)), epoch, false
}

// count records a call for the rate estimate.
func (p *pacer) count(now time.Time) {
	switch {
	case p.windowStart.IsZero() || now.Sub(p.windowStart) >= 2*time.Second || now.Before(p.windowStart):
		p.windowStart, p.prev, p.cur = now, 0, 0
	case now.Sub(p.windowStart) >= time.Second:
		p.windowStart, p.prev, p.cur = p.windowStart.Add(time.Second), p.cur, 0
	}
	p.cur++
}

// throttled records a 429 with Retry-After ra at now and returns the slot
// reserved for the caller's retry, and its epoch.
func (p *pacer) throttled(now time.Time, ra time.Duration) (time.Time, uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastThrottle = now
	if ra > 0 && now.Add(ra).After(p.blockedUntil) {
		p.blockedUntil = now.Add(ra)
	}
	switch {
	case p.lim == nil:
		// Start at 90 % of what was achieved over the last second or two
		// (calls at one instant count as one second's; only calls Graph
		// accepted count).
		span := now.Sub(p.windowStart)
		if p.prev > 0 {
			span += time.Second
		}
		observed := float64(p.cur+p.prev) / math.Max(span.Seconds(), 1)
		p.rate = p.clamp(observed * p.cfg.Decrease)
		p.lim, p.limAt = rate.NewLimiter(rate.Limit(p.rate), p.burst()), now
		p.lim.ReserveN(now, p.burst()) // start empty: no burst right after a 429
		p.lastDecrease = now
	case now.Sub(p.lastDecrease) >= max(ra, time.Second):
		// Slower: the slots reserved at the old rate are void (a new
		// limiter), their holders reserve again at the new one.
		p.rate = p.clamp(p.rate * p.cfg.Decrease)
		p.lim, p.limAt = rate.NewLimiter(rate.Limit(p.rate), p.burst()), now
		p.lim.ReserveN(now, p.burst())
		p.lastDecrease = now
		p.epoch.Add(1)
	}
	p.lastIncrease = now
	from := now
	if p.blockedUntil.After(from) {
		from = p.blockedUntil
	}
	r := p.lim.ReserveN(p.limTime(from), p.cfg.ReserveCalls)
	return from.Add(r.DelayFrom(from)), p.epoch.Load()
}

// succeeded records a call that was not throttled (additive increase).
func (p *pacer) succeeded(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.count(now)
	if p.lim == nil {
		return
	}
	if dt := now.Sub(p.lastIncrease); dt > 0 {
		p.rate = p.clamp(p.rate * (1 + p.cfg.Increase*dt.Seconds()))
		at := p.limTime(now)
		p.lim.SetLimitAt(at, rate.Limit(p.rate))
		p.lim.SetBurstAt(at, p.burst())
		p.lastIncrease = now
	}
}

// limTime returns the time to tell lim for an event at t: t, or the latest
// time lim was told of if that is later. rate.Limiter takes an earlier time
// as its new present but keeps the tokens it counted up to the later one, so
// the time in between would be counted twice: after a reservation made at
// the end of a Retry-After, a call answered meanwhile would hand the
// limiter tokens for the blocked time again, and the slots reserved next
// would come too early, bunched, into Graph's next 429.
func (p *pacer) limTime(t time.Time) time.Time {
	if t.Before(p.limAt) {
		return p.limAt
	}
	p.limAt = t
	return t
}

func (p *pacer) clamp(r float64) float64 { return math.Min(p.cfg.MaxRate, math.Max(p.cfg.MinRate, r)) }

// burst lets one deferred caller's reserved calls through together, and no
// more: paced calls are spread evenly, never bunched after a Retry-After.
func (p *pacer) burst() int { return p.cfg.ReserveCalls }

// pacedRate reports the paced rate, 0 while not pacing.
func (p *pacer) pacedRate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lim == nil {
		return 0
	}
	return p.rate
}
