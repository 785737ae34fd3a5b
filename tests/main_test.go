// Package tests holds gdapflow's end-to-end tests: commands travel through
// the local Functions host emulator into the real handler binary, which talks
// to the strict Graph/Partner Center simulators and to Azurite. Time is
// virtual: the emulator fast-forwards over scheduled continuations, so no
// test waits for real.
package tests

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
)

// handlerPath is the handler binary built once for the whole package.
var handlerPath string //nolint:gochecknoglobals // set once in TestMain

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gdapflow-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := localenv.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	handlerPath, err = devstack.BuildHandler(ctx, root, dir)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return localenv.Run(m)
}

// bundle is one test's running service.
type bundle struct {
	*devstack.Stack
	out *localenv.Buffer
}

// setup starts a stack for one test; env overrides app settings.
func setup(t *testing.T, env map[string]string, mut ...func(*devstack.Options)) *bundle {
	t.Helper()
	out := &localenv.Buffer{}
	opts := devstack.Options{
		HandlerPath:   handlerPath,
		Azurite:       localenv.SharedAzurite(t),
		Env:           env,
		HandlerOutput: out,
	}
	for _, f := range mut {
		f(&opts)
	}
	st, err := devstack.Start(t.Context(), opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, st.Close())
		if t.Failed() {
			t.Logf("handler output:\n%s", out.String())
		}
	})
	return &bundle{Stack: st, out: out}
}

// drain delivers everything, bounded in real time.
func (b *bundle) drain(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	require.NoError(t, b.Drain(ctx))
}

// send sends a command.
func (b *bundle) send(t *testing.T, id, typ string, data any) {
	t.Helper()
	require.NoError(t, b.Send(t.Context(), id, typ, data))
}

// outcome returns the single outcome of an operation, failing if there is
// not exactly one.
func (b *bundle) outcome(t *testing.T, id string) devstack.Outcome {
	t.Helper()
	all, err := b.Outcomes()
	require.NoError(t, err)
	require.Len(t, all[id], 1, "exactly one outcome event for %s (all: %v)", id, devstack.SortedKeys(all))
	return all[id][0]
}
