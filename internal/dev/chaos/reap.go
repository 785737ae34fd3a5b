package chaos

import (
	"context"
	"fmt"

	"github.com/gdapflow/gdapflow/internal/dev/devstack"
)

// reapFunction is the reaper's timer function.
const reapFunction = "reaper"

// reap runs Config.ReaperTicks reaper ticks on a drained stack: the clock
// moves on by ReaperInterval (past the reaper's grace, so what is stranded
// is overdue), the timer fires, and what it re-sent is drained.
func reap(ctx context.Context, stack *devstack.Stack, cfg Config, rep *Report) error {
	for range cfg.ReaperTicks {
		stack.Clock.Advance(cfg.ReaperInterval)
		if err := stack.Emu.FireTimer(ctx, reapFunction); err != nil {
			return fmt.Errorf("reaper tick: %w", err)
		}
		rep.ReaperTicks++
		dctx, cancel := context.WithTimeout(ctx, cfg.DrainTimeout)
		err := stack.Drain(dctx)
		cancel()
		if err != nil {
			return fmt.Errorf("drain after reaper tick: %w", err)
		}
	}
	return nil
}
