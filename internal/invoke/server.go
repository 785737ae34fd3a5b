// Package invoke is the HTTP face of the custom handler: it answers the
// Functions host's readiness probe and turns each invocation (commands,
// continuations, expiry-sweep) into a call on the engine, with one child
// logger per invocation and the response envelope the host expects.
package invoke

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/gdapflow/gdapflow/internal/engine"
	"github.com/gdapflow/gdapflow/internal/hostwire"
	"github.com/gdapflow/gdapflow/internal/sweep"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// Function names (folders under functions/) and their trigger binding names.
const (
	FunctionCommands      = "commands"
	FunctionContinuations = "continuations"
	FunctionExpirySweep   = "expiry-sweep"
	bindingMessage        = "message"
	bindingTimer          = "timer"
)

// maxInvocationBytes bounds an invocation body (a 256 KiB Service Bus
// message, base64-encoded, plus metadata).
const maxInvocationBytes = 1 << 20

// queueHandler is the engine entry point for one queue.
type queueHandler func(ctx context.Context, inv engine.Invocation, body []byte) error

// Options configure a Server.
type Options struct {
	// Commands and Continuations handle the two queues (Engine methods).
	Commands      queueHandler
	Continuations queueHandler
	// Sweeper starts timer sweeps; nil makes the timer log and do nothing.
	Sweeper engine.Sweeper
	// SweepSchedule is the timer's NCRONTAB; a tick's sweep id is derived
	// from the schedule occurrence it belongs to, so that every instance and
	// every late (past-due) firing of one tick names the same sweep.
	SweepSchedule string
	// Logger writes JSON to stdout.
	Logger *slog.Logger
	// Timeout is the per-invocation deadline (below host.json functionTimeout).
	Timeout time.Duration
	// DevClock, when set, makes "now" follow Metadata.sys.UtcNow (local host
	// emulator with virtual time); every invocation's time is reported to it.
	DevClock *vclock.Following
}

// Server serves the custom handler's HTTP routes.
type Server struct {
	opts Options
}

// New returns a Server.
func New(opts Options) *Server { return &Server{opts: opts} }

// Handler returns the routes: GET / and POST /<function>.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "gdapflow handler ready\n")
	})
	mux.HandleFunc("POST /"+FunctionCommands, s.queue(FunctionCommands, s.opts.Commands))
	mux.HandleFunc("POST /"+FunctionContinuations, s.queue(FunctionContinuations, s.opts.Continuations))
	mux.HandleFunc("POST /"+FunctionExpirySweep, s.timer)
	return mux
}

// begin decodes the invocation and prepares its logger, clock and deadline.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, function string) (*hostwire.Invocation, engine.Invocation, *collector, context.Context, context.CancelFunc, bool) {
	c := &collector{}
	log := slog.New(&teeHandler{next: s.opts.Logger.Handler(), c: c}).With(
		"function", function, "invocation_id", r.Header.Get("X-Azure-Functions-InvocationId"))
	body, err := io.ReadAll(io.LimitReader(r.Body, maxInvocationBytes+1))
	if err == nil && len(body) > maxInvocationBytes {
		err = errors.New("invocation body exceeds 1 MiB")
	}
	var hinv *hostwire.Invocation
	if err == nil {
		hinv, err = hostwire.Decode(body)
	}
	if err != nil {
		// The host always sends a well-formed envelope; anything else is a
		// transport problem worth a redelivery.
		log.ErrorContext(r.Context(), "invocation could not be decoded", "error", err.Error())
		hostwire.WriteResponse(w, http.StatusBadRequest, c.result())
		return nil, engine.Invocation{}, nil, nil, nil, false
	}
	var clock vclock.Clock = vclock.Real{}
	if s.opts.DevClock != nil {
		if now, ok := hinv.UtcNow(); ok {
			s.opts.DevClock.Observe(now)
			clock = vclock.NewOffset(now)
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
	return hinv, engine.Invocation{Clock: clock, Logger: log, Function: function}, c, ctx, cancel, true
}

func (s *Server) queue(function string, handle queueHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hinv, inv, c, ctx, cancel, ok := s.begin(w, r, function)
		if !ok {
			return
		}
		defer cancel()
		msg, err := hinv.ServiceBusMessage(bindingMessage)
		if err != nil {
			inv.Logger.ErrorContext(ctx, "trigger message could not be decoded", "error", err.Error())
			hostwire.WriteResponse(w, http.StatusBadRequest, c.result())
			return
		}
		inv.MessageID = msg.MessageID
		inv.DeliveryCount = msg.DeliveryCount
		inv.Logger = inv.Logger.With("message_id", msg.MessageID, "correlation_id", msg.CorrelationID, "delivery_count", msg.DeliveryCount)
		start := time.Now()
		err = handle(ctx, inv, msg.Body)
		s.respond(ctx, w, inv, c, err, start)
	}
}

func (s *Server) timer(w http.ResponseWriter, r *http.Request) {
	hinv, inv, c, ctx, cancel, ok := s.begin(w, r, FunctionExpirySweep)
	if !ok {
		return
	}
	defer cancel()
	info, err := hinv.Timer(bindingTimer)
	if err != nil {
		inv.Logger.ErrorContext(ctx, "timer payload could not be decoded", "error", err.Error())
		hostwire.WriteResponse(w, http.StatusBadRequest, c.result())
		return
	}
	start := time.Now()
	if s.opts.Sweeper == nil {
		inv.Logger.WarnContext(ctx, "expiry sweep timer fired but no sweeper is configured")
		s.respond(ctx, w, inv, c, nil, start)
		return
	}
	now := inv.Clock.Now().UTC()
	sweepID := sweep.TimerSweepID(scheduledTick(s.opts.SweepSchedule, now))
	inv.Logger = inv.Logger.With("sweep_id", sweepID, "past_due", info.IsPastDue)
	err = s.opts.Sweeper.Start(ctx, inv, engine.SweepTrigger{SweepID: sweepID})
	s.respond(ctx, w, inv, c, err, start)
}

func (s *Server) respond(ctx context.Context, w http.ResponseWriter, inv engine.Invocation, c *collector, err error, start time.Time) {
	if err != nil {
		inv.Logger.ErrorContext(ctx, "invocation failed; the message will be redelivered", "error", err.Error(), "elapsed_ms", time.Since(start).Milliseconds())
		hostwire.WriteResponse(w, http.StatusInternalServerError, c.result())
		return
	}
	inv.Logger.DebugContext(ctx, "invocation done", "elapsed_ms", time.Since(start).Milliseconds())
	hostwire.WriteResponse(w, http.StatusOK, c.result())
}

// scheduledTick is the latest occurrence of the NCRONTAB schedule at or
// before now (now itself, truncated to the second, if the schedule cannot be
// parsed or has no occurrence in the last 8 days).
func scheduledTick(schedule string, now time.Time) time.Time {
	now = now.UTC().Truncate(time.Second)
	sched, err := cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow).Parse(schedule)
	if err != nil {
		return now
	}
	// Walk forward through growing windows; each walk is bounded so that a
	// frequent schedule cannot spin.
	for _, window := range []time.Duration{time.Minute, time.Hour, 25 * time.Hour, 8 * 24 * time.Hour} {
		t, last := now.Add(-window), time.Time{}
		for range 100000 {
			next := sched.Next(t)
			if next.IsZero() || next.After(now) {
				break
			}
			last, t = next, next
		}
		if !last.IsZero() {
			return last
		}
	}
	return now
}
