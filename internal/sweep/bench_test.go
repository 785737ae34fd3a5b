package sweep

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/localenv"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

// benchPageLatency is the simulated Graph latency of every list page.
const benchPageLatency = 50 * time.Millisecond

// benchBudget is the per-invocation sweep budget of the benchmark.
const benchBudget = 5 * time.Second

// BenchmarkSweep150k sweeps 150,000 relationships (and 1,000 and 15,000,
// to show that memory does not grow with the population) through the Graph
// simulator (in a child process: benchsim_test.go) with benchPageLatency
// per page, chained across invocations of benchBudget, against Azurite.
// Run it once:
//
//	go test ./internal/sweep/ -run '^$' -bench Sweep150k -benchtime 1x -timeout 60m
//
// Reported per size: wall time of a first and an unchanged second sweep;
// two paging floors: pages × latency (paging-floor-s) and a bare walk of
// every page with the same Graph client (walk-floor-s, the fastest any
// sweep on that client can page, decoding included), and each sweep over
// the walk (first-over-walk, second-over-walk); peak heap above the
// baseline after seeding; invocations; Table Storage requests, snapshot
// reads, writes and transactions, failed inserts read back, and messages
// sent by each sweep.
func BenchmarkSweep150k(b *testing.B) {
	for _, n := range []int{1_000, 15_000, 150_000} {
		b.Run(fmt.Sprintf("relationships=%d", n), func(b *testing.B) { benchSweep(b, n) })
	}
}

func benchSweep(b *testing.B, n int) {
	for range b.N {
		b.StopTimer()
		tb := setup(b, setupOpts{})
		tb.graph = startBenchSim(b, tb, n)
		tb.opts.Graph = tb.graph
		tb.opts.InvocationBudget = benchBudget
		tb.opts.MaxPagesPerInvocation = 1000
		tb.opts.PagesPerCommit = 0 // the default
		sw, err := New(tb.opts)
		require.NoError(b, err)
		tb.sw = sw
		tb.sender.dropBulk = true
		walk := walkPages(b, tb)

		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		baseline, baselineLive := ms.HeapInuse, ms.HeapAlloc
		// Two samplers: HeapInuse as the runtime reports it (includes garbage
		// not yet collected and span fragmentation, so it scales with the GC
		// target, i.e. with the simulator's live heap), and HeapAlloc right
		// after a forced GC (the bytes actually reachable).
		var peak, peakLive atomic.Uint64
		var liveMu sync.Mutex
		var live []uint64 // every post-GC sample
		stop := make(chan struct{})
		var wg sync.WaitGroup
		raise := func(p *atomic.Uint64, v uint64) {
			if v > p.Load() {
				p.Store(v)
			}
		}
		wg.Go(func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for n := 0; ; n++ {
				var m runtime.MemStats
				if n%25 == 0 {
					runtime.GC()
					runtime.ReadMemStats(&m)
					raise(&peakLive, m.HeapAlloc)
					liveMu.Lock()
					live = append(live, m.HeapAlloc)
					liveMu.Unlock()
				} else {
					runtime.ReadMemStats(&m)
				}
				raise(&peak, m.HeapInuse)
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		})

		b.StartTimer()
		t0 := time.Now()
		tb.sweep(b, "bench-1")
		first := time.Since(t0)
		s1 := tb.sw.Stats()
		sends1 := tb.sender.sends
		t1 := time.Now()
		tb.sweep(b, "bench-2")
		second := time.Since(t1)
		s2 := tb.sw.Stats()
		b.StopTimer()
		close(stop)
		wg.Wait()
		walk = min(walk, walkPages(b, tb)) // again, away from the seeding's garbage
		inserts := insertFloor(b, tb, n)

		require.True(b, tb.status(b, "bench-2").Done)
		sum := tb.summary(b, "bench-1")
		sum2 := tb.summary(b, "bench-2")
		require.Equal(b, n, sum.Relationships)
		require.Equal(b, n, sum2.Relationships)
		floor := time.Duration(sum.Pages) * benchPageLatency
		b.ReportMetric(first.Seconds(), "first-sweep-s")
		b.ReportMetric(second.Seconds(), "second-sweep-s")
		b.ReportMetric(floor.Seconds(), "paging-floor-s")
		b.ReportMetric(walk.Seconds(), "walk-floor-s")
		b.ReportMetric(inserts.Seconds(), "insert-floor-s")
		b.ReportMetric(first.Seconds()/max(walk, inserts).Seconds(), "first-over-floor")
		b.ReportMetric(first.Seconds()/walk.Seconds(), "first-over-walk")
		b.ReportMetric(second.Seconds()/walk.Seconds(), "second-over-walk")
		b.ReportMetric(float64(s1.TableCalls()), "table-ops-first")
		b.ReportMetric(float64(s2.TableCalls()-s1.TableCalls()), "table-ops-second")
		b.ReportMetric(float64(s1.InsertConflicts), "insert-conflicts-first")
		b.ReportMetric(float64(sends1), "sends-first")
		b.ReportMetric(float64(tb.sender.sends-sends1), "sends-second")
		b.ReportMetric(float64(sum.Pages), "pages")
		b.ReportMetric(float64(sum.Invocations), "invocations-first")
		b.ReportMetric(float64(sum2.Invocations), "invocations-second")
		b.ReportMetric(float64(peak.Load()-min(baseline, peak.Load()))/(1<<20), "peak-heap-over-baseline-MiB")
		b.ReportMetric(float64(peakLive.Load()-min(baselineLive, peakLive.Load()))/(1<<20), "peak-live-heap-over-baseline-MiB")
		// The peak of more samples (a longer sweep) is higher even when
		// nothing grows; the 90th percentile is not.
		slices.Sort(live)
		p90 := live[len(live)*9/10]
		b.ReportMetric(float64(p90-min(baselineLive, p90))/(1<<20), "p90-live-heap-over-baseline-MiB")
		b.ReportMetric(float64(baseline)/(1<<20), "baseline-heap-MiB")
		b.ReportMetric(float64(s1.SnapshotWrites), "rows-written-first")
		b.ReportMetric(float64(s1.Transactions), "txns-first")
		b.ReportMetric(float64(s1.SnapshotReads), "reads-first")
		b.ReportMetric(float64(s1.StateWrites), "state-writes-first")
		b.ReportMetric(float64(s2.SnapshotWrites-s1.SnapshotWrites), "rows-written-second")
		b.ReportMetric(float64(s2.Transactions-s1.Transactions), "txns-second")
		b.ReportMetric(float64(s2.SnapshotReads-s1.SnapshotReads), "reads-second")
		b.ReportMetric(float64(s2.StateWrites-s1.StateWrites), "state-writes-second")
		b.ReportMetric(float64(tb.sender.dropped), "bulk-messages")
	}
}

// insertFloor inserts n snapshot rows, shaped like a first sweep's, into
// a table of their own as a first sweep does (groups of 1,200 rows, the
// transactions of a group in parallel), and returns the time it took: the
// fastest this Table Storage takes a first sweep's rows, whatever the
// sweep does around them.
func insertFloor(b *testing.B, tb *testBundle, n int) time.Duration {
	b.Helper()
	table, err := localenv.SharedAzurite(b).NewTableClient(localenv.UniqueName("floor"))
	require.NoError(b, err)
	_, err = table.CreateTable(b.Context(), nil)
	require.NoError(b, err)
	st := &store{client: table, concurrency: tb.sw.opts.Concurrency}
	now := tb.clock.Now().UTC()
	group := DefaultPagesPerCommit * DefaultPageSize
	t0 := time.Now()
	for lo := 0; lo < n; lo += group {
		rows := make([]row, 0, group)
		for i := lo; i < min(n, lo+group); i++ {
			rows = append(rows, row{id: fmt.Sprintf("%08x-0000-4000-9000-%012d-00000000-0000-4000-8000-%012d", i, i, i), rec: record{
				DisplayName: fmt.Sprintf("bench-%06d", i), Status: gdap.StatusActive,
				CustomerTenantID: fmt.Sprintf("00000000-0000-4000-9000-%012d", i), CustomerName: "Customer",
				Created: now.Add(-400 * day), End: now.Add(330 * day), AutoExtend: gdap.AutoExtendOn,
				Roles: "62e90394-69f5-4237-9190-012177145e10", ETag: `W/"JyIwMDAwMDAwMS0wMDAwLTE5MDAtMDAwMC05ZTM3NzliOTdmNGEiJw=="`,
				Activated: true, LastSeen: now, ChangedBy: "bench-1",
			}})
		}
		unsure, err := st.insertRows(b.Context(), rows)
		require.NoError(b, err)
		require.Empty(b, unsure)
	}
	return time.Since(t0)
}

// walkPages lists every page with the sweep's Graph client, back to back,
// and returns the time it took: the paging floor of this client.
func walkPages(b *testing.B, tb *testBundle) time.Duration {
	b.Helper()
	t0 := time.Now()
	link := ""
	for {
		page, err := tb.graph.ListRelationships(b.Context(), link, DefaultPageSize)
		require.NoError(b, err)
		if page.NextLink == "" {
			return time.Since(t0)
		}
		link = page.NextLink
	}
}
