// Package command parses gdapflow commands: CloudEvents 1.0 in JSON
// structured mode (docs/contract.md §2), validated against the embedded JSON Schemas
// of package schemas, in two stages.
//
// ParseEnvelope checks the body is a CloudEvent gdapflow can accept as an
// operation (size, encoding, envelope attributes). A failure there means no
// operation exists: the caller answers with gdap.command.rejected.
// Envelope.Decode then interprets data according to type; a failure there
// belongs to an accepted operation and ends it with gdap.operation.failed
// (code invalid_command or unsupported_command).
package command

import (
	"slices"
	"strings"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// Command types (the CloudEvent type attribute).
const (
	TypeRelationshipUpdate  = "gdap.relationship.update"
	TypeRelationshipRequest = "gdap.relationship.request"
	TypeRemoveGlobalAdmin   = "gdap.relationship.removeGlobalAdmin"
	TypeRemoveDAP           = "gdap.customer.removeDap"
	TypeSweepRun            = "gdap.sweep.run"
)

// Types returns every supported command type.
func Types() []string {
	return []string{TypeRelationshipUpdate, TypeRelationshipRequest, TypeRemoveGlobalAdmin, TypeRemoveDAP, TypeSweepRun,
		TypeRelationshipCreate, TypeAssignmentsSet, TypeCustomerOffboard, TypeRelationshipReplace}
}

// Supported reports whether t is a supported command type.
func Supported(t string) bool { return slices.Contains(Types(), t) }

// Command is a decoded, validated command. The concrete types are
// *UpdateRelationship, *RequestRelationship, *RemoveGlobalAdmin, *RemoveDAP,
// *RunSweep, *CreateRelationship, *SetAssignments, *OffboardCustomer and
// *ReplaceRelationship.
type Command interface {
	// Type returns the command's CloudEvent type.
	Type() string
}

// Customer is the customer part of a relationship update.
type Customer struct {
	TenantID string
	// DisplayName is empty when not given.
	DisplayName string
}

// Changes is the partial update of gdap.relationship.update. Nil fields
// are left unchanged; at least one field is set.
type Changes struct {
	DisplayName *string
	// Duration is normalised to whole days, "P<n>D", with 1 ≤ n ≤ 730.
	Duration *string
	// AutoExtendDuration is one of "P0D", "PT0S", "P180D" as sent.
	AutoExtendDuration *string
	Customer           *Customer
	// UnifiedRoles are the roleDefinitionIds of accessDetails.unifiedRoles;
	// nil means unchanged, otherwise at least one, without duplicates.
	UnifiedRoles []string
}

// UpdateRelationship is gdap.relationship.update.
type UpdateRelationship struct {
	RelationshipID string
	Changes        Changes
	// IfMatch is the etag the caller insists on; empty when not given.
	IfMatch string
}

// Type implements Command.
func (*UpdateRelationship) Type() string { return TypeRelationshipUpdate }

// ToGDAPChanges converts the requested changes to the domain's gdap.Changes.
// The result shares no memory with c.
func (c *UpdateRelationship) ToGDAPChanges() gdap.Changes {
	var out gdap.Changes
	clone := func(s *string) *string {
		if s == nil {
			return nil
		}
		v := *s
		return &v
	}
	out.DisplayName = clone(c.Changes.DisplayName)
	out.Duration = clone(c.Changes.Duration)
	out.AutoExtendDuration = clone(c.Changes.AutoExtendDuration)
	if c.Changes.Customer != nil {
		out.Customer = &gdap.Customer{TenantID: c.Changes.Customer.TenantID, DisplayName: c.Changes.Customer.DisplayName}
	}
	if c.Changes.UnifiedRoles != nil {
		out.UnifiedRoles = slices.Clone(c.Changes.UnifiedRoles)
	}
	return out
}

// RequestRelationship is gdap.relationship.request.
type RequestRelationship struct {
	RelationshipID string
	// Action is gdap.ActionLockForApproval, ActionApprove, ActionTerminate or ActionReject.
	Action string
}

// Type implements Command.
func (*RequestRelationship) Type() string { return TypeRelationshipRequest }

// RemoveGlobalAdmin is gdap.relationship.removeGlobalAdmin.
type RemoveGlobalAdmin struct {
	RelationshipID   string
	EnableAutoExtend bool
}

// Type implements Command.
func (*RemoveGlobalAdmin) Type() string { return TypeRemoveGlobalAdmin }

// RemoveDAP is gdap.customer.removeDap.
type RemoveDAP struct {
	CustomerTenantID string
}

// Type implements Command.
func (*RemoveDAP) Type() string { return TypeRemoveDAP }

// RunSweep is gdap.sweep.run.
type RunSweep struct{}

// Type implements Command.
func (*RunSweep) Type() string { return TypeSweepRun }

// TargetID returns what the command acts on: the relationship id, the
// customer tenant id, or "" (a sweep, or nil).
func TargetID(cmd Command) string {
	switch c := cmd.(type) {
	case *UpdateRelationship:
		return c.RelationshipID
	case *RequestRelationship:
		return c.RelationshipID
	case *RemoveGlobalAdmin:
		return c.RelationshipID
	case *RemoveDAP:
		return c.CustomerTenantID
	case *SetAssignments:
		return c.RelationshipID
	case *OffboardCustomer:
		return c.CustomerTenantID
	case *ReplaceRelationship:
		return c.RelationshipID
	}
	return ""
}

// equalFoldIndex returns the index of the first element equal to s
// ignoring case, or -1.
func equalFoldIndex(list []string, s string) int {
	return slices.IndexFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}
