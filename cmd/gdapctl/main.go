// Command gdapctl is gdapflow's operator CLI. It sends commands (validated
// against the embedded schemas, MessageId = CloudEvent id) and waits for
// their outcome, and reads the operation ledger and the expiry sweep's
// snapshot. It works the same against `make dev` (the local broker, the dev
// event feed and Azurite, from the settings file make dev writes) and
// against a deployment (Service Bus and Table Storage with azidentity's
// default credential chain, so `az login` is enough).
//
//	gdapctl send gdap.relationship.removeGlobalAdmin --data '{"relationshipId":"…"}' --wait
//	gdapctl status <operationId>
//	gdapctl operations --state failed --since 24h
//	gdapctl expiring --within 30d
//
// Exit codes: 0 done (send --wait: succeeded), 1 could not do it (resource
// unreachable, missing role), 2 bad arguments or invalid command, 3 the
// operation failed or the command was rejected, 4 no outcome before
// --timeout.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}

// run executes gdapctl with args and returns the exit code. lookup reads
// the environment (os.LookupEnv in main).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	wd, err := os.Getwd()
	if err != nil {
		wd = ""
	}
	a := &app{stdout: stdout, stderr: stderr, lookup: lookup, wd: wd}
	cmd := newRootCmd(a)
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "gdapctl:", err)
	}
	return exitCodeOf(err)
}
