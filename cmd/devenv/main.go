// Command devenv runs gdapflow locally on embedded defaults: Azurite, the
// Graph and Partner Center simulators and the Functions host emulator
// running the real handler binary, all on one virtual clock.
//
// Usage:
//
//	devenv dev   [-state-dir dir] [-handler path]            the local stack in the foreground until Ctrl-C (see dev.go)
//	devenv demo  [-sweep 300] [-burst 10] [-handler path]   scripted commands, printed as a timeline
//	devenv bench [flags]                                     benchmarks (see bench.go)
//	devenv chaos [flags]                                     fault-injection run (see chaos.go)
//	devenv burst [flags]                                     the bench's throttled burst alone (see burstcmd.go)
//	devenv floor-worker                                      internal: the bench's floor client (see floor.go)
//
// The demo exits non-zero when any scripted expectation fails, so it doubles
// as a smoke test.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gdapflow/gdapflow/internal/config"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "floor-worker" {
		// The floor's client runs as the handler does (see floorRunner);
		// set here, not in run, so that tests calling run keep theirs.
		config.ApplyRuntimeDefaults(os.LookupEnv)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "devenv:", err)
		os.Exit(1)
	}
}

// errUsage is returned for a missing or unknown subcommand.
var errUsage = errors.New("usage: devenv dev|demo|bench|chaos|burst|report [flags]")

// run dispatches a subcommand.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:], stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:])
	case "chaos":
		return runChaos(ctx, args[1:])
	case "burst":
		return runBurstCmd(ctx, args[1:], stdout, stderr)
	case "report":
		return runReportSize(ctx, args[1:], stdout, stderr)
	case "floor-worker": // started once by bench, which feeds it the floor rounds
		return runFloorWorker(ctx, os.Stdin, stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, errUsage.Error())
		return nil
	}
	return fmt.Errorf("unknown subcommand %q; %w", args[0], errUsage)
}
