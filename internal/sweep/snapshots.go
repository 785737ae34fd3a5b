package sweep

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/ledger"
)

// Snapshot is a relationship as the last sweep that saw it recorded it,
// for operators (gdapctl expiring). It is read from the stored rows, so it
// depends on the table layout (docs/sweep.md), not on the sweep's code.
type Snapshot struct {
	RelationshipID   string    `json:"relationshipId"`
	DisplayName      string    `json:"displayName"`
	Status           string    `json:"status"`
	CustomerTenantID string    `json:"customerTenantId,omitempty"`
	CustomerName     string    `json:"customerName,omitempty"`
	End              time.Time `json:"endDateTime,omitzero"`
	// AutoExtend is the autoExtendDuration (P180D on; PT0S or P0D off).
	AutoExtend  string    `json:"autoExtendDuration"`
	GlobalAdmin bool      `json:"globalAdministrator"`
	LastSeen    time.Time `json:"lastSeen,omitzero"`
}

// AutoExtends reports whether Graph will extend the relationship at its
// end date by itself: auto-extend on and no Global Administrator.
func (s Snapshot) AutoExtends() bool {
	return s.AutoExtend == gdap.AutoExtendOn && !s.GlobalAdmin
}

// LapseReason says why an active relationship will end at its end date,
// or "" when it will be extended.
func (s Snapshot) LapseReason() string {
	switch {
	case s.Status != gdap.StatusActive:
		return "not active (" + s.Status + ")"
	case s.GlobalAdmin && s.AutoExtend == gdap.AutoExtendOn:
		return "holds Global Administrator, which blocks auto-extend: remove it (gdap.relationship.removeGlobalAdmin)"
	case s.GlobalAdmin:
		return "auto-extend is off and it holds Global Administrator: gdap.relationship.removeGlobalAdmin with enableAutoExtend"
	case s.AutoExtend != gdap.AutoExtendOn:
		return "auto-extend is off: gdap.relationship.update with autoExtendDuration P180D"
	}
	return ""
}

// SweepInfo describes the latest sweep recorded in the sweep table.
type SweepInfo struct {
	SweepID    string    `json:"sweepId,omitempty"`
	Phase      string    `json:"phase,omitempty"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
}

// ReadSweepInfo reads the sweep state row; no row is a zero SweepInfo.
func ReadSweepInfo(ctx context.Context, client *aztables.Client) (SweepInfo, error) {
	resp, err := client.GetEntity(ctx, statePartition, stateRowKey, nil)
	if ledger.IsEntityNotFound(err) {
		return SweepInfo{}, nil
	}
	if err != nil {
		return SweepInfo{}, fmt.Errorf("sweep: read state: %w", err)
	}
	var e aztables.EDMEntity
	if err := json.Unmarshal(resp.Value, &e); err != nil {
		return SweepInfo{}, fmt.Errorf("sweep: decode state: %w", err)
	}
	p := props(e.Properties)
	return SweepInfo{SweepID: p.str("SweepID"), Phase: p.str("Phase"), StartedAt: p.time("StartedAt"), FinishedAt: p.time("FinishedAt")}, nil
}

// ListSnapshots reads every snapshot row, sorted by end date (no end date
// last), then id.
func ListSnapshots(ctx context.Context, client *aztables.Client) ([]Snapshot, error) {
	// Snapshot partitions are "rel-0" … "rel-f"; other rows live elsewhere.
	filter := "PartitionKey ge 'rel-' and PartitionKey lt 'rel.'"
	pager := client.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter})
	var out []Snapshot
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("sweep: list snapshots: %w", err)
		}
		for _, raw := range page.Entities {
			var e aztables.EDMEntity
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, fmt.Errorf("sweep: decode snapshot: %w", err)
			}
			p := props(e.Properties)
			out = append(out, Snapshot{
				RelationshipID: p.str("RelationshipID"), DisplayName: p.str("DisplayName"), Status: p.str("Status"),
				CustomerTenantID: p.str("CustomerTenantID"), CustomerName: p.str("CustomerName"), End: p.time("End"),
				AutoExtend: p.str("AutoExtend"), GlobalAdmin: p.bool("GlobalAdmin"), LastSeen: p.time("LastSeen"),
			})
		}
	}
	slices.SortFunc(out, func(a, b Snapshot) int {
		switch {
		case a.End.IsZero() != b.End.IsZero():
			if a.End.IsZero() {
				return 1
			}
			return -1
		case !a.End.Equal(b.End):
			return a.End.Compare(b.End)
		}
		return strings.Compare(a.RelationshipID, b.RelationshipID)
	})
	return out, nil
}

// Expiring keeps the active snapshots whose end date is after now and at
// most within from now, in ListSnapshots order.
func Expiring(snaps []Snapshot, now time.Time, within time.Duration) []Snapshot {
	var out []Snapshot
	for _, s := range snaps {
		if s.Status == gdap.StatusActive && !s.End.IsZero() && s.End.After(now) && !s.End.After(now.Add(within)) {
			out = append(out, s)
		}
	}
	return out
}
