// Command graphsim serves the strict Graph GDAP simulator (package
// internal/dev/graphsim) on a loopback port for demos, end-to-end tests and
// benchmarks. It prints "graphsim listening on http://HOST:PORT" and serves
// until SIGINT or SIGTERM.
//
// Usage:
//
//	graphsim [-listen 127.0.0.1:0] [-seed N] [-seed-rand S] [-fixtures file.json] [-start RFC3339]
//
// The clock is virtual: it starts at -start (default: now) and runs at real
// speed; POST /_sim/clock/advance moves it forward. The Partner Center, Entra
// token endpoint and Key Vault simulator (internal/dev/pcsim) is mounted on the
// same listener and clock: /v1/customers/..., /{tenant}/oauth2/v2.0/token,
// /secrets/... and its control API /_pcsim/....
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/dev/pcsim"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "graphsim:", err)
		os.Exit(1)
	}
}

// fallbackHandler serves every path not under /beta, /v1.0 or /_sim: the
// Partner Center simulator (internal/dev/pcsim) on the same clock — Partner
// Center's /v1/customers/..., the Entra token endpoint
// /{tenant}/oauth2/v2.0/token, Key Vault's /secrets/... and its control
// API /_pcsim/... (POST /_pcsim/refresh-tokens issues a refresh token).
// Any other path is answered 404.
func fallbackHandler(clock vclock.Clock, logger *slog.Logger) http.Handler {
	pc := pcsim.New(pcsim.Options{Clock: clock})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !pcsim.Handles(r.URL.Path) {
			logger.Debug("no simulator serves this path", "method", r.Method, "path", r.URL.Path)
			http.NotFound(w, r)
			return
		}
		pc.ServeHTTP(w, r)
	})
}

// run parses args, starts the simulator and serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("graphsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	seedCount := fs.Int("seed", 0, "number of relationships to generate at start")
	seedRand := fs.Uint64("seed-rand", 1, "random seed of the generated population")
	fixtures := fs.String("fixtures", "", "JSON fixture file to load at start")
	start := fs.String("start", "", "virtual clock start (RFC 3339); default now")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *seedCount < 0 {
		return errors.New("-seed must not be negative")
	}
	startAt := time.Now().UTC()
	if *start != "" {
		t, err := time.Parse(time.RFC3339, *start)
		if err != nil {
			return fmt.Errorf("-start: %w", err)
		}
		startAt = t
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	clock := vclock.NewVirtual(startAt)
	sim := graphsim.New(graphsim.Options{Clock: clock, Fallback: fallbackHandler(clock, logger)})
	if *fixtures != "" {
		ids, err := sim.LoadFixturesFile(*fixtures)
		if err != nil {
			return err
		}
		logger.Info("fixtures loaded", "relationships", len(ids))
	}
	if *seedCount > 0 {
		sum := sim.Seed(graphsim.SeedOptions{Count: *seedCount, Seed: *seedRand})
		logger.Info("population seeded", "relationships", sum.Count, "customers", sum.Customers)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "graphsim listening on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
