package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/dev/hostemu"
)

func TestOffset(t *testing.T) {
	t.Parallel()
	require.Equal(t, "+00:00:00.000", offset(0))
	require.Equal(t, "+00:00:10.004", offset(10*time.Second+4*time.Millisecond))
	require.Equal(t, "+01:02:03.500", offset(time.Hour+2*time.Minute+3500*time.Millisecond))
	require.Equal(t, "+49:00:00.000", offset(49*time.Hour))
	require.Equal(t, "-00:00:01.000", offset(-time.Second))
}

func TestDurations(t *testing.T) {
	t.Parallel()
	require.Equal(t, "15m", shortDuration(15*time.Minute))
	require.Equal(t, "2h30m", shortDuration(150*time.Minute))
	require.Equal(t, "1h", shortDuration(time.Hour))
	require.Equal(t, "1m30s", shortDuration(90*time.Second))
	require.Equal(t, "7.0s", shortDuration(7*time.Second))
	require.Equal(t, "250ms", shortDuration(250*time.Millisecond))
	require.Equal(t, "≈+7s", approxWait(6940*time.Millisecond))
	require.Equal(t, "≈+10s", approxWait(10*time.Second+6*time.Millisecond))
	require.Equal(t, "≈+1.2s", approxWait(1200*time.Millisecond))
}

func TestShortPath(t *testing.T) {
	t.Parallel()
	id := "5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836"
	require.Equal(t, "/beta/…/delegatedAdminRelationships/5d027261…",
		shortPath("/beta/tenantRelationships/delegatedAdminRelationships/"+id, ""))
	require.Equal(t, "/beta/…/delegatedAdminRelationships/5d027261…/operations/a1b2c3d4…",
		shortPath("/beta/tenantRelationships/delegatedAdminRelationships/"+id+"/operations/a1b2c3d4-0000-4000-8000-000000000000", ""))
	require.Equal(t, "/beta/…/delegatedAdminRelationships?$top=300", shortPath("/beta/tenantRelationships/delegatedAdminRelationships", "$top=300"))
	require.Equal(t, id, relationshipOfPath("/beta/tenantRelationships/delegatedAdminRelationships/"+id+"/requests"))
	require.Empty(t, relationshipOfPath("/v1/customers/x"))
}

func TestContinuationWaits(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	op, ok := continuationOperation("op-5.c12")
	require.True(t, ok)
	require.Equal(t, "op-5", op)
	op, ok = continuationOperation("op.with.dots.lease.1700000000000")
	require.True(t, ok)
	require.Equal(t, "op.with.dots", op)
	_, ok = continuationOperation("sweep-page-3")
	require.False(t, ok)

	invs := []hostemu.Invocation{
		{Function: "commands", MessageID: "op-5", DeliveryCount: 1, Time: t0, Duration: 5 * time.Millisecond},
		{Function: "commands", MessageID: "op-6", DeliveryCount: 1, Time: t0, Duration: 3 * time.Millisecond},
		{Function: "continuations", MessageID: "op-5.c1", DeliveryCount: 1, Time: t0.Add(10*time.Second + 5*time.Millisecond), Duration: time.Millisecond},
		{Function: "continuations", MessageID: "op-5.c1", DeliveryCount: 2, Time: t0.Add(11 * time.Second)}, // redelivery: not a new wait
		{Function: "continuations", MessageID: "op-5.c2", DeliveryCount: 1, Time: t0.Add(21 * time.Second)},
		{Function: "continuations", MessageID: "sweep-page-2", DeliveryCount: 1, Time: t0.Add(30 * time.Second)},
	}
	got := continuationWaits(invs, 0)
	require.Len(t, got, 3)
	require.Equal(t, scheduledWait{SchedulerStart: t0, ScheduledAt: t0.Add(5 * time.Millisecond), Wait: 10 * time.Second, MessageID: "op-5.c1", Operation: "op-5"}, got[0])
	require.Equal(t, "op-5.c2", got[1].MessageID)
	require.Equal(t, t0.Add(11*time.Second), got[1].ScheduledAt) // end of the redelivered c1
	require.True(t, got[2].ScheduledAt.IsZero())
	require.Len(t, continuationWaits(invs, 4), 2)
}

func TestTimelineOrderAndGrouping(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	tl := &timeline{origin: t0}
	// Added out of order: rendering sorts by time, then by rank.
	tl.add(eventEntry(publishedEvent{At: t0.Add(2 * time.Second), Event: eventWithData("gdap.operation.succeeded", `{"operationId":"op-1","attempts":1,"result":{"alreadyDone":false}}`)}))
	for i := range 4 {
		tl.add(graphEntry(graphsim.JournalEntry{Time: t0.Add(time.Second + time.Duration(i)*time.Millisecond), Method: "GET",
			Path: "/beta/tenantRelationships/delegatedAdminRelationships/x", Route: graphsim.RouteRelationship, Status: 429}))
	}
	tl.add(entry{at: t0.Add(time.Second), rank: rankSent, marker: "→", who: "command", text: "op-1  gdap.relationship.update"})
	for _, id := range []string{"op-b1", "op-b2", "op-b3"} {
		tl.add(entry{at: t0.Add(3 * time.Second), rank: rankSent, marker: "→", who: "command", text: id + "  gdap.relationship.update",
			sig: "cmd update", label: id, rest: "  gdap.relationship.update"})
	}
	tl.add(graphEntry(graphsim.JournalEntry{Time: t0.Add(2 * time.Second), Method: "PATCH",
		Path: "/beta/tenantRelationships/delegatedAdminRelationships/x", Route: graphsim.RouteRelationship, Status: 200}))
	var b bytes.Buffer
	tl.render(&b)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 5, b.String())
	require.Contains(t, lines[0], "+00:00:01.000  → command op-1")
	require.Contains(t, lines[1], "429  ×4 (until +00:00:01.003)")
	require.Contains(t, lines[2], "PATCH")
	require.Contains(t, lines[3], "← event   operation.succeeded    op-1 (attempts=1, alreadyDone=false)")
	require.Contains(t, lines[4], "+00:00:03.000  → command op-b1 … op-b3  gdap.relationship.update  ×3")
	require.NotContains(t, lines[4], "until")
}

func TestEventEntries(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	cases := map[string]string{
		`{"operationId":"op-2","error":{"code":"invalid_state","message":"relationship is active"}}`: "operation.failed       op-2 invalid_state: relationship is active",
	}
	for data, want := range cases {
		e := eventEntry(publishedEvent{At: t0, Event: eventWithData("gdap.operation.failed", data)})
		require.Equal(t, want, e.text)
		require.Empty(t, e.sig, "outcomes are never grouped")
	}
	e := eventEntry(publishedEvent{At: t0, Event: eventWithData("gdap.relationship.expiring", `{"relationshipId":"r1","daysRemaining":6,"thresholdDays":7}`)})
	require.Equal(t, "relationship.expiring  r1 6 days left (threshold 7)", e.text)
	require.NotEmpty(t, e.sig)
	require.Equal(t, "a b…", clip("a   b\ncdef", 4))
}

func eventWithData(typ, data string) devstack.Event {
	return devstack.Event{Type: typ, Data: []byte(data)}
}

func TestShortenIDs(t *testing.T) {
	t.Parallel()
	rel := "5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836"
	require.Equal(t, "sweep.autoextend.5d027261….20261211", shortenIDs("sweep.autoextend."+rel+".20261211"))
	require.Equal(t, "relationship 5d027261… is active; customer 8777b240…", shortenIDs("relationship "+rel+" is active; customer 8777b240-c6f0-4469-9e98-a3205431b836"))
	require.Equal(t, "op-1", shortenIDs("op-1"))
}

func TestTimelineAggregates(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	tl := &timeline{origin: t0}
	ev := func(at time.Duration, typ, data string) {
		tl.add(eventEntry(publishedEvent{At: t0.Add(at), Event: eventWithData(typ, data)}))
	}
	ev(time.Second, "gdap.relationship.expiring", `{"relationshipId":"r1","daysRemaining":6,"thresholdDays":7}`)
	ev(2*time.Second, "gdap.relationship.ended", `{"relationshipId":"r2","status":"expired"}`)
	ev(3*time.Second, "gdap.relationship.expiring", `{"relationshipId":"r3","daysRemaining":20,"thresholdDays":30}`)
	var b bytes.Buffer
	tl.render(&b)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 2, b.String())
	require.Contains(t, lines[0], "+00:00:01.000  ← event   relationship.expiring  (one per relationship)  ×2 (until +00:00:03.000)")
	require.Contains(t, lines[1], "relationship.ended     r2 expired")
}
