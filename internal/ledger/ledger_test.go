package ledger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/localenv"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
)

func TestMain(m *testing.M) { localenv.Main(m) }

type testBundle struct {
	store  *ledger.Store
	client *aztables.Client
}

// setup gives each test its own ledger table in the package's Azurite.
func setup(t *testing.T) *testBundle {
	t.Helper()
	az := localenv.SharedAzurite(t)
	client, err := az.NewTableClient(localenv.UniqueName("ledger"))
	require.NoError(t, err)
	store := ledger.New(client)
	require.NoError(t, store.EnsureTable(t.Context()))
	return &testBundle{store: store, client: client}
}

var t0 = time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC)

func newRecord(id string) *ledger.Record {
	return &ledger.Record{
		OperationID: id,
		CommandType: "gdap.relationship.update",
		Source:      "/crm",
		TargetID:    "rel-1",
		ContentHash: "sha256:abc",
		State:       ledger.StateAccepted,
		AcceptedAt:  t0,
		UpdatedAt:   t0,
		Command:     []byte(`{"relationshipId":"rel-1"}`),
	}
}

func TestEnsureTableIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.NoError(t, b.store.EnsureTable(t.Context()), "second call ignores TableAlreadyExists")
}

func TestCreateGetUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()

	r := newRecord(localenv.UniqueName("op"))
	require.NoError(t, b.store.Create(ctx, r))
	require.NotEmpty(t, r.ETag)

	got, err := b.store.Get(ctx, r.OperationID)
	require.NoError(t, err)
	require.Equal(t, r, got)

	got.State = ledger.StateWaiting
	got.Step = "poll"
	got.Attempts = 1
	got.WakeID = "w1"
	got.WakeAt = t0.Add(time.Minute)
	before := got.ETag
	require.NoError(t, b.store.Update(ctx, got))
	require.NotEqual(t, before, got.ETag)

	again, err := b.store.Get(ctx, r.OperationID)
	require.NoError(t, err)
	require.Equal(t, got, again)
}

func TestCreateDuplicate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := newRecord(localenv.UniqueName("op"))
	require.NoError(t, b.store.Create(t.Context(), r))

	dup := newRecord(r.OperationID)
	dup.ContentHash = "sha256:other"
	err := b.store.Create(t.Context(), dup)
	require.ErrorIs(t, err, ledger.ErrExists)
	require.Empty(t, dup.ETag)

	got, err := b.store.Get(t.Context(), r.OperationID)
	require.NoError(t, err)
	require.Equal(t, "sha256:abc", got.ContentHash, "the first record is untouched")
}

func TestGetNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.store.Get(t.Context(), "missing")
	require.ErrorIs(t, err, ledger.ErrNotFound)
}

func TestMissingTableIsNotNotFound(t *testing.T) {
	t.Parallel()
	az := localenv.SharedAzurite(t)
	client, err := az.NewTableClient(localenv.UniqueName("absent"))
	require.NoError(t, err)
	_, err = ledger.New(client).Get(t.Context(), "x")
	require.Error(t, err)
	require.NotErrorIs(t, err, ledger.ErrNotFound)
	var re *azcore.ResponseError
	require.ErrorAs(t, err, &re, "the service error stays in the chain")
}

func TestUpdateStaleETag(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	r := newRecord(localenv.UniqueName("op"))
	require.NoError(t, b.store.Create(ctx, r))
	stale := *r

	r.Attempts = 1
	require.NoError(t, b.store.Update(ctx, r))

	stale.Attempts = 2
	require.ErrorIs(t, b.store.Update(ctx, &stale), ledger.ErrConflict)

	got, err := b.store.Get(ctx, r.OperationID)
	require.NoError(t, err)
	require.Equal(t, 1, got.Attempts)
}

func TestConcurrentUpdatesOneWins(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	r := newRecord(localenv.UniqueName("op"))
	require.NoError(t, b.store.Create(ctx, r))

	const writers = 4
	errs := make([]error, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range writers {
		c := *r
		c.Attempts = i + 1
		wg.Go(func() {
			<-start
			errs[i] = b.store.Update(ctx, &c)
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "only one update may win")
			winner = i
			continue
		}
		require.ErrorIs(t, err, ledger.ErrConflict)
	}
	require.NotEqual(t, -1, winner, "one update wins")
	got, err := b.store.Get(ctx, r.OperationID)
	require.NoError(t, err)
	require.Equal(t, winner+1, got.Attempts)
}

func TestUpdateMissing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := newRecord(localenv.UniqueName("op"))
	r.ETag = azcore.ETag(`W/"datetime'2026-11-22T17%3A00%3A00.0000000Z'"`)
	require.ErrorIs(t, b.store.Update(t.Context(), r), ledger.ErrNotFound)
}

func TestUpdateWithoutETag(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := newRecord(localenv.UniqueName("op"))
	require.NoError(t, b.store.Create(t.Context(), r))
	r.ETag = ""
	require.ErrorIs(t, b.store.Update(t.Context(), r), ledger.ErrInvalid)
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t)

	bigCommand := jsonBlob(60 << 10)
	full := &ledger.Record{
		CommandType:      "gdap.relationship.removeGlobalAdmin",
		Source:           "urn:crm:éè-😀",
		TargetID:         "5d5e1b64-4e38-4c5a-a8f6-8a6d2b5a3f10",
		ContentHash:      "sha256:0123456789abcdef",
		State:            ledger.StateFailed,
		Step:             "patch-roles",
		StepAttempt:      3,
		Attempts:         7,
		WakeID:           "wake-7",
		WakeAt:           time.Date(2026, 11, 23, 1, 2, 3, 400000000, time.UTC),
		AcceptedAt:       time.Date(2026, 11, 22, 17, 0, 0, 123456700, time.UTC),
		UpdatedAt:        time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC),
		FinishedAt:       time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC),
		Command:          bigCommand,
		Workflow:         []byte(`{"operationUrl":"https://graph.microsoft.com/beta/x","etag":"W/\"1\""}`),
		Result:           []byte(`{"alreadyDone":true}`),
		OutcomePublished: true,
		LastError: &op.Failure{
			Code: "throttled", Message: "too many requests", HTTPStatus: 429,
			UpstreamCode: "TooManyRequests", UpstreamRequestID: "req-1",
		},
	}
	zeroErr := *full
	zeroErr.LastError = &op.Failure{}
	tests := []struct {
		name string
		rec  ledger.Record
		want func(*ledger.Record) // adjusts the expectation; nil = identical
	}{
		{name: "every field", rec: *full},
		{name: "minimal", rec: ledger.Record{State: ledger.StateAccepted}},
		{name: "empty last error kept non-nil", rec: zeroErr},
		{
			name: "empty slices read back nil",
			rec:  ledger.Record{State: ledger.StateRunning, Command: []byte{}, Workflow: []byte{}, Result: []byte{}},
			want: func(r *ledger.Record) { r.Command, r.Workflow, r.Result = nil, nil, nil },
		},
		{
			name: "command of exactly 64 KiB",
			rec:  ledger.Record{State: ledger.StateAccepted, Command: jsonBlob(64 << 10)},
		},
		{
			name: "workflow and result over 64 KiB are split",
			rec:  ledger.Record{State: ledger.StateSucceeded, Workflow: jsonBlob(200<<10 + 17), Result: jsonBlob(64<<10 + 1)},
		},
		{
			name: "times in another zone come back UTC",
			rec: ledger.Record{
				State:      ledger.StateWaiting,
				AcceptedAt: time.Date(2026, 11, 22, 9, 0, 0, 0, time.FixedZone("PST", -8*3600)),
			},
			want: func(r *ledger.Record) { r.AcceptedAt = time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC) },
		},
		{
			name: "nanoseconds truncated to 100 ns",
			rec:  ledger.Record{State: ledger.StateWaiting, WakeAt: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)},
			want: func(r *ledger.Record) { r.WakeAt = time.Date(2026, 1, 2, 3, 4, 5, 123456700, time.UTC) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := tt.rec
			in.OperationID = localenv.UniqueName("rt")
			want := in
			if tt.want != nil {
				tt.want(&want)
			}
			require.NoError(t, b.store.Create(t.Context(), &in))
			got, err := b.store.Get(t.Context(), in.OperationID)
			require.NoError(t, err)
			want.ETag = got.ETag
			require.Equal(t, &want, got)
			require.Equal(t, in.ETag, got.ETag)
			for _, tm := range []time.Time{got.WakeAt, got.AcceptedAt, got.UpdatedAt, got.FinishedAt} {
				require.Equal(t, time.UTC, tm.Location())
			}
			// Create normalized the caller's record to what was stored.
			require.Equal(t, got.AcceptedAt, in.AcceptedAt)
			require.Equal(t, got.WakeAt, in.WakeAt)
		})
	}
}

// TestKeys pins the entity's keys: both are the operation id, so that a
// lookup is a point read in Azurite as in Table Storage (docs/ledger.md).
func TestKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := newRecord(localenv.UniqueName("op"))
	require.NoError(t, b.store.Create(t.Context(), r))

	resp, err := b.client.GetEntity(t.Context(), r.OperationID, r.OperationID, nil)
	require.NoError(t, err)
	var keys struct{ PartitionKey, RowKey string }
	require.NoError(t, json.Unmarshal(resp.Value, &keys))
	require.Equal(t, r.OperationID, keys.PartitionKey)
	require.Equal(t, r.OperationID, keys.RowKey)
}

func TestContractOperationIDs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ids := []string{
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-",
		".", "..", "-", ":", "a:b", "x.", "sweep:2026-11-22T17:00:00Z",
		strings.Repeat("a1._:-", 21) + "zz", // 128 characters
	}
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			// Unique per test table, so the fixed ids do not collide.
			r := newRecord(id)
			require.NoError(t, b.store.Create(t.Context(), r))
			got, err := b.store.Get(t.Context(), id)
			require.NoError(t, err)
			require.Equal(t, id, got.OperationID)
			got.State = ledger.StateSucceeded
			require.NoError(t, b.store.Update(t.Context(), got))
		})
	}
}

func TestInvalidRecords(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name    string
		mutate  func(*ledger.Record)
		wantErr error
	}{
		{"empty id", func(r *ledger.Record) { r.OperationID = "" }, ledger.ErrInvalid},
		{"slash in id", func(r *ledger.Record) { r.OperationID = "a/b" }, ledger.ErrInvalid},
		{"hash in id", func(r *ledger.Record) { r.OperationID = "a#b" }, ledger.ErrInvalid},
		{"control char in id", func(r *ledger.Record) { r.OperationID = "a\tb" }, ledger.ErrInvalid},
		{"unknown state", func(r *ledger.Record) { r.State = "paused" }, ledger.ErrInvalid},
		{"negative attempts", func(r *ledger.Record) { r.Attempts = -1 }, ledger.ErrInvalid},
		{"time before 1601", func(r *ledger.Record) { r.WakeAt = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC) }, ledger.ErrInvalid},
		{"invalid utf-8", func(r *ledger.Record) { r.Source = "\xff" }, ledger.ErrInvalid},
		{"string over 32K UTF-16 units", func(r *ledger.Record) { r.Source = strings.Repeat("😀", 16<<10+1) }, ledger.ErrTooLarge},
		{"entity over 1 MiB", func(r *ledger.Record) { r.Workflow = make([]byte, 1<<20) }, ledger.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRecord(localenv.UniqueName("inv"))
			tt.mutate(r)
			require.ErrorIs(t, b.store.Create(t.Context(), r), tt.wantErr)
		})
	}

	var le *ledger.LimitError
	r := newRecord("big")
	r.Result = make([]byte, 1<<20)
	require.ErrorAs(t, b.store.Create(t.Context(), r), &le)
	require.Equal(t, "entity", le.Field)
	require.Equal(t, 1<<20, le.Limit)

	_, err := b.store.Get(t.Context(), "a?b")
	require.ErrorIs(t, err, ledger.ErrInvalid)
}

func TestLargestCommandWithLargeState(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// A 64 KiB command plus 800 KiB of workflow state still fits one entity.
	r := newRecord(localenv.UniqueName("max"))
	r.Command = jsonBlob(64 << 10)
	r.Workflow = jsonBlob(800 << 10)
	require.NoError(t, b.store.Create(t.Context(), r))
	got, err := b.store.Get(t.Context(), r.OperationID)
	require.NoError(t, err)
	require.True(t, bytes.Equal(r.Workflow, got.Workflow))
	require.True(t, bytes.Equal(r.Command, got.Command))
}

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		state ledger.State
		want  bool
	}{
		{ledger.StateAccepted, false},
		{ledger.StateRunning, false},
		{ledger.StateWaiting, false},
		{ledger.StateSucceeded, true},
		{ledger.StateFailed, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.state), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, (&ledger.Record{State: tt.state}).IsTerminal())
		})
	}
}

func TestErrorsAreDistinct(t *testing.T) {
	t.Parallel()
	sentinels := []error{ledger.ErrExists, ledger.ErrNotFound, ledger.ErrConflict, ledger.ErrInvalid, ledger.ErrTooLarge}
	for i, a := range sentinels {
		for j, b := range sentinels {
			require.Equal(t, i == j, errors.Is(a, b))
		}
	}
}

// jsonBlob returns n bytes of valid JSON with varied content.
func jsonBlob(n int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, n)
	out[0], out[n-1] = '"', '"'
	for i := 1; i < n-1; i++ {
		out[i] = alphabet[(i*7+i/13)%len(alphabet)]
	}
	return out
}

// statusRecorder is an azcore transport that records response statuses.
type statusRecorder struct {
	mu       sync.Mutex
	statuses []int
}

func (s *statusRecorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		s.mu.Lock()
		s.statuses = append(s.statuses, resp.StatusCode)
		s.mu.Unlock()
	}
	return resp, err
}

func TestCreateAsksForNoEcho(t *testing.T) {
	t.Parallel()
	az := localenv.SharedAzurite(t)
	rec := &statusRecorder{}
	svc, err := aztables.NewServiceClientFromConnectionString(az.ConnectionString(),
		&aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: rec}})
	require.NoError(t, err)
	store := ledger.New(svc.NewClient(localenv.UniqueName("noecho")))
	require.NoError(t, store.EnsureTable(t.Context()))
	rec.mu.Lock()
	rec.statuses = nil
	rec.mu.Unlock()

	r := newRecord(localenv.UniqueName("op"))
	require.NoError(t, store.Create(t.Context(), r))
	require.Equal(t, []int{http.StatusNoContent}, rec.statuses, "the insert is answered without the entity")
	require.NotEmpty(t, r.ETag, "the ETag comes in the 204's headers")

	// The ETag is the stored one: a conditional update with it succeeds.
	r.State = ledger.StateRunning
	require.NoError(t, store.Update(t.Context(), r))
	got, err := store.Get(t.Context(), r.OperationID)
	require.NoError(t, err)
	require.Equal(t, r, got)
}

func TestIsUnavailable(t *testing.T) {
	t.Parallel()
	status := func(code int, errCode string) error {
		return fmt.Errorf("ledger: create %q: %w", "op", &azcore.ResponseError{StatusCode: code, ErrorCode: errCode})
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"503 ServerBusy", status(http.StatusServiceUnavailable, "ServerBusy"), true},
		{"500", status(http.StatusInternalServerError, "InternalError"), true},
		{"429", status(http.StatusTooManyRequests, ""), true},
		{"408", status(http.StatusRequestTimeout, "OperationTimedOut"), true},
		{"connection refused", fmt.Errorf("ledger: get: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), true},
		{"per-try timeout", fmt.Errorf("ledger: get: %w", context.DeadlineExceeded), true},
		{"connection closed mid-response", fmt.Errorf("ledger: get: %w", io.ErrUnexpectedEOF), true},
		{"conflict", fmt.Errorf("ledger: update: %w", ledger.ErrConflict), false},
		{"exists", ledger.ErrExists, false},
		{"not found", ledger.ErrNotFound, false},
		{"too large", &ledger.LimitError{Field: "Command", Size: 2, Limit: 1}, false},
		{"invalid", ledger.ErrInvalid, false},
		{"table missing", status(http.StatusNotFound, "TableNotFound"), false},
		{"forbidden", status(http.StatusForbidden, "AuthorizationFailure"), false},
		{"unreadable entity", errors.New("ledger: decode entity: unexpected end of JSON input"), false},
	} {
		require.Equal(t, tc.want, ledger.IsUnavailable(tc.err), tc.name)
	}
}
