package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/dev/browser"
	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/report"
	"github.com/gdapflow/gdapflow/internal/sweep"
)

// runReportSize is `devenv report`: it seeds -n relationships (graphsim
// Seed), runs one expiry sweep, fails a few operations, then times GET
// /api/report -runs times through the host emulator (wall clock, the
// whole round trip: emulator, handler, Azurite) and, with -shot, saves a
// screenshot of the page (docs/report.md).
func runReportSize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 150000, "relationships seeded")
	runs := fs.Int("runs", 5, "timed page loads")
	shot := fs.String("shot", "", "save a PNG screenshot of the page here")
	handler := fs.String("handler", "", "use this handler binary instead of building one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *runs < 1 {
		return errors.New("report: -n and -runs must be positive")
	}
	root, err := localenv.RepoRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "gdapflow-report-size-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	handlerPath := *handler
	if handlerPath == "" {
		bctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		handlerPath, err = devstack.BuildHandler(bctx, root, dir)
		cancel()
		if err != nil {
			return err
		}
	}
	st, err := devstack.Start(ctx, devstack.Options{HandlerPath: handlerPath, RepoRoot: root,
		Env: map[string]string{"GDAP_LOG_LEVEL": "info"}})
	if err != nil {
		return err
	}
	defer st.Close()
	sum := st.Graph.Seed(graphsim.SeedOptions{Count: *n, Seed: 42})
	fmt.Fprintf(stdout, "seeded %d relationships (%d customers), by status %v\n", sum.Count, sum.Customers, sum.ByStatus)
	for i := range 3 {
		id := fmt.Sprintf("op-report-size-%d", i)
		if err := st.Send(ctx, id, command.TypeRelationshipUpdate, map[string]any{
			"relationshipId": fmt.Sprintf("00000000-0000-4000-8000-%012d", i), "changes": map[string]any{"displayName": "x"}}); err != nil {
			return err
		}
	}
	began := time.Now()
	if err := st.Emu.FireTimer(ctx, "expiry-sweep"); err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	err = st.Drain(dctx)
	cancel()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sweep and drain: %s\n", time.Since(began).Round(time.Millisecond))
	var took []time.Duration
	size := 0
	for range *runs {
		t0 := time.Now()
		status, body, _, err := st.GetReport(ctx)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("report: GET /api/report answered %d: %s", status, body)
		}
		took = append(took, time.Since(t0))
		size = len(body)
	}
	slices.Sort(took)
	fmt.Fprintf(stdout, "GET /api/report at %d relationships, %d runs: min %s, median %s, max %s (%d bytes)\n",
		*n, *runs, took[0].Round(time.Millisecond), took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond), size)
	if err := timeReads(ctx, stdout, st, *runs); err != nil {
		return err
	}
	if *shot != "" {
		u, err := st.ReportURL()
		if err != nil {
			return err
		}
		if err := browser.Screenshot(ctx, u, *shot, 1280, 2400); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "screenshot: %s\n", *shot)
	}
	return nil
}

// timeReads times the page's data reads alone (the summaries and the
// failure index), without the emulator, the handler and the rendering.
func timeReads(ctx context.Context, w io.Writer, st *devstack.Stack, runs int) error {
	svc, err := aztables.NewServiceClientFromConnectionString(st.TablesConnectionString(), nil)
	if err != nil {
		return err
	}
	prefix := st.Env["GDAP_TABLE_PREFIX"]
	now := st.Clock.Now()
	var took []time.Duration
	var rep sweep.Report
	for range runs {
		t0 := time.Now()
		if rep, err = sweep.ReadReport(ctx, svc.NewClient(prefix+"sweep"), svc.NewClient(prefix+"sweepreport"),
			sweep.ReportOptions{Now: now, Within: 30 * 24 * time.Hour, Limit: report.ListLimit}); err != nil {
			return err
		}
		if _, _, err := ledger.New(svc.NewClient(prefix+"operations")).WithFailureIndex(svc.NewClient(prefix+"failures")).RecentFailures(ctx, now.Add(-7*24*time.Hour), now, report.FailureReadLimit); err != nil {
			return err
		}
		took = append(took, time.Since(t0))
	}
	slices.Sort(took)
	fmt.Fprintf(w, "data reads alone (%d summary rows, %d end dates, %d lapsing, %d pending, failure index): median %s\n",
		rep.PageRows, len(rep.Ends), rep.LapsingTotal, rep.PendingTotal, took[len(took)/2].Round(time.Millisecond))
	return nil
}
