package localenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// Azurite's well-known development account (public, documented by Microsoft;
// not a secret).
const (
	// AzuriteAccountName is the development storage account name.
	AzuriteAccountName = "devstoreaccount1"
	// AzuriteAccountKey is the development storage account's well-known key.
	AzuriteAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Defaults of AzuriteOptions.
const (
	DefaultAzuriteStartTimeout = 30 * time.Second
	DefaultAzuritePortAttempts = 5
)

// azuriteBin is the Azurite Table launcher installed by `make tools`
// (npm ci --prefix tools), relative to the repository root.
var azuriteBin = filepath.Join("tools", "node_modules", ".bin", "azurite-table")

// ErrAzuriteNotInstalled means tools/node_modules/.bin/azurite-table is
// missing; `make tools` installs it.
var ErrAzuriteNotInstalled = errors.New("localenv: azurite-table is not installed; run `make tools` (npm ci --prefix tools)")

// errPortInUse marks a start attempt that lost its port to another process.
var errPortInUse = errors.New("localenv: azurite port already in use")

// startedMarker is what Azurite prints once its listener is bound. Waiting
// for it (rather than only probing the port) guarantees that the server
// answering on the port is our process and not another Azurite that grabbed
// the same port.
const startedMarker = "successfully started on"

// AzuriteOptions tunes StartAzurite. The zero value is ready to use.
type AzuriteOptions struct {
	// RepoRoot is where tools/node_modules lives; "" means RepoRoot().
	RepoRoot string
	// StartTimeout bounds each start attempt (process start until a real
	// Table request succeeds); 0 means DefaultAzuriteStartTimeout.
	StartTimeout time.Duration
	// PortAttempts is how many ports are tried when the chosen port is
	// taken before Azurite binds it; 0 means DefaultAzuritePortAttempts.
	PortAttempts int
	// Log, if set, receives Azurite's stdout and stderr.
	Log io.Writer
}

// Azurite is a running Azurite Table service on 127.0.0.1, holding data in
// memory only. It is safe for concurrent use.
type Azurite struct {
	port    int
	cmd     *exec.Cmd
	workDir string
	out     *outputWatcher
	exited  chan struct{}
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// StartAzurite starts Azurite Table on a free loopback port and returns once
// it serves requests. ctx bounds only the start-up; the process runs until
// Stop. The error wraps ErrAzuriteNotInstalled when the binary is missing.
func StartAzurite(ctx context.Context, opts AzuriteOptions) (*Azurite, error) {
	return startAzurite(ctx, opts, FreePort)
}

func startAzurite(ctx context.Context, opts AzuriteOptions, pickPort func() (int, error)) (*Azurite, error) {
	root := opts.RepoRoot
	if root == "" {
		var err error
		if root, err = RepoRoot(); err != nil {
			return nil, err
		}
	}
	bin := filepath.Join(root, azuriteBin)
	if _, err := os.Stat(bin); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s not found", ErrAzuriteNotInstalled, bin)
		}
		return nil, fmt.Errorf("localenv: azurite binary: %w", err)
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = DefaultAzuriteStartTimeout
	}
	attempts := opts.PortAttempts
	if attempts <= 0 {
		attempts = DefaultAzuritePortAttempts
	}
	var lastErr error
	for range attempts {
		port, err := pickPort()
		if err != nil {
			return nil, err
		}
		a, err := startAzuriteOnce(ctx, bin, port, timeout, opts.Log)
		if err == nil {
			return a, nil
		}
		if !errors.Is(err, errPortInUse) {
			return nil, err
		}
		lastErr = err
	}
	return nil, fmt.Errorf("localenv: azurite: gave up after %d ports: %w", attempts, lastErr)
}

func startAzuriteOnce(ctx context.Context, bin string, port int, timeout time.Duration, log io.Writer) (*Azurite, error) {
	workDir, err := os.MkdirTemp("", "gdapflow-azurite-")
	if err != nil {
		return nil, fmt.Errorf("localenv: azurite work dir: %w", err)
	}
	out := newOutputWatcher(startedMarker, log)
	cmd := exec.Command(bin,
		"--tableHost", "127.0.0.1",
		"--tablePort", strconv.Itoa(port),
		"--inMemoryPersistence",
		"--skipApiVersionCheck",
		"--disableProductStyleUrl",
		"--disableTelemetry",
		"--silent",
	)
	cmd.Dir = workDir // Azurite may write debug files to its working directory.
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(workDir)
		return nil, fmt.Errorf("localenv: start azurite: %w", err)
	}
	a := &Azurite{port: port, cmd: cmd, workDir: workDir, out: out, exited: make(chan struct{})}
	go func() {
		a.waitErr = cmd.Wait()
		close(a.exited)
	}()
	if err := a.waitReady(ctx, timeout); err != nil {
		_ = a.Stop()
		return nil, err
	}
	return a, nil
}

// waitReady polls (bounded by timeout and ctx) until Azurite printed its
// start-up line and a real Table request succeeds, or the process exits.
func (a *Azurite) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	probe, err := aztables.NewServiceClientFromConnectionString(a.ConnectionString(), &aztables.ClientOptions{
		ClientOptions: policy.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1, TryTimeout: 2 * time.Second}},
	})
	if err != nil {
		return fmt.Errorf("localenv: azurite probe client: %w", err)
	}
	delay := 20 * time.Millisecond
	var lastErr error
	for {
		select {
		case <-a.exited:
			tail := a.out.String()
			if strings.Contains(tail, "EADDRINUSE") {
				return fmt.Errorf("%w: port %d", errPortInUse, a.port)
			}
			return fmt.Errorf("localenv: azurite exited during start-up (%v): %s", a.waitErr, strings.TrimSpace(tail))
		default:
		}
		if a.out.Seen() {
			pager := probe.NewListTablesPager(nil)
			if _, lastErr = pager.NextPage(ctx); lastErr == nil {
				return nil
			}
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("localenv: azurite on port %d not ready: %w (last probe error: %v; output: %s)",
				a.port, context.Cause(ctx), lastErr, strings.TrimSpace(a.out.String()))
		case <-a.exited:
			timer.Stop()
		case <-timer.C:
		}
		delay = min(delay*2, 250*time.Millisecond)
	}
}

// Port is the loopback TCP port Azurite listens on.
func (a *Azurite) Port() int { return a.port }

// TableEndpoint is the account's Table endpoint,
// http://127.0.0.1:PORT/devstoreaccount1.
func (a *Azurite) TableEndpoint() string {
	return fmt.Sprintf("http://127.0.0.1:%d/%s", a.port, AzuriteAccountName)
}

// ConnectionString is a full connection string for the development account
// that aztables understands (it does not understand
// UseDevelopmentStorage=true).
func (a *Azurite) ConnectionString() string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;TableEndpoint=%s;",
		AzuriteAccountName, AzuriteAccountKey, a.TableEndpoint())
}

// ServiceClient returns an aztables service client for this Azurite.
func (a *Azurite) ServiceClient() (*aztables.ServiceClient, error) {
	c, err := aztables.NewServiceClientFromConnectionString(a.ConnectionString(), nil)
	if err != nil {
		return nil, fmt.Errorf("localenv: azurite service client: %w", err)
	}
	return c, nil
}

// NewTableClient returns a client for the table name, without creating the
// table. Use UniqueName to isolate tests sharing one Azurite.
func (a *Azurite) NewTableClient(name string) (*aztables.Client, error) {
	sc, err := a.ServiceClient()
	if err != nil {
		return nil, err
	}
	return sc.NewClient(name), nil
}

// Stop terminates Azurite's whole process group (SIGTERM, then SIGKILL after
// five seconds), waits for it and removes its working directory. It is safe
// to call more than once and from several goroutines.
func (a *Azurite) Stop() error {
	a.stopOnce.Do(func() { a.stopErr = a.stop() })
	return a.stopErr
}

func (a *Azurite) stop() error {
	var errs []error
	select {
	case <-a.exited:
	default:
		if err := terminate(a.cmd); err != nil {
			errs = append(errs, err)
		}
		timer := time.NewTimer(5 * time.Second)
		select {
		case <-a.exited:
			timer.Stop()
		case <-timer.C:
			if err := kill(a.cmd); err != nil {
				errs = append(errs, err)
			}
			<-a.exited
		}
	}
	// Reap anything Azurite may have left in its group.
	if err := kill(a.cmd); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(a.workDir); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("localenv: stop azurite: %w", err)
	}
	return nil
}

// outputWatcher keeps the last few KiB of a process's output, reports
// whether a marker has appeared, and optionally tees to a log.
type outputWatcher struct {
	mu     sync.Mutex
	buf    []byte
	marker string
	seen   bool
	log    io.Writer
}

const outputTail = 8 << 10

func newOutputWatcher(marker string, log io.Writer) *outputWatcher {
	return &outputWatcher{marker: marker, log: log}
}

// Write implements io.Writer.
func (w *outputWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if !w.seen && bytes.Contains(w.buf, []byte(w.marker)) {
		w.seen = true
	}
	if len(w.buf) > outputTail {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-outputTail:]...)
	}
	if w.log != nil {
		_, _ = w.log.Write(p)
	}
	return len(p), nil
}

// Seen reports whether the marker has been written.
func (w *outputWatcher) Seen() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen
}

// String returns the retained output tail.
func (w *outputWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}
