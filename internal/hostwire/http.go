package hostwire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// HTTPRequest is an HTTP trigger's request as the host puts it under
// Data.<binding> without request forwarding (GetRequestAsJObject in the
// host's HttpRequestExtensions.cs; docs/platform/functions-host-facts.md §3.7).
type HTTPRequest struct {
	// URL is scheme://host/path?query as the host saw it.
	URL string
	// Method is the HTTP method.
	Method string
	// Query maps each query parameter to its (comma-joined) value.
	Query map[string]string
	// Headers maps header names (as received) to their values.
	Headers map[string][]string
	// Params are the route parameters.
	Params map[string]string
	// Body is the exact body. The host sends it as a string (UTF-8), or as
	// base64 for application/octet-stream and multipart/* content.
	Body []byte
	// HasBody is false when the request had no content (the host omits Body).
	HasBody bool
}

// Header returns the first value of the header name (case-insensitive).
func (r HTTPRequest) Header(name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// HTTPRequest decodes Data[binding] as an HTTP trigger request. Member names
// match case-insensitively; header values may be arrays (the host's
// StringValues) or single strings.
func (inv *Invocation) HTTPRequest(binding string) (HTTPRequest, error) {
	raw, ok := inv.Binding(binding)
	if !ok || isNull(raw) {
		return HTTPRequest{}, &Error{Code: CodeMissingBinding, Key: binding, Message: "no HTTP request in Data"}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(unwrapJSONString(raw), &obj); err != nil || obj == nil {
		return HTTPRequest{}, &Error{Code: CodeInvalidBinding, Key: binding, Message: "the HTTP request is not a JSON object", Err: err}
	}
	bad := func(member string, err error) (HTTPRequest, error) {
		return HTTPRequest{}, &Error{Code: CodeInvalidBinding, Key: binding + "." + member, Message: "unexpected shape", Err: err}
	}
	var r HTTPRequest
	for member, dst := range map[string]*string{"Url": &r.URL, "Method": &r.Method} {
		if v, ok := lookup(obj, member); ok && !isNull(v) {
			if err := json.Unmarshal(v, dst); err != nil {
				return bad(member, err)
			}
		}
	}
	for member, dst := range map[string]*map[string]string{"Query": &r.Query, "Params": &r.Params} {
		if v, ok := lookup(obj, member); ok && !isNull(v) {
			if err := json.Unmarshal(v, dst); err != nil {
				return bad(member, err)
			}
		}
	}
	if v, ok := lookup(obj, "Headers"); ok && !isNull(v) {
		var hs map[string]json.RawMessage
		if err := json.Unmarshal(v, &hs); err != nil {
			return bad("Headers", err)
		}
		r.Headers = make(map[string][]string, len(hs))
		for k, hv := range hs {
			var list []string
			if err := json.Unmarshal(hv, &list); err != nil {
				var one string
				if err := json.Unmarshal(hv, &one); err != nil {
					return bad("Headers", err)
				}
				list = []string{one}
			}
			r.Headers[k] = list
		}
	}
	if v, ok := lookup(obj, "Body"); ok && !isNull(v) {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return bad("Body", err)
		}
		r.Body, r.HasBody = []byte(s), true
		if octetOrMultipart(r.Header("Content-Type")) {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return bad("Body", err)
			}
			r.Body = b
		}
	}
	return r, nil
}

// octetOrMultipart mirrors the host's Utility.IsMediaTypeOctetOrMultipart.
func octetOrMultipart(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return strings.EqualFold(mt, "application/octet-stream") || strings.Contains(strings.ToLower(mt), "multipart/")
}

// HTTPResponse is the value of an HTTP output binding:
// {"statusCode":…,"headers":{…},"body":"…"}. The host applies statusCode
// and headers only when "body" is present (HttpBinding.ParseResponseObject),
// so body is always written, empty if need be.
type HTTPResponse struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       string            `json:"body"`
}

// WriteHTTPResponse answers an HTTP-triggered invocation: status 200 to the
// host (it fails the invocation on anything else) with the response under
// Outputs[binding].
func WriteHTTPResponse(w http.ResponseWriter, binding string, resp HTTPResponse, logs []string) {
	body, err := json.Marshal(Response{Outputs: map[string]any{binding: resp}, Logs: logs})
	if err != nil { // unreachable: strings and ints only
		body = []byte(`{"Outputs":{},"Logs":[],"ReturnValue":null}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(bytes.TrimSpace(body))
}
