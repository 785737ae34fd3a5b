package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRatioSpread(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		ratios []float64
		want   string
	}{
		{name: "no rounds", want: ""},
		{name: "one round", ratios: []float64{0.7}, want: ""},
		{name: "rounds in any order", ratios: []float64{0.66, 0.612, 0.704, 0.65}, want: " (rounds 0.61–0.70)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, levelResult{RoundRatios: tc.ratios}.ratioSpread())
		})
	}
}

func TestParseReaperLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		line string
		ok   bool
		want reaperRow
	}{
		{line: "BenchmarkTick/overdue=1000/page=100-2 3 441713453 ns/op 100.0 recovered/tick 104.0 table-reads/tick", ok: true,
			want: reaperRow{Case: "overdue=1000/page=100", PerTick: 441713453, Metrics: map[string]float64{"recovered/tick": 100, "table-reads/tick": 104}}},
		{line: "BenchmarkTick/overdue=0 3 14883345 ns/op", ok: true,
			want: reaperRow{Case: "overdue=0", PerTick: 14883345, Metrics: map[string]float64{}}},
		{line: "BenchmarkSweep150k 1 2 ns/op"},
		{line: "--- FAIL: BenchmarkTick/overdue=0"},
	} {
		got, ok := parseReaperLine(tc.line)
		require.Equal(t, tc.ok, ok, tc.line)
		require.Equal(t, tc.want, got, tc.line)
	}
}
