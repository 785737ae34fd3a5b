package graphsim

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Sim is the Graph GDAP simulator. It is an http.Handler and safe for
// concurrent use; all state sits behind one mutex.
type Sim struct {
	opts Options

	mu          sync.Mutex
	rng         *rand.Rand
	rels        map[string]*relationship
	order       []*relationship // by seq, the default list order
	names       map[string]string
	nextSeq     uint64
	etagCounter uint64
	sched       schedule
	evSeq       uint64
	faults      []*faultState
	journal     []JournalEntry
	counters    map[string]int
	smd         map[string][]ServiceManagementDetail
	budgets     map[string]*budget
	buckets     map[string]*bucket
	seedBatch   int
}

// New returns a simulator with no relationships.
func New(opts Options) *Sim {
	s := &Sim{opts: opts.withDefaults()}
	s.resetLocked()
	return s
}

// resetLocked clears every piece of state (not the options).
func (s *Sim) resetLocked() {
	s.rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())) //nolint:gosec // ids, not secrets
	s.rels = map[string]*relationship{}
	s.order = nil
	s.names = map[string]string{}
	s.sched = nil
	s.faults = nil
	s.journal = nil
	s.counters = map[string]int{}
	s.smd = map[string][]ServiceManagementDetail{}
	s.budgets = map[string]*budget{}
	s.buckets = map[string]*bucket{}
}

// Reset drops all relationships, scheduled work, faults, the journal and
// the counters. Options and the clock are kept.
func (s *Sim) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

// Now reads the simulator's clock.
func (s *Sim) Now() time.Time { return s.opts.Clock.Now().UTC() }

// syncLocked applies every transition due now and returns now.
func (s *Sim) syncLocked() time.Time {
	now := s.Now()
	s.advanceLocked(now)
	return now
}

// call is one Graph request being served.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	now    time.Time
	base   string // scheme://host/{version}
	route  string
	relID  string
	subID  string
	body   []byte
	prefer bool // Prefer: include-unknown-enum-members
	// etagRace: change the entity after this GET (FaultETagRace).
	etagRace bool
	// reset: close the connection without a response (FaultReset).
	reset bool
	// lost: serve the request, then close the connection instead of
	// answering (FaultLost).
	lost bool
}

// ServeHTTP routes /beta and /v1.0 to the Graph surface, /_sim to the
// control surface and anything else to Options.Fallback.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/_sim" || strings.HasPrefix(p, "/_sim/"):
		s.serveControl(w, r)
	case strings.HasPrefix(p, "/beta/") || strings.HasPrefix(p, "/v1.0/") || p == "/beta" || p == "/v1.0":
		s.serveGraph(w, r)
	case s.opts.Fallback != nil:
		s.opts.Fallback.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

// serveGraph is the Graph pipeline: ids and journal, routing, auth (rule 2),
// faults (rule 36), body decoding (rule 4), then the route handler.
func (s *Sim) serveGraph(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	s.mu.Lock()
	reqID := newGUID(s.rng)
	s.mu.Unlock()
	rec.Header().Set("request-id", reqID)
	if crid := r.Header.Get("client-request-id"); crid != "" {
		rec.Header().Set("client-request-id", crid)
	}
	version, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	c := &call{w: rec, r: r, base: scheme(r) + "://" + r.Host + "/" + version}
	c.prefer = preferUnknownEnums(r.Header)
	c.route, c.relID, c.subID = matchRoute(rest)

	body, bodyErr := s.readBody(r)
	c.body = body
	conn := rec
	defer func() {
		// Journal first: once the connection is reset the client may send
		// its next request, which must not be journaled before this one.
		s.record(r, c, rec)
		if c.reset || c.lost {
			resetConn(conn)
		}
	}()

	if e := checkAuth(r); e != nil {
		s.fail(rec, e)
		return
	}
	if !s.applyFaults(rec, r, c) {
		return
	}
	if c.lost {
		// Serve into the void: the effect happens, the answer never leaves.
		rec = &recorder{ResponseWriter: discardWriter{h: http.Header{}}, status: http.StatusOK}
		c.w = rec
	}
	if c.route == "" {
		s.fail(rec, errorf(http.StatusNotFound, CodeItemNotFound,
			"Resource not found for the segment '"+lastSegment(rest)+"'."))
		return
	}
	if !slices.Contains(routeMethods[c.route], r.Method) {
		s.fail(rec, errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed,
			"The method "+r.Method+" is not allowed on "+c.route+"."))
		return
	}
	if bodyErr != nil {
		s.fail(rec, bodyErr)
		return
	}

	s.mu.Lock()
	c.now = s.syncLocked()
	if e := s.throttleLocked(r, c.now); e != nil {
		s.mu.Unlock()
		writeGraphError(rec, e, c.now)
		return
	}
	e := s.dispatchLocked(c)
	s.mu.Unlock()
	if e != nil {
		writeGraphError(rec, e, c.now)
	}
	s.afterFaults(rec, c)
}

// fail writes a Graph error outside the lock.
func (s *Sim) fail(w http.ResponseWriter, e *apiError) { writeGraphError(w, e, s.Now()) }

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func lastSegment(p string) string {
	p = strings.TrimSuffix(p, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// checkAuth enforces rule 2: Authorization: Bearer <non-empty>.
func checkAuth(r *http.Request) *apiError {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return errorf(http.StatusUnauthorized, CodeInvalidAuthenticationToken, "Access token is empty.")
	}
	return nil
}

// preferUnknownEnums reports whether the request opted into evolvable enum
// members (rule 29).
func preferUnknownEnums(h http.Header) bool {
	for _, v := range h.Values("Prefer") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "include-unknown-enum-members") {
				return true
			}
		}
	}
	return false
}

// recorder captures the status code for the journal and supports hijacking.
type recorder struct {
	http.ResponseWriter
	status  int
	written bool
}

// WriteHeader implements http.ResponseWriter.
func (r *recorder) WriteHeader(code int) {
	if !r.written {
		r.status = code
		r.written = true
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (r *recorder) Write(b []byte) (int, error) {
	r.written = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
