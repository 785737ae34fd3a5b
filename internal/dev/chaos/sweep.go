package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/ledger"
	gdapop "github.com/gdapflow/gdapflow/internal/op"
)

// Operation kinds of the expiry sweep (Config.SweepRuns,
// Config.ExpiringRelationships).
const (
	// KindSweepRun is a gdap.sweep.run command: it starts a sweep or joins
	// the running one, and succeeds when that sweep has completed.
	KindSweepRun = "sweep.run"
	// KindSweepAutoExtend is the auto-extend command the sweep's policy
	// issues itself for an expiring relationship
	// (gdapflow.sweep.autoextend.<relationship>.<end date>): never sent by
	// the run, expected exactly once, with one PATCH of autoExtendDuration.
	KindSweepAutoExtend = "sweep.autoExtend"
)

// sweepTimerFunction is the expiry sweep's timer function
// (functions/expiry-sweep).
const sweepTimerFunction = "expiry-sweep"

// expiringIn is how far from the run's start the seeded expiring
// relationships end: inside the default warning window (30 days), far
// enough that the run's virtual time (hours) does not reach it.
const expiringIn = 20 * 24 * time.Hour

// InvSweeps names the sweep invariant.
const InvSweeps = "every sweep completes, with one gdap.sweep.completed"

// SweepCounts is what the run's sweeps did.
type SweepCounts struct {
	// Runs is how many gdap.sweep.run commands were sent; Timers how many
	// times the expiry-sweep timer was fired (TimersFailed of them failed).
	Runs, Timers, TimersFailed int
	// Completed counts gdap.sweep.completed events (one per sweep), and
	// Announcements the sweep's other events by type.
	Completed     int
	Announcements map[string]int
	// PolicyCommands counts the operations the auto-extend policy issued.
	PolicyCommands int
}

// addSweeps adds the sweep operations to the plan: cfg.SweepRuns
// gdap.sweep.run commands per wave, and cfg.ExpiringRelationships active
// relationships that end inside the warning window without auto-extend,
// each with the auto-extend command the sweep's policy is expected to issue
// for it (GDAP_AUTO_EXTEND_POLICY=enable).
func (p *plan) addSweeps(stack *devstack.Stack, rng *rand.Rand, cfg Config) error {
	for w := range cfg.Waves {
		var runs []*op
		for i := range cfg.SweepRuns {
			o := &op{id: fmt.Sprintf("chaos-sweep-%02d-%d-%s", w, i, guid(rng)[:8]), kind: KindSweepRun, expect: "succeeded", maxWrites: map[string]int{}}
			var err error
			if o.body, err = devstack.NewCommand(o.id, command.TypeSweepRun, map[string]any{}); err != nil {
				return err
			}
			runs = append(runs, o)
			p.add(o)
		}
		p.sweepRuns = append(p.sweepRuns, runs)
	}
	now := stack.Clock.Now()
	for i := range cfg.ExpiringRelationships {
		end := now.Add(expiringIn).Add(time.Duration(i) * time.Hour)
		id, err := stack.Graph.AddRelationship(gdap.Relationship{
			DisplayName: fmt.Sprintf("chaos-expiring-%03d", i), Status: gdap.StatusActive, Duration: "P730D",
			AutoExtendDuration: gdap.AutoExtendOff, UnifiedRoles: []string{roleHelpdesk},
			Customer:          gdap.Customer{TenantID: guid(rng), DisplayName: fmt.Sprintf("Expiring %d", i)},
			CreatedDateTime:   end.Add(-731 * 24 * time.Hour),
			ActivatedDateTime: end.Add(-730 * 24 * time.Hour),
			EndDateTime:       end,
		})
		if err != nil {
			return fmt.Errorf("seed expiring relationship %d: %w", i, err)
		}
		p.add(&op{
			id:   gdapop.ReservedPrefix + "sweep.autoextend." + id + "." + end.UTC().Format("20060102"),
			kind: KindSweepAutoExtend, relID: id, expect: "succeeded",
			maxWrites: map[string]int{"autoExtendDuration": 1},
		})
	}
	return nil
}

// withSweeps returns the wave's sends with its gdap.sweep.run commands
// added: all but the last at random places, the last at the end, so that
// it runs after the wave's lost responses were armed (at most 70 % into the
// wave) and its sweep meets those armed for sweep writes.
func withSweeps(sends []send, runs []*op, rng *rand.Rand) []send {
	for i, o := range runs {
		s := send{op: o, messageID: o.id}
		if i == len(runs)-1 {
			sends = append(sends, s)
			continue
		}
		k := rng.IntN(len(sends) + 1)
		sends = append(sends[:k], append([]send{s}, sends[k:]...)...)
	}
	return sends
}

// fireSweepTimer fires the expiry-sweep timer at its next scheduled
// occurrence (a fresh timer sweep id) after a wave has drained, and drains
// the sweep it starts.
func fireSweepTimer(ctx context.Context, stack *devstack.Stack, cfg Config, rep *Report) error {
	if !cfg.SweepTimer {
		return nil
	}
	sched, err := config.ParseSchedule(config.DefaultSweepSchedule)
	if err != nil {
		return err
	}
	stack.Clock.AdvanceTo(sched.Next(stack.Clock.Now()))
	rep.Sweeps.Timers++
	if err := stack.Emu.FireTimer(ctx, sweepTimerFunction); err != nil {
		rep.Sweeps.TimersFailed++
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.DrainTimeout)
	defer cancel()
	if err := stack.Drain(dctx); err != nil {
		return fmt.Errorf("drain after the sweep timer: %w", err)
	}
	return nil
}

// sweepEvent is the part of an event the sweep check reads.
type sweepEvent struct {
	SweepID string `json:"sweepId"`
}

// checkSweeps checks that every sweep completed once: each gdap.sweep.run
// succeeded and its sweep has exactly one gdap.sweep.completed, no sweep
// has two, every timer fired completed a sweep of its own, and the sweep
// state row is done at the end. sweepOf maps each sweep.run operation to
// the sweep id of its outcome.
func checkSweeps(ctx context.Context, stack *devstack.Stack, p *plan, rep *Report, events []devstack.Event, sweepOf map[string]string) (Invariant, error) {
	inv := Invariant{Name: InvSweeps}
	rep.Sweeps.Announcements = map[string]int{}
	completed := map[string]int{}
	timers := 0
	for _, e := range events {
		switch {
		case e.Type == "gdap.sweep.completed":
			var d sweepEvent
			if err := e.Decode(&d); err != nil {
				return inv, fmt.Errorf("event %s: %w", e.ID, err)
			}
			completed[d.SweepID]++
			rep.Sweeps.Completed++
			if strings.HasPrefix(d.SweepID, "timer.") && completed[d.SweepID] == 1 {
				timers++
			}
		case strings.HasPrefix(e.Type, "gdap.relationship."):
			rep.Sweeps.Announcements[strings.TrimPrefix(e.Type, "gdap.relationship.")]++
		}
	}
	for _, o := range p.ops {
		switch o.kind {
		case KindSweepAutoExtend:
			rep.Sweeps.PolicyCommands++
			continue
		case KindSweepRun:
		default:
			continue
		}
		inv.Checked++
		id, ok := sweepOf[o.id]
		if !ok {
			inv.Violations = append(inv.Violations, fmt.Sprintf("gdap.sweep.run %s did not succeed", o.id))
			continue
		}
		if completed[id] != 1 {
			inv.Violations = append(inv.Violations, fmt.Sprintf("sweep %s of gdap.sweep.run %s: %d gdap.sweep.completed", id, o.id, completed[id]))
		}
	}
	for _, id := range devstack.SortedKeys(completed) {
		inv.Checked++
		if completed[id] > 1 {
			inv.Violations = append(inv.Violations, fmt.Sprintf("sweep %s: %d gdap.sweep.completed", id, completed[id]))
		}
	}
	if timers < rep.Sweeps.Timers-rep.Sweeps.TimersFailed {
		inv.Violations = append(inv.Violations, fmt.Sprintf("the sweep timer fired %d times (%d failed), %d timer sweeps completed",
			rep.Sweeps.Timers, rep.Sweeps.TimersFailed, timers))
	}
	if rep.Sweeps.Runs+rep.Sweeps.Timers == 0 {
		return inv, nil
	}
	phase, err := sweepPhase(ctx, stack)
	if err != nil {
		return inv, err
	}
	inv.Checked++
	if phase != "done" {
		inv.Violations = append(inv.Violations, fmt.Sprintf("the sweep state row is %q at the end, not done", phase))
	}
	return inv, nil
}

// sweepPhase reads the phase of the sweep state row from Azurite.
func sweepPhase(ctx context.Context, stack *devstack.Stack) (string, error) {
	svc, err := aztables.NewServiceClientFromConnectionString(stack.TablesConnectionString(), nil)
	if err != nil {
		return "", err
	}
	resp, err := svc.NewClient(stack.Env["GDAP_TABLE_PREFIX"]+"sweep").GetEntity(ctx, "sweep", "state", nil)
	if ledger.IsEntityNotFound(err) {
		return "missing", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the sweep state: %w", err)
	}
	var st struct{ Phase string }
	if err := json.Unmarshal(resp.Value, &st); err != nil {
		return "", err
	}
	return st.Phase, nil
}
