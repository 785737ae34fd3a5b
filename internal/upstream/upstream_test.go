package upstream

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTransient(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		want   bool
	}{{0, true}, {429, true}, {500, true}, {502, true}, {503, true}, {504, true}, {400, false}, {401, false}, {404, false}, {409, false}, {412, false}} {
		require.Equal(t, tc.want, (&Error{StatusCode: tc.status}).Transient(), "status %d", tc.status)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"10", 10 * time.Second}, {"0", 0}, {"-3", 0}, {"abc", 0}, {"10s", 0},
		{now.Add(30 * time.Second).Format("Mon, 02 Jan 2006 15:04:05 GMT"), 30 * time.Second},
		{now.Add(-30 * time.Second).Format("Mon, 02 Jan 2006 15:04:05 GMT"), 0},
	} {
		require.Equal(t, tc.want, ParseRetryAfter(tc.in, now), "input %q", tc.in)
	}
}

func TestAsAndMessage(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("wrapped: %w", &Error{Service: ServiceGraph, Operation: "get relationship", StatusCode: 404, Code: "itemNotFound", Message: "gone"})
	ue, ok := As(err)
	require.True(t, ok)
	require.Equal(t, 404, ue.StatusCode)
	require.Equal(t, "wrapped: graph get relationship: HTTP 404 itemNotFound: gone", err.Error())
}
