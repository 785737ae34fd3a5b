package hostemu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// Emulator is a running local Functions host with its broker. Its methods
// are safe for concurrent use.
type Emulator struct {
	opts      Options
	host      hostConfig
	root      string
	handler   string
	clock     *vclock.Virtual
	log       *slog.Logger
	client    *http.Client
	broker    *http.Server
	brokerURL string
	httpSrv   *http.Server // HTTP functions (http.go), nil without any
	httpURL   string
	output    syncWriter // handler stdout and stderr

	queues map[string]*queue      // by entityKey(queue name)
	timers map[string]*timerState // by function name
	byName map[string]*function   // every function by name

	stop    chan struct{} // closed by Close
	baseCtx context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu          sync.Mutex
	changed     chan struct{} // closed and replaced on every state change
	wake        chan struct{} // nudges the dispatcher
	seq         int64
	pending     int // queued messages, in flight included
	inFlight    int // Service Bus invocations running
	timersBusy  int // timer invocations running
	draining    int // Drain calls running (they force fast-forward)
	dedupe      map[string]*dedupeLog
	published   map[string][]Delivered
	accepted    map[string][]Delivered
	deadLetters map[string][]DeadLetter
	invocations []Invocation
	proc        *handlerProc // current handler process, nil while down
	ready       bool         // proc answered readiness and is not being killed
	gaveUp      bool
	closed      bool
}

// Start reads host.json and the function.json files under opts.ScriptRoot,
// starts the broker endpoint on 127.0.0.1 and the handler process, and
// returns once the handler answers GET / (at most 30 s). ctx bounds start-up
// only; the emulator runs until Close.
func Start(ctx context.Context, opts Options) (*Emulator, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	root, err := filepath.Abs(opts.ScriptRoot)
	if err != nil {
		return nil, &ConfigError{Field: "ScriptRoot", Err: err}
	}
	host, err := loadHostConfig(root, opts.Env)
	if err != nil {
		return nil, err
	}
	fns, err := discoverFunctions(root, opts.Env)
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults(host.maxConcurrentCalls)
	handler, err := resolveHandler(root, host.executable, opts.HandlerPath)
	if err != nil {
		return nil, err
	}
	e := &Emulator{
		opts: opts, host: host, root: root, handler: handler,
		clock: opts.Clock, log: opts.Logger,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: opts.MaxConcurrentCalls + 4}},
		queues: map[string]*queue{}, timers: map[string]*timerState{}, byName: map[string]*function{},
		output:  syncWriter{w: opts.HandlerOutput},
		stop:    make(chan struct{}),
		changed: make(chan struct{}), wake: make(chan struct{}, 1),
		dedupe: map[string]*dedupeLog{}, published: map[string][]Delivered{}, accepted: map[string][]Delivered{}, deadLetters: map[string][]DeadLetter{},
	}
	e.baseCtx, e.cancel = context.WithCancel(context.Background())
	for _, fn := range fns {
		e.byName[fn.name] = fn
		switch fn.trigger {
		case triggerServiceBus:
			if other, dup := e.queues[entityKey(fn.queue)]; dup {
				return nil, &ConfigError{Field: "function " + fn.name, Err: fmt.Errorf("queue %q is already consumed by %s", fn.queue, other.fn.name)}
			}
			e.queues[entityKey(fn.queue)] = newQueue(fn)
		case triggerTimer:
			ts := &timerState{fn: fn, next: fn.schedule.Next(e.clock.Now())}
			if opts.EnableTimers && fn.runOnStartup {
				ts.next = e.clock.Now()
			}
			e.timers[fn.name] = ts
		}
	}
	if err := e.startBroker(); err != nil {
		return nil, err
	}
	if err := e.startHTTP(); err != nil {
		return nil, err
	}
	first := make(chan error, 1)
	e.wg.Add(1)
	go e.supervise(first)
	select {
	case err = <-first:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		_ = e.Close(context.Background())
		return nil, err
	}
	e.wg.Add(1)
	go e.dispatchLoop()
	e.log.Info("host emulator started", "broker_url", e.brokerURL, "handler", handler, "functions", len(fns))
	return e, nil
}

// resolveHandler applies the host's rules for defaultExecutablePath: a
// relative path that exists under the script root is resolved against it,
// anything else is looked up on PATH. override (Options.HandlerPath) wins.
func resolveHandler(root, executable, override string) (string, error) {
	if override != "" {
		p, err := filepath.Abs(override)
		if err != nil {
			return "", &ConfigError{Field: "HandlerPath", Err: err}
		}
		if _, err := os.Stat(p); err != nil {
			return "", &ConfigError{Field: "HandlerPath", Err: err}
		}
		return p, nil
	}
	if !filepath.IsAbs(executable) {
		if p := filepath.Join(root, executable); fileExists(p) {
			return p, nil
		}
	}
	p, err := exec.LookPath(executable)
	if err != nil {
		return "", &ConfigError{Field: "host.json customHandler.description.defaultExecutablePath", Err: err}
	}
	return p, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// BrokerURL is the local broker's base URL, the value for GDAP_BROKER_URL.
func (e *Emulator) BrokerURL() string { return e.brokerURL }

// Send enqueues m on entity as another system would. It reports false when
// duplicate detection dropped the message. The error is a *BrokerError for
// an invalid message, or ErrClosed.
func (e *Emulator) Send(ctx context.Context, entity string, m bus.Message) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	accepted, _, err := e.enqueue(entity, m)
	return accepted, err
}

// enqueue is the one entry point for new messages (Send and the broker).
func (e *Emulator) enqueue(entity string, m bus.Message) (bool, int64, error) {
	if err := validateMessage(entity, m); err != nil {
		return false, 0, err
	}
	if m.MessageID == "" {
		m.MessageID = newGUID() // what the SDKs do for a message without id
	}
	m.Body = append([]byte(nil), m.Body...) // the caller may reuse its buffers
	if m.ApplicationProperties != nil {
		m.ApplicationProperties = maps.Clone(m.ApplicationProperties)
	}
	if m.ScheduledEnqueueTime != nil {
		at := m.ScheduledEnqueueTime.UTC()
		m.ScheduledEnqueueTime = &at
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false, 0, ErrClosed
	}
	now := e.clock.Now()
	key := entityKey(entity)
	d := e.dedupe[key]
	if d == nil {
		d = &dedupeLog{at: map[string]time.Time{}}
		e.dedupe[key] = d
	}
	if !d.admit(m.MessageID, now, e.opts.DuplicateDetectionWindow) {
		e.log.Debug("duplicate message dropped", "entity", entity, "message_id", m.MessageID)
		return false, 0, nil
	}
	e.seq++
	enqueued := now
	if m.ScheduledEnqueueTime != nil && m.ScheduledEnqueueTime.After(now) {
		enqueued = *m.ScheduledEnqueueTime
	}
	dm := Delivered{Message: m, Entity: entity, SequenceNumber: e.seq, EnqueuedTime: enqueued}
	e.accepted[key] = append(e.accepted[key], dm)
	if q, ok := e.queues[key]; ok {
		q.add(&message{Delivered: dm, visibleAt: enqueued}, now)
		e.pending++
	} else {
		e.published[key] = append(e.published[key], dm)
		if e.opts.OnPublish != nil {
			e.opts.OnPublish(dm) // under e.mu, so calls keep acceptance order
		}
	}
	e.notifyLocked()
	return true, e.seq, nil
}

// validateMessage checks what Service Bus would refuse.
func validateMessage(entity string, m bus.Message) error {
	if entity == "" {
		return &BrokerError{Entity: entity, Err: errors.New("empty entity name")}
	}
	if len(m.MessageID) > 128 {
		return &BrokerError{Entity: entity, Err: errors.New("messageId longer than 128 characters")}
	}
	for k, v := range m.ApplicationProperties {
		switch v.(type) {
		case string, bool, int, int32, int64, float32, float64:
		default:
			return &BrokerError{Entity: entity, Err: fmt.Errorf("application property %q has unsupported type %T", k, v)}
		}
	}
	return nil
}

// notifyLocked wakes the dispatcher and every waiter. Call with e.mu held.
func (e *Emulator) notifyLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// waitUntil blocks until cond (called with e.mu held) reports done or an
// error, re-checking on every state change.
func (e *Emulator) waitUntil(ctx context.Context, cond func() (bool, error)) error {
	for {
		e.mu.Lock()
		done, err := cond()
		ch := e.changed
		e.mu.Unlock()
		if done || err != nil {
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Drain delivers until every queue is empty (scheduled messages included:
// the virtual clock is fast-forwarded to them) and no invocation is in
// flight. Timers do not fire unless Options.EnableTimers, and Drain never
// fast-forwards to a timer.
func (e *Emulator) Drain(ctx context.Context) error {
	e.mu.Lock()
	e.draining++
	e.notifyLocked()
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.draining--
		e.mu.Unlock()
	}()
	return e.waitUntil(ctx, func() (bool, error) {
		switch {
		case e.closed:
			return false, ErrClosed
		case e.pending == 0 && e.inFlight == 0 && e.timersBusy == 0:
			return true, nil
		case e.gaveUp && e.inFlight == 0 && e.timersBusy == 0:
			return false, ErrHandlerGaveUp
		}
		return false, nil
	})
}

// Idle waits until nothing is in flight and no message is visible at the
// clock's current time: what is left is scheduled for later. Unlike Drain it
// never moves the clock, so a caller can act between what runs now and what
// is scheduled (the chaos run's joint outage does).
func (e *Emulator) Idle(ctx context.Context) error {
	return e.waitUntil(ctx, func() (bool, error) {
		switch {
		case e.closed:
			return false, ErrClosed
		case e.inFlight > 0 || e.timersBusy > 0:
			return false, nil
		case e.gaveUp:
			return false, ErrHandlerGaveUp
		}
		now := e.clock.Now()
		for _, q := range e.queues {
			if q.peekReady() != nil {
				return false, nil
			}
			if t, ok := q.nextVisible(); ok && !t.After(now) {
				return false, nil
			}
		}
		return true, nil
	})
}

// Close stops delivering, sends SIGTERM to the handler (SIGKILL after
// Options.ShutdownGrace or when ctx ends), and stops the broker.
func (e *Emulator) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	p := e.proc
	e.ready = false
	e.notifyLocked()
	e.mu.Unlock()
	close(e.stop)
	var errs []error
	if p != nil {
		errs = append(errs, e.terminate(ctx, p))
	}
	e.cancel()
	if e.broker != nil {
		errs = append(errs, e.broker.Shutdown(ctx))
	}
	if e.httpSrv != nil {
		errs = append(errs, e.httpSrv.Shutdown(ctx))
	}
	e.wg.Wait()
	e.client.CloseIdleConnections()
	e.log.Info("host emulator stopped")
	return errors.Join(errs...)
}
