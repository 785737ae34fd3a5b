package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/upstream"
)

// Markers around the generated part of docs/performance.md.
const (
	benchDocBegin = "<!-- bench:begin -->"
	benchDocEnd   = "<!-- bench:end -->"
)

// benchRoles is the role of the benchmark's relationships (no Global
// Administrator, so auto-extend can be switched on and off).
const benchRole = "729827e3-9c14-49f7-bb1b-9608f156bbb8"

// runBench is `devenv bench` (`make bench`): end-to-end throughput and
// latency of gdap.relationship.update through the emulator, the real
// handler, the simulators and Azurite at several concurrencies, the floor
// (the same wire calls without service logic), Graph/Table/broker calls per
// command type, cold start and binary size, and the Go benchmarks (engine
// CPU/allocations, one reaper tick, sweep, simulator list walk). It prints a Markdown table;
// with -doc (make bench-doc) it also rewrites that document between the bench
// markers.
func runBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	concList := fs.String("concurrency", "1,4,8,16", "concurrencies (closed-loop clients)")
	commands := fs.Int("commands", 2400, "update commands per concurrency level (and as many floor iterations)")
	rounds := fs.Int("rounds", 4, "alternating service/floor rounds per level (commands are split evenly)")
	coldRuns := fs.Int("cold-runs", 7, "cold-start measurements (median reported)")
	goBench := fs.Bool("go-bench", true, "run the Go benchmarks (engine, reaper tick, sweep, graphsim)")
	sweep := fs.Bool("sweep", true, "run BenchmarkSweep150k (several minutes)")
	doc := fs.String("doc", "", "document to update between the bench markers, e.g. docs/performance.md (make bench-doc); \"\" = none")
	inprocFloor := fs.Bool("inproc-floor", true, "after each floor round, run the same round with the same client inside the bench process, for comparison")
	handlerEnv := fs.String("handler-env", "", "extra handler settings K=V,K=V for experiments (e.g. GOGC=400)")
	burstN := fs.Int("burst", 20000, "throttled burst: autoExtend updates sent at once (0 = skip the throttled bursts)")
	burstGA := fs.Int("burst-ga", 2000, "throttled burst: Global Administrator removals (202) sent at once")
	burstRates := fs.String("burst-rates", "10,50", "throttled burst: Graph's limits in requests/s")
	cost := costFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	extraEnv := map[string]string{}
	for _, kv := range strings.Split(*handlerEnv, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			extraEnv[k] = v
		}
	}
	var levels []int
	for _, s := range strings.Split(*concList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("bench: bad concurrency %q", s)
		}
		if slices.Contains(levels, n) {
			return fmt.Errorf("bench: concurrency %d given twice", n)
		}
		levels = append(levels, n)
	}
	root, err := localenv.RepoRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "gdapflow-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	if *commands < 1 || *rounds < 1 || *rounds > *commands {
		return errors.New("bench: -commands must be positive and -rounds between 1 and -commands")
	}
	// The bench process holds the simulators, the host emulator, the
	// broker and the clients: stand-ins for what runs elsewhere in Azure.
	// Like the handler, it runs on one thread unless GOMAXPROCS is set,
	// which keeps its CPU and wake-ups per call low on this two-core class
	// of machine, in the service's rounds and the floor's alike.
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(config.DefaultMaxProcs)
	}
	res := &benchResults{Started: time.Now(), LoadStart: loadAverage(), Args: args, HandlerEnv: *handlerEnv, Rounds: *rounds,
		InProcFloor: *inprocFloor, BenchProcs: runtime.GOMAXPROCS(0), Cost: cost}
	fmt.Printf("bench: building the handler (load average %s)\n", res.LoadStart)
	handler, err := devstack.BuildHandler(ctx, root, dir)
	if err != nil {
		return err
	}
	stripped := filepath.Join(dir, "handler-stripped")
	if err := buildStripped(ctx, root, stripped); err != nil {
		return err
	}
	for _, p := range []struct {
		path string
		dst  *int64
	}{{handler, &res.SizeUnstripped}, {stripped, &res.SizeStripped}} {
		st, err := os.Stat(p.path)
		if err != nil {
			return err
		}
		*p.dst = st.Size()
	}

	az, err := localenv.StartAzurite(ctx, localenv.AzuriteOptions{RepoRoot: root})
	if err != nil {
		return err
	}
	defer func() { _ = az.Stop() }()

	// A script root whose host.json lets the emulator run twice as many
	// invocations at once as the highest level, so that the closed-loop
	// clients alone set the concurrency: an invocation keeps its slot until
	// the outcome-published mark that follows its outcome event is written,
	// while its client has already sent the next command.
	scriptRoot, err := benchScriptRoot(root, dir, 2*slices.Max(levels))
	if err != nil {
		return err
	}
	if *burstN > 0 {
		rates, err := parseRates(*burstRates)
		if err != nil {
			return fmt.Errorf("bench: -burst-rates: %w", err)
		}
		for _, rate := range rates {
			for _, k := range []struct {
				kind string
				n    int
			}{{"autoExtend", *burstN}, {"removeGA", *burstGA}} {
				if k.n <= 0 {
					continue
				}
				fmt.Printf("bench: throttled burst, %d × %s at %g requests/s\n", k.n, k.kind, rate)
				b, err := benchBurst(ctx, root, handler, az, k.kind, k.n, rate)
				if err != nil {
					return fmt.Errorf("bench: throttled burst: %w", err)
				}
				res.Bursts = append(res.Bursts, b)
			}
		}
	}
	fmt.Println("bench: calls per command type")
	env, err := benchCalls(ctx, res, root, handler, az, extraEnv)
	if err != nil {
		return err
	}
	fmt.Printf("bench: end-to-end throughput and the floor (%s since start)\n", time.Since(res.Started).Round(time.Second))
	if err := benchThroughput(ctx, res, scriptRoot, handler, az, levels, *commands, extraEnv, *inprocFloor); err != nil {
		return err
	}
	fmt.Println("bench: cold start")
	if err := benchColdStart(ctx, res, stripped, env, *coldRuns); err != nil {
		return err
	}
	if *goBench {
		fmt.Println("bench: Go benchmarks")
		res.GoBench = append(res.GoBench, runGoBench(ctx, root, "engine: HandleCommand, gdap.relationship.update, I/O stubbed",
			"./internal/engine/", "BenchmarkHandleCommandUpdate", "-benchmem", "-benchtime", "20000x", "-count", "3"))
		res.GoBench = append(res.GoBench, runGoBench(ctx, root, "graphsim: list walk of 200,000 relationships",
			"./internal/dev/graphsim/", "BenchmarkListWalk200k", "-benchmem", "-benchtime", "3x"))
		res.Reaper = benchReaper(ctx, root)
		if *sweep {
			res.GoBench = append(res.GoBench, runGoBench(ctx, root, "sweep: BenchmarkSweep150k",
				"./internal/sweep/", "BenchmarkSweep150k", "-benchtime", "1x", "-timeout", "60m"))
		}
	}
	res.LoadEnd = loadAverage()
	res.Elapsed = time.Since(res.Started)

	var out bytes.Buffer
	res.render(&out)
	fmt.Print(out.String())
	if *doc != "" {
		if err := replaceMarked(filepath.Join(root, *doc), benchDocBegin, benchDocEnd, out.String()); err != nil {
			return err
		}
		fmt.Printf("bench: recorded in %s\n", *doc)
	}
	return nil
}

// benchResults is everything one bench run measured.
type benchResults struct {
	Started            time.Time
	Elapsed            time.Duration
	Args               []string
	LoadStart, LoadEnd string
	HandlerEnv         string

	Levels []levelResult
	Calls  []callsResult

	ColdStart    []time.Duration
	SizeStripped int64
	// SizeUnstripped is the binary `go build` makes (with symbols).
	SizeUnstripped int64

	GoBench []goBenchResult
	// Reaper is internal/reaper's BenchmarkTick (rendered as its own table).
	Reaper goBenchResult
	// Rounds is how many alternating service/floor rounds each level ran.
	Rounds int
	// FloorSpec describes the floor's calls per iteration.
	FloorSpec string
	// InProcFloor is whether the in-process floor ran too (-inproc-floor).
	InProcFloor bool
	// BenchProcs is the bench process's GOMAXPROCS.
	BenchProcs int
	// Bursts are the throttled bursts (benchburst.go).
	Bursts []burstResult
	// LedgerEntityBytes is the JSON size of the ledger record an update
	// stores (measured in benchThroughput; 0 = not measured).
	LedgerEntityBytes int
	// Cost is the cost model and unit prices of the monthly cost table
	// (cost.go); nil = no cost table.
	Cost *costModel
}

// levelResult is one concurrency level: service and floor.
type levelResult struct {
	Concurrency int
	Service     phaseResult
	// Floor is the floor's client in a worker process of its own;
	// InProcFloor the same client inside the bench process (-inproc-floor).
	Floor, InProcFloor phaseResult
	// HandlerP50/P99 are the invocations' durations as the emulator saw
	// them (the handler's share of the latency).
	HandlerP50, HandlerP99 time.Duration
	Load                   string
	// CPU time per command by process, service and floor phases.
	// For the floors, Handler is the floor client's process (the worker;
	// 0 for the in-process floor, whose client is in the bench process).
	ServiceCPU, FloorCPU, InProcFloorCPU cpuShare
	// RoundRatios is each round's service throughput over the throughput
	// of the floor round that followed it: the spread of the ratio within
	// the level.
	RoundRatios []float64
}

// ratioSpread formats the lowest and highest of the rounds' ratios ("" for
// fewer than two rounds).
func (l levelResult) ratioSpread() string {
	if len(l.RoundRatios) < 2 {
		return ""
	}
	return fmt.Sprintf(" (rounds %.2f–%.2f)", slices.Min(l.RoundRatios), slices.Max(l.RoundRatios))
}

// cpuShare is CPU time per command (or floor iteration) by process.
type cpuShare struct {
	Handler, Azurite, Bench time.Duration
}

func (c cpuShare) total() time.Duration { return c.Handler + c.Azurite + c.Bench }

// cpuSampler reads the CPU time (user+system) of the handler process, of
// Azurite and of this process (emulator, simulators, taps, clients).
type cpuSampler struct {
	handlerExe  string
	azuritePort int
}

type cpuSample struct{ handler, azurite, self time.Duration }

func (s cpuSampler) sample() cpuSample {
	out := cpuSample{self: selfCPU()}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := "/proc/" + e.Name()
		if exe, _ := os.Readlink(dir + "/exe"); exe == s.handlerExe {
			out.handler += procCPU(pid)
			continue
		}
		if cl, err := os.ReadFile(dir + "/cmdline"); err == nil && bytes.Contains(cl, []byte("azurite")) &&
			bytes.Contains(cl, []byte(strconv.Itoa(s.azuritePort))) {
			out.azurite += procCPU(pid)
		}
	}
	return out
}

// procCPU is utime+stime of a process from /proc/<pid>/stat (USER_HZ 100).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name may contain spaces: fields start after ") ".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+2:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// plus returns acc (a sum of CPU deltas) with b−a added.
func (acc cpuSample) plus(a, b cpuSample) cpuSample {
	return cpuSample{handler: acc.handler + b.handler - a.handler, azurite: acc.azurite + b.azurite - a.azurite, self: acc.self + b.self - a.self}
}

func (a cpuSample) per(b cpuSample, n int) cpuShare {
	if n <= 0 {
		return cpuShare{}
	}
	return cpuShare{
		Handler: (b.handler - a.handler) / time.Duration(n),
		Azurite: (b.azurite - a.azurite) / time.Duration(n),
		Bench:   (b.self - a.self) / time.Duration(n),
	}
}

// phaseResult is one closed-loop run.
type phaseResult struct {
	Commands  int
	Elapsed   time.Duration
	Latencies []time.Duration
}

// merge adds q's commands, time and latencies to p.
func (p phaseResult) merge(q phaseResult) phaseResult {
	return phaseResult{Commands: p.Commands + q.Commands, Elapsed: p.Elapsed + q.Elapsed,
		Latencies: append(p.Latencies, q.Latencies...)}
}

func (p phaseResult) throughput() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Commands) / p.Elapsed.Seconds()
}

// percentile is the nearest-rank q-quantile of ds (0 for none): the
// smallest value with at least q of the values at or below it.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// buildStripped builds the handler as cmd/package does.
func buildStripped(ctx context.Context, root, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build stripped handler: %w\n%s", err, b)
	}
	return nil
}

// benchScriptRoot writes a script root with the repository's host.json,
// maxConcurrentCalls set to calls, and the repository's functions/.
func benchScriptRoot(root, dir string, calls int) (string, error) {
	raw, err := os.ReadFile(filepath.Join(root, "host.json"))
	if err != nil {
		return "", err
	}
	var host map[string]any
	if err := json.Unmarshal(raw, &host); err != nil {
		return "", fmt.Errorf("host.json: %w", err)
	}
	ext, _ := host["extensions"].(map[string]any)
	sb, _ := ext["serviceBus"].(map[string]any)
	if sb == nil {
		return "", errors.New("host.json has no extensions.serviceBus")
	}
	sb["maxConcurrentCalls"] = calls
	out := filepath.Join(dir, "scriptroot")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(host, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(out, "host.json"), b, 0o644); err != nil {
		return "", err
	}
	return out, os.Symlink(filepath.Join(root, "functions"), filepath.Join(out, "functions"))
}

// benchStack is a devstack with taps on the broker (and optionally on Table
// Storage) in front.
type benchStack struct {
	*devstack.Stack
	broker *tap
	tables *tap

	mu      sync.Mutex
	waiters map[string]chan time.Time
}

func startBenchStack(ctx context.Context, scriptRoot, handler string, az *localenv.Azurite, tapTables bool, extra map[string]string) (*benchStack, error) {
	bs := &benchStack{waiters: map[string]chan time.Time{}}
	var err error
	if bs.broker, err = startTap("http://invalid.invalid"); err != nil {
		return nil, err
	}
	bs.broker.classify = classifyBroker
	bs.broker.onPublished = bs.published
	env := map[string]string{
		// Production's level; devstack defaults to debug.
		"GDAP_LOG_LEVEL":  "info",
		"GDAP_BROKER_URL": bs.broker.URL,
	}
	for k, v := range extra {
		env[k] = v
	}
	if tapTables {
		if bs.tables, err = startTap(fmt.Sprintf("http://127.0.0.1:%d", az.Port())); err != nil {
			bs.broker.close()
			return nil, err
		}
		bs.tables.classify = classifyTable
		env["GDAP_TABLES_CONNECTION_STRING"] = strings.Replace(az.ConnectionString(),
			fmt.Sprintf("http://127.0.0.1:%d", az.Port()), bs.tables.URL, 1)
	}
	bs.Stack, err = devstack.Start(ctx, devstack.Options{
		RepoRoot: scriptRoot, HandlerPath: handler, Azurite: az, Env: env,
		Graph: graphsim.Options{JournalLimit: 1 << 30},
	})
	if err != nil {
		bs.closeTaps()
		return nil, err
	}
	bs.broker.setTarget(bs.Emu.BrokerURL())
	return bs, nil
}

func (bs *benchStack) closeTaps() {
	bs.broker.close()
	if bs.tables != nil {
		bs.tables.close()
	}
}

func (bs *benchStack) close() {
	_ = bs.Close()
	bs.closeTaps()
}

// published wakes the client waiting for an operation's outcome.
func (bs *benchStack) published(entity, correlationID string, at time.Time) {
	if entity != "gdap-events" && entity != "bench-floor" {
		return
	}
	bs.mu.Lock()
	ch := bs.waiters[correlationID]
	delete(bs.waiters, correlationID)
	bs.mu.Unlock()
	if ch != nil {
		ch <- at
	}
}

func (bs *benchStack) expect(id string) chan time.Time {
	ch := make(chan time.Time, 1)
	bs.mu.Lock()
	bs.waiters[id] = ch
	bs.mu.Unlock()
	return ch
}

// closedLoop runs n iterations with conc clients; each iteration is
// do(k) and returns its latency.
func closedLoop(ctx context.Context, conc, n int, do func(ctx context.Context, k int) (time.Duration, error)) (phaseResult, error) {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	errs := make(chan error, conc)
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				d, err := do(ctx, k)
				if err != nil {
					errs <- err
					return
				}
				lat[k] = d
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return phaseResult{}, err
	}
	return phaseResult{Commands: n, Elapsed: elapsed, Latencies: lat}, nil
}

// benchThroughput measures each level: the service (update commands sent
// by closed-loop clients; latency = send to outcome event accepted by the
// broker) and the floor (the same wire calls made directly).
func benchThroughput(ctx context.Context, res *benchResults, scriptRoot, handler string, az *localenv.Azurite, levels []int, n int, extra map[string]string, inproc bool) error {
	bs, err := startBenchStack(ctx, scriptRoot, handler, az, false, extra)
	if err != nil {
		return err
	}
	defer bs.close()
	rels := make([]string, n)
	for i := range rels {
		id, err := bs.Graph.AddRelationship(gdap.Relationship{
			DisplayName: fmt.Sprintf("bench-%05d", i), Status: gdap.StatusActive, Duration: "P730D",
			AutoExtendDuration: gdap.AutoExtendOff, UnifiedRoles: []string{benchRole},
			Customer: gdap.Customer{TenantID: fmt.Sprintf("bbbbbbbb-0000-4000-8000-%012d", i), DisplayName: fmt.Sprintf("Customer %d", i)},
		})
		if err != nil {
			return err
		}
		rels[i] = id
	}
	// cur is each relationship's autoExtendDuration; every round sets its
	// slice the other way, so that every command and floor iteration
	// really writes.
	cur := make([]string, n)
	for i := range cur {
		cur[i] = gdap.AutoExtendOff
	}
	flip := func(lo, hi int) string {
		v := gdap.AutoExtendOn
		if cur[lo] == gdap.AutoExtendOn {
			v = gdap.AutoExtendOff
		}
		for i := lo; i < hi; i++ {
			cur[i] = v
		}
		return v
	}
	// durations are the invocation durations of a level's commands that the
	// emulator has recorded after its first before invocations.
	durations := func(tag string, before int) []time.Duration {
		var ds []time.Duration
		for _, inv := range bs.Emu.Invocations()[before:] {
			if inv.Function == "commands" && strings.HasPrefix(inv.MessageID, "bench-"+tag+"-") {
				ds = append(ds, inv.Duration)
			}
		}
		return ds
	}
	// settled waits until the emulator has recorded the invocations of the
	// level's first k commands.
	settled := func(tag string, before, k int) error {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			done := len(durations(tag, before))
			if done >= k {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("bench: %d of %d invocations of level %s settled within 2 minutes", done, k, tag)
			}
			time.Sleep(time.Millisecond) // polling granularity; not part of any measured time
		}
	}
	// service sends one update per relationship of rels[lo:hi] (ids
	// numbered from lo within the level's tag).
	service := func(conc int, tag string, lo, hi int) (phaseResult, error) {
		subset, offset := rels[lo:hi], lo
		v := flip(lo, hi)
		return closedLoop(ctx, conc, len(subset), func(ctx context.Context, k int) (time.Duration, error) {
			id := fmt.Sprintf("bench-%s-%06d", tag, offset+k)
			ch := bs.expect(id)
			t0 := time.Now()
			if err := bs.Send(ctx, id, "gdap.relationship.update", map[string]any{
				"relationshipId": subset[k], "changes": map[string]any{"autoExtendDuration": v}}); err != nil {
				return 0, err
			}
			select {
			case at := <-ch:
				return at.Sub(t0), nil
			case <-time.After(2 * time.Minute):
				return 0, fmt.Errorf("no outcome for %s within 2 minutes", id)
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		})
	}
	// Warm-up: connections, Azurite's table, the handler's first requests.
	if _, err := service(4, "warm", 0, n); err != nil {
		return err
	}
	// The floor makes the Table calls the service made for one update in
	// benchCalls, with the entity the service stored (same properties and
	// sizes).
	if len(res.Calls) == 0 || res.Calls[0].Tables == nil {
		return errors.New("bench: the calls of an update were not measured")
	}
	spec := res.Calls[0]
	template, err := ledgerEntityTemplate(ctx, bs, az, "bench-warm-000000")
	if err != nil {
		return err
	}
	res.LedgerEntityBytes = len(template)
	table, err := createFloorTable(ctx, az)
	if err != nil {
		return err
	}
	runner, err := startFloorRunner(ctx, extra)
	if err != nil {
		return err
	}
	defer func() { _ = runner.close() }()
	base := floorSpec{
		GraphURL: bs.SimURL, BrokerURL: bs.broker.URL, TablesConnection: az.ConnectionString(), Table: table,
		Template: template, Inserts: spec.Tables["insert"], Updates: spec.Tables["update"], Reads: spec.Tables["read"], Sends: spec.Broker,
		// The service marks the outcome published after sending it
		// (engine.publishOutcome); its client does not wait for that write.
		Trailing: min(1, spec.Tables["update"]),
	}
	floorRound := func(conc int, prefix string, lo, hi int) floorSpec {
		f := base
		f.Concurrency, f.Relationships, f.Value, f.Prefix = conc, rels[lo:hi], flip(lo, hi), prefix
		return f
	}
	// The in-process floor writes to a table of its own, so that each
	// floor's table grows as the ledger does.
	inprocTable := ""
	if inproc {
		if inprocTable, err = createFloorTable(ctx, az); err != nil {
			return err
		}
	}
	inprocRound := func(conc int, prefix string, lo, hi int) floorSpec {
		f := floorRound(conc, "inproc-"+prefix, lo, hi)
		f.Table = inprocTable
		return f
	}
	res.FloorSpec = fmt.Sprintf("one long-lived worker process of its own, with the handler's runtime settings and its connections open before each round, makes, in the service's order, Table insert %d (no echo, as the ledger asks), Graph GET 1 + PATCH 1, Table replace %d and read %d, broker sends %d, then Table replace %d that the next iteration does not wait for (the service's outcome-published mark); the entity is the service's own ledger record, %d bytes of JSON, through the handler's Table transport",
		base.Inserts, base.Updates-base.Trailing, base.Reads, base.Sends, base.Trailing, len(template))
	if _, _, err := runner.round(floorRound(4, "floor-warm", 0, n), func() {}); err != nil {
		return err
	}
	// The in-process floor keeps its connections across rounds too.
	inprocTransport := upstream.NewTransport()
	defer inprocTransport.CloseIdleConnections()
	if inproc {
		f, err := newFloorClient(inprocRound(4, "floor-warm", 0, n), inprocTransport)
		if err != nil {
			return err
		}
		if err := f.warm(ctx); err != nil {
			return err
		}
		if _, err := f.run(ctx); err != nil {
			return err
		}
	}
	cpu := cpuSampler{handlerExe: handler, azuritePort: az.Port()}
	// Each level alternates service and floor rounds over successive slices
	// of the relationships, so that both see the same drift of the shared
	// machine and of Azurite (whose CPU per call varies between adjacent
	// runs of identical calls).
	for _, c := range levels {
		lr := levelResult{Concurrency: c}
		before := len(bs.Emu.Invocations())
		tag := fmt.Sprintf("c%d", c)
		var svcCPU, floorCPU, inprocCPU cpuSample
		for r := range res.Rounds {
			lo, hi := r*n/res.Rounds, (r+1)*n/res.Rounds
			s0 := cpu.sample()
			p, err := service(c, tag, lo, hi)
			if err != nil {
				return err
			}
			// The round's time ends at its last outcome event; its CPU
			// window also takes in the outcome-published marks that
			// follow, as the floor's takes in its trailing writes.
			if err := settled(tag, before, hi); err != nil {
				return err
			}
			svcCPU = svcCPU.plus(s0, cpu.sample())
			lr.Service = lr.Service.merge(p)
			var s2 cpuSample
			fp, worker, err := runner.round(floorRound(c, fmt.Sprintf("floor-%s-r%d", tag, r), lo, hi), func() { s2 = cpu.sample() })
			if err != nil {
				return err
			}
			end := cpu.sample()
			end.handler = s2.handler + worker // the worker's, not the idle handler's
			floorCPU = floorCPU.plus(s2, end)
			lr.Floor = lr.Floor.merge(fp)
			if f := fp.throughput(); f > 0 {
				lr.RoundRatios = append(lr.RoundRatios, p.throughput()/f)
			}
			if inproc {
				// The previous floor, for comparison: the same client in
				// the bench process.
				f, err := newFloorClient(inprocRound(c, fmt.Sprintf("floor-%s-r%d", tag, r), lo, hi), inprocTransport)
				if err != nil {
					return err
				}
				if err := f.warm(ctx); err != nil {
					return err
				}
				s4 := cpu.sample()
				p, err := f.run(ctx)
				if err != nil {
					return err
				}
				end := cpu.sample()
				end.handler = s4.handler // no client process
				inprocCPU = inprocCPU.plus(s4, end)
				lr.InProcFloor = lr.InProcFloor.merge(p)
			}
		}
		lr.ServiceCPU = cpuSample{}.per(svcCPU, n)
		lr.FloorCPU = cpuSample{}.per(floorCPU, n)
		lr.InProcFloorCPU = cpuSample{}.per(inprocCPU, n)
		durs := durations(tag, before)
		lr.HandlerP50, lr.HandlerP99 = percentile(durs, 0.5), percentile(durs, 0.99)
		lr.Load = loadAverage()
		res.Levels = append(res.Levels, lr)
		fmt.Printf("  concurrency %2d: service %6.1f cmd/s (p50 %s, p99 %s), floor %6.1f/s, ratio %.2f%s; CPU/cmd service %v floor %v (load %s)\n",
			c, lr.Service.throughput(), ms(percentile(lr.Service.Latencies, 0.5)), ms(percentile(lr.Service.Latencies, 0.99)),
			lr.Floor.throughput(), lr.Service.throughput()/lr.Floor.throughput(), lr.ratioSpread(), lr.ServiceCPU, lr.FloorCPU, lr.Load)
		if inproc {
			fmt.Printf("                  floor in the bench process %6.1f/s, ratio %.2f; CPU/cmd %v\n",
				lr.InProcFloor.throughput(), lr.Service.throughput()/lr.InProcFloor.throughput(), lr.InProcFloorCPU)
		}
	}
	if err := runner.close(); err != nil {
		return err
	}
	if err := bs.Drain(ctx); err != nil {
		return err
	}
	outs, err := bs.Outcomes()
	if err != nil {
		return err
	}
	for id, o := range outs {
		if len(o) != 1 || !o[0].Succeeded() || o[0].Result.AlreadyDone {
			return fmt.Errorf("bench: operation %s did not succeed with a write: %+v", id, o)
		}
	}
	return nil
}

// callsResult is what one command type costs in calls.
type callsResult struct {
	Name          string
	Outcome       string
	Graph         int
	GraphDetail   string
	PartnerCenter int
	Table         int
	TableDetail   string
	Broker        int
	BrokerDetail  string
	Tables        map[string]int
	// Brokers counts the broker sends by entity (queue or topic name).
	Brokers     map[string]int
	Invocations int
	// Durations are the invocations' durations as the host emulator
	// recorded them, in order.
	Durations []time.Duration
	// MinGraph and MinTable are what a correct level-based design needs
	// for the same upstream waits (see docs/performance.md).
	MinGraph, MinTable int
}

// benchCalls runs one command of each type alone on a stack with taps on
// Table Storage and the broker and counts the calls it costs. It returns the
// handler's environment (for the cold-start measurement).
func benchCalls(ctx context.Context, res *benchResults, root, handler string, az *localenv.Azurite, extra map[string]string) (map[string]string, error) {
	bs, err := startBenchStack(ctx, root, handler, az, true, extra)
	if err != nil {
		return nil, err
	}
	defer bs.close()
	add := func(status string, roles []string) (string, error) {
		return bs.Graph.AddRelationship(gdap.Relationship{
			DisplayName: "calls-" + strconv.Itoa(int(time.Now().UnixNano()%1e9)), Status: status, Duration: "P730D",
			AutoExtendDuration: gdap.AutoExtendOff, UnifiedRoles: roles,
			Customer: gdap.Customer{TenantID: "cccccccc-0000-4000-8000-000000000001", DisplayName: "Calls"},
		})
	}
	ga := []string{benchRole, gdap.GlobalAdminRoleID}
	// sent keeps the bodies sent so far, for the duplicate scenario.
	sent := map[string][]byte{}
	type scenario struct {
		name     string
		setup    func() (id string, typ string, data any, err error)
		resend   string // "" or an earlier scenario's operation id to deliver again
		minGraph func(polls int) int
	}
	scenarios := []scenario{
		{name: "update (PATCH 200)", setup: func() (string, string, any, error) {
			rel, err := add(gdap.StatusActive, []string{benchRole})
			return "calls-update-200", "gdap.relationship.update", map[string]any{"relationshipId": rel, "changes": map[string]any{"autoExtendDuration": gdap.AutoExtendOn}}, err
		}, minGraph: func(int) int { return 2 }},
		{name: "update (PATCH 202, GA removal)", setup: func() (string, string, any, error) {
			rel, err := add(gdap.StatusActive, ga)
			return "calls-update-202", "gdap.relationship.update", map[string]any{"relationshipId": rel, "changes": map[string]any{
				"accessDetails": map[string]any{"unifiedRoles": []any{map[string]any{"roleDefinitionId": benchRole}}}}}, err
		}, minGraph: func(p int) int { return 3 + p }}, // GET, PATCH, polls, GET for result.relationship
		{name: "request lockForApproval", setup: func() (string, string, any, error) {
			rel, err := add(gdap.StatusCreated, []string{benchRole})
			return "calls-lock", "gdap.relationship.request", map[string]any{"relationshipId": rel, "action": "lockForApproval"}, err
		}, minGraph: func(p int) int { return 3 + p }}, // GET, POST, polls, GET for result.relationship
		{name: "removeGlobalAdmin + enableAutoExtend", setup: func() (string, string, any, error) {
			rel, err := add(gdap.StatusActive, ga)
			return "calls-removega", "gdap.relationship.removeGlobalAdmin", map[string]any{"relationshipId": rel, "enableAutoExtend": true}, err
		}, minGraph: func(p int) int { return 4 + p }}, // GET, PATCH 202, polls, GET (fresh ETag), PATCH 200
		{name: "removeDap", setup: func() (string, string, any, error) {
			tenant := "dddddddd-0000-4000-8000-000000000001"
			bs.PC.AddCustomer(tenant, "DAP customer", true)
			return "calls-removedap", "gdap.customer.removeDap", map[string]any{"customerTenantId": tenant}, nil
		}, minGraph: func(int) int { return 4 }}, // PC GET (decide), PATCH, GET (the flag shows only on a GET: the confirmation), + the App+User token once per token lifetime
		{name: "create + lockForApproval", setup: func() (string, string, any, error) {
			return "calls-create", "gdap.relationship.create", map[string]any{"displayName": "calls-create", "duration": "P730D",
				"accessDetails": map[string]any{"unifiedRoles": []any{map[string]any{"roleDefinitionId": benchRole}}}}, nil
		}, minGraph: func(p int) int { return 4 + p }}, // GET by name, POST, POST lock, polls, GET for result.relationship
		{name: "accessAssignments.set (2 new groups)", setup: func() (string, string, any, error) {
			rel, err := add(gdap.StatusActive, []string{benchRole})
			group := func(n int) map[string]any {
				return map[string]any{"securityGroupId": fmt.Sprintf("eeeeeeee-0000-4000-8000-%012d", n),
					"roles": []any{map[string]any{"roleDefinitionId": benchRole}}}
			}
			return "calls-assignments", "gdap.relationship.accessAssignments.set", map[string]any{"relationshipId": rel,
				"assignments": []any{group(1), group(2)}}, err
		}, minGraph: func(p int) int { return 3 + p }}, // GET, POST ×2, lists (the first and each poll)
		{name: "duplicate delivery (update, finished)", resend: "calls-update-200", minGraph: func(int) int { return 0 }},
	}
	for _, sc := range scenarios {
		graphBefore, pcBefore, invBefore := len(bs.Graph.Journal()), len(bs.PC.Journal()), len(bs.Emu.Invocations())
		bs.tables.snapshot()
		bs.broker.snapshot()
		var id string
		if sc.resend != "" {
			id = sc.resend
			body, ok := sent[id]
			if !ok {
				return nil, fmt.Errorf("bench: no body sent for %s", id)
			}
			if err := bs.SendBody(ctx, id+".again", body); err != nil {
				return nil, err
			}
		} else {
			var typ string
			var data any
			if id, typ, data, err = sc.setup(); err != nil {
				return nil, err
			}
			body, err := devstack.NewCommand(id, typ, data)
			if err != nil {
				return nil, err
			}
			sent[id] = body
			if err := bs.SendBody(ctx, id, body); err != nil {
				return nil, err
			}
		}
		dctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := bs.Drain(dctx)
		cancel()
		if err != nil {
			return nil, err
		}
		cr := callsResult{Name: sc.name}
		outs, err := bs.Outcomes()
		if err != nil {
			return nil, err
		}
		if o := outs[id]; len(o) == 1 {
			cr.Outcome = "succeeded"
			if !o[0].Succeeded() {
				cr.Outcome = string(o[0].Error.Code)
			}
		} else {
			cr.Outcome = fmt.Sprintf("%d outcomes", len(o))
		}
		graphByKind := map[string]int{}
		polls := 0
		for _, e := range bs.Graph.Journal()[graphBefore:] {
			if !strings.HasPrefix(e.Path, "/beta/") {
				continue
			}
			cr.Graph++
			k := e.Method + " " + shortRoute(e.Route)
			graphByKind[k]++
			if e.Method == http.MethodGet && (e.Route == graphsim.RouteOperation || e.Route == graphsim.RouteRequest || e.Route == graphsim.RouteAssignments) {
				polls++
			}
		}
		cr.GraphDetail = countList(graphByKind)
		pcByKind := map[string]int{}
		for _, e := range bs.PC.Journal()[pcBefore:] {
			cr.PartnerCenter++
			pcByKind[e.Method+" "+pcRoute(e.Path)]++
		}
		if cr.PartnerCenter > 0 {
			cr.GraphDetail = strings.TrimSpace(cr.GraphDetail + " PC: " + countList(pcByKind))
		}
		tables := bs.tables.snapshot()
		for _, v := range tables {
			cr.Table += v
		}
		cr.TableDetail = countList(tables)
		cr.Tables = tables
		brokers := bs.broker.snapshot()
		for _, v := range brokers {
			cr.Broker += v
		}
		cr.BrokerDetail = countList(brokers)
		cr.Brokers = brokers
		continuations := 0
		for _, inv := range bs.Emu.Invocations()[invBefore:] {
			cr.Invocations++
			cr.Durations = append(cr.Durations, inv.Duration)
			if inv.Function == "continuations" {
				continuations++
			}
		}
		cr.MinGraph = sc.minGraph(polls)
		// Level-based minimum in Table calls: record the operation (insert)
		// and its outcome (one replace); each wait needs the state written
		// once and read back once by the continuation. A duplicate needs
		// the insert attempt and one read.
		cr.MinTable = 2 + 2*continuations
		if sc.resend != "" {
			cr.MinTable = 2
		}
		res.Calls = append(res.Calls, cr)
		fmt.Printf("  %-40s %s: Graph %d, Table %d, broker %d, invocations %d\n", sc.name, cr.Outcome, cr.Graph+cr.PartnerCenter, cr.Table, cr.Broker, cr.Invocations)
	}
	env := map[string]string{}
	for k, v := range bs.Env {
		env[k] = v
	}
	env["GDAP_BROKER_URL"] = bs.broker.URL
	env["GDAP_TABLES_CONNECTION_STRING"] = az.ConnectionString()
	return env, nil
}

func shortRoute(route string) string {
	r := strings.TrimPrefix(route, "/tenantRelationships/delegatedAdminRelationships")
	switch r {
	case "/{id}":
		return "rel"
	case "/{id}/requests":
		return "requests"
	case "/{id}/requests/{requestId}":
		return "request"
	case "/{id}/operations":
		return "operations"
	case "/{id}/operations/{operationId}":
		return "operation"
	}
	return r
}

// pcRoute is a Partner Center path with its ids replaced by "{id}".
func pcRoute(p string) string {
	return idRE.ReplaceAllString(p, "{id}")
}

// benchColdStart starts the stripped handler binary with the stack's
// settings and measures the time from exec to the first 200 on GET /.
func benchColdStart(ctx context.Context, res *benchResults, binary string, env map[string]string, runs int) error {
	for range runs {
		port, err := localenv.FreePort()
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, binary)
		cmd.Dir = filepath.Dir(binary)
		cmd.Env = os.Environ()
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Env = append(cmd.Env, "FUNCTIONS_CUSTOMHANDLER_PORT="+strconv.Itoa(port))
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		url := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + "/"
		client := &http.Client{Timeout: time.Second}
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			return err
		}
		var took time.Duration
		for time.Since(t0) < 30*time.Second {
			resp, err := client.Get(url)
			if err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					took = time.Since(t0)
					break
				}
			}
			time.Sleep(time.Millisecond) // polling granularity of the measurement
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if took == 0 {
			return errors.New("bench: the handler did not answer GET / within 30 s")
		}
		res.ColdStart = append(res.ColdStart, took)
	}
	return nil
}

// goBenchResult is one `go test -bench` run's output.
type goBenchResult struct {
	Title   string
	Command string
	Lines   []string
	Err     string
	Load    string
}

func runGoBench(ctx context.Context, root, title, pkg, name string, extra ...string) goBenchResult {
	args := append([]string{"test", "-run", "^$", "-bench", "^" + name + "$"}, extra...)
	args = append(args, pkg)
	r := goBenchResult{Title: title, Command: "go " + strings.Join(args, " ")}
	fmt.Printf("  %s\n", r.Command)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "Benchmark") || strings.HasPrefix(t, "--- FAIL") {
			r.Lines = append(r.Lines, strings.Join(strings.Fields(t), " "))
		}
	}
	if err != nil {
		r.Err = err.Error()
		if strings.Contains(string(out), "no test files") || (len(r.Lines) == 0 && strings.Contains(string(out), "testing: warning: no tests to run")) {
			r.Err = "benchmark not found"
		}
	}
	if len(r.Lines) == 0 && r.Err == "" {
		r.Err = "benchmark " + name + " not found in " + pkg
	}
	r.Load = loadAverage()
	return r
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
}

func mib(n int64) string {
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}

// render writes the Markdown recorded in docs/performance.md.
func (r *benchResults) render(w io.Writer) {
	cmd := "make bench-doc"
	if args := withoutDocFlag(r.Args); len(args) > 0 {
		cmd = "go run ./cmd/devenv bench " + strings.Join(args, " ")
	}
	fmt.Fprintf(w, "Generated by `%s` on %s, %s, in %s. Load average at start %s, at end %s.\n\n",
		cmd, r.Started.UTC().Format("2006-01-02 15:04 MST"), machine(), r.Elapsed.Round(time.Second), r.LoadStart, r.LoadEnd)

	renderBursts(w, r.Bursts)
	fmt.Fprintln(w, "### End to end: gdap.relationship.update (PATCH 200) vs the floor")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Floor per iteration: %s. Each level alternates %d service and %d floor rounds over equal slices of its commands; the ratio is followed by the lowest and highest of its rounds' ratios (each service round over the floor round after it).", r.FloorSpec, r.Rounds, r.Rounds)
	if r.InProcFloor {
		fmt.Fprint(w, " Each floor round is followed by the same round made by the same client inside the bench process (\"in-process floor\"), on a table of its own.")
	}
	fmt.Fprintf(w, " The bench process ran with GOMAXPROCS %d.", r.BenchProcs)
	if r.HandlerEnv != "" {
		fmt.Fprintf(w, " Handler and floor worker run with extra settings `%s`.", r.HandlerEnv)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	inproc := func(l levelResult) (string, string) {
		if !r.InProcFloor || l.InProcFloor.throughput() == 0 {
			return "", ""
		}
		return fmt.Sprintf(" %.1f |", l.InProcFloor.throughput()), fmt.Sprintf(" %.2f |", l.Service.throughput()/l.InProcFloor.throughput())
	}
	head, rule := "", ""
	if r.InProcFloor {
		head, rule = " in-process floor ops/s | service/in-process floor |", "---:|---:|"
	}
	fmt.Fprintln(w, "| clients | commands | service cmd/s | p50 | p99 | handler p50 | handler p99 | floor ops/s | floor p50 | floor p99 | service/floor |"+head+" load avg |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"+rule+"---|")
	for _, l := range r.Levels {
		ratio := 0.0
		if f := l.Floor.throughput(); f > 0 {
			ratio = l.Service.throughput() / f
		}
		ops, iratio := inproc(l)
		fmt.Fprintf(w, "| %d | %d | %.1f | %s | %s | %s | %s | %.1f | %s | %s | %.2f%s |%s%s %s |\n",
			l.Concurrency, l.Service.Commands, l.Service.throughput(),
			ms(percentile(l.Service.Latencies, 0.5)), ms(percentile(l.Service.Latencies, 0.99)),
			ms(l.HandlerP50), ms(l.HandlerP99),
			l.Floor.throughput(), ms(percentile(l.Floor.Latencies, 0.5)), ms(percentile(l.Floor.Latencies, 0.99)), ratio, l.ratioSpread(), ops, iratio, l.Load)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "CPU time per command (user+system, from /proc and getrusage; \"bench process\" = host emulator, simulators, taps and the service's clients; \"floor client\" = the floor's worker process):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| clients | service: handler | service: Azurite | service: bench process | service total | floor: client | floor: Azurite | floor: bench process | floor total |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, l := range r.Levels {
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", l.Concurrency,
			ms(l.ServiceCPU.Handler), ms(l.ServiceCPU.Azurite), ms(l.ServiceCPU.Bench), ms(l.ServiceCPU.total()),
			ms(l.FloorCPU.Handler), ms(l.FloorCPU.Azurite), ms(l.FloorCPU.Bench), ms(l.FloorCPU.total()))
	}
	fmt.Fprintln(w)
	if r.InProcFloor {
		fmt.Fprint(w, "In-process floor, CPU per iteration (Azurite / bench process, its client included):")
		for i, l := range r.Levels {
			sep := ","
			if i == len(r.Levels)-1 {
				sep = "."
			}
			fmt.Fprintf(w, " %d clients %s / %s%s", l.Concurrency, ms(l.InProcFloorCPU.Azurite), ms(l.InProcFloorCPU.Bench), sep)
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w)
	}

	fmt.Fprintln(w, "### Calls per command type (one command alone, measured)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| command | outcome | Graph/PC calls (min) | detail | Table calls (min) | detail | broker sends | invocations |")
	fmt.Fprintln(w, "|---|---|---:|---|---:|---|---|---:|")
	for _, c := range r.Calls {
		fmt.Fprintf(w, "| %s | %s | %d (%d) | %s | %d (%d) | %s | %d: %s | %d |\n",
			c.Name, c.Outcome, c.Graph+c.PartnerCenter, c.MinGraph, c.GraphDetail, c.Table, c.MinTable, c.TableDetail,
			c.Broker, c.BrokerDetail, c.Invocations)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "### Cold start and binary size")
	fmt.Fprintln(w)
	all := make([]string, 0, len(r.ColdStart))
	for _, d := range r.ColdStart {
		all = append(all, ms(d))
	}
	fmt.Fprintf(w, "| figure | value |\n|---|---|\n")
	fmt.Fprintf(w, "| process start → first 200 on `GET /` (median of %d) | %s (all: %s) |\n", len(r.ColdStart), ms(percentile(r.ColdStart, 0.5)), strings.Join(all, ", "))
	fmt.Fprintf(w, "| handler binary, stripped as packaged (`-trimpath -ldflags=\"-s -w\"`) | %s (%d bytes) |\n", mib(r.SizeStripped), r.SizeStripped)
	fmt.Fprintf(w, "| handler binary, `go build` (unstripped) | %s (%d bytes) |\n", mib(r.SizeUnstripped), r.SizeUnstripped)
	fmt.Fprintln(w)

	if r.Reaper.Command != "" {
		renderReaper(w, r.Reaper)
	}
	renderSweep(w, r.GoBench)
	if len(r.GoBench) > 0 {
		fmt.Fprintln(w, "### Go benchmarks")
		fmt.Fprintln(w)
		for _, g := range r.GoBench {
			fmt.Fprintf(w, "%s — `%s` (load average after: %s)\n\n", g.Title, g.Command, g.Load)
			fmt.Fprintln(w, "```text")
			for _, l := range g.Lines {
				fmt.Fprintln(w, l)
			}
			if g.Err != "" {
				fmt.Fprintf(w, "(%s)\n", g.Err)
			}
			fmt.Fprintln(w, "```")
			fmt.Fprintln(w)
		}
	}
	if r.Cost != nil {
		renderCost(w, r, *r.Cost)
	}
}

// tap is a loopback HTTP forwarder placed in front of a local service
// (Azurite, the emulator's broker) so that the benchmark can count the
// requests the handler process makes and see when an outcome event is
// published. It adds one loopback hop; the floor client goes through the
// same taps, so service and floor pay the same.
type tap struct {
	URL    string
	target atomic.Pointer[string]
	client *http.Client
	srv    *http.Server

	mu     sync.Mutex
	counts map[string]int
	// classify names a request for counts ("" = not counted).
	classify func(r *http.Request) string
	// onPublished is called after a 2xx answer to a broker send with the
	// message's entity and correlation id.
	onPublished func(entity, correlationID string, at time.Time)
}

func startTap(target string) (*tap, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &tap{
		URL:    "http://" + ln.Addr().String(),
		counts: map[string]int{},
		client: &http.Client{Transport: &http.Transport{
			MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute,
		}},
	}
	t.target.Store(&target)
	t.srv = &http.Server{Handler: t, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = t.srv.Serve(ln) }()
	return t, nil
}

func (t *tap) setTarget(target string) { t.target.Store(&target) }

func (t *tap) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = t.srv.Shutdown(ctx)
	t.client.CloseIdleConnections()
}

// snapshot returns the counts and resets them.
func (t *tap) snapshot() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.counts
	t.counts = map[string]int{}
	return out
}

var hopHeaders = map[string]bool{ //nolint:gochecknoglobals // immutable table
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Transfer-Encoding": true,
	"Upgrade": true, "Te": true, "Trailer": true,
}

func (t *tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if t.classify != nil {
		if k := t.classify(r); k != "" {
			t.mu.Lock()
			t.counts[k]++
			t.mu.Unlock()
		}
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, *t.target.Load()+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for k, vs := range r.Header {
		if !hopHeaders[k] {
			out.Header[k] = vs
		}
	}
	out.ContentLength = int64(len(body))
	resp, err := t.client.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if t.onPublished != nil && resp.StatusCode/100 == 2 && r.Method == http.MethodPost {
		entity := brokerEntity(r)
		var m struct {
			CorrelationID string `json:"correlationId"`
		}
		if json.Unmarshal(body, &m) == nil {
			t.onPublished(entity, m.CorrelationID, time.Now())
		}
	}
	for k, vs := range resp.Header {
		if !hopHeaders[k] {
			w.Header()[k] = vs
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(rb)
}

// classifyTable names a Table Storage request by what it does to the
// service: entity read, insert, update (replace/merge) or delete, and table
// operations.
func classifyTable(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.Contains(p, "/Tables"):
		return "table " + r.Method
	case strings.Contains(p, "(PartitionKey="):
		switch r.Method {
		case http.MethodGet:
			return "read"
		case http.MethodPut, "MERGE", http.MethodPatch:
			return "update"
		case http.MethodDelete:
			return "delete"
		}
	case r.Method == http.MethodPost:
		return "insert"
	case r.Method == http.MethodGet:
		return "query"
	}
	return r.Method + " other"
}

// classifyBroker names a broker send by entity.
func classifyBroker(r *http.Request) string {
	if r.Method != http.MethodPost {
		return ""
	}
	return brokerEntity(r)
}

// brokerEntity is the entity of a local-broker send (POST /{entity}/messages).
func brokerEntity(r *http.Request) string {
	entity, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return entity
}

// withoutDocFlag drops -doc and its value from args: where the figures are
// recorded is not part of how they were measured.
func withoutDocFlag(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := strings.TrimPrefix(args[i], "-")
		switch {
		case a == "doc" || a == "-doc":
			i++ // its value
		case strings.HasPrefix(a, "doc=") || strings.HasPrefix(a, "-doc="):
		default:
			out = append(out, args[i])
		}
	}
	return out
}
