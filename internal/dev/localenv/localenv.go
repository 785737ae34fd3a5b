// Package localenv is the local environment shared by the dev commands
// (demo, bench, chaos, dev) and every integration test in the repository: the
// repository root, free loopback ports, unique resource names and a real
// Azurite Table Storage process. It never ships.
//
// A package whose tests need Table Storage starts ONE Azurite for the whole
// test binary and isolates tests by table name:
//
//	func TestMain(m *testing.M) { localenv.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		az := localenv.SharedAzurite(t)
//		client, err := az.NewTableClient(localenv.UniqueName("ledger"))
//		require.NoError(t, err)
//		...
//	}
//
// Main stops the shared Azurite (and its whole process group) after the tests
// ran; on Linux the process is also bound to the test binary's lifetime, so a
// crashed or timed-out test binary leaves no orphan.
package localenv

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// RepoRoot returns the repository root: the nearest directory at or above
// the working directory that contains go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("localenv: working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("localenv: find go.mod: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("localenv: no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. The
// port is released before returning, so a caller that hands it to another
// process must be ready to retry with a new port if the bind fails.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("localenv: free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("localenv: free port: %w", err)
	}
	return port, nil
}

// maxNameLen is the longest Table Storage table name.
const maxNameLen = 63

// suffixLen is the number of random hex characters UniqueName appends
// (64 bits of randomness).
const suffixLen = 16

// UniqueName returns a name that is unique for practical purposes and valid
// as an Azure table name (and as most other resource names): ASCII letters
// and digits only, starting with a letter, 3–63 characters. It keeps the
// letters and digits of prefix (truncated so the name fits), prepends "t"
// when the prefix is empty or starts with a digit, and appends 16 random hex
// digits.
func UniqueName(prefix string) string {
	var b strings.Builder
	for _, r := range prefix {
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	clean := b.String()
	if clean == "" || (clean[0] >= '0' && clean[0] <= '9') {
		clean = "t" + clean
	}
	if len(clean) > maxNameLen-suffixLen {
		clean = clean[:maxNameLen-suffixLen]
	}
	var raw [suffixLen / 2]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails (Go 1.24+).
	return clean + hex.EncodeToString(raw[:])
}
