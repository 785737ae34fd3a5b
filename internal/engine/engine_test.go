package engine

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

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
		code   op.Code
	}{
		{"created rename", gdap.StatusCreated, plain, gdap.Changes{DisplayName: &name}, ""},
		{"created GA auto-extend", gdap.StatusCreated, withGA, gdap.Changes{AutoExtendDuration: &on}, op.CodeGlobalAdminBlocksAutoExtend},
		{"created drop GA and auto-extend", gdap.StatusCreated, withGA, gdap.Changes{AutoExtendDuration: &on, UnifiedRoles: plain}, ""},
		{"active auto-extend", gdap.StatusActive, plain, gdap.Changes{AutoExtendDuration: &on}, ""},
		{"active auto-extend off", gdap.StatusActive, plain, gdap.Changes{AutoExtendDuration: &off}, ""},
		{"active rename", gdap.StatusActive, plain, gdap.Changes{DisplayName: &name}, op.CodeInvalidState},
		{"active remove GA", gdap.StatusActive, withGA, gdap.Changes{UnifiedRoles: plain}, ""},
		{"active add role", gdap.StatusActive, plain, gdap.Changes{UnifiedRoles: withGA}, op.CodeInvalidState},
		{"active GA auto-extend", gdap.StatusActive, withGA, gdap.Changes{AutoExtendDuration: &on}, op.CodeGlobalAdminBlocksAutoExtend},
		{"approval pending", gdap.StatusApprovalPending, plain, gdap.Changes{AutoExtendDuration: &on}, op.CodeInvalidState},
		{"expired", gdap.StatusExpired, plain, gdap.Changes{DisplayName: &name}, op.CodeInvalidState},
		{"no roles left", gdap.StatusCreated, plain, gdap.Changes{UnifiedRoles: []string{}}, op.CodeInvalidState},
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
