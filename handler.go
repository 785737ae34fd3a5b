// Command handler is gdapflow's Azure Functions custom handler: the Functions
// host starts it, waits for GET / to answer, and POSTs each invocation of the
// commands, continuations and expiry-sweep functions to it. See README.md
// and docs/architecture.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
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
	"github.com/gdapflow/gdapflow/internal/sweep"
	"github.com/gdapflow/gdapflow/internal/upstream"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// shutdownGrace is how long in-flight invocations may finish after SIGTERM.
const shutdownGrace = 20 * time.Second

func main() {
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
	logger.Info("handler listening", "address", ln.Addr().String(), "graph", cfg.GraphBaseURL,
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

func build(ctx context.Context, cfg config.Config, logger *slog.Logger) (*deps, error) {
	d := &deps{}
	// The clock long-lived components use: real, or in development mode the
	// emulator's virtual time as seen in the latest invocation.
	var clock vclock.Clock = vclock.Real{}
	var devClock *vclock.Following
	if cfg.DevClock == config.DevClockHost {
		devClock = &vclock.Following{}
		clock = devClock
	}
	var cred azcore.TokenCredential
	credential := func() (azcore.TokenCredential, error) {
		if cred != nil {
			return cred, nil
		}
		c, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, fmt.Errorf("azure credential: %w", err)
		}
		cred = c
		return cred, nil
	}

	// Every HTTP client of a remote service shares one transport that keeps
	// enough idle connections for the invocations running at once.
	outbound := upstream.NewTransport()

	// Table Storage: the operation ledger. Retries stay short and every try
	// is bounded, so a slow or throttled Table call cannot hold an invocation
	// for long; the message is redelivered instead.
	tableOpts := &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{
		MaxRetries: 2, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 2 * time.Second, TryTimeout: 8 * time.Second,
	}, Transport: upstream.AzureTransport{Client: &http.Client{Transport: outbound}}}}
	var svc *aztables.ServiceClient
	var err error
	if cfg.TablesConnectionString != "" {
		svc, err = aztables.NewServiceClientFromConnectionString(cfg.TablesConnectionString, tableOpts)
	} else {
		var c azcore.TokenCredential
		if c, err = credential(); err == nil {
			svc, err = aztables.NewServiceClient(cfg.TablesEndpoint, c, tableOpts)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("table storage client: %w", err)
	}
	ledgerStore := ledger.New(svc.NewClient(cfg.TablePrefix + "operations"))
	ensureCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	if err := ledgerStore.EnsureTable(ensureCtx); err != nil {
		// Not fatal: Bicep creates the table; invocations fail (and are
		// redelivered) while Table Storage is unreachable.
		logger.Warn("could not ensure the ledger table", "error", err.Error())
	}
	cancel()

	// Graph (app-only).
	var graphCred azcore.TokenCredential
	if cfg.DevBearerToken != "" {
		graphCred = graphapi.NewStaticTokenCredential(cfg.DevBearerToken)
	} else if graphCred, err = credential(); err != nil {
		return nil, err
	}
	graph, err := graphapi.New(graphapi.Options{BaseURL: cfg.GraphBaseURL, Credential: graphCred, HTTPClient: &http.Client{Transport: outbound}})
	if err != nil {
		return nil, fmt.Errorf("graph client: %w", err)
	}

	// Outbound messages.
	var sender interface {
		Send(ctx context.Context, entity string, m bus.Message) error
	}
	if cfg.BrokerURL != "" {
		sender = bus.NewLocalBroker(cfg.BrokerURL, &http.Client{Transport: outbound, Timeout: 10 * time.Second})
	} else {
		// The SDK's default retries (3, from 4 s, up to 120 s) could hold an
		// invocation for half a minute per send; the engine retries briefly
		// itself and then lets Service Bus redeliver, so keep these short.
		sbOpts := &azservicebus.ClientOptions{RetryOptions: azservicebus.RetryOptions{
			MaxRetries: 2, RetryDelay: 250 * time.Millisecond, MaxRetryDelay: 2 * time.Second,
		}}
		var client *azservicebus.Client
		if cfg.ServiceBusConnectionString != "" {
			client, err = azservicebus.NewClientFromConnectionString(cfg.ServiceBusConnectionString, sbOpts)
		} else {
			var c azcore.TokenCredential
			if c, err = credential(); err == nil {
				client, err = azservicebus.NewClient(cfg.ServiceBusNamespace, c, sbOpts)
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
		sender = sb
	}

	// Partner Center (App+User), only when configured.
	var pc *partnercenter.Client
	if cfg.PartnerCenterConfigured() {
		pc, err = buildPartnerCenter(cfg, logger, clock, credential, outbound)
		if err != nil {
			return nil, err
		}
	}

	// The expiry sweep completes gdap.sweep.run operations through the
	// engine, which in turn hands it sweep triggers: eng is set below.
	var eng *engine.Engine
	sweeper, err := sweep.New(sweep.Options{
		Table:  svc.NewClient(cfg.TablePrefix + "sweep"),
		Graph:  graph,
		Sender: sender,
		Config: cfg,
		Operations: sweep.OperationsFunc(func(ctx context.Context, inv engine.Invocation, id string, res *engine.Result, f *engine.Failure) error {
			return eng.CompleteOperation(ctx, inv, id, res, f)
		}),
	})
	if err != nil {
		return nil, fmt.Errorf("expiry sweep: %w", err)
	}
	ensureCtx, cancel = context.WithTimeout(ctx, 15*time.Second)
	if err := sweeper.EnsureTable(ensureCtx); err != nil {
		logger.Warn("could not ensure the sweep table", "error", err.Error())
	}
	cancel()

	opts := engine.Options{
		Ledger:             ledgerStore,
		Graph:              graph,
		Sender:             sender,
		CommandsQueue:      cfg.CommandsQueue,
		ContinuationsQueue: cfg.ContinuationsQueue,
		EventsTopic:        cfg.EventsTopic,
		EventSource:        cfg.EventSource,
		RetryMaxAttempts:   cfg.RetryMaxAttempts,
		OperationDeadline:  cfg.OperationDeadline,
		LeaseDuration:      cfg.InvocationTimeout,
		Protected:          cfg.IsProtected,
		Sweeper:            sweeper,
	}
	if pc != nil {
		opts.PartnerCenter = pc
	}
	eng = engine.New(opts)

	d.server = invoke.New(invoke.Options{
		Commands:      eng.HandleCommand,
		Continuations: eng.HandleContinuation,
		Sweeper:       sweeper,
		SweepSchedule: cfg.SweepSchedule,
		Logger:        logger,
		Timeout:       cfg.InvocationTimeout,
		DevClock:      devClock,
	})
	return d, nil
}

func buildPartnerCenter(cfg config.Config, logger *slog.Logger, clock vclock.Clock, credential func() (azcore.TokenCredential, error), outbound http.RoundTripper) (*partnercenter.Client, error) {
	var store pcauth.RefreshTokenStore
	if cfg.PCRefreshToken != "" {
		store = pcauth.NewMemoryStore(cfg.PCRefreshToken)
	} else {
		c, err := credential()
		if err != nil {
			return nil, err
		}
		s, err := pcauth.NewKeyVaultStoreFromURI(cfg.PCRefreshTokenSecretURI, c, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", config.SettingPCRefreshTokenSecretURI, err)
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
		c, err := credential()
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
