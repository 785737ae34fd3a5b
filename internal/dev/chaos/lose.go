package chaos

import (
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Kinds of Table Storage write a lost response can hit. The gate tells them
// apart from the request alone: the method, the table (the ledger's
// "…operations", the sweep's "…sweep", the due index's "…due"; for an
// entity group transaction, the table its first operation names), the
// sweep row's PartitionKey and, for a ledger replace, the State and
// OutcomePublished the record is being moved to.
const (
	WriteInsert     = "insert"      // POST: Create (a command accepted, already claimed)
	WriteClaim      = "claim"       // replace to running: a lease taken
	WriteWait       = "wait"        // replace to waiting: a poll step or back-off written
	WriteFinish     = "finish"      // replace to a terminal state, outcome not yet published
	WritePublish    = "publish"     // replace with OutcomePublished set
	WriteSweepState = "sweep-state" // the sweep's state row: start, page commit, finish
	WriteSweep      = "sweep"       // the sweep's other rows: snapshot (transactions), page index
	WriteDue        = "due"         // the due index: entries added, moved, removed; the reaper's tick record
	WriteOther      = "other"       // any other write (other tables, table creation)
)

// writeKinds is the order in which armed lost responses are assigned, so
// that every kind gets its share.
var writeKinds = []string{WriteInsert, WriteClaim, WriteWait, WriteFinish, WritePublish, WriteSweepState, WriteSweep, WriteDue} //nolint:gochecknoglobals // immutable table

// batchTable finds the table the first operation of an entity group
// transaction's multipart body names ("PUT http://…/t1sweep(PartitionKey=…"
// or "POST http://…/t1sweep HTTP/1.1").
var batchTable = regexp.MustCompile(`(?m)^(?:POST|PUT|PATCH|MERGE|DELETE) \S*/([A-Za-z][A-Za-z0-9]*)(?:\(| )`) //nolint:gochecknoglobals // compiled once

// lostHangCap bounds how long a lost response is held waiting for its
// client to give up (the handler's limit on one Table call is 8 s).
const lostHangCap = 30 * time.Second

// loser drops the responses of writes (Table Storage) or the sends
// themselves (the broker) that it has been armed for.
type loser struct {
	mu sync.Mutex
	// owed counts armed losses by write kind (Table Storage) or "send"
	// (broker).
	owed map[string]int
	// next is the kind the next armed loss goes to.
	next int
	// lost counts executed losses by kind; ids records what was lost
	// (operation ids of dropped continuations).
	lost map[string]int
	ids  []string
	// n counts losses, to alternate reset and hang.
	n int
}

func newLoser() *loser { return &loser{owed: map[string]int{}, lost: map[string]int{}} }

// armWrite arms one lost response for the next write kind in turn.
func (l *loser) armWrite() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.owed[writeKinds[l.next%len(writeKinds)]]++
	l.next++
}

// armSend arms one dropped continuation.
func (l *loser) armSend() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.owed["send"]++
}

// take consumes an armed loss of kind, reporting whether there was one and
// whether this loss hangs (every other one) rather than resets.
func (l *loser) take(kind, id string) (ok, hang bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.owed[kind] == 0 {
		return false, false
	}
	l.owed[kind]--
	l.lost[kind]++
	if id != "" {
		l.ids = append(l.ids, id)
	}
	l.n++
	return true, l.n%2 == 0
}

// counts returns the losses by kind and the recorded ids.
func (l *loser) counts() (map[string]int, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for k, v := range l.lost {
		out[k] = v
	}
	return out, slices.Clone(l.ids)
}

// disarm drops whatever is still armed (the wave drained without meeting
// such a write), so that it does not spill into the next wave.
func (l *loser) disarm() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.owed)
}

// tableWriteKind classifies a Table Storage request; "" is a read.
func tableWriteKind(r *http.Request, body []byte) string {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return ""
	}
	seg := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	table, _, _ := strings.Cut(seg, "(")
	if table == "$batch" {
		if m := batchTable.FindSubmatch(body); m != nil {
			table = string(m[1])
		}
	}
	switch {
	case strings.HasSuffix(table, "sweep"):
		if strings.Contains(seg, "PartitionKey='sweep'") || (r.Method == http.MethodPost && isSweepStateInsert(body)) {
			return WriteSweepState
		}
		return WriteSweep
	case strings.HasSuffix(table, "due"):
		return WriteDue
	case !strings.HasSuffix(table, "operations"):
		return WriteOther
	case r.Method == http.MethodPost:
		return WriteInsert
	case r.Method != http.MethodPut && r.Method != http.MethodPatch && r.Method != "MERGE":
		return WriteOther
	}
	var e struct {
		State            string
		OutcomePublished bool
	}
	if json.Unmarshal(body, &e) != nil {
		return WriteOther
	}
	switch {
	case e.OutcomePublished:
		return WritePublish
	case e.State == "running":
		return WriteClaim
	case e.State == "waiting":
		return WriteWait
	case e.State == "succeeded" || e.State == "failed":
		return WriteFinish
	}
	return WriteOther
}

// isSweepStateInsert reports whether an insert's body is the sweep state
// row (the first sweep of a deployment creates it).
func isSweepStateInsert(body []byte) bool {
	var e struct{ PartitionKey string }
	return json.Unmarshal(body, &e) == nil && e.PartitionKey == "sweep"
}

// droppableContinuation reports whether a broker request sends a
// continuation that resumes a recorded operation (resume or lease check),
// and the operation's id. Deferred inputs and sweep pages are never
// dropped: a deferred command has no ledger record yet, so nothing could
// find it again.
func droppableContinuation(r *http.Request, body []byte) (string, bool) {
	if r.Method != http.MethodPost || !strings.Contains(r.URL.Path, "continuations") {
		return "", false
	}
	var m struct {
		Subject               string
		ApplicationProperties map[string]any
	}
	if json.Unmarshal(body, &m) != nil || m.Subject != "gdap.continuation" {
		return "", false
	}
	kind, _ := m.ApplicationProperties["kind"].(string)
	id, _ := m.ApplicationProperties["operationId"].(string)
	if (kind != "resume" && kind != "leaseCheck") || id == "" {
		return "", false
	}
	return id, true
}

// dropResponse ends the exchange without a response after the request was
// executed: a connection reset, or (hang) once the client has given up
// waiting (bounded by lostHangCap).
func dropResponse(w http.ResponseWriter, r *http.Request, hang bool) {
	if hang {
		select {
		case <-r.Context().Done():
		case <-time.After(lostHangCap):
		}
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // net/http closes the connection
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST rather than FIN
	}
	_ = conn.Close()
}
