package graphsim

import (
	"maps"
	"net/http"
	"time"
)

// journalHeaders are the request headers the journal keeps.
var journalHeaders = []string{ //nolint:gochecknoglobals // immutable table
	"If-Match", "Prefer", "Content-Type", "Content-Encoding", "client-request-id", "Retry-Attempt", "User-Agent",
}

// JournalEntry is one Graph request as the simulator saw it.
type JournalEntry struct {
	// Time is the simulated time the request was answered.
	Time time.Time `json:"time"`
	// Method, Path and Query are as received (Query is the raw query).
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query,omitempty"`
	// Route is the matched Route* pattern, empty when none matched.
	Route string `json:"route,omitempty"`
	// Headers holds the relevant request headers (journalHeaders) present.
	Headers map[string]string `json:"headers,omitempty"`
	// Body is the request body after gzip decoding.
	Body string `json:"body,omitempty"`
	// Status is the response status; 0 when the connection was reset
	// before serving (FaultReset).
	Status int `json:"status"`
	// Lost reports a request served whose response was dropped
	// (FaultLost); Status is what would have been sent.
	Lost bool `json:"lost,omitempty"`
}

// CounterKey is the Counters key of a route and method: "GET " + route.
func CounterKey(method, route string) string { return method + " " + route }

// record appends the journal entry and bumps the counter of one request.
func (s *Sim) record(r *http.Request, c *call, rec *recorder) {
	e := JournalEntry{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Route: c.route,
		Body: string(c.body), Status: rec.status, Lost: c.lost,
	}
	if c.reset {
		e.Status = 0
	}
	for _, h := range journalHeaders {
		if v := r.Header.Get(h); v != "" {
			if e.Headers == nil {
				e.Headers = map[string]string{}
			}
			e.Headers[h] = v
		}
	}
	route := c.route
	if route == "" {
		route = "(unmatched)"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e.Time = s.Now()
	s.counters[CounterKey(r.Method, route)]++
	if s.opts.JournalLimit < 0 {
		return
	}
	if len(s.journal) >= s.opts.JournalLimit {
		// Drop the oldest quarter at once so trimming stays amortised O(1).
		drop := max(1, s.opts.JournalLimit/4)
		n := copy(s.journal, s.journal[drop:])
		clear(s.journal[n:])
		s.journal = s.journal[:n]
	}
	s.journal = append(s.journal, e)
}

// Journal returns a copy of the recorded requests, oldest first.
func (s *Sim) Journal() []JournalEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JournalEntry, len(s.journal))
	copy(out, s.journal)
	return out
}

// Counters returns request counts keyed by CounterKey(method, route).
func (s *Sim) Counters() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.counters)
}

// ResetJournal clears the journal and the counters.
func (s *Sim) ResetJournal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.journal = nil
	s.counters = map[string]int{}
}
