// Package event builds gdapflow's outcome and sweep events (docs/contract.md §3):
// CloudEvents 1.0 in JSON structured mode, built with the CloudEvents SDK and
// returned as bus.Messages whose MessageID is the event id. Ids are
// deterministic per outcome, so a republished event is dropped by Service
// Bus duplicate detection; event times come from the caller's clock.
//
// Error codes are op.Code values; the failure and result shapes are
// op.Failure and op.Result, the ones the ledger records.
package event

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/op"
)

// Event types.
const (
	TypeOperationSucceeded    = "gdap.operation.succeeded"
	TypeOperationFailed       = "gdap.operation.failed"
	TypeRelationshipExpiring  = "gdap.relationship.expiring"
	TypeRelationshipEnded     = "gdap.relationship.ended"
	TypeApprovalPending       = "gdap.relationship.approvalPending"
	TypeCommandRejected       = "gdap.command.rejected"
	TypeSweepCompleted        = "gdap.sweep.completed"
	TypeRelationshipActivated = "gdap.relationship.activated"
)

// Types returns every event type.
func Types() []string {
	return []string{TypeOperationSucceeded, TypeOperationFailed, TypeRelationshipExpiring,
		TypeRelationshipEnded, TypeApprovalPending, TypeCommandRejected, TypeSweepCompleted, TypeRelationshipActivated}
}

// DefaultSource is the event source when GDAP_EVENT_SOURCE is not set.
const DefaultSource = config.DefaultEventSource

// ContentType is the Service Bus ContentType of every event.
const ContentType = "application/cloudevents+json; charset=utf-8"

// MaxIDLength bounds event ids (and so Service Bus MessageIds, max 128).
const MaxIDLength = 128

// Builder builds events with one source. The zero value uses DefaultSource.
type Builder struct {
	// Source is the CloudEvents source attribute (GDAP_EVENT_SOURCE).
	Source string
}

// NewBuilder returns a Builder for source ("" means DefaultSource).
func NewBuilder(source string) *Builder { return &Builder{Source: source} }

// RejectionError is the error of gdap.command.rejected.
type RejectionError struct {
	Code    op.Code `json:"code"`
	Message string  `json:"message"`
	// Field is the JSON path of the offending attribute (e.g. "id") when the
	// envelope was refused for one attribute; the Message then starts with it.
	Field string `json:"field,omitempty"`
}

// Operation identifies an operation in both outcome events; its fields
// appear at the top level of the event data.
type Operation struct {
	OperationID      string    `json:"operationId"`
	CommandType      string    `json:"commandType"`
	RelationshipID   string    `json:"relationshipId,omitempty"`
	CustomerTenantID string    `json:"customerTenantId,omitempty"`
	Attempts         int       `json:"attempts"`
	AcceptedAt       time.Time `json:"acceptedAt"`
	FinishedAt       time.Time `json:"finishedAt"`
}

// OperationSucceeded is the data of gdap.operation.succeeded.
type OperationSucceeded struct {
	Operation
	Result op.Result `json:"result"`
}

// OperationFailed is the data of gdap.operation.failed.
type OperationFailed struct {
	Operation
	Error op.Failure `json:"error"`
}

// RelationshipExpiring is the data of gdap.relationship.expiring.
type RelationshipExpiring struct {
	RelationshipID      string    `json:"relationshipId"`
	DisplayName         string    `json:"displayName"`
	CustomerTenantID    string    `json:"customerTenantId"`
	CustomerDisplayName string    `json:"customerDisplayName"`
	Status              string    `json:"status"`
	EndDateTime         time.Time `json:"endDateTime"`
	DaysRemaining       int       `json:"daysRemaining"`
	ThresholdDays       int       `json:"thresholdDays"`
	AutoExtendDuration  string    `json:"autoExtendDuration"`
	HasGlobalAdmin      bool      `json:"hasGlobalAdmin"`
	// Protected is true for a customer in GDAP_PROTECTED_CUSTOMERS
	// (docs/contract.md §6.4).
	Protected bool `json:"protected"`
}

// RelationshipEnded is the data of gdap.relationship.ended.
type RelationshipEnded struct {
	RelationshipID   string `json:"relationshipId"`
	DisplayName      string `json:"displayName"`
	CustomerTenantID string `json:"customerTenantId"`
	// Status is gdap.StatusExpired or gdap.StatusTerminated.
	Status string `json:"status"`
	// EndDateTime is null if Graph reported none.
	EndDateTime *time.Time `json:"endDateTime"`
}

// RelationshipActivated is the data of gdap.relationship.activated
// (docs/contract.md §6.2).
type RelationshipActivated struct {
	RelationshipID      string    `json:"relationshipId"`
	DisplayName         string    `json:"displayName"`
	CustomerTenantID    string    `json:"customerTenantId"`
	CustomerDisplayName string    `json:"customerDisplayName"`
	ActivatedDateTime   time.Time `json:"activatedDateTime"`
	EndDateTime         time.Time `json:"endDateTime"`
	// UnifiedRoles are role definition ids; never null.
	UnifiedRoles []string `json:"unifiedRoles"`
}

// ApprovalPending is the data of gdap.relationship.approvalPending.
type ApprovalPending struct {
	RelationshipID          string    `json:"relationshipId"`
	DisplayName             string    `json:"displayName"`
	CreatedDateTime         time.Time `json:"createdDateTime"`
	DaysPending             int       `json:"daysPending"`
	ApprovalExpiresDateTime time.Time `json:"approvalExpiresDateTime"`
}

// CommandRejected is the data of gdap.command.rejected.
type CommandRejected struct {
	// OperationID is the CloudEvent id, or the Service Bus MessageId when there is none.
	OperationID string         `json:"operationId"`
	MessageID   string         `json:"messageId"`
	Error       RejectionError `json:"error"`
}

// SweepCompleted is the data of gdap.sweep.completed.
type SweepCompleted struct {
	SweepID        string         `json:"sweepId"`
	StartedAt      time.Time      `json:"startedAt"`
	FinishedAt     time.Time      `json:"finishedAt"`
	Relationships  int            `json:"relationships"`
	CountsByStatus map[string]int `json:"countsByStatus"`
	Expiring       int            `json:"expiring"`
	Pages          int            `json:"pages"`
	Invocations    int            `json:"invocations"`
}

// OperationSucceeded builds gdap.operation.succeeded with id
// "<operationId>.succeeded", correlated with the operation id.
func (b *Builder) OperationSucceeded(at time.Time, d OperationSucceeded) (bus.Message, error) {
	if d.Result.Relationship != nil && d.Result.Relationship.UnifiedRoles == nil {
		r := *d.Result.Relationship
		r.UnifiedRoles = []string{}
		d.Result.Relationship = &r
	}
	d.AcceptedAt, d.FinishedAt = d.AcceptedAt.UTC(), d.FinishedAt.UTC()
	return b.build(TypeOperationSucceeded, OperationSucceededID(d.OperationID), d.OperationID,
		firstNonEmpty(d.RelationshipID, d.CustomerTenantID), at, d)
}

// OperationFailed builds gdap.operation.failed with id
// "<operationId>.failed", correlated with the operation id.
func (b *Builder) OperationFailed(at time.Time, d OperationFailed) (bus.Message, error) {
	if d.Error.Code == "" {
		return bus.Message{}, fmt.Errorf("event: %s: error code is required", TypeOperationFailed)
	}
	d.AcceptedAt, d.FinishedAt = d.AcceptedAt.UTC(), d.FinishedAt.UTC()
	return b.build(TypeOperationFailed, OperationFailedID(d.OperationID), d.OperationID,
		firstNonEmpty(d.RelationshipID, d.CustomerTenantID), at, d)
}

// RelationshipExpiring builds gdap.relationship.expiring with id
// "expiring.<relationshipId>.<endDate yyyymmdd>.<thresholdDays>" (one per
// relationship, end date and threshold), correlated with sweepID.
func (b *Builder) RelationshipExpiring(at time.Time, sweepID string, d RelationshipExpiring) (bus.Message, error) {
	d.EndDateTime = d.EndDateTime.UTC()
	id := BoundID(fmt.Sprintf("expiring.%s.%s.%d", d.RelationshipID, d.EndDateTime.Format("20060102"), d.ThresholdDays))
	return b.build(TypeRelationshipExpiring, id, sweepID, d.RelationshipID, at, d)
}

// RelationshipEnded builds gdap.relationship.ended with id
// "ended.<relationshipId>.<status>", correlated with sweepID.
func (b *Builder) RelationshipEnded(at time.Time, sweepID string, d RelationshipEnded) (bus.Message, error) {
	if d.EndDateTime != nil {
		t := d.EndDateTime.UTC()
		d.EndDateTime = &t
	}
	id := BoundID("ended." + d.RelationshipID + "." + d.Status)
	return b.build(TypeRelationshipEnded, id, sweepID, d.RelationshipID, at, d)
}

// ApprovalPending builds gdap.relationship.approvalPending with id
// "approvalPending.<relationshipId>", correlated with sweepID.
func (b *Builder) ApprovalPending(at time.Time, sweepID string, d ApprovalPending) (bus.Message, error) {
	d.CreatedDateTime, d.ApprovalExpiresDateTime = d.CreatedDateTime.UTC(), d.ApprovalExpiresDateTime.UTC()
	return b.build(TypeApprovalPending, BoundID("approvalPending."+d.RelationshipID), sweepID, d.RelationshipID, at, d)
}

// RelationshipActivated builds gdap.relationship.activated with id
// "activated.<relationshipId>", correlated with sweepID.
func (b *Builder) RelationshipActivated(at time.Time, sweepID string, d RelationshipActivated) (bus.Message, error) {
	d.ActivatedDateTime, d.EndDateTime = d.ActivatedDateTime.UTC(), d.EndDateTime.UTC()
	if d.UnifiedRoles == nil {
		d.UnifiedRoles = []string{}
	}
	return b.build(TypeRelationshipActivated, BoundID("activated."+d.RelationshipID), sweepID, d.RelationshipID, at, d)
}

// CommandRejected builds gdap.command.rejected with id
// "rejected.<messageId>.<first 16 hex of SHA-256(body)>", correlated with
// d.OperationID. body is the rejected message body: a redelivery of the same
// body yields the same id, a different body reusing the id yields another.
func (b *Builder) CommandRejected(at time.Time, d CommandRejected, body []byte) (bus.Message, error) {
	sum := sha256.Sum256(body)
	id := BoundID("rejected." + d.MessageID + "." + hex.EncodeToString(sum[:8]))
	return b.build(TypeCommandRejected, id, d.OperationID, "", at, d)
}

// SweepCompleted builds gdap.sweep.completed with id
// "sweep.<sweepId>.completed", correlated with the sweep id.
func (b *Builder) SweepCompleted(at time.Time, d SweepCompleted) (bus.Message, error) {
	if d.CountsByStatus == nil {
		d.CountsByStatus = map[string]int{}
	}
	d.StartedAt, d.FinishedAt = d.StartedAt.UTC(), d.FinishedAt.UTC()
	return b.build(TypeSweepCompleted, BoundID("sweep."+d.SweepID+".completed"), d.SweepID, "", at, d)
}

// OperationSucceededID returns the event id of an operation's success.
func OperationSucceededID(operationID string) string { return BoundID(operationID + ".succeeded") }

// OperationFailedID returns the event id of an operation's failure.
func OperationFailedID(operationID string) string { return BoundID(operationID + ".failed") }

// BoundID makes s a valid event id: characters outside [A-Za-z0-9._:-] become
// '_', and an id longer than MaxIDLength keeps its first 111 characters
// followed by '.' and the first 16 hex digits of SHA-256(s), so distinct long
// ids stay distinct.
func BoundID(s string) string {
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == ':', r == '-':
			return r
		}
		return '_'
	}, s)
	if clean == s && len(s) <= MaxIDLength && s != "" {
		return s
	}
	// Sanitised, empty or too long: append a hash of the original so that
	// distinct inputs keep distinct ids.
	sum := sha256.Sum256([]byte(s))
	suffix := "." + hex.EncodeToString(sum[:8])
	if len(clean)+len(suffix) > MaxIDLength {
		clean = clean[:MaxIDLength-len(suffix)]
	}
	return clean + suffix
}

// build assembles the CloudEvent with the SDK and wraps it in a bus.Message.
func (b *Builder) build(typ, id, correlationID, subject string, at time.Time, data any) (bus.Message, error) {
	if at.IsZero() {
		return bus.Message{}, fmt.Errorf("event: %s: time is required", typ)
	}
	source := DefaultSource
	if b != nil && b.Source != "" {
		source = b.Source
	}
	e := ce.New(ce.CloudEventsVersionV1)
	e.SetID(id)
	e.SetSource(source)
	e.SetType(typ)
	e.SetTime(at.UTC())
	if subject != "" {
		e.SetSubject(subject)
	}
	if err := e.SetData(ce.ApplicationJSON, data); err != nil {
		return bus.Message{}, fmt.Errorf("event: %s: encode data: %w", typ, err)
	}
	if err := e.Validate(); err != nil {
		return bus.Message{}, fmt.Errorf("event: %s: %w", typ, err)
	}
	body, err := e.MarshalJSON()
	if err != nil {
		return bus.Message{}, fmt.Errorf("event: %s: encode: %w", typ, err)
	}
	return bus.Message{
		MessageID:     id,
		CorrelationID: correlationID,
		Subject:       typ,
		ContentType:   ContentType,
		Body:          body,
	}, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
