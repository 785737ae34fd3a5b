package hostemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// HostVersion is sent in X-Azure-Functions-HostVersion and User-Agent.
const HostVersion = "4.1041.200.0"

// transportSettle bounds how long a failed invocation waits for the
// handler's exit to be observed, so that the redelivery goes to the
// restarted process rather than to the dying one.
const transportSettle = 2 * time.Second

// call is the outcome of posting one invocation.
type call struct {
	id       string
	status   int
	logs     []string
	outputs  map[string]json.RawMessage
	err      error
	duration time.Duration
}

// post sends an invocation envelope to p as the host does and classifies
// the outcome (docs/platform/functions-host-facts.md §3.4, §3.5).
func (e *Emulator) post(p *handlerProc, fn *function, body []byte) call {
	c := call{id: newGUID()}
	start := time.Now()
	fail := func(kind string, err error) call {
		c.err = &InvocationError{Function: fn.name, Kind: kind, StatusCode: c.status, Err: err}
		c.duration = time.Since(start)
		return c
	}
	ctx, cancel := e.baseCtx, context.CancelFunc(func() {})
	if e.host.functionTimeout > 0 {
		ctx, cancel = context.WithTimeoutCause(e.baseCtx, e.host.functionTimeout, errFunctionTimeout)
	}
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.baseURL+"/"+fn.name, bytes.NewReader(body))
	if err != nil {
		return fail(FailureTransport, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("X-Azure-Functions-InvocationId", c.id)
	req.Header.Set("X-Azure-Functions-HostVersion", HostVersion)
	req.Header.Set("User-Agent", "Azure-Functions-Host/"+HostVersion)
	resp, err := e.client.Do(req)
	var respBody []byte
	if err == nil {
		c.status = resp.StatusCode
		respBody, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
	}
	if err != nil {
		if errors.Is(context.Cause(ctx), errFunctionTimeout) {
			e.log.Error("function timed out, restarting the handler", "function", fn.name, "invocation_id", c.id, "timeout", e.host.functionTimeout)
			e.restart(p)
			return fail(FailureTimeout, fmt.Errorf("timeout value of %s exceeded", e.host.functionTimeout))
		}
		select { // let the supervisor notice a dying handler before redelivery
		case <-p.exited:
		case <-e.stop:
		case <-time.After(transportSettle):
		}
		return fail(FailureTransport, err)
	}
	if c.status < 200 || c.status > 299 {
		return fail(FailureStatus, fmt.Errorf("response status code does not indicate success: %d (%s)", c.status, snippet(respBody)))
	}
	r, err := parseResponse(resp.Header.Get("Content-Type"), respBody)
	if err != nil {
		return fail(FailureResponse, err)
	}
	c.logs, c.outputs = r.Logs, r.Outputs
	for _, l := range r.Logs {
		e.log.Info(l, "function", fn.name, "invocation_id", c.id)
	}
	c.duration = time.Since(start)
	return c
}

// postBuilt posts the invocation body built for fn, or, when building it
// failed with buildErr, records that as a transport failure without posting.
func (e *Emulator) postBuilt(p *handlerProc, fn *function, body []byte, buildErr error) call {
	if buildErr != nil {
		return call{id: newGUID(), err: &InvocationError{Function: fn.name, Kind: FailureTransport, Err: buildErr}}
	}
	return e.post(p, fn, body)
}

var errFunctionTimeout = errors.New("function timeout") //nolint:gochecknoglobals // cause sentinel

func snippet(b []byte) string {
	const max = 200
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
