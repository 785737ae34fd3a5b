package invoke

import (
	"context"
	"net/http"

	"github.com/gdapflow/gdapflow/internal/op"
)

// FunctionReaper is the reaper's timer function (functions/reaper).
const FunctionReaper = "reaper"

// reaperTick runs one reaper tick (internal/reaper), with the invocation's
// clock and logger.
type reaperTick func(ctx context.Context, inv op.Invocation) error

// reaper serves the reaper timer: 200 when the tick ran (entries it could
// not recover wait for the next tick), 500 when it could not read the due
// index.
func (s *Server) reaper(w http.ResponseWriter, r *http.Request) {
	c := s.beginTimer(w, r, FunctionReaper)
	if c == nil {
		return
	}
	defer c.cancel()
	if s.opts.Reaper == nil {
		c.inv.Logger.WarnContext(c.ctx, "reaper timer fired but no reaper is configured")
		c.respond(w, nil)
		return
	}
	c.inv.MessageID = FunctionReaper
	c.respond(w, s.opts.Reaper(c.ctx, c.inv))
}
