package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/chaos"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
)

// runChaos runs a short chaos scenario on the package's Azurite and the
// test handler, logs its report and requires the run to complete.
func runChaos(t *testing.T, cfg chaos.Config) *chaos.Report {
	t.Helper()
	if testing.Short() {
		t.Skip("chaos run skipped in -short mode")
	}
	t.Parallel()
	var progress strings.Builder
	cfg.HandlerPath, cfg.Azurite, cfg.Progress = handlerPath, localenv.SharedAzurite(t), &progress
	cfg.DrainTimeout = 3 * time.Minute
	rep, err := chaos.Run(t.Context(), cfg)
	require.NoError(t, err, "chaos run: %s", progress.String())
	var report strings.Builder
	rep.Print(&report)
	t.Log("\n" + progress.String() + report.String())
	return rep
}

// TestChaosShort is the short chaos run inside `make test`: a few hundred
// mixed commands with injected Graph faults, duplicate deliveries, expiry
// sweeps (gdap.sweep.run in each wave, the timer after it, the auto-extend
// policy acting on expiring relationships) and the handler killed mid-run;
// the invariants of `make chaos` must hold (docs/reliability.md, "Chaos
// run").
func TestChaosShort(t *testing.T) {
	rep := runChaos(t, chaos.Config{Commands: 300, Kills: 2, Seed: 20261122,
		SweepRuns: 2, SweepTimer: true, ExpiringRelationships: 5})
	require.GreaterOrEqual(t, rep.Kills, 2)
	require.Equal(t, 4, rep.Sweeps.Runs)
	require.Equal(t, 2, rep.Sweeps.Timers)
	require.Equal(t, 5, rep.Sweeps.PolicyCommands)
	require.Empty(t, rep.Violations(), "seed %d", rep.Config.Seed)
}

// TestChaosThrottled is the short chaos run with Graph limited by a rate
// (the simulator's token bucket) instead of only injected 429s: the
// client's pacing engages and every invariant holds (issue: throttling).
func TestChaosThrottled(t *testing.T) {
	rep := runChaos(t, chaos.Config{Commands: 200, Kills: 1, Seed: 20261207, GraphRate: 20})
	require.Positive(t, rep.GraphResponses[429], "the rate limit throttled")
	require.Empty(t, rep.Violations(), "seed %d", rep.Config.Seed)
}

// TestChaosTableOutage runs a short chaos wave through a Table Storage
// outage longer than the queues' immediate redeliveries take (the delivery
// limit is lowered to 3 so that a short outage is enough): inputs that
// cannot reach the ledger must be deferred with back-off, not dead-lettered
// without an outcome (docs/reliability.md, "Table Storage outages").
func TestChaosTableOutage(t *testing.T) {
	rep := runChaos(t, chaos.Config{
		Commands: 200, Kills: 1, Waves: 1, Seed: 20261123,
		TableOutages: 1, OutageLength: 5 * time.Second, MaxDeliveryCount: 3,
	})
	require.Equal(t, 1, rep.TableOutages)
	require.Positive(t, rep.TableRefused, "the outage hit the handler's Table calls")
	require.Empty(t, rep.Violations(), "seed %d", rep.Config.Seed)
}

// TestChaosTableHang runs a short chaos wave through a Table Storage hang
// longer than the handler's limit on one Table call: the calls made during
// it are held and then executed, including those the handler had given up
// on, so that a timed-out insert or replace may have taken effect when its
// retry arrives (docs/reliability.md, "Table Storage hangs").
func TestChaosTableHang(t *testing.T) {
	rep := runChaos(t, chaos.Config{
		Commands: 200, Kills: 1, Waves: 1, Seed: 20261124,
		TableHangs: 1, HangLength: 9 * time.Second,
	})
	require.Equal(t, 1, rep.TableHangs)
	require.Positive(t, rep.TableHeldAbandoned, "the handler gave up on calls that then executed")
	require.Empty(t, rep.Violations(), "seed %d", rep.Config.Seed)
}

// TestChaosLostResponses runs a short chaos wave in which Table Storage
// write responses are lost after the write executed (connection reset, or
// held until the handler gives up), spread over inserts, claims, waits,
// finishes, outcome marks, the sweep's state row and snapshot, and the due
// index: the SDK's retry of such a write meets the write itself (409 on an
// insert, 412 on a replace), and the engine and the sweep must decide from
// what is stored (docs/reliability.md, "Chaos run"). The wave's last
// command is a gdap.sweep.run, sent after every loss was armed, so its
// sweep's state writes meet the losses armed for them.
func TestChaosLostResponses(t *testing.T) {
	rep := runChaos(t, chaos.Config{
		Commands: 200, Kills: 1, Waves: 1, Seed: 20261125,
		LostResponses: 16, SweepRuns: 2, ExpiringRelationships: 5,
	})
	lost := 0
	for _, n := range rep.LostResponses {
		lost += n
	}
	require.Positive(t, lost, "responses were lost")
	require.Positive(t, rep.LostResponses[chaos.WriteSweepState], "sweep state writes lost their responses")
	require.Equal(t, 5, rep.Sweeps.PolicyCommands)
	require.Empty(t, rep.Violations(), "seed %d", rep.Config.Seed)
}

// TestChaosDroppedContinuations runs a short chaos wave in which some
// continuations are silently discarded: only the reaper, ticking through
// its timer function after the wave drained, can bring those operations to
// their outcome (docs/reliability.md, "The reaper").
func TestChaosDroppedContinuations(t *testing.T) {
	rep := runChaos(t, chaos.Config{
		Commands: 200, Kills: 1, Waves: 1, Seed: 20261125,
		DropContinuations: 5, ReaperTicks: 2,
	})
	require.Positive(t, rep.DroppedContinuations, "continuations were dropped")
	// A dropped operation may also be woken by a duplicate delivery of its
	// command (it re-wakes an overdue operation under a new id), so the
	// reaper need not re-send every one; without the reaper the invariants
	// below fail (records left waiting, no outcome).
	require.Positive(t, rep.Reaper.Resent, "the reaper re-sent dropped operations' continuations")
	require.LessOrEqual(t, rep.Reaper.Resent, len(rep.DroppedOperations), "the reaper re-sends only stranded operations")
	require.Zero(t, rep.Reaper.Failed)
	require.Zero(t, rep.Reaper.Unreported, "every tick's counts were read")
	require.Empty(t, rep.Violations(), "seed %d", rep.Config.Seed)
}

// TestChaosJointOutageReaperRecovers is issue 17's acceptance 3: operations
// are accepted and wait for continuations scheduled later; then Service Bus
// sends fail and Table Storage is down together while every one of those
// continuations (and lease checks) is delivered, fails and is dead-lettered
// (delivery limit 3); after both recover, two reaper ticks through the timer
// function bring every operation to exactly one outcome (docs/reliability.md,
// "The reaper").
func TestChaosJointOutageReaperRecovers(t *testing.T) {
	rep := runChaos(t, chaos.Config{
		Commands: 40, Seed: 20261206,
		JointOutage: true, MaxDeliveryCount: 3, ReaperTicks: 2,
	})
	require.NotEmpty(t, rep.JointDeadLettered, "continuations were dead-lettered during the outage")
	require.Positive(t, rep.BrokerRefused, "the outage refused sends")
	require.Positive(t, rep.TableRefused, "the outage refused Table calls")
	require.Zero(t, rep.Reaper.Failed)
	require.Zero(t, rep.Reaper.Unreported, "every tick's summary was counted")
	stranded := map[string]bool{}
	for _, id := range rep.JointDeadLettered {
		stranded[id] = true
	}
	require.GreaterOrEqual(t, rep.Reaper.Recovered(), len(stranded), "the reaper recovered every operation whose continuation was dead-lettered")
	require.Empty(t, rep.Violations(), "seed %d", rep.Config.Seed)
}
