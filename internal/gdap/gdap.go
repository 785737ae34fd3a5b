// Package gdap holds the domain vocabulary of GDAP delegated admin
// relationships shared by the Graph client, the engine, the sweep and the
// simulator: statuses, request actions, the Global Administrator role and the
// rules for which changes each status allows.
package gdap

import (
	"slices"
	"strings"
	"time"
)

// GlobalAdminRoleID is the Entra role template id of Global Administrator.
const GlobalAdminRoleID = "62e90394-69f5-4237-9190-012177145e10"

// Relationship statuses (Graph delegatedAdminRelationshipStatus).
const (
	StatusActivating           = "activating"
	StatusActive               = "active"
	StatusApprovalPending      = "approvalPending"
	StatusApproved             = "approved"
	StatusCreated              = "created"
	StatusExpired              = "expired"
	StatusExpiring             = "expiring"
	StatusTerminated           = "terminated"
	StatusTerminating          = "terminating"
	StatusTerminationRequested = "terminationRequested"
	StatusUnknownFutureValue   = "unknownFutureValue"
)

// Request actions (delegatedAdminRelationshipRequestAction).
const (
	ActionLockForApproval = "lockForApproval"
	ActionApprove         = "approve"
	ActionTerminate       = "terminate"
	ActionReject          = "reject"
)

// Request statuses (delegatedAdminRelationshipRequestStatus).
const (
	RequestCreated   = "created"
	RequestPending   = "pending"
	RequestSucceeded = "succeeded"
	RequestFailed    = "failed"
)

// Long-running operation statuses (longRunningOperationStatus).
const (
	OperationNotStarted = "notStarted"
	OperationRunning    = "running"
	OperationSucceeded  = "succeeded"
	OperationFailed     = "failed"
)

// Auto-extend durations. Graph accepts P0D and PT0S for "off" and P180D for "on".
const (
	AutoExtendOff = "PT0S"
	AutoExtendOn  = "P180D"
)

// Customer identifies the customer tenant of a relationship.
type Customer struct {
	TenantID    string
	DisplayName string
}

// Relationship is a delegatedAdminRelationship as gdapflow sees it.
type Relationship struct {
	ID                 string
	DisplayName        string
	Status             string
	Customer           Customer
	Duration           string
	AutoExtendDuration string
	UnifiedRoles       []string
	CreatedDateTime    time.Time
	LastModified       time.Time
	// ActivatedDateTime and EndDateTime are zero until activation.
	ActivatedDateTime time.Time
	EndDateTime       time.Time
	// ETag is the @odata.etag, used as If-Match.
	ETag string
	// Reseller fields (resellerDelegatedAdminRelationship).
	IsReseller               bool
	IndirectProviderTenantID string
	IsPartnerConsentPending  bool
}

// HasGlobalAdmin reports whether the relationship's roles include Global Administrator.
func (r Relationship) HasGlobalAdmin() bool { return HasRole(r.UnifiedRoles, GlobalAdminRoleID) }

// AutoExtendEnabled reports whether autoExtendDuration is P180D.
func (r Relationship) AutoExtendEnabled() bool { return IsAutoExtendOn(r.AutoExtendDuration) }

// HasRole reports whether roles contains id (case-insensitive).
func HasRole(roles []string, id string) bool {
	return slices.ContainsFunc(roles, func(r string) bool { return strings.EqualFold(r, id) })
}

// WithoutRole returns roles minus id, keeping order.
func WithoutRole(roles []string, id string) []string {
	out := make([]string, 0, len(roles))
	for _, r := range roles {
		if !strings.EqualFold(r, id) {
			out = append(out, r)
		}
	}
	return out
}

// IsAutoExtendOn reports whether an autoExtendDuration value means 180 days.
func IsAutoExtendOn(d string) bool { return strings.EqualFold(d, AutoExtendOn) }

// Request is a delegatedAdminRelationshipRequest.
type Request struct {
	ID              string
	Action          string
	Status          string
	CreatedDateTime time.Time
	LastModified    time.Time
}

// Operation is a delegatedAdminRelationshipOperation (the 202 LRO).
type Operation struct {
	ID              string
	OperationType   string
	Status          string
	Data            string
	CreatedDateTime time.Time
	LastModified    time.Time
}

// Changes is a partial update of a relationship. Nil fields are unchanged.
type Changes struct {
	DisplayName        *string
	Duration           *string
	AutoExtendDuration *string
	Customer           *Customer
	// UnifiedRoles replaces accessDetails.unifiedRoles when non-nil.
	UnifiedRoles []string
}

// Fields lists the names of the contract fields the change sets.
func (c Changes) Fields() []string {
	var f []string
	if c.DisplayName != nil {
		f = append(f, "displayName")
	}
	if c.Duration != nil {
		f = append(f, "duration")
	}
	if c.AutoExtendDuration != nil {
		f = append(f, "autoExtendDuration")
	}
	if c.Customer != nil {
		f = append(f, "customer")
	}
	if c.UnifiedRoles != nil {
		f = append(f, "accessDetails")
	}
	return f
}

// IsTerminal reports whether a relationship status can no longer change.
func IsTerminal(status string) bool {
	return status == StatusExpired || status == StatusTerminated
}

// IsEnded reports whether the relationship has ended or is ending.
func IsEnded(status string) bool {
	switch status {
	case StatusExpired, StatusTerminated, StatusExpiring, StatusTerminating, StatusTerminationRequested:
		return true
	}
	return false
}
