package engine

import (
	"time"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// Result is what a succeeded operation reports (the event's data.result).
type Result struct {
	Relationship  *RelationshipResult `json:"relationship,omitempty"`
	RequestID     string              `json:"requestId,omitempty"`
	RequestStatus string              `json:"requestStatus,omitempty"`
	// SweepID names the sweep a gdap.sweep.run waited for.
	SweepID     string `json:"sweepId,omitempty"`
	AlreadyDone bool   `json:"alreadyDone"`
}

// RelationshipResult is the final state of a relationship.
type RelationshipResult struct {
	ID                 string    `json:"id"`
	DisplayName        string    `json:"displayName"`
	Status             string    `json:"status"`
	EndDateTime        time.Time `json:"endDateTime,omitzero"`
	AutoExtendDuration string    `json:"autoExtendDuration"`
	UnifiedRoles       []string  `json:"unifiedRoles"`
	ETag               string    `json:"etag"`
}

func relationshipResult(rel gdap.Relationship) *RelationshipResult {
	roles := rel.UnifiedRoles
	if roles == nil {
		roles = []string{}
	}
	return &RelationshipResult{
		ID: rel.ID, DisplayName: rel.DisplayName, Status: rel.Status, EndDateTime: rel.EndDateTime,
		AutoExtendDuration: rel.AutoExtendDuration, UnifiedRoles: roles, ETag: rel.ETag,
	}
}
