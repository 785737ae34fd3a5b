package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// waitBuffer is a concurrency-safe writer whose content can be waited on.
type waitBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func (w *waitBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	close(w.changed)
	w.changed = make(chan struct{})
	return w.buf.Write(p)
}

// waitLine returns the first line starting with prefix, waiting for it.
func (w *waitBuffer) waitLine(ctx context.Context, t *testing.T, prefix string) string {
	t.Helper()
	for {
		w.mu.Lock()
		content, ch := w.buf.String(), w.changed
		w.mu.Unlock()
		for _, line := range strings.Split(content, "\n") {
			if strings.HasPrefix(line, prefix) {
				return line
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			require.FailNowf(t, "output wait", "no line starting with %q in:\n%s", prefix, content)
		}
	}
}

func TestRunRelaysOutputAndPublishedEvents(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(root, "handler"), "../../internal/dev/hostemu/testdata/fakehandler")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))
	hostJSON := `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"handler"}}}`
	require.NoError(t, os.WriteFile(filepath.Join(root, "host.json"), []byte(hostJSON), 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "commands"), 0o700))
	fn, err := os.ReadFile(filepath.Join("..", "..", "functions", "commands", "function.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "commands", "function.json"), fn, 0o600))
	envFile := filepath.Join(root, "local.settings.json")
	require.NoError(t, os.WriteFile(envFile, []byte(`{"Values":{"GDAP_COMMANDS_QUEUE":"gdap-commands","FAKE_STATE_DIR":"`+root+`"}}`), 0o600))

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	stdout := &waitBuffer{changed: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		done <- run(runCtx, []string{"-script-root", root, "-env-file", envFile}, stdout, &waitBuffer{changed: make(chan struct{})})
	}()

	brokerURL := strings.TrimPrefix(stdout.waitLine(ctx, t, "GDAP_BROKER_URL="), "GDAP_BROKER_URL=")
	stdout.waitLine(ctx, t, "[stderr] fakehandler writes this to stderr")
	body := `{"action":"publish","entity":"gdap-events","messageId":"evt-1"}`
	msg, err := json.Marshal(map[string]any{"messageId": "cmd-1", "body": []byte(body)})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, brokerURL+"/gdap-commands/messages", bytes.NewReader(msg))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	line := stdout.waitLine(ctx, t, `{"body":`)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(line), &got))
	require.Equal(t, "gdap-events", got["published"])
	require.Equal(t, "evt-1", got["messageId"])
	require.Equal(t, map[string]any{"action": "ok"}, got["body"])
	stdout.waitLine(ctx, t, "INVOCATION ")

	stop()
	require.NoError(t, <-done)
	stdout.waitLine(ctx, t, "SIGTERM")
}

func TestRunFailsOnBadFlags(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	require.Error(t, run(t.Context(), []string{"-nope"}, &bytes.Buffer{}, &stderr))
	require.Error(t, run(t.Context(), []string{"-script-root", t.TempDir()}, &bytes.Buffer{}, &stderr))
}
