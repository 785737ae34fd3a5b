package engine

import (
	"context"
	"log/slog"
	"time"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/graphapi"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/partnercenter"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// ledgerStore is the operation ledger (internal/ledger against Table Storage).
type ledgerStore interface {
	Create(ctx context.Context, r *ledger.Record) error
	Get(ctx context.Context, operationID string) (*ledger.Record, error)
	Update(ctx context.Context, r *ledger.Record) error
}

// graphClient is the part of Microsoft Graph the workflows use (internal/graphapi).
type graphClient interface {
	GetRelationship(ctx context.Context, id string) (gdap.Relationship, error)
	PatchRelationship(ctx context.Context, id, ifMatch string, ch gdap.Changes) (graphapi.PatchResult, error)
	CreateRequest(ctx context.Context, relationshipID, action string) (gdap.Request, error)
	GetRequest(ctx context.Context, relationshipID, requestID string) (gdap.Request, error)
	ListRequests(ctx context.Context, relationshipID string) ([]gdap.Request, error)
	GetOperation(ctx context.Context, operationURL string) (gdap.Operation, error)
	ListOperations(ctx context.Context, relationshipID string) ([]gdap.Operation, error)
	OperationURL(relationshipID, operationID string) string
}

// partnerCenter is the Partner Center customer API (internal/partnercenter).
type partnerCenter interface {
	GetCustomer(ctx context.Context, tenantID, correlationID string) (partnercenter.Customer, error)
	DisableDelegatedAccess(ctx context.Context, tenantID, correlationID string) (partnercenter.Customer, error)
}

// sender sends outbound messages (internal/bus: Service Bus or local broker).
type sender interface {
	Send(ctx context.Context, entity string, m bus.Message) error
}

// Sweeper runs the expiry sweep (internal/sweep). The engine hands it the
// sweep's triggers: the timer, gdap.sweep.run commands and sweep continuations.
type Sweeper interface {
	// Start begins a sweep, or joins the one already running. OperationID is
	// the gdap.sweep.run operation to complete when the sweep ends ("" for
	// the timer); the sweeper calls Engine.CompleteOperation for it.
	Start(ctx context.Context, inv Invocation, trigger SweepTrigger) error
	// Continue runs the next slice of a sweep; payload is Continuation.Sweep.
	Continue(ctx context.Context, inv Invocation, payload []byte) error
}

// SweepTrigger says why a sweep starts.
type SweepTrigger struct {
	// SweepID names the sweep if a new one starts.
	SweepID string
	// OperationID is the gdap.sweep.run operation waiting for the sweep, or "".
	OperationID string
}

// Options configure an Engine. Every field without a default is required.
type Options struct {
	Ledger        ledgerStore
	Graph         graphClient
	PartnerCenter partnerCenter // nil when App+User credentials are not configured
	Sender        sender
	Sweeper       Sweeper // nil disables gdap.sweep.run (it then fails unsupported_command)

	CommandsQueue      string
	ContinuationsQueue string
	EventsTopic        string
	EventSource        string

	// RetryMaxAttempts bounds transient-failure retries of one step.
	RetryMaxAttempts int
	// OperationDeadline fails operations unfinished after it.
	OperationDeadline time.Duration
	// LeaseDuration is how long a claim on an operation is honoured; it
	// should equal the invocation timeout.
	LeaseDuration time.Duration
	// Protected reports whether a customer tenant is protected by policy.
	Protected func(tenantID string) bool
}

// Engine executes commands and continuations. It is safe for concurrent use.
type Engine struct {
	opts Options
}

// New returns an Engine.
func New(opts Options) *Engine {
	if opts.RetryMaxAttempts <= 0 {
		opts.RetryMaxAttempts = 8
	}
	if opts.OperationDeadline <= 0 {
		opts.OperationDeadline = 24 * time.Hour
	}
	if opts.LeaseDuration <= 0 {
		opts.LeaseDuration = 5 * time.Minute
	}
	if opts.Protected == nil {
		opts.Protected = func(string) bool { return false }
	}
	return &Engine{opts: opts}
}

// Invocation is the per-invocation context the handler passes in.
type Invocation struct {
	// Clock is "now" for this invocation (the real clock in Azure).
	Clock vclock.Clock
	// Logger is the invocation's child logger.
	Logger *slog.Logger
	// MessageID is the Service Bus MessageId of the trigger message.
	MessageID string
	// DeliveryCount is the trigger message's delivery count.
	DeliveryCount int
	// Function is the function name (commands, continuations, expiry-sweep).
	Function string
}
