package hostemu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// fakeHandler is the fake handler binary, built once by TestMain.
var fakeHandler string //nolint:gochecknoglobals // built once per test binary

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hostemu-fakehandler-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fakeHandler = filepath.Join(dir, "handler")
	build := exec.Command("go", "build", "-o", fakeHandler, "./testdata/fakehandler")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build fake handler:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// t0 is the virtual start time of every test (sub-second on purpose).
var t0 = time.Date(2026, 11, 22, 17, 0, 0, 123456789, time.UTC) //nolint:gochecknoglobals // constant

const defaultHostJSON = `{
  "version": "2.0",
  "functionTimeout": "00:10:00",
  "customHandler": {"description": {"defaultExecutablePath": "handler", "workingDirectory": "", "arguments": []}},
  "extensions": {"serviceBus": {"autoCompleteMessages": true, "maxConcurrentCalls": 4}}
}`

type testBundle struct {
	emu   *Emulator
	clock *vclock.Virtual
	out   *lockedBuffer
	root  string
}

type setupConfig struct {
	hostJSON  string            // default defaultHostJSON
	functions map[string]string // extra function folders: name → function.json
	opts      func(o *Options)  // adjusts options before Start
	noRepoFns bool              // skip copying the repository's function.json files
}

// writeScriptRoot builds a packaged-layout script root: host.json, the
// fake handler as ./handler, and the repository's real function folders.
func writeScriptRoot(t *testing.T, cfg setupConfig) string {
	t.Helper()
	root := t.TempDir()
	hj := cfg.hostJSON
	if hj == "" {
		hj = defaultHostJSON
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, "host.json"), []byte(hj), 0o600))
	require.NoError(t, os.Symlink(fakeHandler, filepath.Join(root, "handler")))
	fns := map[string]string{}
	if !cfg.noRepoFns {
		for _, name := range []string{"commands", "continuations", "expiry-sweep"} {
			raw, err := os.ReadFile(filepath.Join("..", "..", "..", "functions", name, "function.json"))
			require.NoError(t, err)
			fns[name] = string(raw)
		}
	}
	for name, fj := range cfg.functions {
		fns[name] = fj
	}
	for name, fj := range fns {
		require.NoError(t, os.MkdirAll(filepath.Join(root, name), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(root, name, "function.json"), []byte(fj), 0o600))
	}
	return root
}

func testEnv(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{
		"GDAP_COMMANDS_QUEUE":      "gdap-commands",
		"GDAP_CONTINUATIONS_QUEUE": "gdap-continuations",
		"GDAP_EVENTS_TOPIC":        "gdap-events",
		"GDAP_SWEEP_SCHEDULE":      "0 0 */6 * * *",
		"GDAP_REAPER_SCHEDULE":     "0 */5 * * * *",
		"FAKE_STATE_DIR":           t.TempDir(),
		"FAKE_SETTING":             "from-env",
	}
}

func setup(t *testing.T, cfg setupConfig) *testBundle {
	t.Helper()
	root := writeScriptRoot(t, cfg)
	clock := vclock.NewFrozen(t0)
	out := newLockedBuffer()
	opts := Options{
		ScriptRoot:    root,
		Env:           testEnv(t),
		Clock:         clock,
		HandlerOutput: out,
	}
	if cfg.opts != nil {
		cfg.opts(&opts)
	}
	emu, err := Start(t.Context(), opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, emu.Close(ctx))
	})
	return &testBundle{emu: emu, clock: clock, out: out, root: root}
}

// send enqueues a command body on the commands queue.
func (b *testBundle) send(t *testing.T, id, body string) {
	t.Helper()
	ok, err := b.emu.Send(t.Context(), "gdap-commands", busMessage(id, body))
	require.NoError(t, err)
	require.True(t, ok)
}

func (b *testBundle) drain(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	require.NoError(t, b.emu.Drain(ctx))
}

// waitInvocations blocks until the emulator recorded at least n invocations.
func (b *testBundle) waitInvocations(t *testing.T, n int) []Invocation {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	require.NoError(t, b.emu.waitUntil(ctx, func() (bool, error) { return len(b.emu.invocations) >= n, nil }))
	return b.emu.Invocations()
}

// recorded is one invocation as the fake handler printed it.
type recorded struct {
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// recordedInvocations waits for n INVOCATION lines of the fake handler
// (its stdout reaches the emulator asynchronously) and parses them.
func (b *testBundle) recordedInvocations(t *testing.T, n int) []recorded {
	t.Helper()
	b.out.waitFor(t, "INVOCATION ", n)
	var recs []recorded
	for _, line := range strings.Split(b.out.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "INVOCATION "); ok {
			var r recorded
			require.NoError(t, json.Unmarshal([]byte(rest), &r))
			recs = append(recs, r)
		}
	}
	require.Len(t, recs, n, "recorded invocations")
	return recs
}

// lines returns the handler output lines that start with prefix.
func (b *testBundle) lines(prefix string) []string {
	var out []string
	for _, line := range strings.Split(b.out.String(), "\n") {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	return out
}

// lockedBuffer is a concurrency-safe output sink that can be waited on.
type lockedBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLockedBuffer() *lockedBuffer { return &lockedBuffer{changed: make(chan struct{})} }

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.changed)
	l.changed = make(chan struct{})
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor blocks until the output contains substr at least n times.
func (l *lockedBuffer) waitFor(t *testing.T, substr string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for {
		l.mu.Lock()
		count := strings.Count(l.buf.String(), substr)
		ch := l.changed
		l.mu.Unlock()
		if count >= n {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			require.FailNowf(t, "output wait", "%q not seen %d times in:\n%s", substr, n, l.String())
		}
	}
}

func busMessage(id, body string) bus.Message {
	return bus.Message{MessageID: id, Body: []byte(body), ContentType: "application/json"}
}

func itoa(n int) string { return strconv.Itoa(n) }
