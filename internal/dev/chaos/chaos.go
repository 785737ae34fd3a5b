// Package chaos runs gdapflow's fault-injection run: thousands of mixed
// commands through the local stack (host emulator, real handler binary,
// simulators, Azurite) with injected Graph failures (429, 503, 500, TCP
// resets, ETag races), duplicate deliveries and handler processes killed
// mid-run, then checks the service's invariants. `make chaos` runs it at full
// size (cmd/devenv chaos) and tests/chaos_test.go runs a short variant inside
// `make test`. See docs/reliability.md, section "Chaos run".
package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
)

// Config configures Run. Zero fields take the defaults noted.
type Config struct {
	// HandlerPath is the built handler binary. Required.
	HandlerPath string
	// RepoRoot holds host.json and functions/. Default: localenv.RepoRoot().
	RepoRoot string
	// Azurite is a running Azurite; nil starts one for the run.
	Azurite *localenv.Azurite
	// Commands is the number of distinct operations sent (default 500).
	// Duplicates and invalid bodies come on top of that count.
	Commands int
	// Kills is how many times the handler process is killed (default 2).
	Kills int
	// Waves splits the commands into waves, each sent and then drained;
	// default max(Kills, 1). Kills are spread over the waves.
	Waves int
	// Seed makes the command mix, duplicates and fault schedule repeatable.
	Seed uint64
	// DuplicateRate is the fraction of operations delivered a second time
	// under a new Service Bus MessageId (default 0.10): half in the same
	// wave (concurrently with the original), half in the next wave (after it
	// finished).
	DuplicateRate float64
	// FaultRate scales the injected Graph faults: per wave, about
	// FaultRate × commands faulty responses (default 0.30).
	FaultRate float64
	// BrokerOutages is how many times per wave the broker refuses every send
	// (503) for OutageLength, as during a Service Bus outage (default 0:
	// off). Invocations then fail and their messages are redelivered at
	// once, so an outage can exhaust MaxDeliveryCount and dead-letter them.
	BrokerOutages int
	// TableOutages is how many times per wave Table Storage refuses every
	// call (503) for OutageLength (default 0: off). The handler's Table
	// endpoint then points at a gate in front of Azurite.
	TableOutages int
	// TableHangs is how many times per wave Table Storage stops answering
	// for HangLength (default 0: off): calls made meanwhile are held and
	// then executed, after the handler's own time limit on them may have
	// passed, so that it sees timeouts, retries of writes that did execute,
	// and late writes racing its retries.
	TableHangs int
	// HangLength is the real duration of one hang (default 10 s, longer
	// than the handler's 8 s limit on one Table call).
	HangLength time.Duration
	// LostResponses is how many Table Storage write responses per wave are
	// lost (default 0: off): the write is forwarded to Azurite and
	// executed, then the connection is reset or (every other one) held
	// until the handler gives up, so that the handler does not know the
	// write took effect and its SDK retries it. They are spread over the
	// wave and over the write kinds in turn (insert, claim, wait, finish,
	// publish, sweep; see WriteInsert …).
	LostResponses int
	// DropContinuations is how many continuation sends per wave are
	// silently discarded (default 0: off): the broker gate answers 201 and
	// never forwards the message. Only resume and lease-check
	// continuations, which belong to a recorded operation, are dropped;
	// only the reaper can recover such an operation (see ReaperTicks).
	DropContinuations int
	// GraphRate, when positive, limits Graph to GraphRate requests per
	// second per application (the simulator's token bucket, burst one
	// second's worth): throttling is then produced by a rate limit, as in
	// production, on top of the injected 429s, and the client's pacing
	// engages.
	GraphRate float64
	// ReaperTicks is how many reaper ticks run after each wave has drained
	// (default 0: none), through the host emulator's timer function, the
	// virtual clock moved to the reaper schedule's next occurrence past
	// everything due plus the grace; each tick's recoveries are drained.
	ReaperTicks int
	// SweepRuns is how many gdap.sweep.run commands each wave sends
	// (default 0: none), among its other commands, the last one at the end
	// of the wave: the sweeps' state writes then meet the wave's faults,
	// kills and lost responses (WriteSweepState, WriteSweep). Each must
	// succeed once its sweep has completed (InvSweeps).
	SweepRuns int
	// SweepTimer fires the expiry-sweep timer through the host emulator
	// after each wave has drained (before the reaper ticks), at the
	// schedule's next occurrence, and drains the sweep it starts.
	SweepTimer bool
	// ExpiringRelationships is how many active relationships ending inside
	// the warning window, without auto-extend, are seeded (default 0);
	// the handler then runs with GDAP_AUTO_EXTEND_POLICY=enable, so the
	// first sweep issues one auto-extend command for each
	// (KindSweepAutoExtend), which must end in exactly one outcome and one
	// PATCH. Needs SweepRuns or SweepTimer.
	ExpiringRelationships int
	// JointOutage replaces the waves with one scenario (see executeJoint):
	// the operations are sent and run until each has finished or waits for
	// a continuation scheduled later; then Service Bus sends and Table
	// Storage fail together while every scheduled continuation is delivered
	// and dead-lettered (MaxDeliveryCount); then both recover and
	// ReaperTicks reaper ticks run. Waves, Kills, DuplicateRate, FaultRate
	// and the other faults are ignored.
	JointOutage bool
	// MaxDeliveryCount is the queues' delivery limit before dead-lettering
	// (default: the emulator's, as host.json and the Bicep set it).
	MaxDeliveryCount int
	// OutageLength is the real duration of one outage (default 300 ms).
	OutageLength time.Duration
	// DrainTimeout bounds each wave's drain in real time (default 10 min).
	DrainTimeout time.Duration
	// Progress receives one line per wave; nil discards.
	Progress io.Writer
	// HandlerOutput receives the handler's logs; nil discards.
	HandlerOutput io.Writer
}

func (c *Config) defaults() error {
	if c.HandlerPath == "" {
		return errors.New("chaos: HandlerPath is required")
	}
	if c.Commands <= 0 {
		c.Commands = 500
	}
	if c.Kills < 0 || c.BrokerOutages < 0 || c.TableOutages < 0 || c.TableHangs < 0 || c.LostResponses < 0 || c.DropContinuations < 0 || c.ReaperTicks < 0 ||
		c.SweepRuns < 0 || c.ExpiringRelationships < 0 {
		return errors.New("chaos: negative Kills or outages")
	}
	if c.Kills == 0 {
		c.Kills = 2
	}
	if c.Waves <= 0 {
		c.Waves = max(c.Kills, 1)
	}
	if c.Waves > c.Commands {
		c.Waves = c.Commands
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.ExpiringRelationships > 0 && c.SweepRuns == 0 && !c.SweepTimer {
		return errors.New("chaos: ExpiringRelationships needs SweepRuns or SweepTimer (nothing would sweep them)")
	}
	if c.DuplicateRate == 0 {
		c.DuplicateRate = 0.10
	}
	if c.FaultRate == 0 {
		c.FaultRate = 0.30
	}
	if c.OutageLength <= 0 {
		c.OutageLength = 300 * time.Millisecond
	}
	if c.HangLength <= 0 {
		c.HangLength = 10 * time.Second
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 10 * time.Minute
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return nil
}

// Run starts a stack, runs the chaos scenario and checks the invariants. The
// returned Report is complete even when an invariant fails (see
// Report.Violations); err is for a run that could not be carried out.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if cfg.JointOutage {
		// One scenario, no kills and no sweeps (see executeJoint); the
		// report says so.
		cfg.Kills, cfg.Waves = 0, 1
		cfg.SweepRuns, cfg.SweepTimer, cfg.ExpiringRelationships = 0, false, 0
	}
	began := time.Now()
	broker, err := startGate("broker")
	if err != nil {
		return nil, err
	}
	defer broker.close()
	if cfg.DropContinuations > 0 {
		broker.lose = newLoser()
	}
	env := map[string]string{
		// Info is what production runs with; debug would make the
		// handler's logging dominate a run this size.
		"GDAP_LOG_LEVEL": "info",
		// Sends go through the gate, which can simulate an outage.
		"GDAP_BROKER_URL": broker.url,
		// Follow-ups check every 10 minutes: the drains then move the
		// clock by minutes, not days, while they wait for approvals.
		"GDAP_FOLLOWUP_POLL": "10m",
	}
	if cfg.ExpiringRelationships > 0 {
		env["GDAP_AUTO_EXTEND_POLICY"] = string(config.PolicyEnable)
	}
	var table *gate
	if cfg.TableOutages > 0 || cfg.TableHangs > 0 || cfg.LostResponses > 0 || cfg.JointOutage {
		// The handler's Table calls go through a gate too; the checks
		// below read Azurite directly.
		if cfg.Azurite == nil {
			az, err := localenv.StartAzurite(ctx, localenv.AzuriteOptions{RepoRoot: cfg.RepoRoot})
			if err != nil {
				return nil, err
			}
			defer func() { _ = az.Stop() }()
			cfg.Azurite = az
		}
		if table, err = startGate("table storage"); err != nil {
			return nil, err
		}
		defer table.close()
		if cfg.LostResponses > 0 {
			table.lose = newLoser()
		}
		target := "http://127.0.0.1:" + strconv.Itoa(cfg.Azurite.Port())
		table.target.Store(&target)
		conn := cfg.Azurite.ConnectionString()
		if !strings.Contains(conn, target) {
			return nil, fmt.Errorf("chaos: Azurite's connection string %q does not name %s", conn, target)
		}
		env["GDAP_TABLES_CONNECTION_STRING"] = strings.Replace(conn, target, table.url, 1)
	}
	stack, err := devstack.Start(ctx, devstack.Options{
		RepoRoot:         cfg.RepoRoot,
		HandlerPath:      cfg.HandlerPath,
		Azurite:          cfg.Azurite,
		HandlerOutput:    cfg.HandlerOutput,
		MaxDeliveryCount: cfg.MaxDeliveryCount,
		// As deployed (infra/main.bicep): the waits for approvals move
		// the virtual clock past Service Bus's default 10 minutes.
		DuplicateDetectionWindow: 24 * time.Hour,
		// Keep every request: invariant 3 reads the whole journal. A
		// scripted customer approves every invitation after half an hour,
		// so that replacements' follow-ups run to their end.
		Graph: graphsim.Options{JournalLimit: 1 << 30, CustomerApproval: 30 * time.Minute, RateLimit: rateLimit(cfg.GraphRate)},
		Env:   env,
	})
	if err != nil {
		return nil, err
	}
	defer func() { _ = stack.Close() }()
	brokerURL := stack.Emu.BrokerURL()
	broker.target.Store(&brokerURL)
	gates := outageGates{broker: broker, table: table}

	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	plan, err := buildPlan(stack, rng, cfg.Commands)
	if err != nil {
		return nil, err
	}
	if err := plan.addSweeps(stack, rng, cfg); err != nil {
		return nil, err
	}
	rep := &Report{Config: cfg, Planned: plan.countByKind(), FaultsArmed: map[graphsim.FaultKind]int{}}
	if cfg.JointOutage {
		err = executeJoint(ctx, stack, gates, cfg, plan, rep)
	} else {
		err = execute(ctx, stack, gates, rng, cfg, plan, rep)
	}
	rep.BrokerRefused = int(broker.failed.Load())
	if table != nil {
		rep.TableRefused = int(table.failed.Load())
		rep.TableHeld, rep.TableHeldAbandoned = int(table.held.Load()), int(table.abandoned.Load())
		rep.TableHeldConflicts = int(table.heldConflicts.Load())
		if table.lose != nil {
			rep.LostResponses, _ = table.lose.counts()
		}
	}
	if broker.lose != nil {
		var dropped map[string]int
		dropped, rep.DroppedOperations = broker.lose.counts()
		rep.DroppedContinuations = dropped["send"]
	}
	if err != nil {
		return rep, err
	}
	rep.Elapsed = time.Since(began)
	events, err := stack.Events()
	if err != nil {
		return rep, err
	}
	if err := plan.addFollowUps(events); err != nil {
		return rep, err
	}
	rep.Planned = plan.countByKind()
	if err := check(ctx, stack, plan, rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// outageGates are the gates outages are simulated at (table is nil unless
// Config.TableOutages or Config.TableHangs is set).
type outageGates struct{ broker, table *gate }

// execute sends the waves, arms faults and kills the handler, draining each
// wave to the end.
func execute(ctx context.Context, stack *devstack.Stack, gates outageGates, rng *rand.Rand, cfg Config, plan *plan, rep *Report) error {
	waves := splitWaves(plan.mixed, cfg.Waves)
	killsLeft := cfg.Kills
	var late []*op // duplicates owed to the next wave
	for w, wave := range waves {
		// This wave's sends: its operations, concurrent duplicates, the late
		// duplicates of the previous wave and some non-CloudEvent bodies, in
		// random order.
		var sends []send
		var nextLate []*op
		for _, o := range wave {
			sends = append(sends, send{op: o, messageID: o.id})
			if rng.Float64() < cfg.DuplicateRate {
				if rng.IntN(2) == 0 {
					sends = append(sends, send{op: o, messageID: o.id + ".dup"})
				} else {
					nextLate = append(nextLate, o)
				}
			}
		}
		for _, o := range late {
			sends = append(sends, send{op: o, messageID: o.id + ".late"})
			if rng.IntN(2) == 0 {
				// The same id with different content, after the original
				// finished: rejected with conflict, nothing executes.
				sends = append(sends, send{op: o, reuse: true, messageID: o.id + ".reuse"})
			}
		}
		late = nextLate
		for range max(1, len(wave)/100) {
			sends = append(sends, send{garbage: true, messageID: fmt.Sprintf("garbage-%d-%d", w, len(plan.garbage))})
			plan.garbage = append(plan.garbage, sends[len(sends)-1].messageID)
		}
		rng.Shuffle(len(sends), func(i, j int) { sends[i], sends[j] = sends[j], sends[i] })
		if w < len(plan.sweepRuns) {
			sends = withSweeps(sends, plan.sweepRuns[w], rng)
			rep.Sweeps.Runs += len(plan.sweepRuns[w])
		}

		kill := 0
		if killsLeft > 0 {
			// Spread the kills: the remaining ones over the remaining waves.
			kill = (killsLeft + (len(waves) - w - 1)) / (len(waves) - w)
			killsLeft -= kill
		}
		t0 := time.Now()
		before := len(stack.Emu.Invocations())
		for _, s := range sends {
			body := s.body(plan)
			if err := stack.SendBody(ctx, s.messageID, body); err != nil {
				return fmt.Errorf("send %s: %w", s.messageID, err)
			}
			switch {
			case s.reuse:
				rep.Reuses++
				plan.reused[s.op.id]++
			case s.op != nil && s.messageID != s.op.id:
				rep.Duplicates++
			}
			if s.garbage {
				rep.Garbage++
			}
		}
		if err := drainWithChaos(ctx, stack, gates, rng, cfg, len(sends), kill, before, rep); err != nil {
			return fmt.Errorf("wave %d: %w", w+1, err)
		}
		if err := fireSweepTimer(ctx, stack, cfg, rep); err != nil {
			return fmt.Errorf("wave %d: %w", w+1, err)
		}
		if err := reap(ctx, stack, cfg, rep); err != nil {
			return fmt.Errorf("wave %d: %w", w+1, err)
		}
		fmt.Fprintf(cfg.Progress, "chaos: wave %d/%d: %d messages, %d kills, drained in %s\n",
			w+1, len(waves), len(sends), kill, time.Since(t0).Round(time.Millisecond))
	}
	if len(late) > 0 {
		// Late duplicates of the last wave.
		for _, o := range late {
			if err := stack.SendBody(ctx, o.id+".late", o.body); err != nil {
				return err
			}
			rep.Duplicates++
		}
		dctx, cancel := context.WithTimeout(ctx, cfg.DrainTimeout)
		defer cancel()
		if err := stack.Drain(dctx); err != nil {
			return fmt.Errorf("final drain: %w", err)
		}
	}
	return nil
}

// drainWithChaos drains the stack while a goroutine arms Graph faults in
// small batches and kills the handler `kills` times once the wave is well
// under way (after a random 15–60 % of its messages were processed).
func drainWithChaos(ctx context.Context, stack *devstack.Stack, gates outageGates, rng *rand.Rand, cfg Config, messages, kills, invBefore int, rep *Report) error {
	dctx, cancel := context.WithTimeout(ctx, cfg.DrainTimeout)
	defer cancel()
	faultBudget := int(cfg.FaultRate * float64(messages))
	killAt := make([]int, kills)
	for i := range killAt {
		killAt[i] = invBefore + int(float64(messages)*(0.15+0.45*rng.Float64()))
	}
	slices.Sort(killAt)
	outages := []*outagePlan{newOutagePlan(gates.broker.down.Store, cfg.OutageLength, cfg.BrokerOutages, &rep.BrokerOutages, rng, invBefore, messages)}
	if gates.table != nil {
		outages = append(outages, newOutagePlan(gates.table.down.Store, cfg.OutageLength, cfg.TableOutages, &rep.TableOutages, rng, invBefore, messages))
		outages = append(outages, newOutagePlan(gates.table.setHung, cfg.HangLength, cfg.TableHangs, &rep.TableHangs, rng, invBefore, messages))
		if l := gates.table.lose; l != nil {
			outages = append(outages, newOutagePlan(armOn(l.armWrite), 0, cfg.LostResponses, &rep.LostResponsesArmed, rng, invBefore, messages))
			defer l.disarm()
		}
	}
	if l := gates.broker.lose; l != nil {
		outages = append(outages, newOutagePlan(armOn(l.armSend), 0, cfg.DropContinuations, &rep.DropContinuationsArmed, rng, invBefore, messages))
		defer l.disarm()
	}
	// The fault schedule draws as the drain goes, from its own generator,
	// so how far it got before the wave drained does not change what the
	// seed gives the next waves.
	schedule := newFaultSchedule(rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())), faultBudget)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var chaosErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		// A bounded ticker paces fault arming and kill checks; correctness
		// never depends on it.
		tick := time.NewTicker(40 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if f, ok := schedule.next(); ok {
				if err := stack.Graph.AddFault(f); err != nil {
					chaosErr = err
					return
				}
				rep.FaultsArmed[f.Kind] += f.Times
			}
			done := len(stack.Emu.Invocations())
			for _, o := range outages {
				o.step(done)
			}
			if len(killAt) == 0 || done < killAt[0] {
				continue
			}
			killAt = killAt[1:]
			if err := stack.Emu.KillHandler(); err != nil {
				chaosErr = fmt.Errorf("kill handler: %w", err)
				return
			}
			rep.Kills++
		}
	}()
	err := stack.Drain(dctx)
	close(stop)
	wg.Wait()
	for _, o := range outages {
		o.set(false)
	}
	// Faults left armed would hit the next wave's first requests; the next
	// wave arms its own.
	stack.Graph.ClearFaults()
	if err != nil {
		return err
	}
	if chaosErr != nil {
		return chaosErr
	}
	if len(killAt) > 0 {
		// The wave finished before the kill point: kill now (idle) so the
		// requested number of kills happens; the restart is still exercised.
		for range killAt {
			if err := stack.Emu.KillHandler(); err != nil {
				return fmt.Errorf("kill handler: %w", err)
			}
			rep.Kills++
			rep.IdleKills++
		}
	}
	return nil
}

// rateLimit is the simulator's token bucket for a Graph rate (nil: none).
func rateLimit(rate float64) *graphsim.RateLimit {
	if rate <= 0 {
		return nil
	}
	return &graphsim.RateLimit{Rate: rate, Burst: max(1, int(rate))}
}

// faultSchedule hands out the wave's fault budget in small batches of random
// kinds and routes.
type faultSchedule struct {
	rng    *rand.Rand
	budget int
}

func newFaultSchedule(rng *rand.Rand, budget int) *faultSchedule {
	return &faultSchedule{rng: rng, budget: budget}
}

// faultMenu is what the run injects, weighted by repetition.
var faultMenu = []graphsim.Fault{ //nolint:gochecknoglobals // immutable table
	{Route: graphsim.RouteRelationship, Method: "GET", Kind: graphsim.FaultThrottle, RetryAfter: 3},
	{Route: graphsim.RouteRelationship, Method: "GET", Kind: graphsim.FaultThrottle, RetryAfter: 1},
	{Route: graphsim.RouteRelationship, Method: "GET", Kind: graphsim.FaultUnavailable, RetryAfter: 2},
	{Route: graphsim.RouteRelationship, Method: "GET", Kind: graphsim.FaultReset},
	{Route: graphsim.RouteRelationship, Method: "GET", Kind: graphsim.FaultETagRace},
	{Route: graphsim.RouteRelationship, Method: "GET", Kind: graphsim.FaultETagRace},
	{Route: graphsim.RouteRelationship, Method: "PATCH", Kind: graphsim.FaultUnavailable, RetryAfter: 2},
	{Route: graphsim.RouteRelationship, Method: "PATCH", Kind: graphsim.FaultThrottle, RetryAfter: 2},
	{Route: graphsim.RouteRelationship, Method: "PATCH", Kind: graphsim.FaultReset},
	{Route: graphsim.RouteRelationship, Method: "PATCH", Kind: graphsim.FaultInternal},
	{Route: graphsim.RouteRequests, Method: "POST", Kind: graphsim.FaultUnavailable},
	{Route: graphsim.RouteRequests, Method: "POST", Kind: graphsim.FaultReset},
	{Route: graphsim.RouteRequests, Method: "GET", Kind: graphsim.FaultThrottle, RetryAfter: 2},
	{Route: graphsim.RouteRequest, Method: "GET", Kind: graphsim.FaultThrottle, RetryAfter: 5},
	{Route: graphsim.RouteRequest, Method: "GET", Kind: graphsim.FaultReset},
	{Route: graphsim.RouteOperation, Method: "GET", Kind: graphsim.FaultUnavailable, RetryAfter: 4},
	{Route: graphsim.RouteOperation, Method: "GET", Kind: graphsim.FaultReset},
	{Route: graphsim.RouteOperations, Method: "GET", Kind: graphsim.FaultThrottle},
	// Onboarding: the relationship's creation (a lost answer is the case
	// creation exactly once is about), its lookup by name, assignments.
	{Route: graphsim.RouteRelationships, Method: "POST", Kind: graphsim.FaultLost},
	{Route: graphsim.RouteRelationships, Method: "POST", Kind: graphsim.FaultUnavailable, RetryAfter: 2},
	{Route: graphsim.RouteRelationships, Method: "POST", Kind: graphsim.FaultReset},
	{Route: graphsim.RouteRelationships, Method: "GET", Kind: graphsim.FaultThrottle, RetryAfter: 2},
	{Route: graphsim.RouteAssignments, Method: "POST", Kind: graphsim.FaultLost},
	{Route: graphsim.RouteAssignments, Method: "POST", Kind: graphsim.FaultThrottle, RetryAfter: 2},
	{Route: graphsim.RouteAssignments, Method: "GET", Kind: graphsim.FaultReset},
	{Route: graphsim.RouteRequests, Method: "POST", Kind: graphsim.FaultLost},
}

func (s *faultSchedule) next() (graphsim.Fault, bool) {
	if s.budget <= 0 {
		return graphsim.Fault{}, false
	}
	f := faultMenu[s.rng.IntN(len(faultMenu))]
	f.Times = min(s.budget, 1+s.rng.IntN(3))
	s.budget -= f.Times
	return f, true
}

// send is one message of a wave.
type send struct {
	op        *op
	garbage   bool
	reuse     bool
	messageID string
}

func (s send) body(p *plan) []byte {
	switch {
	case s.garbage:
		return []byte(`{"this is":"not a CloudEvent","n":` + fmt.Sprint(len(s.messageID)) + `}`)
	case s.reuse:
		b, err := devstack.NewCommand(s.op.id, "gdap.relationship.update", map[string]any{
			"relationshipId": s.op.relID, "changes": map[string]any{"displayName": s.op.id + "-reused"}})
		if err != nil {
			panic(err) // a plain map always marshals
		}
		return b
	}
	return s.op.body
}

func splitWaves(ops []*op, n int) [][]*op {
	out := make([][]*op, 0, n)
	for i := range n {
		lo, hi := i*len(ops)/n, (i+1)*len(ops)/n
		out = append(out, ops[lo:hi])
	}
	return out
}

// armOn adapts an arming function to an outagePlan's set: each start arms
// one loss; the end does nothing.
func armOn(arm func()) func(bool) {
	return func(on bool) {
		if on {
			arm()
		}
	}
}

// outagePlan is when, in a wave, one gate goes down or hangs (set(true),
// undone by set(false)): at invocation counts spread over 10–70 % of the
// wave, for length each.
type outagePlan struct {
	set    func(bool)
	length time.Duration
	at     []int
	until  time.Time
	count  *int
}

func newOutagePlan(set func(bool), length time.Duration, n int, count *int, rng *rand.Rand, invBefore, messages int) *outagePlan {
	o := &outagePlan{set: set, length: length, at: make([]int, n), count: count}
	for i := range o.at {
		o.at[i] = invBefore + int(float64(messages)*(0.1+0.6*rng.Float64()))
	}
	slices.Sort(o.at)
	return o
}

// step ends an outage that has lasted long enough and starts the next one
// once done invocations have run.
func (o *outagePlan) step(done int) {
	if !o.until.IsZero() && time.Now().After(o.until) {
		o.set(false)
		o.until = time.Time{}
	}
	if len(o.at) > 0 && done >= o.at[0] && o.until.IsZero() {
		o.at = o.at[1:]
		o.set(true)
		o.until = time.Now().Add(o.length)
		*o.count++
	}
}
