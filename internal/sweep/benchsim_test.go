package sweep

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/graphapi"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// benchSimEnv, set to a population size, makes the test binary serve a
// Graph simulator seeded with that population (seedPopulation) instead of
// running tests: BenchmarkSweep150k runs it as a child process, so that
// the benchmark's heap holds the sweep and not the simulator's
// relationships (whose size would also lengthen every GC cycle, and with
// it what a cycle counts as reachable while the sweep allocates).
const benchSimEnv = "GDAP_SWEEP_BENCH_SIM"

// serveBenchSim serves the simulator on a free loopback port, prints its
// URL on stdout and serves until stdin is closed.
func serveBenchSim() int {
	n, err := strconv.Atoi(os.Getenv(benchSimEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench sim:", err)
		return 2
	}
	clock := vclock.NewFrozen(setupTime)
	sim := graphsim.New(graphsim.Options{Clock: clock, JournalLimit: -1})
	if err := seedPopulation(sim, clock.Now(), n); err != nil {
		fmt.Fprintln(os.Stderr, "bench sim:", err)
		return 1
	}
	if err := sim.AddFault(graphsim.Fault{Route: graphsim.RouteRelationships, Method: "GET",
		Kind: graphsim.FaultLatency, Latency: benchPageLatency}); err != nil {
		fmt.Fprintln(os.Stderr, "bench sim:", err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench sim:", err)
		return 1
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("http://%s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// startBenchSim starts the simulator child process with n relationships
// and returns a Graph client for it.
func startBenchSim(b *testing.B, tb *testBundle, n int) *graphapi.Client {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchSimEnv+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(b, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(b, err)
	require.NoError(b, cmd.Start())
	b.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(b, err)
	graph, err := graphapi.New(graphapi.Options{BaseURL: strings.TrimSpace(line) + "/beta",
		Credential: graphapi.NewStaticTokenCredential("test-token"), Clock: tb.clock})
	require.NoError(b, err)
	return graph
}

// seedPopulation adds n relationships: 80% active two-year relationships
// created over the last two years (so about 4% were created within the
// activation lookback and are announced as activated by a first sweep), 8%
// expired and 5% terminated over the last two years, 5% approvalPending, 2%
// created.
func seedPopulation(sim *graphsim.Sim, now time.Time, n int) error {
	for i := range n {
		r := gdap.Relationship{
			DisplayName: fmt.Sprintf("bench-%06d", i),
			Customer:    gdap.Customer{TenantID: fmt.Sprintf("00000000-0000-4000-9000-%012d", i), DisplayName: "Customer"},
		}
		switch k := i % 100; {
		case k < 80:
			// Two-year relationships created over the last two years.
			r.Status = gdap.StatusActive
			r.EndDateTime = now.Add(time.Duration(1+(i*7919)%730) * day).Add(time.Duration(i%86400) * time.Second)
			r.CreatedDateTime = r.EndDateTime.Add(-730 * day)
			r.ActivatedDateTime = r.CreatedDateTime.Add(day)
			if i%3 == 0 {
				r.AutoExtendDuration = gdap.AutoExtendOn
			}
		case k < 88:
			// Ended over the last two years: those within the lookback are
			// announced as ended by a first sweep.
			r.Status = gdap.StatusExpired
			r.EndDateTime = now.Add(-time.Duration(1+(i*7919)%730) * day)
			r.CreatedDateTime = r.EndDateTime.Add(-730 * day)
		case k < 93:
			r.Status = gdap.StatusTerminated
			r.EndDateTime = now.Add(-time.Duration(1+(i*7919)%730) * day)
			r.CreatedDateTime = r.EndDateTime.Add(-365 * day)
		case k < 98:
			r.Status = gdap.StatusApprovalPending
			r.CreatedDateTime = now.Add(-time.Duration(i%89) * day)
		default:
			r.Status = gdap.StatusCreated
		}
		if _, err := sim.AddRelationship(r); err != nil {
			return err
		}
	}
	return nil
}
