package sweep

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
	"github.com/gdapflow/gdapflow/internal/event"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/graphapi"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

func TestMain(m *testing.M) {
	if os.Getenv(benchSimEnv) != "" {
		os.Exit(serveBenchSim())
	}
	localenv.Main(m)
}

// setupTime is the frozen clock's time in every test bundle.
var setupTime = time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC) //nolint:gochecknoglobals // a constant time

// Entity names of the test configuration.
const (
	testContinuations = "continuations"
	testEvents        = "events"
)

// sent is one message the recording sender accepted.
type sent struct {
	entity string
	msg    bus.Message
}

// recordingSender is an in-memory broker edge: it records every send and,
// like Service Bus duplicate detection, remembers which message ids it has
// seen. failIf, when set, makes a send fail (a crash of the sender).
type recordingSender struct {
	mu     sync.Mutex
	all    []sent
	ids    map[string]bool
	queue  []sent // continuations not yet delivered, deduplicated
	failIf func(entity string, m bus.Message) bool
	// dropBulk, when set, keeps only gdap.sweep.completed events and the
	// sweep's own continuations, and counts the others (benchmarks: the
	// harness must not hold memory that grows with the population).
	dropBulk bool
	dropped  int
	// sends counts every Send that did not fail.
	sends int
}

func newRecordingSender() *recordingSender { return &recordingSender{ids: map[string]bool{}} }

var errInjected = errors.New("injected send failure")

// Send implements the sweep's sender.
func (r *recordingSender) Send(_ context.Context, entity string, m bus.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failIf != nil && r.failIf(entity, m) {
		return errInjected
	}
	r.sends++
	sweepMsg := (entity == testEvents && m.Subject == typeSweepCompleted) ||
		(entity == testContinuations && m.ApplicationProperties["kind"] == string(op.KindSweep))
	if r.dropBulk && !sweepMsg {
		r.dropped++
		return nil
	}
	r.all = append(r.all, sent{entity, m})
	key := entity + "|" + m.MessageID
	if r.ids[key] {
		return nil // duplicate detection
	}
	r.ids[key] = true
	if entity == testContinuations && m.ApplicationProperties["kind"] == string(op.KindSweep) {
		r.queue = append(r.queue, sent{entity, m})
	}
	return nil
}

func (r *recordingSender) setFail(f func(entity string, m bus.Message) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failIf = f
}

// pop removes and returns the oldest undelivered continuation.
func (r *recordingSender) pop() (bus.Message, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) == 0 {
		return bus.Message{}, false
	}
	m := r.queue[0].msg
	r.queue = r.queue[1:]
	return m, true
}

// unique returns the distinct messages sent to entity with subject ("" any),
// in first-send order.
func (r *recordingSender) unique(entity, subject string) []bus.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []bus.Message
	for _, s := range r.all {
		if s.entity != entity || (subject != "" && s.msg.Subject != subject) || seen[s.msg.MessageID] {
			continue
		}
		seen[s.msg.MessageID] = true
		out = append(out, s.msg)
	}
	return out
}

// count returns how many sends (duplicates included) went to entity.
func (r *recordingSender) count(entity string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.all {
		if s.entity == entity {
			n++
		}
	}
	return n
}

// testBundle is one sweeper against a fresh table, a simulator and a
// recording sender.
type testBundle struct {
	clock  *vclock.Virtual
	sim    *graphsim.Sim
	graph  *graphapi.Client
	sender *recordingSender
	sw     *Sweeper
	opts   Options
}

// setupOpts tunes setup.
type setupOpts struct {
	policy   config.Policy
	pageSize int
	// pagesPerCommit is Options.PagesPerCommit (default 1 here: one
	// commit per page).
	pagesPerCommit int
	maxPages       int
	protected      []string
}

func setup(t testing.TB, so setupOpts) *testBundle {
	t.Helper()
	clock := vclock.NewFrozen(setupTime)
	sim := graphsim.New(graphsim.Options{Clock: clock, JournalLimit: -1})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	graph, err := graphapi.New(graphapi.Options{BaseURL: srv.URL + "/beta",
		Credential: graphapi.NewStaticTokenCredential("test-token"), Clock: clock})
	require.NoError(t, err)

	az := localenv.SharedAzurite(t)
	table, err := az.NewTableClient(localenv.UniqueName("sweep"))
	require.NoError(t, err)

	b := &testBundle{clock: clock, sim: sim, graph: graph, sender: newRecordingSender()}
	b.opts = Options{
		Table: table, Graph: graph, Sender: b.sender, PageSize: so.pageSize,
		ContinuationsQueue: testContinuations, EventsTopic: testEvents,
		EventSource: "/gdapflow", ExpiryWarningDays: []int{30, 7, 1}, ApprovalWarningDays: 75,
		AutoExtendPolicy: so.policy, RetryMaxAttempts: 3, LeaseDuration: 10 * time.Minute,
		InvocationBudget: time.Minute, MaxPagesPerInvocation: so.maxPages, ProtectedCustomers: so.protected,
		PagesPerCommit: cmp.Or(so.pagesPerCommit, 1),
	}
	b.sw, err = New(b.opts)
	require.NoError(t, err)
	require.NoError(t, b.sw.EnsureTable(t.Context()))
	return b
}

func (b *testBundle) inv() op.Invocation {
	return op.Invocation{Clock: b.clock, Logger: slog.New(slog.DiscardHandler), Function: "test"}
}

// add seeds a relationship and returns its id.
func (b *testBundle) add(t testing.TB, r gdap.Relationship) string {
	t.Helper()
	id, err := b.sim.AddRelationship(r)
	require.NoError(t, err)
	return id
}

// sweep runs one whole sweep: Start, then every continuation fed back.
func (b *testBundle) sweep(t testing.TB, sweepID string) {
	t.Helper()
	require.NoError(t, b.start(t, sweepID))
	b.drain(t)
}

// start calls Start for sweepID.
func (b *testBundle) start(t testing.TB, sweepID string) error {
	t.Helper()
	_, err := b.sw.Start(t.Context(), b.inv(), sweepID)
	return err
}

// status returns the sweep's status.
func (b *testBundle) status(t testing.TB, sweepID string) op.SweepStatus {
	t.Helper()
	st, err := b.sw.Status(t.Context(), sweepID)
	require.NoError(t, err)
	return st
}

// drain delivers queued continuations until none is left.
func (b *testBundle) drain(t testing.TB) {
	t.Helper()
	for range 100000 {
		m, ok := b.sender.pop()
		if !ok {
			return
		}
		require.NoError(t, b.sw.Continue(t.Context(), b.inv(), payloadOf(t, m)))
	}
	t.Fatal("continuation chain does not end")
}

// payloadOf extracts Continuation.Sweep from a continuation message.
func payloadOf(t testing.TB, m bus.Message) []byte {
	t.Helper()
	var c op.Continuation
	require.NoError(t, json.Unmarshal(m.Body, &c))
	require.Equal(t, op.KindSweep, c.Kind)
	return c.Sweep
}

// eventData decodes the data of the distinct events of one type.
func (b *testBundle) eventData(t testing.TB, typ string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range b.sender.unique(testEvents, typ) {
		var ev struct {
			Data map[string]any `json:"data"`
		}
		require.NoError(t, json.Unmarshal(m.Body, &ev))
		out = append(out, ev.Data)
	}
	return out
}

// summary returns the gdap.sweep.completed data of a sweep.
func (b *testBundle) summary(t testing.TB, sweepID string) summary {
	t.Helper()
	for _, m := range b.sender.unique(testEvents, typeSweepCompleted) {
		var ev struct {
			Data event.SweepCompleted `json:"data"`
		}
		require.NoError(t, json.Unmarshal(m.Body, &ev))
		if ev.Data.SweepID == sweepID {
			d := ev.Data
			return summary{SweepID: d.SweepID, StartedAt: d.StartedAt, FinishedAt: d.FinishedAt,
				Relationships: d.Relationships, CountsByStatus: d.CountsByStatus, Expiring: d.Expiring,
				Pages: d.Pages, Invocations: d.Invocations}
		}
	}
	t.Fatalf("no gdap.sweep.completed for %s", sweepID)
	return summary{}
}

// policyMessage is a policy command as sent: the message id and the command.
type policyMessage struct {
	MessageID string
	Body      []byte
}

// policyCommands returns the distinct policy commands sent on the
// continuations queue (op.KindCommand), in first-send order, and checks
// that each was sent once.
func (b *testBundle) policyCommands(t testing.TB) []policyMessage {
	t.Helper()
	var out []policyMessage
	sends := 0
	for _, m := range b.sender.unique(testContinuations, "") {
		var c op.Continuation
		require.NoError(t, json.Unmarshal(m.Body, &c))
		if c.Kind != op.KindCommand {
			continue
		}
		require.Equal(t, c.OperationID, m.MessageID)
		out = append(out, policyMessage{MessageID: m.MessageID, Body: c.Command})
	}
	b.sender.mu.Lock()
	for _, s := range b.sender.all {
		if s.entity == testContinuations && s.msg.ApplicationProperties["kind"] == string(op.KindCommand) {
			sends++
		}
	}
	b.sender.mu.Unlock()
	require.Len(t, out, sends, "a command is issued once")
	return out
}
