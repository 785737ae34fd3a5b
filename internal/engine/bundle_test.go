package engine

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/event"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/graphapi"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// Entity names of the bundle.
const (
	testCommands      = "gdap-commands"
	testContinuations = "gdap-continuations"
	testEvents        = "gdap-events"
)

// testStart is the bundle's frozen "now" at setup.
var testStart = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC) //nolint:gochecknoglobals // test constant

// testBundle is an engine wired to the fakes and the simulator.
type testBundle struct {
	clock *vclock.Virtual
	led   *memLedger
	sim   *graphsim.Sim
	graph *graphapi.Client
	snd   *recordingSender
	sw    *fakeSweeper
	pc    *fakePartnerCenter
	eng   *Engine
	opts  Options
	// msgs numbers the command messages the bundle sends.
	msgs int
}

// setup returns a bundle; tune, when given, adjusts the engine's options.
func setup(t *testing.T, tune ...func(*Options)) *testBundle {
	t.Helper()
	clock := vclock.NewFrozen(testStart)
	sim := graphsim.New(graphsim.Options{Clock: clock, JournalLimit: -1})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	graph, err := graphapi.New(graphapi.Options{BaseURL: srv.URL + "/beta",
		Credential: graphapi.NewStaticTokenCredential("test-token"), HTTPClient: srv.Client(), Clock: clock})
	require.NoError(t, err)
	b := &testBundle{clock: clock, led: newMemLedger(), sim: sim, graph: graph, snd: &recordingSender{},
		sw: &fakeSweeper{}, pc: &fakePartnerCenter{}}
	b.opts = Options{
		Ledger: b.led, Graph: graph, Sender: b.snd, Sweeper: b.sw, PartnerCenter: b.pc,
		CommandsQueue: testCommands, ContinuationsQueue: testContinuations, EventsTopic: testEvents,
		RetryMaxAttempts: 3, LeaseDuration: 5 * time.Minute,
	}
	for _, f := range tune {
		f(&b.opts)
	}
	b.eng = New(b.opts)
	return b
}

func (b *testBundle) inv(msgID string) op.Invocation {
	return op.Invocation{Clock: b.clock, Logger: slog.New(slog.DiscardHandler), MessageID: msgID, DeliveryCount: 1, Function: "test"}
}

// commandBody returns a command CloudEvent.
func commandBody(t *testing.T, id, typ string, data any) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": "/test", "type": typ,
		"datacontenttype": "application/json", "data": data,
	})
	require.NoError(t, err)
	return body
}

// send delivers a command as a new message and returns its message id.
func (b *testBundle) send(t *testing.T, body []byte) (string, error) {
	t.Helper()
	b.msgs++
	id := "m" + strconv.Itoa(b.msgs)
	return id, b.eng.HandleCommand(t.Context(), b.inv(id), body)
}

// command sends a command and requires that it was dealt with.
func (b *testBundle) command(t *testing.T, id, typ string, data any) {
	t.Helper()
	_, err := b.send(t, commandBody(t, id, typ, data))
	require.NoError(t, err)
}

// deliver delivers pending continuations in due order, moving the clock to
// each one's scheduled time, until none is left (or limit deliveries).
func (b *testBundle) deliver(t *testing.T) {
	t.Helper()
	for range 500 {
		m, ok := b.snd.popContinuation()
		if !ok {
			return
		}
		if at := *m.ScheduledEnqueueTime; at.After(b.clock.Now()) {
			b.clock.AdvanceTo(at)
		}
		require.NoError(t, b.eng.HandleContinuation(t.Context(), b.inv(m.MessageID), m.Body))
	}
	t.Fatal("continuations do not end")
}

// outcome is one published outcome event.
type outcome struct {
	Type string
	Data struct {
		event.Operation
		Result op.Result  `json:"result"`
		Error  op.Failure `json:"error"`
	}
	MessageID string
}

// outcomes returns the outcome events sent so far (keeping other messages).
func (b *testBundle) outcomes(t *testing.T) map[string][]outcome {
	t.Helper()
	b.snd.mu.Lock()
	defer b.snd.mu.Unlock()
	out := map[string][]outcome{}
	for _, s := range b.snd.sent {
		if s.entity != testEvents {
			continue
		}
		var o outcome
		require.NoError(t, json.Unmarshal(s.msg.Body, &struct {
			Type *string `json:"type"`
			Data any     `json:"data"`
		}{&o.Type, &o.Data}))
		o.MessageID = s.msg.MessageID
		out[o.Data.OperationID] = append(out[o.Data.OperationID], o)
	}
	return out
}

// outcome returns the one distinct outcome of an operation.
func (b *testBundle) outcome(t *testing.T, id string) outcome {
	t.Helper()
	os := b.outcomes(t)[id]
	require.NotEmpty(t, os, "no outcome for %s", id)
	ids := map[string]bool{}
	for _, o := range os {
		ids[o.MessageID] = true
	}
	require.Len(t, ids, 1, "one distinct outcome event for %s", id)
	return os[0]
}

// continuationIDs returns the ids of the pending continuations, sorted.
func (b *testBundle) continuationIDs() []string {
	b.snd.mu.Lock()
	defer b.snd.mu.Unlock()
	var ids []string
	for _, s := range b.snd.sent {
		if s.entity == testContinuations {
			ids = append(ids, s.msg.MessageID)
		}
	}
	sort.Strings(ids)
	return ids
}

// addRelationship seeds the simulator.
func (b *testBundle) addRelationship(t *testing.T, r gdap.Relationship) string {
	t.Helper()
	id, err := b.sim.AddRelationship(r)
	require.NoError(t, err)
	return id
}
