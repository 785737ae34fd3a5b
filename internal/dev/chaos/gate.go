package chaos

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// gate sits between the handler and one of its dependencies: the emulator's
// broker (GDAP_BROKER_URL points at it) or Azurite (the handler's Table
// endpoint points at it). While down, every request fails with 503, as
// Service Bus and Table Storage answer during an outage. While hung, every
// request is held unanswered until the hang ends and is then forwarded even
// if its client has given up, so that a write the client timed out on may
// still execute, as it may in Table Storage. Otherwise requests pass
// through.
type gate struct {
	// name is the dependency, for the 503 body.
	name   string
	url    string
	target atomic.Pointer[string]
	down   atomic.Bool
	failed atomic.Int64
	// hung, while set, is closed when the hang ends; held counts the
	// requests it held, abandoned those whose client had gone by then,
	// and heldConflicts those answered 409 or 412 (an insert or an
	// If-Match write that another call, often its own earlier try, got
	// in ahead of).
	hung                           atomic.Pointer[chan struct{}]
	held, abandoned, heldConflicts atomic.Int64
	// lose, when set, drops what it is armed for: the response of a Table
	// Storage write after the write executed (table gate), or a
	// continuation send, answered as accepted but never forwarded (broker
	// gate).
	lose   *loser
	client *http.Client
	srv    *http.Server
}

// setHung starts a hang (on: every request is held until the hang ends) or
// ends it, releasing the held requests. Starting a hang ends one still
// running, so that no request is held for ever.
func (g *gate) setHung(on bool) {
	var next *chan struct{}
	if on {
		ch := make(chan struct{})
		next = &ch
	}
	if old := g.hung.Swap(next); old != nil {
		close(*old)
	}
}

func startGate(name string) (*gate, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &gate{name: name, url: "http://" + ln.Addr().String(), client: &http.Client{Timeout: 30 * time.Second}}
	g.srv = &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = g.srv.Serve(ln) }()
	return g, nil
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	ctx := r.Context()
	wasHeld := false
	if ch := g.hung.Load(); ch != nil {
		wasHeld = true
		g.held.Add(1)
		<-*ch
		if ctx.Err() != nil {
			g.abandoned.Add(1)
		}
		// Forwarded whether or not the client still waits.
		ctx = context.WithoutCancel(ctx)
	}
	target := g.target.Load()
	if g.down.Load() || target == nil {
		g.failed.Add(1)
		http.Error(w, "chaos: "+g.name+" outage", http.StatusServiceUnavailable)
		return
	}
	if g.lose != nil {
		if id, ok := droppableContinuation(r, body); ok {
			if lost, _ := g.lose.take("send", id); lost {
				w.WriteHeader(http.StatusCreated) // accepted, as far as the sender can tell
				return
			}
		}
	}
	lostKind := ""
	if g.lose != nil {
		lostKind = tableWriteKind(r, body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, *target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := g.client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if lostKind != "" && resp.StatusCode < 300 {
		if lost, hang := g.lose.take(lostKind, ""); lost {
			// Executed by Azurite; the response never reaches the client.
			_, _ = io.Copy(io.Discard, resp.Body)
			dropResponse(w, r, hang)
			return
		}
	}
	if wasHeld && (resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusPreconditionFailed) {
		g.heldConflicts.Add(1)
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func (g *gate) close() {
	g.setHung(false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = g.srv.Shutdown(ctx)
}
