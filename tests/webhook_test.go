package tests

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/dev/pcsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/webhook"
)

// idle runs what is due now, without moving the virtual clock.
func (b *bundle) idle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	require.NoError(t, b.Emu.Idle(ctx))
}

// TestOnboardingFollowUpWebhook: like TestOnboardingFollowUp, but Partner
// Center's signed granular-admin-relationship-activated webhook, not the
// sweep, announces the activation and wakes the follow-up: it completes
// without the virtual clock moving, no sweep having run.
func TestOnboardingFollowUpWebhook(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.send(t, "op-onboard-hook", command.TypeRelationshipCreate, createData("Fabrikam", map[string]any{
		"customer":          map[string]any{"tenantId": customerB, "displayName": "Fabrikam"},
		"accessAssignments": []any{assignment(groupHelpdesk, roleHelpdesk)}}))
	b.advance(t, 5*time.Minute, 10*time.Second)
	created := b.outcome(t, "op-onboard-hook")
	requireSucceeded(t, created)
	relID := created.Result.Relationship.ID

	b.advance(t, 3*24*time.Hour, time.Hour)
	require.NoError(t, b.Graph.Approve(relID, nil))
	b.Clock.Advance(2 * time.Minute) // approved → activating → active
	before := b.Clock.Now()
	status, err := b.DeliverWebhook(t.Context(), webhook.EventRelationshipActivated, relID)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	b.advance(t, time.Minute, 10*time.Second) // the assignments become active within seconds

	require.Equal(t, []string{relID}, eventsFor(t, b, "gdap.relationship.activated"))
	o := b.outcome(t, created.Result.FollowUpOperationID)
	requireSucceeded(t, o)
	require.Equal(t, command.TypeAssignmentsSet, o.CommandType)
	require.Len(t, journal(b, http.MethodPost, relID+"/accessAssignments", http.StatusCreated), 1)
	require.Less(t, b.Clock.Now().Sub(before), 2*time.Minute, "woken by the webhook, not by the daily poll or the sweep")
	for _, inv := range b.Emu.Invocations() {
		require.NotEqual(t, "expiry-sweep", inv.Function)
	}

	// Partner Center retrying the delivery, and the next sweep: nothing new.
	status, err = b.DeliverWebhook(t.Context(), webhook.EventRelationshipActivated, relID)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	b.Clock.Advance(6 * time.Hour) // the next scheduled sweep
	require.NoError(t, b.Emu.FireTimer(t.Context(), "expiry-sweep"))
	b.drain(t)
	require.Equal(t, []string{relID}, eventsFor(t, b, "gdap.relationship.activated"))
}

// TestWebhookSweepBackstop: one activation is delivered by webhook, the
// other's webhook never comes; the sweep announces the second, and each
// relationship is announced once.
func TestWebhookSweepBackstop(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	hooked := addRelationship(t, b, pendingRelationship("Hooked"))
	missed := addRelationship(t, b, pendingRelationship("Missed"))
	require.NoError(t, b.Emu.FireTimer(t.Context(), "expiry-sweep"))
	b.drain(t)
	require.NoError(t, b.Graph.Approve(hooked, nil))
	require.NoError(t, b.Graph.Approve(missed, nil))
	b.Clock.Advance(2 * time.Minute)
	status, err := b.DeliverWebhook(t.Context(), webhook.EventRelationshipActivated, hooked)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	b.idle(t)
	require.Equal(t, []string{hooked}, eventsFor(t, b, "gdap.relationship.activated"))

	b.Clock.Advance(6 * time.Hour) // the next scheduled sweep
	require.NoError(t, b.Emu.FireTimer(t.Context(), "expiry-sweep"))
	b.drain(t)
	require.ElementsMatch(t, []string{hooked, missed}, eventsFor(t, b, "gdap.relationship.activated"))
}

// TestWebhookRejected: every delivery that fails authentication gets 401,
// every oversized or malformed one 400, a replay 200; none enqueues anything.
func TestWebhookRejected(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	relID := addRelationship(t, b, pendingRelationship("Target"))
	now := b.Clock.Now()
	body := func(at time.Time) []byte {
		raw, err := json.Marshal(pcsim.RelationshipEvent(webhook.EventRelationshipActivated, relID, at))
		require.NoError(t, err)
		return raw
	}
	replayed := body(now.Add(-time.Minute))
	status, err := b.PC.Deliver(t.Context(), pcsim.Delivery{Body: replayed})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "the genuine first delivery")
	b.idle(t)
	refreshes := len(b.Emu.Accepted("gdap-continuations"))
	require.Positive(t, refreshes)

	certHost := b.Env["GDAP_WEBHOOK_CERT_HOSTS"]
	tests := []struct {
		name   string
		d      pcsim.Delivery
		status int
	}{
		{"forged signature", pcsim.Delivery{Body: body(now), Forge: true}, http.StatusUnauthorized},
		{"certificate on a host not allowed", pcsim.Delivery{Body: body(now), CertificateURL: "https://3psostorageacct.blob.core.windows.net" + pcsim.SigningCertPath}, http.StatusUnauthorized},
		{"certificate over http", pcsim.Delivery{Body: body(now), CertificateURL: "http://" + certHost + pcsim.SigningCertPath}, http.StatusUnauthorized},
		{"expired certificate", pcsim.Delivery{Body: body(now), CertificateURL: pcsim.ExpiredCertPath}, http.StatusUnauthorized},
		{"self-signed certificate", pcsim.Delivery{Body: body(now), CertificateURL: pcsim.UntrustedCertPath}, http.StatusUnauthorized},
		{"wrong algorithm", pcsim.Delivery{Body: body(now), Algorithm: "rsa-sha1"}, http.StatusUnauthorized},
		{"stale ResourceChangeUtcDate", pcsim.Delivery{Body: body(now.Add(-48 * time.Hour))}, http.StatusUnauthorized},
		{"1 MiB body", pcsim.Delivery{Body: []byte(`{"EventName":"x","Pad":"` + strings.Repeat("a", 1<<20) + `"}`)}, http.StatusBadRequest},
		{"malformed JSON", pcsim.Delivery{Body: []byte(`{"EventName":"granular-admin-relationship-activated",`)}, http.StatusBadRequest},
		{"replayed delivery", pcsim.Delivery{Body: replayed}, http.StatusOK},
	}
	for _, tc := range tests {
		status, err := b.PC.Deliver(t.Context(), tc.d)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.status, status, tc.name)
	}
	b.idle(t)
	require.Len(t, b.Emu.Accepted("gdap-continuations"), refreshes, "nothing enqueued")
	require.Empty(t, eventsFor(t, b, "gdap.relationship.activated"))
	require.Contains(t, b.out.String(), `"reason":"signature_mismatch"`)
	require.Contains(t, b.out.String(), `"reason":"certificate_host_not_allowed"`)
	require.Contains(t, b.out.String(), `"reason":"certificate_not_trusted"`)
}

// pendingRelationship is a relationship awaiting the customer's approval.
func pendingRelationship(name string) gdap.Relationship {
	return gdap.Relationship{DisplayName: name, Status: gdap.StatusApprovalPending, Duration: "P730D",
		UnifiedRoles: []string{roleHelpdesk}}
}
