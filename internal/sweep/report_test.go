package sweep

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// TestReadReport: the report's figures after a sweep over a mix, read from
// the page rows and a bounded number of snapshot rows; a second sweep over
// unchanged relationships rewrites no page row.
func TestReadReport(t *testing.T) {
	t.Parallel()
	protected := newTenant()
	b := setup(t, setupOpts{pageSize: 3, protected: []string{protected}})
	now := b.clock.Now()
	on := activeRel(now, 100*day)
	on.AutoExtendDuration = gdap.AutoExtendOn
	b.add(t, on)
	soon := activeRel(now, 10*day)
	soon.DisplayName = "<script>alert(1)</script>"
	soonID := b.add(t, soon)
	ga := activeRel(now, 20*day)
	ga.UnifiedRoles = []string{gdap.GlobalAdminRoleID}
	gaID := b.add(t, ga)
	prot := activeRel(now, 15*day)
	prot.Customer.TenantID = protected
	b.add(t, prot)
	b.add(t, activeRel(now, 60*day)) // lapses, but outside the 30-day list
	pending := gdap.Relationship{Status: gdap.StatusApprovalPending, Customer: gdap.Customer{TenantID: newTenant()}}
	pendingID := b.add(t, pending)
	b.add(t, gdap.Relationship{Status: gdap.StatusExpired, Customer: gdap.Customer{TenantID: newTenant()}})

	b.sweep(t, "s1")
	r, err := ReadReport(t.Context(), b.opts.Table, b.opts.ReportTable, ReportOptions{Now: now, Within: 30 * day, Limit: 10})
	require.NoError(t, err)
	require.Equal(t, map[string]int{gdap.StatusActive: 5, gdap.StatusApprovalPending: 1, gdap.StatusExpired: 1}, r.ByStatus)
	require.Equal(t, 5, r.Active)
	require.Equal(t, 1, r.AutoExtends)
	require.Equal(t, 3, r.PageRows)
	cats := map[int]int{}
	for _, e := range r.Ends {
		cats[e.Category]++
	}
	require.Equal(t, map[int]int{CategoryAutoExtends: 1, CategoryLapseNoAutoExtend: 2, CategoryLapseGlobalAdmin: 1, CategoryProtected: 1}, cats)
	require.Equal(t, 2, r.LapsingTotal)
	require.Len(t, r.Lapsing, 2)
	require.Equal(t, soonID, r.Lapsing[0].RelationshipID)
	require.Equal(t, "<script>alert(1)</script>", r.Lapsing[0].DisplayName)
	require.Equal(t, gaID, r.Lapsing[1].RelationshipID)
	require.Equal(t, CategoryLapseGlobalAdmin, r.Lapsing[1].Category)
	require.Equal(t, 1, r.PendingTotal)
	require.Equal(t, pendingID, r.Pending[0].RelationshipID)
	require.False(t, r.Pending[0].Created.IsZero())
	require.NotNil(t, r.LastCompleted)
	require.Equal(t, "s1", r.LastCompleted.SweepID)
	require.Equal(t, 3, r.LastCompleted.Pages)
	require.Equal(t, 7, r.LastCompleted.Relationships)

	limited, err := ReadReport(t.Context(), b.opts.Table, b.opts.ReportTable, ReportOptions{Now: now, Within: 30 * day, Limit: 1})
	require.NoError(t, err)
	require.Len(t, limited.Lapsing, 1)
	require.Equal(t, 2, limited.LapsingTotal)

	writes := b.sw.Stats().PageWrites
	b.sweep(t, "s2")
	require.Equal(t, writes, b.sw.Stats().PageWrites, "unchanged pages keep their rows")
}
