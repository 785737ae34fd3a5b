package chaos

import (
	"context"
	"fmt"
	"regexp"
	"strconv"

	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	gdapop "github.com/gdapflow/gdapflow/internal/op"
)

// reaperFunction is the reaper's timer function (functions/reaper).
const reaperFunction = "reaper"

// ReaperCounts sums what the reaper's ticks did, from their log lines.
type ReaperCounts struct {
	// Ticks is how many reaper ticks ran; Failed how many answered non-2xx.
	Ticks, Failed int
	// Unreported is how many ticks' summary lines were missing from the
	// invocation's logs: the handler returns at most 40 lines per
	// invocation (internal/invoke), and a tick logs two per recovery before
	// its summary, so a tick recovering 20 or more operations is not
	// counted in the sums below (its lines are on the handler's stdout;
	// a tick with nothing to do logs its summary at debug level and is
	// not counted as unreported).
	Unreported int
	// Scanned, Stale, Resent, TimedOut and Republished sum the ticks'
	// reports (internal/reaper.Report).
	Scanned, Stale, Resent, TimedOut, Republished int
}

// Recovered is how many operations the reaper moved forward.
func (c ReaperCounts) Recovered() int { return c.Resent + c.TimedOut + c.Republished }

// reaperTickLine matches the reaper's per-tick log line as the handler
// returns it in the invocation's Logs ("INFO reaper tick past_due=false
// scanned=3 stale=0 resent=3 timed_out=0 republished=0 …").
var reaperTickLine = regexp.MustCompile(`^INFO reaper tick .*\bscanned=(\d+) stale=(\d+) resent=(\d+) timed_out=(\d+) republished=(\d+)`) //nolint:gochecknoglobals // compiled once

// truncatedLogs matches the line the handler appends when it returned
// only the first of an invocation's log lines (internal/invoke). An idle
// tick logs its summary at debug level, so a tick without a summary line is
// unreported only when its logs were cut.
var truncatedLogs = regexp.MustCompile(`^\(\d+ more lines on stdout\)$`) //nolint:gochecknoglobals // compiled once

// reap runs cfg.ReaperTicks reaper ticks through the host emulator's timer
// function, after a wave has drained, as the timer would fire them: each
// at the schedule's next occurrence once everything due before the drain
// ended (at most op.MaxDelay later) is overdue by more than the grace. Each
// tick's recoveries are then drained.
func reap(ctx context.Context, stack *devstack.Stack, cfg Config, rep *Report) error {
	if cfg.ReaperTicks == 0 {
		return nil
	}
	sched, err := config.ParseSchedule(config.DefaultReaperSchedule)
	if err != nil {
		return err
	}
	for range cfg.ReaperTicks {
		stack.Clock.AdvanceTo(sched.Next(stack.Clock.Now().Add(gdapop.MaxDelay + config.DefaultReaperGrace)))
		before := len(stack.Emu.Invocations())
		if err := stack.Emu.FireTimer(ctx, reaperFunction); err != nil {
			rep.Reaper.Failed++
		}
		rep.Reaper.Ticks++
		for _, inv := range stack.Emu.Invocations()[before:] {
			if inv.Function != reaperFunction {
				continue
			}
			reported, truncated := false, false
			for _, line := range inv.Logs {
				truncated = truncated || truncatedLogs.MatchString(line)
				m := reaperTickLine.FindStringSubmatch(line)
				if m == nil {
					continue
				}
				reported = true
				n := make([]int, len(m)-1)
				for i, s := range m[1:] {
					n[i], _ = strconv.Atoi(s)
				}
				rep.Reaper.Scanned += n[0]
				rep.Reaper.Stale += n[1]
				rep.Reaper.Resent += n[2]
				rep.Reaper.TimedOut += n[3]
				rep.Reaper.Republished += n[4]
			}
			if !reported && truncated {
				rep.Reaper.Unreported++
			}
		}
		dctx, cancel := context.WithTimeout(ctx, cfg.DrainTimeout)
		err := stack.Drain(dctx)
		cancel()
		if err != nil {
			return fmt.Errorf("drain after reaper tick: %w", err)
		}
	}
	return nil
}
