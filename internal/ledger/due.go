package ledger

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// Due index defaults.
const (
	// DuePartitionsDefault is how many partitions the due index spreads its
	// entries over (DueIndexOptions.Partitions).
	DuePartitionsDefault = 4
	// duePartitionPrefix starts every due-index PartitionKey. '~' is outside
	// the contract's id alphabet, so a due partition can share a table with
	// ledger records without ever meeting an operation id.
	duePartitionPrefix = "~due."
	// dueTimeLayout is the fixed-width, lexically ordered time prefix of a
	// due-index RowKey (UTC, 100 ns, always 28 characters).
	dueTimeLayout = "2006-01-02T15:04:05.0000000Z"
	// dueSeparator joins the time and the operation id in a RowKey. '_' is
	// outside the contract's id alphabet and sorts below '~' (the query's
	// upper bound).
	dueSeparator = "_"
)

// DueEntry is one entry of the due index: the operation OperationID is
// next due at Due (a continuation's scheduled time, a lease's expiry or the
// operation deadline, whichever the engine expects first).
type DueEntry struct {
	OperationID string
	Due         time.Time
}

// DueIndex is the index of unfinished operations keyed by when they are
// next due, kept in Table Storage beside the ledger so that a reaper can
// find operations whose continuation never came without scanning the
// ledger. It cannot share a transaction with the record: the ledger
// partitions by operation id (one partition per operation) and an
// entity-group transaction needs one PartitionKey, while a query for
// "overdue" needs the entries of all operations in few partitions. The
// writers therefore follow an order in which a stale entry is harmless and
// a missing one impossible (docs/reliability.md, "The reaper"):
//
//  1. Add (or Move to) the entry for the new due time before the record
//     enters a state that needs waking (waiting, or a running lease);
//  2. Remove the entry only after the record is terminal and its outcome
//     published.
//
// A stale entry (the record moved on, finished, or is due later) costs the
// reaper one point read: the reaper always re-reads the record and decides
// from what is stored.
//
// Entries live in Partitions partitions ("~due.0" … "~due.N-1", chosen by an
// FNV-1a hash of the operation id) under RowKey
// "<due, 2006-01-02T15:04:05.0000000Z>_<operation id>", so the overdue slice
// of each partition is one range query, in due order.
type DueIndex struct {
	client     *aztables.Client
	partitions int
}

// DueIndexOptions configures a DueIndex.
type DueIndexOptions struct {
	// Partitions spreads entries over this many partitions, bounding the
	// write rate any one partition sees (a Table Storage partition serves
	// about 2,000 entities/s). A reaper tick costs one query per
	// partition. Default DuePartitionsDefault. Changing it orphans entries
	// in partitions no longer queried: only raise it together with a
	// migration.
	Partitions int
}

// NewDueIndex returns a DueIndex on the table behind client (its own
// table, or the ledger's: the keys never collide). opts may be nil.
func NewDueIndex(client *aztables.Client, opts *DueIndexOptions) *DueIndex {
	if opts == nil {
		opts = &DueIndexOptions{}
	}
	return &DueIndex{client: client, partitions: cmp.Or(max(opts.Partitions, 0), DuePartitionsDefault)}
}

// EnsureTable creates the index's table if it does not exist.
func (d *DueIndex) EnsureTable(ctx context.Context) error {
	_, err := d.client.CreateTable(ctx, nil)
	if err != nil && !HasCode(err, aztables.TableAlreadyExists) {
		return fmt.Errorf("ledger: create due index table: %w", err)
	}
	return nil
}

func (d *DueIndex) partitionOf(operationID string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(operationID))
	return fmt.Sprintf("%s%d", duePartitionPrefix, h.Sum32()%uint32(d.partitions))
}

func dueRowKey(operationID string, due time.Time) string {
	return normalizeTime(due).Format(dueTimeLayout) + dueSeparator + operationID
}

// Add records that operationID is due at due. It is idempotent (an upsert):
// adding an existing entry changes nothing.
func (d *DueIndex) Add(ctx context.Context, operationID string, due time.Time) error {
	if err := checkKey(operationID); err != nil {
		return err
	}
	due = normalizeTime(due)
	if due.IsZero() {
		return fmt.Errorf("%w: due index entry for %q without a due time", ErrInvalid, operationID)
	}
	// OperationID and Due repeat what the RowKey says, for people reading
	// the table.
	body, err := json.Marshal(aztables.EDMEntity{
		Entity:     aztables.Entity{PartitionKey: d.partitionOf(operationID), RowKey: dueRowKey(operationID, due)},
		Properties: map[string]any{"OperationID": operationID, "Due": aztables.EDMDateTime(due)},
	})
	if err != nil {
		return fmt.Errorf("ledger: due index entry for %q: %w", operationID, err)
	}
	if _, err := d.client.UpsertEntity(ctx, body, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}); err != nil {
		return fmt.Errorf("ledger: add due index entry for %q: %w", operationID, err)
	}
	return nil
}

// Remove deletes the entry of operationID due at due. A missing entry is
// not an error (it was removed already, or never written).
func (d *DueIndex) Remove(ctx context.Context, operationID string, due time.Time) error {
	if err := checkKey(operationID); err != nil {
		return err
	}
	_, err := d.client.DeleteEntity(ctx, d.partitionOf(operationID), dueRowKey(operationID, due), nil)
	if err != nil && !IsEntityNotFound(err) {
		return fmt.Errorf("ledger: remove due index entry for %q: %w", operationID, err)
	}
	return nil
}

// Move re-files operationID from the due time from to to: it adds the new
// entry first and removes the old one after, so the operation is never
// missing from the index (at worst it is there twice, which is harmless).
// A zero from only adds.
func (d *DueIndex) Move(ctx context.Context, operationID string, from, to time.Time) error {
	from, to = normalizeTime(from), normalizeTime(to)
	if err := d.Add(ctx, operationID, to); err != nil {
		return err
	}
	if from.IsZero() || from.Equal(to) {
		return nil
	}
	return d.Remove(ctx, operationID, from)
}

// Overdue returns at most limit entries due at or before now, earliest
// first. It reads only the overdue slice: one range query of at most limit
// rows per partition, whatever the size of the index.
func (d *DueIndex) Overdue(ctx context.Context, now time.Time, limit int) ([]DueEntry, error) {
	if limit <= 0 {
		return nil, nil
	}
	// '~' sorts above the separator, so every entry due at or before now
	// (whatever its id) is below the bound.
	upper := normalizeTime(now).Format(dueTimeLayout) + "~"
	top := int32(min(limit, 1000)) // a Table Storage page holds at most 1,000 entities
	sel := "RowKey"
	var out []DueEntry
	for p := range d.partitions {
		filter := fmt.Sprintf("PartitionKey eq '%s%d' and RowKey lt '%s'", duePartitionPrefix, p, upper)
		pager := d.client.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Top: &top, Select: &sel})
		if !pager.More() {
			continue
		}
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ledger: query due index partition %d: %w", p, err)
		}
		for _, raw := range page.Entities {
			var e aztables.Entity
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, fmt.Errorf("ledger: due index entry: %w", err)
			}
			entry, ok := parseDueRowKey(e.RowKey)
			if !ok {
				continue // not an entry this code wrote; never returned as work
			}
			out = append(out, entry)
		}
	}
	slices.SortFunc(out, func(a, b DueEntry) int {
		return cmp.Or(a.Due.Compare(b.Due), strings.Compare(a.OperationID, b.OperationID))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func parseDueRowKey(rk string) (DueEntry, bool) {
	n := len(dueTimeLayout)
	if len(rk) <= n+len(dueSeparator) || rk[n:n+len(dueSeparator)] != dueSeparator {
		return DueEntry{}, false
	}
	due, err := time.Parse(dueTimeLayout, rk[:n])
	if err != nil {
		return DueEntry{}, false
	}
	return DueEntry{OperationID: rk[n+len(dueSeparator):], Due: due.UTC()}, true
}
