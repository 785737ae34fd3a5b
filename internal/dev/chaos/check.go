package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/dev/hostemu"
)

// Report is what a chaos run did and what the invariant checks found.
type Report struct {
	Config  Config
	Elapsed time.Duration

	// Planned counts the distinct operations by kind.
	Planned map[string]int
	// Duplicates is how many extra deliveries of an operation were sent
	// under a new MessageId; Garbage how many non-CloudEvent bodies.
	// Reuses counts sends of an operation id with different content.
	Duplicates, Garbage, Reuses int
	// Kills is how many times the handler was killed; IdleKills of them hit
	// a handler with nothing in flight (the wave had drained first).
	Kills, IdleKills int
	// BrokerOutages is how many outages were simulated; BrokerRefused how
	// many sends the broker refused during them.
	BrokerOutages, BrokerRefused int
	// TableOutages and TableRefused are the same for Table Storage.
	TableOutages, TableRefused int
	// TableHangs is how many Table Storage hangs were simulated; TableHeld
	// how many calls they held, TableHeldAbandoned how many of those the
	// handler had given up on (timed out, or killed) before they were
	// executed, and TableHeldConflicts how many were answered 409 or 412.
	TableHangs, TableHeld, TableHeldAbandoned, TableHeldConflicts int
	// LostResponsesArmed is how many lost Table Storage responses were
	// armed; LostResponses how many happened, by write kind (an armed loss
	// whose kind no write met before the wave drained is not counted).
	LostResponsesArmed int
	LostResponses      map[string]int
	// DropContinuationsArmed is how many continuation drops were armed;
	// DroppedContinuations how many continuations were discarded, and
	// DroppedOperations the operations they belonged to.
	DropContinuationsArmed, DroppedContinuations int
	DroppedOperations                            []string
	// JointDeadLettered lists, for a joint outage (Config.JointOutage), the
	// operation of every continuation dead-lettered during it.
	JointDeadLettered []string
	// Reaper sums the reaper ticks run after the waves (Config.ReaperTicks).
	Reaper ReaperCounts
	// Sweeps is what the expiry sweeps did (Config.SweepRuns,
	// Config.SweepTimer, Config.ExpiringRelationships).
	Sweeps SweepCounts
	// FaultsArmed sums Fault.Times per kind.
	FaultsArmed map[graphsim.FaultKind]int
	// GraphResponses counts the Graph responses by status (0 = reset), and
	// GraphCalls all Graph requests.
	GraphResponses map[int]int
	GraphCalls     int
	// Invocations counts the invocations by settlement ("timer" for the
	// timer, which has none).
	Invocations map[string]int
	// Outcomes counts outcome events by "succeeded" or the failure code;
	// Rejections the gdap.command.rejected events by code.
	Outcomes, Rejections map[string]int
	// Unexpected counts operations whose outcome differs from the fault-free
	// expectation (by kind → "expected→got"); informative, not an invariant:
	// retries can run out under injected faults.
	Unexpected map[string]int
	// DeadLetters per queue; LedgerRecords and their states.
	DeadLetters   map[string]int
	LedgerRecords int
	LedgerStates  map[string]int
	// Writes is the number of successful Graph writes (PATCH/POST) seen.
	Writes int

	// Invariants holds each invariant's name and its violations (none = holds).
	Invariants []Invariant
}

// Invariant is one checked property.
type Invariant struct {
	Name       string
	Checked    int
	Violations []string
}

// Holds reports whether the invariant held.
func (i Invariant) Holds() bool { return len(i.Violations) == 0 }

// Violations returns every violation of every invariant.
func (r *Report) Violations() []string {
	var out []string
	for _, inv := range r.Invariants {
		for _, v := range inv.Violations {
			out = append(out, inv.Name+": "+v)
		}
	}
	return out
}

// Names of the invariants.
const (
	InvOneOutcome    = "every command has exactly one outcome event"
	InvTerminal      = "every ledger record is terminal"
	InvNoDoubleWrite = "no Graph write executed twice"
	InvDeadLetters   = "every dead letter is explained by an outcome event"
)

func check(ctx context.Context, stack *devstack.Stack, p *plan, rep *Report) error {
	events, err := stack.Events()
	if err != nil {
		return err
	}
	rep.Outcomes, rep.Rejections, rep.Unexpected = map[string]int{}, map[string]int{}, map[string]int{}
	outcomes := map[string][]string{} // operation id → outcome labels
	rejected := map[string][]string{}
	sweepOf := map[string]string{} // gdap.sweep.run operation → its sweep
	for _, e := range events {
		var d struct {
			OperationID string `json:"operationId"`
			Error       struct {
				Code string `json:"code"`
			} `json:"error"`
			Result struct {
				SweepID string `json:"sweepId"`
			} `json:"result"`
		}
		if err := e.Decode(&d); err != nil {
			return fmt.Errorf("event %s: %w", e.ID, err)
		}
		switch e.Type {
		case "gdap.operation.succeeded":
			outcomes[d.OperationID] = append(outcomes[d.OperationID], "succeeded")
			rep.Outcomes["succeeded"]++
			if d.Result.SweepID != "" {
				sweepOf[d.OperationID] = d.Result.SweepID
			}
		case "gdap.operation.failed":
			outcomes[d.OperationID] = append(outcomes[d.OperationID], d.Error.Code)
			rep.Outcomes[d.Error.Code]++
		case "gdap.command.rejected":
			rejected[d.OperationID] = append(rejected[d.OperationID], d.Error.Code)
			rep.Rejections[d.Error.Code]++
		}
	}

	// 1. Exactly one outcome per operation; one rejection per garbage body;
	// nothing for ids never sent.
	inv := Invariant{Name: InvOneOutcome}
	for _, o := range p.ops {
		inv.Checked++
		got := outcomes[o.id]
		if len(got) != 1 {
			inv.Violations = append(inv.Violations, fmt.Sprintf("operation %s (%s): %d outcome events %v", o.id, o.kind, len(got), got))
			continue
		}
		if got[0] != o.expect {
			rep.Unexpected[o.kind+": "+o.expect+"→"+got[0]]++
		}
		conflicts := 0
		for _, code := range rejected[o.id] {
			if code == "conflict" {
				conflicts++
			}
		}
		if want := p.reused[o.id]; conflicts != want || len(rejected[o.id]) != want {
			inv.Violations = append(inv.Violations, fmt.Sprintf("operation %s (%s): rejections %v, want %d conflict (id reused %d times with other content)",
				o.id, o.kind, rejected[o.id], want, want))
		}
	}
	for _, id := range p.garbage {
		inv.Checked++
		if got := rejected[id]; len(got) != 1 || got[0] != "invalid_command" {
			inv.Violations = append(inv.Violations, fmt.Sprintf("non-CloudEvent message %s: rejections %v, want one invalid_command", id, got))
		}
	}
	for id, got := range outcomes {
		if p.byID[id] == nil {
			inv.Violations = append(inv.Violations, fmt.Sprintf("outcome %v for unknown operation %s", got, id))
		}
	}
	rep.Invariants = append(rep.Invariants, inv)

	// 2. Every ledger record terminal, and one per operation.
	inv, err = checkLedger(ctx, stack, p, rep)
	if err != nil {
		return err
	}
	rep.Invariants = append(rep.Invariants, inv)

	// 3. No write executed twice.
	rep.Invariants = append(rep.Invariants, checkWrites(stack, p, rep))

	// 3b. Every sweep completed once.
	if rep.Sweeps.Runs+rep.Sweeps.Timers > 0 {
		inv, err = checkSweeps(ctx, stack, p, rep, events, sweepOf)
		if err != nil {
			return err
		}
		rep.Invariants = append(rep.Invariants, inv)
	}

	// 4. Dead letters explained by an outcome (or rejection) event.
	inv = Invariant{Name: InvDeadLetters}
	rep.DeadLetters = map[string]int{}
	for _, q := range []string{stack.Env["GDAP_COMMANDS_QUEUE"], stack.Env["GDAP_CONTINUATIONS_QUEUE"]} {
		for _, dl := range stack.Emu.DeadLetters(q) {
			inv.Checked++
			rep.DeadLetters[q]++
			id := deadLetterOperation(dl)
			if len(outcomes[id]) == 0 && len(rejected[id]) == 0 {
				inv.Violations = append(inv.Violations, fmt.Sprintf("dead letter %s on %s (operation %q, %d deliveries, last error %v) has no outcome event",
					dl.MessageID, q, id, dl.DeliveryCount, dl.LastError))
			}
		}
	}
	rep.Invariants = append(rep.Invariants, inv)

	rep.Invocations = map[string]int{}
	for _, iv := range stack.Emu.Invocations() {
		s := iv.Settlement
		if s == "" {
			s = "timer"
		}
		rep.Invocations[s]++
	}
	return nil
}

// deadLetterOperation finds the operation a dead-lettered message is about:
// a command's CloudEvent id (the MessageId for a body that is none), a
// continuation's operationId.
func deadLetterOperation(dl hostemu.DeadLetter) string {
	var b struct {
		ID          string `json:"id"`
		OperationID string `json:"operationId"`
	}
	if json.Unmarshal(dl.Body, &b) == nil {
		if b.OperationID != "" {
			return b.OperationID
		}
		if b.ID != "" {
			return b.ID
		}
	}
	return dl.MessageID
}

func checkLedger(ctx context.Context, stack *devstack.Stack, p *plan, rep *Report) (Invariant, error) {
	inv := Invariant{Name: InvTerminal}
	svc, err := aztables.NewServiceClientFromConnectionString(stack.TablesConnectionString(), nil)
	if err != nil {
		return inv, err
	}
	table := svc.NewClient(stack.Env["GDAP_TABLE_PREFIX"] + "operations")
	sel := "PartitionKey,State"
	pager := table.NewListEntitiesPager(&aztables.ListEntitiesOptions{Select: &sel})
	rep.LedgerStates = map[string]int{}
	seen := map[string]bool{}
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return inv, fmt.Errorf("list ledger: %w", err)
		}
		for _, raw := range page.Entities {
			var e struct {
				PartitionKey string
				State        string
			}
			if err := json.Unmarshal(raw, &e); err != nil {
				return inv, err
			}
			inv.Checked++
			rep.LedgerRecords++
			rep.LedgerStates[e.State]++
			seen[e.PartitionKey] = true
			if e.State != "succeeded" && e.State != "failed" {
				inv.Violations = append(inv.Violations, fmt.Sprintf("operation %s is %s", e.PartitionKey, e.State))
			}
			if p.byID[e.PartitionKey] == nil {
				inv.Violations = append(inv.Violations, fmt.Sprintf("record for unknown operation %s", e.PartitionKey))
			}
		}
	}
	for _, o := range p.ops {
		if !seen[o.id] {
			inv.Violations = append(inv.Violations, fmt.Sprintf("operation %s (%s) has no ledger record", o.id, o.kind))
		}
	}
	return inv, nil
}

// checkWrites attributes every successful Graph write to the operation of
// its relationship and compares with what that operation intends: a PATCH
// that sets a property (displayName, autoExtendDuration, accessDetails)
// succeeds at most once per operation and property; a POST …/requests
// succeeds at most once per operation; a create operation POSTs its
// relationship at most once (and at most one relationship has its name);
// an assignments operation POSTs each of its assignments at most once. Writes answered 4xx/5xx or reset
// before being served did not execute.
func checkWrites(stack *devstack.Stack, p *plan, rep *Report) Invariant {
	inv := Invariant{Name: InvNoDoubleWrite}
	const prefix = "/beta/tenantRelationships/delegatedAdminRelationships/"
	counts := map[string]map[string]int{} // relationship → property → writes
	rep.GraphResponses = map[int]int{}
	// A create operation's relationship: exactly one of its name, found
	// in the simulator after the run.
	byRel := map[string]*op{}
	for id, o := range p.byRel {
		byRel[id] = o
	}
	byName := map[string]*op{}
	for _, o := range p.ops {
		if o.name == "" {
			continue
		}
		byName[o.name] = o
		inv.Checked++
		rels := stack.Graph.RelationshipsNamed(o.name)
		if len(rels) > 1 {
			inv.Violations = append(inv.Violations, fmt.Sprintf("operation %s (%s): %d relationships named %q, want at most one", o.id, o.kind, len(rels), o.name))
		}
		for _, r := range rels {
			byRel[r.ID] = o
		}
	}
	for _, e := range stack.Graph.Journal() {
		if !strings.HasPrefix(e.Path, "/beta/") && !strings.HasPrefix(e.Path, "/v1.0/") {
			continue
		}
		rep.GraphCalls++
		rep.GraphResponses[e.Status]++
		if e.Method == http.MethodGet || e.Status < 200 || e.Status > 299 {
			continue
		}
		if e.Method == http.MethodPost && e.Path == strings.TrimSuffix(prefix, "/") {
			var body struct {
				DisplayName string `json:"displayName"`
			}
			_ = json.Unmarshal([]byte(e.Body), &body)
			rep.Writes++
			key := "name:" + body.DisplayName
			if counts[key] == nil {
				counts[key] = map[string]int{}
			}
			counts[key]["create"]++
			continue
		}
		rest, ok := strings.CutPrefix(e.Path, prefix)
		if !ok {
			inv.Violations = append(inv.Violations, fmt.Sprintf("unexpected write %s %s", e.Method, e.Path))
			continue
		}
		relID, sub, _ := strings.Cut(rest, "/")
		if counts[relID] == nil {
			counts[relID] = map[string]int{}
		}
		rep.Writes++
		switch {
		case e.Method == http.MethodPost && sub == "requests":
			counts[relID]["request"]++
		case e.Method == http.MethodPost && sub == "accessAssignments":
			counts[relID]["assignment"]++
		case e.Method == http.MethodDelete && sub == "":
			counts[relID]["delete"]++
		case e.Method == http.MethodPatch && sub == "":
			var body map[string]json.RawMessage
			if err := json.Unmarshal([]byte(e.Body), &body); err != nil {
				inv.Violations = append(inv.Violations, fmt.Sprintf("PATCH %s with unreadable body: %v", relID, err))
				continue
			}
			for k := range body {
				if !strings.HasPrefix(k, "@") {
					counts[relID][k]++
				}
			}
		default:
			inv.Violations = append(inv.Violations, fmt.Sprintf("unexpected write %s %s", e.Method, e.Path))
		}
	}
	for _, relID := range devstack.SortedKeys(counts) {
		o := byRel[relID]
		if name, ok := strings.CutPrefix(relID, "name:"); ok {
			o = byName[name]
		}
		for _, prop := range devstack.SortedKeys(counts[relID]) {
			inv.Checked++
			n := counts[relID][prop]
			allowed := 0
			kind := "no operation"
			if o != nil {
				allowed, kind = o.maxWrites[prop], o.id+" ("+o.kind+")"
			}
			if n > allowed {
				inv.Violations = append(inv.Violations, fmt.Sprintf("relationship %s, %s: %d successful writes, %s intends at most %d", relID, prop, n, kind, allowed))
			}
		}
	}
	return inv
}

// Print writes the run's counts and invariant results as a plain table.
func (r *Report) Print(w io.Writer) {
	ops := 0
	for _, n := range r.Planned {
		ops += n
	}
	fmt.Fprintf(w, "chaos run: %d operations (+%d duplicate deliveries, %d ids reused with other content, %d non-CloudEvent bodies), %d waves, seed %d, %s\n",
		ops, r.Duplicates, r.Reuses, r.Garbage, r.Config.Waves, r.Config.Seed, r.Elapsed.Round(time.Second))
	row := func(k string, v any) { fmt.Fprintf(w, "  %-34s %v\n", k, v) }
	row("operations by kind", sortedPairs(r.Planned))
	row("handler kills (idle)", fmt.Sprintf("%d (%d)", r.Kills, r.IdleKills))
	armed := map[string]int{}
	for k, v := range r.FaultsArmed {
		armed[string(k)] = v
	}
	row("faults armed (Times)", sortedPairs(armed))
	if r.Config.BrokerOutages > 0 {
		row("broker outages (sends refused)", fmt.Sprintf("%d (%d)", r.BrokerOutages, r.BrokerRefused))
	}
	if r.Config.TableOutages > 0 {
		row("table outages (calls refused)", fmt.Sprintf("%d (%d)", r.TableOutages, r.TableRefused))
	}
	if r.Config.TableHangs > 0 {
		row("table hangs (held, given up, 409/412)", fmt.Sprintf("%d (%d, %d, %d)", r.TableHangs, r.TableHeld, r.TableHeldAbandoned, r.TableHeldConflicts))
	}
	if r.Config.LostResponses > 0 {
		n := 0
		for _, v := range r.LostResponses {
			n += v
		}
		row("table responses lost (armed) by kind", fmt.Sprintf("%d (%d) %s", n, r.LostResponsesArmed, sortedPairs(r.LostResponses)))
	}
	if r.Config.DropContinuations > 0 {
		row("continuations dropped (armed)", fmt.Sprintf("%d (%d)", r.DroppedContinuations, r.DropContinuationsArmed))
	}
	if r.Config.JointOutage {
		row("joint outage: continuations dead-lettered", len(r.JointDeadLettered))
	}
	if r.Config.ReaperTicks > 0 {
		c := r.Reaper
		row("reaper ticks (failed, unreported)", fmt.Sprintf("%d (%d, %d)", c.Ticks, c.Failed, c.Unreported))
		row("reaper recoveries", fmt.Sprintf("%d (resent=%d timed_out=%d republished=%d; scanned=%d stale=%d; most overdue %s)",
			c.Recovered(), c.Resent, c.TimedOut, c.Republished, c.Scanned, c.Stale, c.MaxOverdue))
	}
	if s := r.Sweeps; s.Runs+s.Timers > 0 {
		row("sweeps: runs, timer fires (failed)", fmt.Sprintf("%d, %d (%d)", s.Runs, s.Timers, s.TimersFailed))
		row("sweeps completed, policy commands", fmt.Sprintf("%d, %d", s.Completed, s.PolicyCommands))
		row("sweep announcements", sortedPairs(s.Announcements))
	}
	statuses := map[string]int{}
	for k, v := range r.GraphResponses {
		label := fmt.Sprint(k)
		if k == 0 {
			label = "reset"
		}
		statuses[label] = v
	}
	row("Graph calls", r.GraphCalls)
	row("Graph responses by status", sortedPairs(statuses))
	row("successful Graph writes", r.Writes)
	row("invocations by settlement", sortedPairs(r.Invocations))
	row("outcome events", sortedPairs(r.Outcomes))
	row("rejections", sortedPairs(r.Rejections))
	row("outcome ≠ fault-free expectation", sortedPairs(r.Unexpected))
	row("dead letters", sortedPairs(r.DeadLetters))
	row("ledger records by state", fmt.Sprintf("%d %s", r.LedgerRecords, sortedPairs(r.LedgerStates)))
	for _, inv := range r.Invariants {
		status := "HOLDS"
		if !inv.Holds() {
			status = fmt.Sprintf("VIOLATED (%d)", len(inv.Violations))
		}
		fmt.Fprintf(w, "  invariant: %-50s %-14s checked %d\n", inv.Name, status, inv.Checked)
		for i, v := range inv.Violations {
			if i == 10 {
				fmt.Fprintf(w, "    … %d more\n", len(inv.Violations)-10)
				break
			}
			fmt.Fprintf(w, "    - %s\n", v)
		}
	}
}

func sortedPairs[V any](m map[string]V) string {
	if len(m) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(m))
	for _, k := range devstack.SortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, m[k]))
	}
	return strings.Join(parts, " ")
}
