package hostemu

import (
	"time"
)

// pollCap bounds how long the dispatcher sleeps while something is
// scheduled, so that clock moves made outside the emulator (Advance on the
// shared vclock) are noticed; it is a liveness bound, not a correctness one.
const pollCap = 50 * time.Millisecond

// dispatchLoop delivers due messages, fires due timers and fast-forwards
// the clock when idle, waking on every state change.
func (e *Emulator) dispatchLoop() {
	defer e.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return
		}
		wait, again := e.dispatchLocked()
		e.mu.Unlock()
		if again {
			continue
		}
		var tc <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			tc = timer.C
		}
		select {
		case <-e.wake:
		case <-tc:
		case <-e.stop:
			return
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// dispatchLocked starts every invocation that is due and allowed; it
// returns how long to sleep (0 = until woken), or again = true after a
// fast-forward jump. Called with e.mu held.
func (e *Emulator) dispatchLocked() (wait time.Duration, again bool) {
	if !e.readyLocked() {
		return 0, false // the supervisor notifies when the handler is back
	}
	now := e.clock.Now()
	for _, q := range e.queues {
		q.promote(now)
	}
	for e.inFlight < e.opts.MaxConcurrentCalls {
		q := e.oldestReady()
		if q == nil {
			break
		}
		m := q.popReady()
		m.deliveryCount++
		m.lockToken = newGUID()
		e.inFlight++
		e.wg.Add(1)
		go e.deliver(e.proc, q, m, now)
	}
	if e.opts.EnableTimers {
		for _, ts := range e.timers {
			if !ts.running && !ts.next.After(now) {
				e.fireScheduled(ts, now)
			}
		}
	}
	var nextMsg, next time.Time
	for _, q := range e.queues {
		if t, ok := q.nextVisible(); ok && (nextMsg.IsZero() || t.Before(nextMsg)) {
			nextMsg = t
		}
	}
	next = nextMsg
	if e.opts.EnableTimers {
		for _, ts := range e.timers {
			if !ts.running && (next.IsZero() || ts.next.Before(next)) {
				next = ts.next
			}
		}
	}
	// Fast-forward only towards a scheduled message; a timer due on the way
	// is stepped onto (and fires), a timer alone never pulls the clock.
	if !nextMsg.IsZero() && e.inFlight == 0 && e.timersBusy == 0 && e.oldestReady() == nil &&
		(e.opts.FastForward || e.draining > 0) {
		e.log.Debug("fast-forwarding the virtual clock", "from", now, "to", next)
		e.clock.AdvanceTo(next)
		return 0, true
	}
	if next.IsZero() {
		return 0, false
	}
	return min(max(next.Sub(now), time.Millisecond), pollCap), false
}

// oldestReady returns the queue whose next ready message has the lowest
// sequence number, or nil.
func (e *Emulator) oldestReady() *queue {
	var best *queue
	for _, q := range e.queues {
		if m := q.peekReady(); m != nil && (best == nil || m.SequenceNumber < best.peekReady().SequenceNumber) {
			best = q
		}
	}
	return best
}

// deliver invokes q's function with m and settles m: complete on success,
// abandon (immediate redelivery) on failure, dead-letter when the failed
// delivery was the last one allowed.
func (e *Emulator) deliver(p *handlerProc, q *queue, m *message, now time.Time) {
	defer e.wg.Done()
	body, err := e.serviceBusRequest(q.fn, m, now)
	c := e.postBuilt(p, q.fn, body, err)
	inv := Invocation{
		ID: c.id, Function: q.fn.name, MessageID: m.MessageID, DeliveryCount: m.deliveryCount,
		StatusCode: c.status, Err: c.err, Time: now, Duration: c.duration, Logs: c.logs,
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inFlight--
	switch {
	case c.err == nil:
		inv.Settlement = SettlementCompleted
		e.pending--
	case m.deliveryCount >= e.opts.MaxDeliveryCount:
		inv.Settlement = SettlementDeadLettered
		e.pending--
		key := entityKey(q.fn.queue)
		e.deadLetters[key] = append(e.deadLetters[key], DeadLetter{
			Delivered: m.Delivered, Reason: ReasonMaxDeliveryCountExceeded,
			DeliveryCount: m.deliveryCount, DeadLetteredAt: e.clock.Now(), LastError: c.err,
		})
		e.log.Warn("message dead-lettered", "queue", q.fn.queue, "message_id", m.MessageID, "delivery_count", m.deliveryCount, "error", c.err)
	default:
		inv.Settlement = SettlementAbandoned
		q.add(m, e.clock.Now())
		e.log.Info("invocation failed, message abandoned", "function", q.fn.name, "message_id", m.MessageID, "delivery_count", m.deliveryCount, "error", c.err)
	}
	e.invocations = append(e.invocations, inv)
	e.notifyLocked()
}
