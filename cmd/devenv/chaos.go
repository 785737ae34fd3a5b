package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gdapflow/gdapflow/internal/dev/chaos"
	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
)

// Markers around the generated part of docs/reliability.md.
const (
	chaosDocBegin = "<!-- chaos:begin -->"
	chaosDocEnd   = "<!-- chaos:end -->"
)

// runChaos is `devenv chaos` (`make chaos`): the full-size fault-injection run
// (internal/dev/chaos). It prints the counts and invariant results, with -doc
// (make chaos-doc) records them in that document (between the chaos markers),
// and fails when an invariant is violated.
func runChaos(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	commands := fs.Int("commands", 5000, "distinct operations to send")
	kills := fs.Int("kills", 6, "handler process kills")
	waves := fs.Int("waves", 0, "waves (0 = one per kill)")
	seed := fs.Uint64("seed", 1, "seed of the command mix, duplicates and fault schedule")
	outages := fs.Int("broker-outages", 0, "broker outages per wave (503 on every send for -outage-length); off by default")
	tableOutages := fs.Int("table-outages", 0, "Table Storage outages per wave (503 on every call for -outage-length); off by default")
	outageLength := fs.Duration("outage-length", 300*time.Millisecond, "real duration of one broker or Table Storage outage")
	tableHangs := fs.Int("table-hangs", 0, "Table Storage hangs per wave (every call held for -hang-length, then executed); off by default")
	hangLength := fs.Duration("hang-length", 10*time.Second, "real duration of one Table Storage hang")
	lostResponses := fs.Int("lost-responses", 60, "Table Storage write responses lost per wave (write executed, then the connection reset or held past the client's limit), spread over insert, claim, wait, finish, publish and sweep writes; 0 = off")
	dropContinuations := fs.Int("drop-continuations", 5, "continuation sends silently discarded per wave; only the reaper recovers them (-reaper-ticks)")
	reaperTicks := fs.Int("reaper-ticks", 2, "reaper ticks run through the timer function after each wave has drained")
	graphRate := fs.Float64("graph-rate", 0, "limit Graph to this many requests/s (the simulator's token bucket); 0 = no limit")
	sweepRuns := fs.Int("sweep-runs", 2, "gdap.sweep.run commands per wave, the last at the end of the wave; 0 = off")
	sweepTimer := fs.Bool("sweep-timer", true, "fire the expiry-sweep timer after each wave has drained")
	expiring := fs.Int("expiring", 20, "relationships seeded inside the expiry warning window; the sweep's auto-extend policy (enable) issues one command for each")
	handler := fs.String("handler", "", "handler binary (default: build it)")
	doc := fs.String("doc", "", "document to update between the chaos markers, e.g. docs/reliability.md (make chaos-doc); \"\" = none")
	logPath := fs.String("log", "", "file for the handler's logs (default: a temporary file)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := localenv.RepoRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "gdapflow-chaos-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if *handler == "" {
		fmt.Println("chaos: building the handler")
		if *handler, err = devstack.BuildHandler(ctx, root, dir); err != nil {
			return err
		}
	}
	if *logPath == "" {
		*logPath = filepath.Join(os.TempDir(), fmt.Sprintf("gdapflow-chaos-%d.log", os.Getpid()))
	}
	logFile, err := os.Create(*logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	loadStart := loadAverage()
	fmt.Printf("chaos: %d operations, %d kills, seed %d; handler logs in %s (load average %s)\n",
		*commands, *kills, *seed, *logPath, loadStart)

	rep, err := chaos.Run(ctx, chaos.Config{
		HandlerPath:   *handler,
		RepoRoot:      root,
		Commands:      *commands,
		Kills:         *kills,
		Waves:         *waves,
		Seed:          *seed,
		BrokerOutages: *outages,
		TableOutages:  *tableOutages,
		OutageLength:  *outageLength,
		TableHangs:    *tableHangs,
		HangLength:    *hangLength,

		LostResponses:     *lostResponses,
		DropContinuations: *dropContinuations,
		ReaperTicks:       *reaperTicks,
		GraphRate:         *graphRate,

		SweepRuns:             *sweepRuns,
		SweepTimer:            *sweepTimer,
		ExpiringRelationships: *expiring,

		Progress:      os.Stdout,
		HandlerOutput: logFile,
	})
	if err != nil {
		if rep != nil {
			rep.Print(os.Stdout)
		}
		return err
	}
	var out bytes.Buffer
	rep.Print(&out)
	fmt.Print(out.String())
	if *doc != "" {
		section := chaosSection(rep, out.String(), args, loadStart)
		if err := replaceMarked(filepath.Join(root, *doc), chaosDocBegin, chaosDocEnd, section); err != nil {
			return err
		}
		fmt.Printf("chaos: recorded in %s\n", *doc)
	}
	if v := rep.Violations(); len(v) > 0 {
		return fmt.Errorf("chaos: %d invariant violations", len(v))
	}
	return nil
}

// chaosSection is the generated Markdown recorded in docs/reliability.md.
func chaosSection(rep *chaos.Report, printed string, args []string, loadStart string) string {
	var b strings.Builder
	cmd := "make chaos-doc"
	if args := withoutDocFlag(args); len(args) > 0 {
		cmd = "go run ./cmd/devenv chaos " + strings.Join(args, " ")
	}
	fmt.Fprintf(&b, "Last run: `%s`, %s, %s, load average (1/5/15 min) before the run %s, after %s; %s.\n\n",
		cmd, time.Now().UTC().Format("2006-01-02 15:04 MST"), machine(), loadStart, loadAverage(), rep.Elapsed.Round(time.Second))
	b.WriteString("| invariant | result | checked |\n|---|---|---|\n")
	for _, inv := range rep.Invariants {
		res := "holds"
		if !inv.Holds() {
			res = fmt.Sprintf("**violated** (%d)", len(inv.Violations))
		}
		fmt.Fprintf(&b, "| %s | %s | %d |\n", inv.Name, res, inv.Checked)
	}
	b.WriteString("\nThe run's printed counts:\n\n```text\n")
	b.WriteString(printed)
	b.WriteString("```\n")
	return b.String()
}

// replaceMarked replaces what lies between the begin and end markers in the
// file at path with content, keeping everything else; a file without the
// markers gets them appended.
func replaceMarked(path, begin, end, content string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	s := string(old)
	block := begin + "\n" + content + end
	i, j := strings.Index(s, begin), strings.Index(s, end)
	switch {
	case i >= 0 && j > i:
		s = s[:i] + block + s[j+len(end):]
	case i >= 0 || j >= 0:
		return fmt.Errorf("%s: unbalanced markers %s / %s", path, begin, end)
	default:
		if s != "" && !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		s += "\n" + block + "\n"
	}
	return os.WriteFile(path, []byte(s), 0o644)
}

// loadAverage is /proc/loadavg's first three fields ("n/a" elsewhere).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

// machine describes the CPU the figures come from.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d× %s", runtime.NumCPU(), model)
}
