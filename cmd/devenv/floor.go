package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azruntime "github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
	"github.com/gdapflow/gdapflow/internal/upstream"
)

// floorSpec is everything a floor round needs: where the simulator, the
// broker tap and Azurite are, the entity to write, how many calls of each
// kind one iteration makes, and the round itself. The bench process hands it
// to a floor worker process (`devenv floor-worker`) on stdin.
type floorSpec struct {
	GraphURL         string   `json:"graphUrl"`  // simulator root, without /beta
	BrokerURL        string   `json:"brokerUrl"` // broker tap root
	TablesConnection string   `json:"tablesConnection"`
	Table            string   `json:"table"`
	Template         []byte   `json:"template"` // entity JSON without keys
	Inserts          int      `json:"inserts"`
	Updates          int      `json:"updates"`
	Reads            int      `json:"reads"`
	Sends            int      `json:"sends"`
	Trailing         int      `json:"trailing"` // of Updates, made after the sends, not waited for
	Concurrency      int      `json:"concurrency"`
	Relationships    []string `json:"relationships"`
	Value            string   `json:"value"`  // autoExtendDuration to PATCH
	Prefix           string   `json:"prefix"` // entity keys are <prefix>-<k>
}

// floorClient makes, per iteration, exactly the wire calls one
// gdap.relationship.update costs the service, without service logic: Graph
// GET + PATCH (If-Match) on the simulator, the Table inserts, If-Match
// replaces and reads benchCalls measured for one update, on an entity of the
// same shape on Azurite, and the measured number of outcome-sized messages
// POSTed to the broker (through the same tap).
type floorClient struct {
	spec  floorSpec
	http  *http.Client
	table *aztables.Client
	// template is spec.Template decoded once; each iteration adds its keys
	// to a shallow copy.
	template map[string]any
	// trailing tracks the writes that follow an iteration's sends.
	trailing    sync.WaitGroup
	trailingErr atomic.Pointer[error]
}

// ledgerEntityTemplate reads the ledger record the service stored for
// operation id and returns it as entity JSON without keys and metadata.
func ledgerEntityTemplate(ctx context.Context, bs *benchStack, az *localenv.Azurite, id string) ([]byte, error) {
	tc, err := az.NewTableClient(bs.Env["GDAP_TABLE_PREFIX"] + "operations")
	if err != nil {
		return nil, err
	}
	resp, err := tc.GetEntity(ctx, id, id, nil)
	if err != nil {
		return nil, fmt.Errorf("bench: read the service's ledger record %s: %w", id, err)
	}
	var m map[string]any
	if err := json.Unmarshal(resp.Value, &m); err != nil {
		return nil, err
	}
	for k := range m {
		if strings.HasPrefix(k, "odata.") || k == "PartitionKey" || k == "RowKey" || strings.HasPrefix(k, "Timestamp") {
			delete(m, k)
		}
	}
	return json.Marshal(m)
}

// createFloorTable creates the floor's own table on Azurite and returns its
// name.
func createFloorTable(ctx context.Context, az *localenv.Azurite) (string, error) {
	name := localenv.UniqueName("floor")
	tc, err := az.NewTableClient(name)
	if err != nil {
		return "", err
	}
	if _, err := tc.CreateTable(ctx, nil); err != nil {
		return "", err
	}
	return name, nil
}

// newFloorClient builds the floor's clients for spec on transport (an
// upstream.NewTransport, kept across rounds as the handler keeps its
// connections); it makes no call.
func newFloorClient(spec floorSpec, transport *http.Transport) (*floorClient, error) {
	// The same wire traffic as the handler's ledger: its transport (headers
	// and body in one write, pooled connections) and, below, its no-echo
	// insert. Graph and broker calls share the pool, as the handler's do.
	var template map[string]any
	if err := json.Unmarshal(spec.Template, &template); err != nil {
		return nil, fmt.Errorf("floor: entity template: %w", err)
	}
	svc, err := aztables.NewServiceClientFromConnectionString(spec.TablesConnection, &aztables.ClientOptions{
		ClientOptions: azcore.ClientOptions{Transport: upstream.AzureTransport{Client: &http.Client{Transport: transport}}}})
	if err != nil {
		return nil, err
	}
	return &floorClient{
		spec:     spec,
		template: template,
		http:     &http.Client{Transport: transport, Timeout: time.Minute},
		table:    svc.NewClient(spec.Table),
	}, nil
}

// warm opens the connections a round uses before its clock starts, as the
// handler's are open from the bench's earlier rounds: each of
// spec.Concurrency clients reads a relationship, POSTs one message to the
// broker tap and, with a second reader (for the trailing writes that run
// behind the next iteration), reads a missing entity.
func (f *floorClient) warm(ctx context.Context) error {
	tableReaders := f.spec.Concurrency
	if f.spec.Trailing > 0 {
		tableReaders *= 2
	}
	errs := make(chan error, f.spec.Concurrency+tableReaders)
	for i := range f.spec.Concurrency {
		go func() {
			if _, err := f.graph(ctx, http.MethodGet, f.spec.Relationships[i%len(f.spec.Relationships)], "", nil); err != nil {
				errs <- err
				return
			}
			errs <- f.send(ctx, fmt.Sprintf("%s-warm.%d", f.spec.Prefix, i), []byte("warm"))
		}()
	}
	for range tableReaders {
		go func() {
			if _, err := f.table.GetEntity(ctx, f.spec.Prefix+"-warm", f.spec.Prefix+"-warm", nil); !isNotFound(err) {
				errs <- fmt.Errorf("floor: warm-up read: %v", err)
				return
			}
			errs <- nil
		}()
	}
	var first error
	for range f.spec.Concurrency + tableReaders {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// isNotFound reports a Table Storage 404.
func isNotFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// run is one closed-loop round: spec.Concurrency clients, one iteration per
// relationship.
// Like a service round, it ends when the last iteration's sends are
// accepted; the trailing writes still in flight then are waited for
// afterwards.
func (f *floorClient) run(ctx context.Context) (phaseResult, error) {
	p, err := closedLoop(ctx, f.spec.Concurrency, len(f.spec.Relationships), func(ctx context.Context, k int) (time.Duration, error) {
		t0 := time.Now()
		if err := f.one(ctx, k); err != nil {
			return 0, err
		}
		return time.Since(t0), nil
	})
	f.trailing.Wait()
	if err == nil {
		if e := f.trailingErr.Load(); e != nil {
			err = *e
		}
	}
	return p, err
}

// graph makes one Graph call on the simulator and returns the 200 body.
func (f *floorClient) graph(ctx context.Context, method, path, ifMatch string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, f.spec.GraphURL+"/beta/tenantRelationships/delegatedAdminRelationships/"+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+devstack.GraphToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := f.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("floor: %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return b, nil
}

// one makes one iteration's calls in the service's order: the ledger insert,
// the Graph GET and PATCH, the ledger writes and reads, the outcome sends,
// and then the trailing ledger writes, which the next iteration does not
// wait for.
func (f *floorClient) one(ctx context.Context, k int) error {
	relID := f.spec.Relationships[k]
	// Table: the service's calls for one update, on an entity of the same
	// shape as its ledger record.
	id := f.spec.Prefix + "-" + strconv.Itoa(k)
	ent := maps.Clone(f.template)
	ent["PartitionKey"], ent["RowKey"] = id, id // the ledger's keys
	raw, err := json.Marshal(ent)
	if err != nil {
		return err
	}
	var etag azcore.ETag
	for range f.spec.Inserts {
		resp, err := f.table.AddEntity(azruntime.WithHTTPHeader(ctx, http.Header{"Prefer": {"return-no-content"}}), raw, nil)
		if err != nil {
			return err
		}
		etag = resp.ETag
	}
	b, err := f.graph(ctx, http.MethodGet, relID, "", nil)
	if err != nil {
		return err
	}
	var rel struct {
		ETag string `json:"@odata.etag"`
	}
	if err := json.Unmarshal(b, &rel); err != nil {
		return err
	}
	patch, _ := json.Marshal(map[string]string{"autoExtendDuration": f.spec.Value})
	if _, err := f.graph(ctx, http.MethodPatch, relID, rel.ETag, patch); err != nil {
		return err
	}
	update := func(ctx context.Context) error {
		u, err := f.table.UpdateEntity(ctx, raw, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace})
		if err != nil {
			return err
		}
		etag = u.ETag
		return nil
	}
	for range f.spec.Updates - f.spec.Trailing {
		if err := update(ctx); err != nil {
			return err
		}
	}
	for range f.spec.Reads {
		if _, err := f.table.GetEntity(ctx, id, id, nil); err != nil {
			return err
		}
	}
	// Broker: outcome-sized events, through the same tap as the handler's.
	event := bytes.Repeat([]byte("x"), len(b)+400)
	for i := range f.spec.Sends {
		if err := f.send(ctx, id+"."+strconv.Itoa(i), event); err != nil {
			return err
		}
	}
	if f.spec.Trailing > 0 {
		f.trailing.Add(1)
		go func() {
			defer f.trailing.Done()
			for range f.spec.Trailing {
				if err := update(ctx); err != nil {
					f.trailingErr.CompareAndSwap(nil, &err)
					return
				}
			}
		}()
	}
	return nil
}

// send POSTs one event-shaped message to the broker tap's bench-floor
// entity.
func (f *floorClient) send(ctx context.Context, id string, event []byte) error {
	msg, _ := json.Marshal(map[string]any{
		"messageId": id, "body": base64.StdEncoding.EncodeToString(event),
		"contentType": "application/cloudevents+json; charset=utf-8", "correlationId": id, "subject": "gdap.operation.succeeded",
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.spec.BrokerURL+"/bench-floor/messages", bytes.NewReader(msg))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	br, err := f.http.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, br.Body)
	_ = br.Body.Close()
	if br.StatusCode != http.StatusCreated {
		return fmt.Errorf("floor: broker answered %d", br.StatusCode)
	}
	return nil
}

// floorRunner runs floor rounds in one long-lived worker process, as the
// service's calls come from a long-lived process of their own (the
// handler): a client inside the bench process would share that process's
// threads with the Graph simulator and the broker, so its Graph and broker
// calls would never wake another process, while every call of the
// handler's does. The worker keeps its connections and heap across rounds,
// as the handler does.
type floorRunner struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *bytes.Buffer
	// waited is set once cmd.Wait has run; waitErr is its result.
	waited  bool
	waitErr error
}

// floorRoundLimit bounds one floor round, warm-up included: the worker gives
// up on its own after it, and the bench kills a worker that has not
// answered a little later.
const floorRoundLimit = 10 * time.Minute

// startFloorRunner starts the worker with the handler's runtime settings
// (its GOMAXPROCS and GOGC defaults, and -handler-env, where an empty value
// unsets the variable).
func startFloorRunner(ctx context.Context, extra map[string]string) (*floorRunner, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: locate devenv for the floor worker: %w", err)
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, overridden := extra[k]; !overridden {
			env = append(env, kv)
		}
	}
	for k, v := range extra {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	r := &floorRunner{cmd: exec.CommandContext(ctx, exe, "floor-worker"), stderr: &bytes.Buffer{}}
	r.cmd.Env = env
	r.cmd.Stderr = r.stderr
	if r.stdin, err = r.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	r.stdout = bufio.NewReader(stdout)
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start the floor worker: %w", err)
	}
	return r, nil
}

// close ends the worker (EOF on its stdin) and waits for it; it reports
// how the worker ended, with its stderr. It may be called more than once.
func (r *floorRunner) close() error {
	if !r.waited {
		_ = r.stdin.Close()
		r.waitErr = r.cmd.Wait()
		r.waited = true
	}
	if r.waitErr != nil {
		return fmt.Errorf("bench: floor worker: %w: %s", r.waitErr, strings.TrimSpace(r.stderr.String()))
	}
	return nil
}

// floorOutcome is what the worker writes to stdout after its "ready" line
// for a round: the round and the CPU time (user+system) the worker spent in
// it, warm-up excluded, as the handler's CPU is sampled over the service's
// rounds only.
type floorOutcome struct {
	Round phaseResult   `json:"round"`
	CPU   time.Duration `json:"cpu"`
}

// floorReady is the line the worker prints once a round's connections are
// open; it then waits for floorGo on stdin before it starts the round's
// clock.
const (
	floorReady = "ready"
	floorGo    = "go"
)

// round runs one floor round in the worker and returns its result and the
// worker's CPU time over the round. ready is called once the worker has
// opened the round's connections, just before the round starts, so that
// the caller's CPU samples leave the warm-up out.
func (r *floorRunner) round(spec floorSpec, ready func()) (phaseResult, time.Duration, error) {
	in, err := json.Marshal(spec)
	if err != nil {
		return phaseResult{}, 0, err
	}
	// A worker that neither answers nor fails is killed, which ends the
	// reads below with EOF.
	kill := time.AfterFunc(floorRoundLimit+time.Minute, func() { _ = r.cmd.Process.Kill() })
	o, err := talkToWorker(r.stdin, r.stdout, in, ready)
	kill.Stop()
	if err != nil {
		if cerr := r.close(); cerr != nil {
			return phaseResult{}, 0, fmt.Errorf("%w (%v)", cerr, err)
		}
		return phaseResult{}, 0, fmt.Errorf("bench: floor worker: %w", err)
	}
	if o.Round.Commands != len(spec.Relationships) || len(o.Round.Latencies) != o.Round.Commands {
		return phaseResult{}, 0, fmt.Errorf("bench: floor worker ran %d of %d iterations", o.Round.Commands, len(spec.Relationships))
	}
	return o.Round, o.CPU, nil
}

// talkToWorker sends the spec line, waits for the ready line, calls ready,
// sends the go line and reads the outcome line.
func talkToWorker(stdin io.Writer, stdout *bufio.Reader, spec []byte, ready func()) (floorOutcome, error) {
	if _, err := stdin.Write(append(spec, '\n')); err != nil {
		return floorOutcome{}, err
	}
	line, err := stdout.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != floorReady {
		return floorOutcome{}, fmt.Errorf("expected %q, got %q (%v)", floorReady, line, err)
	}
	ready()
	if _, err := io.WriteString(stdin, floorGo+"\n"); err != nil {
		return floorOutcome{}, err
	}
	line, err = stdout.ReadString('\n')
	if err != nil {
		return floorOutcome{}, fmt.Errorf("result: %w", err)
	}
	var o floorOutcome
	if err := json.Unmarshal([]byte(line), &o); err != nil {
		return floorOutcome{}, fmt.Errorf("result: %w", err)
	}
	return o, nil
}

// selfCPU is this process's user+system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runFloorWorker is `devenv floor-worker`, started once by the bench (main
// applies the handler's runtime defaults first). For each floorSpec line on
// stdin it opens the round's connections, prints "ready", waits for a "go"
// line, runs the round and prints a floorOutcome line; it returns at EOF.
// Connections are kept across rounds.
func runFloorWorker(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	in := bufio.NewReader(stdin)
	transport := upstream.NewTransport()
	defer transport.CloseIdleConnections()
	for {
		line, err := in.ReadBytes('\n')
		if errors.Is(err, io.EOF) && len(bytes.TrimSpace(line)) == 0 {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("floor-worker: read the spec: %w", err)
		}
		var spec floorSpec
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec); err != nil {
			return fmt.Errorf("floor-worker: read the spec: %w", err)
		}
		if spec.Concurrency < 1 || len(spec.Relationships) == 0 {
			return errors.New("floor-worker: the spec needs a concurrency and relationships")
		}
		if err := floorWorkerRound(ctx, in, stdout, spec, transport); err != nil {
			return err
		}
	}
}

// floorWorkerRound is one round of runFloorWorker, bounded by
// floorRoundLimit.
func floorWorkerRound(ctx context.Context, in *bufio.Reader, stdout io.Writer, spec floorSpec, transport *http.Transport) error {
	ctx, cancel := context.WithTimeout(ctx, floorRoundLimit)
	defer cancel()
	f, err := newFloorClient(spec, transport)
	if err != nil {
		return err
	}
	if err := f.warm(ctx); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(stdout, floorReady); err != nil {
		return err
	}
	if g, err := in.ReadString('\n'); strings.TrimSpace(g) != floorGo {
		return fmt.Errorf("floor-worker: expected %q, got %q (%v)", floorGo, g, err)
	}
	cpu0 := selfCPU()
	p, err := f.run(ctx)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(floorOutcome{Round: p, CPU: selfCPU() - cpu0})
}
