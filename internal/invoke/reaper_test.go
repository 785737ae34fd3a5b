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

	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// TestReaperRoute: POST /reaper runs one tick with the invocation's clock
// and answers 200, or 500 when the tick fails; without a reaper it answers
// 200.
func TestReaperRoute(t *testing.T) {
	t.Parallel()
	const timer = `{"Data":{"timer":{"IsPastDue":true,"ScheduleStatus":null}},"Metadata":{"sys":{"UtcNow":"2030-01-02T03:05:00Z"}}}`
	post := func(s *Server) int {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+FunctionReaper, strings.NewReader(timer)))
		return rec.Code
	}
	opts := Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Timeout: time.Minute, DevClock: &vclock.Following{}}

	require.Equal(t, http.StatusOK, post(New(opts)), "no reaper: logged, answered 200")

	var ticks []time.Time
	opts.Reaper = func(_ context.Context, inv op.Invocation) error {
		ticks = append(ticks, inv.Clock.Now())
		require.Equal(t, FunctionReaper, inv.Function)
		return nil
	}
	require.Equal(t, http.StatusOK, post(New(opts)))
	require.Len(t, ticks, 1)
	require.False(t, ticks[0].Before(time.Date(2030, 1, 2, 3, 5, 0, 0, time.UTC)), "the tick runs on the invocation's clock")

	opts.Reaper = func(context.Context, op.Invocation) error { return errors.New("due index unreachable") }
	require.Equal(t, http.StatusInternalServerError, post(New(opts)))
}
