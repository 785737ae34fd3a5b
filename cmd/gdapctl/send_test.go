package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
)

// runCLI runs gdapctl in-process with an empty environment plus env.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
	code = run(t.Context(), args, &out, &errb, lookup)
	return code, out.String(), errb.String()
}

func TestSendInvalidCommandNamesTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		field string
	}{
		{"auto-extend not allowed", []string{"gdap.relationship.update", "--relationship-id", "a1b2c3d4-0000-4000-8000-000000000001-a1b2c3d4-0000-4000-8000-000000000002",
			"--data", `{"changes":{"autoExtendDuration":180}}`}, "data.changes.autoExtendDuration"},
		{"missing relationshipId", []string{"gdap.relationship.removeGlobalAdmin"}, "data.relationshipId"},
		{"bad customer tenant", []string{"gdap.customer.removeDap", "--customer-tenant-id", "not-a-guid"}, "data.customerTenantId"},
		{"bad id", []string{"gdap.sweep.run", "--id", "has space"}, "id"},
		{"unknown type", []string{"gdap.nope", "--data", `{}`}, "type"},
		{"create name too long", []string{"gdap.relationship.create", "--data", `{"displayName":"` + strings.Repeat("n", 51) + `","duration":"P730D",
			"accessDetails":{"unifiedRoles":[{"roleDefinitionId":"f2ef992c-3afb-46b9-b7cf-a126ee74c451"}]}}`}, "data.displayName"},
		{"offboard removeDap not a bool", []string{"gdap.customer.offboard", "--customer-tenant-id", "a1b2c3d4-0000-4000-8000-000000000001",
			"--data", `{"removeDap":"yes"}`}, "data.removeDap"},
		{"replace without roles", []string{"gdap.relationship.replace", "--relationship-id", "a1b2c3d4-0000-4000-8000-000000000001",
			"--data", `{"accessDetails":{"unifiedRoles":[]}}`}, "data.accessDetails.unifiedRoles"},
		{"assignments group not a GUID", []string{"gdap.relationship.accessAssignments.set", "--relationship-id", "a1b2c3d4-0000-4000-8000-000000000001",
			"--data", `{"assignments":[{"securityGroupId":"admins","roles":[{"roleDefinitionId":"f2ef992c-3afb-46b9-b7cf-a126ee74c451"}]}]}`}, "data.assignments[0].securityGroupId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// --broker-url points nowhere: validation fails before any send.
			code, stdout, stderr := runCLI(t, nil, append([]string{"send", "--broker-url", "http://127.0.0.1:1"}, tt.args...)...)
			require.Equal(t, exitUsage, code, stderr)
			require.Empty(t, stdout)
			require.Contains(t, stderr, "invalid command, not sent: "+tt.field+":")
		})
	}
}

func TestSendDryRunBuildsTheCloudEvent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "data.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"changes":{"autoExtendDuration":"P180D"}}`), 0o600))
	code, stdout, stderr := runCLI(t, nil, "send", "gdap.relationship.update", "--dry-run", "--id", "op-1",
		"--relationship-id", "a1b2c3d4-0000-4000-8000-000000000001-a1b2c3d4-0000-4000-8000-000000000002", "--data", "@"+file)
	require.Equal(t, exitOK, code, stderr)
	for _, want := range []string{`"id": "op-1"`, `"specversion": "1.0"`, `"source": "/gdapctl"`, `"type": "gdap.relationship.update"`,
		`"autoExtendDuration": "P180D"`, `"relationshipId": "a1b2c3d4-`} {
		require.Contains(t, stdout, want)
	}
}

func TestSendUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no type", []string{"send"}, "exactly one command type"},
		{"data not JSON", []string{"send", "gdap.sweep.run", "--data", "{"}, "--data is not a JSON object"},
		{"data file missing", []string{"send", "gdap.sweep.run", "--data", "@/nonexistent/x.json"}, "--data"},
		{"unknown flag", []string{"send", "gdap.sweep.run", "--nope"}, "unknown flag"},
		{"bad output", []string{"send", "gdap.sweep.run", "--output", "yaml"}, "--output must be table or json"},
		{"bad since", []string{"operations", "--since", "yesterday"}, "--since"},
		{"bad state", []string{"operations", "--state", "done"}, "--state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runCLI(t, nil, tt.args...)
			require.Equal(t, exitUsage, code, stderr)
			require.Contains(t, stderr, tt.want)
		})
	}
}

func TestUnreachableLocalStackSaysSo(t *testing.T) {
	t.Parallel()
	// Port 1 on loopback refuses connections.
	code, _, stderr := runCLI(t, nil, "send", "gdap.sweep.run", "--broker-url", "http://127.0.0.1:1")
	require.Equal(t, exitError, code)
	require.Contains(t, stderr, "cannot reach the local broker at http://127.0.0.1:1: is `make dev` running?")
}

func TestNoTableStorageConfigured(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() // no settings file up from here (t.TempDir is outside the repository)
	code, _, stderr := runCLI(t, map[string]string{envConfig: filepath.Join(dir, "none.env")}, "status", "op-1")
	require.Equal(t, exitError, code)
	require.Contains(t, stderr, "settings file")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "empty.env"), []byte("# nothing\n"), 0o600))
	code, _, stderr = runCLI(t, map[string]string{envConfig: filepath.Join(dir, "empty.env")}, "status", "op-1")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "no Table Storage: set --tables-endpoint")
}

func TestHelpOnEveryCommand(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"send", "status", "operations", "expiring"} {
		code, stdout, stderr := runCLI(t, nil, c, "--help")
		require.Equal(t, exitOK, code, stderr)
		require.Contains(t, stdout, "Usage:")
		require.Contains(t, stdout, "--output")
	}
}

func TestSettingsPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sub := filepath.Join(dir, "a", "b")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ".gdapdev"), 0o755))
	require.NoError(t, os.MkdirAll(sub, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, devConfigRelPath),
		[]byte("GDAPCTL_TABLE_PREFIX=fromfile\nGDAPCTL_EVENTS_TOPIC=fromfile\nGDAPCTL_COMMANDS_QUEUE=fromfile\n"), 0o600))
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	var s settings
	s.register(fs)
	require.NoError(t, fs.Parse([]string{"--commands-queue", "fromflag"}))
	env := map[string]string{envEventsTopic: "fromenv"}
	require.NoError(t, s.resolve(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, sub))
	require.Equal(t, "fromfile", s.TablePrefix)
	require.Equal(t, "fromenv", s.EventsTopic)
	require.Equal(t, "fromflag", s.CommandsQueue)
	require.Equal(t, "table", s.Output)
	require.Equal(t, filepath.Join(dir, devConfigRelPath), s.ConfigFile)
}

func TestParseSpan(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "24h": 24 * time.Hour, "90m": 90 * time.Minute, "0d": 0} {
		got, err := parseSpan("x", in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "d", "-1d", "1w", "-5h"} {
		_, err := parseSpan("x", in)
		require.Error(t, err, in)
	}
}

func TestWaitOutcomeMatchesTheOperation(t *testing.T) {
	t.Parallel()
	evs := &fakeEvents{batches: [][]event{
		{{Type: "gdap.relationship.expiring", Data: []byte(`{"relationshipId":"r"}`)}},
		{{Type: typeSucceeded, Data: []byte(`{"operationId":"other"}`)}, {Type: typeRejected, Data: []byte(`{"operationId":"","messageId":"op-9","error":{"code":"invalid_command","message":"x"}}`)}},
	}}
	e, err := waitOutcome(t.Context(), evs, "op-9")
	require.NoError(t, err)
	require.Equal(t, typeRejected, e.Type)
	require.True(t, strings.Contains(string(e.Data), "op-9"))
}

// fakeEvents is an eventStream serving fixed batches, then blocking.
type fakeEvents struct{ batches [][]event }

var _ eventStream = (*fakeEvents)(nil)

func (f *fakeEvents) Next(ctx context.Context) ([]event, error) {
	if len(f.batches) == 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	b := f.batches[0]
	f.batches = f.batches[1:]
	return b, nil
}
func (f *fakeEvents) Rewind()                     {}
func (f *fakeEvents) Close(context.Context) error { return nil }
