package hostemu

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/bus"
)

func TestScheduledDeliveryFastForwardsInDrain(t *testing.T) {
	t.Parallel()
	b := setup(t, setupConfig{})
	at := t0.Add(10 * time.Minute).Truncate(time.Second)
	ok, err := b.emu.Send(t.Context(), "gdap-commands", bus.Message{
		MessageID: "later", ScheduledEnqueueTime: &at,
		Body: []byte(`{"action":"publish","entity":"gdap-continuations","messageId":"cont-1","scheduledEnqueueTime":"2026-11-22T18:30:00Z"}`),
	})
	require.NoError(t, err)
	require.True(t, ok)

	started := time.Now()
	b.drain(t)
	require.Less(t, time.Since(started), 20*time.Second, "90 virtual minutes take no real waiting")

	invs := b.emu.Invocations()
	require.Len(t, invs, 2)
	require.Equal(t, "commands", invs[0].Function)
	require.Equal(t, at, invs[0].Time)
	require.Equal(t, "continuations", invs[1].Function)
	require.Equal(t, "cont-1", invs[1].MessageID)
	require.Equal(t, time.Date(2026, 11, 22, 18, 30, 0, 0, time.UTC), invs[1].Time)
	require.Equal(t, invs[1].Time, b.clock.Now(), "the clock stops at the last scheduled message")

	recs := b.recordedInvocations(t, 2)
	_, meta := decodeEnvelope(t, recs[1].Body)
	require.JSONEq(t, `"2026-11-22T18:30:00"`, string(meta["EnqueuedTimeUtc"]), "a scheduled message is enqueued when it becomes active")
	require.JSONEq(t, `{"attempt":2}`, string(meta["ApplicationProperties"]))
	var sys map[string]string
	require.NoError(t, json.Unmarshal(meta["sys"], &sys))
	require.Equal(t, "2026-11-22T18:30:00Z", sys["UtcNow"])
}

func TestFastForwardOptionWithoutDrain(t *testing.T) {
	t.Parallel()
	b := setup(t, setupConfig{opts: func(o *Options) { o.FastForward = true }})
	at := t0.Add(48 * time.Hour)
	ok, err := b.emu.Send(t.Context(), "gdap-continuations", bus.Message{MessageID: "ff", Body: []byte(`{}`), ScheduledEnqueueTime: &at})
	require.NoError(t, err)
	require.True(t, ok)
	invs := b.waitInvocations(t, 1)
	require.Equal(t, at, invs[0].Time)
}

func TestScheduledMessageWaitsForTheClock(t *testing.T) {
	t.Parallel()
	b := setup(t, setupConfig{})
	at := t0.Add(time.Minute)
	ok, err := b.emu.Send(t.Context(), "gdap-continuations", bus.Message{MessageID: "wait", Body: []byte(`{}`), ScheduledEnqueueTime: &at})
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = b.emu.Send(t.Context(), "gdap-commands", busMessage("now", `{}`))
	require.NoError(t, err)
	require.True(t, ok)

	invs := b.waitInvocations(t, 1)
	require.Equal(t, "now", invs[0].MessageID)
	require.Len(t, b.emu.Invocations(), 1, "without fast-forward the scheduled message waits")

	b.clock.Advance(time.Minute) // an outside clock move is noticed
	invs = b.waitInvocations(t, 2)
	require.Equal(t, "wait", invs[1].MessageID)
	require.Equal(t, at, invs[1].Time)
}

func TestRedeliveryAndDeadLetter(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		body        string
		kind        string
		wantStatus  int
		deliveries  int
		deadLetters int
	}{
		"500 until dead-lettered":  {body: `{"action":"fail"}`, kind: FailureStatus, wantStatus: 500, deliveries: 4, deadLetters: 1},
		"invalid 2xx response":     {body: `{"action":"badResponse"}`, kind: FailureResponse, wantStatus: 200, deliveries: 4, deadLetters: 1},
		"succeeds on 3rd delivery": {body: `{"action":"failUntil","n":3}`, kind: FailureStatus, wantStatus: 500, deliveries: 3},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupConfig{opts: func(o *Options) { o.MaxDeliveryCount = 4 }})
			b.send(t, "poison", tc.body)
			b.drain(t)

			invs := b.emu.Invocations()
			require.Len(t, invs, tc.deliveries)
			for i, inv := range invs {
				require.Equal(t, "poison", inv.MessageID)
				require.Equal(t, i+1, inv.DeliveryCount)
				if i == len(invs)-1 && tc.deadLetters == 0 {
					require.NoError(t, inv.Err)
					require.Equal(t, SettlementCompleted, inv.Settlement)
					continue
				}
				var ie *InvocationError
				require.ErrorAs(t, inv.Err, &ie)
				require.Equal(t, tc.kind, ie.Kind)
				require.Equal(t, tc.wantStatus, inv.StatusCode)
				want := SettlementAbandoned
				if i == len(invs)-1 {
					want = SettlementDeadLettered
				}
				require.Equal(t, want, inv.Settlement)
			}
			recs := b.recordedInvocations(t, tc.deliveries)
			for i, rec := range recs {
				_, meta := decodeEnvelope(t, rec.Body)
				require.JSONEq(t, `"`+itoa(i+1)+`"`, string(meta["DeliveryCount"]))
			}

			dls := b.emu.DeadLetters("gdap-commands")
			require.Len(t, dls, tc.deadLetters)
			if tc.deadLetters > 0 {
				require.Equal(t, ReasonMaxDeliveryCountExceeded, dls[0].Reason)
				require.Equal(t, 4, dls[0].DeliveryCount)
				require.Equal(t, "poison", dls[0].MessageID)
				require.Equal(t, tc.body, string(dls[0].Body))
				var ie *InvocationError
				require.True(t, errors.As(dls[0].LastError, &ie))
			}
		})
	}
}

func TestDeliveryOrderAndConcurrencyLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, setupConfig{opts: func(o *Options) { o.MaxConcurrentCalls = 1 }})
	var want []string
	for i := range 6 {
		id := "m-" + itoa(i)
		want = append(want, id)
		q := "gdap-commands"
		if i%2 == 1 {
			q = "gdap-continuations"
		}
		ok, err := b.emu.Send(t.Context(), q, busMessage(id, `{}`))
		require.NoError(t, err)
		require.True(t, ok)
	}
	b.drain(t)
	var got []string
	for _, inv := range b.emu.Invocations() {
		got = append(got, inv.MessageID)
	}
	require.Equal(t, want, got, "one at a time, in sequence-number order")
}
