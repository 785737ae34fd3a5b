package pcsim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Route names a group of simulator endpoints for fault injection.
type Route string

// Routes.
const (
	// RouteCustomers is Partner Center's /v1/customers/{id}.
	RouteCustomers Route = "customers"
	// RouteToken is the Entra token endpoint.
	RouteToken Route = "token"
	// RouteSecrets is Key Vault's /secrets/.
	RouteSecrets Route = "secrets"
)

// FaultKind is what an injected fault does.
type FaultKind string

// Fault kinds.
const (
	// FaultThrottle answers 429 with Retry-After.
	FaultThrottle FaultKind = "throttle"
	// FaultUnavailable answers 503 (with Retry-After when set).
	FaultUnavailable FaultKind = "unavailable"
	// FaultReset drops the connection in the middle of a response: the
	// status line and headers arrive, the body is cut short. (A connection
	// dropped before any byte is transparently retried by net/http for
	// idempotent requests, which would hide the fault.)
	FaultReset FaultKind = "reset"
)

// Fault is an injected failure answering the next Count requests of one
// route and method, before any authentication or validation.
type Fault struct {
	// Kind is what the fault does.
	Kind FaultKind `json:"kind"`
	// Count is how many requests it answers; values below 1 mean 1.
	Count int `json:"count"`
	// RetryAfter is sent as Retry-After (whole seconds); zero omits it,
	// except for FaultThrottle, which then sends 1.
	RetryAfter time.Duration `json:"retryAfter"`
}

type faultKey struct {
	route  Route
	method string
}

// InjectFault queues f for the next requests to route with method (GET,
// PATCH, PUT, POST). Faults queued for the same route and method answer in
// order.
func (s *Sim) InjectFault(route Route, method string, f Fault) error {
	switch route {
	case RouteCustomers, RouteToken, RouteSecrets:
	default:
		return fmt.Errorf("pcsim: unknown route %q", route)
	}
	switch f.Kind {
	case FaultThrottle, FaultUnavailable, FaultReset:
	default:
		return fmt.Errorf("pcsim: unknown fault kind %q", f.Kind)
	}
	if f.Count < 1 {
		f.Count = 1
	}
	k := faultKey{route, strings.ToUpper(method)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[k] = append(s.faults[k], f)
	return nil
}

// ClearFaults removes every queued fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[faultKey][]Fault{}
}

func (s *Sim) takeFault(route Route, method string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := faultKey{route, strings.ToUpper(method)}
	q := s.faults[k]
	if len(q) == 0 {
		return Fault{}, false
	}
	f := q[0]
	q[0].Count--
	if q[0].Count <= 0 {
		q = q[1:]
	}
	if len(q) == 0 {
		delete(s.faults, k)
	} else {
		s.faults[k] = q
	}
	s.counters.FaultsInjected++
	return f, true
}

// serveFault answers a throttle or unavailable fault (resets are served by
// serveRecorded, which journals them first).
func (s *Sim) serveFault(w http.ResponseWriter, route Route, f Fault) {
	status, code, msg := http.StatusServiceUnavailable, "ServiceUnavailable", "The service is temporarily unavailable."
	retry := f.RetryAfter
	if f.Kind == FaultThrottle {
		status, code, msg = http.StatusTooManyRequests, "TooManyRequests", "Too many requests, retry later."
		if retry <= 0 {
			retry = time.Second
		}
	}
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
	}
	switch route {
	case RouteCustomers:
		writePCError(w, status, code, msg)
	case RouteToken:
		s.mu.Lock()
		s.counters.FailedGrants++
		s.mu.Unlock()
		writeOAuthError(w, s.opts.Clock.Now(), status, "temporarily_unavailable", "AADSTS90033: "+msg)
	case RouteSecrets:
		writeKVError(w, status, code, msg)
	}
}

// resetConnection sends response headers promising a body, part of the
// body, and closes the connection.
func resetConnection(w http.ResponseWriter) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2, in-process recorder): abort the handler.
		panic(http.ErrAbortHandler)
	}
	_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 4096\r\nConnection: close\r\n\r\n{\"id\":")
	_ = buf.Flush()
	if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
		_ = tc.SetLinger(0) // RST instead of FIN
	}
	_ = conn.Close()
}
