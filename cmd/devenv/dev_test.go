package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/devstack"
)

// watchWriter collects output and closes ready once it contains marker.
type watchWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	ready  chan struct{}
	seen   bool
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if !w.seen && strings.Contains(w.buf.String(), w.marker) {
		w.seen = true
		close(w.ready)
	}
	return n, err
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestDevRunsUntilStopped runs `devenv dev` (with a prebuilt handler) until
// it is ready, checks what it prints and the settings file, then stops it
// as Ctrl-C does and checks that the settings file is gone.
func TestDevRunsUntilStopped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := &watchWriter{marker: "Ctrl-C stops everything", ready: make(chan struct{})}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"dev", "-state-dir", dir, "-handler", testHandler(t)}, out, out)
	}()
	select {
	case <-out.ready:
	case err := <-done:
		t.Fatalf("dev ended before it was ready: %v\n%s", err, out.String())
	}
	printed := out.String()
	for _, want := range []string{"Graph simulator", "Local broker", "Event feed", "Handler log", "gdapctl settings",
		"GDAP_COMMANDS_QUEUE=gdap-commands", "GDAP_PC_CLIENT_SECRET=(set)", "bin/gdapctl send gdap.relationship.removeGlobalAdmin --data"} {
		require.Contains(t, printed, want)
	}
	require.NotContains(t, printed, devstack.PCClientSecret)
	cfg := filepath.Join(dir, devstack.ConfigFileName)
	raw, err := os.ReadFile(cfg)
	require.NoError(t, err)
	require.Contains(t, string(raw), "GDAPCTL_BROKER_URL=http://127.0.0.1:")
	require.FileExists(t, filepath.Join(dir, devstack.HandlerLogName))

	cancel()
	require.NoError(t, <-done)
	require.Contains(t, out.String(), "gdapflow dev: stopped")
	require.NoFileExists(t, cfg)
}
