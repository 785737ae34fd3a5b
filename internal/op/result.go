package op

import (
	"time"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// Result is the one result shape: what a succeeded operation reports, as the
// ledger records it and gdap.operation.succeeded publishes it (data.result).
type Result struct {
	// Relationship is set for relationship commands.
	Relationship *Relationship `json:"relationship,omitempty"`
	// RequestID and RequestStatus are set for gdap.relationship.request.
	RequestID     string `json:"requestId,omitempty"`
	RequestStatus string `json:"requestStatus,omitempty"`
	// SweepID names the sweep a gdap.sweep.run waited for (an extension of
	// the contract).
	SweepID string `json:"sweepId,omitempty"`
	// InvitationURL is the link the customer's admin opens to approve a
	// created relationship (gdap.relationship.create).
	InvitationURL string `json:"invitationUrl,omitempty"`
	// FollowUpOperationID names the follow-up operation that waits for the
	// customer's approval and then applies access assignments (contract §6.1).
	FollowUpOperationID string `json:"followUpOperationId,omitempty"`
	// Assignments are the per-group results of
	// gdap.relationship.accessAssignments.set.
	Assignments []Assignment `json:"assignments,omitempty"`
	// Relationships are what gdap.customer.offboard did to each of the
	// customer's relationships.
	Relationships []OffboardedRelationship `json:"relationships,omitempty"`
	// ReplacedRelationship is the relationship the follow-up of
	// gdap.relationship.replace terminated.
	ReplacedRelationship *ReplacedRelationship `json:"replacedRelationship,omitempty"`
	// DapRemoved is set by gdap.customer.offboard with removeDap.
	DapRemoved *bool `json:"dapRemoved,omitempty"`
	// AlreadyDone is true when the goal already held and nothing was written.
	AlreadyDone bool `json:"alreadyDone"`
}

// Offboarding actions (OffboardedRelationship.Action).
const (
	OffboardTerminated = "terminated"
	OffboardDeleted    = "deleted"
	OffboardNone       = "none"
)

// OffboardedRelationship is one relationship of an offboarded customer.
type OffboardedRelationship struct {
	ID             string `json:"id"`
	DisplayName    string `json:"displayName"`
	PreviousStatus string `json:"previousStatus"`
	// Action is OffboardTerminated, OffboardDeleted or OffboardNone.
	Action string `json:"action"`
	// Status is the relationship's status at the end ("deleted" once gone).
	Status string `json:"status"`
}

// Assignment actions (Assignment.Action).
const (
	AssignmentCreated   = "created"
	AssignmentUpdated   = "updated"
	AssignmentDeleted   = "deleted"
	AssignmentUnchanged = "unchanged"
	// AssignmentSkipped: copied from another relationship, the group has
	// none of this relationship's roles, so it is not assigned.
	AssignmentSkipped = "skipped"
)

// ReplacedRelationship names a relationship a replacement ended.
type ReplacedRelationship struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// Assignment is one security group's access assignment as
// gdap.relationship.accessAssignments.set left it.
type Assignment struct {
	SecurityGroupID    string `json:"securityGroupId"`
	AccessAssignmentID string `json:"accessAssignmentId"`
	// Roles are role definition ids; never null.
	Roles  []string `json:"roles"`
	Status string   `json:"status"`
	// Action is AssignmentCreated, AssignmentUpdated, AssignmentDeleted or
	// AssignmentUnchanged.
	Action string `json:"action"`
}

// Relationship is the final state of a relationship reported in a Result.
type Relationship struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Status      string `json:"status"`
	// EndDateTime is null until the relationship is activated.
	EndDateTime        *time.Time `json:"endDateTime"`
	AutoExtendDuration string     `json:"autoExtendDuration"`
	// UnifiedRoles are role definition ids; never null.
	UnifiedRoles []string `json:"unifiedRoles"`
	ETag         string   `json:"etag"`
}

// RelationshipOf reports rel as a Result's relationship.
func RelationshipOf(rel gdap.Relationship) *Relationship {
	roles := rel.UnifiedRoles
	if roles == nil {
		roles = []string{}
	}
	var end *time.Time
	if !rel.EndDateTime.IsZero() {
		t := rel.EndDateTime
		end = &t
	}
	return &Relationship{
		ID: rel.ID, DisplayName: rel.DisplayName, Status: rel.Status, EndDateTime: end,
		AutoExtendDuration: rel.AutoExtendDuration, UnifiedRoles: roles, ETag: rel.ETag,
	}
}
