package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/engine"
	"github.com/gdapflow/gdapflow/internal/graphapi"
	"github.com/gdapflow/gdapflow/internal/invoke"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/partnercenter"
	"github.com/gdapflow/gdapflow/internal/pcauth"
	"github.com/gdapflow/gdapflow/internal/report"
	"github.com/gdapflow/gdapflow/internal/sweep"
	"github.com/gdapflow/gdapflow/internal/upstream"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// ensureTimeout bounds the start-up creation of each table.
const ensureTimeout = 15 * time.Second

// deps are the long-lived clients, built once and shared by invocations.
type deps struct {
	server  *invoke.Server
	closers []func()
}

func (d *deps) close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
}

// sender sends outbound messages (Service Bus or the local broker).
type sender interface {
	Send(ctx context.Context, entity string, m bus.Message) error
}

// build wires the handler: one function per client, in dependency order.
func build(ctx context.Context, cfg config.Config, logger *slog.Logger) (*deps, error) {
	d := &deps{}
	clock, devClock := buildClock(cfg)
	cred := &lazyCredential{}
	// Every HTTP client of a remote service shares one transport that keeps
	// enough idle connections for the invocations running at once.
	outbound := upstream.NewTransport()

	tables, err := buildTables(cfg, cred, outbound)
	if err != nil {
		return nil, err
	}
	ledgerStore := buildLedger(ctx, cfg, tables, logger)
	dueIndex := buildDueIndex(ctx, cfg, tables, logger)
	graph, err := buildGraph(cfg, cred, outbound, clock, &graphapi.Pacing{})
	if err != nil {
		return nil, err
	}
	// The sweep reads pages with its own client, not paced: a sweep handles
	// 429s itself (its continuation waits for Retry-After), and a page read
	// must not be deferred behind the commands' writes.
	sweepGraph, err := buildGraph(cfg, cred, outbound, clock, nil)
	if err != nil {
		return nil, err
	}
	send, err := buildSender(cfg, cred, outbound, d)
	if err != nil {
		return nil, err
	}
	pc, err := buildPartnerCenter(ctx, cfg, tables, logger, clock, cred, outbound)
	if err != nil {
		return nil, err
	}
	sweeper, err := buildSweeper(ctx, cfg, tables, sweepGraph, send, logger)
	if err != nil {
		return nil, err
	}
	eng := buildEngine(cfg, ledgerStore, dueIndex, graph, send, pc, sweeper)
	d.server = invoke.New(invoke.Options{
		Commands:      eng.HandleCommand,
		Continuations: eng.HandleContinuation,
		RejectCommand: eng.RejectUndecodable,
		Sweeper:       sweeper,
		SweepSchedule: cfg.SweepSchedule,
		Reaper:        buildReaper(cfg, dueIndex, ledgerStore, eng),
		Webhook:       buildWebhook(ctx, cfg, tables, send, logger),
		Report:        buildReport(cfg, tables, ledgerStore),
		ReportAuth:    report.AuthOptions{Role: cfg.Report.Role, AllowDev: cfg.Report.DevPrincipal},
		Logger:        logger,
		Timeout:       cfg.InvocationTimeout,
		DevClock:      devClock,
	})
	return d, nil
}

// buildClock returns the clock long-lived components use: real, or in
// development mode the emulator's virtual time as seen in the latest
// invocation.
func buildClock(cfg config.Config) (vclock.Clock, *vclock.Following) {
	if cfg.DevClock != config.DevClockHost {
		return vclock.Real{}, nil
	}
	f := &vclock.Following{}
	return f, f
}

// lazyCredential builds the Azure credential (managed identity in Azure) on
// first use: a deployment with connection strings never needs it.
type lazyCredential struct {
	cred azcore.TokenCredential
}

func (l *lazyCredential) get() (azcore.TokenCredential, error) {
	if l.cred != nil {
		return l.cred, nil
	}
	c, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("azure credential: %w", err)
	}
	l.cred = c
	return c, nil
}

// buildTables returns the Table Storage client. Retries stay short and every
// try is bounded, so a slow or throttled Table call cannot hold an invocation
// for long; the message is redelivered instead.
func buildTables(cfg config.Config, cred *lazyCredential, outbound http.RoundTripper) (*aztables.ServiceClient, error) {
	opts := &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{
		MaxRetries: 2, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 2 * time.Second, TryTimeout: 8 * time.Second,
	}, Transport: upstream.AzureTransport{Client: &http.Client{Transport: outbound}}}}
	if cfg.TablesConnectionString != "" {
		svc, err := aztables.NewServiceClientFromConnectionString(cfg.TablesConnectionString, opts)
		if err != nil {
			return nil, fmt.Errorf("table storage client: %w", err)
		}
		return svc, nil
	}
	c, err := cred.get()
	if err != nil {
		return nil, err
	}
	svc, err := aztables.NewServiceClient(cfg.TablesEndpoint, c, opts)
	if err != nil {
		return nil, fmt.Errorf("table storage client: %w", err)
	}
	return svc, nil
}

// buildLedger returns the operation ledger and makes sure its table exists.
// A failure to create it is not fatal: Bicep creates the table, and
// invocations fail (and are redelivered) while Table Storage is unreachable.
func buildLedger(ctx context.Context, cfg config.Config, tables *aztables.ServiceClient, logger *slog.Logger) *ledger.Store {
	store := ledger.New(tables.NewClient(cfg.TablePrefix + "operations")).WithFailureIndex(tables.NewClient(cfg.TablePrefix + failuresTableSuffix))
	ectx, cancel := context.WithTimeout(ctx, ensureTimeout)
	defer cancel()
	if err := store.EnsureTable(ectx); err != nil {
		logger.Warn("could not ensure the ledger table", "error", err.Error())
	}
	return store
}

// buildGraph returns the Microsoft Graph client (app-only).
func buildGraph(cfg config.Config, cred *lazyCredential, outbound http.RoundTripper, clock vclock.Clock, pacing *graphapi.Pacing) (*graphapi.Client, error) {
	var c azcore.TokenCredential
	if cfg.DevBearerToken != "" {
		c = graphapi.NewStaticTokenCredential(cfg.DevBearerToken)
	} else {
		var err error
		if c, err = cred.get(); err != nil {
			return nil, err
		}
	}
	// Pacing: once Graph throttles, the client paces itself (adaptive,
	// process-wide) and defers calls to reserved slots instead of
	// retrying into the limit (docs/performance.md, "Throttling").
	graph, err := graphapi.New(graphapi.Options{BaseURL: cfg.GraphBaseURL, Credential: c,
		HTTPClient: &http.Client{Transport: outbound}, Clock: clock, Pacing: pacing})
	if err != nil {
		return nil, fmt.Errorf("graph client: %w", err)
	}
	return graph, nil
}

// buildSender returns the outbound message sender: the local broker, or
// Service Bus (closed with d).
func buildSender(cfg config.Config, cred *lazyCredential, outbound http.RoundTripper, d *deps) (sender, error) {
	if cfg.BrokerURL != "" {
		return bus.NewLocalBroker(cfg.BrokerURL, &http.Client{Transport: outbound, Timeout: 10 * time.Second}), nil
	}
	// The SDK's default retries (3, from 4 s, up to 120 s) could hold an
	// invocation for half a minute per send; the engine retries briefly
	// itself and then lets Service Bus redeliver, so keep these short.
	opts := &azservicebus.ClientOptions{RetryOptions: azservicebus.RetryOptions{
		MaxRetries: 2, RetryDelay: 250 * time.Millisecond, MaxRetryDelay: 2 * time.Second,
	}}
	var client *azservicebus.Client
	var err error
	if cfg.ServiceBusConnectionString != "" {
		client, err = azservicebus.NewClientFromConnectionString(cfg.ServiceBusConnectionString, opts)
	} else {
		var c azcore.TokenCredential
		if c, err = cred.get(); err == nil {
			client, err = azservicebus.NewClient(cfg.ServiceBusNamespace, c, opts)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("service bus client: %w", err)
	}
	sb, err := bus.NewServiceBus(client, []string{cfg.ContinuationsQueue, cfg.CommandsQueue, cfg.EventsTopic})
	if err != nil {
		return nil, fmt.Errorf("service bus senders: %w", err)
	}
	d.closers = append(d.closers, func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sb.Close(cctx)
		_ = client.Close(cctx)
	})
	return sb, nil
}

// buildPartnerCenter returns the Partner Center client (App+User), or nil
// when it is not configured.
func buildPartnerCenter(ctx context.Context, cfg config.Config, tables *aztables.ServiceClient, logger *slog.Logger, clock vclock.Clock, cred *lazyCredential, outbound http.RoundTripper) (*partnercenter.Client, error) {
	if !cfg.PartnerCenterConfigured() {
		return nil, nil
	}
	var store pcauth.RefreshTokenStore
	if cfg.PCRefreshToken != "" {
		store = pcauth.NewMemoryStore(cfg.PCRefreshToken)
	} else {
		c, err := cred.get()
		if err != nil {
			return nil, err
		}
		s, err := pcauth.NewKeyVaultStoreFromURI(cfg.PCRefreshTokenSecretURI, c,
			&pcauth.KeyVaultStoreOptions{Guard: tables.NewClient(cfg.TablePrefix + "pcauth")})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", config.SettingPCRefreshTokenSecretURI, err)
		}
		ectx, cancel := context.WithTimeout(ctx, ensureTimeout)
		defer cancel()
		if err := s.EnsureGuardTable(ectx); err != nil {
			logger.Warn("could not ensure the refresh token guard table", "error", err.Error())
		}
		store = s
	}
	aopts := pcauth.Options{
		LoginBaseURL: cfg.LoginBaseURL,
		TenantID:     cfg.PartnerTenantID,
		ClientID:     cfg.PCClientID,
		ClientSecret: cfg.PCClientSecret,
		Scopes:       strings.Fields(cfg.PCScope),
		Store:        store,
		Clock:        clock,
		Logger:       logger,
	}
	if cfg.PCClientSecret == "" {
		c, err := cred.get()
		if err != nil {
			return nil, err
		}
		aopts.Assertion = pcauth.NewManagedIdentityAssertion(c)
	}
	tokens, err := pcauth.New(aopts)
	if err != nil {
		return nil, fmt.Errorf("partner center credentials: %w", err)
	}
	return partnercenter.New(cfg.PartnerCenterBaseURL, tokens, &http.Client{Transport: outbound}, clock), nil
}

// buildSweeper returns the expiry sweep and makes sure its table exists.
func buildSweeper(ctx context.Context, cfg config.Config, tables *aztables.ServiceClient, graph *graphapi.Client, send sender, logger *slog.Logger) (*sweep.Sweeper, error) {
	sw, err := sweep.New(sweep.Options{
		Table:                 tables.NewClient(cfg.TablePrefix + "sweep"),
		ReportTable:           tables.NewClient(cfg.TablePrefix + reportTableSuffix),
		Graph:                 graph,
		Sender:                send,
		ContinuationsQueue:    cfg.ContinuationsQueue,
		EventsTopic:           cfg.EventsTopic,
		EventSource:           cfg.EventSource,
		ExpiryWarningDays:     cfg.ExpiryWarningDays,
		ApprovalWarningDays:   cfg.ApprovalWarningDays,
		AutoExtendPolicy:      cfg.AutoExtendPolicy,
		ProtectedCustomers:    protectedList(cfg),
		InvocationBudget:      cfg.SweepInvocationBudget,
		MaxPagesPerInvocation: cfg.SweepMaxPagesPerInvocation,
		RetryMaxAttempts:      cfg.RetryMaxAttempts,
		LeaseDuration:         2 * cfg.InvocationTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("expiry sweep: %w", err)
	}
	ectx, cancel := context.WithTimeout(ctx, ensureTimeout)
	defer cancel()
	if err := sw.EnsureTable(ectx); err != nil {
		logger.Warn("could not ensure the sweep table", "error", err.Error())
	}
	return sw, nil
}

// protectedList returns GDAP_PROTECTED_CUSTOMERS, sorted.
func protectedList(cfg config.Config) []string {
	out := make([]string, 0, len(cfg.ProtectedCustomers))
	for id, on := range cfg.ProtectedCustomers {
		if on {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// buildEngine returns the engine that executes commands and continuations.
func buildEngine(cfg config.Config, led *ledger.Store, due *ledger.DueIndex, graph *graphapi.Client, send sender, pc *partnercenter.Client, sw *sweep.Sweeper) *engine.Engine {
	opts := engine.Options{
		Ledger:             led,
		Graph:              graph,
		Sender:             send,
		Sweeper:            sw,
		CommandsQueue:      cfg.CommandsQueue,
		ContinuationsQueue: cfg.ContinuationsQueue,
		EventsTopic:        cfg.EventsTopic,
		EventSource:        cfg.EventSource,
		RetryMaxAttempts:   cfg.RetryMaxAttempts,
		OperationDeadline:  cfg.OperationDeadline,
		FollowUpPoll:       cfg.FollowUpPoll,
		LeaseDuration:      cfg.InvocationTimeout,
		Protected:          cfg.IsProtected,
		DueIndex:           due,
	}
	if pc != nil { // a nil *Client in the interface would not read as "not configured"
		opts.PartnerCenter = pc
	}
	return engine.New(opts)
}
