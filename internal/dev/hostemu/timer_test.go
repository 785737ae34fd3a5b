package hostemu

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFireTimerWireFormat(t *testing.T) {
	t.Parallel()
	b := setup(t, setupConfig{functions: map[string]string{
		"tick": `{"bindings":[{"name":"timer","type":"timerTrigger","direction":"in","schedule":"0 */5 * * * *","useMonitor":false}]}`,
	}})
	require.NoError(t, b.emu.FireTimer(t.Context(), "expiry-sweep"))
	require.NoError(t, b.emu.FireTimer(t.Context(), "tick"))
	require.ErrorContains(t, b.emu.FireTimer(t.Context(), "commands"), "not a timer function")
	require.ErrorContains(t, b.emu.FireTimer(t.Context(), "nope"), "not a timer function")

	recs := b.recordedInvocations(t, 2)
	require.Equal(t, "/expiry-sweep", recs[0].Path)
	data, meta := decodeEnvelope(t, recs[0].Body)
	require.JSONEq(t, `{"Schedule":{"AdjustForDST":true},
		"ScheduleStatus":{"Last":"2026-11-22T17:00:00.1234567+00:00","Next":"2026-11-22T18:00:00+00:00","LastUpdated":"2026-11-22T17:00:00.1234567+00:00"},
		"IsPastDue":false}`, string(data["timer"]))
	require.Len(t, meta, 1, "timer metadata is only sys")
	var sys map[string]string
	require.NoError(t, json.Unmarshal(meta["sys"], &sys))
	require.Equal(t, "expiry-sweep", sys["MethodName"])
	require.Equal(t, "2026-11-22T17:00:00.1234567Z", sys["UtcNow"])

	require.Equal(t, "/tick", recs[1].Path)
	data, _ = decodeEnvelope(t, recs[1].Body)
	require.JSONEq(t, `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":false}`, string(data["timer"]))

	invs := b.emu.Invocations()
	require.Len(t, invs, 2)
	require.Equal(t, "expiry-sweep", invs[0].Function)
	require.Empty(t, invs[0].Settlement)
	require.Equal(t, []string{"handled expiry-sweep "}, invs[0].Logs)
}

func TestTimersFireOnScheduleWhenEnabled(t *testing.T) {
	t.Parallel()
	b := setup(t, setupConfig{opts: func(o *Options) { o.EnableTimers = true }})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	require.NoError(t, b.emu.Drain(ctx), "Drain does not wait for timers")
	require.Equal(t, t0, b.clock.Now(), "nor fast-forward to them")
	require.Empty(t, b.emu.Invocations())

	b.clock.Advance(time.Hour) // 18:00:00.123: the 18:00 occurrence is due
	invs := b.waitInvocations(t, 1)
	require.Equal(t, "expiry-sweep", invs[0].Function)

	b.clock.Advance(13 * time.Hour) // 07:00 next day: 00:00 and 06:00 were missed
	b.waitInvocations(t, 2)
	b.drain(t)
	require.Len(t, b.emu.Invocations(), 2, "missed occurrences fire once")

	recs := b.recordedInvocations(t, 2)
	var first, second timerInfo
	data, _ := decodeEnvelope(t, recs[0].Body)
	require.NoError(t, json.Unmarshal(data["timer"], &first))
	data, _ = decodeEnvelope(t, recs[1].Body)
	require.NoError(t, json.Unmarshal(data["timer"], &second))
	require.False(t, first.IsPastDue)
	require.Equal(t, "2026-11-22T18:00:00+00:00", first.ScheduleStatus.Last)
	require.Equal(t, "2026-11-23T00:00:00+00:00", first.ScheduleStatus.Next)
	require.True(t, second.IsPastDue)
	require.Equal(t, "2026-11-23T00:00:00+00:00", second.ScheduleStatus.Last)
	require.Equal(t, "2026-11-23T12:00:00+00:00", second.ScheduleStatus.Next)
}
