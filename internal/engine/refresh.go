package engine

import (
	"context"

	"github.com/gdapflow/gdapflow/internal/op"
)

// refresher re-reads one relationship and settles it as the sweep would
// (*sweep.Sweeper); the sweeper given in Options implements it.
type refresher interface {
	Refresh(ctx context.Context, inv op.Invocation, relID string) error
}

// handleRefresh acts on a KindRefresh continuation (a verified Partner
// Center webhook event). An error makes Service Bus redeliver it.
func (e *Engine) handleRefresh(ctx context.Context, inv op.Invocation, c op.Continuation) error {
	log := inv.Logger.With("continuation", c.Kind) // the sweep adds relationship_id
	r, ok := e.opts.Sweeper.(refresher)
	if !ok || e.opts.Sweeper == nil || c.RelationshipID == "" {
		log.WarnContext(ctx, "refresh continuation without a sweeper or a relationship dropped")
		return nil
	}
	inv.Logger = log
	return r.Refresh(ctx, inv, c.RelationshipID)
}
