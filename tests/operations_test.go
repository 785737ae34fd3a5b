package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/dev/hostemu"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

// TestNoSecretsInLogsEventsOrLedger runs commands that use every credential
// (Graph bearer token, Partner Center client secret, refresh token with
// rotation, access tokens) and fails, then searches the handler's output,
// every event and every ledger entity for them.
func TestNoSecretsInLogsEventsOrLedger(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	id := addRelationship(t, b, gdap.Relationship{DisplayName: "secrets", Status: gdap.StatusCreated})
	tenant := "12121212-0000-4000-8000-000000000001"
	b.PC.AddCustomer(tenant, "Secretive", true)
	b.send(t, "op-s1", command.TypeRelationshipUpdate, update(id, map[string]any{"displayName": "s2"}))
	b.send(t, "op-s2", command.TypeRemoveDAP, removeDap(tenant))
	b.send(t, "op-s3", command.TypeRemoveDAP, removeDap("12121212-0000-4000-8000-0000000000ff"))
	b.drain(t)
	requireSucceeded(t, b.outcome(t, "op-s1"))
	requireSucceeded(t, b.outcome(t, "op-s2"))
	requireFailed(t, b.outcome(t, "op-s3"), "not_found")

	forbidden := []string{devstack.GraphToken, devstack.PCClientSecret, b.RefreshToken, "pcsim.at.", "pcsim.rt.", "Bearer "}
	check := func(where, text string) {
		for _, f := range forbidden {
			require.NotContains(t, text, f, "%s leaks a credential", where)
		}
	}
	out := b.out.String()
	check("handler output", out)
	// Every line the handler wrote is a JSON object on stdout.
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	lines := 0
	for sc.Scan() {
		line := sc.Text()
		require.False(t, strings.HasPrefix(line, hostemu.StderrPrefix), "nothing on stderr: %s", line)
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "not JSON: %s", line)
		require.Contains(t, m, "level")
		require.Contains(t, m, "msg")
		lines++
	}
	require.Positive(t, lines)
	for _, d := range b.Emu.Accepted("gdap-events") {
		check("event "+d.MessageID, string(d.Body))
	}
	for _, d := range b.Emu.Accepted("gdap-continuations") {
		check("continuation "+d.MessageID, string(d.Body))
	}
	// The ledger, read raw.
	svc, err := aztables.NewServiceClientFromConnectionString(b.TablesConnectionString(), nil)
	require.NoError(t, err)
	pager := svc.NewClient(b.Env["GDAP_TABLE_PREFIX"] + "operations").NewListEntitiesPager(nil)
	entities := 0
	for pager.More() {
		page, err := pager.NextPage(t.Context())
		require.NoError(t, err)
		for _, e := range page.Entities {
			check("ledger entity", string(e))
			entities++
		}
	}
	require.Equal(t, 3, entities)
}

// TestOperationLogsCarryIDs checks the per-invocation child logger: every
// line about an operation carries its operation id and correlation id.
func TestOperationLogsCarryIDs(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	id := addRelationship(t, b, gdap.Relationship{DisplayName: "logs", Status: gdap.StatusActive,
		UnifiedRoles: []string{roleHelpdesk, gdap.GlobalAdminRoleID}})
	b.send(t, "op-logs", command.TypeRemoveGlobalAdmin, map[string]any{"relationshipId": id})
	b.drain(t)
	requireSucceeded(t, b.outcome(t, "op-logs"))
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(b.out.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		if m["function"] == "continuations" {
			require.Equal(t, "op-logs", m["correlation_id"], line)
			if m["msg"] != "invocation done" {
				require.Equal(t, "op-logs", m["operation_id"], line)
			}
			seen++
		}
	}
	require.Positive(t, seen)
	// The host also gets the invocation's lines in the response's Logs.
	logged := false
	for _, inv := range b.Emu.Invocations() {
		for _, l := range inv.Logs {
			if strings.Contains(l, "operation_id=op-logs") {
				logged = true
			}
		}
	}
	require.True(t, logged)
}

// TestHandlerRestartMidRun kills the handler while invocations are in
// flight, in the worst place: after Graph received the PATCH and before the
// handler saw the answer. The emulator restarts the handler as the host
// would and redelivers; every operation still ends exactly once, and each
// relationship was written exactly once (the re-executed step finds the
// change already applied).
func TestHandlerRestartMidRun(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	var ids []string
	for i := range 6 {
		ids = append(ids, addRelationship(t, b, gdap.Relationship{DisplayName: "restart-" + string(rune('a'+i)), Status: gdap.StatusCreated}))
	}
	// The first PATCH signals that it reached Graph; slow PATCHes keep the
	// invocations in flight while the handler is killed.
	patching := make(chan struct{})
	require.NoError(t, b.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteRelationship, Method: http.MethodPatch,
		Kind: graphsim.FaultBefore, Times: 1, Before: func() { close(patching) }}))
	require.NoError(t, b.Graph.AddFault(graphsim.Fault{Route: graphsim.RouteRelationship, Method: http.MethodPatch,
		Kind: graphsim.FaultLatency, Latency: 300 * time.Millisecond, Times: 6}))
	for i, id := range ids {
		b.send(t, "op-restart-"+string(rune('a'+i)), command.TypeRelationshipUpdate, update(id, map[string]any{"displayName": "restarted-" + string(rune('a'+i))}))
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		done <- b.Drain(ctx)
	}()
	select {
	case <-patching:
	case <-time.After(time.Minute):
		t.Fatal("no PATCH reached the simulator")
	}
	require.NoError(t, b.Emu.KillHandler())
	require.NoError(t, <-done)

	for i, id := range ids {
		requireSucceeded(t, b.outcome(t, "op-restart-"+string(rune('a'+i))))
		require.Equal(t, "restarted-"+string(rune('a'+i)), relationship(t, b, id).DisplayName)
		require.Len(t, journal(b, http.MethodPatch, id, http.StatusOK), 1, "written once")
	}
	redelivered := 0
	for _, inv := range b.Emu.Invocations() {
		if inv.DeliveryCount > 1 {
			redelivered++
		}
	}
	require.Positive(t, redelivered, "the kill interrupted at least one invocation")
}

// TestBadSettingStopsStartup runs the handler binary with a bad setting: it
// exits at once with one line naming the setting.
func TestBadSettingStopsStartup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env     []string
		setting string
	}{
		{[]string{"FUNCTIONS_CUSTOMHANDLER_PORT=1", "GDAP_BROKER_URL=http://127.0.0.1:1", "GDAP_TABLES_CONNECTION_STRING=x", "GDAP_AUTO_EXTEND_POLICY=sometimes"}, "GDAP_AUTO_EXTEND_POLICY"},
		{[]string{"FUNCTIONS_CUSTOMHANDLER_PORT=1", "GDAP_TABLES_CONNECTION_STRING=x"}, "ServiceBusConnection__fullyQualifiedNamespace"},
		{[]string{"FUNCTIONS_CUSTOMHANDLER_PORT=1", "GDAP_BROKER_URL=http://127.0.0.1:1", "GDAP_TABLES_CONNECTION_STRING=x", "GDAP_DEV_BEARER_TOKEN=t"}, "GDAP_DEV_BEARER_TOKEN"},
	} {
		cmd := exec.CommandContext(t.Context(), handlerPath)
		cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, tc.env...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		require.Error(t, err)
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		require.Len(t, lines, 1, "one line: %q", stderr.String())
		require.Contains(t, lines[0], tc.setting)
		require.Empty(t, stdout.String())
	}
}
