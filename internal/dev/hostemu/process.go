package hostemu

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Readiness polling as in the host's HttpWorkerChannel.
const (
	readyPollInterval = 25 * time.Millisecond
	readyTimeout      = 30 * time.Second
)

// BrokerURLSetting is the app setting (docs/contract.md §4) through which the
// handler finds the local broker. Unless Options.Env sets it, the handler
// gets the emulator's own BrokerURL in it.
const BrokerURLSetting = "GDAP_BROKER_URL"

// handlerProc is one run of the handler executable.
type handlerProc struct {
	cmd      *exec.Cmd
	port     int
	workerID string
	baseURL  string
	exited   chan struct{} // closed once the process has been reaped
	exitErr  error         // valid after exited is closed
	// expected is set when the emulator itself ends the process (restart
	// after a timeout, KillHandler, Close): such exits are not crashes.
	expected atomic.Bool
}

// startProcess launches the handler like the host does: its environment
// plus the app settings plus the FUNCTIONS_* variables, a fresh free port,
// working directory = script root (or host.json workingDirectory).
func (e *Emulator) startProcess() (*handlerProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &handlerProc{
		port:     port,
		workerID: newGUID(),
		baseURL:  "http://127.0.0.1:" + strconv.Itoa(port),
		exited:   make(chan struct{}),
	}
	cmd := exec.Command(e.handler, e.host.arguments...)
	cmd.Dir = e.root
	if e.host.workingDirectory != "" {
		cmd.Dir = filepath.Join(e.root, e.host.workingDirectory)
	}
	env := os.Environ()
	for k, v := range e.opts.Env {
		env = append(env, k+"="+v)
	}
	if _, set := e.opts.Env[BrokerURLSetting]; !set {
		env = append(env, BrokerURLSetting+"="+e.brokerURL)
	}
	ps := strconv.Itoa(port)
	env = append(env,
		"FUNCTIONS_CUSTOMHANDLER_PORT="+ps,
		"FUNCTIONS_HTTPWORKER_PORT="+ps,
		"FUNCTIONS_CUSTOMHANDLER_WORKER_ID="+p.workerID,
		"FUNCTIONS_APP_ROOT_PATH="+e.root,
	)
	cmd.Env = env
	stdout := &lineWriter{out: &e.output, prefix: ""}
	stderr := &lineWriter{out: &e.output, prefix: StderrPrefix}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = 2 * time.Second // don't hang on grandchildren holding the pipes
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("hostemu: start handler: %w", err)
	}
	p.cmd = cmd
	go func() {
		p.exitErr = cmd.Wait()
		stdout.flush()
		stderr.flush()
		close(p.exited)
	}()
	e.log.Info("handler started", "pid", cmd.Process.Pid, "port", port, "worker_id", p.workerID)
	return p, nil
}

// errPortTaken reports that another process took the handler's port
// between the emulator choosing it and the handler binding it.
var errPortTaken = errors.New("hostemu: another process took the handler's port")

// waitReady polls GET / until any HTTP response, as the host does. Where
// the platform tells (Linux), an answer counts only when the handler
// process itself holds the listening socket: a free port may be taken by
// another process before the handler binds it (errPortTaken).
func (e *Emulator) waitReady(p *handlerProc) error {
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(readyPollInterval)
	defer tick.Stop()
	foreign := false
	for {
		ctx, cancel := context.WithTimeout(e.baseCtx, time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.baseURL+"/", nil)
		resp, err := e.client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			cancel()
			owned, known := listenerOwned(p.cmd.Process.Pid, p.port)
			if owned || !known {
				return nil
			}
			foreign = true // someone else answered: wait for ours, or its exit
		} else {
			cancel()
		}
		select {
		case <-p.exited:
			if foreign {
				return fmt.Errorf("%w (port %d): %v", errPortTaken, p.port, p.exitErr)
			}
			return fmt.Errorf("hostemu: handler exited before it was ready: %v", p.exitErr)
		case <-e.stop:
			return ErrClosed
		case <-deadline.C:
			return fmt.Errorf("hostemu: handler not ready after %s", readyTimeout)
		case <-tick.C:
		}
	}
}

// kill ends p at once (SIGKILL).
func (p *handlerProc) kill() {
	p.expected.Store(true)
	_ = p.cmd.Process.Kill()
}

// terminate sends SIGTERM, then SIGKILL after the grace period or when ctx
// ends, and waits for the process to be reaped.
func (e *Emulator) terminate(ctx context.Context, p *handlerProc) error {
	p.expected.Store(true)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.kill()
	}
	grace := time.NewTimer(e.opts.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-p.exited:
		return nil
	case <-grace.C:
	case <-ctx.Done():
	}
	e.log.Warn("handler did not stop after SIGTERM, killing it", "pid", p.cmd.Process.Pid)
	p.kill()
	<-p.exited
	return nil
}

// freePort picks a free loopback port for the handler and passes it in
// FUNCTIONS_CUSTOMHANDLER_PORT, as the host does. It picks at random below
// the kernel's ephemeral range: a port from that range (what listening on
// port 0 returns) can become the local port of any client connection on the
// machine before the handler binds it, and the handler then fails with
// "address already in use". What remains — another process choosing the
// same port in between — waitReady detects (errPortTaken) and launch starts
// again on a new port.
func freePort() (int, error) {
	low, high := portRange()
	var lastErr error
	for range 50 {
		port := low + rand.IntN(high-low+1)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			lastErr = err
			continue
		}
		_ = l.Close()
		return port, nil
	}
	return 0, fmt.Errorf("hostemu: free port: %w", lastErr)
}

// handlerPortLow is the lowest port freePort picks.
const handlerPortLow = 20000

// portRange is the range freePort picks from: handlerPortLow up to just
// below the kernel's ephemeral range (Linux: net.ipv4.ip_local_port_range,
// 32768 by default).
func portRange() (low, high int) {
	high = 32767
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n-1 > handlerPortLow+1000 {
				high = n - 1
			}
		}
	}
	return handlerPortLow, high
}
