package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/chaos"
	"github.com/gdapflow/gdapflow/internal/testenv"
)

// TestChaosShort is the short chaos run inside `make test`: a few hundred
// mixed commands with injected Graph faults, duplicate deliveries and the
// handler killed mid-run; the invariants of `make chaos` must hold
// (docs/reliability.md, "Chaos run").
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos run skipped in -short mode")
	}
	t.Parallel()
	var progress strings.Builder
	rep, err := chaos.Run(t.Context(), chaos.Config{
		HandlerPath:  handlerPath,
		Azurite:      testenv.SharedAzurite(t),
		Commands:     300,
		Kills:        2,
		Seed:         20261122,
		DrainTimeout: 3 * time.Minute,
		Progress:     &progress,
	})
	require.NoError(t, err, "chaos run: %s", progress.String())
	var report strings.Builder
	rep.Print(&report)
	t.Log("\n" + progress.String() + report.String())
	require.GreaterOrEqual(t, rep.Kills, 2)
	require.Empty(t, rep.Violations(), "seed %d", rep.Config.Seed)
}
