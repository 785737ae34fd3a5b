package sweep

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

// benchPageLatency is the simulated Graph latency of every list page.
const benchPageLatency = 50 * time.Millisecond

// benchBudget is the per-invocation sweep budget of the benchmark.
const benchBudget = 5 * time.Second

// BenchmarkSweep150k sweeps 150,000 relationships (and 15,000, to show that
// memory does not grow with the population) through the Graph simulator
// with benchPageLatency per page, chained across invocations of
// benchBudget, against Azurite. Run it once:
//
//	go test ./internal/sweep/ -run '^$' -bench Sweep150k -benchtime 1x -timeout 60m
//
// Reported per size: wall time of a first and an unchanged second sweep,
// the sequential paging floor (pages × latency), peak heap in use above the
// baseline after seeding, invocations, and Table Storage reads, writes and
// transactions of each sweep.
func BenchmarkSweep150k(b *testing.B) {
	for _, n := range []int{15_000, 150_000} {
		b.Run(fmt.Sprintf("relationships=%d", n), func(b *testing.B) { benchSweep(b, n) })
	}
}

func benchSweep(b *testing.B, n int) {
	for range b.N {
		b.StopTimer()
		tb := setup(b, setupOpts{})
		tb.opts.InvocationBudget = benchBudget
		tb.opts.MaxPagesPerInvocation = 1000
		sw, err := New(tb.opts)
		require.NoError(b, err)
		tb.sw = sw
		tb.sender.dropEvents = true
		seedPopulation(b, tb, n)
		require.NoError(b, tb.sim.AddFault(graphsim.Fault{Route: graphsim.RouteRelationships, Method: "GET",
			Kind: graphsim.FaultLatency, Latency: benchPageLatency}))

		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		baseline, baselineLive := ms.HeapInuse, ms.HeapAlloc
		// Two samplers: HeapInuse as the runtime reports it (includes garbage
		// not yet collected and span fragmentation, so it scales with the GC
		// target, i.e. with the simulator's live heap), and HeapAlloc right
		// after a forced GC (the bytes actually reachable).
		var peak, peakLive atomic.Uint64
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
		t1 := time.Now()
		tb.sweep(b, "bench-2")
		second := time.Since(t1)
		s2 := tb.sw.Stats()
		b.StopTimer()
		close(stop)
		wg.Wait()

		require.True(b, tb.status(b, "bench-2").Done)
		sum := tb.summary(b, "bench-1")
		sum2 := tb.summary(b, "bench-2")
		require.Equal(b, n, sum.Relationships)
		require.Equal(b, n, sum2.Relationships)
		floor := time.Duration(sum.Pages) * benchPageLatency
		b.ReportMetric(first.Seconds(), "first-sweep-s")
		b.ReportMetric(second.Seconds(), "second-sweep-s")
		b.ReportMetric(floor.Seconds(), "paging-floor-s")
		b.ReportMetric(float64(sum.Pages), "pages")
		b.ReportMetric(float64(sum.Invocations), "invocations-first")
		b.ReportMetric(float64(sum2.Invocations), "invocations-second")
		b.ReportMetric(float64(peak.Load()-min(baseline, peak.Load()))/(1<<20), "peak-heap-over-baseline-MiB")
		b.ReportMetric(float64(peakLive.Load()-min(baselineLive, peakLive.Load()))/(1<<20), "peak-live-heap-over-baseline-MiB")
		b.ReportMetric(float64(baseline)/(1<<20), "baseline-heap-MiB")
		b.ReportMetric(float64(s1.SnapshotWrites), "rows-written-first")
		b.ReportMetric(float64(s1.Transactions), "txns-first")
		b.ReportMetric(float64(s1.SnapshotReads), "reads-first")
		b.ReportMetric(float64(s1.StateWrites), "state-writes-first")
		b.ReportMetric(float64(s2.SnapshotWrites-s1.SnapshotWrites), "rows-written-second")
		b.ReportMetric(float64(s2.Transactions-s1.Transactions), "txns-second")
		b.ReportMetric(float64(s2.SnapshotReads-s1.SnapshotReads), "reads-second")
		b.ReportMetric(float64(s2.StateWrites-s1.StateWrites), "state-writes-second")
		b.ReportMetric(float64(tb.sender.dropped), "events")
	}
}

// seedPopulation adds n relationships: 80% active with end dates spread
// over two years, 8% expired, 5% terminated, 5% approvalPending, 2% created.
func seedPopulation(b *testing.B, tb *testBundle, n int) {
	b.Helper()
	now := tb.clock.Now()
	for i := range n {
		r := gdap.Relationship{
			DisplayName: fmt.Sprintf("bench-%06d", i),
			Customer:    gdap.Customer{TenantID: fmt.Sprintf("00000000-0000-4000-9000-%012d", i), DisplayName: "Customer"},
		}
		switch k := i % 100; {
		case k < 80:
			r.Status = gdap.StatusActive
			r.ActivatedDateTime = now.Add(-day)
			r.EndDateTime = now.Add(time.Duration(1+(i*7919)%730) * day).Add(time.Duration(i%86400) * time.Second)
			if i%3 == 0 {
				r.AutoExtendDuration = gdap.AutoExtendOn
			}
		case k < 88:
			r.Status = gdap.StatusExpired
		case k < 93:
			r.Status = gdap.StatusTerminated
		case k < 98:
			r.Status = gdap.StatusApprovalPending
			r.CreatedDateTime = now.Add(-time.Duration(i%89) * day)
		default:
			r.Status = gdap.StatusCreated
		}
		_, err := tb.sim.AddRelationship(r)
		require.NoError(b, err)
	}
}
