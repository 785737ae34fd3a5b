package command

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gdapflow/gdapflow/internal/op"
)

// Duration bounds of a relationship (Graph: P1D to P2Y inclusive).
const (
	MinDurationDays = 1
	MaxDurationDays = 730
)

// Decode interprets the envelope's data according to its type. An
// unsupported type is a *Error with Code op.CodeUnsupportedCommand; data
// that violates the type's schema (schemas/commands/<type>.json) or the
// rules a schema cannot express (duration of whole days from P1D to P2Y,
// roles unique ignoring case) is a *Error with Code op.CodeInvalidCommand
// whose Field names the offending field. Both have Stage StageData.
func (e *Envelope) Decode() (Command, error) {
	sc, err := loadSchemas()
	if err != nil {
		return nil, fmt.Errorf("command: schemas: %w", err)
	}
	s, ok := sc.data[e.Type]
	if !ok {
		return nil, newError(op.CodeUnsupportedCommand, StageData, "type",
			fmt.Sprintf("unsupported command type %q (supported: %s)", e.Type, strings.Join(Types(), ", ")))
	}
	data := e.data
	if data == nil { // an Envelope not built by ParseEnvelope
		if data, err = decodeStrict(e.Data); err != nil {
			return nil, dataErr("data", "malformed JSON")
		}
	}
	if err := s.Validate(data); err != nil {
		field, msg := schemaError(err, "data")
		return nil, dataErr(field, limit(msg))
	}
	switch e.Type {
	case TypeRelationshipUpdate:
		return decodeUpdate(e.Data)
	case TypeRelationshipRequest:
		var d struct {
			RelationshipID string `json:"relationshipId"`
			Action         string `json:"action"`
		}
		if err := strictUnmarshal(e.Data, &d); err != nil {
			return nil, err
		}
		return &RequestRelationship{RelationshipID: d.RelationshipID, Action: d.Action}, nil
	case TypeRemoveGlobalAdmin:
		var d struct {
			RelationshipID   string `json:"relationshipId"`
			EnableAutoExtend bool   `json:"enableAutoExtend"`
		}
		if err := strictUnmarshal(e.Data, &d); err != nil {
			return nil, err
		}
		return &RemoveGlobalAdmin{RelationshipID: d.RelationshipID, EnableAutoExtend: d.EnableAutoExtend}, nil
	case TypeRemoveDAP:
		var d struct {
			CustomerTenantID string `json:"customerTenantId"`
		}
		if err := strictUnmarshal(e.Data, &d); err != nil {
			return nil, err
		}
		return &RemoveDAP{CustomerTenantID: d.CustomerTenantID}, nil
	case TypeRelationshipCreate:
		return decodeCreate(e.Data)
	case TypeAssignmentsSet:
		return decodeSetAssignments(e.Data)
	case TypeRelationshipReplace:
		return decodeReplace(e.Data)
	case TypeCustomerOffboard:
		var d struct {
			CustomerTenantID string `json:"customerTenantId"`
			RemoveDAP        bool   `json:"removeDap"`
		}
		if err := strictUnmarshal(e.Data, &d); err != nil {
			return nil, err
		}
		return &OffboardCustomer{CustomerTenantID: d.CustomerTenantID, RemoveDAP: d.RemoveDAP}, nil
	case TypeSweepRun:
		var d struct{}
		if err := strictUnmarshal(e.Data, &d); err != nil {
			return nil, err
		}
		return &RunSweep{}, nil
	}
	// unreachable: sc.data holds exactly Types()
	return nil, newError(op.CodeUnsupportedCommand, StageData, "type", "unsupported command type")
}

type updateData struct {
	RelationshipID string `json:"relationshipId"`
	Changes        struct {
		DisplayName        *string `json:"displayName"`
		Duration           *string `json:"duration"`
		AutoExtendDuration *string `json:"autoExtendDuration"`
		Customer           *struct {
			TenantID    string `json:"tenantId"`
			DisplayName string `json:"displayName"`
		} `json:"customer"`
		AccessDetails *struct {
			UnifiedRoles rolesData `json:"unifiedRoles"`
		} `json:"accessDetails"`
	} `json:"changes"`
	IfMatch *string `json:"ifMatch"`
}

func decodeUpdate(raw json.RawMessage) (Command, error) {
	var d updateData
	if err := strictUnmarshal(raw, &d); err != nil {
		return nil, err
	}
	cmd := &UpdateRelationship{RelationshipID: d.RelationshipID}
	if d.IfMatch != nil {
		cmd.IfMatch = *d.IfMatch
	}
	ch := d.Changes
	cmd.Changes.DisplayName = ch.DisplayName
	cmd.Changes.AutoExtendDuration = ch.AutoExtendDuration
	if ch.Duration != nil {
		norm, err := wholeDays("data.changes.duration", *ch.Duration)
		if err != nil {
			return nil, err
		}
		cmd.Changes.Duration = &norm
	}
	if ch.Customer != nil {
		cmd.Changes.Customer = &Customer{TenantID: ch.Customer.TenantID, DisplayName: ch.Customer.DisplayName}
	}
	if ch.AccessDetails != nil {
		roles, err := ch.AccessDetails.UnifiedRoles.roleIDs("data.changes.accessDetails.unifiedRoles")
		if err != nil {
			return nil, err
		}
		cmd.Changes.UnifiedRoles = roles
	}
	return cmd, nil
}

// strictUnmarshal decodes already schema-validated data into a struct,
// refusing unknown fields as a second line of defence should a schema and a
// struct ever drift apart.
func strictUnmarshal(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return dataErr("data", limit(err.Error()))
	}
	return nil
}
