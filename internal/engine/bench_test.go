package engine

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/graphapi"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// The fakes below stub the engine's I/O at the edge (its consumer-side
// interfaces) so that BenchmarkHandleCommandUpdate measures the engine's own
// CPU time and allocations: envelope parsing and validation, content hashing,
// ledger record building, the workflow decision, workflow-state and result
// JSON, and the outcome event. They copy what a real client would copy (the
// record on every ledger call) and nothing more.

// benchLedger is an in-memory ledger with ETags and the real store's
// conflict rules (Create on an existing id: ErrExists; Update with a stale
// ETag: ErrConflict).
type benchLedger struct {
	mu   sync.Mutex
	recs map[string]ledger.Record
	seq  atomic.Int64
}

func (l *benchLedger) etag() azcore.ETag {
	return azcore.ETag("W/\"" + strconv.FormatInt(l.seq.Add(1), 10) + "\"")
}

func (l *benchLedger) Create(_ context.Context, r *ledger.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.recs[r.OperationID]; ok {
		return ledger.ErrExists
	}
	r.ETag = l.etag()
	l.recs[r.OperationID] = *r
	return nil
}

func (l *benchLedger) Get(_ context.Context, id string) (*ledger.Record, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.recs[id]
	if !ok {
		return nil, ledger.ErrNotFound
	}
	return &r, nil
}

func (l *benchLedger) Update(_ context.Context, r *ledger.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.recs[r.OperationID]
	if !ok {
		return ledger.ErrNotFound
	}
	if cur.ETag != r.ETag {
		return ledger.ErrConflict
	}
	r.ETag = l.etag()
	l.recs[r.OperationID] = *r
	return nil
}

// benchGraph returns one active relationship and answers every PATCH with
// 200 and the relationship as changed.
type benchGraph struct {
	rel gdap.Relationship
}

func (g *benchGraph) GetRelationship(context.Context, string) (gdap.Relationship, error) {
	return g.rel, nil
}

func (g *benchGraph) PatchRelationship(_ context.Context, _, _ string, ch gdap.Changes) (graphapi.PatchResult, error) {
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

func (g *benchGraph) CreateRequest(context.Context, string, string) (gdap.Request, error) {
	panic("not used by the update benchmark")
}

func (g *benchGraph) GetRequest(context.Context, string, string) (gdap.Request, error) {
	panic("not used by the update benchmark")
}

func (g *benchGraph) ListRequests(context.Context, string) ([]gdap.Request, error) {
	panic("not used by the update benchmark")
}

func (g *benchGraph) GetOperation(context.Context, string) (gdap.Operation, error) {
	panic("not used by the update benchmark")
}

func (g *benchGraph) ListOperations(context.Context, string) ([]gdap.Operation, error) {
	panic("not used by the update benchmark")
}

func (g *benchGraph) OperationURL(relID, opID string) string { return relID + "/" + opID }

// benchSender discards messages but keeps a count, so the compiler cannot
// drop the work that built them.
type benchSender struct{ n atomic.Int64 }

func (s *benchSender) Send(_ context.Context, _ string, m bus.Message) error {
	s.n.Add(int64(len(m.Body)))
	return nil
}

// BenchmarkHandleCommandUpdate measures HandleCommand for one
// gdap.relationship.update (autoExtendDuration on an active relationship)
// that reads, PATCHes (200), records 4 ledger writes and publishes its
// outcome: the engine's CPU time and allocations per command, without I/O.
// The invocation logger is the handler's JSON logger writing to a discard
// sink at info level, so log formatting is included as in production.
func BenchmarkHandleCommandUpdate(b *testing.B) {
	relID := "5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836"
	graph := &benchGraph{rel: gdap.Relationship{
		ID: relID, DisplayName: "contoso-bench", Status: gdap.StatusActive,
		Customer: gdap.Customer{TenantID: "8777b240-c6f0-4469-9e98-a3205431b836", DisplayName: "Contoso"},
		Duration: "P730D", AutoExtendDuration: gdap.AutoExtendOff,
		UnifiedRoles:    []string{"729827e3-9c14-49f7-bb1b-9608f156bbb8"},
		CreatedDateTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		EndDateTime:     time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC),
		ETag:            `W/"b3JpZ2luYWw="`,
	}}
	led := &benchLedger{recs: make(map[string]ledger.Record, b.N)}
	snd := &benchSender{}
	eng := New(Options{
		Ledger: led, Graph: graph, Sender: snd,
		CommandsQueue: "gdap-commands", ContinuationsQueue: "gdap-continuations",
		EventsTopic: "gdap-events", EventSource: "/gdapflow",
	})
	logger := slog.New(slog.NewJSONHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	clock := vclock.NewFrozen(time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC))
	bodies := make([][]byte, b.N)
	for i := range bodies {
		id := "3f2b8c1e-5d4a-4c1e-9d7b-" + strconv.FormatInt(int64(100000000000+i), 10)
		bodies[i] = []byte(`{"specversion":"1.0","id":"` + id + `","source":"/onboarding-portal",` +
			`"type":"` + command.TypeRelationshipUpdate + `","datacontenttype":"application/json",` +
			`"data":{"relationshipId":"` + relID + `","changes":{"autoExtendDuration":"P180D"}}}`)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		inv := Invocation{Clock: clock, Logger: logger, MessageID: "m" + strconv.Itoa(i), DeliveryCount: 1, Function: "commands"}
		if err := eng.HandleCommand(ctx, inv, bodies[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if got := len(led.recs); got != b.N {
		b.Fatalf("%d ledger records for %d commands", got, b.N)
	}
	for _, r := range led.recs {
		if r.State != ledger.StateSucceeded || !r.OutcomePublished {
			b.Fatalf("operation %s ended %s (published %v)", r.OperationID, r.State, r.OutcomePublished)
		}
		break
	}
	if snd.n.Load() == 0 {
		b.Fatal("no outcome published")
	}
}

// discard is an io.Writer that drops everything (the logger's sink).
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
