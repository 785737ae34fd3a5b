package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
)

// runBurstCmd is `devenv burst`: the bench's throttled burst alone (one
// kind, one or more rates), for working on its figures without the rest of
// `devenv bench`. -journal writes Graph's journal of each run to a file.
func runBurstCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("burst", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kind := fs.String("kind", "removeGA", "command kind: autoExtend or removeGA")
	n := fs.Int("n", 1000, "commands sent at once")
	rates := fs.String("rates", "10,50", "Graph's limits in requests/s")
	handler := fs.String("handler", "", "use this handler binary instead of building one")
	journal := fs.String("journal", "", "write each run's Graph journal to <journal>-<rate>.txt (virtual seconds, method, route, status, path)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, ok := burstKinds[*kind]; !ok || *n < 1 {
		return errors.New("burst: -kind must be autoExtend or removeGA and -n positive")
	}
	root, err := localenv.RepoRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "gdapflow-burst-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	handlerPath := *handler
	if handlerPath == "" {
		if handlerPath, err = devstack.BuildHandler(ctx, root, dir); err != nil {
			return err
		}
	}
	az, err := localenv.StartAzurite(ctx, localenv.AzuriteOptions{RepoRoot: root})
	if err != nil {
		return err
	}
	defer func() { _ = az.Stop() }()
	rateList, err := parseRates(*rates)
	if err != nil {
		return fmt.Errorf("burst: -rates: %w", err)
	}
	var results []burstResult
	for _, rate := range rateList {
		var jw io.Writer
		if *journal != "" {
			f, err := os.Create(fmt.Sprintf("%s-%g.txt", *journal, rate))
			if err != nil {
				return err
			}
			defer f.Close()
			jw = f
		}
		fmt.Fprintf(stderr, "burst: %d × %s at %g requests/s (%s)\n", *n, *kind, rate, time.Now().UTC().Format(time.TimeOnly))
		b, err := runBurst(ctx, root, handlerPath, az, *kind, *n, rate, jw)
		if err != nil {
			return fmt.Errorf("burst: %w", err)
		}
		results = append(results, b)
	}
	renderBursts(stdout, results)
	return nil
}

// parseRates parses a comma-separated list of Graph limits in requests/s
// (-rates here, -burst-rates of bench).
func parseRates(list string) ([]float64, error) {
	var out []float64
	for _, rs := range strings.Split(list, ",") {
		rate, err := strconv.ParseFloat(strings.TrimSpace(rs), 64)
		if err != nil || rate <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", rs)
		}
		out = append(out, rate)
	}
	return out, nil
}
