package graphsim

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"time"
)

// FaultKind names an injected failure (rule 36).
type FaultKind string

// Fault kinds.
const (
	// FaultThrottle answers 429 TooManyRequests with Retry-After.
	FaultThrottle FaultKind = "throttle"
	// FaultUnavailable answers 503 serviceNotAvailable (Retry-After optional).
	FaultUnavailable FaultKind = "unavailable"
	// FaultInternal answers 500 generalException (Retry-After optional).
	FaultInternal FaultKind = "internal"
	// FaultReset hijacks the connection and closes it (TCP reset) without
	// serving the request.
	FaultReset FaultKind = "reset"
	// FaultLost serves the request (its effect happens) and then closes the
	// connection instead of sending the response: a lost response. The
	// journal keeps the status that was not delivered, with Lost set.
	FaultLost FaultKind = "lost"
	// FaultLatency really sleeps Latency before serving (benchmarks).
	FaultLatency FaultKind = "latency"
	// FaultETagRace serves the matching GET normally and then changes the
	// entity (new ETag and lastModifiedDateTime), so the caller's next write
	// with the ETag it just read fails with 412.
	FaultETagRace FaultKind = "etagRace"
	// FaultBefore runs Fault.Before (Go API only) before the matching
	// request is served, then serves it normally: a way to script a race,
	// such as another client creating a request between a client's list and
	// its POST.
	FaultBefore FaultKind = "before"
)

// ErrInvalidFault is returned by AddFault for an unusable fault.
var ErrInvalidFault = errors.New("graphsim: invalid fault")

// Fault is one scripted failure, matched by route and method.
type Fault struct {
	// Route is a Route* pattern; empty matches every Graph route.
	Route string `json:"route,omitempty"`
	// Method is an HTTP method; empty matches any.
	Method string `json:"method,omitempty"`
	// Kind is what happens.
	Kind FaultKind `json:"kind"`
	// Times is how many matching requests the fault hits; 0 means every
	// matching request until ClearFaults.
	Times int `json:"times,omitempty"`
	// RetryAfter is the Retry-After in seconds. Throttle always sends one
	// (default 1); unavailable/internal only when positive.
	RetryAfter int `json:"retryAfter,omitempty"`
	// Code overrides the error code (e.g. "activityLimitReached").
	Code string `json:"code,omitempty"`
	// Latency is the added delay of FaultLatency.
	Latency time.Duration `json:"-"`
	// Before is the callback of FaultBefore. It runs without the simulator's
	// lock held, so it may call the simulator (over HTTP or its Go API).
	Before func() `json:"-"`
}

type faultState struct {
	Fault
	remaining int // -1: unlimited
}

// AddFault scripts a fault. Faults are checked in the order added.
func (s *Sim) AddFault(f Fault) error {
	switch f.Kind {
	case FaultThrottle, FaultUnavailable, FaultInternal, FaultReset, FaultLost, FaultETagRace:
	case FaultLatency:
		if f.Latency <= 0 {
			return fmt.Errorf("%w: latency fault needs a positive Latency", ErrInvalidFault)
		}
	case FaultBefore:
		if f.Before == nil {
			return fmt.Errorf("%w: before fault needs a Before callback", ErrInvalidFault)
		}
	default:
		return fmt.Errorf("%w: unknown kind %q", ErrInvalidFault, f.Kind)
	}
	if f.Route != "" {
		if _, ok := routeMethods[f.Route]; !ok {
			return fmt.Errorf("%w: unknown route %q", ErrInvalidFault, f.Route)
		}
	}
	if f.Times < 0 {
		return fmt.Errorf("%w: negative Times", ErrInvalidFault)
	}
	st := &faultState{Fault: f, remaining: f.Times}
	if f.Times == 0 {
		st.remaining = -1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, st)
	return nil
}

// ClearFaults removes every scripted fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Faults returns the faults still armed.
func (s *Sim) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, f.Fault)
	}
	return out
}

func (f *faultState) matches(route, method string) bool {
	if f.remaining == 0 || (f.Route != "" && f.Route != route) || (f.Method != "" && f.Method != method) {
		return false
	}
	if f.Kind == FaultETagRace {
		return method == http.MethodGet && (route == RouteRelationship || route == RouteAssignment)
	}
	return true
}

// applyFaults runs the faults matching this request; it reports whether
// the request should still be served. A reset is only marked on c: the
// caller closes the connection after journaling the request.
func (s *Sim) applyFaults(w http.ResponseWriter, r *http.Request, c *call) bool {
	var sleep time.Duration
	var hit *Fault
	var before []func()
	s.mu.Lock()
	for _, f := range s.faults {
		if !f.matches(c.route, r.Method) {
			continue
		}
		switch f.Kind {
		case FaultLatency:
			sleep += f.Latency
		case FaultETagRace:
			c.etagRace = true
		case FaultBefore:
			before = append(before, f.Before)
		default:
			if hit != nil {
				continue
			}
			cp := f.Fault
			hit = &cp
		}
		if f.remaining > 0 {
			f.remaining--
		}
	}
	s.mu.Unlock()
	for _, fn := range before {
		fn()
	}
	if sleep > 0 {
		t := time.NewTimer(sleep)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if hit == nil {
		return true
	}
	switch hit.Kind {
	case FaultLost:
		c.lost = true
		return true
	case FaultReset:
		c.reset = true
	case FaultThrottle:
		s.fail(w, &apiError{status: http.StatusTooManyRequests, code: cmp.Or(hit.Code, CodeTooManyRequests),
			message: "Too many requests.", retryAfter: max(hit.RetryAfter, 1)})
	case FaultUnavailable:
		s.fail(w, &apiError{status: http.StatusServiceUnavailable, code: cmp.Or(hit.Code, CodeServiceUnavailable),
			message: "The service is temporarily unavailable.", retryAfter: hit.RetryAfter})
	case FaultInternal:
		s.fail(w, &apiError{status: http.StatusInternalServerError, code: cmp.Or(hit.Code, CodeInternalServerError),
			message: "An internal server error occurred.", retryAfter: hit.RetryAfter})
	}
	return false
}

// discardWriter is the response writer of a request whose response is lost.
type discardWriter struct{ h http.Header }

// Header implements http.ResponseWriter.
func (d discardWriter) Header() http.Header { return d.h }

// Write implements http.ResponseWriter.
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// WriteHeader implements http.ResponseWriter.
func (discardWriter) WriteHeader(int) {}

// resetConn hijacks the connection and closes it with a TCP reset.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// afterFaults applies an etag race after a successful GET.
func (s *Sim) afterFaults(rec *recorder, c *call) {
	if !c.etagRace || rec.status != http.StatusOK {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.syncLocked()
	r, ok := s.rels[c.relID]
	if !ok {
		return
	}
	switch c.route {
	case RouteRelationship:
		r.modified = now
		s.bumpLocked(&r.etag)
	case RouteAssignment:
		if a := r.findAssignment(c.subID); a != nil {
			a.modified = now
			s.bumpLocked(&a.etag)
		}
	}
}

// bucket is one client's token bucket (Options.RateLimit).
type bucket struct {
	tokens float64
	last   time.Time
}

// rateLimitLocked enforces Options.RateLimit per bearer token (rule 41): a
// request takes a token; without one it gets 429 and a Retry-After of the
// whole seconds until one is back (at least 1). A refused request takes
// nothing.
func (s *Sim) rateLimitLocked(r *http.Request, now time.Time) *apiError {
	rl := s.opts.RateLimit
	if rl == nil || rl.Rate <= 0 {
		return nil
	}
	burst := float64(max(rl.Burst, 1))
	key := r.Header.Get("Authorization")
	b := s.buckets[key]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		s.buckets[key] = b
	}
	if now.After(b.last) {
		b.tokens = math.Min(burst, b.tokens+now.Sub(b.last).Seconds()*rl.Rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	wait := math.Max(1, math.Ceil((1-b.tokens)/rl.Rate))
	return &apiError{status: http.StatusTooManyRequests, code: CodeTooManyRequests,
		message: "Too many requests: the application's request rate is limited.", retryAfter: int(wait)}
}

// budget is one client's fixed throttling window.
type budget struct {
	start time.Time
	count int
}

// throttleLocked enforces Options.RateLimit and Options.Throttle per
// bearer token.
func (s *Sim) throttleLocked(r *http.Request, now time.Time) *apiError {
	if e := s.rateLimitLocked(r, now); e != nil {
		return e
	}
	t := s.opts.Throttle
	if t == nil || t.Requests <= 0 || t.Window <= 0 {
		return nil
	}
	key := r.Header.Get("Authorization")
	b := s.budgets[key]
	if b == nil || !now.Before(b.start.Add(t.Window)) {
		b = &budget{start: now}
		s.budgets[key] = b
	}
	b.count++
	if b.count <= t.Requests {
		return nil
	}
	wait := b.start.Add(t.Window).Sub(now)
	return &apiError{status: http.StatusTooManyRequests, code: CodeTooManyRequests,
		message: "The client exceeded its request budget.", retryAfter: int(math.Ceil(wait.Seconds()))}
}
