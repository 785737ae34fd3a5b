package hostemu

import (
	"container/heap"
	"strings"
	"time"
)

// message is a queued Service Bus message and its delivery state.
type message struct {
	Delivered
	visibleAt     time.Time
	deliveryCount int
	lockToken     string
}

// queue holds the messages of one queue a function listens on: ready
// messages in sequence-number order, scheduled ones by visibility time.
type queue struct {
	fn        *function
	ready     msgHeap
	scheduled msgHeap
}

func newQueue(fn *function) *queue {
	return &queue{
		fn:        fn,
		ready:     msgHeap{less: func(a, b *message) bool { return a.SequenceNumber < b.SequenceNumber }},
		scheduled: msgHeap{less: lessVisible},
	}
}

func lessVisible(a, b *message) bool {
	if !a.visibleAt.Equal(b.visibleAt) {
		return a.visibleAt.Before(b.visibleAt)
	}
	return a.SequenceNumber < b.SequenceNumber
}

// add queues m, ready now or scheduled for later.
func (q *queue) add(m *message, now time.Time) {
	if m.visibleAt.After(now) {
		heap.Push(&q.scheduled, m)
		return
	}
	heap.Push(&q.ready, m)
}

// promote moves every scheduled message visible at now to ready.
func (q *queue) promote(now time.Time) {
	for q.scheduled.Len() > 0 && !q.scheduled.items[0].visibleAt.After(now) {
		heap.Push(&q.ready, heap.Pop(&q.scheduled))
	}
}

// nextVisible is the visibility time of the earliest scheduled message.
func (q *queue) nextVisible() (time.Time, bool) {
	if q.scheduled.Len() == 0 {
		return time.Time{}, false
	}
	return q.scheduled.items[0].visibleAt, true
}

// peekReady returns the ready message with the lowest sequence number.
func (q *queue) peekReady() *message {
	if q.ready.Len() == 0 {
		return nil
	}
	return q.ready.items[0]
}

func (q *queue) popReady() *message { return heap.Pop(&q.ready).(*message) }

// entityKey normalizes an entity name: Service Bus names are
// case-insensitive.
func entityKey(name string) string { return strings.ToLower(name) }

// msgHeap is a container/heap of messages ordered by less.
type msgHeap struct {
	items []*message
	less  func(a, b *message) bool
}

func (h *msgHeap) Len() int           { return len(h.items) }
func (h *msgHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *msgHeap) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *msgHeap) Push(x any)         { h.items = append(h.items, x.(*message)) }
func (h *msgHeap) Pop() any {
	n := len(h.items) - 1
	m := h.items[n]
	h.items[n] = nil
	h.items = h.items[:n]
	return m
}

// dedupeLog remembers the message ids an entity accepted within the
// duplicate detection window.
type dedupeLog struct {
	at    map[string]time.Time
	order []dedupeEntry
}

type dedupeEntry struct {
	id string
	at time.Time
}

// admit reports whether id is new within window at now, and records it.
func (d *dedupeLog) admit(id string, now time.Time, window time.Duration) bool {
	for len(d.order) > 0 && now.Sub(d.order[0].at) >= window {
		if d.at[d.order[0].id].Equal(d.order[0].at) {
			delete(d.at, d.order[0].id)
		}
		d.order = d.order[1:]
	}
	if _, dup := d.at[id]; dup {
		return false
	}
	d.at[id] = now
	d.order = append(d.order, dedupeEntry{id: id, at: now})
	return true
}
