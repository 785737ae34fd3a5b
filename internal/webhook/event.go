package webhook

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Event names Partner Center sends for GDAP (docs/platform/partner-center-webhooks.md).
const (
	EventRelationshipApproved   = "granular-admin-relationship-approved"
	EventRelationshipActivated  = "granular-admin-relationship-activated"
	EventRelationshipTerminated = "granular-admin-relationship-terminated"
	EventRelationshipExpired    = "granular-admin-relationship-expired"
	EventAssignmentCreated      = "granular-admin-access-assignment-created"
	EventAssignmentActivated    = "granular-admin-access-assignment-activated"
	EventAssignmentUpdated      = "granular-admin-access-assignment-updated"
	EventAssignmentDeleted      = "granular-admin-access-assignment-deleted"
	// EventTestCreated is the event a registration test requests.
	EventTestCreated = "test-created"
)

// GDAPEvents are the events that refresh a relationship, in registration order.
var GDAPEvents = []string{ //nolint:gochecknoglobals // constant list
	EventRelationshipApproved, EventRelationshipActivated, EventRelationshipTerminated, EventRelationshipExpired,
	EventAssignmentCreated, EventAssignmentActivated, EventAssignmentUpdated, EventAssignmentDeleted,
}

// IsGDAPEvent reports whether name refreshes a relationship.
func IsGDAPEvent(name string) bool {
	for _, e := range GDAPEvents {
		if e == name {
			return true
		}
	}
	return false
}

// maxRelationshipIDLen bounds a relationship id taken from a ResourceUri.
const maxRelationshipIDLen = 128

// Event is a delivery's body.
type Event struct {
	EventName             string    `json:"EventName"`
	ResourceURI           string    `json:"ResourceUri"`
	ResourceName          string    `json:"ResourceName"`
	AuditURI              *string   `json:"AuditUri"`
	ResourceChangeUtcDate time.Time `json:"-"`
}

// DecodeEvent parses a delivery body: a JSON object with a non-empty
// EventName and a ResourceChangeUtcDate in ISO 8601 with a zone (up to 7
// fractional digits, as .NET writes it). Unknown members are ignored.
// Failures are *Rejection with ReasonMalformed.
func DecodeEvent(body []byte) (Event, error) {
	var e Event
	if !utf8.Valid(body) {
		return e, reject(ReasonMalformed, "the body is not UTF-8")
	}
	var wire struct {
		Event
		Date *string `json:"ResourceChangeUtcDate"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&wire); err != nil {
		return e, reject(ReasonMalformed, "the body is not a JSON event: "+err.Error())
	}
	if dec.More() {
		return e, reject(ReasonMalformed, "the body has data after the JSON object")
	}
	e = wire.Event
	if strings.TrimSpace(e.EventName) == "" {
		return e, reject(ReasonMalformed, "EventName is missing")
	}
	if wire.Date == nil {
		return e, reject(ReasonMalformed, "ResourceChangeUtcDate is missing")
	}
	t, err := time.Parse(time.RFC3339Nano, *wire.Date)
	if err != nil {
		return e, reject(ReasonMalformed, "ResourceChangeUtcDate is not an ISO 8601 time with a zone: "+quote(*wire.Date))
	}
	e.ResourceChangeUtcDate = t.UTC()
	return e, nil
}

// RelationshipID returns the relationship id in ResourceUri: the path
// segment after "granularAdminRelationships" (case-insensitive), as in
// {baseURL}/granularAdminRelationships/{id} and
// {baseURL}/granularAdminRelationships/{id}/accessAssignments/{assignmentId}.
// ok is false when there is none or it has characters an id never has.
func (e Event) RelationshipID() (string, bool) {
	u, err := url.Parse(e.ResourceURI)
	if err != nil {
		return "", false
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := 0; i+1 < len(segs); i++ {
		if !strings.EqualFold(segs[i], "granularAdminRelationships") {
			continue
		}
		id := segs[i+1]
		if id == "" || len(id) > maxRelationshipIDLen || strings.Trim(id,
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" {
			return "", false
		}
		return id, true
	}
	return "", false
}
