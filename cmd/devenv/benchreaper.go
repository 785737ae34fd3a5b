package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// reaperBenchArgs run internal/reaper's BenchmarkTick for `make bench`.
var reaperBenchArgs = []string{"-benchtime", "5x"} //nolint:gochecknoglobals // immutable table

// benchReaper runs BenchmarkTick: what one reaper tick costs.
func benchReaper(ctx context.Context, root string) goBenchResult {
	return runGoBench(ctx, root, "reaper: one tick (BenchmarkTick)", "./internal/reaper/", "BenchmarkTick", reaperBenchArgs...)
}

// reaperRow is one BenchmarkTick case, parsed from its result line.
type reaperRow struct {
	Case    string
	PerTick time.Duration
	// Metrics holds the custom per-tick metrics by unit
	// ("table-reads/tick", "recovered/tick", …).
	Metrics map[string]float64
}

// parseReaperLine parses "BenchmarkTick/<case>-<procs> <n> <ns> ns/op
// <value> <unit> …"; ok is false for any other line.
func parseReaperLine(line string) (reaperRow, bool) {
	name, ns, metrics, ok := parseBenchLine(line, "BenchmarkTick")
	if !ok {
		return reaperRow{}, false
	}
	return reaperRow{Case: name, PerTick: time.Duration(ns), Metrics: metrics}, true
}

// parseBenchLine parses a `go test -bench` result line of a sub-benchmark
// of bench, "<bench>/<case>-<procs> <n> <ns> ns/op <value> <unit> …": the
// case, the ns/op and the other metrics by unit. ok is false for any other
// line.
func parseBenchLine(line, bench string) (name string, nsPerOp float64, metrics map[string]float64, ok bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], bench+"/") || f[3] != "ns/op" {
		return "", 0, nil, false
	}
	name = strings.TrimPrefix(f[0], bench+"/")
	if i := strings.LastIndex(name, "-"); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	ns, err := strconv.ParseFloat(f[2], 64)
	if err != nil {
		return "", 0, nil, false
	}
	metrics = map[string]float64{}
	for i := 4; i+1 < len(f); i += 2 {
		if v, err := strconv.ParseFloat(f[i], 64); err == nil {
			metrics[f[i+1]] = v
		}
	}
	return name, ns, metrics, true
}

// renderReaper writes the reaper section of docs/performance.md: one row
// per BenchmarkTick case.
func renderReaper(w io.Writer, g goBenchResult) {
	fmt.Fprintln(w, "### Reaper: one tick")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "`%s` (load average after: %s): one tick with the real engine's `Recover`, the ledger and the due index on Azurite "+
		"(Service Bus only counted), every overdue operation stranded; the clock moves two hours between ticks, so what a tick re-sent is overdue again at the next. "+
		"Wall time is the tick's, per tick; Table calls are the handler's requests (reads: the overdue queries, one per index partition, and the record reads; "+
		"writes: ledger and index writes and the tick's own record).\n\n", g.Command, g.Load)
	fmt.Fprintln(w, "| case | wall time per tick | Table reads | Table writes | recovered | continuations sent | stopped by page size or budget |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	n := 0
	for _, l := range g.Lines {
		row, ok := parseReaperLine(l)
		if !ok {
			continue
		}
		n++
		m := row.Metrics
		fmt.Fprintf(w, "| %s | %s | %.0f | %.0f | %.1f | %.1f | %.0f %% |\n", row.Case, ms(row.PerTick),
			m["table-reads/tick"], m["table-writes/tick"], m["recovered/tick"], m["sends/tick"], 100*m["truncated/tick"])
	}
	if n == 0 || g.Err != "" {
		fmt.Fprintf(w, "\n(no figures: %s)\n", g.Err)
	}
	fmt.Fprintln(w)
}
