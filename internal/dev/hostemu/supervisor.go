package hostemu

import (
	"context"
	"errors"
	"time"
)

// The host shuts down after this many handler failures within crashWindow
// (HttpFunctionInvocationDispatcher); the emulator stops restarting.
const (
	crashLimit  = 3
	crashWindow = 30 * time.Minute
)

// supervise keeps a handler process running: start, wait for readiness,
// publish it to the dispatcher, wait for its exit, restart. The first
// start-up result goes to first.
func (e *Emulator) supervise(first chan<- error) {
	defer e.wg.Done()
	var crashes []time.Time
	crashed := func(err error) bool {
		now := time.Now()
		kept := crashes[:0]
		for _, t := range crashes {
			if now.Sub(t) < crashWindow {
				kept = append(kept, t)
			}
		}
		crashes = append(kept, now)
		if len(crashes) < crashLimit {
			e.log.Error("handler failed, restarting it", "error", err, "failures", len(crashes))
			return false
		}
		e.log.Error("handler failed too often, giving up as the host would", "error", err, "failures", len(crashes))
		e.mu.Lock()
		e.gaveUp = true
		e.notifyLocked()
		e.mu.Unlock()
		return true
	}
	for {
		p, err := e.launch()
		if first != nil {
			first <- err
			first = nil
			if err != nil {
				return
			}
		} else if err != nil {
			if errors.Is(err, ErrClosed) || crashed(err) {
				return
			}
			continue
		}
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			_ = e.terminate(context.Background(), p)
			return
		}
		e.proc, e.ready = p, true
		e.notifyLocked()
		e.mu.Unlock()

		<-p.exited
		e.mu.Lock()
		e.proc, e.ready = nil, false
		closed := e.closed
		e.notifyLocked()
		e.mu.Unlock()
		e.client.CloseIdleConnections()
		switch {
		case closed:
			return
		case p.expected.Load():
			e.log.Info("handler stopped by the emulator, restarting it", "pid", p.cmd.Process.Pid)
		default:
			e.log.Error("handler exited unexpectedly", "pid", p.cmd.Process.Pid, "error", p.exitErr)
			if crashed(p.exitErr) {
				return
			}
		}
	}
}

// readyLocked reports whether invocations may go to e.proc: it answered
// readiness, is not being killed, and has not exited (the supervisor may not
// have processed an exit yet). Called with e.mu held.
func (e *Emulator) readyLocked() bool {
	if !e.ready || e.gaveUp || e.proc == nil {
		return false
	}
	select {
	case <-e.proc.exited:
		return false
	default:
		return true
	}
}

// launch starts a process and waits until it is ready; a process that
// never becomes ready is killed.
func (e *Emulator) launch() (*handlerProc, error) {
	for attempt := 1; ; attempt++ {
		p, err := e.startProcess()
		if err != nil {
			return nil, err
		}
		err = e.waitReady(p)
		if err == nil {
			return p, nil
		}
		p.kill()
		<-p.exited
		// A port taken by another process is the emulator's race, not the
		// handler's fault: start again on a new port.
		if !errors.Is(err, errPortTaken) || attempt == portAttempts {
			return nil, err
		}
		e.log.Warn("handler port was taken by another process; starting again on a new port", "port", p.port, "attempt", attempt)
	}
}

// portAttempts bounds the starts on a new port after errPortTaken.
const portAttempts = 5

// restart kills p (if it is still the current process) so that the
// supervisor starts a new one; used after a function timeout, as the host
// restarts the worker that ran the timed-out invocation.
func (e *Emulator) restart(p *handlerProc) {
	e.mu.Lock()
	if e.proc == p {
		e.ready = false
		e.notifyLocked()
	}
	e.mu.Unlock()
	p.kill()
}

// KillHandler kills the handler process with SIGKILL, as a crash would:
// in-flight invocations fail and their messages are redelivered. The
// emulator restarts the handler as the host does, and KillHandler returns
// once the new process is ready. Deliberate kills do not count towards the
// host's crash limit.
func (e *Emulator) KillHandler() error {
	e.mu.Lock()
	p := e.proc
	switch {
	case e.closed:
		e.mu.Unlock()
		return ErrClosed
	case e.gaveUp:
		e.mu.Unlock()
		return ErrHandlerGaveUp
	case p == nil:
		e.mu.Unlock()
		return errors.New("hostemu: handler is not running")
	}
	e.ready = false
	e.notifyLocked()
	e.mu.Unlock()
	p.kill()
	return e.waitUntil(context.Background(), func() (bool, error) {
		switch {
		case e.closed:
			return false, ErrClosed
		case e.gaveUp:
			return false, ErrHandlerGaveUp
		}
		return e.readyLocked() && e.proc != p, nil
	})
}
