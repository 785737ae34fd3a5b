// Command hostemu runs the local Azure Functions host emulator
// (internal/dev/hostemu) in the foreground: it starts the handler, serves the
// local broker, prints the broker URL, relays the handler's output and prints
// every message published to a topic as one JSON line. It stops on SIGINT or
// SIGTERM.
//
//	hostemu -script-root dist -env-file local.settings.json -fast-forward
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gdapflow/gdapflow/internal/dev/hostemu"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hostemu:", err)
		os.Exit(1)
	}
}

// run starts the emulator and blocks until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hostemu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scriptRoot := fs.String("script-root", ".", "folder holding host.json and the function folders")
	handler := fs.String("handler", "", "handler executable (default: host.json defaultExecutablePath)")
	envFile := fs.String("env-file", "", "app settings: KEY=VALUE lines or a local.settings.json")
	timers := fs.Bool("timers", false, "fire timer functions on their schedule")
	fastForward := fs.Bool("fast-forward", false, "jump the virtual clock to the next scheduled message when idle")
	if err := fs.Parse(args); err != nil {
		return err
	}
	env := map[string]string{}
	for _, kv := range os.Environ() { // app settings are environment variables in the host
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	if *envFile != "" {
		fileEnv, err := readEnvFile(*envFile)
		if err != nil {
			return fmt.Errorf("env file: %w", err)
		}
		for k, v := range fileEnv {
			env[k] = v
		}
	}
	var outMu sync.Mutex
	out := &lockedWriter{mu: &outMu, w: stdout}
	emu, err := hostemu.Start(ctx, hostemu.Options{
		ScriptRoot: *scriptRoot, HandlerPath: *handler, Env: env,
		Clock:         vclock.NewVirtual(time.Now()),
		FastForward:   *fastForward,
		EnableTimers:  *timers,
		HandlerOutput: out,
		Logger:        slog.New(slog.NewTextHandler(stderr, nil)),
		OnPublish:     func(d hostemu.Delivered) { _, _ = out.Write(publishedLine(d)) },
	})
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintf(out, "GDAP_BROKER_URL=%s\n", emu.BrokerURL())
	<-ctx.Done()
	closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return emu.Close(closeCtx)
}

// publishedLine renders a published message as one JSON line; a JSON body
// is embedded as is, any other body as a string.
func publishedLine(d hostemu.Delivered) []byte {
	var body any = string(d.Body)
	if json.Valid(d.Body) {
		body = json.RawMessage(d.Body)
	}
	b, _ := json.Marshal(map[string]any{
		"published":     d.Entity,
		"messageId":     d.MessageID,
		"subject":       d.Subject,
		"correlationId": d.CorrelationID,
		"enqueuedTime":  d.EnqueuedTime,
		"body":          body,
	})
	return append(b, '\n')
}

// lockedWriter serializes writes from the handler relay and OnPublish.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
