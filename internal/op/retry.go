package op

import (
	"hash/fnv"
	"math"
	"strconv"
	"time"
)

const (
	// RetryBase is the first transient-retry delay without Retry-After.
	RetryBase = 2 * time.Second
	// MaxDelay caps every back-off and poll interval.
	MaxDelay = 5 * time.Minute
	// DefaultPollInterval is used when a 202 has no Retry-After and for
	// relationship requests (which have none).
	DefaultPollInterval = 10 * time.Second
	// gentlePolls is how many polls run at the base interval before the
	// interval starts to grow.
	gentlePolls = 6
)

// RetryDelay is the delay before transient retry number attempt (1-based) of
// a step: exponential from RetryBase with deterministic jitter of up to 25%
// (keyed by key), never shorter than the server's Retry-After, capped at
// MaxDelay (unless Retry-After itself asks for longer).
func RetryDelay(key string, attempt int, retryAfter time.Duration) time.Duration {
	d := time.Duration(float64(RetryBase) * math.Pow(2, float64(attempt-1)))
	if d > MaxDelay || d <= 0 {
		d = MaxDelay
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(key + ":" + strconv.Itoa(attempt)))
	jitter := time.Duration(float64(d) * 0.25 * float64(h.Sum32()%1000) / 1000)
	d += jitter
	if d > MaxDelay {
		d = MaxDelay
	}
	if retryAfter > d {
		d = retryAfter
	}
	return d
}

// PollDelay is the interval before poll number polls+1 of an operation or
// request: the base interval (Retry-After, default DefaultPollInterval) for
// the first few polls, then growing by half each poll, capped at MaxDelay.
func PollDelay(base time.Duration, polls int) time.Duration {
	if base <= 0 {
		base = DefaultPollInterval
	}
	if polls < gentlePolls {
		return base
	}
	d := time.Duration(float64(base) * math.Pow(1.5, float64(polls-gentlePolls+1)))
	if d > MaxDelay || d <= 0 {
		d = MaxDelay
	}
	if d < base {
		d = base
	}
	return d
}
