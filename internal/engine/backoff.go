package engine

import (
	"hash/fnv"
	"math"
	"strconv"
	"time"
)

const (
	// retryBase is the first transient-retry delay without Retry-After.
	retryBase = 2 * time.Second
	// maxDelay caps every back-off and poll interval.
	maxDelay = 5 * time.Minute
	// defaultPollInterval is used when a 202 has no Retry-After and for
	// relationship requests (which have none).
	defaultPollInterval = 10 * time.Second
	// gentlePolls is how many polls run at the base interval before the
	// interval starts to grow.
	gentlePolls = 6
)

// RetryDelay is the delay before transient retry number attempt (1-based) of
// a step: exponential from retryBase with deterministic jitter of up to 25%,
// never shorter than the server's Retry-After, capped at maxDelay (unless
// Retry-After itself asks for longer).
func RetryDelay(opID string, attempt int, retryAfter time.Duration) time.Duration {
	d := time.Duration(float64(retryBase) * math.Pow(2, float64(attempt-1)))
	if d > maxDelay || d <= 0 {
		d = maxDelay
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(opID + ":" + strconv.Itoa(attempt)))
	jitter := time.Duration(float64(d) * 0.25 * float64(h.Sum32()%1000) / 1000)
	d += jitter
	if d > maxDelay {
		d = maxDelay
	}
	if retryAfter > d {
		d = retryAfter
	}
	return d
}

// pollDelay is the interval before poll number polls+1 of an operation or
// request: the base interval (Retry-After, default 10 s) for the first
// gentlePolls polls, then growing by half each poll, capped at maxDelay.
func pollDelay(base time.Duration, polls int) time.Duration {
	if base <= 0 {
		base = defaultPollInterval
	}
	if polls < gentlePolls {
		return base
	}
	d := time.Duration(float64(base) * math.Pow(1.5, float64(polls-gentlePolls+1)))
	if d > maxDelay || d <= 0 {
		d = maxDelay
	}
	if d < base {
		d = base
	}
	return d
}
