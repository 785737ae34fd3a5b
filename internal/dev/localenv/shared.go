package localenv

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// shared is the test binary's one Azurite, started on first use by
// SharedAzurite and stopped by Main.
var shared struct {
	mu      sync.Mutex
	inMain  bool
	started bool
	az      *Azurite
	err     error
}

// Main runs the test binary's tests, stops the shared Azurite if a test
// started one, and exits. Call it from TestMain:
//
//	func TestMain(m *testing.M) { localenv.Main(m) }
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main without the exit, for a TestMain that has its own set-up and
// clean-up around the tests; it returns the exit code.
func Run(m *testing.M) int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.inMain = false
	if shared.az != nil {
		if err := shared.az.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
		shared.az = nil
	}
	return code
}

// SharedAzurite returns the test binary's single Azurite, starting it on the
// first call (concurrent callers wait for it). Tests share it and isolate
// themselves with UniqueName table names. It fails the test if Azurite cannot
// start (every later caller gets the same error without another attempt) or
// if TestMain does not call Main, which is what stops the process.
func SharedAzurite(t testing.TB) *Azurite {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		t.Fatal("localenv: SharedAzurite needs `func TestMain(m *testing.M) { localenv.Main(m) }` in the test package")
	}
	if !shared.started {
		shared.started = true
		shared.az, shared.err = StartAzurite(t.Context(), AzuriteOptions{})
	}
	if shared.err != nil {
		t.Fatalf("localenv: shared azurite: %v", shared.err)
	}
	return shared.az
}
