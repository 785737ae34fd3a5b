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
	// AlreadyDone is true when the goal already held and nothing was written.
	AlreadyDone bool `json:"alreadyDone"`
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
