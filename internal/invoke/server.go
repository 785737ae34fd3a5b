// Package invoke is the HTTP face of the custom handler: it answers the
// Functions host's readiness probe and turns each invocation (commands,
// continuations, expiry-sweep) into a call on the engine, with one child
// logger per invocation and the response envelope the host expects.
package invoke

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/hostwire"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/report"
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

// queueHandler is the engine entry point for one queue.
type queueHandler func(ctx context.Context, inv op.Invocation, body []byte) error

// sweepStarter starts (or joins) an expiry sweep (*sweep.Sweeper).
type sweepStarter interface {
	Start(ctx context.Context, inv op.Invocation, sweepID string) (string, error)
}

// Options configure a Server.
type Options struct {
	// Commands and Continuations handle the two queues (Engine methods).
	Commands      queueHandler
	Continuations queueHandler
	// RejectCommand answers a commands-queue message that cannot be decoded
	// at all (Engine.RejectUndecodable): it publishes gdap.command.rejected
	// so that the invocation is answered 200 rather than retried into the
	// dead-letter queue. Nil: such a message is answered 400.
	RejectCommand func(ctx context.Context, inv op.Invocation, reason string) error
	// Sweeper starts timer sweeps; nil makes the timer log and do nothing.
	Sweeper sweepStarter
	// SweepSchedule is the timer's NCRONTAB; a tick's sweep id is derived
	// from the schedule occurrence it belongs to, so that every instance and
	// every late (past-due) firing of one tick names the same sweep.
	SweepSchedule string
	// Reaper runs a reaper tick; nil makes the timer log and do nothing.
	Reaper reaperTick
	// Webhook handles Partner Center webhook deliveries; nil answers 503.
	Webhook webhookReceiver
	// Report renders the operators' page; nil answers 503 (after the
	// authorization check). ReportAuth is what its callers must present.
	Report     reportPage
	ReportAuth report.AuthOptions
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
	opts     Options
	schedule cron.Schedule
}

// New returns a Server. The sweep schedule was validated with the
// configuration; if it does not parse, timer sweeps are named after the
// current second instead of the schedule's occurrence.
func New(opts Options) *Server {
	sched, _ := config.ParseSchedule(opts.SweepSchedule)
	return &Server{opts: opts, schedule: sched}
}

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
	mux.HandleFunc("POST /"+FunctionReaper, s.reaper)
	mux.HandleFunc("POST /"+FunctionPartnerCenterWebhook, s.webhook)
	mux.HandleFunc("POST /"+FunctionReport, s.report)
	return mux
}

// call is one invocation being served.
type call struct {
	host   *hostwire.Invocation
	inv    op.Invocation
	logs   *collector
	ctx    context.Context
	cancel context.CancelFunc
	start  time.Time
}

// begin decodes the invocation and prepares its logger, clock and deadline.
// On failure it has already answered the host and returns nil.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, function string) *call {
	c := &collector{}
	invocationID := r.Header.Get("X-Azure-Functions-InvocationId")
	log := slog.New(&teeHandler{next: s.opts.Logger.Handler(), c: c}).With(
		"function", function, "invocation_id", invocationID)
	hinv, err := hostwire.DecodeRequest(r)
	if err != nil {
		log.ErrorContext(r.Context(), "invocation could not be decoded", "error", err.Error())
		cl := &call{inv: op.Invocation{Clock: vclock.Real{}, Logger: log, Function: function, MessageID: invocationID},
			logs: c, ctx: r.Context(), cancel: func() {}, start: time.Now()}
		s.undecodable(w, cl, function, err)
		return nil
	}
	var clock vclock.Clock = vclock.Real{}
	if s.opts.DevClock != nil {
		if now, ok := hinv.UtcNow(); ok {
			s.opts.DevClock.Observe(now)
			clock = vclock.NewOffset(now)
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
	return &call{host: hinv, inv: op.Invocation{Clock: clock, Logger: log, Function: function}, logs: c, ctx: ctx, cancel: cancel, start: time.Now()}
}

func (s *Server) queue(function string, handle queueHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := s.begin(w, r, function)
		if c == nil {
			return
		}
		defer c.cancel()
		msg, err := c.host.ServiceBusMessage(bindingMessage)
		if err != nil {
			c.inv.Logger.ErrorContext(c.ctx, "trigger message could not be decoded", "error", err.Error())
			if id, ok, _ := c.host.MetadataString("MessageId"); ok && id != "" {
				c.inv.MessageID = id
			} else {
				c.inv.MessageID = r.Header.Get("X-Azure-Functions-InvocationId")
			}
			s.undecodable(w, c, function, err)
			return
		}
		c.inv.MessageID = msg.MessageID
		c.inv.DeliveryCount = msg.DeliveryCount
		c.inv.Logger = c.inv.Logger.With("message_id", msg.MessageID, "correlation_id", msg.CorrelationID, "delivery_count", msg.DeliveryCount)
		c.respond(w, handle(c.ctx, c.inv, msg.Body))
	}
}

// beginTimer is begin for a timer function: it also decodes the timer
// payload and logs whether the tick is past due. On failure it has already
// answered the host and returns nil; otherwise the caller must call
// c.cancel.
func (s *Server) beginTimer(w http.ResponseWriter, r *http.Request, function string) *call {
	c := s.begin(w, r, function)
	if c == nil {
		return nil
	}
	info, err := c.host.Timer(bindingTimer)
	if err != nil {
		c.inv.Logger.ErrorContext(c.ctx, "timer payload could not be decoded", "error", err.Error())
		hostwire.WriteResponse(w, http.StatusBadRequest, c.logs.result())
		c.cancel()
		return nil
	}
	c.inv.Logger = c.inv.Logger.With("past_due", info.IsPastDue)
	return c
}

func (s *Server) timer(w http.ResponseWriter, r *http.Request) {
	c := s.beginTimer(w, r, FunctionExpirySweep)
	if c == nil {
		return
	}
	defer c.cancel()
	if s.opts.Sweeper == nil {
		c.inv.Logger.WarnContext(c.ctx, "expiry sweep timer fired but no sweeper is configured")
		c.respond(w, nil)
		return
	}
	sweepID := sweep.TimerSweepID(scheduledTick(s.schedule, c.inv.Clock.Now()))
	c.inv.Logger = c.inv.Logger.With("sweep_id", sweepID)
	_, err := s.opts.Sweeper.Start(c.ctx, c.inv, sweepID)
	c.respond(w, err)
}

// undecodable answers an invocation whose message cannot be decoded. On the
// commands queue no decoding failure is answered non-2xx: the message is
// rejected with gdap.command.rejected (invalid_command), since a redelivery
// cannot decode it either. Elsewhere (the service's own queue, the timer) the
// host's envelope is always well-formed, so it is a transport problem worth
// a redelivery: 400.
func (s *Server) undecodable(w http.ResponseWriter, c *call, function string, cause error) {
	if function != FunctionCommands || s.opts.RejectCommand == nil {
		hostwire.WriteResponse(w, http.StatusBadRequest, c.logs.result())
		return
	}
	reason := "the message could not be decoded"
	if hostwire.HasCode(cause, hostwire.CodeInvocationTooLarge) {
		reason = fmt.Sprintf("the message exceeds the largest message the host delivers (%d bytes); commands are limited to 64 KiB", hostwire.MaxMessageBytes)
	}
	c.respond(w, s.opts.RejectCommand(c.ctx, c.inv, reason))
}

// respond answers the host: 200 when the message was dealt with, 500 so that
// Service Bus redelivers it otherwise.
func (c *call) respond(w http.ResponseWriter, err error) {
	elapsed := time.Since(c.start).Milliseconds()
	if err != nil {
		c.inv.Logger.ErrorContext(c.ctx, "invocation failed; the message will be redelivered", "error", err.Error(), "elapsed_ms", elapsed)
		hostwire.WriteResponse(w, http.StatusInternalServerError, c.logs.result())
		return
	}
	c.inv.Logger.DebugContext(c.ctx, "invocation done", "elapsed_ms", elapsed)
	hostwire.WriteResponse(w, http.StatusOK, c.logs.result())
}

// scheduledTick is the latest occurrence of the NCRONTAB schedule at or
// before now (now itself, truncated to the second, if there is no schedule
// or no occurrence in the last 8 days).
func scheduledTick(sched cron.Schedule, now time.Time) time.Time {
	now = now.UTC().Truncate(time.Second)
	if sched == nil {
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
