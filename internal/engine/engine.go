package engine

import (
	"context"
	"time"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/graphapi"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/partnercenter"
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

	CreateRelationship(ctx context.Context, nr gdap.NewRelationship) (gdap.Relationship, error)
	FindRelationshipsByName(ctx context.Context, displayName string) ([]gdap.Relationship, error)
	ListCustomerRelationships(ctx context.Context, customerTenantID string) ([]gdap.Relationship, error)
	DeleteRelationship(ctx context.Context, id, ifMatch string) error
	ListAccessAssignments(ctx context.Context, relationshipID string) ([]gdap.AccessAssignment, error)
	CreateAccessAssignment(ctx context.Context, relationshipID, securityGroupID string, roles []string) (gdap.AccessAssignment, error)
	PatchAccessAssignment(ctx context.Context, relationshipID, assignmentID, ifMatch string, roles []string) (graphapi.AssignmentPatchResult, error)
	DeleteAccessAssignment(ctx context.Context, relationshipID, assignmentID, ifMatch string) error
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

// sweeper is the expiry sweep (internal/sweep). The gdap.sweep.run workflow
// starts or joins a sweep and then polls its status; sweep continuations are
// handed to it as they arrive.
type sweeper interface {
	// Start begins the sweep sweepID, or joins the one already running; it
	// returns the id of the sweep that runs.
	Start(ctx context.Context, inv op.Invocation, sweepID string) (string, error)
	// Status reports whether the sweep sweepID has ended, and how.
	Status(ctx context.Context, sweepID string) (op.SweepStatus, error)
	// Continue runs the next slice of a sweep; payload is
	// op.Continuation.Sweep.
	Continue(ctx context.Context, inv op.Invocation, payload []byte) error
}

// Options configure an Engine. Ledger, Graph, Sender and the entity names
// are required; the other fields have defaults.
type Options struct {
	// Ledger is the operation ledger.
	Ledger ledgerStore
	// Graph is Microsoft Graph.
	Graph graphClient
	// PartnerCenter is nil when App+User credentials are not configured
	// (gdap.dap.remove then fails unauthorized).
	PartnerCenter partnerCenter
	// Sender sends continuations and events.
	Sender sender
	// Sweeper is nil when the expiry sweep is not configured
	// (gdap.sweep.run then fails unsupported_command).
	Sweeper sweeper

	// CommandsQueue, ContinuationsQueue and EventsTopic are entity names.
	CommandsQueue      string
	ContinuationsQueue string
	EventsTopic        string
	// EventSource is the CloudEvents source of outcome events. Default
	// config.DefaultEventSource.
	EventSource string

	// RetryMaxAttempts bounds transient-failure retries of one step.
	// Default config.DefaultRetryMaxAttempts.
	RetryMaxAttempts int
	// OperationDeadline fails operations unfinished after it. Default
	// config.DefaultOperationDeadline.
	OperationDeadline time.Duration
	// LeaseDuration is how long a claim on an operation is honoured; it
	// should equal the invocation timeout. Default
	// config.DefaultInvocationTimeout.
	LeaseDuration time.Duration
	// DueIndex, when set, is kept up to date for the reaper (dueindex.go).
	// Nil: no index.
	DueIndex dueIndex
	// FollowUpPoll is the longest gap between two checks of an operation
	// waiting for a customer's approval that nothing else wakes
	// (GDAP_FOLLOWUP_POLL). Default config.DefaultFollowUpPoll.
	FollowUpPoll time.Duration
	// Protected reports whether a customer tenant is protected by policy;
	// for "" (a customer that cannot be determined) it reports whether any
	// customer is, so that the guard fails closed (config.Config.IsProtected).
	// Default: none is.
	Protected func(tenantID string) bool
}

// Engine executes commands and continuations. It is safe for concurrent use.
type Engine struct {
	opts Options
}

// New returns an Engine.
func New(opts Options) *Engine {
	if opts.RetryMaxAttempts <= 0 {
		opts.RetryMaxAttempts = config.DefaultRetryMaxAttempts
	}
	if opts.OperationDeadline <= 0 {
		opts.OperationDeadline = config.DefaultOperationDeadline
	}
	if opts.LeaseDuration <= 0 {
		opts.LeaseDuration = config.DefaultInvocationTimeout
	}
	if opts.FollowUpPoll <= 0 {
		opts.FollowUpPoll = config.DefaultFollowUpPoll
	}
	if opts.EventSource == "" {
		opts.EventSource = config.DefaultEventSource
	}
	if opts.Protected == nil {
		opts.Protected = func(string) bool { return false }
	}
	return &Engine{opts: opts}
}
