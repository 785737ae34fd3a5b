// Package ledger is gdapflow's operation ledger: one Table Storage entity per
// operation id holding the command, its workflow state and its outcome. The
// engine uses it for idempotency (an id is executed at most once per content
// hash) and to resume long-running operations from continuation messages.
// Writes use optimistic concurrency: every Update carries the ETag of the
// last read or write. See docs/ledger.md for the table design.
//
// HasCode, IsEntityNotFound and IsConditionFailed classify Table Storage
// errors the same way for every gdapflow table (the sweep's too).
package ledger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/op"
)

// State is the state of an operation in the ledger.
type State string

// Operation states.
const (
	// StateAccepted: recorded, not yet executed.
	StateAccepted State = "accepted"
	// StateRunning: a step is executing under the record's lease.
	StateRunning State = "running"
	// StateWaiting: waiting for a continuation (poll, retry, back-off).
	StateWaiting State = "waiting"
	// StateSucceeded: finished successfully (terminal).
	StateSucceeded State = "succeeded"
	// StateFailed: finished with an error (terminal).
	StateFailed State = "failed"
)

// States returns every state, in lifecycle order.
func States() []State {
	return []State{StateAccepted, StateRunning, StateWaiting, StateSucceeded, StateFailed}
}

// Terminal reports whether s is a final state.
func (s State) Terminal() bool { return s == StateSucceeded || s == StateFailed }

// Sentinel errors, usable with errors.Is.
var (
	// ErrExists: Create found a record with the same operation id.
	ErrExists = errors.New("ledger: operation already recorded")
	// ErrNotFound: no record for the operation id.
	ErrNotFound = errors.New("ledger: operation not found")
	// ErrConflict: Update lost an optimistic-concurrency race (the record
	// changed since its ETag was read). Re-read and decide again.
	ErrConflict = errors.New("ledger: record changed concurrently")
	// ErrInvalid: the record cannot be stored as given (bad operation id,
	// unknown state, missing ETag on Update, invalid UTF-8, out-of-range
	// number or time).
	ErrInvalid = errors.New("ledger: invalid record")
	// ErrTooLarge: the record exceeds a Table Storage size limit; the error
	// is a *LimitError.
	ErrTooLarge = errors.New("ledger: record too large")
)

// LimitError reports a value beyond a Table Storage limit. It matches
// ErrTooLarge with errors.Is.
type LimitError struct {
	// Field is the Record field (or "entity" for the whole record).
	Field string
	// Size and Limit are in the unit of the limit: UTF-16 code units for
	// strings, bytes otherwise.
	Size, Limit int
}

// Error implements error.
func (e *LimitError) Error() string {
	return fmt.Sprintf("ledger: %s is %d, over the Table Storage limit of %d", e.Field, e.Size, e.Limit)
}

// Unwrap makes errors.Is(err, ErrTooLarge) true.
func (e *LimitError) Unwrap() error { return ErrTooLarge }

// Record is the ledger entry of one operation. It holds no tokens or
// secrets. Times are stored in UTC with 100 ns precision (Create and Update
// normalize the record's times accordingly); zero times and empty byte
// slices are stored as absent and read back as zero and nil.
type Record struct {
	// OperationID is the command's CloudEvents id (or the sweep id): the key.
	OperationID string
	// CommandType is the CloudEvents type.
	CommandType string
	// Source is the CloudEvents source.
	Source string
	// TargetID is the relationship id or customer tenant id.
	TargetID string
	// ContentHash identifies the command content; a redelivery with the
	// same id and hash is the same command.
	ContentHash string
	// State is the operation's state.
	State State
	// Step is the current workflow step, engine-defined.
	Step string
	// StepAttempt counts transient retries of the current step.
	StepAttempt int
	// Attempts counts executions so far.
	Attempts int
	// WakeID is the id of the continuation currently allowed to resume the
	// operation ("" = none); stale continuations carry another id.
	WakeID string
	// WakeAt is when that continuation is due.
	WakeAt time.Time
	// AcceptedAt, UpdatedAt and FinishedAt are engine-maintained times.
	AcceptedAt, UpdatedAt, FinishedAt time.Time
	// Command is the command's data JSON.
	Command []byte
	// Workflow is engine-owned JSON state (operation URL, request id, etags).
	Workflow []byte
	// Result is the outcome's result: the JSON of an op.Result.
	Result []byte
	// LastError is the operation's failure, nil when none.
	LastError *op.Failure
	// OutcomePublished is true once the outcome event was sent.
	OutcomePublished bool
	// ETag is the entity's ETag from the last Create, Get or Update.
	ETag azcore.ETag
}

// IsTerminal reports whether the operation has finished.
func (r *Record) IsTerminal() bool { return r.State.Terminal() }

// Store reads and writes ledger records in one table.
type Store struct {
	client *aztables.Client
	// failures is the failure index's table (failures.go); nil: none.
	failures *aztables.Client
}

// New returns a Store on the ledger table behind client.
func New(client *aztables.Client) *Store {
	return &Store{client: client}
}

// EnsureTable creates the ledger table if it does not exist.
func (s *Store) EnsureTable(ctx context.Context) error {
	for _, c := range []*aztables.Client{s.client, s.failures} {
		if c == nil {
			continue
		}
		if _, err := c.CreateTable(ctx, nil); err != nil && !HasCode(err, aztables.TableAlreadyExists) {
			return fmt.Errorf("ledger: create table: %w", err)
		}
	}
	return nil
}

// noEcho asks Table Storage to answer an insert with 204 and the ETag only,
// instead of 201 with the whole entity echoed back: the ledger has the
// record already, and the echo costs the service a response to serialize
// and the handler one to parse.
var noEcho = http.Header{"Prefer": []string{"return-no-content"}}

// Create inserts r. It fails with ErrExists if the operation id is already
// recorded (the service may also report that when a retried insert had in
// fact succeeded: compare the stored ContentHash). On success r.ETag is set.
func (s *Store) Create(ctx context.Context, r *Record) error {
	body, err := marshal(r)
	if err != nil {
		return err
	}
	if err := s.recordFailure(ctx, r); err != nil {
		return err
	}
	resp, err := s.client.AddEntity(runtime.WithHTTPHeader(ctx, noEcho), body, nil)
	if err != nil {
		if HasCode(err, aztables.EntityAlreadyExists) {
			return fmt.Errorf("ledger: create %q: %w", r.OperationID, ErrExists)
		}
		return fmt.Errorf("ledger: create %q: %w", r.OperationID, err)
	}
	r.ETag = resp.ETag
	return nil
}

// Get reads the record of operationID, or fails with ErrNotFound.
func (s *Store) Get(ctx context.Context, operationID string) (*Record, error) {
	if err := checkKey(operationID); err != nil {
		return nil, err
	}
	resp, err := s.client.GetEntity(ctx, operationID, rowKeyOf(operationID), nil)
	if err != nil {
		if IsEntityNotFound(err) {
			return nil, fmt.Errorf("ledger: get %q: %w", operationID, ErrNotFound)
		}
		return nil, fmt.Errorf("ledger: get %q: %w", operationID, err)
	}
	r, err := unmarshal(resp.Value)
	if err != nil {
		return nil, fmt.Errorf("ledger: get %q: %w", operationID, err)
	}
	r.ETag = resp.ETag
	return r, nil
}

// Update replaces the stored record with r if it has not changed since
// r.ETag was obtained; otherwise it fails with ErrConflict (412,
// UpdateConditionNotSatisfied), or ErrNotFound if the record is gone. On
// success r.ETag is the new ETag. An empty r.ETag is ErrInvalid: the ledger
// never overwrites unconditionally.
func (s *Store) Update(ctx context.Context, r *Record) error {
	if r.ETag == "" {
		return fmt.Errorf("%w: update %q without an ETag", ErrInvalid, r.OperationID)
	}
	body, err := marshal(r)
	if err != nil {
		return err
	}
	if err := s.recordFailure(ctx, r); err != nil {
		return err
	}
	etag := r.ETag
	resp, err := s.client.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{
		IfMatch:    &etag,
		UpdateMode: aztables.UpdateModeReplace,
	})
	if err != nil {
		switch {
		case IsConditionFailed(err):
			return fmt.Errorf("ledger: update %q: %w", r.OperationID, ErrConflict)
		case IsEntityNotFound(err):
			return fmt.Errorf("ledger: update %q: %w", r.OperationID, ErrNotFound)
		}
		return fmt.Errorf("ledger: update %q: %w", r.OperationID, err)
	}
	r.ETag = resp.ETag
	return nil
}

// HasCode reports whether err is a Table Storage error with code (for
// example aztables.TableAlreadyExists from CreateTable).
func HasCode(err error, code aztables.TableErrorCode) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.ErrorCode == string(code)
}

func statusIs(err error, status int) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == status
}

// IsEntityNotFound reports a 404 for an entity. A 404 for the table
// (TableNotFound: EnsureTable was not called) is a configuration error, not
// a missing entity, and does not match.
func IsEntityNotFound(err error) bool {
	return statusIs(err, http.StatusNotFound) && !HasCode(err, aztables.TableNotFound)
}

// IsUnavailable reports whether err is a Table Storage failure that a later
// attempt may not meet: no response at all (a transport failure or a
// timeout), 408, 429 or a 5xx. A conflict, a missing record or table, a
// record that cannot be stored and an entity that cannot be read are not:
// retrying them changes nothing.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode == http.StatusRequestTimeout || re.StatusCode == http.StatusTooManyRequests ||
			re.StatusCode >= http.StatusInternalServerError
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF)
}

// IsConditionFailed reports that a conditional write lost an optimistic
// concurrency race: its If-Match ETag no longer matched (412,
// UpdateConditionNotSatisfied). Re-read and decide again.
func IsConditionFailed(err error) bool {
	return HasCode(err, aztables.UpdateConditionNotSatisfied) || statusIs(err, http.StatusPreconditionFailed)
}
