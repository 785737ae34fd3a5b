package hostemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// routePrefix is host.json's default extensions.http.routePrefix.
const routePrefix = "api"

// maxHTTPRequestBody bounds a request to an HTTP function (the host's
// default maxRequestBodySize, 100 MiB).
const maxHTTPRequestBody = 100 << 20

// parseHTTPTrigger reads an httpTrigger binding and the function's http
// output binding. Only authLevel anonymous is emulated (no function keys).
func parseHTTPTrigger(fn *function, trig *bindingJSON, all []bindingJSON) error {
	if lvl := strings.ToLower(trig.AuthLevel); lvl != "anonymous" {
		return fmt.Errorf("httpTrigger: authLevel %q not supported (only anonymous)", trig.AuthLevel)
	}
	for _, m := range trig.Methods {
		fn.methods = append(fn.methods, strings.ToUpper(m))
	}
	fn.route = strings.Trim(trig.Route, "/")
	if fn.route == "" {
		fn.route = fn.name
	}
	for _, b := range all {
		if strings.EqualFold(b.Type, "http") && b.Direction == "out" {
			if fn.httpOut != "" {
				return errors.New("more than one http output binding")
			}
			fn.httpOut = b.Name
		}
	}
	if fn.httpOut == "" {
		return errors.New("httpTrigger: no http output binding")
	}
	return nil
}

// startHTTP serves the HTTP functions at http://127.0.0.1:<port>/api/<route>.
func (e *Emulator) startHTTP() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("hostemu: http listen: %w", err)
	}
	mux := http.NewServeMux()
	for _, fn := range e.byName {
		if fn.trigger == triggerHTTP {
			mux.HandleFunc("/"+routePrefix+"/"+fn.route, func(w http.ResponseWriter, r *http.Request) { e.serveHTTPFunction(w, r, fn) })
		}
	}
	e.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	e.httpURL = "http://" + l.Addr().String()
	go func() { _ = e.httpSrv.Serve(l) }()
	return nil
}

// FunctionURL is the URL of an HTTP-triggered function, as a caller (Partner
// Center) would use it: http://127.0.0.1:<port>/api/<route>.
func (e *Emulator) FunctionURL(function string) (string, error) {
	fn, ok := e.byName[function]
	if !ok || fn.trigger != triggerHTTP {
		return "", fmt.Errorf("hostemu: %q is not an HTTP function", function)
	}
	return e.httpURL + "/" + routePrefix + "/" + fn.route, nil
}

// serveHTTPFunction invokes fn for one request and maps the http output
// binding back (internal/hostwire/testdata/http/README.md): a failed
// invocation (non-2xx from the handler, no or unreadable output) is 500.
func (e *Emulator) serveHTTPFunction(w http.ResponseWriter, r *http.Request, fn *function) {
	if len(fn.methods) > 0 && !contains(fn.methods, r.Method) {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHTTPRequestBody))
	if err != nil {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	p, at, err := e.claimReady(r.Context(), nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	r.Header = applyPrincipal(r.Header, e.opts.ClientPrincipal)
	env, berr := httpRequest(fn, r, body, at)
	c := e.postBuilt(p, fn, env, berr)
	status, headers, out, merr := mapHTTPOutput(c, fn.httpOut)
	if merr != nil {
		e.log.Error("http invocation failed", "function", fn.name, "error", merr)
	}
	e.release(Invocation{ID: c.id, Function: fn.name, StatusCode: c.status, Err: c.err,
		Time: at, Duration: c.duration, Logs: c.logs, HTTPStatus: status})
	for k, v := range headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// httpRequest builds the invocation of an HTTP trigger the way the host's
// GetRequestAsJObject and ToHttpScriptInvocationContext do.
func httpRequest(fn *function, r *http.Request, body []byte, now time.Time) ([]byte, error) {
	query := map[string]string{}
	for k, v := range r.URL.Query() {
		query[k] = strings.Join(v, ",")
	}
	headers := map[string][]string{}
	flat := map[string]string{}
	for k, v := range r.Header {
		headers[k] = v
		flat[k] = strings.Join(v, ",")
	}
	if r.Host != "" {
		headers["Host"], flat["Host"] = []string{r.Host}, r.Host
	}
	req := map[string]any{
		"Url":        "http://" + r.Host + r.URL.RequestURI(),
		"Method":     r.Method,
		"Query":      query,
		"Headers":    headers,
		"Identities": []any{},
	}
	if len(body) > 0 {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil &&
			(strings.EqualFold(mt, "application/octet-stream") || strings.Contains(strings.ToLower(mt), "multipart/")) {
			req["Body"] = body // []byte: base64, as Json.NET writes byte[]
		} else {
			req["Body"] = string(body)
		}
	}
	// Json.NET does not escape <, > and & as encoding/json does by default.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(invocationRequest{
		Data:     map[string]any{fn.binding: req},
		Metadata: map[string]any{"Query": query, "Headers": flat, "sys": sysMetadata(fn.name, now)},
	})
	return bytes.TrimSpace(buf.Bytes()), err
}

// mapHTTPOutput turns the invocation's http output into the response, as
// HttpScriptInvocationResultExtensions and HttpBinding.ParseResponseObject
// do: statusCode and headers apply only when body is present.
func mapHTTPOutput(c call, binding string) (int, map[string]string, []byte, error) {
	fail := func(err error) (int, map[string]string, []byte, error) {
		return http.StatusInternalServerError, nil, nil, err
	}
	if c.err != nil {
		return fail(c.err)
	}
	raw, ok := c.outputs[binding]
	if !ok {
		for k, v := range c.outputs {
			if strings.EqualFold(k, binding) {
				raw, ok = v, true
			}
		}
	}
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return fail(fmt.Errorf("no output for the http binding %q", binding))
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return fail(fmt.Errorf("http output %q is not an object: %w", binding, err))
	}
	member := func(name string) (json.RawMessage, bool) {
		for k, v := range obj {
			if strings.EqualFold(k, name) {
				return v, true
			}
		}
		return nil, false
	}
	bodyRaw, hasBody := member("body")
	if !hasBody {
		return http.StatusOK, map[string]string{"Content-Type": "application/json; charset=utf-8"}, raw, nil
	}
	status := http.StatusOK
	if s, ok := member("statusCode"); ok {
		var n json.Number
		var str string
		if json.Unmarshal(s, &n) == nil {
			str = n.String()
		} else if json.Unmarshal(s, &str) != nil {
			return fail(fmt.Errorf("http output statusCode %s", s))
		}
		v, err := strconv.Atoi(str)
		if err != nil || v < 100 || v > 999 {
			return fail(fmt.Errorf("http output statusCode %q", str))
		}
		status = v
	}
	headers := map[string]string{}
	if h, ok := member("headers"); ok {
		var hm map[string]any
		if err := json.Unmarshal(h, &hm); err != nil {
			return fail(fmt.Errorf("http output headers: %w", err))
		}
		for k, v := range hm {
			headers[k] = fmt.Sprint(v)
		}
	}
	var text string
	if json.Unmarshal(bodyRaw, &text) != nil {
		text = string(bodyRaw)
	}
	return status, headers, []byte(text), nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
