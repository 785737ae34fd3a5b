package invoke

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestScheduledTick(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return v
	}
	for _, tc := range []struct {
		schedule, now, want string
	}{
		{"0 0 */6 * * *", "2026-11-22T07:59:59Z", "2026-11-22T06:00:00Z"},
		{"0 0 */6 * * *", "2026-11-22T06:00:00.5Z", "2026-11-22T06:00:00Z"},
		{"0 0 */6 * * *", "2026-11-22T00:00:03Z", "2026-11-22T00:00:00Z"},
		{"* * * * * *", "2026-11-22T07:59:59.9Z", "2026-11-22T07:59:59Z"},
		{"0 30 9 * * 1", "2026-11-22T07:00:00Z", "2026-11-16T09:30:00Z"},
		{"not a schedule", "2026-11-22T07:00:00.7Z", "2026-11-22T07:00:00Z"},
	} {
		require.Equal(t, at(tc.want), scheduledTick(tc.schedule, at(tc.now)), "%s at %s", tc.schedule, tc.now)
	}
}
