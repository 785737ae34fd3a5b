package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
)

// ConfigFileName is the name, inside DevOptions.StateDir, of the settings
// file StartDev writes for gdapctl (KEY=VALUE lines).
const ConfigFileName = "gdapctl.env"

// HandlerLogName is the name, inside DevOptions.StateDir, of the handler's log.
const HandlerLogName = "handler.log"

// SweepFunction is the name of the timer function that runs the expiry sweep.
const SweepFunction = "expiry-sweep"

// DevOptions configure StartDev.
type DevOptions struct {
	// RepoRoot and HandlerPath are as in Options.
	RepoRoot    string
	HandlerPath string
	// StateDir receives ConfigFileName and HandlerLogName. Required.
	StateDir string
	// Azurite is a running Azurite to use; nil starts one owned by the stack.
	Azurite *localenv.Azurite
	// Logger is the emulator's own log. Default: discarded.
	Logger *slog.Logger
}

// Dev is the stack `make dev` runs: a Stack whose emulator fast-forwards the
// shared virtual clock to the next scheduled message whenever it is idle,
// with sample data, one finished sweep and an HTTP feed from which gdapctl
// reads the events topic and the virtual time.
type Dev struct {
	*Stack
	// FeedURL serves GET /topics/{topic}/messages?from=N and GET /clock.
	FeedURL string
	// ConfigPath is the settings file written for gdapctl.
	ConfigPath string
	// HandlerLog is the file the handler's stdout and stderr go to.
	HandlerLog string
	// Sample names the sample relationships.
	Sample Sample
	// Settings are the gdapctl settings written to ConfigPath.
	Settings map[string]string

	feed    *http.Server
	logFile *os.File
}

// StartDev starts the dev stack: the stack with fast-forward on and the
// virtual clock starting at the current real time, sample data, one expiry
// sweep run to the end (so the snapshot is there), the event feed, and
// the gdapctl settings file.
func StartDev(ctx context.Context, opts DevOptions) (*Dev, error) {
	if opts.StateDir == "" {
		return nil, errors.New("devstack: StateDir is required")
	}
	if err := os.MkdirAll(opts.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("devstack: state dir: %w", err)
	}
	d := &Dev{
		ConfigPath: filepath.Join(opts.StateDir, ConfigFileName),
		HandlerLog: filepath.Join(opts.StateDir, HandlerLogName),
	}
	ok := false
	defer func() {
		if !ok {
			_ = d.Close()
		}
	}()
	var err error
	if d.logFile, err = os.Create(d.HandlerLog); err != nil {
		return nil, fmt.Errorf("devstack: handler log: %w", err)
	}
	d.Stack, err = Start(ctx, Options{
		RepoRoot:      opts.RepoRoot,
		HandlerPath:   opts.HandlerPath,
		Azurite:       opts.Azurite,
		Start:         time.Now().UTC().Truncate(time.Second),
		HandlerOutput: d.logFile,
		FastForward:   true,
		Logger:        opts.Logger,
		Env:           map[string]string{"GDAP_LOG_LEVEL": "info"},
	})
	if err != nil {
		return nil, err
	}
	if d.Sample, err = d.AddSample(); err != nil {
		return nil, err
	}
	if err := d.Emu.FireTimer(ctx, SweepFunction); err != nil {
		return nil, fmt.Errorf("devstack: first sweep: %w", err)
	}
	if err := d.Drain(ctx); err != nil {
		return nil, fmt.Errorf("devstack: first sweep: %w", err)
	}
	if err := d.startFeed(); err != nil {
		return nil, err
	}
	d.Settings = map[string]string{
		"GDAPCTL_BROKER_URL":               d.Emu.BrokerURL(),
		"GDAPCTL_DEV_FEED_URL":             d.FeedURL,
		"GDAPCTL_TABLES_CONNECTION_STRING": d.TablesConnectionString(),
		"GDAPCTL_TABLE_PREFIX":             d.Env["GDAP_TABLE_PREFIX"],
		"GDAPCTL_COMMANDS_QUEUE":           d.Env["GDAP_COMMANDS_QUEUE"],
		"GDAPCTL_EVENTS_TOPIC":             d.Env["GDAP_EVENTS_TOPIC"],
	}
	if err := writeSettings(d.ConfigPath, d.Settings); err != nil {
		return nil, err
	}
	ok = true
	return d, nil
}

// writeSettings writes KEY=VALUE lines, sorted, readable by the owner only
// (the file holds Azurite's well-known development key).
func writeSettings(path string, kv map[string]string) error {
	var b strings.Builder
	b.WriteString("# Written by `make dev` for gdapctl; removed when it stops.\n")
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, kv[k])
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("devstack: write %s: %w", path, err)
	}
	return nil
}

// startFeed serves the published messages and the virtual clock.
func (d *Dev) startFeed() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("devstack: feed listener: %w", err)
	}
	d.FeedURL = "http://" + ln.Addr().String()
	d.feed = &http.Server{Handler: FeedHandler(d.Stack), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = d.feed.Serve(ln) }()
	return nil
}

// Close removes the settings file and stops the feed and the stack.
func (d *Dev) Close() error {
	var errs []error
	if d.ConfigPath != "" {
		if err := os.Remove(d.ConfigPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if d.feed != nil {
		errs = append(errs, d.feed.Close())
	}
	if d.Stack != nil {
		errs = append(errs, d.Stack.Close())
	}
	if d.logFile != nil {
		errs = append(errs, d.logFile.Close())
	}
	return errors.Join(errs...)
}

// TablesEndpoint is the Azurite Table Storage endpoint the stack uses.
func (s *Stack) TablesEndpoint() string { return s.azurite.TableEndpoint() }

// Polls counts the Graph requests to long-running operation and request
// status URLs so far (what a poll storm would inflate).
func (d *Dev) Polls() int {
	n := 0
	for _, j := range d.Graph.Journal() {
		if j.Method == http.MethodGet && (j.Route == graphsim.RouteOperation || j.Route == graphsim.RouteRequest) {
			n++
		}
	}
	return n
}

var _ io.Closer = (*Dev)(nil)
