// Command handler is gdapflow's Azure Functions custom handler: the Functions
// host starts it, waits for GET / to answer, and POSTs each invocation of the
// commands, continuations and expiry-sweep functions to it. See README.md
// and docs/architecture.md.
//
// Usage:
//
//	handler            serve (settings from the environment, docs/contract.md §4)
//	handler --version  print the version and exit
//	handler --help     print this usage and exit
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/gdapflow/gdapflow/internal/config"
)

// version is the handler's version; the build may set it with
// -ldflags "-X main.version=...". Empty: taken from the build info.
var version = "" //nolint:gochecknoglobals // set by the linker

// shutdownGrace is how long in-flight invocations may finish after SIGTERM.
const shutdownGrace = 20 * time.Second

const usage = `gdapflow handler: the Azure Functions custom handler of gdapflow.

The Functions host starts it with FUNCTIONS_CUSTOMHANDLER_PORT set; every
other setting comes from the environment (GDAP_*, see docs/contract.md).

Usage:
  handler             serve
  handler --version   print the version and exit
  handler --help      print this text and exit
`

func main() {
	if code, done := cli(os.Args[1:], os.Stdout, os.Stderr); done {
		os.Exit(code)
	}
	config.ApplyRuntimeDefaults(os.LookupEnv)
	cfg, err := config.Load(os.LookupEnv)
	if err != nil {
		// One line naming the setting; the host logs stderr as an error.
		fmt.Fprintln(os.Stderr, "gdapflow:", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if err := run(cfg, logger); err != nil {
		logger.Error("handler stopped", "error", err.Error())
		fmt.Fprintln(os.Stderr, "gdapflow:", err)
		os.Exit(1)
	}
}

// cli handles the command-line arguments. done reports that the process
// should exit with code instead of serving.
func cli(args []string, stdout, stderr io.Writer) (code int, done bool) {
	if len(args) == 0 {
		return 0, false
	}
	switch args[0] {
	case "--help", "-help", "-h", "help":
		_, _ = io.WriteString(stdout, usage)
		return 0, true
	case "--version", "-version", "version":
		_, _ = fmt.Fprintln(stdout, "gdapflow handler", handlerVersion())
		return 0, true
	}
	_, _ = fmt.Fprintf(stderr, "gdapflow: unknown argument %q\n\n%s", args[0], usage)
	return 2, true
}

// handlerVersion is the linker-set version, else the module version and VCS
// revision from the build info.
func handlerVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " (" + rev + modified + ")"
	}
	return v + " " + bi.GoVersion
}

func run(cfg config.Config, logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	deps, err := build(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer deps.close()

	srv := &http.Server{
		Handler:           deps.server.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// The host's own timeout is functionTimeout + 1 min; ours is shorter.
		WriteTimeout: cfg.InvocationTimeout + 30*time.Second,
		ErrorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", cfg.Port))
	if err != nil {
		return fmt.Errorf("listen on 127.0.0.1:%s: %w", cfg.Port, err)
	}
	logger.Info("handler listening", "address", ln.Addr().String(), "version", handlerVersion(), "graph", cfg.GraphBaseURL,
		"broker", cfg.BrokerURL != "", "partner_center", cfg.PartnerCenterConfigured(), "auto_extend_policy", cfg.AutoExtendPolicy)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing in-flight invocations")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
