package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/op"
)

// The failure index: one row per failed operation in a partition per UTC
// day, "~failed.<reversed day>", RowKey "<reversed finishedAt>_<id>", in a
// table of its own (handler: prefix+"failures"; the ledger's table holds
// exactly one row per operation, which its readers rely on). Both keys
// sort the newest first, so one range query over the last days' partitions
// reads them newest first and stops at its limit. The report page reads it
// instead of scanning the ledger.
const (
	failedPartitionPrefix = "~failed."
	// failedMessageMax bounds the message stored in the index.
	failedMessageMax = 500
)

// FailureEntry is one failed operation as the failure index holds it.
type FailureEntry struct {
	OperationID string
	CommandType string
	TargetID    string
	Code        op.Code
	Message     string
	FinishedAt  time.Time
}

// recordFailure adds r to the failure index when r is a failure not yet
// published: Create and Update call it before writing the record, so a
// failed operation is never missing from the index. An entry whose record
// write then lost a race is harmless: RecentFailures keeps one entry per
// operation, the latest.
func (s *Store) recordFailure(ctx context.Context, r *Record) error {
	if s.failures == nil || r.State != StateFailed || r.OutcomePublished || r.LastError == nil {
		return nil
	}
	at := normalizeTime(r.FinishedAt)
	if at.IsZero() {
		at = normalizeTime(r.UpdatedAt)
	}
	msg := r.LastError.Message
	if len(msg) > failedMessageMax {
		msg = strings.ToValidUTF8(msg[:failedMessageMax], "")
	}
	body, err := json.Marshal(aztables.EDMEntity{
		Entity: aztables.Entity{PartitionKey: failedPartition(at),
			RowKey: reversedTime(at) + dueSeparator + r.OperationID},
		Properties: map[string]any{"OperationID": r.OperationID, "CommandType": r.CommandType, "TargetID": r.TargetID,
			"Code": string(r.LastError.Code), "Message": msg, "FinishedAt": aztables.EDMDateTime(at)},
	})
	if err != nil {
		return fmt.Errorf("ledger: encode failure entry: %w", err)
	}
	if _, err := s.failures.UpsertEntity(ctx, body, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}); err != nil {
		return fmt.Errorf("ledger: record failure of %q: %w", r.OperationID, err)
	}
	return nil
}

// reversedTime is a fixed-width key that sorts later times first.
func reversedTime(t time.Time) string {
	return fmt.Sprintf("%019d", int64(math.MaxInt64)-t.UnixNano()/100)
}

// WithFailureIndex keeps the failure index in the table behind client
// (created by EnsureTable) and returns s.
func (s *Store) WithFailureIndex(client *aztables.Client) *Store {
	s.failures = client
	return s
}

// failedPartition is the index partition of the UTC day of t.
func failedPartition(t time.Time) string {
	return fmt.Sprintf("%s%06d", failedPartitionPrefix, 999999-t.Unix()/86400)
}

// RecentFailures reads the failure index from since to now, newest first,
// in one range query that stops at limit entries (truncated reports that
// more exist). Entries are one per operation (the latest).
func (s *Store) RecentFailures(ctx context.Context, since, now time.Time, limit int) (out []FailureEntry, truncated bool, err error) {
	since, now = normalizeTime(since), normalizeTime(now)
	seen := map[string]bool{}
	top := int32(min(max(limit, 1), 1000))
	filter := fmt.Sprintf("PartitionKey ge '%s' and PartitionKey le '%s' and RowKey ge '%s' and RowKey le '%s~'",
		failedPartition(now), failedPartition(since), reversedTime(now), reversedTime(since))
	if s.failures == nil {
		return nil, false, nil
	}
	pager := s.failures.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Top: &top})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, false, fmt.Errorf("ledger: read failure index: %w", err)
		}
		for _, raw := range page.Entities {
			var e struct {
				OperationID, CommandType, TargetID, Code, Message string
				FinishedAt                                        time.Time
			}
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, false, fmt.Errorf("ledger: decode failure entry: %w", err)
			}
			if seen[e.OperationID] {
				continue
			}
			if len(out) >= limit {
				return out, true, nil
			}
			seen[e.OperationID] = true
			out = append(out, FailureEntry{OperationID: e.OperationID, CommandType: e.CommandType,
				TargetID: e.TargetID, Code: op.Code(e.Code), Message: e.Message, FinishedAt: e.FinishedAt.UTC()})
		}
	}
	return out, false, nil
}
