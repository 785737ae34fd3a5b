package invoke

import (
	"context"
	"net/http"

	"github.com/gdapflow/gdapflow/internal/hostwire"
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
	c := s.begin(w, r, FunctionReaper)
	if c == nil {
		return
	}
	defer c.cancel()
	info, err := c.host.Timer(bindingTimer)
	if err != nil {
		c.inv.Logger.ErrorContext(c.ctx, "timer payload could not be decoded", "error", err.Error())
		hostwire.WriteResponse(w, http.StatusBadRequest, c.logs.result())
		return
	}
	if s.opts.Reaper == nil {
		c.inv.Logger.WarnContext(c.ctx, "reaper timer fired but no reaper is configured")
		c.respond(w, nil)
		return
	}
	c.inv.Logger = c.inv.Logger.With("past_due", info.IsPastDue)
	c.inv.MessageID = FunctionReaper
	c.respond(w, s.opts.Reaper(c.ctx, c.inv))
}
