package devstack

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/gdapflow/gdapflow/internal/dev/localenv"
)

// sharedBuildTimeout bounds the one build of SharedHandler (a cold build
// compiles the Graph SDK).
const sharedBuildTimeout = 15 * time.Minute

// shared is the handler binary SharedHandler builds once per process.
var shared struct { //nolint:gochecknoglobals // built once per process
	mu   sync.Mutex
	done bool
	dir  string
	path string
	err  error
}

// SharedHandler returns a handler binary built from the repository on the
// first call and reused by every later one in the process, so a test
// binary's tests build the handler once. RemoveSharedHandler deletes it.
func SharedHandler() (string, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.done {
		return shared.path, shared.err
	}
	shared.done = true
	shared.dir, shared.err = os.MkdirTemp("", "gdapflow-test-handler-")
	if shared.err != nil {
		return "", shared.err
	}
	root, err := localenv.RepoRoot()
	if err != nil {
		shared.err = err
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedBuildTimeout)
	defer cancel()
	shared.path, shared.err = BuildHandler(ctx, root, shared.dir)
	return shared.path, shared.err
}

// RemoveSharedHandler deletes the binary SharedHandler built, if any (a
// test binary's TestMain calls it after the tests ran).
func RemoveSharedHandler() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.dir == "" {
		return nil
	}
	if err := os.RemoveAll(shared.dir); err != nil {
		return fmt.Errorf("devstack: remove the shared handler: %w", err)
	}
	shared.dir = ""
	return nil
}
