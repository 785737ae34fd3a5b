package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
)

// runDev is `make dev`: it builds the handler and gdapctl from the working
// tree, starts the dev stack (devstack.StartDev), prints what is where and
// an example, and runs until ctx ends (Ctrl-C, SIGTERM).
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stateDir := fs.String("state-dir", "", "folder for the handler binary, its log and gdapctl's settings (default <repo>/.gdapdev)")
	handler := fs.String("handler", "", "handler binary to run (default: build the working tree)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("dev: unexpected arguments %q", fs.Args())
	}
	root, err := localenv.RepoRoot()
	if err != nil {
		return err
	}
	dir := *stateDir
	if dir == "" {
		dir = filepath.Join(root, ".gdapdev")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	handlerPath := *handler
	if handlerPath == "" {
		fmt.Fprintln(stdout, "gdapflow dev: building the handler and gdapctl (the first build compiles the Graph SDK: several minutes, about 10 GiB of memory) …")
		handlerPath, err = devstack.BuildHandler(ctx, root, dir)
		if err == nil {
			err = buildGdapctl(ctx, root)
		}
		if err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, "gdapflow dev: starting Azurite, the Graph/Partner Center simulator, the host emulator and the handler …")
	started := time.Now()
	d, err := devstack.StartDev(ctx, devstack.DevOptions{RepoRoot: root, HandlerPath: handlerPath, StateDir: dir})
	if err != nil {
		return err
	}
	printDev(stdout, root, d, time.Since(started))
	<-ctx.Done()
	fmt.Fprintln(stdout, "\ngdapflow dev: stopping …")
	err = d.Close()
	fmt.Fprintln(stdout, "gdapflow dev: stopped")
	return err
}

// buildGdapctl builds cmd/gdapctl into <root>/bin/gdapctl.
func buildGdapctl(ctx context.Context, root string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join("bin", "gdapctl"), "./cmd/gdapctl")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build gdapctl: %w\n%s", err, b)
	}
	return nil
}

// secretSettings are app settings whose values printDev masks.
var secretSettings = map[string]bool{ //nolint:gochecknoglobals // constant set
	"GDAP_PC_CLIENT_SECRET": true, "GDAP_PC_REFRESH_TOKEN": true, "GDAP_DEV_BEARER_TOKEN": true,
}

// printDev prints where everything is and a ready-to-paste example.
func printDev(w io.Writer, root string, d *devstack.Dev, took time.Duration) {
	rel := func(p string) string {
		if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
		return p
	}
	fmt.Fprintf(w, "\ngdapflow dev: ready in %s. Virtual clock at %s; it jumps to the next scheduled message\n", took.Round(100*time.Millisecond), d.Clock.Now().Format(time.RFC3339))
	fmt.Fprintln(w, "whenever the handler is idle, so a 202 operation completes after a few polls.")
	fmt.Fprintln(w, "\nWHERE")
	fmt.Fprintf(w, "  Graph simulator          %s/beta\n", d.SimURL)
	fmt.Fprintf(w, "  Partner Center simulator %s (login and Partner Center API)\n", d.SimURL)
	fmt.Fprintf(w, "  Local broker             %s  (POST /{queue}/messages; queue %s)\n", d.Emu.BrokerURL(), d.Env["GDAP_COMMANDS_QUEUE"])
	fmt.Fprintf(w, "  Webhook (registered)     %s  (Partner Center simulator delivers signed events)\n", d.WebhookURL)
	if u, err := d.ReportURL(); err == nil {
		fmt.Fprintf(w, "  Report page              %s  (as a local operator with the report role)\n", u)
	}
	fmt.Fprintf(w, "  Event feed               %s/topics/%s/messages?from=0\n", d.FeedURL, d.Env["GDAP_EVENTS_TOPIC"])
	fmt.Fprintf(w, "  Azurite tables           %soperations, %ssweep at %s\n", d.Env["GDAP_TABLE_PREFIX"], d.Env["GDAP_TABLE_PREFIX"], d.TablesEndpoint())
	fmt.Fprintf(w, "  Handler log              %s\n", rel(d.HandlerLog))
	fmt.Fprintf(w, "  gdapctl settings         %s (bin/gdapctl reads it by default)\n", rel(d.ConfigPath))
	fmt.Fprintln(w, "\nHANDLER SETTINGS")
	keys := make([]string, 0, len(d.Env))
	for k := range d.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := d.Env[k]
		if secretSettings[k] {
			v = "(set)"
		}
		if k == "GDAP_TABLES_CONNECTION_STRING" {
			v = "(Azurite development account)"
		}
		if k == "GDAP_DEV_WEBHOOK_ROOTS" {
			v = "(the Partner Center simulator's test CA, PEM)"
		}
		fmt.Fprintf(w, "  %s=%s\n", k, v)
	}
	fmt.Fprintln(w, "\nSAMPLE DATA")
	fmt.Fprintf(w, "  %s  Contoso helpdesk: active, ends in 20 days, Global Administrator, no auto-extend\n", d.Sample.ExpiringGA)
	fmt.Fprintf(w, "  %s  Fabrikam helpdesk: active, ends in 25 days, no auto-extend\n", d.Sample.Expiring)
	fmt.Fprintf(w, "  %s  Northwind helpdesk: active, ends in 10 days, auto-extends\n", d.Sample.Extending)
	fmt.Fprintf(w, "  and %d generated relationships; one expiry sweep has run.\n", d.Sample.Seeded.Count)
	fmt.Fprintln(w, "\nTRY (in another terminal, at the repository root)")
	fmt.Fprintf(w, "  bin/gdapctl send gdap.relationship.removeGlobalAdmin --data '{\"relationshipId\":\"%s\",\"enableAutoExtend\":true}' --wait\n", d.Sample.ExpiringGA)
	fmt.Fprintln(w, "  bin/gdapctl status <operationId printed above>")
	fmt.Fprintln(w, "  bin/gdapctl operations --since 24h")
	fmt.Fprintln(w, "  bin/gdapctl expiring --within 30d")
	fmt.Fprintln(w, "\nCtrl-C stops everything this started.")
}
