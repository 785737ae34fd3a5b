// Package devstack runs the whole service locally: Azurite (Table Storage),
// the Graph and Partner Center simulators on one loopback listener, and the
// local Functions host emulator running the real handler binary, all on one
// virtual clock. The end-to-end tests, `make demo`, `make bench` and
// `make chaos` are built on it.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/dev/hostemu"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
	"github.com/gdapflow/gdapflow/internal/dev/pcsim"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// Identities of the local partner tenant and its Partner Center app. They
// exist only in the simulators.
const (
	PartnerTenantID = "c0ffee00-0000-4000-8000-000000000001"
	PCClientID      = "c0ffee00-0000-4000-8000-0000000000a1"
	// PCClientSecret is the local app's secret. Tests assert that it never
	// appears in logs or events.
	PCClientSecret = "local-pc-secret-7f3a9c"
	// GraphToken is the fixed bearer token the handler sends to the simulator.
	GraphToken = "local-graph-token-41d2e8"
)

// DefaultStart is where the virtual clock starts unless Options.Start says otherwise.
var DefaultStart = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC) //nolint:gochecknoglobals // constant

// Options configure Start.
type Options struct {
	// RepoRoot holds host.json and functions/. Default: localenv.RepoRoot().
	RepoRoot string
	// HandlerPath is the built handler binary (see BuildHandler). Required.
	HandlerPath string
	// Azurite is a running Azurite to use; nil starts one owned by the stack.
	Azurite *localenv.Azurite
	// Start is the virtual clock's starting time. Default DefaultStart.
	Start time.Time
	// Env overrides or adds app settings.
	Env map[string]string
	// HandlerOutput receives the handler's stdout and stderr.
	HandlerOutput io.Writer
	// Graph and PartnerCenter configure the simulators (Clock is set here).
	Graph         graphsim.Options
	PartnerCenter pcsim.Options
	// MaxDeliveryCount of the emulated queues. Default 10.
	MaxDeliveryCount int
	// DuplicateDetectionWindow of the emulated entities. Default Service
	// Bus's, 10 minutes; the Bicep deploys one day (P1D).
	DuplicateDetectionWindow time.Duration
	// FastForward lets the emulator jump the clock when idle outside Drain.
	FastForward bool
	// Logger is the emulator's own log.
	Logger *slog.Logger
	// ClientPrincipal is who the emulator says calls HTTP functions
	// (report.go); nil: a local operator with the report role. Anonymous
	// presents none.
	ClientPrincipal *hostemu.ClientPrincipal
	Anonymous       bool
}

// Stack is a running local service.
type Stack struct {
	Clock  *vclock.Virtual
	Graph  *graphsim.Sim
	PC     *pcsim.Sim
	SimURL string
	Emu    *hostemu.Emulator
	// Env is the app settings the handler runs with.
	Env map[string]string
	// RefreshToken is the initial Partner Center refresh token.
	RefreshToken string
	// WebhookURL is where the simulated Partner Center delivers webhooks
	// (the emulator's partner-center-webhook function, registered).
	WebhookURL string

	srv        *http.Server
	certHost   *pcsim.CertificateHost
	azurite    *localenv.Azurite
	ownAzurite bool
}

// Start starts the simulators, (if needed) Azurite, and the emulator with the
// handler, and waits until the handler answers.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	if opts.HandlerPath == "" {
		return nil, errors.New("devstack: HandlerPath is required")
	}
	if opts.RepoRoot == "" {
		root, err := localenv.RepoRoot()
		if err != nil {
			return nil, err
		}
		opts.RepoRoot = root
	}
	if opts.Start.IsZero() {
		opts.Start = DefaultStart
	}
	s := &Stack{Clock: vclock.NewVirtual(opts.Start)}
	ok := false
	defer func() {
		if !ok {
			_ = s.Close()
		}
	}()

	pco := opts.PartnerCenter
	pco.Clock = s.Clock
	pco.TenantID = PartnerTenantID
	pco.ClientID = PCClientID
	if pco.ClientSecret == "" && !pco.DisableClientSecret {
		pco.ClientSecret = PCClientSecret
	}
	s.PC = pcsim.New(pco)
	gro := opts.Graph
	gro.Clock = s.Clock
	gro.Fallback = s.PC
	s.Graph = graphsim.New(gro)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("devstack: simulator listener: %w", err)
	}
	s.SimURL = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.Graph, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()

	if opts.Azurite != nil {
		s.azurite = opts.Azurite
	} else {
		az, err := localenv.StartAzurite(ctx, localenv.AzuriteOptions{RepoRoot: opts.RepoRoot})
		if err != nil {
			return nil, err
		}
		s.azurite, s.ownAzurite = az, true
	}
	s.RefreshToken = s.PC.IssueRefreshToken(PCClientID)
	hookEnv, err := s.enableWebhooks()
	if err != nil {
		return nil, err
	}

	s.Env = map[string]string{
		"FUNCTIONS_WORKER_RUNTIME":      "custom",
		"GDAP_GRAPH_BASE_URL":           s.SimURL + "/beta",
		"GDAP_PARTNER_CENTER_BASE_URL":  s.SimURL,
		"GDAP_LOGIN_BASE_URL":           s.SimURL,
		"GDAP_TABLES_CONNECTION_STRING": s.azurite.ConnectionString(),
		"GDAP_TABLE_PREFIX":             localenv.UniqueName("t"),
		"GDAP_COMMANDS_QUEUE":           "gdap-commands",
		"GDAP_CONTINUATIONS_QUEUE":      "gdap-continuations",
		"GDAP_EVENTS_TOPIC":             "gdap-events",
		"GDAP_SWEEP_SCHEDULE":           "0 0 */6 * * *",
		"GDAP_REAPER_SCHEDULE":          "0 */5 * * * *",
		"GDAP_DEV_BEARER_TOKEN":         GraphToken,
		"GDAP_DEV_CLOCK":                "host",
		"GDAP_PARTNER_TENANT_ID":        PartnerTenantID,
		"GDAP_PC_CLIENT_ID":             PCClientID,
		"GDAP_PC_CLIENT_SECRET":         PCClientSecret,
		"GDAP_PC_REFRESH_TOKEN":         s.RefreshToken,
		"GDAP_LOG_LEVEL":                "debug",
		"GDAP_INVOCATION_TIMEOUT":       "2m",
		"GDAP_SWEEP_INVOCATION_BUDGET":  "1m",
		"GDAP_DEV_REPORT_PRINCIPAL":     "true",
	}
	for k, v := range hookEnv {
		s.Env[k] = v
	}
	for k, v := range opts.Env {
		if v == "" {
			delete(s.Env, k)
			continue
		}
		s.Env[k] = v
	}
	s.Emu, err = hostemu.Start(ctx, hostemu.Options{
		ScriptRoot:               opts.RepoRoot,
		HandlerPath:              opts.HandlerPath,
		Env:                      s.Env,
		Clock:                    s.Clock,
		FastForward:              opts.FastForward,
		MaxDeliveryCount:         opts.MaxDeliveryCount,
		DuplicateDetectionWindow: opts.DuplicateDetectionWindow,
		HandlerOutput:            opts.HandlerOutput,
		Logger:                   opts.Logger,
		ClientPrincipal:          principalOf(opts),
	})
	if err != nil {
		return nil, fmt.Errorf("devstack: host emulator: %w", err)
	}
	if err := s.registerWebhook(); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// TablesConnectionString is the Azurite connection string the stack uses.
func (s *Stack) TablesConnectionString() string { return s.azurite.ConnectionString() }

// Close stops the emulator (and the handler), the simulators and an owned Azurite.
func (s *Stack) Close() error {
	var errs []error
	if s.Emu != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		errs = append(errs, s.Emu.Close(ctx))
		cancel()
	}
	if s.srv != nil {
		errs = append(errs, s.srv.Close())
	}
	if s.certHost != nil {
		s.certHost.Close()
	}
	if s.ownAzurite && s.azurite != nil {
		errs = append(errs, s.azurite.Stop())
	}
	return errors.Join(errs...)
}

// BuildHandler compiles the handler (the repository's root package) into
// dir and returns the binary's path.
func BuildHandler(ctx context.Context, repoRoot, dir string) (string, error) {
	out := filepath.Join(dir, "handler")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, ".")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build handler: %w\n%s", err, b)
	}
	return out, nil
}
