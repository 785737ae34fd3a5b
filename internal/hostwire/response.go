package hostwire

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Response is the custom handler's reply to an invocation. The host requires
// a 2xx status and JSON of exactly this shape (docs/platform/functions-host-facts.md §3.4).
type Response struct {
	// Outputs maps output binding names to values: empty for the queue and
	// timer functions, the http output for an HTTP function
	// (WriteHTTPResponse). Encoded as {} when nil.
	Outputs map[string]any
	// Logs are logged by the host at Information level against the
	// invocation. Encoded as [] when nil.
	Logs []string
	// ReturnValue feeds a $return binding; gdapflow leaves it nil (null).
	ReturnValue any
}

// MarshalJSON encodes r as {"Outputs":{...},"Logs":[...],"ReturnValue":...},
// never with a null Outputs or Logs.
func (r Response) MarshalJSON() ([]byte, error) {
	type wire struct {
		Outputs     map[string]any `json:"Outputs"`
		Logs        []string       `json:"Logs"`
		ReturnValue any            `json:"ReturnValue"`
	}
	w := wire{Outputs: r.Outputs, Logs: r.Logs, ReturnValue: r.ReturnValue}
	if w.Outputs == nil {
		w.Outputs = map[string]any{}
	}
	if w.Logs == nil {
		w.Logs = []string{}
	}
	return json.Marshal(w)
}

// WriteResponse writes {"Outputs":{},"Logs":logs,"ReturnValue":null} with
// the given status and Content-Type application/json. A failure to write
// (the host hung up) cannot be reported to anyone and is ignored.
func WriteResponse(w http.ResponseWriter, status int, logs []string) {
	body, err := json.Marshal(Response{Logs: logs})
	if err != nil { // unreachable: only strings are encoded
		body = []byte(`{"Outputs":{},"Logs":[],"ReturnValue":null}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
