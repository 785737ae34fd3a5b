package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gdapflow/gdapflow/internal/partnercenter"
	"github.com/gdapflow/gdapflow/internal/pcauth"
	"github.com/gdapflow/gdapflow/internal/webhook"
)

// Partner Center settings of the webhook commands (App+User). The secret
// and the refresh token are read from the environment only, never flags.
const (
	envPCBaseURL      = "GDAPCTL_PARTNER_CENTER_BASE_URL"
	envLoginBaseURL   = "GDAPCTL_LOGIN_BASE_URL"
	envPartnerTenant  = "GDAPCTL_PARTNER_TENANT_ID"
	envPCClientID     = "GDAPCTL_PC_CLIENT_ID"
	envPCClientSecret = "GDAPCTL_PC_CLIENT_SECRET"
	envPCRefreshToken = "GDAPCTL_PC_REFRESH_TOKEN"
)

// pcFlags are the Partner Center flags of the webhook commands.
type pcFlags struct {
	baseURL, loginURL, tenant, clientID string
}

// newWebhookCmd builds `gdapctl webhook register|show|test`.
func newWebhookCmd(a *app) *cobra.Command {
	var f pcFlags
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Register gdapflow's URL for Partner Center's GDAP webhook events, show the registration, send a test event",
		Long: `Partner Center delivers GDAP events (granular-admin-relationship-* and
granular-admin-access-assignment-*) to the registered URL: the
partner-center-webhook function, https://<function app>/api/partner-center-webhook
(docs/deploy.md). These commands call Partner Center's webhook registration
API with an App+User token (the secure application model, as
gdap.customer.removeDap): set ` + envPCClientSecret + ` and ` + envPCRefreshToken + ` in
the environment (never on the command line).`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.baseURL, "partner-center-base-url", "", "Partner Center root (env "+envPCBaseURL+"; default https://api.partnercenter.microsoft.com)")
	pf.StringVar(&f.loginURL, "login-base-url", "", "Entra login root (env "+envLoginBaseURL+"; default https://login.microsoftonline.com)")
	pf.StringVar(&f.tenant, "partner-tenant-id", "", "partner tenant id (env "+envPartnerTenant+")")
	pf.StringVar(&f.clientID, "pc-client-id", "", "secure application model app id (env "+envPCClientID+")")

	// withPC runs fn with the Partner Center client the flags describe.
	withPC := func(fn func(ctx context.Context, pc *partnercenter.Client) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			pc, err := a.partnerCenter(f)
			if err != nil {
				return err
			}
			return fn(cmd.Context(), pc)
		}
	}
	var hookURL string
	register := &cobra.Command{
		Use:   "register",
		Short: "Register (or update) the webhook URL for the GDAP events; does nothing when already so registered",
		Args:  exactArgs(0),
		PreRunE: func(*cobra.Command, []string) error {
			u, err := url.Parse(hookURL)
			if hookURL == "" || err != nil || u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
				return usageErrorf("--url must be the https URL of the partner-center-webhook function, got %q", hookURL)
			}
			return nil
		},
		RunE: withPC(func(ctx context.Context, pc *partnercenter.Client) error {
			return registerWebhook(ctx, pc, hookURL, a.stdout)
		}),
	}
	register.Flags().StringVar(&hookURL, "url", "", "the function's URL, https://<app>.azurewebsites.net/api/partner-center-webhook")
	show := &cobra.Command{
		Use:   "show",
		Short: "Show the webhook registration",
		Args:  exactArgs(0),
		RunE: withPC(func(ctx context.Context, pc *partnercenter.Client) error {
			reg, found, err := pc.GetWebhookRegistration(ctx)
			if err != nil {
				return err
			}
			if !found {
				_, err = fmt.Fprintln(a.stdout, "no webhook registration")
				return err
			}
			return a.printRegistration(reg)
		}),
	}
	test := &cobra.Command{
		Use:   "test",
		Short: "Have Partner Center deliver a test-created event and show the delivery attempts",
		Args:  exactArgs(0),
		RunE: withPC(func(ctx context.Context, pc *partnercenter.Client) error {
			corr, err := pc.SendTestEvent(ctx)
			if err != nil {
				return err
			}
			status, err := pc.TestEventStatus(ctx, corr)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "test event %s\n%s\n", corr, status)
			return err
		}),
	}
	cmd.AddCommand(register, show, test)
	return cmd
}

// registerWebhook registers hookURL for the GDAP events (and test-created):
// nothing when the registration already says so, PUT when another one
// exists, POST otherwise.
func registerWebhook(ctx context.Context, pc *partnercenter.Client, hookURL string, out io.Writer) error {
	events := append([]string{webhook.EventTestCreated}, webhook.GDAPEvents...)
	cur, found, err := pc.GetWebhookRegistration(ctx)
	if err != nil {
		return err
	}
	if found && cur.WebhookURL == hookURL && sameSet(cur.WebhookEvents, events) {
		_, err = fmt.Fprintf(out, "webhook already registered: %s (%d events)\n", hookURL, len(events))
		return err
	}
	reg, err := pc.PutWebhookRegistration(ctx, partnercenter.WebhookRegistration{WebhookURL: hookURL, WebhookEvents: events}, found)
	if err != nil {
		return err
	}
	verb := "registered"
	if found {
		verb = "updated"
	}
	_, err = fmt.Fprintf(out, "webhook %s: %s (%d events)\n", verb, reg.WebhookURL, len(reg.WebhookEvents))
	return err
}

// sameSet compares two event lists as sets (case-insensitive).
func sameSet(a, b []string) bool {
	norm := func(s []string) []string {
		out := make([]string, len(s))
		for i, v := range s {
			out[i] = strings.ToLower(v)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b))
}

// printRegistration prints reg as a table or JSON (--output).
func (a *app) printRegistration(reg partnercenter.WebhookRegistration) error {
	if a.s.Output == "json" {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(reg)
	}
	_, err := fmt.Fprintf(a.stdout, "url     %s\nevents  %s\n", reg.WebhookURL, strings.Join(reg.WebhookEvents, ", "))
	return err
}

// partnerCenter builds the App+User Partner Center client from flags and
// the environment.
func (a *app) partnerCenter(f pcFlags) (*partnercenter.Client, error) {
	get := func(flag, env, def string) string {
		v, _ := a.lookup(env)
		return cmp.Or(flag, v, def)
	}
	base := get(f.baseURL, envPCBaseURL, "https://api.partnercenter.microsoft.com")
	secret, _ := a.lookup(envPCClientSecret)
	refresh, _ := a.lookup(envPCRefreshToken)
	opts := pcauth.Options{
		LoginBaseURL: get(f.loginURL, envLoginBaseURL, "https://login.microsoftonline.com"),
		TenantID:     get(f.tenant, envPartnerTenant, ""),
		ClientID:     get(f.clientID, envPCClientID, ""),
		ClientSecret: secret,
		Store:        pcauth.NewMemoryStore(refresh),
		HTTPClient:   &http.Client{Timeout: 30 * time.Second},
		Logger:       slog.New(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if opts.TenantID == "" || opts.ClientID == "" || secret == "" || refresh == "" {
		return nil, usageErrorf("Partner Center needs --partner-tenant-id, --pc-client-id, and %s and %s in the environment", envPCClientSecret, envPCRefreshToken)
	}
	tokens, err := pcauth.New(opts)
	if err != nil {
		return nil, usageErrorf("partner center credentials: %w", err)
	}
	return partnercenter.New(base, tokens, &http.Client{Timeout: 30 * time.Second}, nil), nil
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
