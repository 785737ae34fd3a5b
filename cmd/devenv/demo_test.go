package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/localenv"
)

// TestDemoScript runs the `make demo` script (the same code path, with a
// smaller burst) so that breaking the demo breaks the tests.
func TestDemoScript(t *testing.T) {
	t.Parallel()
	var out, logs localenv.Buffer
	rep, err := playDemo(t.Context(), demoConfig{
		Out:           &out,
		HandlerPath:   testHandler(t),
		Azurite:       localenv.SharedAzurite(t),
		HandlerOutput: &logs,
		BurstSize:     6,
		ReportDir:     t.TempDir(),
	})
	if err != nil || t.Failed() {
		lines := strings.Split(logs.String(), "\n")
		t.Logf("timeline:\n%s\nlast handler log lines:\n%s", out.String(), strings.Join(lines[max(0, len(lines)-50):], "\n"))
	}
	require.NoError(t, err)
	require.Empty(t, rep.Failures)
	require.Zero(t, rep.DeadLetters)
	require.Positive(t, rep.Passed)
	require.Equal(t, 18+6, rep.Commands, "commands the script sends: 18 plus the burst")
	text := out.String()
	for i := 1; i <= 13; i++ {
		require.Contains(t, text, fmt.Sprintf("── %d. ", i))
	}
	require.Contains(t, text, "── SUMMARY")
	require.Contains(t, text, "report saved under ")
	require.Contains(t, text, "412")
	require.Contains(t, text, "429")
	require.Contains(t, text, "gdap.relationship.activated")
	require.Contains(t, text, "signed granular-admin-relationship-activated: HTTP 200")
	require.Contains(t, text, "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/granularAdminRelationships/")
	require.NotContains(t, text, "✗")
	if rep.SweepPending != "" {
		t.Logf("sweep step: %s", rep.SweepPending)
	}
}

func TestPrintTail(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "handler.log")
	var b strings.Builder
	for i := 1; i <= 60; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	var out bytes.Buffer
	printTail(&out, path, 50)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 50)
	require.Equal(t, "line 11", lines[0])
	require.Equal(t, "line 60", lines[49])
}
