package hostemu

import (
	"context"
	"fmt"
	"time"
)

// timerState is the schedule monitor of one timer function.
type timerState struct {
	fn      *function
	last    time.Time // last occurrence that fired, zero before the first
	next    time.Time // next scheduled occurrence
	running bool      // a scheduled fire is in flight
}

// info builds the TimerInfo for an occurrence at fireAt invoked at now and
// records it in the monitor. Called with e.mu held.
func (ts *timerState) info(fireAt, now time.Time, pastDue bool) timerInfo {
	ti := timerInfo{Schedule: timerSchedule{AdjustForDST: true}, IsPastDue: pastDue}
	ts.last = fireAt
	ts.next = ts.fn.schedule.Next(now)
	if ts.fn.useMonitor {
		ti.ScheduleStatus = &timerScheduleStatus{
			Last:        formatTimerTime(ts.last),
			Next:        formatTimerTime(ts.next),
			LastUpdated: formatTimerTime(now),
		}
	}
	return ti
}

// fireScheduled starts the scheduled occurrence ts.next of a timer. The
// occurrence is past due when a later occurrence is already due too.
// Called with e.mu held.
func (e *Emulator) fireScheduled(ts *timerState, now time.Time) {
	pastDue := !ts.fn.schedule.Next(ts.next).After(now)
	ti := ts.info(ts.next, now, pastDue)
	ts.running = true
	e.timersBusy++
	p := e.proc
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		inv := e.invokeTimer(p, ts.fn, ti, now)
		e.mu.Lock()
		defer e.mu.Unlock()
		ts.running = false
		e.timersBusy--
		e.invocations = append(e.invocations, inv)
		e.notifyLocked()
	}()
}

// invokeTimer posts one timer invocation. A failed timer invocation is
// only logged, as in the host; the next occurrence still fires.
func (e *Emulator) invokeTimer(p *handlerProc, fn *function, ti timerInfo, now time.Time) Invocation {
	body, err := timerRequest(fn, ti, now)
	c := e.postBuilt(p, fn, body, err)
	if c.err != nil {
		e.log.Error("timer invocation failed", "function", fn.name, "error", c.err)
	}
	return Invocation{ID: c.id, Function: fn.name, StatusCode: c.status, Err: c.err, Time: now, Duration: c.duration, Logs: c.logs}
}

// FireTimer invokes the timer function now, exactly as the host would on
// its schedule (IsPastDue false), and waits for it. It waits for the
// handler to be ready first. The returned error is the invocation's
// *InvocationError, if it failed.
func (e *Emulator) FireTimer(ctx context.Context, function string) error {
	e.mu.Lock()
	ts, ok := e.timers[function]
	e.mu.Unlock()
	if !ok {
		return fmt.Errorf("hostemu: %q is not a timer function", function)
	}
	var ti timerInfo
	p, at, err := e.claimReady(ctx, func(at time.Time) { ti = ts.info(at, at, false) })
	if err != nil {
		return err
	}
	inv := e.invokeTimer(p, ts.fn, ti, at)
	e.release(inv)
	return inv.Err
}

// claimReady waits until the handler is ready, then, under the lock, takes
// the current process and time, calls then (if set) and counts one
// invocation in flight outside the queues (Idle and Drain wait for it);
// release ends it.
func (e *Emulator) claimReady(ctx context.Context, then func(at time.Time)) (*handlerProc, time.Time, error) {
	var (
		p  *handlerProc
		at time.Time
	)
	err := e.waitUntil(ctx, func() (bool, error) {
		switch {
		case e.closed:
			return false, ErrClosed
		case e.gaveUp:
			return false, ErrHandlerGaveUp
		case !e.readyLocked():
			return false, nil
		}
		p, at = e.proc, e.clock.Now()
		if then != nil {
			then(at)
		}
		e.timersBusy++
		return true, nil
	})
	return p, at, err
}

// release records the invocation a claimReady began and ends it.
func (e *Emulator) release(inv Invocation) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.timersBusy--
	e.invocations = append(e.invocations, inv)
	e.notifyLocked()
}
