package sweep

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/event"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

var tenantSeq atomic.Int64

// newTenant returns a fresh customer tenant GUID.
func newTenant() string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", tenantSeq.Add(1))
}

// activeRel is an active relationship ending left from now.
func activeRel(now time.Time, left time.Duration) gdap.Relationship {
	return gdap.Relationship{
		Status: gdap.StatusActive, ActivatedDateTime: now.Add(-day), EndDateTime: now.Add(left),
		Customer: gdap.Customer{TenantID: newTenant(), DisplayName: "Contoso"},
	}
}

// warnings returns "relId/thresholdDays" of every distinct expiring event
// from index from on, sorted.
func (b *testBundle) warnings(t testing.TB, from int) []string {
	t.Helper()
	all := b.eventData(t, typeExpiring)
	var out []string
	for _, d := range all[from:] {
		out = append(out, fmt.Sprintf("%s/%v", d["relationshipId"], d["thresholdDays"]))
	}
	sort.Strings(out)
	return out
}

func (b *testBundle) ended(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, d := range b.eventData(t, typeEnded) {
		out = append(out, fmt.Sprintf("%s/%v", d["relationshipId"], d["status"]))
	}
	return out // in send order
}

func TestThresholdsOverSeveralSweeps(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	now := b.clock.Now()
	a := b.add(t, activeRel(now, 40*day))
	c := b.add(t, activeRel(now, 5*day)) // first seen past 30 and 7

	steps := []struct {
		advance   time.Duration
		warnings  []string
		endedNow  []string
		daysLeftA float64
	}{
		{advance: 0, warnings: []string{c + "/7"}},
		{advance: 11 * day, warnings: []string{a + "/30"}, endedNow: []string{c + "/expired"}},
		{advance: 0}, // same time again: nothing new
		{advance: 23 * day, warnings: []string{a + "/7"}},
		{advance: 5*day + 12*time.Hour, warnings: []string{a + "/1"}},
		{advance: 0},
		{advance: day, endedNow: []string{a + "/expired"}},
		{advance: 30 * day},
	}
	nWarn, nEnded := 0, 0
	for i, st := range steps {
		b.clock.Advance(st.advance)
		b.sweep(t, fmt.Sprintf("s%d", i))
		got := b.warnings(t, nWarn)
		require.Equal(t, st.warnings, got, "sweep %d warnings", i)
		nWarn += len(got)
		ended := b.ended(t)[nEnded:]
		require.ElementsMatch(t, st.endedNow, ended, "sweep %d ended", i)
		nEnded += len(ended)
	}
	// Every distinct announcement was sent exactly once: no re-sends at all.
	require.Equal(t, len(b.sender.unique(testEvents, "")), b.sender.count(testEvents))
	require.Len(t, b.sender.unique(testEvents, typeSweepCompleted), len(steps))

	first := b.eventData(t, typeExpiring)[1] // a's 30-day warning
	require.Equal(t, a, first["relationshipId"])
	require.EqualValues(t, 29, first["daysRemaining"])
	require.Equal(t, "active", first["status"])
	require.Equal(t, "PT0S", first["autoExtendDuration"])
	require.Equal(t, false, first["hasGlobalAdmin"])
}

func TestAutoExtendedRelationshipIsWarnedAgain(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	now := b.clock.Now()
	rel := activeRel(now, 20*day)
	rel.AutoExtendDuration = gdap.AutoExtendOn
	id := b.add(t, rel)

	b.sweep(t, "s1")
	b.clock.Advance(21 * day) // the simulator auto-extends by 180 days
	b.sweep(t, "s2")
	b.clock.Advance(150 * day) // 29 days before the new end
	b.sweep(t, "s3")
	b.sweep(t, "s4")

	ev := b.eventData(t, typeExpiring)
	require.Len(t, ev, 2)
	for _, d := range ev {
		require.Equal(t, id, d["relationshipId"])
		require.EqualValues(t, 30, d["thresholdDays"])
		require.Equal(t, "P180D", d["autoExtendDuration"])
	}
	e1, err := time.Parse(time.RFC3339, ev[0]["endDateTime"].(string))
	require.NoError(t, err)
	e2, err := time.Parse(time.RFC3339, ev[1]["endDateTime"].(string))
	require.NoError(t, err)
	require.Equal(t, 180*day, e2.Sub(e1))
}

func TestEndedAndApprovalPending(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	now := b.clock.Now()
	term := b.add(t, gdap.Relationship{Status: gdap.StatusTerminated, EndDateTime: now.Add(-day)})
	old := b.add(t, gdap.Relationship{Status: gdap.StatusApprovalPending, CreatedDateTime: now.Add(-80 * day)})
	young := b.add(t, gdap.Relationship{Status: gdap.StatusApprovalPending, CreatedDateTime: now.Add(-10 * day)})
	// Ended long before the first sweep: recorded, never announced.
	b.add(t, gdap.Relationship{Status: gdap.StatusExpired, EndDateTime: now.Add(-400 * day)})

	b.sweep(t, "s1")
	require.Equal(t, []string{term + "/terminated"}, b.ended(t))
	ap := b.eventData(t, typeApprovalPending)
	require.Len(t, ap, 1)
	require.Equal(t, old, ap[0]["relationshipId"])
	require.EqualValues(t, 80, ap[0]["daysPending"])
	require.Equal(t, now.Add(-80*day+90*day).Format(time.RFC3339), ap[0]["approvalExpiresDateTime"])

	b.sweep(t, "s2")
	require.Len(t, b.eventData(t, typeApprovalPending), 1)

	b.clock.Advance(66 * day) // young: 76 days pending; old: lapsed at 90 days
	b.sweep(t, "s3")
	ap = b.eventData(t, typeApprovalPending)
	require.Len(t, ap, 2)
	require.Equal(t, young, ap[1]["relationshipId"])
	require.EqualValues(t, 76, ap[1]["daysPending"])
	require.ElementsMatch(t, []string{term + "/terminated", old + "/expired"}, b.ended(t))

	b.sweep(t, "s4")
	require.Equal(t, len(b.sender.unique(testEvents, "")), b.sender.count(testEvents))
}

func TestAutoExtendPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		policy   config.Policy
		wantGA   bool
		commands int
	}{
		// The protected customer's relationship is auto-extended whatever
		// the policy (contract §6.4).
		{policy: config.PolicyOff, commands: 1},
		{policy: config.PolicyEnable, commands: 2},
		{policy: config.PolicyRemoveGlobalAdmin, wantGA: true, commands: 3},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			t.Parallel()
			protected := newTenant()
			b := setup(t, setupOpts{policy: tt.policy, protected: []string{protected}})
			now := b.clock.Now()
			plain := b.add(t, activeRel(now, 20*day))
			withGA := activeRel(now, 20*day)
			withGA.UnifiedRoles = []string{gdap.GlobalAdminRoleID, graphsimRole}
			ga := b.add(t, withGA)
			b.add(t, activeRel(now, 100*day)) // outside the window
			prot := activeRel(now, 20*day)
			prot.Customer.TenantID = protected
			protID := b.add(t, prot)
			ext := activeRel(now, 20*day)
			ext.AutoExtendDuration = gdap.AutoExtendOn
			b.add(t, ext)

			b.sweep(t, "s1")
			b.sweep(t, "s2")
			b.clock.Advance(5 * day)
			b.sweep(t, "s3")

			cmds := b.policyCommands(t)
			require.Len(t, cmds, tt.commands)
			endDate := now.Add(20 * day).UTC().Format("20060102")
			for _, m := range cmds {
				env, err := command.ParseEnvelope(m.Body)
				require.NoError(t, err)
				require.Equal(t, env.ID, m.MessageID)
				require.True(t, strings.HasPrefix(env.ID, op.ReservedPrefix), "a reserved id: %s", env.ID)
				decoded, err := env.Decode()
				require.NoError(t, err)
				switch c := decoded.(type) {
				case *command.UpdateRelationship:
					if c.RelationshipID == protID {
						require.Equal(t, "gdapflow.sweep.autoextend."+protID+"."+endDate, env.ID)
					} else {
						require.NotEqual(t, config.PolicyOff, tt.policy, "with the policy off only the protected customer's relationship is extended")
						require.Equal(t, "gdapflow.sweep.autoextend."+plain+"."+endDate, env.ID)
						require.Equal(t, plain, c.RelationshipID)
					}
					require.Equal(t, gdap.AutoExtendOn, *c.Changes.AutoExtendDuration)
				case *command.RemoveGlobalAdmin:
					require.True(t, tt.wantGA)
					require.Equal(t, "gdapflow.sweep.removega."+ga+"."+endDate, env.ID)
					require.Equal(t, ga, c.RelationshipID)
					require.True(t, c.EnableAutoExtend)
				default:
					t.Fatalf("unexpected command %T", decoded)
				}
			}
		})
	}
}

// graphsimRole is a non-GA role for relationships that carry GA too.
const graphsimRole = "729827e3-9c14-49f7-bb1b-9608f156bbb8"

func TestSweepSplitAcrossInvocations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		maxPages        int
		wantInvocations int
	}{
		{maxPages: 1, wantInvocations: 4},
		{maxPages: 2, wantInvocations: 2},
		{maxPages: 10, wantInvocations: 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("max%d", tt.maxPages), func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{pageSize: 2, maxPages: tt.maxPages})
			now := b.clock.Now()
			var ids []string
			for i := range 7 {
				ids = append(ids, b.add(t, activeRel(now, time.Duration(10+i*10)*day)))
			}
			b.sweep(t, "op-1")

			require.Equal(t, op.SweepStatus{Done: true}, b.status(t, "op-1"))
			sum := b.summary(t, "op-1")
			require.Equal(t, 7, sum.Relationships)
			require.Equal(t, map[string]int{"active": 7}, sum.CountsByStatus)
			require.Equal(t, 3, sum.Expiring) // 10, 20, 30 days
			require.Equal(t, 4, sum.Pages)
			require.Equal(t, tt.wantInvocations, sum.Invocations)
			completed := b.eventData(t, typeSweepCompleted)
			require.Len(t, completed, 1)
			require.EqualValues(t, 4, completed[0]["pages"])
			require.Len(t, b.warnings(t, 0), 3)

			// A first sweep reads no row: it inserts every row, each with
			// something to announce (all 7: activated) Pending first and
			// then final. An unchanged second sweep writes none.
			first := b.sw.Stats()
			require.EqualValues(t, 0, first.SnapshotReads)
			require.EqualValues(t, 14, first.SnapshotWrites)
			b.sweep(t, "timer.2")
			second := b.sw.Stats()
			require.Equal(t, first.SnapshotWrites, second.SnapshotWrites)
			require.Equal(t, first.Transactions, second.Transactions)
			require.Equal(t, first.PageWrites, second.PageWrites)
			// The page index spares the second sweep every snapshot read.
			require.Equal(t, first.SnapshotReads, second.SnapshotReads)
			require.Equal(t, 2*first.PageReads, second.PageReads, "as many index reads as the first sweep (split the same way)")

			// Once time moves past a threshold, only that relationship is read.
			b.clock.Advance(5 * day) // 40 days → 35: nothing; 10 → 5: crosses 7
			b.sweep(t, "timer.3")
			third := b.sw.Stats()
			require.Len(t, b.warnings(t, 0), 4)
			require.Less(t, third.SnapshotReads-second.SnapshotReads, int64(7))
			require.Positive(t, third.SnapshotReads-second.SnapshotReads)
		})
	}
}

// onceFailer fails the first send that matches.
func onceFailer(match func(entity string, m bus.Message) bool) func(string, bus.Message) bool {
	var fired atomic.Bool
	return func(entity string, m bus.Message) bool {
		return match(entity, m) && fired.CompareAndSwap(false, true)
	}
}

func TestCrashAndRedelivery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// run drives the sweep, injecting the fault.
		run func(t *testing.T, b *testBundle)
	}{
		{name: "continuation delivered twice", run: func(t *testing.T, b *testBundle) {
			require.NoError(t, b.start(t, "op-1"))
			for {
				m, ok := b.sender.pop()
				if !ok {
					return
				}
				require.NoError(t, b.sw.Continue(t.Context(), b.inv(), payloadOf(t, m)))
				require.NoError(t, b.sw.Continue(t.Context(), b.inv(), payloadOf(t, m)))
			}
		}},
		{name: "page processing dropped midway", run: func(t *testing.T, b *testBundle) {
			require.NoError(t, b.start(t, "op-1"))
			m, ok := b.sender.pop()
			require.True(t, ok)
			// Page 2 announces two warnings; the second send fails after the
			// first went out, so the invocation fails before its checkpoint.
			sends := 0
			b.sender.setFail(func(entity string, _ bus.Message) bool {
				if entity != testEvents {
					return false
				}
				sends++
				return sends == 2
			})
			err := b.sw.Continue(t.Context(), b.inv(), payloadOf(t, m))
			require.ErrorIs(t, err, errInjected)
			b.sender.setFail(nil)
			// The broker redelivers the same continuation.
			require.NoError(t, b.sw.Continue(t.Context(), b.inv(), payloadOf(t, m)))
			b.drain(t)
		}},
		{name: "continuation send lost after the checkpoint", run: func(t *testing.T, b *testBundle) {
			b.sender.setFail(onceFailer(func(entity string, _ bus.Message) bool { return entity == testContinuations }))
			require.ErrorIs(t, b.start(t, "op-1"), errInjected)
			// The command is redelivered: it joins and re-sends the continuation.
			require.NoError(t, b.start(t, "op-1"))
			m, ok := b.sender.pop()
			require.True(t, ok)
			b.sender.setFail(onceFailer(func(entity string, _ bus.Message) bool { return entity == testContinuations }))
			require.ErrorIs(t, b.sw.Continue(t.Context(), b.inv(), payloadOf(t, m)), errInjected)
			require.NoError(t, b.sw.Continue(t.Context(), b.inv(), payloadOf(t, m)))
			b.drain(t)
		}},
		{name: "completion crashed", run: func(t *testing.T, b *testBundle) {
			b.sender.setFail(onceFailer(func(_ string, m bus.Message) bool { return m.Subject == typeSweepCompleted }))
			require.NoError(t, b.start(t, "op-1"))
			var last bus.Message
			for {
				m, ok := b.sender.pop()
				if !ok {
					break
				}
				last = m
				if err := b.sw.Continue(t.Context(), b.inv(), payloadOf(t, m)); err != nil {
					require.ErrorIs(t, err, errInjected)
					require.NoError(t, b.sw.Continue(t.Context(), b.inv(), payloadOf(t, m)))
				}
			}
			// A late duplicate of the last continuation changes nothing.
			require.NoError(t, b.sw.Continue(t.Context(), b.inv(), payloadOf(t, last)))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{pageSize: 2, maxPages: 1})
			now := b.clock.Now()
			var want []string
			for i := range 6 { // three pages, two warnings each
				id := b.add(t, activeRel(now, time.Duration(2+i*5)*day))
				th := 7
				if i >= 2 {
					th = 30
				}
				want = append(want, fmt.Sprintf("%s/%d", id, th))
			}
			sort.Strings(want)
			tt.run(t, b)

			require.Equal(t, want, b.warnings(t, 0), "each warning once")
			require.Equal(t, op.SweepStatus{Done: true}, b.status(t, "op-1"))
			sum := b.summary(t, "op-1")
			require.Equal(t, 6, sum.Relationships)
			require.Equal(t, 3, sum.Pages)
			require.Len(t, b.eventData(t, typeSweepCompleted), 1)
			st, err := b.sw.store.loadState(t.Context())
			require.NoError(t, err)
			require.Equal(t, phaseDone, st.Phase)
		})
	}
}

func TestOverlappingTriggers(t *testing.T) {
	t.Parallel()
	t.Run("second trigger joins", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{pageSize: 2, maxPages: 1})
		now := b.clock.Now()
		for i := range 5 {
			b.add(t, activeRel(now, time.Duration(100+i)*day))
		}
		require.NoError(t, b.start(t, "op-1"))
		for _, trigger := range []string{"timer.20260105T080000Z", "op-2", "op-2"} {
			id, err := b.sw.Start(t.Context(), b.inv(), trigger)
			require.NoError(t, err)
			require.Equal(t, "op-1", id, "joined the running sweep")
		}
		require.Equal(t, op.SweepStatus{}, b.status(t, "op-1"), "still running")
		b.drain(t)

		completed := b.eventData(t, typeSweepCompleted)
		require.Len(t, completed, 1)
		require.Equal(t, "op-1", completed[0]["sweepId"])
		require.Equal(t, op.SweepStatus{Done: true}, b.status(t, "op-1"))
		sum := b.summary(t, "op-1")
		require.Equal(t, 5, sum.Relationships)
		require.Equal(t, 3, sum.Pages)
		st := b.sw.Stats()
		require.EqualValues(t, 10, st.SnapshotWrites, "the joined triggers wrote no page twice (5 rows Pending, then final)")
		require.EqualValues(t, 0, st.InsertConflicts)
	}) // redelivered Start re-sends one continuation, deduplicated
	t.Run("many triggers join without limit", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{pageSize: 2, maxPages: 1})
		now := b.clock.Now()
		for i := range 3 {
			b.add(t, activeRel(now, time.Duration(100+i)*day))
		}
		require.NoError(t, b.start(t, "op-0"))
		// More gdap.sweep.run operations than an earlier version could record
		// (200) join the running sweep; none is refused.
		for i := 1; i <= 250; i++ {
			id, err := b.sw.Start(t.Context(), b.inv(), fmt.Sprintf("op-%d", i))
			require.NoError(t, err)
			require.Equal(t, "op-0", id)
		}
		b.drain(t)
		require.Equal(t, op.SweepStatus{Done: true}, b.status(t, "op-0"))
		require.Equal(t, op.SweepStatus{Done: true}, b.status(t, "op-250"), "a sweep that is not the current one has ended")
		require.Len(t, b.sender.unique(testEvents, typeSweepCompleted), 1)
	})
	t.Run("stale lease is taken over", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{pageSize: 2, maxPages: 1})
		now := b.clock.Now()
		for i := range 5 {
			b.add(t, activeRel(now, time.Duration(100+i)*day))
		}
		require.NoError(t, b.start(t, "op-1"))
		lost, ok := b.sender.pop() // the invocation's host died: the chain is gone
		require.True(t, ok)
		b.clock.Advance(11 * time.Minute)
		id, err := b.sw.Start(t.Context(), b.inv(), "op-3")
		require.NoError(t, err)
		require.Equal(t, "op-1", id, "took over the stale sweep")
		b.drain(t)
		// The lost continuation finally arrives: stale.
		require.NoError(t, b.sw.Continue(t.Context(), b.inv(), payloadOf(t, lost)))

		completed := b.eventData(t, typeSweepCompleted)
		require.Len(t, completed, 1)
		require.Equal(t, "op-1", completed[0]["sweepId"])
		require.EqualValues(t, 5, completed[0]["relationships"])
		require.Equal(t, op.SweepStatus{Done: true}, b.status(t, "op-1"))
	})
	t.Run("finished sweep re-triggered with its id", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.add(t, activeRel(b.clock.Now(), 100*day))
		b.sweep(t, "timer.1")
		first := b.sw.Stats()
		b.sweep(t, "timer.1")
		require.Len(t, b.eventData(t, typeSweepCompleted), 1)
		again := b.sw.Stats()
		require.Equal(t, first.SnapshotWrites, again.SnapshotWrites)
		require.Equal(t, first.PageReads, again.PageReads, "no page processed again")
	})
}

// wakes returns the operation ids of the distinct wake continuations sent.
func (b *testBundle) wakes(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, m := range b.sender.unique(testContinuations, "") {
		var c op.Continuation
		require.NoError(t, json.Unmarshal(m.Body, &c))
		if c.Kind == op.KindWake {
			out = append(out, c.OperationID)
		}
	}
	return out
}

func TestActivatedAndWake(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	now := b.clock.Now()
	approved := b.add(t, gdap.Relationship{Status: gdap.StatusApprovalPending, CreatedDateTime: now.Add(-5 * day), Duration: "P730D",
		UnifiedRoles: []string{"f2ef992c-3afb-46b9-b7cf-a126ee74c451"}})
	lapsing := b.add(t, gdap.Relationship{Status: gdap.StatusApprovalPending, CreatedDateTime: now.Add(-85 * day)})
	// Active long before the first sweep: no announcement.
	b.add(t, gdap.Relationship{Status: gdap.StatusActive, CreatedDateTime: now.Add(-301 * day), ActivatedDateTime: now.Add(-300 * day), EndDateTime: now.Add(400 * day)})

	b.sweep(t, "s1")
	require.Empty(t, b.eventData(t, event.TypeRelationshipActivated))
	require.Empty(t, b.wakes(t))

	customer := &gdap.Customer{TenantID: "5d027261-d21f-4aa9-b7db-7fa1f56fb163", DisplayName: "Contoso"}
	require.NoError(t, b.sim.Approve(approved, customer))
	// Created and approved between two sweeps: never seen waiting.
	fast := b.add(t, gdap.Relationship{Status: gdap.StatusApprovalPending, CreatedDateTime: now})
	require.NoError(t, b.sim.Approve(fast, nil))
	b.clock.Advance(6 * day) // approved → active; the other lapses (90 days)
	b.sweep(t, "s2")
	act := b.eventData(t, event.TypeRelationshipActivated)
	require.Len(t, act, 2)
	byID := map[string]map[string]any{}
	for _, a := range act {
		byID[a["relationshipId"].(string)] = a
	}
	require.Contains(t, byID, fast)
	require.Equal(t, customer.TenantID, byID[approved]["customerTenantId"])
	require.Equal(t, []any{"f2ef992c-3afb-46b9-b7cf-a126ee74c451"}, byID[approved]["unifiedRoles"])
	require.ElementsMatch(t, []string{op.FollowUpID(approved), op.FollowUpID(fast), op.FollowUpID(lapsing)}, b.wakes(t))

	b.sweep(t, "s3") // nothing new
	require.Len(t, b.eventData(t, event.TypeRelationshipActivated), 2)
	require.Len(t, b.wakes(t), 3)
}
