package invoke

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

func TestScheduledTick(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return v
	}
	for _, tc := range []struct {
		schedule, now, want string
	}{
		{"0 0 */6 * * *", "2026-11-22T07:59:59Z", "2026-11-22T06:00:00Z"},
		{"0 0 */6 * * *", "2026-11-22T06:00:00.5Z", "2026-11-22T06:00:00Z"},
		{"0 0 */6 * * *", "2026-11-22T00:00:03Z", "2026-11-22T00:00:00Z"},
		{"* * * * * *", "2026-11-22T07:59:59.9Z", "2026-11-22T07:59:59Z"},
		{"0 30 9 * * 1", "2026-11-22T07:00:00Z", "2026-11-16T09:30:00Z"},
		{"not a schedule", "2026-11-22T07:00:00.7Z", "2026-11-22T07:00:00Z"},
	} {
		sched, _ := config.ParseSchedule(tc.schedule)
		require.Equal(t, at(tc.want), scheduledTick(sched, at(tc.now)), "%s at %s", tc.schedule, tc.now)
	}
}

func TestServerRoutes(t *testing.T) {
	t.Parallel()
	var got []byte
	var gotInv op.Invocation
	srv := New(Options{
		Commands: func(_ context.Context, inv op.Invocation, body []byte) error {
			got, gotInv = body, inv
			return nil
		},
		Continuations: func(context.Context, op.Invocation, []byte) error { return errors.New("boom") },
		Logger:        slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Timeout:       time.Minute,
		DevClock:      &vclock.Following{},
	})
	h := srv.Handler()
	post := func(path, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
		return rec
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, http.StatusOK, rec.Code)

	invocation := `{"Data":{"message":"eyJhIjoxfQ=="},"Metadata":{"MessageId":"\"m-1\"","DeliveryCount":"2","sys":{"UtcNow":"2030-01-02T03:04:05.5Z"}}}`
	rec = post("/commands", invocation)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.JSONEq(t, `{"Outputs":{},"Logs":[],"ReturnValue":null}`, rec.Body.String())
	require.Equal(t, `{"a":1}`, string(got))
	require.Equal(t, "m-1", gotInv.MessageID)
	require.Equal(t, 2, gotInv.DeliveryCount)
	require.False(t, gotInv.Clock.Now().Before(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)), "development clock follows sys.UtcNow")

	require.Equal(t, http.StatusInternalServerError, post("/continuations", invocation).Code, "an engine error asks for redelivery")
	require.Equal(t, http.StatusBadRequest, post("/commands", `not json`).Code)
	require.Equal(t, http.StatusOK, post("/expiry-sweep", `{"Data":{"timer":{"IsPastDue":false,"ScheduleStatus":null}},"Metadata":{}}`).Code, "no sweeper: logged, answered 200")
	require.Equal(t, http.StatusNotFound, post("/Commands", invocation).Code, "function names are case-sensitive routes")
}

// TestUndecodableCommandsAreRejected: no decoding failure of a
// commands-queue message is answered non-2xx; it is rejected instead.
func TestUndecodableCommandsAreRejected(t *testing.T) {
	t.Parallel()
	var rejected []string
	var reasons []string
	srv := New(Options{
		Commands:      func(context.Context, op.Invocation, []byte) error { return nil },
		Continuations: func(context.Context, op.Invocation, []byte) error { return nil },
		RejectCommand: func(_ context.Context, inv op.Invocation, reason string) error {
			rejected = append(rejected, inv.MessageID)
			reasons = append(reasons, reason)
			return nil
		},
		Logger:  slog.New(slog.DiscardHandler),
		Timeout: time.Minute,
	})
	h := srv.Handler()
	post := func(path, body string) int {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("X-Azure-Functions-InvocationId", "inv-1")
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	require.Equal(t, http.StatusOK, post("/commands", `not json`))
	require.Equal(t, http.StatusOK, post("/commands", `{"Data":{},"Metadata":{"MessageId":"\"m-7\""}}`), "no message binding")
	require.Equal(t, []string{"inv-1", "m-7"}, rejected)
	require.Equal(t, http.StatusBadRequest, post("/continuations", `not json`), "the service's own queue: redelivered")
	require.Len(t, rejected, 2)
	require.NotEmpty(t, reasons[0])
}
