package engine

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// BenchmarkHandleCommandUpdate measures HandleCommand for one
// gdap.relationship.update (autoExtendDuration on an active relationship)
// that reads, PATCHes (200), records 4 ledger writes and publishes its
// outcome: the engine's CPU time and allocations per command, without I/O.
// The invocation logger is the handler's JSON logger writing to a discard
// sink at info level, so log formatting is included as in production.
func BenchmarkHandleCommandUpdate(b *testing.B) {
	relID := "5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836"
	graph := &stubGraph{rel: gdap.Relationship{
		ID: relID, DisplayName: "contoso-bench", Status: gdap.StatusActive,
		Customer: gdap.Customer{TenantID: "8777b240-c6f0-4469-9e98-a3205431b836", DisplayName: "Contoso"},
		Duration: "P730D", AutoExtendDuration: gdap.AutoExtendOff,
		UnifiedRoles:    []string{"729827e3-9c14-49f7-bb1b-9608f156bbb8"},
		CreatedDateTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		EndDateTime:     time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC),
		ETag:            `W/"b3JpZ2luYWw="`,
	}}
	led := newMemLedger()
	snd := &countingSender{}
	eng := New(Options{
		Ledger: led, Graph: graph, Sender: snd,
		CommandsQueue: "gdap-commands", ContinuationsQueue: "gdap-continuations",
		EventsTopic: "gdap-events", EventSource: "/gdapflow",
	})
	logger := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
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
		inv := op.Invocation{Clock: clock, Logger: logger, MessageID: "m" + strconv.Itoa(i), DeliveryCount: 1, Function: "commands"}
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
