package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRenderSweep(t *testing.T) {
	t.Parallel()
	line := func(n string, walk, first, second, p90 string) string {
		return "BenchmarkSweep150k/relationships=" + n + "-2 1 100 ns/op 50 pages 2.5 paging-floor-s " + walk + " walk-floor-s " +
			first + " first-sweep-s " + second + " second-sweep-s 0 reads-first 700 table-ops-first 60 table-ops-second " +
			"3 invocations-first 1 invocations-second " + p90 + " p90-live-heap-over-baseline-MiB 20 peak-live-heap-over-baseline-MiB " +
			"1.25 first-over-walk 1.05 second-over-walk 3 insert-floor-s 1.25 first-over-floor"
	}
	tests := []struct {
		name  string
		lines []string
		want  []string
		none  bool
	}{
		{
			name:  "targets met",
			lines: []string{line("15000", "4", "5", "4.2", "10"), line("150000", "40", "50", "42", "14")},
			want: []string{
				"| 15,000 | 50 | 2.5 s | 4.0 s | 3.0 s | 5.0 s | 1.25 | 1.25 | 4.2 s | 1.05 | 700 (0) | 60 | 3 / 1 | 10.0 MiB (20.0 MiB) |",
				"first sweep at 150,000 / walk 1.25 (target ≤ 1.3: met); second sweep at 150,000 / walk 1.05 (target ≤ 1.1: met); p90 live heap 150,000 / 15,000 1.40 (target ≤ 1.5: met).",
			},
		},
		{
			name:  "heap grows",
			lines: []string{line("15000", "4", "5", "4.2", "10"), line("150000", "40", "50", "42", "16")},
			want:  []string{"p90 live heap 150,000 / 15,000 1.60 (target ≤ 1.5: missed)"},
		},
		{
			name:  "one size: no verdict",
			lines: []string{line("1000", "0.3", "0.4", "0.3", "1")},
			want:  []string{"| 1,000 | 50 |"},
		},
		{name: "not measured", none: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			var gb []goBenchResult
			if tt.lines != nil {
				gb = []goBenchResult{{Command: "go test -run ^$ -bench ^BenchmarkSweep150k$ ./internal/sweep/", Lines: tt.lines}}
			}
			renderSweep(&b, gb)
			if tt.none {
				require.Empty(t, b.String())
				return
			}
			for _, w := range tt.want {
				require.Contains(t, b.String(), w)
			}
			if len(tt.lines) == 1 {
				require.NotContains(t, b.String(), "Against the targets")
			}
		})
	}
}

func TestParseRates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []float64
		err  string
	}{
		{"10,50", []float64{10, 50}, ""},
		{" 2.5 ", []float64{2.5}, ""},
		{"10,0", nil, `"0" is not a positive number`},
		{"x", nil, `"x" is not a positive number`},
	}
	for _, tt := range tests {
		got, err := parseRates(tt.in)
		if tt.err != "" {
			require.EqualError(t, err, tt.err)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tt.want, got)
	}
}
