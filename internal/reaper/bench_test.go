package reaper_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
	"github.com/gdapflow/gdapflow/internal/engine"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/reaper"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// countingTransport counts the Table Storage requests of a client: reads
// (GET: point reads and the overdue queries) and writes (everything else).
type countingTransport struct {
	reads, writes atomic.Int64
}

// Do forwards req and counts it.
func (c *countingTransport) Do(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet {
		c.reads.Add(1)
	} else {
		c.writes.Add(1)
	}
	return http.DefaultClient.Do(req)
}

// countingSender stands in for Service Bus: it counts the continuations the
// engine re-sends.
type countingSender struct{ n atomic.Int64 }

// Send counts m.
func (s *countingSender) Send(context.Context, string, bus.Message) error {
	s.n.Add(1)
	return nil
}

// BenchmarkTick measures one reaper tick as the handler runs it (the real
// engine's Recover, the ledger and the due index on Azurite; only Service
// Bus is a counter): its wall time (ns/op), its Table Storage requests and
// how many operations it recovers, over an index holding the given numbers
// of overdue and not-yet-due operations, and with the tick's page size or
// time budget cutting it short. Every overdue operation is stranded (its
// continuation was lost), so each one read is re-sent. `make bench` runs
// it (docs/performance.md, "Reaper").
func BenchmarkTick(b *testing.B) {
	tests := []struct {
		name            string
		overdue, notDue int
		pageSize        int
		budget          time.Duration
	}{
		{name: "overdue=0", pageSize: 100},
		{name: "overdue=0/notDue=1000", notDue: 1000, pageSize: 100},
		{name: "overdue=100/page=100", overdue: 100, pageSize: 100},
		{name: "overdue=1000/page=100", overdue: 1000, pageSize: 100},
		{name: "overdue=1000/page=1000/budget=250ms", overdue: 1000, pageSize: 1000, budget: 250 * time.Millisecond},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			benchTick(b, tt.overdue, tt.notDue, tt.pageSize, tt.budget)
		})
	}
}

func benchTick(b *testing.B, overdue, notDue, pageSize int, budget time.Duration) {
	az := localenv.SharedAzurite(b)
	counter := &countingTransport{}
	svc, err := aztables.NewServiceClientFromConnectionString(az.ConnectionString(),
		&aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: counter}})
	require.NoError(b, err)
	client := svc.NewClient(localenv.UniqueName("reaperbench"))
	store := ledger.New(client)
	require.NoError(b, store.EnsureTable(b.Context()))
	idx := ledger.NewDueIndex(client, nil)
	// Real speed: the budget is wall time, as in Azure.
	clock := vclock.NewVirtual(t0)
	seed(b, store, idx, overdue, notDue)

	sender := &countingSender{}
	eng := engine.New(engine.Options{
		Ledger: store, Sender: sender, DueIndex: idx,
		CommandsQueue: "commands", ContinuationsQueue: "continuations", EventsTopic: "events",
		OperationDeadline: 100 * 365 * 24 * time.Hour,
	})
	inv := op.Invocation{Clock: clock, Logger: slog.New(slog.DiscardHandler), MessageID: "reaper", Function: "reaper"}
	r, err := reaper.New(reaper.Config{
		Index: idx, Records: store, Recorder: idx, Clock: clock, Logger: slog.New(slog.DiscardHandler),
		PageSize: pageSize, Budget: budget,
		Recoverer: reaper.RecovererFunc(func(ctx context.Context, rec *ledger.Record) (reaper.Outcome, error) {
			return eng.Recover(ctx, inv, rec)
		}),
	})
	require.NoError(b, err)

	reads, writes, sends := counter.reads.Load(), counter.writes.Load(), sender.n.Load()
	recovered, truncated := 0, 0
	b.ResetTimer()
	for range b.N {
		// Two hours on: every operation the last tick re-sent (due a second
		// later) is overdue again, the not-yet-due ones are not.
		b.StopTimer()
		clock.Advance(2 * time.Hour)
		b.StartTimer()
		rep, err := r.Tick(b.Context())
		require.NoError(b, err)
		require.Zero(b, rep.Failed)
		recovered += rep.Recovered()
		if rep.Truncated {
			truncated++
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(counter.reads.Load()-reads)/n, "table-reads/tick")
	b.ReportMetric(float64(counter.writes.Load()-writes)/n, "table-writes/tick")
	b.ReportMetric(float64(recovered)/n, "recovered/tick")
	b.ReportMetric(float64(sender.n.Load()-sends)/n, "sends/tick")
	b.ReportMetric(float64(truncated)/n, "truncated/tick")
}

// seed stores overdue operations waiting for a continuation that never
// came (due at t0) and not-yet-due ones (due in ten years), each with its
// due index entry, sixteen at a time.
func seed(b *testing.B, store *ledger.Store, idx *ledger.DueIndex, overdue, notDue int) {
	b.Helper()
	ctx := b.Context()
	var wg sync.WaitGroup
	errs := make(chan error, overdue+notDue)
	sem := make(chan struct{}, 16)
	for i := range overdue + notDue {
		due := t0
		if i >= overdue {
			due = t0.Add(10 * 365 * 24 * time.Hour)
		}
		id := fmt.Sprintf("op-%05d", i)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := idx.Add(ctx, id, due); err != nil {
				errs <- err
				return
			}
			errs <- store.Create(ctx, &ledger.Record{
				OperationID: id, CommandType: "gdap.relationship.update", Source: "/bench", ContentHash: "h",
				State: ledger.StateWaiting, Step: "pollOperation", WakeID: id + ".c1", WakeAt: due,
				AcceptedAt: t0.Add(-time.Hour), UpdatedAt: t0.Add(-time.Hour),
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(b, err)
	}
}
