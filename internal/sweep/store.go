package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/ledger"
)

// Table layout (docs/sweep.md): one table holds the singleton state row and
// the snapshot rows.
const (
	// statePartition and stateRowKey address the singleton sweep state.
	statePartition = "sweep"
	stateRowKey    = "state"
	// snapshotPartitions is the number of snapshot partitions ("rel-0" to
	// "rel-f", chosen by a hash of the relationship id).
	snapshotPartitions = 16
	// maxBatch is Table Storage's limit of operations per transaction.
	maxBatch = 100
)

// ErrConflict reports that the sweep state row changed since it was read
// (an optimistic-concurrency race). Re-read and decide again.
var ErrConflict = errors.New("sweep: state changed concurrently")

// Stats counts the Table Storage requests of a Sweeper since it was built.
// A transaction counts once in Transactions and once per row in
// SnapshotWrites.
type Stats struct {
	// SnapshotReads counts snapshot point reads (found or not).
	SnapshotReads int64
	// SnapshotWrites counts snapshot rows written.
	SnapshotWrites int64
	// Transactions counts entity group transactions submitted.
	Transactions int64
	// PageReads and PageWrites count reads and writes of page-index rows
	// (PageWrites includes the report summaries written with them).
	PageReads, PageWrites int64
	// StateReads and StateWrites count reads and writes of the state row.
	StateReads, StateWrites int64
	// InsertConflicts counts insert transactions that failed and whose
	// rows were read back (store.insertRows).
	InsertConflicts int64
	// WriteConflicts counts conditional write transactions that failed and
	// whose rows were read back (store.writeRows).
	WriteConflicts int64
}

// TableCalls is the number of Table Storage requests counted: reads,
// transactions and single-row writes.
func (s Stats) TableCalls() int64 {
	return s.SnapshotReads + s.Transactions + s.PageReads + s.PageWrites + s.StateReads + s.StateWrites
}

// counters is the live form of Stats.
type counters struct {
	snapReads, snapWrites, txns, pageReads, pageWrites, stateReads, stateWrites, insertConflicts, writeConflicts atomic.Int64
}

func (c *counters) stats() Stats {
	return Stats{
		SnapshotReads: c.snapReads.Load(), SnapshotWrites: c.snapWrites.Load(), Transactions: c.txns.Load(),
		PageReads: c.pageReads.Load(), PageWrites: c.pageWrites.Load(),
		StateReads: c.stateReads.Load(), StateWrites: c.stateWrites.Load(),
		InsertConflicts: c.insertConflicts.Load(), WriteConflicts: c.writeConflicts.Load(),
	}
}

// tableClient is the part of *aztables.Client the store uses.
type tableClient interface {
	CreateTable(ctx context.Context, options *aztables.CreateTableOptions) (aztables.CreateTableResponse, error)
	GetEntity(ctx context.Context, partitionKey, rowKey string, options *aztables.GetEntityOptions) (aztables.GetEntityResponse, error)
	AddEntity(ctx context.Context, entity []byte, options *aztables.AddEntityOptions) (aztables.AddEntityResponse, error)
	UpdateEntity(ctx context.Context, entity []byte, options *aztables.UpdateEntityOptions) (aztables.UpdateEntityResponse, error)
	UpsertEntity(ctx context.Context, entity []byte, options *aztables.UpsertEntityOptions) (aztables.UpsertEntityResponse, error)
	SubmitTransaction(ctx context.Context, actions []aztables.TransactionAction, options *aztables.SubmitTransactionOptions) (aztables.TransactionResponse, error)
}

var _ tableClient = (*aztables.Client)(nil)

// store reads and writes the sweep table.
type store struct {
	client      tableClient
	report      tableClient // the report summaries (report.go)
	concurrency int
	n           counters
}

// Sweep phases.
const (
	phaseListing   = "listing"
	phaseFinishing = "finishing"
	phaseDone      = "done"
)

// state is the singleton sweep state row.
type state struct {
	SweepID    string
	Phase      string
	StartedAt  time.Time
	FinishedAt time.Time
	// Page is the index of the next page to process (= pages committed).
	Page int
	// NextLink is the @odata.nextLink of page Page ("" for page 0).
	NextLink string
	// Retries counts transient listing failures of page Page; RetryAt is
	// when the retry continuation is due.
	Retries       int
	RetryAt       time.Time
	Invocations   int
	Relationships int
	Expiring      int
	ByStatus      map[string]int
	// LeaseUntil is until when the running sweep counts as alive.
	LeaseUntil time.Time
	// Failed is the failure code of a sweep that ended without listing
	// everything ("" for a completed sweep), FailedReason the error text and
	// FailedStatus the upstream HTTP status (0: none).
	Failed       string
	FailedReason string
	FailedStatus int
	// ETag is the row's ETag ("" when the row does not exist yet).
	ETag azcore.ETag
}

// running reports whether a sweep is in progress.
func (s *state) running() bool { return s.Phase == phaseListing || s.Phase == phaseFinishing }

// loadState reads the state row; a missing row is an empty state.
func (st *store) loadState(ctx context.Context) (*state, error) {
	st.n.stateReads.Add(1)
	resp, err := st.client.GetEntity(ctx, statePartition, stateRowKey, nil)
	if ledger.IsEntityNotFound(err) {
		return &state{ByStatus: map[string]int{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sweep: read state: %w", err)
	}
	var e aztables.EDMEntity
	if err := json.Unmarshal(resp.Value, &e); err != nil {
		return nil, fmt.Errorf("sweep: decode state: %w", err)
	}
	p := props(e.Properties)
	s := &state{
		SweepID: p.str("SweepID"), Phase: p.str("Phase"), StartedAt: p.time("StartedAt"), FinishedAt: p.time("FinishedAt"),
		Page: p.int("Page"), NextLink: p.str("NextLink"), Retries: p.int("Retries"), Invocations: p.int("Invocations"),
		Relationships: p.int("Relationships"), Expiring: p.int("Expiring"), LeaseUntil: p.time("LeaseUntil"),
		Failed: p.str("Failed"), FailedReason: p.str("FailedReason"), FailedStatus: p.int("FailedStatus"),
		RetryAt: p.time("RetryAt"), ByStatus: map[string]int{}, ETag: resp.ETag,
	}
	if v := p.str("ByStatus"); v != "" {
		if err := json.Unmarshal([]byte(v), &s.ByStatus); err != nil {
			return nil, fmt.Errorf("sweep: decode state ByStatus: %w", err)
		}
	}
	return s, nil
}

// saveState writes s conditionally: insert when s.ETag is empty, otherwise
// replace if the ETag still matches. It fails with ErrConflict when another
// writer got there first; on success s.ETag is the new ETag.
func (st *store) saveState(ctx context.Context, s *state) error {
	p, err := s.props()
	if err != nil {
		return err
	}
	body, err := json.Marshal(aztables.EDMEntity{Entity: aztables.Entity{PartitionKey: statePartition, RowKey: stateRowKey}, Properties: p})
	if err != nil {
		return fmt.Errorf("sweep: encode state: %w", err)
	}
	st.n.stateWrites.Add(1)
	if s.ETag == "" {
		resp, err := st.client.AddEntity(ctx, body, nil)
		if ledger.HasCode(err, aztables.EntityAlreadyExists) {
			return ErrConflict
		}
		if err != nil {
			return fmt.Errorf("sweep: create state: %w", err)
		}
		s.ETag = resp.ETag
		return nil
	}
	etag := s.ETag
	resp, err := st.client.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace})
	if ledger.IsConditionFailed(err) || ledger.IsEntityNotFound(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("sweep: write state: %w", err)
	}
	s.ETag = resp.ETag
	return nil
}

// readRows reads the snapshot rows of ids with bounded concurrency; a
// missing row is nil, with ETag "".
func (st *store) readRows(ctx context.Context, ids []string) ([]*record, []azcore.ETag, error) {
	out := make([]*record, len(ids))
	etags := make([]azcore.ETag, len(ids))
	errs := make([]error, len(ids))
	parallel(len(ids), st.concurrency, func(i int) {
		out[i], etags[i], errs[i] = st.readRow(ctx, ids[i])
	})
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return out, etags, nil
}

// row is one snapshot row to write: with etag, only over that version
// of the row.
type row struct {
	id   string
	rec  record
	etag azcore.ETag
	// at is the relationship's position in its page (processPage).
	at int
}

// parallel runs fn(0..n-1) on at most limit goroutines and waits.
func parallel(n, limit int, fn func(i int)) {
	if n == 0 {
		return
	}
	limit = max(1, min(limit, n))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range limit {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// partitionOf spreads relationships over snapshotPartitions partitions by
// an FNV-1a hash of the id.
func partitionOf(id string) string {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	return fmt.Sprintf("rel-%x", h%snapshotPartitions)
}

// rowKeyOf escapes an id for use as a RowKey: bytes outside idChar become
// %XX (Graph ids are GUID pairs and pass unchanged).
func rowKeyOf(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		if c := id[i]; idChar(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// encodeRecord builds the snapshot entity of relationship id.
func encodeRecord(id string, r record) ([]byte, error) {
	p := map[string]any{
		"RelationshipID": id, "DisplayName": r.DisplayName, "Status": r.Status,
		"CustomerTenantID": r.CustomerTenantID, "CustomerName": r.CustomerName, "AutoExtend": r.AutoExtend,
		"Roles": r.Roles, "GlobalAdmin": r.GlobalAdmin, "GraphETag": r.ETag, "Warned": r.Warned,
		"Ended": r.Ended, "ApprovalWarned": r.ApprovalWarned, "Activated": r.Activated, "Action": r.Action, "ChangedBy": r.ChangedBy,
	}
	if r.Pending {
		p["Pending"] = true
	}
	putTime(p, "Created", r.Created)
	putTime(p, "End", r.End)
	putTime(p, "ActionEnd", r.ActionEnd)
	putTime(p, "LastSeen", r.LastSeen)
	body, err := json.Marshal(aztables.EDMEntity{Entity: aztables.Entity{PartitionKey: partitionOf(id), RowKey: rowKeyOf(id)}, Properties: p})
	if err != nil {
		return nil, fmt.Errorf("sweep: encode snapshot of %s: %w", id, err)
	}
	return body, nil
}

// decodeRecord decodes a snapshot entity.
func decodeRecord(body []byte) (*record, error) {
	var e aztables.EDMEntity
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, err
	}
	p := props(e.Properties)
	return &record{
		DisplayName: p.str("DisplayName"), Status: p.str("Status"), CustomerTenantID: p.str("CustomerTenantID"),
		CustomerName: p.str("CustomerName"), Created: p.time("Created"), End: p.time("End"),
		AutoExtend: p.str("AutoExtend"), Roles: p.str("Roles"), GlobalAdmin: p.bool("GlobalAdmin"),
		ETag: p.str("GraphETag"), Warned: p.str("Warned"), Ended: p.str("Ended"),
		ApprovalWarned: p.bool("ApprovalWarned"), Activated: p.bool("Activated"), ActionEnd: p.time("ActionEnd"), Action: p.str("Action"),
		LastSeen: p.time("LastSeen"), ChangedBy: p.str("ChangedBy"), Pending: p.bool("Pending"),
	}, nil
}

// putTime stores a non-zero time as Edm.DateTime (zero is left absent).
func putTime(p map[string]any, name string, t time.Time) {
	if !t.IsZero() {
		p[name] = aztables.EDMDateTime(normTime(t))
	}
}

// props reads typed values from decoded entity properties.
type props map[string]any

func (p props) str(k string) string {
	s, _ := p[k].(string)
	return s
}

func (p props) bool(k string) bool {
	b, _ := p[k].(bool)
	return b
}

func (p props) int(k string) int {
	switch v := p[k].(type) {
	case int32:
		return int(v)
	case float64:
		return int(v)
	case aztables.EDMInt64:
		return int(v)
	}
	return 0
}

func (p props) time(k string) time.Time {
	if v, ok := p[k].(aztables.EDMDateTime); ok {
		return normTime(time.Time(v))
	}
	return time.Time{}
}
