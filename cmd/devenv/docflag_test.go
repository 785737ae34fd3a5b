package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWithoutDocFlag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want []string
	}{
		{nil, nil},
		{[]string{"-doc", "docs/performance.md"}, nil},
		{[]string{"--doc=docs/performance.md"}, nil},
		{[]string{"-doc="}, nil},
		{[]string{"-commands", "100", "-doc", "x.md", "-sweep=false"}, []string{"-commands", "100", "-sweep=false"}},
		{[]string{"-docs", "1"}, []string{"-docs", "1"}},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, withoutDocFlag(tt.args), "%q", tt.args)
	}
}
