package chaos

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gdapflow/gdapflow/internal/dev/devstack"
)

// executeJoint runs the joint-outage scenario (Config.JointOutage): every
// operation is sent once and run until nothing is due at the current
// virtual time (each has finished or waits for a continuation scheduled
// later); then Service Bus sends and Table Storage fail together while the
// queues are drained, the clock fast-forwarded onto every scheduled
// continuation and lease check, each of which fails on every delivery and
// is dead-lettered after MaxDeliveryCount; then both recover and
// Config.ReaperTicks reaper ticks run (reap). No Graph faults, kills or
// duplicates: the outage is the only fault.
func executeJoint(ctx context.Context, stack *devstack.Stack, gates outageGates, cfg Config, p *plan, rep *Report) error {
	if gates.table == nil {
		return errors.New("chaos: joint outage without a table gate")
	}
	for _, o := range p.mixed {
		if err := stack.SendBody(ctx, o.id, o.body); err != nil {
			return fmt.Errorf("send %s: %w", o.id, err)
		}
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.DrainTimeout)
	defer cancel()
	if err := stack.Emu.Idle(dctx); err != nil {
		return fmt.Errorf("before the outage: %w", err)
	}
	t0 := time.Now()
	gates.broker.down.Store(true)
	gates.table.down.Store(true)
	rep.BrokerOutages++
	rep.TableOutages++
	err := stack.Drain(dctx)
	gates.broker.down.Store(false)
	gates.table.down.Store(false)
	if err != nil {
		return fmt.Errorf("drain during the outage: %w", err)
	}
	for _, dl := range stack.Emu.DeadLetters(stack.Env["GDAP_CONTINUATIONS_QUEUE"]) {
		rep.JointDeadLettered = append(rep.JointDeadLettered, deadLetterOperation(dl))
	}
	fmt.Fprintf(cfg.Progress, "chaos: joint outage: %d operations, %d continuations dead-lettered, outage drained in %s\n",
		len(p.ops), len(rep.JointDeadLettered), time.Since(t0).Round(time.Millisecond))
	return reap(ctx, stack, cfg, rep)
}
