package hostemu

import (
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/gdapflow/gdapflow/internal/vclock"
)

// Defaults applied by Start when the corresponding Options field is zero.
const (
	// MaxDeliveryCountDefault is Service Bus's default maxDeliveryCount.
	MaxDeliveryCountDefault = 10
	// DuplicateDetectionWindowDefault is Service Bus's default duplicate
	// detection history window, measured on the virtual clock.
	DuplicateDetectionWindowDefault = 10 * time.Minute
	// MaxConcurrentCallsDefault is used when neither Options nor host.json
	// (extensions.serviceBus.maxConcurrentCalls) set a value.
	MaxConcurrentCallsDefault = 16
	// ShutdownGraceDefault is how long Close waits after SIGTERM before it
	// kills the handler.
	ShutdownGraceDefault = 10 * time.Second
)

// Options configures an Emulator.
type Options struct {
	// ScriptRoot is the folder holding host.json. Functions are found in
	// <ScriptRoot>/<name>/function.json (the packaged layout the host
	// reads) and in <ScriptRoot>/functions/<name>/function.json (the
	// repository layout). Required.
	ScriptRoot string
	// HandlerPath is the handler executable. Default: host.json
	// customHandler.description.defaultExecutablePath, resolved against
	// ScriptRoot when that file exists there, else looked up on PATH.
	HandlerPath string
	// Env holds the app settings. The handler gets the emulator's own
	// environment plus these, plus FUNCTIONS_CUSTOMHANDLER_PORT,
	// FUNCTIONS_HTTPWORKER_PORT, FUNCTIONS_CUSTOMHANDLER_WORKER_ID and
	// FUNCTIONS_APP_ROOT_PATH. %SETTING% expressions in function.json and in
	// customHandler arguments resolve against Env.
	Env map[string]string
	// Clock is the virtual clock deliveries, scheduling and sys.UtcNow use.
	// Required.
	Clock *vclock.Virtual
	// FastForward makes the emulator jump Clock to the next scheduled
	// message whenever nothing is due and nothing is in flight. Drain always
	// fast-forwards, whatever this says.
	FastForward bool
	// EnableTimers fires timer functions on their NCRONTAB schedule
	// (virtual time). Off by default; FireTimer works either way.
	EnableTimers bool
	// MaxDeliveryCount is the queues' maxDeliveryCount. Default 10.
	MaxDeliveryCount int
	// DuplicateDetectionWindow is the duplicate detection history window
	// of every entity, in virtual time. Default 10 minutes.
	DuplicateDetectionWindow time.Duration
	// MaxConcurrentCalls bounds concurrent Service Bus invocations. Default:
	// host.json extensions.serviceBus.maxConcurrentCalls, else 16.
	MaxConcurrentCalls int
	// ShutdownGrace is how long Close waits for the handler to exit after
	// SIGTERM before killing it. Default 10 seconds.
	ShutdownGrace time.Duration
	// HandlerOutput receives the handler's stdout and stderr, line by line.
	// Stderr lines (which the real host logs as errors) start with
	// StderrPrefix. Default: discarded.
	HandlerOutput io.Writer
	// Logger is the emulator's own log. Default: discarded.
	Logger *slog.Logger
	// ClientPrincipal, if set, is presented to HTTP functions as App
	// Service Authentication would (X-MS-CLIENT-PRINCIPAL…). Callers'
	// own authentication headers are removed either way.
	ClientPrincipal *ClientPrincipal
	// OnPublish, if set, is called with every message accepted on a topic
	// (an entity no function listens on), in order, from the sending
	// goroutine. It must not call back into the Emulator.
	OnPublish func(Delivered)
}

// StderrPrefix starts every handler stderr line written to
// Options.HandlerOutput.
const StderrPrefix = "[stderr] "

func (o Options) validate() error {
	if o.ScriptRoot == "" {
		return &ConfigError{Field: "ScriptRoot", Err: errors.New("required")}
	}
	if o.Clock == nil {
		return &ConfigError{Field: "Clock", Err: errors.New("required")}
	}
	if o.MaxDeliveryCount < 0 || o.MaxConcurrentCalls < 0 || o.DuplicateDetectionWindow < 0 || o.ShutdownGrace < 0 {
		return &ConfigError{Field: "Options", Err: errors.New("negative limits are not allowed")}
	}
	return nil
}

// withDefaults fills zero fields; hostMaxCalls is host.json's
// maxConcurrentCalls (0 when absent).
func (o Options) withDefaults(hostMaxCalls int) Options {
	if o.MaxDeliveryCount == 0 {
		o.MaxDeliveryCount = MaxDeliveryCountDefault
	}
	if o.DuplicateDetectionWindow == 0 {
		o.DuplicateDetectionWindow = DuplicateDetectionWindowDefault
	}
	if o.MaxConcurrentCalls == 0 {
		o.MaxConcurrentCalls = hostMaxCalls
	}
	if o.MaxConcurrentCalls == 0 {
		o.MaxConcurrentCalls = MaxConcurrentCallsDefault
	}
	if o.ShutdownGrace == 0 {
		o.ShutdownGrace = ShutdownGraceDefault
	}
	if o.HandlerOutput == nil {
		o.HandlerOutput = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
