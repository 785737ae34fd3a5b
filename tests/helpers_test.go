package tests

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

// Role template ids used by the tests.
const (
	roleHelpdesk  = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	roleUserAdmin = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	customerA     = "aaaaaaaa-1111-4111-8111-000000000001"
	customerB     = "bbbbbbbb-2222-4222-8222-000000000002"
)

// addRelationship seeds one relationship with sensible defaults.
func addRelationship(t *testing.T, b *bundle, rel gdap.Relationship) string {
	t.Helper()
	if rel.Duration == "" {
		rel.Duration = "P730D"
	}
	if rel.AutoExtendDuration == "" {
		rel.AutoExtendDuration = gdap.AutoExtendOff
	}
	if rel.UnifiedRoles == nil {
		rel.UnifiedRoles = []string{roleHelpdesk}
	}
	if rel.Customer.TenantID == "" && rel.Status != gdap.StatusCreated {
		rel.Customer = gdap.Customer{TenantID: customerA, DisplayName: "Contoso"}
	}
	id, err := b.Graph.AddRelationship(rel)
	require.NoError(t, err)
	return id
}

// relationship reads the simulator's current state of a relationship.
func relationship(t *testing.T, b *bundle, id string) gdap.Relationship {
	t.Helper()
	rel, ok := b.Graph.Relationship(id)
	require.True(t, ok, "relationship %s exists", id)
	return rel
}

// journal returns the simulator's journal entries for a method on paths
// containing fragment (and, if status > 0, with that status).
func journal(b *bundle, method, fragment string, status int) []graphsim.JournalEntry {
	var out []graphsim.JournalEntry
	for _, e := range b.Graph.Journal() {
		if e.Method == method && strings.Contains(e.Path, fragment) && (status == 0 || e.Status == status) {
			out = append(out, e)
		}
	}
	return out
}

// writes counts the simulator requests that modify state (POST, PATCH,
// DELETE) on paths containing fragment.
func writes(b *bundle, fragment string) int {
	n := 0
	for _, m := range []string{http.MethodPost, http.MethodPatch, http.MethodDelete} {
		n += len(journal(b, m, fragment, 0))
	}
	return n
}

// graphCalls counts every Graph request the simulator saw.
func graphCalls(b *bundle) int {
	n := 0
	for _, e := range b.Graph.Journal() {
		if strings.HasPrefix(e.Path, "/beta/") || strings.HasPrefix(e.Path, "/v1.0/") {
			n++
		}
	}
	return n
}

// simPost sends a Graph POST to the simulator as another client would.
func simPost(t *testing.T, b *bundle, path string, body any) *http.Response {
	t.Helper()
	return simSend(t, b, http.MethodPost, path, "", body)
}

// simPatch sends a Graph PATCH with If-Match as another client would.
func simPatch(t *testing.T, b *bundle, path, ifMatch string, body any) *http.Response {
	t.Helper()
	return simSend(t, b, http.MethodPatch, path, ifMatch, body)
}

func simSend(t *testing.T, b *bundle, method, path, ifMatch string, body any) *http.Response {
	t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), method, b.SimURL+"/beta"+path, bytes.NewReader(raw))
	require.NoError(t, err)
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	req.Header.Set("Authorization", "Bearer other-client")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// requireFailed asserts a failed outcome with code.
func requireFailed(t *testing.T, o devstack.Outcome, code string) {
	t.Helper()
	require.False(t, o.Succeeded(), "expected %s, got success", code)
	require.Equal(t, code, string(o.Error.Code), "message: %s", o.Error.Message)
	require.NotEmpty(t, o.Error.Message)
}

// requireSucceeded asserts a succeeded outcome.
func requireSucceeded(t *testing.T, o devstack.Outcome) {
	t.Helper()
	require.True(t, o.Succeeded(), "failed: %s: %s", o.Error.Code, o.Error.Message)
}

// devstackOptions is devstack.Options, for setup's mutators.
type devstackOptions = devstack.Options

// replayContinuations re-sends every continuation published so far under a
// new message id (as if redelivered after the duplicate-detection window),
// and one naming an unknown operation. It returns how many it replayed.
func replayContinuations(t *testing.T, b *bundle) int {
	t.Helper()
	n := 0
	for _, d := range b.Emu.Accepted("gdap-continuations") {
		m := d.Message
		m.MessageID = "replay-" + m.MessageID
		m.ScheduledEnqueueTime = nil
		_, err := b.Emu.Send(t.Context(), "gdap-continuations", m)
		require.NoError(t, err)
		n++
	}
	_, err := b.Emu.Send(t.Context(), "gdap-continuations", bus.Message{
		MessageID: "unknown-op", ContentType: "application/json",
		Body: []byte(`{"kind":"resume","operationId":"no-such-op","wakeId":"no-such-op.c1"}`),
	})
	require.NoError(t, err)
	return n
}

// graphsimSeed is a deterministic seeded population of n relationships.
func graphsimSeed(n int) graphsim.SeedOptions { return graphsim.SeedOptions{Count: n, Seed: 7} }

// mustEvents returns every published event.
func mustEvents(t *testing.T, b *bundle) []devstack.Event {
	t.Helper()
	evs, err := b.Events()
	require.NoError(t, err)
	return evs
}

// eventsFor returns the relationship ids (event subjects) of events of a type.
func eventsFor(t *testing.T, b *bundle, typ string) []string {
	t.Helper()
	evs, err := b.EventsOfType(typ)
	require.NoError(t, err)
	ids := make([]string, 0, len(evs))
	for _, e := range evs {
		ids = append(ids, e.Subject)
	}
	return ids
}
