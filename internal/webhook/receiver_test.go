package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
	"github.com/gdapflow/gdapflow/internal/dev/pcsim"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// fakeSender records sent messages (the edge: the bus).
type fakeSender struct {
	mu   sync.Mutex
	sent []bus.Message
}

func (f *fakeSender) Send(_ context.Context, _ string, m bus.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, m)
	return nil
}

var _ sender = (*fakeSender)(nil)

type receiverBundle struct {
	pkiBundle
	rec  *Receiver
	sent *fakeSender
	inv  op.Invocation
}

func setupReceiver(t *testing.T) receiverBundle {
	t.Helper()
	b := setupPKI(t)
	client, err := localenv.SharedAzurite(t).NewTableClient(localenv.UniqueName("webhooks"))
	require.NoError(t, err)
	store := NewReplayStore(client)
	require.NoError(t, store.EnsureTable(t.Context()))
	sent := &fakeSender{}
	rec := NewReceiver(ReceiverOptions{Verifier: b.ver, Replays: store, Sender: sent, ContinuationsQueue: "continuations"})
	return receiverBundle{pkiBundle: b, rec: rec, sent: sent, inv: op.Invocation{Clock: vclock.NewOffset(testNow)}}
}

// request builds a delivery of body signed by the test PKI.
func (b receiverBundle) request(body []byte) Request {
	return Request{Method: http.MethodPost, Body: body, Headers: map[string][]string{
		"Authorization":            {"Signature " + b.pki.Sign(body)},
		"X-MS-Certificate-Url":     {b.host.URL + pcsim.SigningCertPath},
		"X-MS-Signature-Algorithm": {"rsa-sha256"},
	}}
}

func eventBody(t *testing.T, name, relID string, at time.Time) []byte {
	t.Helper()
	body, err := json.Marshal(pcsim.RelationshipEvent(name, relID, at))
	require.NoError(t, err)
	return body
}

func TestReceiverEnqueuesRefreshOnce(t *testing.T) {
	t.Parallel()
	b := setupReceiver(t)
	body := eventBody(t, EventRelationshipActivated, "rel-1", testNow.Add(-time.Minute))
	resp := b.rec.Handle(t.Context(), b.inv, b.request(body))
	require.Equal(t, http.StatusOK, resp.Status)
	require.Len(t, b.sent.sent, 1)
	var c op.Continuation
	require.NoError(t, json.Unmarshal(b.sent.sent[0].Body, &c))
	require.Equal(t, op.Continuation{Kind: op.KindRefresh, RelationshipID: "rel-1"}, c)

	// The same delivery again (Partner Center retrying): acknowledged, ignored.
	resp = b.rec.Handle(t.Context(), b.inv, b.request(body))
	require.Equal(t, http.StatusOK, resp.Status)
	require.Equal(t, "already processed", resp.Body)
	require.Len(t, b.sent.sent, 1)
}

func TestReceiverRejects(t *testing.T) {
	t.Parallel()
	b := setupReceiver(t)
	good := eventBody(t, EventRelationshipActivated, "rel-2", testNow.Add(-time.Minute))
	tests := []struct {
		name   string
		req    func() Request
		status int
	}{
		{"forged", func() Request { r := b.request(good); r.Body = append([]byte(" "), good...); return r }, http.StatusUnauthorized},
		{"stale", func() Request {
			return b.request(eventBody(t, EventRelationshipActivated, "rel-2", testNow.Add(-DefaultFreshness-time.Minute)))
		}, http.StatusUnauthorized},
		{"from the future", func() Request {
			return b.request(eventBody(t, EventRelationshipActivated, "rel-2", testNow.Add(time.Hour)))
		}, http.StatusUnauthorized},
		{"malformed json", func() Request { return b.request([]byte(`{"EventName":`)) }, http.StatusBadRequest},
		{"1 MiB", func() Request {
			return b.request([]byte(`{"EventName":"x","Pad":"` + strings.Repeat("a", 1<<20) + `"}`))
		}, http.StatusBadRequest},
		{"unsigned", func() Request { r := b.request(good); delete(r.Headers, "Authorization"); return r }, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := b.rec.Handle(t.Context(), b.inv, tc.req())
			require.Equal(t, tc.status, resp.Status, resp.Body)
		})
	}
	require.Empty(t, b.sent.sent, "nothing enqueued")
}

func TestReceiverAcknowledgesOtherEvents(t *testing.T) {
	t.Parallel()
	b := setupReceiver(t)
	for _, body := range [][]byte{
		eventBody(t, "subscription-updated", "x", testNow),
		eventBody(t, EventTestCreated, "x", testNow),
	} {
		require.Equal(t, http.StatusOK, b.rec.Handle(t.Context(), b.inv, b.request(body)).Status)
	}
	require.Empty(t, b.sent.sent)
}

// failingSender refuses every send (the bus is down).
type failingSender struct{}

func (failingSender) Send(context.Context, string, bus.Message) error { return errors.New("bus down") }

// TestReceiverRetriesWhenTheBusIsDown: 500, the delivery is not recorded,
// so Partner Center's retry is processed once the bus is back.
func TestReceiverRetriesWhenTheBusIsDown(t *testing.T) {
	t.Parallel()
	b := setupReceiver(t)
	down := NewReceiver(ReceiverOptions{Verifier: b.ver, Replays: b.rec.opts.Replays, Sender: failingSender{}, ContinuationsQueue: "continuations"})
	body := eventBody(t, EventRelationshipTerminated, "rel-3", testNow.Add(-time.Minute))
	require.Equal(t, http.StatusInternalServerError, down.Handle(t.Context(), b.inv, b.request(body)).Status)
	require.Equal(t, http.StatusOK, b.rec.Handle(t.Context(), b.inv, b.request(body)).Status)
	require.Len(t, b.sent.sent, 1, "the retry enqueues the refresh")
}
