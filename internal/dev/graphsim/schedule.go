package graphsim

import (
	"container/heap"
	"time"
)

// eventKind names a scheduled transition.
type eventKind uint8

const (
	evRelExpiry           eventKind = iota + 1 // active relationship reaches endDateTime
	evRelExpired                               // expiring → expired
	evRelApprovalLapse                         // approvalPending for ApprovalLapse → expired
	evRelActivating                            // approved → activating
	evRelActive                                // activating → active
	evRelTerminating                           // terminationRequested → terminating (customer-initiated)
	evRelTerminated                            // terminating → terminated (customer-initiated)
	evReqPending                               // request created → pending
	evReqDone                                  // request pending → succeeded/failed
	evOpRunning                                // operation notStarted → running
	evOpDone                                   // operation running → succeeded/failed
	evAAActive                                 // access assignment pending → active
	evAADeleted                                // access assignment deleting → deleted
	evRelCustomerApproves                      // a scripted customer approves (Options.CustomerApproval)
)

// event is one scheduled transition. Events are validated when they fire
// (the entity may have moved on), so they never need to be cancelled.
type event struct {
	at   time.Time
	seq  uint64
	kind eventKind
	rel  *relationship
	req  *relRequest
	op   *operation
	aa   *assignment
}

// schedule is a min-heap of events ordered by time, then insertion.
type schedule []*event

func (h schedule) Len() int { return len(h) }
func (h schedule) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h schedule) Swap(i, j int) { h[i], h[j] = h[j], h[i] }

// Push implements heap.Interface.
func (h *schedule) Push(x any) { *h = append(*h, x.(*event)) }

// Pop implements heap.Interface.
func (h *schedule) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return e
}

// scheduleLocked adds an event.
func (s *Sim) scheduleLocked(e *event) {
	s.evSeq++
	e.seq = s.evSeq
	heap.Push(&s.sched, e)
}

// appendEventLocked adds an event without restoring the heap order; call
// heap.Init afterwards (bulk seeding).
func (s *Sim) appendEventLocked(e *event) {
	s.evSeq++
	e.seq = s.evSeq
	s.sched = append(s.sched, e)
}

// advanceLocked applies every event due at now, in time order. Each event
// takes effect at its own scheduled instant (timestamps are e.at, follow-up
// events are scheduled from e.at), so the result does not depend on how
// often the simulator is called.
func (s *Sim) advanceLocked(now time.Time) {
	for len(s.sched) > 0 && !s.sched[0].at.After(now) {
		e := heap.Pop(&s.sched).(*event)
		s.fireLocked(e)
	}
}

// nextEventLocked returns the time of the next scheduled event.
func (s *Sim) nextEventLocked() (time.Time, bool) {
	if len(s.sched) == 0 {
		return time.Time{}, false
	}
	return s.sched[0].at, true
}
