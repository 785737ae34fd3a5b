package op

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		attempt    int
		retryAfter time.Duration
		min, max   time.Duration
	}{
		{1, 0, 2 * time.Second, 2500 * time.Millisecond},
		{2, 0, 4 * time.Second, 5 * time.Second},
		{3, 30 * time.Second, 30 * time.Second, 30 * time.Second},
		{20, 0, MaxDelay, MaxDelay},
		{20, 10 * time.Minute, 10 * time.Minute, 10 * time.Minute},
	} {
		d := RetryDelay("op", tc.attempt, tc.retryAfter)
		require.GreaterOrEqual(t, d, tc.min, "attempt %d", tc.attempt)
		require.LessOrEqual(t, d, tc.max, "attempt %d", tc.attempt)
		require.Equal(t, d, RetryDelay("op", tc.attempt, tc.retryAfter), "deterministic")
	}
}

func TestPollDelay(t *testing.T) {
	t.Parallel()
	base := 10 * time.Second
	prev := time.Duration(0)
	for polls := range 40 {
		d := PollDelay(base, polls)
		require.GreaterOrEqual(t, d, base, "never faster than the chosen interval")
		require.LessOrEqual(t, d, MaxDelay)
		require.GreaterOrEqual(t, d, prev, "never shrinks")
		if polls < gentlePolls {
			require.Equal(t, base, d)
		}
		prev = d
	}
	require.Equal(t, MaxDelay, PollDelay(base, 40))
	require.Equal(t, DefaultPollInterval, PollDelay(0, 0))
}

func TestMessageID(t *testing.T) {
	t.Parallel()
	require.Equal(t, "op.c1", MessageID("op", "c1"))
	long := MessageID(strings.Repeat("x", 128), "c12")
	require.Len(t, long, MaxMessageIDLen)
	require.NotEqual(t, long, MessageID(strings.Repeat("x", 128), "c13"), "hashing keeps ids distinct")
}

func TestCodes(t *testing.T) {
	t.Parallel()
	codes := Codes()
	require.Len(t, codes, 16)
	seen := map[Code]bool{}
	for _, c := range codes {
		require.False(t, seen[c], c)
		seen[c] = true
		require.Regexp(t, `^[a-z]+(_[a-z]+)*$`, string(c))
		require.True(t, c.Valid())
	}
	require.False(t, Code("Invalid_Command").Valid())
	require.False(t, Code("").Valid())
	codes[0] = "changed"
	require.Equal(t, CodeInvalidCommand, Codes()[0], "Codes returns a copy")
}

func TestScheduleAt(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	require.Equal(t, base.Add(time.Second), ScheduleAt(base), "a whole second moves to the next one")
	require.Equal(t, base.Add(time.Second), ScheduleAt(base.Add(time.Millisecond)))
	require.Equal(t, base.Add(2*time.Second), ScheduleAt(base.Add(1999*time.Millisecond)))
}
