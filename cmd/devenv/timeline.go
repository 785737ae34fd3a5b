package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/dev/hostemu"
	"github.com/gdapflow/gdapflow/internal/dev/pcsim"
)

// rank orders timeline entries that share a virtual instant (the clock does
// not move during an invocation): what was sent first, then the upstream
// calls the invocations made, then what they scheduled, then what they
// published.
type rank int

const (
	rankSent     rank = iota // commands sent, notes, clock jumps
	rankUpstream             // Graph and Partner Center calls
	rankHost                 // continuations scheduled, invocation failures
	rankEvent                // published events
)

// entry is one timeline line.
type entry struct {
	at     time.Time
	rank   rank
	seq    int    // order of insertion, the tie-breaker within a rank
	marker string // "→", "←", "⏱", "⏩", "⊘", "•", " "
	who    string // "command", "graph", "pc", "event", ...
	text   string
	// sig groups consecutive entries that say the same thing (same kind,
	// route and status, or same event type and code); "" never groups.
	sig string
	// agg, when set, merges every entry of the step with the same agg into
	// the first one, shown with aggText and a count (sweep events and the
	// commands gdapflow issues itself, which come by the dozen).
	agg, aggText string
	// label, when set, is the text's leading id: a run of grouped entries
	// shows "first … last" followed by rest.
	label, rest string
}

// timeline collects the entries of one step and renders them.
type timeline struct {
	origin  time.Time // virtual time shown as +00:00:00.000
	entries []entry
}

func (t *timeline) add(e entry) {
	e.seq = len(t.entries)
	t.entries = append(t.entries, e)
}

// sorted returns the entries in virtual-time order.
func (t *timeline) sorted() []entry {
	out := append([]entry(nil), t.entries...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.at.Equal(b.at) {
			return a.at.Before(b.at)
		}
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		return a.seq < b.seq
	})
	return out
}

// maxStepLines bounds the lines one step prints after grouping; the middle
// of a longer step is elided (the summary still counts everything).
const maxStepLines = 60

// render writes the step's entries, grouping runs of three or more
// consecutive entries with the same signature into one line.
func (t *timeline) render(w io.Writer) {
	type item struct {
		entry
		n    int
		last time.Time
	}
	var items []*item
	byAgg := map[string]*item{}
	for _, e := range t.sorted() {
		if it, ok := byAgg[e.agg]; ok && e.agg != "" {
			it.n++
			it.last = e.at
			continue
		}
		it := &item{entry: e, n: 1, last: e.at}
		if e.agg != "" {
			byAgg[e.agg] = it
		}
		items = append(items, it)
	}
	until := func(first, last time.Time) string {
		if a, b := offset(first.Sub(t.origin)), offset(last.Sub(t.origin)); a != b {
			return " (until " + b + ")"
		}
		return ""
	}
	var groups [][]entry
	for _, it := range items {
		if it.n > 1 {
			e := it.entry
			e.text = e.aggText + fmt.Sprintf("  ×%d", it.n) + until(e.at, it.last)
			e.sig = "" // already a summary line
			groups = append(groups, []entry{e})
			continue
		}
		e := it.entry
		if n := len(groups); n > 0 && e.sig != "" && groups[n-1][0].sig == e.sig {
			groups[n-1] = append(groups[n-1], e)
			continue
		}
		groups = append(groups, []entry{e})
	}
	var lines []string
	for _, g := range groups {
		if len(g) < 3 { // runs of two read better as two lines
			for _, e := range g {
				lines = append(lines, t.line(e, ""))
			}
			continue
		}
		suffix := fmt.Sprintf("  ×%d", len(g)) + until(g[0].at, g[len(g)-1].at)
		first := g[0]
		if last := g[len(g)-1]; first.label != "" && last.label != "" {
			first.text = first.label + " … " + last.label + first.rest
		}
		lines = append(lines, t.line(first, suffix))
	}
	if len(lines) > maxStepLines {
		head, tail := lines[:maxStepLines-10], lines[len(lines)-10:]
		lines = append(append(append([]string(nil), head...), fmt.Sprintf("%15s… %d more lines …", "", len(lines)-len(head)-len(tail))), tail...)
	}
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

func (t *timeline) line(e entry, suffix string) string {
	return fmt.Sprintf("%s  %s %-7s %s%s", offset(e.at.Sub(t.origin)), e.marker, e.who, e.text, suffix)
}

// offset formats a virtual-time offset as +HH:MM:SS.mmm (hours unbounded).
func offset(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	ms := d.Milliseconds()
	return fmt.Sprintf("%s%02d:%02d:%02d.%03d", sign, ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

// shortDuration formats a duration such as 15m, 2h30m, 7.0s or 250ms.
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	s := d.Round(time.Second).String() // 2h30m0s, 15m0s, 1h0m0s
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// approxWait formats a derived continuation wait: whole seconds from 2 s
// on, tenths below (the derivation is accurate to a few milliseconds).
func approxWait(d time.Duration) string {
	if d >= 2*time.Second {
		return fmt.Sprintf("≈+%ds", int(d.Round(time.Second).Seconds()))
	}
	return fmt.Sprintf("≈+%.1fs", d.Seconds())
}

// shortID shortens a long id to its first 8 characters.
func shortID(s string) string {
	if len(s) <= 20 {
		return s
	}
	return s[:8] + "…"
}

// shortSegment shortens a path segment that is an id (long, with digits).
func shortSegment(s string) string {
	if len(s) > 20 && strings.ContainsAny(s, "0123456789") {
		return shortID(s)
	}
	return s
}

// shortPath abbreviates an upstream path for the timeline: the Graph
// tenantRelationships prefix becomes "…" and long ids keep 8 characters.
func shortPath(p, query string) string {
	p = strings.Replace(p, "/tenantRelationships/", "/…/", 1)
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = shortSegment(s)
	}
	p = strings.Join(segs, "/")
	if query != "" {
		q := query
		if len(q) > 40 {
			q = q[:40] + "…"
		}
		p += "?" + q
	}
	return p
}

// statusText renders an HTTP status, 0 meaning a reset connection.
func statusText(code int) string {
	if code == 0 {
		return "reset"
	}
	return strconv.Itoa(code)
}

// graphEntry is the timeline entry of one Graph request.
func graphEntry(j graphsim.JournalEntry) entry {
	return entry{
		at: j.Time, rank: rankUpstream, marker: " ", who: "graph",
		text: fmt.Sprintf("%-6s %-62s %s", j.Method, shortPath(j.Path, j.Query), statusText(j.Status)),
		sig:  "graph " + j.Method + " " + j.Route + " " + statusText(j.Status),
	}
}

// pcEntry is the timeline entry of one Partner Center / token request.
func pcEntry(j pcsim.JournalEntry) entry {
	return entry{
		at: j.Time, rank: rankUpstream, marker: " ", who: "pc",
		text: fmt.Sprintf("%-6s %-62s %s", j.Method, shortPath(j.Path, ""), statusText(j.Status)),
		sig:  "pc " + j.Method + " " + j.Path + " " + statusText(j.Status),
	}
}

// publishedEvent is an event on the topic with the virtual time the broker
// accepted it.
type publishedEvent struct {
	devstack.Event
	At time.Time
}

// decodePublished decodes topic messages as events.
func decodePublished(ds []hostemu.Delivered) ([]publishedEvent, error) {
	out := make([]publishedEvent, 0, len(ds))
	for _, d := range ds {
		var e devstack.Event
		if err := json.Unmarshal(d.Body, &e); err != nil {
			return nil, fmt.Errorf("event %s is not a CloudEvent: %w", d.MessageID, err)
		}
		e.CorrelationID, e.MessageID, e.ContentType = d.CorrelationID, d.MessageID, d.ContentType
		out = append(out, publishedEvent{Event: e, At: d.EnqueuedTime})
	}
	return out, nil
}

// eventData is the union of the event data fields the timeline shows.
type eventData struct {
	OperationID    string `json:"operationId"`
	MessageID      string `json:"messageId"`
	RelationshipID string `json:"relationshipId"`
	Attempts       int    `json:"attempts"`
	Result         struct {
		AlreadyDone bool `json:"alreadyDone"`
	} `json:"result"`
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Status         string         `json:"status"`
	DaysRemaining  *int           `json:"daysRemaining"`
	ThresholdDays  *int           `json:"thresholdDays"`
	DaysPending    *int           `json:"daysPending"`
	Relationships  *int           `json:"relationships"`
	CountsByStatus map[string]int `json:"countsByStatus"`
	Expiring       *int           `json:"expiring"`
	Pages          *int           `json:"pages"`
	Invocations    *int           `json:"invocations"`
}

func intOr(p *int) string {
	if p == nil {
		return "?"
	}
	return strconv.Itoa(*p)
}

// eventEntry is the timeline entry of one published event.
func eventEntry(e publishedEvent) entry {
	var d eventData
	_ = e.Decode(&d) // a malformed body still gets a line
	en := entry{at: e.At, rank: rankEvent, marker: "←", who: "event", sig: "event " + e.Type}
	short := strings.TrimPrefix(e.Type, "gdap.")
	switch e.Type {
	case "gdap.operation.succeeded":
		en.text = fmt.Sprintf("%-22s %s (attempts=%d, alreadyDone=%t)", short, d.OperationID, d.Attempts, d.Result.AlreadyDone)
		en.sig = ""
	case "gdap.operation.failed":
		en.text = fmt.Sprintf("%-22s %s %s: %s", short, d.OperationID, d.Error.Code, clip(shortenIDs(d.Error.Message), 90))
		en.sig = ""
	case "gdap.command.rejected":
		en.text = fmt.Sprintf("%-22s %s %s: %s", short, shortID(d.OperationID), d.Error.Code, clip(shortenIDs(d.Error.Message), 70))
		en.sig = ""
	case "gdap.relationship.expiring":
		en.text = fmt.Sprintf("%-22s %s %s days left (threshold %s)", short, shortID(d.RelationshipID), intOr(d.DaysRemaining), intOr(d.ThresholdDays))
	case "gdap.relationship.ended":
		en.text = fmt.Sprintf("%-22s %s %s", short, shortID(d.RelationshipID), d.Status)
	case "gdap.relationship.approvalPending":
		en.text = fmt.Sprintf("%-22s %s pending %s days", short, shortID(d.RelationshipID), intOr(d.DaysPending))
	case "gdap.sweep.completed":
		en.text = fmt.Sprintf("%-22s relationships=%s expiring=%s pages=%s invocations=%s", short,
			intOr(d.Relationships), intOr(d.Expiring), intOr(d.Pages), intOr(d.Invocations))
	default:
		en.text = e.Type
	}
	switch e.Type {
	case "gdap.relationship.expiring", "gdap.relationship.ended", "gdap.relationship.approvalPending":
		// One per relationship: a sweep publishes them by the dozen.
		en.agg = en.sig
		en.aggText = fmt.Sprintf("%-22s (one per relationship)", short)
	}
	return en
}

// idRE matches a GUID, or a GDAP relationship id (two GUIDs joined by "-").
var idRE = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?:-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?`)

// shortenIDs replaces every GUID or relationship id in s by its first 8
// characters and an ellipsis.
func shortenIDs(s string) string {
	return idRE.ReplaceAllStringFunc(s, func(id string) string { return id[:8] + "…" })
}

// clip shortens s to n runes on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// continuationIDRE matches the engine's continuation message ids:
// "<operation>.c<n>" (resume) and "<operation>.lease.<ms>" (lease check).
var continuationIDRE = regexp.MustCompile(`^(.+)\.(?:c\d+|lease\.\d+)$`)

// continuationOperation returns the operation a continuation message id
// belongs to.
func continuationOperation(messageID string) (string, bool) {
	m := continuationIDRE.FindStringSubmatch(messageID)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// invocationOperation is the operation an invocation worked on: the
// MessageId of a command (the operation id, as senders set it) or the
// operation named by a continuation's id.
func invocationOperation(inv hostemu.Invocation) string {
	if inv.Function == "continuations" {
		op, _ := continuationOperation(inv.MessageID)
		return op
	}
	return inv.MessageID
}

// scheduledWait is a continuation derived from the invocation log: the
// invocation that scheduled it and how long it waited in virtual time.
type scheduledWait struct {
	// SchedulerStart is the virtual start of the invocation that scheduled
	// the continuation: its "now" began there.
	SchedulerStart time.Time
	ScheduledAt    time.Time
	Wait           time.Duration
	MessageID      string
	Operation      string
}

// continuationWaits derives, for each first delivery of a continuation in
// invs[from:], the earlier invocation of the same operation that scheduled
// it. The virtual clock runs at real speed and never jumps while an
// invocation is in flight, so the continuation was scheduled by the end of
// that invocation (virtual start plus real duration) and waited until its
// own delivery. Continuations whose id does not name an operation (sweep
// pages) are returned with a zero ScheduledAt.
func continuationWaits(invs []hostemu.Invocation, from int) []scheduledWait {
	var out []scheduledWait
	for i := from; i < len(invs); i++ {
		c := invs[i]
		if c.Function != "continuations" || c.DeliveryCount > 1 {
			continue
		}
		op, ok := continuationOperation(c.MessageID)
		if !ok {
			out = append(out, scheduledWait{MessageID: c.MessageID, ScheduledAt: time.Time{}, Wait: 0})
			continue
		}
		for j := i - 1; j >= 0; j-- {
			if invocationOperation(invs[j]) == op && !invs[j].Time.After(c.Time) {
				end := invs[j].Time.Add(invs[j].Duration)
				out = append(out, scheduledWait{SchedulerStart: invs[j].Time, ScheduledAt: end, Wait: c.Time.Sub(end), MessageID: c.MessageID, Operation: op})
				break
			}
		}
	}
	return out
}
