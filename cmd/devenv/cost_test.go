package main

import (
	"bytes"
	"flag"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// costFixtureLines are BenchmarkSweep150k result lines with the metric
// names of the three-size benchmark.
var costFixtureLines = []string{ //nolint:gochecknoglobals // test fixture
	"BenchmarkSweep150k/relationships=1000-2 1 1545707437 ns/op 1.5 first-sweep-s 1 invocations-first 1 invocations-second 4 pages 300 table-ops-first 6 table-ops-second 1012 sends-first 2 sends-second 0.40 second-sweep-s",
	"BenchmarkSweep150k/relationships=15000-2 1 24545707437 ns/op 20.53 first-sweep-s 5 invocations-first 1 invocations-second 50 pages 900 table-ops-first 55 table-ops-second 14542 sends-first 4 sends-second 4.013 second-sweep-s",
	"BenchmarkSweep150k/relationships=150000-2 1 344981480445 ns/op 294.0 first-sweep-s 63 invocations-first 11 invocations-second 500 pages 9000 table-ops-first 520 table-ops-second 145506 sends-first 14 sends-second 50.96 second-sweep-s",
}

func TestCostBilled(t *testing.T) {
	t.Parallel()
	m := defaultCostModel()
	for _, tc := range []struct {
		d, want time.Duration
	}{
		{0, time.Second},
		{8 * time.Millisecond, time.Second},
		{time.Second, time.Second},
		{1001 * time.Millisecond, 1100 * time.Millisecond},
		{1250 * time.Millisecond, 1300 * time.Millisecond},
		{51 * time.Second, 51 * time.Second},
	} {
		require.Equal(t, tc.want, m.billed(tc.d), "%v", tc.d)
	}
}

func TestCostMessageOps(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		entity        string
		subscriptions int
		want          float64
	}{
		{name: "queue", entity: "gdap-continuations", subscriptions: 3, want: 3},
		{name: "commands queue", entity: "gdap-commands", subscriptions: 0, want: 3},
		{name: "topic, one subscription", entity: "gdap-events", subscriptions: 1, want: 3},
		{name: "topic, three subscriptions", entity: "gdap-events", subscriptions: 3, want: 7},
		{name: "topic, nobody subscribed", entity: "gdap-events", subscriptions: 0, want: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := defaultCostModel()
			m.Subscriptions = tc.subscriptions
			require.InDelta(t, tc.want, m.messageOps(tc.entity), 1e-9)
		})
	}
}

func TestCostCommandUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		calls     callsResult
		want      costUsage
		wantBasis string
	}{
		{
			name:  "update, one invocation",
			calls: callsResult{Invocations: 1, Durations: []time.Duration{8 * time.Millisecond}, Table: 5, Brokers: map[string]int{"gdap-events": 1}},
			// command 3 ops + event 3; 2 GB × 1 s.
			want: costUsage{Executions: 1, GBs: 2, SBOps: 6, TableTx: 5}, wantBasis: "measured, longest 8.0 ms",
		},
		{
			name: "202 with two continuations, one longer than the minimum",
			calls: callsResult{Invocations: 3, Durations: []time.Duration{12 * time.Millisecond, 1250 * time.Millisecond, 5 * time.Millisecond},
				Table: 16, Brokers: map[string]int{"gdap-continuations": 2, "gdap-events": 1}},
			want: costUsage{Executions: 3, GBs: 2 * 3.3, SBOps: 3 + 6 + 3, TableTx: 16}, wantBasis: "measured, longest 1250.0 ms",
		},
		{
			name:  "durations not measured",
			calls: callsResult{Invocations: 2, Table: 9, Brokers: map[string]int{"gdap-continuations": 1, "gdap-events": 1}},
			want:  costUsage{Executions: 2, GBs: 2 * 2 * 1.5, SBOps: 9, TableTx: 9}, wantBasis: "2 of 2 assumed 1500.0 ms",
		},
		{
			name:  "one of three durations not measured",
			calls: callsResult{Invocations: 3, Durations: []time.Duration{20 * time.Millisecond, 10 * time.Millisecond}, Table: 16, Brokers: map[string]int{"gdap-continuations": 2, "gdap-events": 1}},
			want:  costUsage{Executions: 3, GBs: 2 * 3.5, SBOps: 12, TableTx: 16}, wantBasis: "measured, longest 20.0 ms; 1 of 3 assumed 1500.0 ms",
		},
		{
			name:  "duplicate delivery: no sends",
			calls: callsResult{Invocations: 1, Durations: []time.Duration{3 * time.Millisecond}, Table: 3},
			want:  costUsage{Executions: 1, GBs: 2, SBOps: 3, TableTx: 3}, wantBasis: "measured, longest 3.0 ms",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, basis := defaultCostModel().commandUsage(tc.calls, 1500*time.Millisecond)
			require.Equal(t, tc.wantBasis, basis)
			require.InDelta(t, tc.want.Executions, got.Executions, 1e-9)
			require.InDelta(t, tc.want.GBs, got.GBs, 1e-9)
			require.InDelta(t, tc.want.SBOps, got.SBOps, 1e-9)
			require.InDelta(t, tc.want.TableTx, got.TableTx, 1e-9)
		})
	}
}

func TestCostBill(t *testing.T) {
	t.Parallel()
	m := defaultCostModel()
	for _, tc := range []struct {
		name   string
		usage  costUsage
		grants bool
		want   costBill
	}{
		{
			name:  "10,000 updates at list prices",
			usage: costUsage{Executions: 10000, GBs: 20000, SBOps: 60000, TableTx: 50000},
			want:  costBill{Functions: 0.004 + 0.52, ServiceBus: 0.048, Table: 0.0018},
		},
		{
			name:  "10,000 updates with free grants: only Table Storage is left",
			usage: costUsage{Executions: 10000, GBs: 20000, SBOps: 60000, TableTx: 50000}, grants: true,
			want: costBill{Table: 0.0018},
		},
		{
			name:  "above the free grants",
			usage: costUsage{Executions: 1250000, GBs: 200000, SBOps: 14e6}, grants: true,
			want: costBill{Functions: 0.4 + 100000*0.000026, ServiceBus: 0.8},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := m.bill(tc.usage, tc.grants)
			require.InDelta(t, tc.want.Functions, got.Functions, 1e-9)
			require.InDelta(t, tc.want.ServiceBus, got.ServiceBus, 1e-9)
			require.InDelta(t, tc.want.Table, got.Table, 1e-9)
		})
	}
}

func TestCostBillTotalPartial(t *testing.T) {
	t.Parallel()
	total, partial := costBill{Functions: 1, ServiceBus: math.NaN(), Table: 0.5}.total()
	require.InDelta(t, 1.5, total, 1e-9)
	require.True(t, partial)
	total, partial = costBill{Functions: 1, ServiceBus: 2, Table: 0.5}.total()
	require.InDelta(t, 3.5, total, 1e-9)
	require.False(t, partial)
}

func TestCostSweepMetrics(t *testing.T) {
	t.Parallel()
	sweep := func(lines []string, err string) []goBenchResult {
		return []goBenchResult{
			{Command: "go test -run ^$ -bench ^BenchmarkHandleCommandUpdate$ ./internal/engine/", Lines: []string{"BenchmarkHandleCommandUpdate-2 20000 95418 ns/op"}},
			{Command: "go test -run ^$ -bench ^BenchmarkSweep150k$ -benchtime 1x ./internal/sweep/", Lines: lines, Err: err},
		}
	}
	for _, tc := range []struct {
		name    string
		goBench []goBenchResult
		sizes   []int
		check   map[int]map[string]float64
		why     string
	}{
		{name: "three sizes", goBench: sweep(costFixtureLines, ""), sizes: []int{1000, 15000, 150000},
			check: map[int]map[string]float64{150000: {"second-sweep-s": 50.96, "table-ops-second": 520, "sends-first": 145506, "invocations-second": 11}},
			why:   "not measured in this run (no relationships=N sub-benchmark of that size)"},
		{name: "today's benchmark: two sizes, no table-ops or sends", goBench: sweep([]string{
			"BenchmarkSweep150k/relationships=15000-2 1 24545707437 ns/op 14.54 baseline-heap-MiB 20.53 first-sweep-s 5.000 invocations-first 1.000 invocations-second 4.013 second-sweep-s",
			"BenchmarkSweep150k/relationships=150000-2 1 344981480445 ns/op 294.0 first-sweep-s 63.00 invocations-first 11.00 invocations-second 50.96 second-sweep-s",
		}, ""), sizes: []int{15000, 150000},
			check: map[int]map[string]float64{15000: {"second-sweep-s": 4.013, "invocations-second": 1, "baseline-heap-MiB": 14.54}},
			why:   "not measured in this run (no relationships=N sub-benchmark of that size)"},
		{name: "repeated lines are averaged", goBench: sweep([]string{
			"BenchmarkSweep150k/relationships=1000-2 1 1 ns/op 0.5 second-sweep-s",
			"BenchmarkSweep150k/relationships=1000-2 1 1 ns/op 0.7 second-sweep-s",
		}, ""), sizes: []int{1000}, check: map[int]map[string]float64{1000: {"second-sweep-s": 0.6}},
			why: "not measured in this run (no relationships=N sub-benchmark of that size)"},
		{name: "benchmark failed", goBench: sweep([]string{"--- FAIL: BenchmarkSweep150k/relationships=1000"}, "exit status 1"),
			why: "not measured: exit status 1"},
		{name: "not run (-sweep=false)", goBench: sweep(nil, "")[:1], why: "not measured in this run (-go-bench=false or -sweep=false)"},
		{name: "no Go benchmarks (-go-bench=false)", why: "not measured in this run (-go-bench=false or -sweep=false)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, why := sweepMetrics(tc.goBench)
			require.Equal(t, tc.why, why)
			require.Len(t, got, len(tc.sizes))
			for _, n := range tc.sizes {
				require.Contains(t, got, n)
			}
			for n, want := range tc.check {
				for k, v := range want {
					require.InDelta(t, v, got[n][k], 1e-9, "%d %s", n, k)
				}
			}
		})
	}
}

func TestCostSweepUsage(t *testing.T) {
	t.Parallel()
	bySize, _ := sweepMetrics([]goBenchResult{{Command: "go test -bench ^BenchmarkSweep150k$", Lines: costFixtureLines}})
	for _, tc := range []struct {
		name    string
		metrics map[string]float64
		phase   string
		want    costUsage
	}{
		{
			name: "150,000, steady state", metrics: bySize[150000], phase: "second",
			// 51.0 s billed; 10 continuations (3 ops) + 4 events (3 ops).
			want: costUsage{Executions: 11, GBs: 2 * 51.0, SBOps: 10*3 + 4*3, TableTx: 520},
		},
		{
			name: "1,000, steady state: one short invocation bills the minimum", metrics: bySize[1000], phase: "second",
			want: costUsage{Executions: 1, GBs: 2, SBOps: 2 * 3, TableTx: 6},
		},
		{
			name: "15,000, first sweep", metrics: bySize[15000], phase: "first",
			want: costUsage{Executions: 5, GBs: 2 * 20.6, SBOps: 4*3 + 14538*3, TableTx: 900},
		},
		{
			name: "today's metrics: no table-ops or sends", metrics: map[string]float64{"second-sweep-s": 4.013, "invocations-second": 1}, phase: "second",
			want: costUsage{Executions: 1, GBs: 2 * 4.1, SBOps: math.NaN(), TableTx: math.NaN()},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := defaultCostModel().sweepUsage(tc.metrics, tc.phase)
			for _, v := range []struct {
				name      string
				want, got float64
			}{{"executions", tc.want.Executions, got.Executions}, {"GB-s", tc.want.GBs, got.GBs}, {"SB ops", tc.want.SBOps, got.SBOps}, {"Table", tc.want.TableTx, got.TableTx}} {
				if math.IsNaN(v.want) {
					require.True(t, math.IsNaN(v.got), "%s: %v", v.name, v.got)
					continue
				}
				require.InDelta(t, v.want, v.got, 1e-9, v.name)
			}
		})
	}
}

func TestCostFixedCharges(t *testing.T) {
	t.Parallel()
	m := defaultCostModel()
	require.InDelta(t, 0.0135*729.6, m.serviceBusBaseMonth(), 1e-9)
	require.InDelta(t, 0.0, m.alwaysReadyMonth(), 1e-9)
	m.AlwaysReady = 2
	require.InDelta(t, 2*2*30.4*86400*0.000004, m.alwaysReadyMonth(), 1e-9)
}

func TestCostFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v            float64
		money, count string
	}{
		{0, "$0.00", "0"},
		{0.0018, "$0.0018", "0"},
		{0.5738, "$0.57", "1"},
		{9.8496, "$9.85", "10"},
		{1234567.4, "$1234567.40", "1,234,567"},
		{-1234, "$-1234.00", "-1,234"},
		{math.NaN(), "not measured", "not measured"},
	} {
		require.Equal(t, tc.money, money(tc.v), "%v", tc.v)
		require.Equal(t, tc.count, count(tc.v), "%v", tc.v)
	}
}

func TestCostFlags(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	m := costFlags(fs)
	require.NoError(t, fs.Parse([]string{"-price-flex-gbs", "0.00003", "-prices-date", "2027-01-01", "-event-subscriptions", "2", "-always-ready", "1"}))
	require.InDelta(t, 0.00003, m.FlexGBs.Value, 1e-12)
	require.InDelta(t, 0.000026, m.FlexGBs.Default, 1e-12)
	require.InDelta(t, 0.40, m.FlexExecMillion.Value, 1e-12)
	require.Equal(t, "2027-01-01", m.PricesDate)
	require.Equal(t, 2, m.Subscriptions)
	require.Equal(t, 1, m.AlwaysReady)
	for _, p := range m.prices() {
		require.NotNil(t, fs.Lookup(p.Flag), p.Flag)
	}

	var b bytes.Buffer
	renderCost(&b, &benchResults{}, *m)
	out := b.String()
	require.Contains(t, out, "| Flex Consumption On Demand execution time, per GB-s | 0.00003 | `-price-flex-gbs` | 2027-01-01 | given with -price-flex-gbs |")
	require.Contains(t, out, "| Flex Consumption On Demand executions, per million | 0.4 | `-price-flex-exec-million` | 2026-07-30 | https://azure.microsoft.com/en-us/pricing/details/functions/ [a] |")
	require.Contains(t, out, "for 2027-01-01:")
}

func TestRenderCost(t *testing.T) {
	t.Parallel()
	res := &benchResults{
		Levels: []levelResult{{Concurrency: 1, HandlerP50: 8 * time.Millisecond}},
		Calls: []callsResult{
			{Name: "update (PATCH 200)", Invocations: 1, Durations: []time.Duration{8 * time.Millisecond}, Table: 5, Brokers: map[string]int{"gdap-events": 1}},
			{Name: "no durations", Invocations: 2, Table: 9, Brokers: map[string]int{"gdap-continuations": 1, "gdap-events": 1}},
		},
		GoBench: []goBenchResult{{Command: "go test -run ^$ -bench ^BenchmarkSweep150k$ -benchtime 1x ./internal/sweep/",
			Lines: []string{costFixtureLines[2]}}},
		LedgerEntityBytes: 1696,
	}
	var b bytes.Buffer
	m := defaultCostModel()
	res.Cost = &m
	res.render(&b)
	out := b.String()
	for _, want := range []string{
		"### Monthly cost at list prices",
		"an invocation whose duration was not measured is assumed to take the update's handler p50 at 1 client(s)",
		// 10,000 × (1 invocation, 2 GB-s, 6 ops, 5 transactions).
		"| update (PATCH 200) | 10,000 | 20,000 | 60,000 | 50,000 | $0.52 | $0.05 | $0.0018 | $0.57 | $0.0018 | measured, longest 8.0 ms |",
		"| no durations | 20,000 | 40,000 | 90,000 | 90,000 | $1.05 | $0.07 | $0.0032 | $1.12 | $0.0032 | 2 of 2 assumed 8.0 ms |",
		"(4 a day × 30.4 days = 121.6 sweeps a month)",
		// 121.6 × (11 invocations, 102 GB-s, 42 ops, 520 transactions).
		"| 150,000 | steady state, 121.6 a month | 1,338 | 12,403 | 5,107 | 63,232 | $0.32 | $0.0041 | $0.0023 | $0.33 | $0.0023 | 50.96 s, 11 invocations, 520 Table ops, 14 sends |",
		"| 150,000 | first sweep, once | 63 | 588 | 436,518 | 9,000 | $0.02 | $0.35 | $0.0003 | $0.36 | $0.0003 | 294 s, 63 invocations, 9000 Table ops, 145506 sends |",
		"| 1,000 | steady state, 121.6 a month | not measured in this run (no relationships=N sub-benchmark of that size) | | | | | | | | | |",
		"- Service Bus Standard base charge, shared by everything above: $0.0135 × 729.6 h = $9.85.",
		"- Always-ready instances: 0 (`commandsAlwaysReady`, infra/main.bicep; `-always-ready`) × 2048 MB × 30.4 days at $0.000004/GB-s = $0.00.",
		"1696 bytes of JSON here",
		"Unit prices used (USD, pay-as-you-go, East US unless noted), for 2026-07-30:",
		"| Service Bus Standard base charge, per hour | 0.0135 | `-price-sb-base-hour` | 2025-09-29 | https://azure.microsoft.com/en-us/pricing/details/service-bus/ [b] |",
		"| Table Storage (LRS) transactions, per 10,000 | 0.00036 | `-price-table-10k` | 2026-07-21 | https://azure.microsoft.com/en-us/pricing/details/storage/tables/ [c] |",
		"[a] Unverified.",
		"Microsoft Graph and Partner Center calls are not billed per call",
	} {
		require.Contains(t, out, want)
	}
	require.NotContains(t, out, "NaN")
}

func TestRenderCostNothingMeasured(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	renderCost(&b, &benchResults{}, defaultCostModel())
	out := b.String()
	require.Contains(t, out, "| (calls per command type not measured) |")
	for _, n := range []string{"1,000", "15,000", "150,000"} {
		require.Contains(t, out, "| "+n+" | steady state, 121.6 a month | not measured in this run (-go-bench=false or -sweep=false) |")
	}
	require.Contains(t, out, "- Table storage (ledger records, snapshot rows): not measured in this run, left out.")
	require.Equal(t, 0, strings.Count(out, "NaN"))
}
