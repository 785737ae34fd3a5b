package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
)

// devBundle is a dev stack started as `make dev` starts it, and the
// environment that points gdapctl at it.
type devBundle struct {
	*devstack.Dev
	env map[string]string
}

func setupDev(t *testing.T) *devBundle {
	t.Helper()
	d, err := devstack.StartDev(t.Context(), devstack.DevOptions{
		HandlerPath: testHandler(t),
		StateDir:    t.TempDir(),
		Azurite:     localenv.SharedAzurite(t),
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Close()) })
	return &devBundle{Dev: d, env: map[string]string{envConfig: d.ConfigPath}}
}

// gdapctl runs the CLI against the stack.
func (b *devBundle) gdapctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(t, b.env, args...)
}

func TestDevStackEndToEnd(t *testing.T) {
	t.Parallel()
	b := setupDev(t)

	// The settings file make dev writes holds everything gdapctl needs.
	raw, err := os.ReadFile(b.ConfigPath)
	require.NoError(t, err)
	for _, k := range []string{envBrokerURL, envDevFeedURL, envTablesConnectionString, envTablePrefix, envCommandsQueue, envEventsTopic} {
		require.Contains(t, string(raw), k+"=")
	}

	// A 202 long-running operation completes after a handful of polls.
	polls := b.Polls()
	code, out, errOut := b.gdapctl(t, "send", "gdap.relationship.removeGlobalAdmin", "--id", "op-e2e-ga",
		"--relationship-id", b.Sample.ExpiringGA, "--data", `{"enableAutoExtend":true}`, "--wait", "--timeout", "2m")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, out, "sent gdap.relationship.removeGlobalAdmin op-e2e-ga to gdap-commands")
	require.Regexp(t, `outcome\s+succeeded  \(gdap.operation.succeeded\)`, out)
	require.Regexp(t, `relationship\s+`+b.Sample.ExpiringGA, out)
	polls = b.Polls() - polls
	t.Logf("Graph polls of the operation: %d", polls)
	require.LessOrEqual(t, polls, 5, "polls of the operation and request URLs")

	// A refused change fails: renaming an active relationship.
	code, out, errOut = b.gdapctl(t, "send", "gdap.relationship.update", "--id", "op-e2e-rename",
		"--relationship-id", b.Sample.Extending, "--data", `{"changes":{"displayName":"Northwind renamed"}}`, "--wait", "--timeout", "2m")
	require.Equal(t, exitFailed, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Regexp(t, `outcome\s+failed  \(gdap.operation.failed\)`, out)
	require.Contains(t, out, "invalid_state")
	require.Contains(t, errOut, "operation op-e2e-rename: failed")

	// The same MessageId again is dropped by duplicate detection; --wait
	// still finds the outcome already published.
	code, out, errOut = b.gdapctl(t, "send", "gdap.relationship.removeGlobalAdmin", "--id", "op-e2e-ga",
		"--relationship-id", b.Sample.ExpiringGA, "--data", `{"enableAutoExtend":true}`, "--wait", "--timeout", "2m")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, out, "duplicate detection dropped it")

	// status, in words and as JSON.
	code, out, errOut = b.gdapctl(t, "status", "op-e2e-ga")
	require.Equal(t, exitOK, code, errOut)
	require.Regexp(t, `state\s+succeeded — finished: succeeded`, out)
	require.Regexp(t, `command\s+gdap.relationship.removeGlobalAdmin`, out)
	require.Regexp(t, `last error\s+none`, out)
	require.Regexp(t, `outcome event\s+published`, out)
	require.Regexp(t, `finished\s+\d{4}-\d\d-\d\d `, out)
	code, out, errOut = b.gdapctl(t, "status", "op-e2e-rename", "--output", "json")
	require.Equal(t, exitOK, code, errOut)
	var st opView
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	require.Equal(t, "failed", st.State)
	require.NotNil(t, st.LastError)
	require.Equal(t, "invalid_state", st.LastError.Code)
	code, _, errOut = b.gdapctl(t, "status", "op-never-sent")
	require.Equal(t, exitError, code)
	require.Contains(t, errOut, "operation op-never-sent is not in table "+b.Env["GDAP_TABLE_PREFIX"]+"operations")

	// operations by state and age.
	code, out, errOut = b.gdapctl(t, "operations", "--state", "failed", "--since", "24h")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "OPERATION")
	require.Regexp(t, `op-e2e-rename\s+failed\s+gdap.relationship.update`, out)
	require.NotContains(t, out, "op-e2e-ga")
	code, out, errOut = b.gdapctl(t, "operations", "--since", "24h", "--output", "json")
	require.Equal(t, exitOK, code, errOut)
	var ops []opView
	require.NoError(t, json.Unmarshal([]byte(out), &ops))
	ids := map[string]string{}
	for _, o := range ops {
		ids[o.OperationID] = o.State
	}
	require.Equal(t, "succeeded", ids["op-e2e-ga"])
	require.Equal(t, "failed", ids["op-e2e-rename"])

	// expiring, from the first sweep's snapshot.
	code, out, errOut = b.gdapctl(t, "expiring", "--within", "30d")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "snapshot of sweep")
	require.Contains(t, out, "GLOBAL ADMIN")
	line := func(id string) string {
		for l := range strings.SplitSeq(out, "\n") {
			if strings.Contains(l, id) {
				return l
			}
		}
		t.Fatalf("%s not listed:\n%s", id, out)
		return ""
	}
	require.Regexp(t, `\s20\s.*\soff\s+yes\s+auto-extend is off and it holds Global Administrator`, line(b.Sample.ExpiringGA))
	require.Regexp(t, `\s25\s.*\soff\s+no\s+auto-extend is off: gdap.relationship.update`, line(b.Sample.Expiring))
	require.Regexp(t, `\s10\s.*\son \(P180D\)\s+no\s+- \(Graph extends it`, line(b.Sample.Extending))
	code, out, errOut = b.gdapctl(t, "expiring", "--within", "30d", "--lapse-only", "--output", "json")
	require.Equal(t, exitOK, code, errOut)
	var exp struct {
		Relationships []expiringView `json:"relationships"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &exp))
	byID := map[string]expiringView{}
	for _, r := range exp.Relationships {
		require.True(t, r.WillLapse)
		byID[r.RelationshipID] = r
	}
	require.Contains(t, byID, b.Sample.Expiring)
	require.True(t, byID[b.Sample.ExpiringGA].GlobalAdmin)
	require.NotContains(t, byID, b.Sample.Extending)

	// A new sweep refreshes the snapshot: Contoso now auto-extends.
	code, out, errOut = b.gdapctl(t, "send", "gdap.sweep.run", "--wait", "--timeout", "2m")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	code, out, errOut = b.gdapctl(t, "expiring", "--within", "30d")
	require.Equal(t, exitOK, code, errOut)
	require.Regexp(t, `\s20\s.*\son \(P180D\)\s+no\s+- \(Graph extends it`, line(b.Sample.ExpiringGA))
}

func TestDevStackInvalidCommandIsNotSent(t *testing.T) {
	t.Parallel()
	b := setupDev(t)
	queue := b.Env["GDAP_COMMANDS_QUEUE"]
	before := len(b.Emu.Accepted(queue))
	code, out, errOut := b.gdapctl(t, "send", "gdap.relationship.update", "--relationship-id", b.Sample.Expiring,
		"--data", `{"changes":{"autoExtendDuration":180}}`, "--wait")
	require.Equal(t, exitUsage, code, out)
	require.Contains(t, errOut, "invalid command, not sent: data.changes.autoExtendDuration:")
	require.Len(t, b.Emu.Accepted(queue), before, "nothing reached the queue")
}
