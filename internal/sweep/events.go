package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

// Event types published by the sweep (contract §3).
const (
	typeExpiring        = "gdap.relationship.expiring"
	typeEnded           = "gdap.relationship.ended"
	typeApprovalPending = "gdap.relationship.approvalPending"
	typeSweepCompleted  = "gdap.sweep.completed"
)

// envelope is an event in CloudEvents JSON structured mode.
type envelope struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Time            string `json:"time"`
	Subject         string `json:"subject,omitempty"`
	DataContentType string `json:"datacontenttype"`
	Data            any    `json:"data"`
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// optTime renders a zero time as null.
func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := rfc3339(t)
	return &s
}

// newEvent encodes an event as a bus message. The id is deterministic per
// announcement, so a re-sent announcement is dropped by duplicate detection.
func newEvent(source, id, typ, subject, correlationID string, at time.Time, data any) (bus.Message, error) {
	body, err := json.Marshal(envelope{
		SpecVersion: "1.0", ID: id, Source: source, Type: typ, Time: rfc3339(at), Subject: subject,
		DataContentType: "application/json", Data: data,
	})
	if err != nil {
		return bus.Message{}, fmt.Errorf("sweep: encode %s: %w", typ, err)
	}
	return bus.Message{
		MessageID: id, CorrelationID: correlationID, Subject: typ,
		ContentType: cloudEventsContentType, Body: body,
	}, nil
}

// expiringEvent is gdap.relationship.expiring, id
// "expiring.<relId>.<end yyyymmddhhmmss>.<threshold>d".
func expiringEvent(source, sweepID string, at time.Time, rel gdap.Relationship, n expiringNotice) (bus.Message, error) {
	data := map[string]any{
		"relationshipId": rel.ID, "displayName": rel.DisplayName,
		"customerTenantId": rel.Customer.TenantID, "customerDisplayName": rel.Customer.DisplayName,
		"status": rel.Status, "endDateTime": rfc3339(rel.EndDateTime), "daysRemaining": n.DaysRemaining,
		"thresholdDays": n.ThresholdDays, "autoExtendDuration": autoExtendOf(rel), "hasGlobalAdmin": rel.HasGlobalAdmin(),
	}
	id := boundedID("expiring", safeID(rel.ID), rel.EndDateTime.UTC().Format("20060102150405"), fmt.Sprintf("%dd", n.ThresholdDays))
	return newEvent(source, id, typeExpiring, rel.ID, sweepID, at, data)
}

// endedEvent is gdap.relationship.ended, id "ended.<relId>.<status>".
func endedEvent(source, sweepID string, at time.Time, rel gdap.Relationship) (bus.Message, error) {
	data := map[string]any{
		"relationshipId": rel.ID, "displayName": rel.DisplayName, "customerTenantId": rel.Customer.TenantID,
		"status": rel.Status, "endDateTime": optTime(rel.EndDateTime),
	}
	id := boundedID("ended", safeID(rel.ID), rel.Status)
	return newEvent(source, id, typeEnded, rel.ID, sweepID, at, data)
}

// approvalEvent is gdap.relationship.approvalPending, id
// "approvalPending.<relId>.<created yyyymmddhhmmss>".
func approvalEvent(source, sweepID string, at time.Time, rel gdap.Relationship, n approvalNotice) (bus.Message, error) {
	data := map[string]any{
		"relationshipId": rel.ID, "displayName": rel.DisplayName, "createdDateTime": rfc3339(rel.CreatedDateTime),
		"daysPending": n.DaysPending, "approvalExpiresDateTime": rfc3339(n.ExpiresAt),
	}
	id := boundedID("approvalPending", safeID(rel.ID), rel.CreatedDateTime.UTC().Format("20060102150405"))
	return newEvent(source, id, typeApprovalPending, rel.ID, sweepID, at, data)
}

// completedEvent is gdap.sweep.completed, id "sweep.completed.<sweepId>".
func completedEvent(source string, sum Summary) (bus.Message, error) {
	data := map[string]any{
		"sweepId": sum.SweepID, "startedAt": rfc3339(sum.StartedAt), "finishedAt": rfc3339(sum.FinishedAt),
		"relationships": sum.Relationships, "countsByStatus": sum.CountsByStatus, "expiring": sum.Expiring,
		"pages": sum.Pages, "invocations": sum.Invocations,
	}
	id := boundedID("sweep", "completed", sum.SweepID)
	return newEvent(source, id, typeSweepCompleted, "", sum.SweepID, sum.FinishedAt, data)
}

// autoExtendOf returns the relationship's autoExtendDuration, PT0S when
// Graph returned none.
func autoExtendOf(rel gdap.Relationship) string {
	if rel.AutoExtendDuration == "" {
		return gdap.AutoExtendOff
	}
	return rel.AutoExtendDuration
}

// safeID returns id when it is a valid id fragment, otherwise a hash of it.
func safeID(id string) string {
	if validIDChars(id) && len(id) <= 80 {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16])
}
