package chaos

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/ledger"
	gdapop "github.com/gdapflow/gdapflow/internal/op"
)

// reaperFunction is the reaper's timer function (functions/reaper).
const reaperFunction = "reaper"

// ReaperCounts sums what the reaper's ticks did, from the record each tick
// keeps in the due index's table (ledger.ReaperTick), read back after the
// tick: unlike the tick's log lines, which the handler returns at most 40
// of per invocation, the record holds the counts whatever the tick did.
type ReaperCounts struct {
	// Ticks is how many reaper ticks ran; Failed how many answered non-2xx.
	Ticks, Failed int
	// Unreported is how many ticks left no record of their own (the
	// record read back was missing or older than the tick).
	Unreported int
	// Scanned, Stale, Resent, TimedOut and Republished sum the ticks'
	// reports (internal/reaper.Report).
	Scanned, Stale, Resent, TimedOut, Republished int
	// MaxOverdue is the largest ReaperTick.MaxOverdue seen: how late the
	// reaper came, at most, for an overdue operation.
	MaxOverdue time.Duration
}

// Recovered is how many operations the reaper moved forward.
func (c ReaperCounts) Recovered() int { return c.Resent + c.TimedOut + c.Republished }

// add sums one tick's record.
func (c *ReaperCounts) add(t ledger.ReaperTick) {
	c.Scanned += t.Scanned
	c.Stale += t.Stale
	c.Resent += t.Resent
	c.TimedOut += t.TimedOut
	c.Republished += t.Republished
	c.MaxOverdue = max(c.MaxOverdue, t.MaxOverdue)
}

// reap runs cfg.ReaperTicks reaper ticks through the host emulator's timer
// function, after a wave has drained, as the timer would fire them: each
// at the schedule's next occurrence once everything due before the drain
// ended (at most op.MaxDelay later) is overdue by more than the grace. Each
// tick's record is read back from Azurite and its recoveries are drained.
func reap(ctx context.Context, stack *devstack.Stack, cfg Config, rep *Report) error {
	if cfg.ReaperTicks == 0 {
		return nil
	}
	sched, err := config.ParseSchedule(config.DefaultReaperSchedule)
	if err != nil {
		return err
	}
	svc, err := aztables.NewServiceClientFromConnectionString(stack.TablesConnectionString(), nil)
	if err != nil {
		return err
	}
	idx := ledger.NewDueIndex(svc.NewClient(stack.Env["GDAP_TABLE_PREFIX"]+"due"), nil)
	for range cfg.ReaperTicks {
		stack.Clock.AdvanceTo(sched.Next(stack.Clock.Now().Add(gdapop.MaxDelay + config.DefaultReaperGrace)))
		fired := stack.Clock.Now()
		if err := stack.Emu.FireTimer(ctx, reaperFunction); err != nil {
			rep.Reaper.Failed++
		}
		rep.Reaper.Ticks++
		tick, ok, err := idx.LastTick(ctx)
		if err != nil {
			return fmt.Errorf("read the reaper's tick record: %w", err)
		}
		// The record's time is the handler's clock, which follows the
		// emulator's to within the envelope's precision; earlier ticks ran
		// at least one schedule interval before.
		if !ok || tick.At.Before(fired.Add(-time.Second)) {
			rep.Reaper.Unreported++
		} else {
			rep.Reaper.add(tick)
		}
		dctx, cancel := context.WithTimeout(ctx, cfg.DrainTimeout)
		err = stack.Drain(dctx)
		cancel()
		if err != nil {
			return fmt.Errorf("drain after reaper tick: %w", err)
		}
	}
	return nil
}
