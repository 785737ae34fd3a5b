package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// Keys of the reaper's tick record in the due index's table. '~' is
// outside the contract's id alphabet, and the due index's queries read only
// its "~due." partitions, so the record is never taken for an entry.
const (
	reaperTickPartition = "~reaper"
	reaperTickRowKey    = "lastTick"
)

// ReaperTick is what the reaper's most recent tick did, as it records it
// beside the index (DueIndex.RecordTick): when the reaper last ran, how
// late the most overdue operation it found was, and what it recovered.
// Operators read it to see that the reaper runs; the chaos run reads it
// after every tick it fires (a tick's log lines may be cut off by the
// host's per-invocation limit).
type ReaperTick struct {
	// At is when the tick started (the invocation's clock).
	At time.Time
	// Elapsed is the tick's duration by that clock.
	Elapsed time.Duration
	// MaxOverdue is how far past its due time the earliest entry read was
	// (zero when none was overdue).
	MaxOverdue time.Duration
	// Scanned, Stale, Resent, TimedOut, Republished, NotStranded and Failed
	// are the tick's counts (internal/reaper.Report).
	Scanned, Stale, Resent, TimedOut, Republished, NotStranded, Failed int
	// Truncated is true when the tick stopped at its page size or budget.
	Truncated bool
}

// RecordTick stores t as the reaper's most recent tick, replacing the
// previous record (one upsert, whatever the tick did).
func (d *DueIndex) RecordTick(ctx context.Context, t ReaperTick) error {
	body, err := json.Marshal(aztables.EDMEntity{
		Entity: aztables.Entity{PartitionKey: reaperTickPartition, RowKey: reaperTickRowKey},
		Properties: map[string]any{
			"At":          aztables.EDMDateTime(normalizeTime(t.At)),
			"ElapsedMs":   int32(min(t.Elapsed.Milliseconds(), math.MaxInt32)),
			"MaxOverdueS": int32(min(int64(t.MaxOverdue/time.Second), math.MaxInt32)),
			"Scanned":     int32(t.Scanned), "Stale": int32(t.Stale), "Resent": int32(t.Resent),
			"TimedOut": int32(t.TimedOut), "Republished": int32(t.Republished),
			"NotStranded": int32(t.NotStranded), "Failed": int32(t.Failed), "Truncated": t.Truncated,
		},
	})
	if err != nil {
		return fmt.Errorf("ledger: reaper tick record: %w", err)
	}
	if _, err := d.client.UpsertEntity(ctx, body, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}); err != nil {
		return fmt.Errorf("ledger: record reaper tick: %w", err)
	}
	return nil
}

// LastTick reads the reaper's most recent tick record; ok is false when no
// tick has been recorded.
func (d *DueIndex) LastTick(ctx context.Context) (t ReaperTick, ok bool, err error) {
	resp, err := d.client.GetEntity(ctx, reaperTickPartition, reaperTickRowKey, nil)
	if IsEntityNotFound(err) {
		return ReaperTick{}, false, nil
	}
	if err != nil {
		return ReaperTick{}, false, fmt.Errorf("ledger: read reaper tick record: %w", err)
	}
	var e struct {
		At                                                                 time.Time
		ElapsedMs, MaxOverdueS                                             int64
		Scanned, Stale, Resent, TimedOut, Republished, NotStranded, Failed int
		Truncated                                                          bool
	}
	if err := json.Unmarshal(resp.Value, &e); err != nil {
		return ReaperTick{}, false, fmt.Errorf("ledger: decode reaper tick record: %w", err)
	}
	return ReaperTick{
		At: e.At.UTC(), Elapsed: time.Duration(e.ElapsedMs) * time.Millisecond, MaxOverdue: time.Duration(e.MaxOverdueS) * time.Second,
		Scanned: e.Scanned, Stale: e.Stale, Resent: e.Resent, TimedOut: e.TimedOut, Republished: e.Republished,
		NotStranded: e.NotStranded, Failed: e.Failed, Truncated: e.Truncated,
	}, true, nil
}
