package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

// recordingBroker stands in for the broker tap: it answers 201 and records
// each message id.
type recordingBroker struct {
	mu  sync.Mutex
	ids []string
}

func (b *recordingBroker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var msg struct {
		MessageID string `json:"messageId"`
	}
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || r.URL.Path != "/bench-floor/messages" || json.Unmarshal(body, &msg) != nil {
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	b.ids = append(b.ids, msg.MessageID)
	b.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

// floorFixture is a Graph simulator with six active relationships, a
// recording broker and a floor table on Azurite behind a counting tap.
type floorFixture struct {
	sim    *graphsim.Sim
	broker *recordingBroker
	tables *tap
	rels   []string
	spec   floorSpec // a round over all rels with 2 clients, prefix "t"
}

func newFloorFixture(t *testing.T) *floorFixture {
	t.Helper()
	fx := &floorFixture{sim: graphsim.New(graphsim.Options{JournalLimit: -1}), broker: &recordingBroker{}}
	graph := httptest.NewServer(fx.sim)
	t.Cleanup(graph.Close)
	broker := httptest.NewServer(fx.broker)
	t.Cleanup(broker.Close)
	az := localenv.SharedAzurite(t)
	table, err := createFloorTable(t.Context(), az)
	require.NoError(t, err)
	azURL := fmt.Sprintf("http://127.0.0.1:%d", az.Port())
	fx.tables, err = startTap(azURL)
	require.NoError(t, err)
	t.Cleanup(fx.tables.close)
	fx.tables.classify = classifyTable
	for i := range 6 {
		id, err := fx.sim.AddRelationship(gdap.Relationship{
			DisplayName: fmt.Sprintf("floor-%d", i), Status: gdap.StatusActive, Duration: "P730D",
			AutoExtendDuration: gdap.AutoExtendOff, UnifiedRoles: []string{benchRole},
			Customer: gdap.Customer{TenantID: fmt.Sprintf("dddddddd-0000-4000-8000-%012d", i), DisplayName: "Floor"},
		})
		require.NoError(t, err)
		fx.rels = append(fx.rels, id)
	}
	fx.spec = floorSpec{
		GraphURL: graph.URL, BrokerURL: broker.URL, TablesConnection: strings.Replace(az.ConnectionString(), azURL, fx.tables.URL, 1), Table: table,
		Template: []byte(`{"State":"succeeded","Command":"` + strings.Repeat("x", 512) + `"}`),
		Inserts:  1, Updates: 2, Sends: 1, Trailing: 1,
		Concurrency: 2, Relationships: fx.rels, Value: gdap.AutoExtendOn, Prefix: "t",
	}
	return fx
}

// TestFloorWorker runs one floor round through the worker's stdin/stdout
// protocol against the strict Graph simulator and Azurite: every
// relationship is PATCHed, every iteration's entity is written (insert and
// replaces, the last one after the send) and its message sent.
func TestFloorWorker(t *testing.T) {
	t.Parallel()
	fx := newFloorFixture(t)
	sim, brokerRec, tables, rels, spec := fx.sim, fx.broker, fx.tables, fx.rels, fx.spec
	in, err := json.Marshal(spec)
	require.NoError(t, err)
	// The bench's side of the protocol against the worker's, over pipes.
	stdinR, stdinW := io.Pipe()
	stdoutR, stdoutW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := runFloorWorker(t.Context(), stdinR, stdoutW)
		_ = stdoutW.CloseWithError(err)
		done <- err
	}()
	var atReady map[string]int
	o, err := talkToWorker(stdinW, bufio.NewReader(stdoutR), in, func() {
		tables.mu.Lock()
		atReady = maps.Clone(tables.counts)
		tables.mu.Unlock()
	})
	require.NoError(t, err)
	require.NoError(t, stdinW.Close(), "EOF ends the worker")
	require.NoError(t, <-done)
	// The warm-up reads a missing entity twice per client: one connection
	// for the iteration, one for its trailing write.
	warmReads := 2 * spec.Concurrency
	require.Equal(t, map[string]int{"read": warmReads}, atReady, "ready comes after the warm-up and before the round")
	p := o.Round
	require.Positive(t, o.CPU)
	require.Equal(t, len(rels), p.Commands)
	require.Len(t, p.Latencies, len(rels))
	require.Positive(t, p.Elapsed)
	for _, id := range rels {
		rel, ok := sim.Relationship(id)
		require.True(t, ok)
		require.Equal(t, gdap.AutoExtendOn, rel.AutoExtendDuration, "the floor PATCHes every relationship")
	}
	tables.mu.Lock()
	counts := maps.Clone(tables.counts)
	tables.mu.Unlock()
	// Per iteration an insert and two replaces (the trailing one included:
	// the worker waits for it before answering).
	require.Equal(t, map[string]int{"insert": len(rels), "update": 2 * len(rels), "read": warmReads}, counts)
	brokerRec.mu.Lock()
	defer brokerRec.mu.Unlock()
	// The warm-up sends one message per client, then one per iteration.
	require.Len(t, brokerRec.ids, spec.Concurrency+len(rels))
	for k := range rels {
		require.Contains(t, brokerRec.ids, fmt.Sprintf("t-%d.0", k))
	}
}

// TestFloorRunner runs rounds through a real worker process (this test
// binary, see TestMain) as the bench does: two rounds on one worker, then a
// round the worker fails, which the runner reports with the worker's
// stderr.
func TestFloorRunner(t *testing.T) {
	t.Parallel()
	fx := newFloorFixture(t)
	runner, err := startFloorRunner(t.Context(), map[string]string{floorWorkerTestEnv: "1"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = runner.close() })
	for i, half := range [][]string{fx.rels[:3], fx.rels[3:]} {
		spec := fx.spec
		spec.Relationships, spec.Prefix = half, fmt.Sprintf("r%d", i)
		readied := false
		p, cpu, err := runner.round(spec, func() { readied = true })
		require.NoError(t, err)
		require.True(t, readied)
		require.Equal(t, len(half), p.Commands)
		require.Positive(t, cpu)
	}
	for _, id := range fx.rels {
		rel, ok := fx.sim.Relationship(id)
		require.True(t, ok)
		require.Equal(t, gdap.AutoExtendOn, rel.AutoExtendDuration)
	}
	bad := fx.spec
	bad.Table = "missing" + strings.ReplaceAll(localenv.UniqueName("t"), "-", "")
	_, _, err = runner.round(bad, func() {})
	require.Error(t, err, "a round on a missing table fails")
	require.ErrorContains(t, runner.close(), "TableNotFound", "close reports the worker's own error")
}

// TestFloorWorkerRejectsBadSpecs fails before making any call; no spec at
// all ends the worker cleanly.
func TestFloorWorkerRejectsBadSpecs(t *testing.T) {
	t.Parallel()
	var none bytes.Buffer
	require.NoError(t, runFloorWorker(t.Context(), strings.NewReader(""), &none))
	require.Empty(t, none.String())
	for name, in := range map[string]string{
		"not JSON":       "{\n",
		"unknown field":  `{"concurrency":1,"relationships":["a"],"bogus":1}` + "\n",
		"no concurrency": `{"relationships":["a"]}` + "\n",
		"no work":        `{"concurrency":2}` + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			require.Error(t, runFloorWorker(t.Context(), strings.NewReader(in), &out))
			require.Empty(t, out.String())
		})
	}
}
