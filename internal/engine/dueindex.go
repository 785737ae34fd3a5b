package engine

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gdapflow/gdapflow/internal/ledger"
)

// dueIndex is the index of unfinished operations by when they are next due
// (ledger.DueIndex), read by the reaper. The engine keeps it so that a
// missing entry for an unfinished operation is impossible and a stale one
// harmless (docs/reliability.md, "The reaper"):
//
//   - the entry for the new due time is added before the record enters the
//     state that needs waking (created or claimed: the lease's expiry;
//     waiting: the wake time), and the previous entry is removed only after
//     that write succeeded;
//   - the entry is removed only after the outcome is marked published.
//
// Removals are best effort: an entry left behind costs the reaper one read.
type dueIndex interface {
	Add(ctx context.Context, operationID string, due time.Time) error
	Remove(ctx context.Context, operationID string, due time.Time) error
}

var _ dueIndex = (*ledger.DueIndex)(nil)

// dueOf is when rec is next due by what it says: the wake time of a waiting
// operation, the lease's expiry of a running one, zero for a finished one.
func (e *Engine) dueOf(rec *ledger.Record) time.Time {
	switch {
	case rec.IsTerminal():
		return time.Time{}
	case rec.State == ledger.StateWaiting:
		return rec.WakeAt
	}
	return rec.UpdatedAt.Add(e.opts.LeaseDuration)
}

// fileDue adds the index entry saying operationID is due at due. It runs
// before the ledger write that makes the operation due then; its error
// fails the write.
func (e *Engine) fileDue(ctx context.Context, operationID string, due time.Time) error {
	if e.opts.DueIndex == nil || due.IsZero() {
		return nil
	}
	if err := e.opts.DueIndex.Add(ctx, operationID, due); err != nil {
		return fmt.Errorf("file operation %s in the due index: %w", operationID, err)
	}
	return nil
}

// unfileDue removes the entry of operationID at due, once a later entry (or
// the published outcome) makes it stale. A failure is only logged: the
// reaper removes stale entries it meets.
func (e *Engine) unfileDue(ctx context.Context, log *slog.Logger, operationID string, due, kept time.Time) {
	if e.opts.DueIndex == nil || due.IsZero() || due.Equal(kept) {
		return
	}
	if err := e.opts.DueIndex.Remove(ctx, operationID, due); err != nil {
		log.WarnContext(ctx, "could not remove a stale due index entry; the reaper will", "due", due, "error", err.Error())
	}
}
