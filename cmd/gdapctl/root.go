package main

import (
	"io"

	"github.com/spf13/cobra"
)

// app is one gdapctl invocation: its settings, streams and backend.
type app struct {
	s      settings
	stdout io.Writer
	stderr io.Writer
	lookup func(string) (string, bool)
	wd     string
	b      *backend
}

// newRootCmd builds the command tree.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "gdapctl",
		Short: "Operate gdapflow: send commands, follow operations, list what expires",
		Long: `gdapctl is gdapflow's operator CLI.

It talks to the local stack started by ` + "`make dev`" + ` (it finds the settings file
` + devConfigRelPath + ` that make dev writes, from the current folder up) or to a
deployment: Service Bus (--servicebus-namespace) and Table Storage
(--tables-endpoint), signed in with azidentity's default credential chain, so
` + "`az login`" + ` is enough. Every flag has an environment variable (GDAPCTL_*).

Roles a deployment needs for each command:
  send             Azure Service Bus Data Sender on the commands queue
  send --wait      also Azure Service Bus Data Receiver on the events subscription
  status, operations, expiring
                   Storage Table Data Reader on the storage account
  webhook          a Partner Center App+User refresh token (Admin Agent)

Exit codes: 0 done (send --wait: the operation succeeded), 1 could not do it,
2 bad arguments or an invalid command, 3 the operation failed or the command
was rejected, 4 no outcome before --timeout.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.s.resolve(cmd.Flags(), a.lookup, a.wd); err != nil {
				return err
			}
			a.b = newBackend(&a.s)
			return nil
		},
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	a.s.register(root.PersistentFlags())
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErrorf("%w", err) })
	root.AddCommand(newSendCmd(a), newStatusCmd(a), newOperationsCmd(a), newExpiringCmd(a), newWebhookCmd(a))
	return root
}

// exactArgs is cobra.ExactArgs with a usage exit code.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageErrorf("%w", err)
		}
		return nil
	}
}
