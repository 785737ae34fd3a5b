package sweep

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const protectedTenant = "11111111-1111-1111-1111-111111111111"
	base := rules{
		thresholds: []int{30, 7, 1}, approvalDays: 75, policy: config.PolicyOff,
		protected:   func(id string) bool { return id == protectedTenant },
		seenRefresh: DefaultSeenRefresh,
	}
	active := func(left time.Duration) gdap.Relationship {
		return gdap.Relationship{
			ID: "rel-1", DisplayName: "R1", Status: gdap.StatusActive, AutoExtendDuration: gdap.AutoExtendOff,
			Customer:        gdap.Customer{TenantID: "22222222-2222-2222-2222-222222222222"},
			UnifiedRoles:    []string{"b", "a"},
			CreatedDateTime: now.Add(-400 * day), EndDateTime: now.Add(left), ETag: "e1",
		}
	}
	withPolicy := func(p config.Policy) rules { r := base; r.policy = p; return r }
	seen := func(rel gdap.Relationship, warned string) *record {
		d := decide(now.Add(-time.Hour), rel, nil, base, "s0")
		rec := d.next
		rec.Warned = warned
		return &rec
	}

	tests := []struct {
		name         string
		rel          gdap.Relationship
		prev         *record
		rules        rules
		wantExpiring *expiringNotice
		wantWarned   string
		wantEnded    bool
		// wantEndedAs is the snapshot's Ended after the sweep ("" unchecked).
		wantEndedAs  string
		wantApproval bool
		wantAction   string
		wantWrite    bool
		wantWindow   bool
		wantLapse    bool
	}{
		{name: "first sight outside the window", rel: active(40 * day), rules: base, wantWrite: true},
		{name: "first sight past two thresholds announces the nearest only", rel: active(5 * day), rules: base,
			wantExpiring: &expiringNotice{ThresholdDays: 7, DaysRemaining: 5}, wantWarned: "30,7", wantWrite: true, wantWindow: true},
		{name: "first sight past all thresholds", rel: active(2 * time.Hour), rules: base,
			wantExpiring: &expiringNotice{ThresholdDays: 1, DaysRemaining: 1}, wantWarned: "30,7,1", wantWrite: true, wantWindow: true},
		{name: "partial day rounds up", rel: active(29*day + 23*time.Hour), rules: base,
			wantExpiring: &expiringNotice{ThresholdDays: 30, DaysRemaining: 30}, wantWarned: "30", wantWrite: true, wantWindow: true},
		{name: "already announced: nothing, no write", rel: active(29 * day), prev: seen(active(29*day), "30"), rules: base,
			wantWarned: "30", wantWindow: true},
		{name: "next threshold crossed", rel: active(6 * day), prev: seen(active(6*day), "30"), rules: base,
			wantExpiring: &expiringNotice{ThresholdDays: 7, DaysRemaining: 6}, wantWarned: "30,7", wantWrite: true, wantWindow: true},
		{name: "a nearer threshold already announced suppresses a farther one", rel: active(6 * day), prev: seen(active(6*day), "7"), rules: base,
			wantWarned: "30,7", wantWrite: true, wantWindow: true},
		{name: "end date moved resets the thresholds", rel: active(20 * day), prev: seen(active(20*day-180*day), "30,7,1"), rules: base,
			wantExpiring: &expiringNotice{ThresholdDays: 30, DaysRemaining: 20}, wantWarned: "30", wantWrite: true, wantWindow: true},
		{name: "expired first seen", rel: gdap.Relationship{ID: "x", Status: gdap.StatusExpired, EndDateTime: now.Add(-day)}, rules: base,
			wantEnded: true, wantWrite: true, wantEndedAs: gdap.StatusExpired},
		{name: "expired first seen, ended before the lookback: recorded, not announced",
			rel: gdap.Relationship{ID: "x", Status: gdap.StatusExpired, EndDateTime: now.Add(-400 * day)}, rules: base,
			wantWrite: true, wantEndedAs: gdap.StatusExpired},
		{name: "terminated first seen, ended inside the lookback (the warning window)",
			rel: gdap.Relationship{ID: "x", Status: gdap.StatusTerminated, EndDateTime: now.Add(-29 * day)}, rules: base,
			wantEnded: true, wantWrite: true, wantEndedAs: gdap.StatusTerminated},
		{name: "terminated first seen, no end date: announced",
			rel: gdap.Relationship{ID: "x", Status: gdap.StatusTerminated}, rules: base,
			wantEnded: true, wantWrite: true, wantEndedAs: gdap.StatusTerminated},
		{name: "first seen with a short warning window: the lookback is still a week",
			rel:       gdap.Relationship{ID: "x", Status: gdap.StatusExpired, EndDateTime: now.Add(-6 * day)},
			rules:     func() rules { r := base; r.thresholds = []int{1}; return r }(),
			wantEnded: true, wantWrite: true, wantEndedAs: gdap.StatusExpired},
		{name: "seen active before, ended long ago: announced",
			rel:  gdap.Relationship{ID: "x", Status: gdap.StatusExpired, EndDateTime: now.Add(-400 * day)},
			prev: &record{Status: gdap.StatusActive, End: normTime(now.Add(-400 * day)), LastSeen: now}, rules: base,
			wantEnded: true, wantWrite: true, wantEndedAs: gdap.StatusExpired},
		{name: "terminated already announced", rel: gdap.Relationship{ID: "x", Status: gdap.StatusTerminated},
			prev: &record{Status: gdap.StatusTerminated, Ended: gdap.StatusTerminated, LastSeen: now}, rules: base},
		{name: "approval pending for 80 days", rel: gdap.Relationship{ID: "p", Status: gdap.StatusApprovalPending, CreatedDateTime: now.Add(-80 * day)},
			rules: base, wantApproval: true, wantWrite: true},
		{name: "approval pending for 10 days", rel: gdap.Relationship{ID: "p", Status: gdap.StatusApprovalPending, CreatedDateTime: now.Add(-10 * day)},
			rules: base, wantWrite: true},
		{name: "policy enable: no GA, in window", rel: active(20 * day), rules: withPolicy(config.PolicyEnable),
			wantExpiring: &expiringNotice{ThresholdDays: 30, DaysRemaining: 20}, wantWarned: "30", wantAction: actionUpdate, wantWrite: true, wantWindow: true},
		{name: "policy enable: outside the window", rel: active(31 * day), rules: withPolicy(config.PolicyEnable), wantWrite: true},
		{name: "policy enable: GA is left alone", rel: func() gdap.Relationship {
			r := active(20 * day)
			r.UnifiedRoles = []string{gdap.GlobalAdminRoleID}
			return r
		}(), rules: withPolicy(config.PolicyEnable),
			wantExpiring: &expiringNotice{ThresholdDays: 30, DaysRemaining: 20}, wantWarned: "30", wantWrite: true, wantWindow: true},
		{name: "policy remove-global-admin: GA", rel: func() gdap.Relationship {
			r := active(20 * day)
			r.UnifiedRoles = []string{gdap.GlobalAdminRoleID}
			return r
		}(), rules: withPolicy(config.PolicyRemoveGlobalAdmin),
			wantExpiring: &expiringNotice{ThresholdDays: 30, DaysRemaining: 20}, wantWarned: "30", wantAction: actionRemoveGA, wantWrite: true, wantWindow: true},
		{name: "policy: already auto-extending", rel: func() gdap.Relationship {
			r := active(20 * day)
			r.AutoExtendDuration = gdap.AutoExtendOn
			return r
		}(), rules: withPolicy(config.PolicyEnable),
			wantExpiring: &expiringNotice{ThresholdDays: 30, DaysRemaining: 20}, wantWarned: "30", wantWrite: true, wantWindow: true},
		{name: "protected customer: auto-extended with the policy off", rel: func() gdap.Relationship {
			r := active(20 * day)
			r.Customer.TenantID = protectedTenant
			return r
		}(), rules: withPolicy(config.PolicyOff),
			wantExpiring: &expiringNotice{ThresholdDays: 30, DaysRemaining: 20, Protected: true}, wantWarned: "30", wantAction: actionUpdate, wantWrite: true, wantWindow: true},
		{name: "protected customer with GA, policy enable: announced, no action", rel: func() gdap.Relationship {
			r := active(20 * day)
			r.Customer.TenantID = protectedTenant
			r.UnifiedRoles = []string{gdap.GlobalAdminRoleID}
			return r
		}(), rules: withPolicy(config.PolicyEnable),
			wantExpiring: &expiringNotice{ThresholdDays: 30, DaysRemaining: 20, Protected: true}, wantWarned: "30", wantWrite: true, wantWindow: true, wantLapse: true},
		{name: "protected customer with GA, policy remove-global-admin", rel: func() gdap.Relationship {
			r := active(20 * day)
			r.Customer.TenantID = protectedTenant
			r.UnifiedRoles = []string{gdap.GlobalAdminRoleID}
			return r
		}(), rules: withPolicy(config.PolicyRemoveGlobalAdmin),
			wantExpiring: &expiringNotice{ThresholdDays: 30, DaysRemaining: 20, Protected: true}, wantWarned: "30", wantAction: actionRemoveGA, wantWrite: true, wantWindow: true},
		{name: "policy: already issued for this end date", rel: active(20 * day), prev: func() *record {
			r := seen(active(20*day), "30")
			r.ActionEnd, r.Action = normTime(now.Add(20*day)), actionUpdate
			return r
		}(), rules: withPolicy(config.PolicyEnable), wantWarned: "30", wantWindow: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := decide(now, tt.rel, tt.prev, tt.rules, "s1")
			require.Equal(t, tt.wantExpiring, d.expiring)
			require.Equal(t, tt.wantWarned, d.next.Warned)
			require.Equal(t, tt.wantEnded, d.ended)
			if tt.wantEndedAs != "" {
				require.Equal(t, tt.wantEndedAs, d.next.Ended, "recorded as ended, announced or not")
			}
			require.Equal(t, tt.wantApproval, d.approval != nil)
			require.Equal(t, tt.wantAction, d.action)
			require.Equal(t, tt.wantLapse, d.lapseWarning)
			require.Equal(t, tt.wantWrite, d.write)
			require.Equal(t, tt.wantWindow, d.inWindow)
			if d.approval != nil {
				require.Equal(t, tt.rel.CreatedDateTime.Add(90*day), d.approval.ExpiresAt)
				require.Equal(t, 80, d.approval.DaysPending)
			}
		})
	}
}

func TestDecideLastSeenIsCoarse(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	rl := rules{thresholds: []int{30}, approvalDays: 75, policy: config.PolicyOff,
		protected: func(string) bool { return false }, seenRefresh: 7 * day}
	rel := gdap.Relationship{ID: "r", Status: gdap.StatusActive, EndDateTime: now.Add(300 * day)}
	first := decide(now, rel, nil, rl, "s1")
	require.True(t, first.write)
	prev := first.next

	tests := []struct {
		name  string
		after time.Duration
		want  bool
	}{
		{name: "six hours later", after: 6 * time.Hour, want: false},
		{name: "six days later", after: 6 * day, want: false},
		{name: "fifteen days later", after: 15 * day, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := decide(now.Add(tt.after), rel, &prev, rl, "s2")
			require.Equal(t, tt.want, d.write)
			require.Equal(t, "s1", d.next.ChangedBy, "a refresh is not a change")
		})
	}
}

func TestIDs(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 7, 4, 10, 0, 0, 0, time.UTC)
	rel := "5d027261-7a7b-4d48-bb1c-6d9c4f4a1b2c-a3205431-b836-4d8e-9f0a-1a2b3c4d5e6f"
	tests := []struct {
		name, got, want string
	}{
		{name: "auto-extend", got: commandID(idPrefixAutoExtend, rel, end), want: "gdapflow.sweep.autoextend." + rel + ".20260704"},
		{name: "hashed when invalid", got: commandID(idPrefixRemoveGA, "a/b", end), want: "gdapflow.sweep.removega.c14cddc033f64b9dea80ea675cf280a0.20260704"},
		{name: "row key escapes", got: rowKeyOf("a/b#c?d\\e'f%"), want: "a%2Fb%23c%3Fd%5Ce%27f%25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.got)
			require.LessOrEqual(t, len(tt.got), maxIDLen)
		})
	}
	long := op.MessageID("sweep", string(make([]byte, 200)), "p1")
	require.Len(t, long, maxIDLen)
}

// A protected customer's relationship whose auto-extend action was issued
// for an earlier end date (it was extended since) and that now holds Global
// Administrator with auto-extend off will lapse: the lapse warning must not
// be silenced by the action recorded for the old end date.
func TestDecideLapseWarningIgnoresAnEarlierEndDatesAction(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const protectedTenant = "11111111-1111-1111-1111-111111111111"
	rl := rules{thresholds: []int{30, 7, 1}, approvalDays: 75, policy: config.PolicyEnable,
		protected: func(id string) bool { return id == protectedTenant }, seenRefresh: DefaultSeenRefresh}
	rel := gdap.Relationship{
		ID: "rel-1", DisplayName: "R1", Status: gdap.StatusActive, AutoExtendDuration: gdap.AutoExtendOff,
		Customer: gdap.Customer{TenantID: protectedTenant}, UnifiedRoles: []string{gdap.GlobalAdminRoleID},
		CreatedDateTime: now.Add(-400 * day), EndDateTime: now.Add(20 * day), ETag: "e2",
	}
	oldEnd := normTime(now.Add(20*day - 180*day))
	prev := decide(now.Add(-200*day), gdap.Relationship{ID: "rel-1", Status: gdap.StatusActive,
		Customer: gdap.Customer{TenantID: protectedTenant}, EndDateTime: oldEnd}, nil, rl, "s0").next
	prev.ActionEnd, prev.Action = oldEnd, actionUpdate // extended at the old end date
	d := decide(now, rel, &prev, rl, "s1")
	require.NotNil(t, d.expiring)
	require.True(t, d.expiring.Protected)
	require.Empty(t, d.action, "Global Administrator blocks auto-extend; the policy does not remove it")
	require.True(t, d.lapseWarning, "the relationship will lapse at its new end date")
}

// A relationship the sweep saw in status created (locked and approved
// between two sweeps) is announced once active, and wakes its follow-up:
// it became active after waiting for approval.
func TestDecideActivatedAfterCreated(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rl := rules{thresholds: []int{30}, approvalDays: 75, policy: config.PolicyOff,
		protected: func(string) bool { return false }, seenRefresh: DefaultSeenRefresh}
	rel := gdap.Relationship{ID: "rel-1", DisplayName: "R1", Status: gdap.StatusCreated,
		CreatedDateTime: now.Add(-time.Hour)}
	prev := decide(now.Add(-time.Hour), rel, nil, rl, "s0").next
	rel.Status, rel.ActivatedDateTime, rel.EndDateTime = gdap.StatusActive, now.Add(-time.Minute), now.Add(300*day)
	d := decide(now.Add(5*time.Hour), rel, &prev, rl, "s1")
	require.True(t, d.activated, "first seen active after waiting for approval")
	require.True(t, d.wake)
	require.True(t, d.next.Activated)
}
