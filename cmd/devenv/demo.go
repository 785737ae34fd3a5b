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
	"strings"
	"time"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/dev/hostemu"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

// Command types the demo sends.
const (
	typeUpdate    = command.TypeRelationshipUpdate
	typeRequest   = command.TypeRelationshipRequest
	typeRemoveGA  = command.TypeRemoveGlobalAdmin
	typeRemoveDAP = command.TypeRemoveDAP
	typeSweepRun  = command.TypeSweepRun
)

// drainTimeout bounds one Drain in real time.
const drainTimeout = 3 * time.Minute

// demoConfig configures one run of the demo script.
type demoConfig struct {
	// Out receives the timeline.
	Out io.Writer
	// HandlerPath is the built handler binary.
	HandlerPath string
	// RepoRoot holds host.json and functions/ ("" = localenv.RepoRoot()).
	RepoRoot string
	// Azurite is a running Azurite; nil makes the stack start its own.
	Azurite *localenv.Azurite
	// HandlerOutput receives the handler's logs (kept out of the timeline).
	HandlerOutput io.Writer
	// SweepCount is how many relationships step 9 seeds.
	SweepCount int
	// BurstSize is how many updates step 7 sends at once.
	BurstSize int
	// ReportDir is where the report step saves the page ("": a new
	// temporary folder, named in the timeline).
	ReportDir string
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
	root, err := localenv.RepoRoot()
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
		fmt.Fprintln(w, clip(l, 400))
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

// collect adds the step's window of every record to its timeline. Commands
// gdapflow issued itself (the sweep's policy), their Graph calls and their
// outcomes are merged into one line each.
func (s *stepRun) collect() error {
	st := s.d.st
	invs := st.Emu.Invocations()
	issued := map[string]bool{} // operation ids gdapflow sent to its own commands queue
	for _, inv := range invs[s.from.invs:] {
		if s.d.issuedCommand(inv) {
			issued[inv.MessageID] = true
			s.tl.add(entry{at: inv.Time, rank: rankSent, marker: "→", who: "command",
				text:    shortenIDs(inv.MessageID) + "  (issued by gdapflow)",
				agg:     "issued command",
				aggText: "issued by gdapflow, e.g. " + shortenIDs(inv.MessageID)})
		}
		if inv.Function == "expiry-sweep" {
			s.tl.add(entry{at: inv.Time, rank: rankSent, marker: "⏰", who: "timer", text: "expiry-sweep fired"})
		}
		if invocationFailed(inv) {
			s.tl.add(entry{at: inv.Time, rank: rankHost, marker: "✗", who: "host",
				text: fmt.Sprintf("invocation %s %s → %s (%s)", inv.Function, shortID(inv.MessageID), statusText(inv.StatusCode), inv.Settlement)})
		}
	}
	evs, err := s.stepEvents()
	if err != nil {
		return err
	}
	issuedRels := map[string]bool{}
	for _, e := range evs {
		en := eventEntry(e)
		var d eventData
		if e.Decode(&d) == nil && issued[d.OperationID] {
			if d.RelationshipID != "" {
				issuedRels[d.RelationshipID] = true
			}
			en.agg = "issued outcome " + e.Type + " " + d.Error.Code
			en.aggText = fmt.Sprintf("%-22s %s(commands issued by gdapflow)", strings.TrimPrefix(e.Type, "gdap."), strings.TrimSpace(d.Error.Code+" "))
		}
		s.tl.add(en)
	}
	for _, j := range st.Graph.Journal()[s.from.graph:] {
		en := graphEntry(j)
		if issuedRels[relationshipOfPath(j.Path)] {
			version, _, _ := strings.Cut(strings.TrimPrefix(j.Path, "/"), "/")
			en.agg = "issued " + en.sig
			en.aggText = fmt.Sprintf("%-6s %-62s %s  (issued commands)", j.Method, shortPath("/"+version+j.Route, ""), statusText(j.Status))
		}
		s.tl.add(en)
	}
	for _, j := range st.PC.Journal()[s.from.pc:] {
		s.tl.add(pcEntry(j))
	}
	for _, c := range continuationWaits(invs, s.from.invs) {
		if c.ScheduledAt.IsZero() {
			// Not an operation's continuation (a sweep page): show its delivery.
			s.tl.add(entry{at: invAt(invs, c.MessageID), rank: rankSent, marker: "↻", who: "cont", text: clip(c.MessageID, 60) + " delivered", sig: "sweepcont"})
			continue
		}
		s.tl.add(entry{at: c.ScheduledAt, rank: rankHost, marker: "⏱", who: "cont",
			text: fmt.Sprintf("continuation scheduled %s  (%s, due %s)", approxWait(c.Wait), clip(c.MessageID, 60), offset(c.ScheduledAt.Add(c.Wait).Sub(s.d.origin))),
			sig:  "wait " + approxWait(c.Wait)})
	}
	return nil
}

// issuedCommand reports whether inv is the first delivery of a command
// gdapflow sent to its own commands queue (the sweep's policy), not one the
// demo sent.
func (d *demo) issuedCommand(inv hostemu.Invocation) bool {
	return inv.Function == "commands" && !d.sent[inv.MessageID] && inv.DeliveryCount == 1
}

// invocationFailed reports whether the handler did not answer an invocation
// with 200.
func invocationFailed(inv hostemu.Invocation) bool {
	return inv.Err != nil || inv.StatusCode != 200
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
	s.tl.add(entry{at: st.Clock.Now(), rank: rankSent, marker: "→", who: "command", text: label + "  " + typ, sig: "cmd " + typ,
		label: label, rest: "  " + typ})
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

// outcomes returns the outcomes of an operation.
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
		got = "failed " + string(o.Error.Code)
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
	evs, err := s.stepEvents()
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
		if d.issuedCommand(inv) {
			issued++
		}
		if invocationFailed(inv) {
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
	row := func(k, v string) { fmt.Fprintf(w, "  %-34s %s\n", k, v) }
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
	keys := devstack.SortedKeys(m)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// Entra role template ids the demo's relationships hold.
const (
	roleHelpdesk  = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	roleUserAdmin = "fe930be7-5e62-47db-91af-98c3a49a38b1"
)

// addRelationship adds a relationship to the Graph simulator and notes it.
func (s *stepRun) addRelationship(r gdap.Relationship) (string, error) {
	if r.Duration == "" {
		r.Duration = "P730D"
	}
	if r.AutoExtendDuration == "" {
		r.AutoExtendDuration = "PT0S"
	}
	if r.UnifiedRoles == nil {
		r.UnifiedRoles = []string{roleHelpdesk, roleUserAdmin}
	}
	id, err := s.d.st.Graph.AddRelationship(r)
	if err != nil {
		return "", fmt.Errorf("add relationship %q: %w", r.DisplayName, err)
	}
	var extra []string
	if gdap.HasRole(r.UnifiedRoles, gdap.GlobalAdminRoleID) {
		extra = append(extra, "Global Administrator")
	}
	if r.IsReseller {
		extra = append(extra, "reseller, partner consent pending")
	}
	more := ""
	if len(extra) > 0 {
		more = ", " + strings.Join(extra, ", ")
	}
	s.note("•", "setup", "relationship %s %q (%s%s)", shortID(id), r.DisplayName, r.Status, more)
	return id, nil
}

// expectRelationship checks the simulator's state of a relationship.
func (s *stepRun) expectRelationship(id, what string, ok func(gdap.Relationship) bool) {
	r, found := s.d.st.Graph.Relationship(id)
	s.expect(found && ok(r), "relationship %s: %s (status %s, autoExtend %s, displayName %q)",
		shortID(id), what, r.Status, r.AutoExtendDuration, r.DisplayName)
}

// script is the demo: each step sends, drains and checks.
func (d *demo) script() []demoStep {
	return []demoStep{
		{"update a created relationship (displayName + duration)", stepUpdateCreated},
		{"update an active relationship: auto-extend on; a refused change", stepUpdateActive},
		{"ETag race: the relationship changes between GET and PATCH (412), the service re-reads", stepETagRace},
		{"bad input and duplicates: not a CloudEvent, bad data, redelivery, id reuse", stepBadInput},
		{"remove Global Administrator, follow the 202 operation, then enable auto-extend", stepRemoveGA},
		{"relationship requests: lockForApproval, approve (reseller), terminate", stepRequests},
		{"throttled burst: Graph answers 429 with Retry-After", stepThrottledBurst},
		{"legacy DAP removal in Partner Center (App+User token)", stepRemoveDAP},
		{"onboarding: create with access assignments, the customer approves 10 days later, the webhook wakes the follow-up, assignments applied", stepOnboard},
		{"role change: replace a relationship, copy its assignments once approved, terminate the old one", stepReplace},
		{"offboarding: a customer with three relationships, and its DAP", stepOffboard},
		{"expiry sweep over a seeded population (GDAP_AUTO_EXTEND_POLICY=enable)", stepSweep},
		{"the operators' page after the sweep: GET /api/report, saved as HTML and a screenshot", stepReport},
	}
}

func stepUpdateCreated(ctx context.Context, s *stepRun) error {
	id, err := s.addRelationship(gdap.Relationship{DisplayName: "Contoso onboarding (draft)", Status: gdap.StatusCreated})
	if err != nil {
		return err
	}
	op := "op-1-update-created"
	data := map[string]any{"relationshipId": id, "changes": map[string]any{"displayName": "Contoso onboarding", "duration": "P365D"}}
	s.d.first.id, s.d.first.data = op, data
	if err := s.send(ctx, op, typeUpdate, data); err != nil {
		return err
	}
	if err := s.drain(ctx); err != nil {
		return err
	}
	if _, err := s.expectOutcome(op, ""); err != nil {
		return err
	}
	s.expectRelationship(id, "renamed, duration P365D", func(r gdap.Relationship) bool {
		return r.DisplayName == "Contoso onboarding" && r.Duration == "P365D"
	})
	return nil
}

func stepUpdateActive(ctx context.Context, s *stepRun) error {
	id, err := s.addRelationship(gdap.Relationship{DisplayName: "Fabrikam helpdesk", Status: gdap.StatusActive,
		Customer: gdap.Customer{TenantID: "6b0f5a3e-1c2d-4e5f-8a9b-0c1d2e3f4a51", DisplayName: "Fabrikam"}})
	if err != nil {
		return err
	}
	if err := s.send(ctx, "op-2a-auto-extend", typeUpdate, map[string]any{
		"relationshipId": id, "changes": map[string]any{"autoExtendDuration": "P180D"}}); err != nil {
		return err
	}
	if err := s.drain(ctx); err != nil {
		return err
	}
	if err := s.send(ctx, "op-2b-rename-active", typeUpdate, map[string]any{
		"relationshipId": id, "changes": map[string]any{"displayName": "Fabrikam helpdesk (renamed)"}}); err != nil {
		return err
	}
	if err := s.drain(ctx); err != nil {
		return err
	}
	if _, err := s.expectOutcome("op-2a-auto-extend", ""); err != nil {
		return err
	}
	if _, err := s.expectOutcome("op-2b-rename-active", "invalid_state"); err != nil {
		return err
	}
	s.expectRelationship(id, "auto-extends, name unchanged", func(r gdap.Relationship) bool {
		return r.AutoExtendEnabled() && r.DisplayName == "Fabrikam helpdesk"
	})
	return nil
}

func stepETagRace(ctx context.Context, s *stepRun) error {
	id, err := s.addRelationship(gdap.Relationship{DisplayName: "Northwind security", Status: gdap.StatusActive,
		Customer: gdap.Customer{TenantID: "2d7c9e41-5b3a-4f60-9c8d-7e6f5a4b3c21", DisplayName: "Northwind"}})
	if err != nil {
		return err
	}
	if err := s.d.st.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteRelationship, Method: "GET", Kind: graphsim.FaultETagRace, Times: 1}); err != nil {
		return err
	}
	s.note("•", "setup", "fault: after the next GET of a relationship its ETag changes (another writer)")
	op := "op-3-etag-race"
	if err := s.send(ctx, op, typeUpdate, map[string]any{
		"relationshipId": id, "changes": map[string]any{"autoExtendDuration": "P180D"}}); err != nil {
		return err
	}
	if err := s.drain(ctx); err != nil {
		return err
	}
	s.d.st.Graph.ClearFaults()
	o, err := s.expectOutcome(op, "")
	if err != nil {
		return err
	}
	var patches []int
	for _, j := range s.graphCalls() {
		if j.Method == "PATCH" && j.Route == graphsim.RouteRelationship {
			patches = append(patches, j.Status)
		}
	}
	s.expect(len(patches) == 2 && patches[0] == 412 && patches[1] < 300,
		"first PATCH 412, second PATCH (after a re-read) succeeds: PATCH statuses %v", patches)
	s.expect(!o.Result.AlreadyDone, "the outcome reports the write (alreadyDone=false)")
	return nil
}

func stepBadInput(ctx context.Context, s *stepRun) error {
	// a. A body that is not a CloudEvent.
	notCE := "msg-4a-not-a-cloudevent"
	if _, err := s.sendBody(ctx, notCE, notCE, "(plain text: \"please extend Contoso\")", []byte("please extend Contoso")); err != nil {
		return err
	}
	if err := s.drain(ctx); err != nil {
		return err
	}
	if err := s.expectRejected(notCE, "invalid_command"); err != nil {
		return err
	}
	// b. A CloudEvent whose data is invalid.
	if err := s.send(ctx, "op-4b-bad-guid", typeUpdate, map[string]any{
		"relationshipId": "not-a-guid", "changes": map[string]any{"autoExtendDuration": "P180D"}}); err != nil {
		return err
	}
	if err := s.drain(ctx); err != nil {
		return err
	}
	if _, err := s.expectOutcome("op-4b-bad-guid", "invalid_command"); err != nil {
		return err
	}
	// c. Step 1's command again, byte for byte.
	first := s.d.first
	body, err := devstack.NewCommand(first.id, typeUpdate, first.data)
	if err != nil {
		return err
	}
	accepted, err := s.sendBody(ctx, first.id, first.id+" (again)", typeUpdate, body)
	if err != nil {
		return err
	}
	s.expect(!accepted, "an immediate resend with the same MessageId is dropped by the broker")
	s.advance(15*time.Minute, "past the broker's 10-minute duplicate detection: the handler sees the next copy")
	before := len(s.graphCalls())
	eventsBefore := len(s.d.st.Emu.Published(s.d.st.Env["GDAP_EVENTS_TOPIC"]))
	if _, err := s.sendBody(ctx, first.id, first.id+" (again)", typeUpdate, body); err != nil {
		return err
	}
	if err := s.drain(ctx); err != nil {
		return err
	}
	delivered := false
	for _, inv := range s.d.st.Emu.Invocations()[s.from.invs:] {
		if inv.Function == "commands" && inv.MessageID == first.id && inv.StatusCode == 200 {
			delivered = true
			s.tl.add(entry{at: inv.Time.Add(inv.Duration), rank: rankHost, marker: "•", who: "host",
				text: fmt.Sprintf("handler answered 200 after %s: Graph requests %d, events %d", inv.Duration.Round(time.Millisecond),
					len(s.graphCalls())-before, len(s.d.st.Emu.Published(s.d.st.Env["GDAP_EVENTS_TOPIC"]))-eventsBefore)})
		}
	}
	s.expect(delivered, "the duplicate reached the handler (commands invocation answered 200)")
	s.expect(len(s.graphCalls()) == before, "…and caused no Graph request (%d)", len(s.graphCalls())-before)
	if _, err := s.expectOutcome(first.id, ""); err != nil { // still exactly one outcome
		return err
	}
	// d. The same id with different content.
	s.advance(15*time.Minute, "again past duplicate detection")
	changed := map[string]any{"relationshipId": first.data["relationshipId"], "changes": map[string]any{"displayName": "Contoso onboarding v2"}}
	body, err = devstack.NewCommand(first.id, typeUpdate, changed)
	if err != nil {
		return err
	}
	if _, err := s.sendBody(ctx, first.id, first.id+" (different content)", typeUpdate, body); err != nil {
		return err
	}
	if err := s.drain(ctx); err != nil {
		return err
	}
	if err := s.expectRejected(first.id, "conflict"); err != nil {
		return err
	}
	outs, err := s.outcomes(first.id)
	if err != nil {
		return err
	}
	s.expect(len(outs) == 1, "%s still has exactly one outcome (%d)", first.id, len(outs))
	return nil
}

func stepRemoveGA(ctx context.Context, s *stepRun) error {
	id, err := s.addRelationship(gdap.Relationship{DisplayName: "Tailspin full admin", Status: gdap.StatusActive,
		UnifiedRoles: []string{gdap.GlobalAdminRoleID, roleHelpdesk},
		Customer:     gdap.Customer{TenantID: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c61", DisplayName: "Tailspin"}})
	if err != nil {
		return err
	}
	op := "op-5-remove-ga"
	if err := s.send(ctx, op, typeRemoveGA, map[string]any{"relationshipId": id, "enableAutoExtend": true}); err != nil {
		return err
	}
	if err := s.drain(ctx); err != nil {
		return err
	}
	if _, err := s.expectOutcome(op, ""); err != nil {
		return err
	}
	conts := 0
	for _, inv := range s.d.st.Emu.Invocations()[s.from.invs:] {
		if inv.Function == "continuations" {
			conts++
		}
	}
	s.expect(conts > 0, "the 202 operation was followed by continuations (%d)", conts)
	s.expectRelationship(id, "no Global Administrator, auto-extend on", func(r gdap.Relationship) bool {
		return !r.HasGlobalAdmin() && r.AutoExtendEnabled()
	})
	return nil
}

func stepRequests(ctx context.Context, s *stepRun) error {
	created, err := s.addRelationship(gdap.Relationship{DisplayName: "Litware new customer", Status: gdap.StatusCreated})
	if err != nil {
		return err
	}
	reseller, err := s.addRelationship(gdap.Relationship{DisplayName: "Adatum via reseller", Status: gdap.StatusApprovalPending,
		IsReseller: true, IsPartnerConsentPending: true,
		Customer: gdap.Customer{TenantID: "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e61", DisplayName: "Adatum"}})
	if err != nil {
		return err
	}
	active, err := s.addRelationship(gdap.Relationship{DisplayName: "Woodgrove (offboarding)", Status: gdap.StatusActive,
		Customer: gdap.Customer{TenantID: "7e8f9a0b-1c2d-4e3f-9a4b-5c6d7e8f9a01", DisplayName: "Woodgrove"}})
	if err != nil {
		return err
	}
	for _, c := range []struct{ op, rel, action string }{
		{"op-6a-lock", created, "lockForApproval"},
		{"op-6b-approve", reseller, "approve"},
		{"op-6c-terminate", active, "terminate"},
	} {
		if err := s.send(ctx, c.op, typeRequest, map[string]any{"relationshipId": c.rel, "action": c.action}); err != nil {
			return err
		}
		if err := s.drain(ctx); err != nil {
			return err
		}
		if _, err := s.expectOutcome(c.op, ""); err != nil {
			return err
		}
	}
	s.expectRelationship(created, "locked for approval", func(r gdap.Relationship) bool { return r.Status == gdap.StatusApprovalPending })
	s.expectRelationship(reseller, "approved by the partner", func(r gdap.Relationship) bool {
		return !r.IsPartnerConsentPending && r.Status != gdap.StatusApprovalPending
	})
	s.expectRelationship(active, "terminated", func(r gdap.Relationship) bool { return r.Status == gdap.StatusTerminated })
	return nil
}

// burstRetryAfter is the Retry-After (seconds) of the throttling step.
const burstRetryAfter = 7

func stepThrottledBurst(ctx context.Context, s *stepRun) error {
	n := s.d.cfg.BurstSize
	ids := make([]string, n)
	for i := range n {
		id, err := s.d.st.Graph.AddRelationship(gdap.Relationship{DisplayName: fmt.Sprintf("Proseware branch %02d (draft)", i+1),
			Status: gdap.StatusCreated, Duration: "P730D", AutoExtendDuration: "PT0S", UnifiedRoles: []string{roleHelpdesk}})
		if err != nil {
			return err
		}
		ids[i] = id
	}
	s.note("•", "setup", "%d created relationships \"Proseware branch NN (draft)\"", n)
	const throttled = 5
	if err := s.d.st.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteRelationship, Method: "GET", Kind: graphsim.FaultThrottle,
		Times: throttled, RetryAfter: burstRetryAfter}); err != nil {
		return err
	}
	s.note("•", "setup", "fault: the next %d GETs of a relationship answer 429 Retry-After: %d", throttled, burstRetryAfter)
	for i, id := range ids {
		op := fmt.Sprintf("op-7-burst-%02d", i+1)
		if err := s.send(ctx, op, typeUpdate, map[string]any{
			"relationshipId": id, "changes": map[string]any{"displayName": fmt.Sprintf("Proseware branch %02d", i+1)}}); err != nil {
			return err
		}
	}
	if err := s.drain(ctx); err != nil {
		return err
	}
	s.d.st.Graph.ClearFaults()
	ok := 0
	all, err := s.d.st.Outcomes()
	if err != nil {
		return err
	}
	for i := range n {
		outs := all[fmt.Sprintf("op-7-burst-%02d", i+1)]
		if len(outs) == 1 && outs[0].Succeeded() {
			ok++
		}
	}
	s.expect(ok == n, "all %d updates succeeded exactly once (%d)", n, ok)
	// Every throttled operation waited Retry-After: its continuation came
	// at least that long after the start of the invocation that got the
	// 429 (the handler's "now" starts there and only grows). The gap
	// between the 429 and the next request for the relationship, as the
	// simulator saw them, is shown too; it can be a few milliseconds
	// shorter, because the handler's clock follows the emulator's from the
	// moment each request reaches it.
	calls := s.graphCalls()
	got429 := 0
	shortest := time.Duration(-1)
	var first429 time.Time
	for i, j := range calls {
		if j.Status != 429 {
			continue
		}
		got429++
		if first429.IsZero() {
			first429 = j.Time
		}
		rel := relationshipOfPath(j.Path)
		for _, k := range calls[i+1:] {
			if relationshipOfPath(k.Path) == rel {
				if gap := k.Time.Sub(j.Time); shortest < 0 || gap < shortest {
					shortest = gap
				}
				break
			}
		}
	}
	// After the first 429 the client paces itself: the operations not yet
	// at Graph are deferred to slots after the Retry-After (a
	// continuation each, no request), the throttled ones resume after it.
	// No request reaches Graph within the Retry-After.
	early := 0
	for _, j := range calls {
		if !first429.IsZero() && j.Time.After(first429.Add(50*time.Millisecond)) && j.Time.Before(first429.Add(burstRetryAfter*time.Second-50*time.Millisecond)) {
			early++
		}
	}
	waits := 0
	for _, c := range continuationWaits(s.d.st.Emu.Invocations(), s.from.invs) {
		if strings.HasPrefix(c.Operation, "op-7-burst-") {
			waits++
		}
	}
	s.expect(got429 == throttled, "Graph throttled %d requests (%d)", throttled, got429)
	s.expect(early == 0 && shortest >= burstRetryAfter*time.Second-50*time.Millisecond,
		"no request within Retry-After %ds of a 429 (%d early; shortest 429→retry gap %s); %d continuations (retries and paced deferrals)",
		burstRetryAfter, early, shortest.Round(time.Millisecond), waits)
	return nil
}

// relationshipOfPath returns the relationship id in a Graph path, or "".
func relationshipOfPath(p string) string {
	const marker = "/delegatedAdminRelationships/"
	i := strings.Index(p, marker)
	if i < 0 {
		return ""
	}
	rest := p[i+len(marker):]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

func stepRemoveDAP(ctx context.Context, s *stepRun) error {
	tenant := "5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e81"
	s.d.st.PC.AddCustomer(tenant, "Wingtip Toys", true)
	s.note("•", "setup", "Partner Center customer %s \"Wingtip Toys\" (AllowDelegatedAccess true)", shortID(tenant))
	op := "op-8-remove-dap"
	if err := s.send(ctx, op, typeRemoveDAP, map[string]any{"customerTenantId": tenant}); err != nil {
		return err
	}
	if err := s.drain(ctx); err != nil {
		return err
	}
	if _, err := s.expectOutcome(op, ""); err != nil {
		return err
	}
	c, found := s.d.st.PC.Customer(tenant)
	s.expect(found && !c.AllowDelegatedAccess, "Partner Center: AllowDelegatedAccess is false")
	tokens := 0
	for _, j := range s.d.st.PC.Journal()[s.from.pc:] {
		if strings.HasSuffix(j.Path, "/oauth2/v2.0/token") && j.Status == 200 {
			tokens++
		}
	}
	s.expect(tokens >= 1, "App+User token from the token endpoint (%d grants)", tokens)
	return nil
}

func stepSweep(ctx context.Context, s *stepRun) error {
	sum := s.d.st.Graph.Seed(graphsim.SeedOptions{Count: s.d.cfg.SweepCount, Seed: 42})
	s.note("•", "setup", "seeded %d relationships (%d customers, Global Administrator %d, resellers %d)",
		sum.Count, sum.Customers, sum.WithGA, sum.Resellers)
	s.note("•", "setup", "  by status: %s", countList(sum.ByStatus))
	op := "op-9-sweep"
	if err := s.send(ctx, op, typeSweepRun, map[string]any{}); err != nil {
		return err
	}
	if err := s.drain(ctx); err != nil {
		return err
	}
	outs, err := s.outcomes(op)
	if err != nil {
		return err
	}
	if len(outs) == 1 && !outs[0].Succeeded() && outs[0].Error.Code == "unsupported_command" {
		s.d.report.SweepPending = "sweep not wired yet"
		s.lines = append(s.lines, "               … sweep not wired yet: gdap.sweep.run failed unsupported_command ("+outs[0].Error.Message+"); no sweep numbers to show")
		return nil
	}
	if _, err := s.expectOutcome(op, ""); err != nil {
		return err
	}
	evs, err := s.stepEvents()
	if err != nil {
		return err
	}
	counts := map[string]int{}
	var completed []eventData
	for _, e := range evs {
		counts[e.Type]++
		if e.Type == "gdap.sweep.completed" {
			var d eventData
			if err := e.Decode(&d); err != nil {
				return err
			}
			completed = append(completed, d)
		}
	}
	s.lines = append(s.lines, fmt.Sprintf("               sweep events: expiring %d, ended %d, approvalPending %d, completed %d",
		counts["gdap.relationship.expiring"], counts["gdap.relationship.ended"], counts["gdap.relationship.approvalPending"], counts["gdap.sweep.completed"]))
	for _, c := range completed {
		s.lines = append(s.lines,
			fmt.Sprintf("               sweep.completed: relationships %s, expiring %s, pages %s, invocations %s",
				intOr(c.Relationships), intOr(c.Expiring), intOr(c.Pages), intOr(c.Invocations)),
			"                 by status: "+countList(c.CountsByStatus))
	}
	s.expect(len(completed) == 1, "one gdap.sweep.completed (%d)", len(completed))
	// Policy actions: updates gdapflow issued itself that turned auto-extend on.
	all, err := s.d.st.Outcomes()
	if err != nil {
		return err
	}
	actions := 0
	rels := map[string]bool{}
	for id, outs := range all {
		if s.d.sent[id] {
			continue
		}
		for _, o := range outs {
			if o.CommandType == typeUpdate && o.Succeeded() && o.Result.Relationship != nil && gdap.IsAutoExtendOn(o.Result.Relationship.AutoExtendDuration) {
				actions++
				rels[o.RelationshipID] = true
			}
		}
	}
	s.lines = append(s.lines, fmt.Sprintf("               policy actions: %d gdap.relationship.update autoExtendDuration P180D succeeded", actions))
	patched := 0
	for _, j := range s.graphCalls() {
		if j.Method == "PATCH" && j.Status == 200 && rels[relationshipOfPath(j.Path)] && strings.Contains(j.Body, `"P180D"`) {
			if patched == 0 {
				s.lines = append(s.lines, fmt.Sprintf("               e.g. PATCH %s  If-Match %s  %s → %d",
					shortPath(j.Path, ""), clip(j.Headers["If-Match"], 24), clip(j.Body, 60), j.Status))
			}
			patched++
		}
	}
	s.expect(patched == actions, "each policy action is one PATCH with autoExtendDuration P180D (%d)", patched)
	s.expect(actions >= 1, "at least one auto-extend policy action succeeded (%d)", actions)
	return nil
}
