// Package vclock provides the clocks gdapflow's code reads time from: the
// real wall clock in production and a virtual clock that tests, the demo and
// the local host emulator drive, so that long waits (Retry-After, polling
// intervals, relationship expiry) happen without real sleeping.
package vclock

import (
	"sync"
	"time"
)

// Clock tells the current time. Every component that makes decisions based
// on time takes a Clock instead of calling time.Now.
type Clock interface {
	Now() time.Time
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now in UTC.
func (Real) Now() time.Time { return time.Now().UTC() }

// Virtual is a clock that runs at real speed from a chosen starting instant
// and can additionally be moved forward by Advance and AdvanceTo. It never
// moves backwards. It is safe for concurrent use.
type Virtual struct {
	mu        sync.Mutex
	start     time.Time
	realStart time.Time
	offset    time.Duration
	realNow   func() time.Time
	last      time.Time
}

// NewVirtual returns a virtual clock that reads start now and then advances
// with real time plus whatever Advance adds.
func NewVirtual(start time.Time) *Virtual {
	return newVirtual(start, time.Now)
}

// NewFrozen returns a virtual clock that does not move with real time at all:
// only Advance and AdvanceTo move it. Useful for deterministic unit tests.
func NewFrozen(start time.Time) *Virtual {
	return newVirtual(start, func() time.Time { return time.Time{} })
}

func newVirtual(start time.Time, realNow func() time.Time) *Virtual {
	return &Virtual{start: start.UTC(), realStart: realNow(), realNow: realNow}
}

// Now returns the virtual time.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.nowLocked()
}

func (v *Virtual) nowLocked() time.Time {
	t := v.start.Add(v.realNow().Sub(v.realStart) + v.offset)
	if t.Before(v.last) {
		t = v.last
	}
	v.last = t
	return t
}

// Advance moves the clock forward by d (negative values are ignored).
func (v *Virtual) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.offset += d
}

// AdvanceTo moves the clock forward to t if t is in the future; it reports
// the new current time.
func (v *Virtual) AdvanceTo(t time.Time) time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.nowLocked()
	if t.After(now) {
		v.offset += t.Sub(now)
		now = t.UTC()
		v.last = now
	}
	return now
}

// Offset is a Clock that reads a base time plus the real time elapsed since
// it was created. The handler uses it in development mode to follow the
// virtual time the local host emulator sends with each invocation.
type Offset struct {
	base     time.Time
	received time.Time
}

// NewOffset returns a clock that reads base now and advances at real speed.
func NewOffset(base time.Time) Offset {
	return Offset{base: base.UTC(), received: time.Now()}
}

// Now returns base plus the real time elapsed since NewOffset.
func (o Offset) Now() time.Time { return o.base.Add(time.Since(o.received)) }

// Following is a clock that follows the latest time reported to it with
// Observe and advances at real speed in between. In development mode the
// handler feeds it every invocation's virtual time, so long-lived components
// (token caches) agree with the emulator's virtual clock. The zero value
// reads the real clock until the first Observe.
type Following struct {
	mu       sync.Mutex
	base     time.Time
	observed time.Time
}

// Observe moves the clock to t if t is later than the clock's current time.
func (f *Following) Observe(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.observed.IsZero() || t.After(f.base.Add(time.Since(f.observed))) {
		f.base = t.UTC()
		f.observed = time.Now()
	}
}

// Now returns the latest observed time plus the real time elapsed since.
func (f *Following) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.observed.IsZero() {
		return time.Now().UTC()
	}
	return f.base.Add(time.Since(f.observed))
}
