package sweep_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/localenv"
	"github.com/gdapflow/gdapflow/internal/sweep"
)

// addSnapshotRow writes a snapshot row as the sweep stores it (docs/sweep.md).
func addSnapshotRow(t *testing.T, c *aztables.Client, pk, id, status string, end time.Time, autoExtend string, ga bool) {
	t.Helper()
	p := map[string]any{"RelationshipID": id, "DisplayName": "rel " + id, "Status": status, "CustomerName": "Cust " + id,
		"AutoExtend": autoExtend, "GlobalAdmin": ga}
	if !end.IsZero() {
		p["End"] = aztables.EDMDateTime(end)
	}
	body, err := json.Marshal(aztables.EDMEntity{Entity: aztables.Entity{PartitionKey: pk, RowKey: id}, Properties: p})
	require.NoError(t, err)
	_, err = c.AddEntity(t.Context(), body, nil)
	require.NoError(t, err)
}

func TestListSnapshotsAndExpiring(t *testing.T) {
	t.Parallel()
	c, err := localenv.SharedAzurite(t).NewTableClient(localenv.UniqueName("snap"))
	require.NoError(t, err)
	_, err = c.CreateTable(t.Context(), nil)
	require.NoError(t, err)
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	day := 24 * time.Hour

	info, err := sweep.ReadSweepInfo(t.Context(), c)
	require.NoError(t, err)
	require.Empty(t, info.SweepID)

	addSnapshotRow(t, c, "rel-3", "ga-off", "active", now.Add(20*day), "PT0S", true)
	addSnapshotRow(t, c, "rel-a", "off", "active", now.Add(5*day), "PT0S", false)
	addSnapshotRow(t, c, "rel-0", "on", "active", now.Add(10*day), "P180D", false)
	addSnapshotRow(t, c, "rel-f", "ga-on", "active", now.Add(12*day), "P180D", true)
	addSnapshotRow(t, c, "rel-1", "far", "active", now.Add(40*day), "PT0S", false)
	addSnapshotRow(t, c, "rel-2", "ended", "expired", now.Add(-day), "PT0S", false)
	addSnapshotRow(t, c, "rel-2", "created", "created", time.Time{}, "PT0S", false)
	// Rows outside the snapshot partitions are not relationships.
	state, err := json.Marshal(aztables.EDMEntity{Entity: aztables.Entity{PartitionKey: "sweep", RowKey: "state"},
		Properties: map[string]any{"SweepID": "timer.x", "Phase": "done", "FinishedAt": aztables.EDMDateTime(now)}})
	require.NoError(t, err)
	_, err = c.AddEntity(t.Context(), state, nil)
	require.NoError(t, err)

	snaps, err := sweep.ListSnapshots(t.Context(), c)
	require.NoError(t, err)
	var ids []string
	for _, s := range snaps {
		ids = append(ids, s.RelationshipID)
	}
	require.Equal(t, []string{"ended", "off", "on", "ga-on", "ga-off", "far", "created"}, ids)

	exp := sweep.Expiring(snaps, now, 30*day)
	reasons := map[string]string{}
	for _, s := range exp {
		reasons[s.RelationshipID] = s.LapseReason()
	}
	require.Equal(t, map[string]string{
		"off":    "auto-extend is off: gdap.relationship.update with autoExtendDuration P180D",
		"on":     "",
		"ga-on":  "holds Global Administrator, which blocks auto-extend: remove it (gdap.relationship.removeGlobalAdmin)",
		"ga-off": "auto-extend is off and it holds Global Administrator: gdap.relationship.removeGlobalAdmin with enableAutoExtend",
	}, reasons)
	require.True(t, exp[1].AutoExtends())
	require.False(t, exp[2].AutoExtends())

	info, err = sweep.ReadSweepInfo(t.Context(), c)
	require.NoError(t, err)
	require.Equal(t, sweep.SweepInfo{SweepID: "timer.x", Phase: "done", FinishedAt: now}, info)
}
