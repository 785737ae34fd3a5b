package reaper_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/reaper"
)

// TestFunctionJSON checks the reaper's timer binding
// (functions/reaper/function.json, served as POST /reaper) and its
// default schedule.
func TestFunctionJSON(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../functions/reaper/function.json")
	require.NoError(t, err)
	var fj struct {
		Bindings []struct {
			Name, Type, Direction, Schedule string
			RunOnStartup                    bool
			UseMonitor                      bool
		}
	}
	require.NoError(t, json.Unmarshal(raw, &fj))
	require.Len(t, fj.Bindings, 1)
	b := fj.Bindings[0]
	require.Equal(t, "timerTrigger", b.Type)
	require.Equal(t, "in", b.Direction)
	require.Equal(t, "%"+reaper.ScheduleSetting+"%", b.Schedule)
	require.False(t, b.RunOnStartup)
	require.True(t, b.UseMonitor)

	sched, err := config.ParseSchedule(reaper.ScheduleDefault)
	require.NoError(t, err)
	at := time.Date(2026, 12, 6, 22, 3, 7, 0, time.UTC)
	require.Equal(t, time.Date(2026, 12, 6, 22, 5, 0, 0, time.UTC), sched.Next(at))
	require.Equal(t, time.Date(2026, 12, 6, 22, 10, 0, 0, time.UTC), sched.Next(sched.Next(at)))
}
