package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
)

// The package's tests share one Azurite (localenv.SharedAzurite) and one
// handler binary, built on first use by testHandler.
func TestMain(m *testing.M) {
	if os.Getenv(floorWorkerTestEnv) == "1" {
		// Started by TestFloorRunner as the bench starts devenv.
		os.Exit(floorWorkerMain())
	}
	os.Exit(testMain(m))
}

// floorWorkerTestEnv makes the test binary act as `devenv floor-worker`.
const floorWorkerTestEnv = "GDAPFLOW_TEST_FLOOR_WORKER"

func floorWorkerMain() int {
	if err := runFloorWorker(context.Background(), os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func testMain(m *testing.M) int {
	code := localenv.Run(m)
	if err := devstack.RemoveSharedHandler(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return code
}

// testHandler returns the handler binary, built once per test binary.
func testHandler(t testing.TB) string {
	t.Helper()
	path, err := devstack.SharedHandler()
	require.NoError(t, err, "build the handler")
	return path
}

func TestRunDispatch(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.ErrorIs(t, run(t.Context(), nil, &out, &out), errUsage)
	require.ErrorIs(t, run(t.Context(), []string{"nonsense"}, &out, &out), errUsage)
	require.NoError(t, run(t.Context(), []string{"help"}, &out, &out))
	require.Contains(t, out.String(), "demo|bench|chaos")
	// Bad demo flags fail before anything is built or started.
	require.Error(t, run(t.Context(), []string{"demo", "-sweep", "0"}, &out, &out))
	require.Error(t, run(t.Context(), []string{"demo", "extra"}, &out, &out))
	require.Error(t, run(t.Context(), []string{"demo", "-bogus"}, &out, &out))
}
