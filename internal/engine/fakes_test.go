package engine

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/graphapi"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/partnercenter"
)

// The engine's edge, faked for unit tests: an in-memory ledger with ETags,
// a recording sender, a scripted sweeper and Partner Center, a frozen clock;
// Graph is the strict simulator behind the real client (in process).

// memLedger is an in-memory ledger with ETags and the real store's conflict
// rules (Create on an existing id: ErrExists; Update with a stale ETag:
// ErrConflict) and time normalization. Its hooks inject failures.
type memLedger struct {
	mu   sync.Mutex
	recs map[string]ledger.Record
	seq  atomic.Int64
	// beforeUpdate, when set, runs before each Update; a non-nil error is
	// returned instead of writing. applied reports whether the write
	// should still take effect (a lost response: written, then failed).
	beforeUpdate func(r *ledger.Record) (err error, applied bool)
	updates      atomic.Int64
}

func newMemLedger() *memLedger { return &memLedger{recs: map[string]ledger.Record{}} }

var _ ledgerStore = (*memLedger)(nil)

func (l *memLedger) etag() azcore.ETag {
	return azcore.ETag("W/\"" + strconv.FormatInt(l.seq.Add(1), 10) + "\"")
}

func normalize(r *ledger.Record) {
	for _, t := range []*time.Time{&r.WakeAt, &r.AcceptedAt, &r.UpdatedAt, &r.FinishedAt} {
		if !t.IsZero() {
			*t = t.UTC().Truncate(100 * time.Nanosecond)
		}
	}
}

func (l *memLedger) Create(_ context.Context, r *ledger.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.recs[r.OperationID]; ok {
		return ledger.ErrExists
	}
	normalize(r)
	r.ETag = l.etag()
	l.recs[r.OperationID] = *r
	return nil
}

func (l *memLedger) Get(_ context.Context, id string) (*ledger.Record, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.recs[id]
	if !ok {
		return nil, ledger.ErrNotFound
	}
	return &r, nil
}

func (l *memLedger) Update(_ context.Context, r *ledger.Record) error {
	l.updates.Add(1)
	if hook := l.beforeUpdate; hook != nil {
		if err, applied := hook(r); err != nil {
			if applied {
				l.mu.Lock()
				normalize(r)
				c := *r
				c.ETag = l.etag()
				l.recs[r.OperationID] = c
				l.mu.Unlock()
			}
			return err
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.recs[r.OperationID]
	if !ok {
		return ledger.ErrNotFound
	}
	if cur.ETag != r.ETag {
		return ledger.ErrConflict
	}
	normalize(r)
	r.ETag = l.etag()
	l.recs[r.OperationID] = *r
	return nil
}

// put stores r as is (a record another invocation wrote).
func (l *memLedger) put(r ledger.Record) *ledger.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	normalize(&r)
	r.ETag = l.etag()
	l.recs[r.OperationID] = r
	return &r
}

func (l *memLedger) get(t *testing.T, id string) ledger.Record {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.recs[id]
	require.True(t, ok, "no record for %s", id)
	return r
}

// sentMessage is one message a recordingSender got.
type sentMessage struct {
	entity string
	msg    bus.Message
}

// recordingSender keeps every message; fail, when set, fails matching sends.
type recordingSender struct {
	mu   sync.Mutex
	sent []sentMessage
	fail func(entity string, m bus.Message) bool
}

var _ sender = (*recordingSender)(nil)

var errSend = errors.New("test: send failed")

func (s *recordingSender) Send(_ context.Context, entity string, m bus.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil && s.fail(entity, m) {
		return errSend
	}
	s.sent = append(s.sent, sentMessage{entity, m})
	return nil
}

// take returns and forgets the messages sent so far.
func (s *recordingSender) take() []sentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.sent
	s.sent = nil
	return out
}

// popContinuation removes and returns the continuation due first.
func (s *recordingSender) popContinuation() (bus.Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	best := -1
	for i, m := range s.sent {
		if m.entity != testContinuations {
			continue
		}
		if best < 0 || m.msg.ScheduledEnqueueTime.Before(*s.sent[best].msg.ScheduledEnqueueTime) {
			best = i
		}
	}
	if best < 0 {
		return bus.Message{}, false
	}
	m := s.sent[best].msg
	s.sent = slices.Delete(s.sent, best, best+1)
	return m, true
}

// countingSender discards messages but keeps a count, so the compiler
// cannot drop the work that built them (benchmarks).
type countingSender struct{ n atomic.Int64 }

func (s *countingSender) Send(_ context.Context, _ string, m bus.Message) error {
	s.n.Add(int64(len(m.Body)))
	return nil
}

// stubGraph returns one relationship and answers every PATCH with 200 and
// the relationship as changed (benchmarks: no HTTP).
type stubGraph struct {
	rel gdap.Relationship
}

var _ graphClient = (*stubGraph)(nil)

func (g *stubGraph) GetRelationship(context.Context, string) (gdap.Relationship, error) {
	return g.rel, nil
}

func (g *stubGraph) PatchRelationship(_ context.Context, _, _ string, ch gdap.Changes) (graphapi.PatchResult, error) {
	rel := g.rel
	if ch.AutoExtendDuration != nil {
		rel.AutoExtendDuration = *ch.AutoExtendDuration
	}
	if ch.DisplayName != nil {
		rel.DisplayName = *ch.DisplayName
	}
	rel.ETag = `W/"changed"`
	return graphapi.PatchResult{Relationship: &rel}, nil
}

func (g *stubGraph) CreateRequest(context.Context, string, string) (gdap.Request, error) {
	return gdap.Request{}, errors.New("stubGraph: not supported")
}

func (g *stubGraph) GetRequest(context.Context, string, string) (gdap.Request, error) {
	return gdap.Request{}, errors.New("stubGraph: not supported")
}

func (g *stubGraph) ListRequests(context.Context, string) ([]gdap.Request, error) {
	return nil, nil
}

func (g *stubGraph) GetOperation(context.Context, string) (gdap.Operation, error) {
	return gdap.Operation{}, errors.New("stubGraph: not supported")
}

func (g *stubGraph) ListOperations(context.Context, string) ([]gdap.Operation, error) {
	return nil, nil
}

func (g *stubGraph) OperationURL(relID, opID string) string { return relID + "/" + opID }

var errStubUnsupported = errors.New("stubGraph: not supported")

func (g *stubGraph) CreateRelationship(context.Context, gdap.NewRelationship) (gdap.Relationship, error) {
	return gdap.Relationship{}, errStubUnsupported
}

func (g *stubGraph) FindRelationshipsByName(context.Context, string) ([]gdap.Relationship, error) {
	return nil, errStubUnsupported
}

func (g *stubGraph) ListCustomerRelationships(context.Context, string) ([]gdap.Relationship, error) {
	return nil, errStubUnsupported
}

func (g *stubGraph) DeleteRelationship(context.Context, string, string) error {
	return errStubUnsupported
}

func (g *stubGraph) ListAccessAssignments(context.Context, string) ([]gdap.AccessAssignment, error) {
	return nil, errStubUnsupported
}

func (g *stubGraph) CreateAccessAssignment(context.Context, string, string, []string) (gdap.AccessAssignment, error) {
	return gdap.AccessAssignment{}, errStubUnsupported
}

func (g *stubGraph) PatchAccessAssignment(context.Context, string, string, string, []string) (graphapi.AssignmentPatchResult, error) {
	return graphapi.AssignmentPatchResult{}, errStubUnsupported
}

func (g *stubGraph) DeleteAccessAssignment(context.Context, string, string, string) error {
	return errStubUnsupported
}

// fakeSweeper is a scripted sweep: Start names the sweep that runs, Status
// reports what status says.
type fakeSweeper struct {
	mu        sync.Mutex
	running   string // the sweep a Start joins ("": Start starts its own)
	status    map[string]op.SweepStatus
	started   []string
	continued int
	startErr  error
}

var _ sweeper = (*fakeSweeper)(nil)

func (f *fakeSweeper) Start(_ context.Context, _ op.Invocation, id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return "", f.startErr
	}
	f.started = append(f.started, id)
	if f.running != "" {
		return f.running, nil
	}
	f.running = id
	return id, nil
}

func (f *fakeSweeper) Status(_ context.Context, id string) (op.SweepStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status[id], nil
}

func (f *fakeSweeper) Continue(context.Context, op.Invocation, []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.continued++
	return nil
}

func (f *fakeSweeper) finish(id string, st op.SweepStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status == nil {
		f.status = map[string]op.SweepStatus{}
	}
	f.status[id] = st
	f.running = ""
}

// fakePartnerCenter keeps each customer's DAP flag; sticky makes a removal
// take effect only after that many further reads.
type fakePartnerCenter struct {
	mu     sync.Mutex
	dap    map[string]bool
	sticky int
	err    error
}

var _ partnerCenter = (*fakePartnerCenter)(nil)

func (p *fakePartnerCenter) GetCustomer(_ context.Context, tenantID, _ string) (partnercenter.Customer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return partnercenter.Customer{}, p.err
	}
	on, ok := p.dap[tenantID]
	if !ok {
		on = true
	}
	if !on && p.sticky > 0 {
		p.sticky--
		on = true
	}
	return partnercenter.Customer{ID: tenantID, AllowDelegatedAccess: &on}, nil
}

func (p *fakePartnerCenter) DisableDelegatedAccess(_ context.Context, tenantID, _ string) (partnercenter.Customer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dap == nil {
		p.dap = map[string]bool{}
	}
	p.dap[tenantID] = false
	return partnercenter.Customer{ID: tenantID}, nil
}
