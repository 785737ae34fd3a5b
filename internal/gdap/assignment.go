package gdap

import (
	"net/url"
	"time"
)

// Access assignment statuses (delegatedAdminAccessAssignmentStatus).
const (
	AssignmentPending  = "pending"
	AssignmentActive   = "active"
	AssignmentDeleting = "deleting"
	AssignmentDeleted  = "deleted"
	AssignmentError    = "error"
)

// AccessAssignment is a delegatedAdminAccessAssignment (security group ↔ roles).
type AccessAssignment struct {
	ID              string
	SecurityGroupID string   // accessContainer.accessContainerId (securityGroup)
	Roles           []string // accessDetails.unifiedRoles[].roleDefinitionId
	Status          string
	CreatedDateTime time.Time
	LastModified    time.Time
	// ETag is the @odata.etag, used as If-Match.
	ETag string
}

// IsAssignmentSettled reports whether an access assignment status no longer
// changes by itself (active, deleted or error).
func IsAssignmentSettled(status string) bool {
	return status == AssignmentActive || status == AssignmentDeleted || status == AssignmentError
}

// NewRelationship is the body of a relationship creation.
type NewRelationship struct {
	DisplayName        string
	Duration           string    // ISO 8601, e.g. P730D
	AutoExtendDuration string    // "" (Graph default PT0S), PT0S or P180D
	Customer           *Customer // nil: an open invitation
	UnifiedRoles       []string
}

// invitationBase is the Microsoft 365 admin center page where a customer's
// admin approves a GDAP relationship (docs/platform/graph-facts.md §1.3).
const invitationBase = "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/granularAdminRelationships/"

// InvitationURL returns the link a customer's admin opens to approve relationship id.
func InvitationURL(id string) string { return invitationBase + url.PathEscape(id) }
