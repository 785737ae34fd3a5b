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
