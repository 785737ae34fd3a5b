package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/gdap"
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
		{20, 0, maxDelay, maxDelay},
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
		d := pollDelay(base, polls)
		require.GreaterOrEqual(t, d, base, "never faster than the chosen interval")
		require.LessOrEqual(t, d, maxDelay)
		require.GreaterOrEqual(t, d, prev, "never shrinks")
		if polls < gentlePolls {
			require.Equal(t, base, d)
		}
		prev = d
	}
	require.Equal(t, maxDelay, pollDelay(base, 40))
	require.Equal(t, defaultPollInterval, pollDelay(0, 0))
}

func TestMessageID(t *testing.T) {
	t.Parallel()
	require.Equal(t, "op.c1", messageID("op", "c1"))
	long := messageID(strings.Repeat("x", 128), "c12")
	require.Len(t, long, maxMessageIDLen)
	require.NotEqual(t, long, messageID(strings.Repeat("x", 128), "c13"), "hashing keeps ids distinct")
}

func TestCheckAllowed(t *testing.T) {
	t.Parallel()
	on, off, name := gdap.AutoExtendOn, gdap.AutoExtendOff, "renamed"
	plain := []string{"729827e3-9c14-49f7-bb1b-9608f156bbb8"}
	withGA := append([]string{gdap.GlobalAdminRoleID}, plain...)
	for _, tc := range []struct {
		name   string
		status string
		roles  []string
		ch     gdap.Changes
		code   string
	}{
		{"created rename", gdap.StatusCreated, plain, gdap.Changes{DisplayName: &name}, ""},
		{"created GA auto-extend", gdap.StatusCreated, withGA, gdap.Changes{AutoExtendDuration: &on}, CodeGlobalAdminBlocksAutoExtend},
		{"created drop GA and auto-extend", gdap.StatusCreated, withGA, gdap.Changes{AutoExtendDuration: &on, UnifiedRoles: plain}, ""},
		{"active auto-extend", gdap.StatusActive, plain, gdap.Changes{AutoExtendDuration: &on}, ""},
		{"active auto-extend off", gdap.StatusActive, plain, gdap.Changes{AutoExtendDuration: &off}, ""},
		{"active rename", gdap.StatusActive, plain, gdap.Changes{DisplayName: &name}, CodeInvalidState},
		{"active remove GA", gdap.StatusActive, withGA, gdap.Changes{UnifiedRoles: plain}, ""},
		{"active add role", gdap.StatusActive, plain, gdap.Changes{UnifiedRoles: withGA}, CodeInvalidState},
		{"active GA auto-extend", gdap.StatusActive, withGA, gdap.Changes{AutoExtendDuration: &on}, CodeGlobalAdminBlocksAutoExtend},
		{"approval pending", gdap.StatusApprovalPending, plain, gdap.Changes{AutoExtendDuration: &on}, CodeInvalidState},
		{"expired", gdap.StatusExpired, plain, gdap.Changes{DisplayName: &name}, CodeInvalidState},
		{"no roles left", gdap.StatusCreated, plain, gdap.Changes{UnifiedRoles: []string{}}, CodeInvalidState},
	} {
		f := checkAllowed(gdap.Relationship{ID: "r", Status: tc.status, UnifiedRoles: tc.roles, AutoExtendDuration: off}, tc.ch)
		if tc.code == "" {
			require.Nil(t, f, tc.name)
			continue
		}
		require.NotNil(t, f, tc.name)
		require.Equal(t, tc.code, f.Code, tc.name)
	}
}

func TestMissingChanges(t *testing.T) {
	t.Parallel()
	on, twoYears, sameName := gdap.AutoExtendOn, "P2Y", "same"
	rel := gdap.Relationship{DisplayName: "same", Duration: "P730D", AutoExtendDuration: "P0D",
		UnifiedRoles: []string{"A"}, Customer: gdap.Customer{TenantID: "T"}}
	m := missingChanges(rel, gdap.Changes{DisplayName: &sameName, Duration: &twoYears, UnifiedRoles: []string{"a"},
		Customer: &gdap.Customer{TenantID: "t"}})
	require.Empty(t, m.Fields(), "equal values, normalised durations and case-insensitive ids are not changes")
	m = missingChanges(rel, gdap.Changes{AutoExtendDuration: &on})
	require.Equal(t, []string{"autoExtendDuration"}, m.Fields())
}

func TestActionRules(t *testing.T) {
	t.Parallel()
	reseller := gdap.Relationship{Status: gdap.StatusApprovalPending, IsReseller: true, IsPartnerConsentPending: true}
	require.Nil(t, checkActionAllowed(gdap.ActionApprove, reseller))
	require.Nil(t, checkActionAllowed(gdap.ActionReject, reseller))
	require.NotNil(t, checkActionAllowed(gdap.ActionApprove, gdap.Relationship{Status: gdap.StatusApprovalPending}))
	require.Nil(t, checkActionAllowed(gdap.ActionLockForApproval, gdap.Relationship{Status: gdap.StatusCreated}))
	require.NotNil(t, checkActionAllowed(gdap.ActionTerminate, gdap.Relationship{Status: gdap.StatusCreated}))
	require.True(t, actionGoalHolds(gdap.ActionLockForApproval, gdap.Relationship{Status: gdap.StatusActive}))
	require.True(t, actionGoalHolds(gdap.ActionTerminate, gdap.Relationship{Status: gdap.StatusTerminated}))
	require.False(t, actionGoalHolds(gdap.ActionTerminate, gdap.Relationship{Status: gdap.StatusTerminating}))
	require.True(t, actionGoalHolds(gdap.ActionReject, gdap.Relationship{Status: gdap.StatusTerminated, IsReseller: true}))
}
