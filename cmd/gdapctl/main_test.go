package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
)

// The end-to-end tests share one Azurite (localenv.SharedAzurite) and one
// handler binary, built on first use by testHandler; unit tests need neither.
func TestMain(m *testing.M) {
	code := localenv.Run(m)
	built.mu.Lock()
	if built.dir != "" {
		if err := os.RemoveAll(built.dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	built.mu.Unlock()
	os.Exit(code)
}

// built is the handler binary of the test binary.
var built struct { //nolint:gochecknoglobals // built once per test binary
	mu   sync.Mutex
	done bool
	dir  string
	path string
	err  error
}

// testHandler returns the handler binary, building it on the first call.
func testHandler(t testing.TB) string {
	t.Helper()
	built.mu.Lock()
	defer built.mu.Unlock()
	if !built.done {
		built.done = true
		built.dir, built.err = os.MkdirTemp("", "gdapctl-test-")
		if built.err == nil {
			var root string
			root, built.err = localenv.RepoRoot()
			if built.err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
				built.path, built.err = devstack.BuildHandler(ctx, root, built.dir)
				cancel()
			}
		}
	}
	require.NoError(t, built.err, "build the handler")
	return built.path
}
