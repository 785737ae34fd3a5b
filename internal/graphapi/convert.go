package graphapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	jsonserialization "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// etagKey is where Kiota leaves @odata.etag (it is not a typed field).
const etagKey = "@odata.etag"

// errEmptyBody reports a success response without the expected object.
var errEmptyBody = errors.New("response has no body")

// rawDurations are a relationship's durations exactly as on the wire: the
// SDK's ISODuration reformats them (PT0S → "P", P14D → "P2W").
type rawDurations struct {
	Duration           *string `json:"duration"`
	AutoExtendDuration *string `json:"autoExtendDuration"`
}

// rawDurationList is the same for the items of a collection.
type rawDurationList struct {
	Value []rawDurations `json:"value"`
}

// parse decodes body with the SDK's JSON parse node and factory.
func parse(body []byte, factory absser.ParsableFactory) (absser.Parsable, error) {
	v, _, err := parseWithNode(body, factory)
	return v, err
}

// parseWithNode is parse that also returns the parse node, whose children
// keep the body's values as they were on the wire.
func parseWithNode(body []byte, factory absser.ParsableFactory) (v absser.Parsable, node absser.ParseNode, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil, errEmptyBody
	}
	body, err = nullEmptyDateTimes(body)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			v, node, err = nil, nil, fmt.Errorf("decode response: %v", p)
		}
	}()
	jn, err := jsonserialization.NewJsonParseNode(body)
	if err != nil {
		return nil, nil, fmt.Errorf("decode response: %w", err)
	}
	v, err = jn.GetObjectValue(factory)
	if err != nil {
		return nil, nil, fmt.Errorf("decode response: %w", err)
	}
	if v == nil {
		return nil, nil, errEmptyBody
	}
	return v, jn, nil
}

// nullEmptyDateTimes replaces "" values of *DateTime properties by null:
// Graph examples show "activatedDateTime": "" before activation, which the
// SDK's time parser rejects.
func nullEmptyDateTimes(body []byte) ([]byte, error) {
	if !bytes.Contains(body, []byte(`DateTime":""`)) && !bytes.Contains(body, []byte(`DateTime": ""`)) {
		return body, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, val := range t {
				if s, ok := val.(string); ok && s == "" && strings.HasSuffix(k, "DateTime") {
					t[k] = nil
					continue
				}
				walk(val)
			}
		case []any:
			for _, val := range t {
				walk(val)
			}
		}
	}
	walk(doc)
	return json.Marshal(doc)
}

// decodeAs decodes body with factory and asserts the result is an M.
func decodeAs[M any](body []byte, factory absser.ParsableFactory) (M, error) {
	v, err := parse(body, factory)
	if err != nil {
		var zero M
		return zero, err
	}
	m, ok := v.(M)
	if !ok {
		return m, fmt.Errorf("decode response: unexpected type %T", v)
	}
	return m, nil
}

// decodeRelationship decodes a single relationship body. The raw durations
// are read from the same parse node, not from a second pass over the body.
func decodeRelationship(body []byte) (gdap.Relationship, error) {
	v, node, err := parseWithNode(body, models.CreateDelegatedAdminRelationshipFromDiscriminatorValue)
	if err != nil {
		return gdap.Relationship{}, err
	}
	m, ok := v.(models.DelegatedAdminRelationshipable)
	if !ok {
		return gdap.Relationship{}, fmt.Errorf("decode response: unexpected type %T", v)
	}
	return toRelationship(m, rawDurations{
		Duration:           rawString(node, "duration"),
		AutoExtendDuration: rawString(node, "autoExtendDuration"),
	}), nil
}

// rawString is node's string property name as on the wire; nil when it is
// absent, null or not a string.
func rawString(node absser.ParseNode, name string) *string {
	child, err := node.GetChildNode(name)
	if err != nil || child == nil {
		return nil
	}
	s, err := child.GetStringValue()
	if err != nil {
		return nil
	}
	return s
}

// toRelationship converts an SDK relationship (or reseller subtype).
func toRelationship(m models.DelegatedAdminRelationshipable, raw rawDurations) gdap.Relationship {
	r := gdap.Relationship{
		ID:                 deref(m.GetId()),
		DisplayName:        deref(m.GetDisplayName()),
		Duration:           durationString(raw.Duration, m.GetDuration()),
		AutoExtendDuration: durationString(raw.AutoExtendDuration, m.GetAutoExtendDuration()),
		CreatedDateTime:    utc(m.GetCreatedDateTime()),
		LastModified:       utc(m.GetLastModifiedDateTime()),
		ActivatedDateTime:  utc(m.GetActivatedDateTime()),
		EndDateTime:        utc(m.GetEndDateTime()),
		ETag:               etagOf(m.GetAdditionalData()),
	}
	if s := m.GetStatus(); s != nil {
		r.Status = s.String()
	}
	if c := m.GetCustomer(); c != nil {
		r.Customer = gdap.Customer{TenantID: deref(c.GetTenantId()), DisplayName: deref(c.GetDisplayName())}
	}
	r.UnifiedRoles = roleIDs(m.GetAccessDetails())
	if rs, ok := m.(models.ResellerDelegatedAdminRelationshipable); ok {
		r.IsReseller = true
		r.IndirectProviderTenantID = deref(rs.GetIndirectProviderTenantId())
		if p := rs.GetIsPartnerConsentPending(); p != nil {
			r.IsPartnerConsentPending = *p
		}
	}
	return r
}

// durationString prefers the wire string; the SDK's value is a fallback.
// A zero duration is reported as PT0S (never the SDK's "P").
func durationString(raw *string, typed *absser.ISODuration) (s string) {
	switch {
	case raw != nil:
		s = *raw
	case typed != nil:
		defer func() {
			if recover() != nil {
				s = ""
			}
		}()
		s = typed.String()
	}
	if s == "P" {
		return gdap.AutoExtendOff
	}
	return s
}

// toRequest converts an SDK relationship request.
func toRequest(m models.DelegatedAdminRelationshipRequestable) gdap.Request {
	r := gdap.Request{
		ID:              deref(m.GetId()),
		CreatedDateTime: utc(m.GetCreatedDateTime()),
		LastModified:    utc(m.GetLastModifiedDateTime()),
	}
	if a := m.GetAction(); a != nil {
		r.Action = a.String()
	}
	if s := m.GetStatus(); s != nil {
		r.Status = s.String()
	}
	return r
}

// toOperation converts an SDK operation.
func toOperation(m models.DelegatedAdminRelationshipOperationable) gdap.Operation {
	op := gdap.Operation{
		ID:              deref(m.GetId()),
		Data:            deref(m.GetData()),
		CreatedDateTime: utc(m.GetCreatedDateTime()),
		LastModified:    utc(m.GetLastModifiedDateTime()),
	}
	if t := m.GetOperationType(); t != nil {
		op.OperationType = t.String()
	}
	if s := m.GetStatus(); s != nil {
		op.Status = s.String()
	}
	return op
}

// patchBody builds the PATCH body from the set fields of ch only.
func patchBody(ch gdap.Changes) (models.DelegatedAdminRelationshipable, error) {
	if len(ch.Fields()) == 0 {
		return nil, fmt.Errorf("%w: no changes to send", ErrInvalidArgument)
	}
	body := models.NewDelegatedAdminRelationship()
	extra := map[string]any{}
	if ch.DisplayName != nil {
		body.SetDisplayName(ptr(*ch.DisplayName))
	}
	if ch.Duration != nil {
		if *ch.Duration == "" {
			return nil, fmt.Errorf("%w: empty duration", ErrInvalidArgument)
		}
		extra["duration"] = *ch.Duration
	}
	if ch.AutoExtendDuration != nil {
		if *ch.AutoExtendDuration == "" {
			return nil, fmt.Errorf("%w: empty autoExtendDuration", ErrInvalidArgument)
		}
		extra["autoExtendDuration"] = *ch.AutoExtendDuration
	}
	if ch.Customer != nil {
		body.SetCustomer(customerParticipant(*ch.Customer))
	}
	if ch.UnifiedRoles != nil {
		body.SetAccessDetails(accessDetails(ch.UnifiedRoles))
	}
	body.SetAdditionalData(extra)
	return body, nil
}

// customerParticipant builds customer {tenantId, displayName}, leaving out
// empty fields.
func customerParticipant(cu gdap.Customer) models.DelegatedAdminRelationshipCustomerParticipantable {
	c := models.NewDelegatedAdminRelationshipCustomerParticipant()
	if cu.TenantID != "" {
		c.SetTenantId(ptr(cu.TenantID))
	}
	if cu.DisplayName != "" {
		c.SetDisplayName(ptr(cu.DisplayName))
	}
	return c
}

// accessDetails builds accessDetails {unifiedRoles: [{roleDefinitionId}]}.
func accessDetails(roleIDs []string) models.DelegatedAdminAccessDetailsable {
	roles := make([]models.UnifiedRoleable, 0, len(roleIDs))
	for _, id := range roleIDs {
		role := models.NewUnifiedRole()
		role.SetRoleDefinitionId(ptr(id))
		roles = append(roles, role)
	}
	ad := models.NewDelegatedAdminAccessDetails()
	ad.SetUnifiedRoles(roles)
	return ad
}

// roleIDs reads the role definition ids of accessDetails.
func roleIDs(ad models.DelegatedAdminAccessDetailsable) []string {
	if ad == nil {
		return nil
	}
	var out []string
	for _, role := range ad.GetUnifiedRoles() {
		if role != nil && role.GetRoleDefinitionId() != nil {
			out = append(out, *role.GetRoleDefinitionId())
		}
	}
	return out
}

// etagOf reads @odata.etag from a model's additional data.
func etagOf(data map[string]any) string {
	switch v := data[etagKey].(type) {
	case *string:
		return deref(v)
	case string:
		return v
	}
	return ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptr[T any](v T) *T { return &v }

func utc(t *time.Time) time.Time {
	if t == nil || t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
