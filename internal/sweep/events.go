package sweep

import (
	"time"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/event"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

// Event types published by the sweep (docs/contract.md §3).
const (
	typeExpiring        = event.TypeRelationshipExpiring
	typeEnded           = event.TypeRelationshipEnded
	typeApprovalPending = event.TypeApprovalPending
	typeSweepCompleted  = event.TypeSweepCompleted
)

// The event package gives every announcement a deterministic id (per
// relationship, end date and threshold; per relationship and status; per
// relationship; per sweep), so a re-sent announcement is dropped by the
// broker's duplicate detection.

// expiringEvent builds gdap.relationship.expiring.
func expiringEvent(b *event.Builder, sweepID string, at time.Time, rel gdap.Relationship, n expiringNotice) (bus.Message, error) {
	return b.RelationshipExpiring(at, sweepID, event.RelationshipExpiring{
		RelationshipID: rel.ID, DisplayName: rel.DisplayName,
		CustomerTenantID: rel.Customer.TenantID, CustomerDisplayName: rel.Customer.DisplayName,
		Status: rel.Status, EndDateTime: rel.EndDateTime, DaysRemaining: n.DaysRemaining,
		ThresholdDays: n.ThresholdDays, AutoExtendDuration: autoExtendOf(rel), HasGlobalAdmin: rel.HasGlobalAdmin(),
		Protected: n.Protected,
	})
}

// endedEvent builds gdap.relationship.ended.
func endedEvent(b *event.Builder, sweepID string, at time.Time, rel gdap.Relationship) (bus.Message, error) {
	d := event.RelationshipEnded{
		RelationshipID: rel.ID, DisplayName: rel.DisplayName, CustomerTenantID: rel.Customer.TenantID, Status: rel.Status,
	}
	if !rel.EndDateTime.IsZero() {
		end := rel.EndDateTime
		d.EndDateTime = &end
	}
	return b.RelationshipEnded(at, sweepID, d)
}

// approvalEvent builds gdap.relationship.approvalPending.
func approvalEvent(b *event.Builder, sweepID string, at time.Time, rel gdap.Relationship, n approvalNotice) (bus.Message, error) {
	return b.ApprovalPending(at, sweepID, event.ApprovalPending{
		RelationshipID: rel.ID, DisplayName: rel.DisplayName, CreatedDateTime: rel.CreatedDateTime,
		DaysPending: n.DaysPending, ApprovalExpiresDateTime: n.ExpiresAt,
	})
}

// activatedEvent builds gdap.relationship.activated.
func activatedEvent(b *event.Builder, sweepID string, at time.Time, rel gdap.Relationship) (bus.Message, error) {
	return b.RelationshipActivated(at, sweepID, event.RelationshipActivated{
		RelationshipID: rel.ID, DisplayName: rel.DisplayName,
		CustomerTenantID: rel.Customer.TenantID, CustomerDisplayName: rel.Customer.DisplayName,
		ActivatedDateTime: rel.ActivatedDateTime, EndDateTime: rel.EndDateTime, UnifiedRoles: rel.UnifiedRoles,
	})
}

// wakeMessage builds the continuation that wakes the follow-up operation
// waiting on rel (op.FollowUpID), if there is one, for its current status.
func wakeMessage(rel gdap.Relationship, now time.Time) (bus.Message, error) {
	id := op.FollowUpID(rel.ID)
	return op.NewContinuationMessage(op.Continuation{Kind: op.KindWake, OperationID: id},
		op.MessageID(id, "wake", rel.Status), id, now)
}

// completedEvent builds gdap.sweep.completed.
func completedEvent(b *event.Builder, sum summary) (bus.Message, error) {
	return b.SweepCompleted(sum.FinishedAt, event.SweepCompleted{
		SweepID: sum.SweepID, StartedAt: sum.StartedAt, FinishedAt: sum.FinishedAt,
		Relationships: sum.Relationships, CountsByStatus: sum.CountsByStatus, Expiring: sum.Expiring,
		Pages: sum.Pages, Invocations: sum.Invocations,
	})
}

// autoExtendOf returns the relationship's autoExtendDuration, PT0S when
// Graph returned none.
func autoExtendOf(rel gdap.Relationship) string {
	if rel.AutoExtendDuration == "" {
		return gdap.AutoExtendOff
	}
	return rel.AutoExtendDuration
}
