package invoke

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// maxResponseLogs bounds the lines returned in the response's Logs array.
const maxResponseLogs = 40

// collector gathers an invocation's log lines for the response's Logs array
// (the host logs them through the function's own logger).
type collector struct {
	mu    sync.Mutex
	lines []string
	extra int
}

func (c *collector) add(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.lines) >= maxResponseLogs {
		c.extra++
		return
	}
	c.lines = append(c.lines, line)
}

func (c *collector) result() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]string(nil), c.lines...)
	if c.extra > 0 {
		out = append(out, fmt.Sprintf("(%d more lines on stdout)", c.extra))
	}
	return out
}

// teeHandler writes records to the JSON handler (stdout) and copies
// Info-or-higher messages, with their attributes, into a collector.
type teeHandler struct {
	next  slog.Handler
	c     *collector
	attrs []slog.Attr
}

func (h *teeHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *teeHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelInfo {
		var b strings.Builder
		b.WriteString(r.Level.String())
		b.WriteByte(' ')
		b.WriteString(r.Message)
		write := func(a slog.Attr) bool {
			if a.Key == "function" || a.Key == "invocation_id" {
				return true
			}
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value.Any())
			return true
		}
		for _, a := range h.attrs {
			write(a)
		}
		r.Attrs(write)
		h.c.add(b.String())
	}
	return h.next.Handle(ctx, r)
}

func (h *teeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &teeHandler{next: h.next.WithAttrs(attrs), c: h.c, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *teeHandler) WithGroup(name string) slog.Handler {
	return &teeHandler{next: h.next.WithGroup(name), c: h.c, attrs: h.attrs}
}
