package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/devstack"
	"github.com/gdapflow/gdapflow/internal/graphsim"
	"github.com/gdapflow/gdapflow/internal/hostemu"
	"github.com/gdapflow/gdapflow/internal/testenv"
)

// Command types the demo sends.
const (
	typeUpdate    = "gdap.relationship.update"
	typeRequest   = "gdap.relationship.request"
	typeRemoveGA  = "gdap.relationship.removeGlobalAdmin"
	typeRemoveDAP = "gdap.customer.removeDap"
	typeSweepRun  = "gdap.sweep.run"
)

// drainTimeout bounds one Drain in real time.
const drainTimeout = 3 * time.Minute

// demoConfig configures one run of the demo script.
type demoConfig struct {
	// Out receives the timeline.
	Out io.Writer
	// HandlerPath is the built handler binary.
	HandlerPath string
	// RepoRoot holds host.json and functions/ ("" = testenv.RepoRoot()).
	RepoRoot string
	// Azurite is a running Azurite; nil makes the stack start its own.
	Azurite *testenv.Azurite
	// HandlerOutput receives the handler's logs (kept out of the timeline).
	HandlerOutput io.Writer
	// SweepCount is how many relationships step 9 seeds.
	SweepCount int
	// BurstSize is how many updates step 7 sends at once.
	BurstSize int
}

// demoReport is what a run of the script measured.
type demoReport struct {
	Passed   int
	Failures []string
	// SweepPending is set when gdap.sweep.run is not wired into the handler
	// yet (it failed with unsupported_command).
	SweepPending string
	Commands     int
	Outcomes     int
	DeadLetters  int
	GraphCalls   int
	Virtual      time.Duration
	Real         time.Duration
}

// runDemo is `devenv demo`: it builds the handler, runs the script against a
// fresh local stack with its own Azurite, and prints the timeline.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sweepCount := fs.Int("sweep", 300, "relationships seeded for the sweep step")
	burst := fs.Int("burst", 10, "updates sent at once in the throttling step")
	handler := fs.String("handler", "", "use this handler binary instead of building one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("demo: unexpected arguments %q", fs.Args())
	}
	if *sweepCount < 1 || *burst < 1 {
		return errors.New("demo: -sweep and -burst must be positive")
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "gdapflow-demo-")
	if err != nil {
		return err
	}
	handlerPath := *handler
	if handlerPath == "" {
		fmt.Fprintln(stdout, "gdapflow demo: building the handler …")
		bctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		handlerPath, err = devstack.BuildHandler(bctx, root, dir)
		cancel()
		if err != nil {
			return err
		}
		defer os.Remove(handlerPath)
	}
	logPath := filepath.Join(dir, "handler.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "gdapflow demo: starting Azurite, the simulators, the host emulator and the handler …")
	_, err = playDemo(ctx, demoConfig{
		Out: stdout, HandlerPath: handlerPath, RepoRoot: root,
		HandlerOutput: logFile, SweepCount: *sweepCount, BurstSize: *burst,
	})
	if cerr := logFile.Close(); err == nil && cerr != nil {
		err = cerr
	}
	fmt.Fprintf(stdout, "\nhandler log: %s\n", logPath)
	if err != nil {
		fmt.Fprintf(stdout, "\nlast lines of the handler log:\n")
		printTail(stdout, logPath, 50)
	}
	return err
}

// printTail prints the last n lines of a file.
func printTail(w io.Writer, path string, n int) {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(w, err)
		return
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

// demo is one run of the script.
type demo struct {
	cfg       demoConfig
	st        *devstack.Stack
	origin    time.Time
	realStart time.Time
	report    demoReport
	// sent are the Service Bus MessageIds the demo itself sent.
	sent map[string]bool
	// first is step 1's command, re-sent by step 4.
	first struct {
		id   string
		data map[string]any
	}
}

// demoStep is one scripted step.
type demoStep struct {
	title string
	run   func(ctx context.Context, s *stepRun) error
}

// playDemo starts a stack, runs the script with its timeline, prints the
// summary and shuts the stack down. It fails if any expectation fails.
func playDemo(ctx context.Context, cfg demoConfig) (*demoReport, error) {
	if cfg.SweepCount <= 0 {
		cfg.SweepCount = 300
	}
	if cfg.BurstSize <= 0 {
		cfg.BurstSize = 10
	}
	d := &demo{cfg: cfg, realStart: time.Now(), sent: map[string]bool{}}
	st, err := devstack.Start(ctx, devstack.Options{
		RepoRoot:      cfg.RepoRoot,
		HandlerPath:   cfg.HandlerPath,
		Azurite:       cfg.Azurite,
		HandlerOutput: cfg.HandlerOutput,
		Env:           map[string]string{"GDAP_AUTO_EXTEND_POLICY": "enable"},
		// Keep every Graph request: the timeline slices the journal by step.
		Graph: graphsim.Options{JournalLimit: 1 << 20},
	})
	if err != nil {
		return &d.report, err
	}
	d.st = st
	d.origin = st.Clock.Now()
	runErr := d.play(ctx)
	if cerr := st.Close(); runErr == nil && cerr != nil {
		runErr = fmt.Errorf("stop the stack: %w", cerr)
	}
	if runErr != nil {
		return &d.report, runErr
	}
	if n := len(d.report.Failures); n > 0 {
		return &d.report, fmt.Errorf("demo: %d of %d expectations failed:\n  %s", n, n+d.report.Passed, strings.Join(d.report.Failures, "\n  "))
	}
	return &d.report, nil
}

func (d *demo) play(ctx context.Context) error {
	w := d.cfg.Out
	fmt.Fprintf(w, "\nTIMELINE  (virtual time since %s; → sent, ← published, ⏱ continuation, ⏩ clock jump)\n",
		d.origin.Format(time.RFC3339))
	for i, step := range d.script() {
		if err := d.runStep(ctx, i+1, step); err != nil {
			return fmt.Errorf("step %d (%s): %w", i+1, step.title, err)
		}
	}
	return d.summary()
}

// stepRun is the running step: what it sent, where its window of the
// journals starts, and its expectations.
type stepRun struct {
	d     *demo
	tl    *timeline
	from  window
	lines []string // expectation results, printed after the timeline
}

// window is where a step starts in each append-only record.
type window struct{ graph, pc, events, invs int }

func (d *demo) mark() window {
	return window{
		graph:  len(d.st.Graph.Journal()),
		pc:     len(d.st.PC.Journal()),
		events: len(d.st.Emu.Published(d.st.Env["GDAP_EVENTS_TOPIC"])),
		invs:   len(d.st.Emu.Invocations()),
	}
}

func (d *demo) runStep(ctx context.Context, n int, step demoStep) error {
	// Each step starts on a fresh virtual second, so its lines stand apart.
	now := d.st.Clock.Now()
	if next := now.Truncate(time.Second).Add(time.Second); next.After(now) {
		d.st.Clock.Advance(next.Sub(now))
	}
	s := &stepRun{d: d, tl: &timeline{origin: d.origin}, from: d.mark()}
	header := fmt.Sprintf("── %d. %s ", n, step.title)
	fmt.Fprintf(d.cfg.Out, "\n%s%s\n", header, strings.Repeat("─", max(3, 100-len([]rune(header)))))
	err := step.run(ctx, s)
	if cerr := s.collect(); err == nil {
		err = cerr
	}
	s.tl.render(d.cfg.Out)
	for _, l := range s.lines {
		fmt.Fprintln(d.cfg.Out, l)
	}
	return err
}

// collect adds the step's window of every record to its timeline.
func (s *stepRun) collect() error {
	st := s.d.st
	for _, j := range st.Graph.Journal()[s.from.graph:] {
		s.tl.add(graphEntry(j))
	}
	for _, j := range st.PC.Journal()[s.from.pc:] {
		s.tl.add(pcEntry(j))
	}
	invs := st.Emu.Invocations()
	for _, inv := range invs[s.from.invs:] {
		switch {
		case inv.Function == "commands" && !s.d.sent[inv.MessageID] && inv.DeliveryCount == 1:
			s.tl.add(entry{at: inv.Time, rank: rankSent, marker: "→", who: "command",
				text: inv.MessageID + "  (issued by gdapflow)", sig: "issued"})
		case inv.Function == "expiry-sweep":
			s.tl.add(entry{at: inv.Time, rank: rankSent, marker: "⏰", who: "timer", text: "expiry-sweep fired"})
		}
		if inv.Err != nil || inv.StatusCode != 200 {
			s.tl.add(entry{at: inv.Time, rank: rankHost, marker: "✗", who: "host",
				text: fmt.Sprintf("invocation %s %s → %s (%s)", inv.Function, shortID(inv.MessageID), statusText(inv.StatusCode), inv.Settlement)})
		}
	}
	for _, c := range continuationWaits(invs, s.from.invs) {
		if c.ScheduledAt.IsZero() {
			// Not an operation's continuation (a sweep page): show its delivery.
			s.tl.add(entry{at: invAt(invs, c.MessageID), rank: rankSent, marker: "↻", who: "cont", text: shortID(c.MessageID) + " delivered", sig: "sweepcont"})
			continue
		}
		s.tl.add(entry{at: c.ScheduledAt, rank: rankHost, marker: "⏱", who: "cont",
			text: fmt.Sprintf("continuation scheduled +%s  (%s, due %s)", shortDuration(c.Wait), c.MessageID, offset(c.ScheduledAt.Add(c.Wait).Sub(s.d.origin))),
			sig:  "wait " + c.Wait.String()})
	}
	evs, err := decodePublished(st.Emu.Published(st.Env["GDAP_EVENTS_TOPIC"])[s.from.events:])
	if err != nil {
		return err
	}
	for _, e := range evs {
		s.tl.add(eventEntry(e))
	}
	return nil
}

// invAt returns the virtual time of the first invocation of a message.
func invAt(invs []hostemu.Invocation, messageID string) time.Time {
	for _, inv := range invs {
		if inv.MessageID == messageID {
			return inv.Time
		}
	}
	return time.Time{}
}

// note adds a line to the step's timeline at the current virtual time.
func (s *stepRun) note(marker, who, format string, a ...any) {
	s.tl.add(entry{at: s.d.st.Clock.Now(), rank: rankSent, marker: marker, who: who, text: fmt.Sprintf(format, a...)})
}

// advance jumps the virtual clock.
func (s *stepRun) advance(d time.Duration, why string) {
	s.d.st.Clock.Advance(d)
	s.note("⏩", "clock", "+%s  %s", shortDuration(d), why)
}

// send sends a command CloudEvent with its id as the MessageId.
func (s *stepRun) send(ctx context.Context, id, typ string, data any) error {
	body, err := devstack.NewCommand(id, typ, data)
	if err != nil {
		return err
	}
	_, err = s.sendBody(ctx, id, id, typ, body)
	return err
}

// sendBody sends a raw body to the commands queue as another system would
// and reports whether the broker accepted it (duplicate detection drops a
// MessageId seen in the last 10 minutes).
func (s *stepRun) sendBody(ctx context.Context, messageID, label, typ string, body []byte) (bool, error) {
	st := s.d.st
	accepted, err := st.Emu.Send(ctx, st.Env["GDAP_COMMANDS_QUEUE"], bus.Message{
		MessageID:   messageID,
		ContentType: "application/cloudevents+json; charset=utf-8",
		Body:        body,
	})
	if err != nil {
		return false, err
	}
	s.d.sent[messageID] = true
	s.d.report.Commands++
	s.tl.add(entry{at: st.Clock.Now(), rank: rankSent, marker: "→", who: "command", text: fmt.Sprintf("%s  %s", label, typ), sig: "cmd " + typ})
	if !accepted {
		s.note("⊘", "broker", "dropped by duplicate detection (MessageId %s seen within the last 10 minutes)", messageID)
	}
	return accepted, nil
}

func (s *stepRun) drain(ctx context.Context) error {
	c, cancel := context.WithTimeout(ctx, drainTimeout)
	defer cancel()
	return s.d.st.Drain(c)
}

// expect records an expectation's result.
func (s *stepRun) expect(ok bool, format string, a ...any) bool {
	msg := fmt.Sprintf(format, a...)
	if ok {
		s.d.report.Passed++
		s.lines = append(s.lines, "               ✓ "+msg)
	} else {
		s.d.report.Failures = append(s.d.report.Failures, msg)
		s.lines = append(s.lines, "               ✗ "+msg)
	}
	return ok
}

// outcome returns the outcomes of an operation.
func (s *stepRun) outcomes(id string) ([]devstack.Outcome, error) {
	all, err := s.d.st.Outcomes()
	if err != nil {
		return nil, err
	}
	return all[id], nil
}

// expectOutcome checks that id has exactly one outcome: succeeded when code
// is "", else failed with code.
func (s *stepRun) expectOutcome(id, code string) (devstack.Outcome, error) {
	outs, err := s.outcomes(id)
	if err != nil {
		return devstack.Outcome{}, err
	}
	want := "succeeded"
	if code != "" {
		want = "failed " + code
	}
	if len(outs) != 1 {
		s.expect(false, "%s → %s (got %d outcome events, want exactly 1)", id, want, len(outs))
		if len(outs) == 0 {
			return devstack.Outcome{}, nil
		}
	}
	o := outs[0]
	got := "succeeded"
	if !o.Succeeded() {
		got = "failed " + o.Error.Code
	}
	if got == want {
		s.expect(true, "%s → %s", id, want)
	} else {
		s.expect(false, "%s → want %s, got %s (%s)", id, want, got, o.Error.Message)
	}
	return o, nil
}

// expectRejected checks that exactly one gdap.command.rejected with code was
// published in this step for operationID.
func (s *stepRun) expectRejected(operationID, code string) error {
	evs, err := decodePublished(s.d.st.Emu.Published(s.d.st.Env["GDAP_EVENTS_TOPIC"])[s.from.events:])
	if err != nil {
		return err
	}
	var codes []string
	for _, e := range evs {
		var d eventData
		if e.Type != "gdap.command.rejected" || e.Decode(&d) != nil || d.OperationID != operationID {
			continue
		}
		codes = append(codes, d.Error.Code)
	}
	s.expect(len(codes) == 1 && codes[0] == code, "%s → gdap.command.rejected %s (got %v)", shortID(operationID), code, codes)
	return nil
}

// graphCalls returns this step's Graph requests so far.
func (s *stepRun) graphCalls() []graphsim.JournalEntry {
	return s.d.st.Graph.Journal()[s.from.graph:]
}

// stepEvents returns this step's events so far.
func (s *stepRun) stepEvents() ([]publishedEvent, error) {
	return decodePublished(s.d.st.Emu.Published(s.d.st.Env["GDAP_EVENTS_TOPIC"])[s.from.events:])
}

// summary prints the totals of the whole run.
func (d *demo) summary() error {
	st := d.st
	w := d.cfg.Out
	evs, err := decodePublished(st.Emu.Published(st.Env["GDAP_EVENTS_TOPIC"]))
	if err != nil {
		return err
	}
	byType := map[string]int{}
	byCode := map[string]map[string]int{}
	for _, e := range evs {
		byType[e.Type]++
		var data eventData
		if e.Decode(&data) == nil && data.Error.Code != "" {
			if byCode[e.Type] == nil {
				byCode[e.Type] = map[string]int{}
			}
			byCode[e.Type][data.Error.Code]++
		}
	}
	journal := st.Graph.Journal()
	byMethod := map[string]int{}
	byStatus := map[string]int{}
	for _, j := range journal {
		byMethod[j.Method]++
		byStatus[statusText(j.Status)]++
	}
	pcj := st.PC.Journal()
	invs := st.Emu.Invocations()
	byFn := map[string]int{}
	issued, failedInv := 0, 0
	for _, inv := range invs {
		byFn[inv.Function]++
		if inv.Function == "commands" && !d.sent[inv.MessageID] && inv.DeliveryCount == 1 {
			issued++
		}
		if inv.Err != nil || inv.StatusCode != 200 {
			failedInv++
		}
	}
	dead := len(st.Emu.DeadLetters(st.Env["GDAP_COMMANDS_QUEUE"])) + len(st.Emu.DeadLetters(st.Env["GDAP_CONTINUATIONS_QUEUE"]))
	d.report.DeadLetters = dead
	if dead == 0 {
		d.report.Passed++
	} else {
		d.report.Failures = append(d.report.Failures, fmt.Sprintf("dead letters: %d, want 0", dead))
	}
	d.report.GraphCalls = len(journal)
	d.report.Outcomes = byType["gdap.operation.succeeded"] + byType["gdap.operation.failed"]
	d.report.Virtual = st.Clock.Now().Sub(d.origin)
	d.report.Real = time.Since(d.realStart)

	fmt.Fprintf(w, "\n── SUMMARY %s\n", strings.Repeat("─", 89))
	row := func(k, v string) { fmt.Fprintf(w, "  %-24s %s\n", k, v) }
	row("commands sent", fmt.Sprintf("%d  (+%d issued by gdapflow itself)", d.report.Commands, issued))
	for _, t := range devstack.SortedKeys(byType) {
		v := fmt.Sprintf("%d", byType[t])
		if c := byCode[t]; len(c) > 0 {
			v += "  (" + countList(c) + ")"
		}
		row(t, v)
	}
	row("Graph calls", fmt.Sprintf("%d  (%s; status %s)", len(journal), countList(byMethod), countList(byStatus)))
	row("Partner Center calls", fmt.Sprintf("%d  (incl. token endpoint)", len(pcj)))
	row("invocations", fmt.Sprintf("%d  (%s; non-2xx %d)", len(invs), countList(byFn), failedInv))
	row("continuations delivered", fmt.Sprintf("%d", byFn["continuations"]))
	row("dead letters", fmt.Sprintf("%d", dead))
	exp := fmt.Sprintf("%d passed, %d failed", d.report.Passed, len(d.report.Failures))
	if d.report.SweepPending != "" {
		exp += "  (sweep step pending: " + d.report.SweepPending + ")"
	}
	row("expectations", exp)
	row("time", fmt.Sprintf("virtual %s, real %s", offset(d.report.Virtual), d.report.Real.Round(time.Millisecond)))
	return nil
}

// countList renders a count map as "a 3, b 1" in key order.
func countList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
