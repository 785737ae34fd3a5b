// Command fakehandler stands in for the gdapflow handler in the hostemu
// tests. It speaks the custom-handler protocol and prints every invocation
// it receives to stdout as one line "INVOCATION <json>". What it does with
// a Service Bus message depends on the message body, a JSON object:
//
//	{"action":"ok"}                       200 with one log line
//	{"action":"fail"}                     500
//	{"action":"failUntil","n":3}          500 while DeliveryCount < n
//	{"action":"badResponse"}              200 with a text/plain body
//	{"action":"exit"}                     exits (code 3)
//	{"action":"exitOnce","key":"k"}       exits (code 3) the first time key is seen
//	{"action":"hangOnce","key":"k"}       never answers the first time key is seen
//	                                      (prints "HANGING k" once it hangs)
//	{"action":"publish","entity":"e","messageId":"m","scheduledEnqueueTime":"..."}
//	                                      sends a message to the broker first
//
// "Once" state lives in files under $FAKE_STATE_DIR so it survives restarts.
// $FAKE_READY_DELAY delays listening (readiness tests); $FAKE_EXIT_AT_START
// makes it exit before listening.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

type envelope struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

type command struct {
	Action               string `json:"action"`
	N                    int    `json:"n"`
	Key                  string `json:"key"`
	Entity               string `json:"entity"`
	MessageID            string `json:"messageId"`
	ScheduledEnqueueTime string `json:"scheduledEnqueueTime"`
}

func main() {
	if d, err := time.ParseDuration(os.Getenv("FAKE_READY_DELAY")); err == nil {
		time.Sleep(d)
	}
	cwd, _ := os.Getwd()
	fmt.Printf("STARTED %s\n", mustJSON(map[string]string{
		"port":      os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"),
		"httpPort":  os.Getenv("FUNCTIONS_HTTPWORKER_PORT"),
		"workerId":  os.Getenv("FUNCTIONS_CUSTOMHANDLER_WORKER_ID"),
		"appRoot":   os.Getenv("FUNCTIONS_APP_ROOT_PATH"),
		"brokerUrl": os.Getenv("GDAP_BROKER_URL"),
		"setting":   os.Getenv("FAKE_SETTING"),
		"cwd":       cwd,
	}))
	fmt.Fprintln(os.Stderr, "fakehandler writes this to stderr")
	if os.Getenv("FAKE_EXIT_AT_START") != "" {
		os.Exit(2)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("POST /{function}", invoke)
	srv := &http.Server{Addr: "127.0.0.1:" + os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"), Handler: mux}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		<-sig
		fmt.Println("SIGTERM")
		_ = srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func invoke(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	headers := map[string]string{}
	for k := range r.Header {
		headers[k] = r.Header.Get(k)
	}
	fmt.Printf("INVOCATION %s\n", mustJSON(map[string]any{
		"path": r.URL.Path, "headers": headers, "body": json.RawMessage(raw),
	}))
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if req, ok := env.Data["req"]; ok {
		answerHTTP(w, req)
		return
	}
	var cmd command
	if msg, ok := env.Data["message"]; ok {
		var body []byte
		if err := json.Unmarshal(msg, &body); err != nil {
			// dataType string: a JSON string holding the JSON-quoted body.
			var outer, inner string
			if json.Unmarshal(msg, &outer) != nil || json.Unmarshal([]byte(outer), &inner) != nil {
				http.Error(w, "message is neither base64 nor a double-encoded string", http.StatusBadRequest)
				return
			}
			body = []byte(inner)
		}
		_ = json.Unmarshal(body, &cmd)
	}
	deliveryCount := 0
	if dc, ok := env.Metadata["DeliveryCount"]; ok {
		var s string
		_ = json.Unmarshal(dc, &s)
		deliveryCount, _ = strconv.Atoi(s)
	}
	logs := []string{"handled " + r.PathValue("function") + " " + cmd.Action}
	switch cmd.Action {
	case "fail":
		http.Error(w, "failing on demand", http.StatusInternalServerError)
		return
	case "failUntil":
		if deliveryCount < cmd.N {
			http.Error(w, "failing until delivery "+strconv.Itoa(cmd.N), http.StatusInternalServerError)
			return
		}
	case "badResponse":
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok"))
		return
	case "exit":
		fmt.Println("EXITING")
		os.Exit(3)
	case "exitOnce":
		if first(cmd.Key) {
			fmt.Println("EXITING")
			os.Exit(3)
		}
	case "hangOnce":
		if first(cmd.Key) {
			fmt.Println("HANGING " + cmd.Key)
			<-r.Context().Done()
			return
		}
	case "publish":
		status, err := publish(cmd)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		logs = append(logs, "published "+strconv.Itoa(status))
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(mustJSON(map[string]any{"Outputs": map[string]any{}, "Logs": logs, "ReturnValue": nil}))
}

// answerHTTP answers an HTTP trigger invocation. The request body is
// {"status":N,"omit":"body"|"output"|"","fail":bool}: the output binding
// "res" gets statusCode N, header X-Echo-Method and the request body as its
// body, or omits its body, or is missing; fail answers the host 500.
func answerHTTP(w http.ResponseWriter, raw json.RawMessage) {
	var req struct {
		Method string `json:"Method"`
		Body   string `json:"Body"`
	}
	_ = json.Unmarshal(raw, &req)
	var in struct {
		Status int    `json:"status"`
		Omit   string `json:"omit"`
		Fail   bool   `json:"fail"`
	}
	_ = json.Unmarshal([]byte(req.Body), &in)
	if in.Fail {
		http.Error(w, "failing on demand", http.StatusInternalServerError)
		return
	}
	res := map[string]any{"statusCode": in.Status, "headers": map[string]any{"X-Echo-Method": req.Method}, "body": req.Body}
	if in.Omit == "body" {
		delete(res, "body")
	}
	outputs := map[string]any{"res": res}
	if in.Omit == "output" {
		outputs = map[string]any{}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(mustJSON(map[string]any{"Outputs": outputs, "Logs": []string{"handled http"}, "ReturnValue": nil}))
}

// first reports whether key is seen for the first time (across restarts).
func first(key string) bool {
	f, err := os.OpenFile(filepath.Join(os.Getenv("FAKE_STATE_DIR"), key), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return false
	}
	_ = f.Close()
	return true
}

func publish(cmd command) (int, error) {
	msg := map[string]any{
		"messageId":             cmd.MessageID,
		"body":                  base64.StdEncoding.EncodeToString([]byte(`{"action":"ok"}`)),
		"contentType":           "application/json",
		"correlationId":         "corr-" + cmd.MessageID,
		"subject":               "test.published",
		"applicationProperties": map[string]any{"attempt": 2},
	}
	if cmd.ScheduledEnqueueTime != "" {
		msg["scheduledEnqueueTime"] = cmd.ScheduledEnqueueTime
	}
	resp, err := http.Post(os.Getenv("GDAP_BROKER_URL")+"/"+cmd.Entity+"/messages", "application/json", bytes.NewReader(mustJSON(msg)))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return 0, fmt.Errorf("broker: %d %s", resp.StatusCode, b)
	}
	return resp.StatusCode, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
