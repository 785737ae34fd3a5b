package hostemu

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/vclock"
)

// started parses the fake handler's STARTED lines.
func (b *testBundle) started(t *testing.T, n int) []map[string]string {
	t.Helper()
	b.out.waitFor(t, "STARTED ", n)
	var out []map[string]string
	for _, line := range b.lines("STARTED ") {
		var m map[string]string
		require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(line, "STARTED ")), &m))
		out = append(out, m)
	}
	require.Len(t, out, n)
	return out
}

func TestHandlerEnvironmentAndOutput(t *testing.T) {
	t.Parallel()
	b := setup(t, setupConfig{})
	s := b.started(t, 1)[0]
	require.NotEmpty(t, s["port"])
	require.Equal(t, s["port"], s["httpPort"])
	require.Regexp(t, guidExpr, s["workerId"])
	require.Equal(t, b.root, s["appRoot"])
	require.Equal(t, b.root, s["cwd"], "working directory = script root")
	require.Equal(t, b.emu.BrokerURL(), s["brokerUrl"], "GDAP_BROKER_URL defaults to the emulator's broker")
	require.Equal(t, "from-env", s["setting"])
	require.Regexp(t, `^http://127\.0\.0\.1:\d+$`, b.emu.BrokerURL())
	b.out.waitFor(t, StderrPrefix+"fakehandler writes this to stderr\n", 1)
	require.Equal(t, 4, b.emu.opts.MaxConcurrentCalls, "from host.json")
}

func TestRepositoryLayout(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", "..", "..")) // the repository root
	require.NoError(t, err)
	out := newLockedBuffer()
	emu, err := Start(t.Context(), Options{
		ScriptRoot: root, HandlerPath: fakeHandler, Env: testEnv(t),
		Clock: vclock.NewFrozen(t0), HandlerOutput: out,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, emu.Close(context.Background())) })
	b := &testBundle{emu: emu, out: out, root: root}
	require.Equal(t, root, b.started(t, 1)[0]["cwd"])
	require.Equal(t, 8, emu.opts.MaxConcurrentCalls, "the real host.json says 8")
	require.Equal(t, 10*time.Minute, emu.host.functionTimeout)
	require.ElementsMatch(t, []string{"commands", "continuations", "expiry-sweep", "partner-center-webhook", "reaper", "report"}, mapKeys(emu.byName))
	b.send(t, "repo-1", `{"action":"ok"}`)
	b.drain(t)
	require.NoError(t, emu.FireTimer(t.Context(), "expiry-sweep"))
	require.Len(t, emu.Invocations(), 2)
}

func mapKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

func TestReadinessWait(t *testing.T) {
	t.Parallel()
	const delay = 400 * time.Millisecond
	begin := time.Now()
	b := setup(t, setupConfig{opts: func(o *Options) { o.Env["FAKE_READY_DELAY"] = delay.String() }})
	require.GreaterOrEqual(t, time.Since(begin), delay, "Start waits until the handler answers GET /")
	b.send(t, "first", `{"action":"ok"}`)
	b.drain(t)
	invs := b.emu.Invocations()
	require.Len(t, invs, 1)
	require.NoError(t, invs[0].Err, "the first delivery already reaches a ready handler")
}

func TestStartFailsWhenHandlerExits(t *testing.T) {
	t.Parallel()
	root := writeScriptRoot(t, setupConfig{})
	env := testEnv(t)
	env["FAKE_EXIT_AT_START"] = "1"
	_, err := Start(t.Context(), Options{ScriptRoot: root, Env: env, Clock: vclock.NewFrozen(t0)})
	require.ErrorContains(t, err, "exited before it was ready")
}

func TestKillHandlerMidRun(t *testing.T) {
	t.Parallel()
	b := setup(t, setupConfig{})
	b.send(t, "hang", `{"action":"hangOnce","key":"hang"}`)
	b.out.waitFor(t, "HANGING hang", 1) // in flight now
	require.NoError(t, b.emu.KillHandler())
	b.drain(t)

	invs := b.emu.Invocations()
	require.Len(t, invs, 2)
	var ie *InvocationError
	require.ErrorAs(t, invs[0].Err, &ie)
	require.Equal(t, FailureTransport, ie.Kind)
	require.Equal(t, SettlementAbandoned, invs[0].Settlement)
	require.Equal(t, 1, invs[0].DeliveryCount)
	require.NoError(t, invs[1].Err)
	require.Equal(t, 2, invs[1].DeliveryCount)
	require.Equal(t, SettlementCompleted, invs[1].Settlement)

	st := b.started(t, 2)
	require.NotEqual(t, st[0]["workerId"], st[1]["workerId"])
}

func TestHandlerCrashIsRestarted(t *testing.T) {
	t.Parallel()
	b := setup(t, setupConfig{})
	b.send(t, "crash", `{"action":"exitOnce","key":"crash"}`)
	b.drain(t)
	invs := b.emu.Invocations()
	require.Len(t, invs, 2)
	require.Error(t, invs[0].Err)
	require.Equal(t, 2, invs[1].DeliveryCount)
	require.NoError(t, invs[1].Err)
	b.started(t, 2)
	b.out.waitFor(t, "EXITING", 1)
}

func TestHandlerGivesUpAfterThreeCrashes(t *testing.T) {
	t.Parallel()
	b := setup(t, setupConfig{})
	b.send(t, "crash", `{"action":"exit"}`)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	require.ErrorIs(t, b.emu.Drain(ctx), ErrHandlerGaveUp)
	require.ErrorIs(t, b.emu.KillHandler(), ErrHandlerGaveUp)
	require.ErrorIs(t, b.emu.FireTimer(ctx, "expiry-sweep"), ErrHandlerGaveUp)
	require.Len(t, b.emu.Invocations(), crashLimit)
}

func TestFunctionTimeoutRestartsHandler(t *testing.T) {
	t.Parallel()
	b := setup(t, setupConfig{hostJSON: strings.Replace(defaultHostJSON, `"00:10:00"`, `"00:00:01"`, 1)})
	b.send(t, "slow", `{"action":"hangOnce","key":"slow"}`)
	b.drain(t)
	invs := b.emu.Invocations()
	require.Len(t, invs, 2)
	var ie *InvocationError
	require.ErrorAs(t, invs[0].Err, &ie)
	require.Equal(t, FailureTimeout, ie.Kind)
	require.GreaterOrEqual(t, invs[0].Duration, time.Second)
	require.NoError(t, invs[1].Err)
	require.Equal(t, 2, invs[1].DeliveryCount)
	b.started(t, 2)
}

func TestCloseSendsSIGTERM(t *testing.T) {
	t.Parallel()
	root := writeScriptRoot(t, setupConfig{})
	out := newLockedBuffer()
	emu, err := Start(t.Context(), Options{ScriptRoot: root, Env: testEnv(t), Clock: vclock.NewFrozen(t0), HandlerOutput: out})
	require.NoError(t, err)
	require.NoError(t, emu.Close(t.Context()))
	require.Contains(t, out.String(), "SIGTERM\n", "the handler's output is complete once Close returns")
	require.NoError(t, emu.Close(t.Context()), "Close is idempotent")
	_, err = emu.Send(t.Context(), "gdap-commands", busMessage("late", "{}"))
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, emu.Drain(t.Context()), ErrClosed)
	require.ErrorIs(t, emu.KillHandler(), ErrClosed)
	_, err = os.Stat(root)
	require.NoError(t, err)
}
