package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Targets of the sweep (docs/performance.md): a first sweep within 1.3 ×
// the paging floor, an unchanged second sweep within 1.1 ×, and the live
// heap at 150,000 relationships within 1.5 × the figure at 15,000.
const (
	sweepFirstTarget  = 1.3
	sweepSecondTarget = 1.1
	sweepHeapTarget   = 1.5
)

// renderSweep writes the sweep's ratios from BenchmarkSweep150k's lines
// (nothing when the run did not measure it).
func renderSweep(w io.Writer, goBench []goBenchResult) {
	bySize, _ := sweepMetrics(goBench)
	if len(bySize) == 0 {
		return
	}
	sizes := slices.Sorted(maps.Keys(bySize))
	fmt.Fprintln(w, "### Sweep: first and unchanged second sweep against the paging floor")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "From `%s` (\"Go benchmarks\" below): the Graph simulator in a process of its own, 50 ms per page of 300, "+
		"Azurite, a 5 s invocation budget. Two floors: pages × 50 ms, and the walk — the same Graph client listing every page back to back "+
		"with nothing else to do (the faster of a walk before and one after the sweeps): no sweep on this client can page faster. "+
		"A third figure is what a first sweep must also do: insert every row; \"inserts\" is that alone, the same number of rows shaped like "+
		"the sweep's, in the sweep's groups and transactions, into a table of their own. "+
		"Targets: first sweep ≤ %g × the walk, second ≤ %g ×, p90 live heap above baseline at 150,000 ≤ %g × the figure at 15,000.\n\n",
		costSweepBench, sweepFirstTarget, sweepSecondTarget, sweepHeapTarget)
	fmt.Fprintln(w, "| relationships | pages | floor: pages × 50 ms | floor: walk | inserts | first sweep | first / walk | first / max(walk, inserts) | second sweep | second / walk | first: Table calls (snapshot reads) | second: Table calls | invocations first / second | live heap above baseline, p90 (peak) |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
	for _, n := range sizes {
		m := bySize[n]
		fmt.Fprintf(w, "| %s | %.0f | %.1f s | %.1f s | %.1f s | %.1f s | %.2f | %.2f | %.1f s | %.2f | %.0f (%.0f) | %.0f | %.0f / %.0f | %.1f MiB (%.1f MiB) |\n",
			count(float64(n)), m["pages"], m["paging-floor-s"], m["walk-floor-s"], m["insert-floor-s"], m["first-sweep-s"], m["first-over-walk"],
			m["first-over-floor"], m["second-sweep-s"], m["second-over-walk"], m["table-ops-first"], m["reads-first"], m["table-ops-second"],
			m["invocations-first"], m["invocations-second"], m["p90-live-heap-over-baseline-MiB"], m["peak-live-heap-over-baseline-MiB"])
	}
	fmt.Fprintln(w)
	small, large := bySize[15000], bySize[150000]
	if small != nil && large != nil && small["p90-live-heap-over-baseline-MiB"] > 0 {
		ratio := large["p90-live-heap-over-baseline-MiB"] / small["p90-live-heap-over-baseline-MiB"]
		var met []string
		for _, c := range []struct {
			name      string
			got, goal float64
		}{
			{"first sweep at 150,000 / walk", large["first-over-walk"], sweepFirstTarget},
			{"second sweep at 150,000 / walk", large["second-over-walk"], sweepSecondTarget},
			{"p90 live heap 150,000 / 15,000", ratio, sweepHeapTarget},
		} {
			verdict := "met"
			if c.got > c.goal {
				verdict = "missed"
			}
			met = append(met, fmt.Sprintf("%s %.2f (target ≤ %g: %s)", c.name, c.got, c.goal, verdict))
		}
		fmt.Fprintf(w, "Against the targets: %s.\n\n", strings.Join(met, "; "))
	}
}
