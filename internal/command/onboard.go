package command

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/isoduration"
	"github.com/gdapflow/gdapflow/internal/op"
)

// Lifecycle command types (docs/contract.md §6.1).
const (
	TypeRelationshipCreate  = "gdap.relationship.create"
	TypeAssignmentsSet      = "gdap.relationship.accessAssignments.set"
	TypeCustomerOffboard    = "gdap.customer.offboard"
	TypeRelationshipReplace = "gdap.relationship.replace"
)

// ReplaceRelationship is gdap.relationship.replace.
type ReplaceRelationship struct {
	RelationshipID string
	// UnifiedRoles are the new relationship's roles.
	UnifiedRoles []string
	// DisplayName, Duration and AutoExtendDuration are "" when not given
	// (derived from the old relationship; auto-extend off). Duration is
	// normalised like CreateRelationship's.
	DisplayName        string
	Duration           string
	AutoExtendDuration string
}

// Type implements Command.
func (*ReplaceRelationship) Type() string { return TypeRelationshipReplace }

// OffboardCustomer is gdap.customer.offboard.
type OffboardCustomer struct {
	CustomerTenantID string
	// RemoveDAP also removes legacy DAP once the relationships are ended.
	RemoveDAP bool
}

// Type implements Command.
func (*OffboardCustomer) Type() string { return TypeCustomerOffboard }

// Assignment is one security group's desired access assignment.
type Assignment struct {
	// SecurityGroupID is the group's object id as sent.
	SecurityGroupID string
	// Roles are role definition ids, at least one, without duplicates.
	Roles []string
}

// CreateRelationship is gdap.relationship.create.
type CreateRelationship struct {
	DisplayName string
	// Duration is normalised to whole days, "P<n>D", with 1 ≤ n ≤ 730.
	Duration string
	// AutoExtendDuration is "PT0S" (the default) or "P180D" ("P0D" is
	// normalised to "PT0S").
	AutoExtendDuration string
	// Customer is nil for an open invitation.
	Customer *Customer
	// UnifiedRoles are role definition ids, at least one, without duplicates.
	UnifiedRoles []string
	// LockForApproval is true unless the command said false.
	LockForApproval bool
	// Assignments are applied by a follow-up operation once the customer
	// approves; nil when none were asked for.
	Assignments []Assignment
}

// Type implements Command.
func (*CreateRelationship) Type() string { return TypeRelationshipCreate }

// NewRelationship returns the Graph creation body of the command.
func (c *CreateRelationship) NewRelationship() gdap.NewRelationship {
	nr := gdap.NewRelationship{
		DisplayName: c.DisplayName, Duration: c.Duration, AutoExtendDuration: c.AutoExtendDuration,
		UnifiedRoles: append([]string(nil), c.UnifiedRoles...),
	}
	if c.Customer != nil {
		nr.Customer = &gdap.Customer{TenantID: c.Customer.TenantID, DisplayName: c.Customer.DisplayName}
	}
	return nr
}

// SetAssignments is gdap.relationship.accessAssignments.set.
type SetAssignments struct {
	RelationshipID string
	Assignments    []Assignment
	// Prune deletes the assignments of groups not listed.
	Prune bool
	// AwaitApproval waits for a relationship that is still waiting for the
	// customer to become active (an extension of the contract; the
	// follow-up operation of gdap.relationship.create sets it).
	AwaitApproval bool
	// CopyFrom names a relationship whose access assignments are wanted
	// too, roles limited to this relationship's (an extension; the
	// follow-up of gdap.relationship.replace sets it). "" when not given.
	CopyFrom string
	// TerminateCopied terminates CopyFrom once every assignment is active.
	TerminateCopied bool
}

// Type implements Command.
func (*SetAssignments) Type() string { return TypeAssignmentsSet }

type rolesData []struct {
	RoleDefinitionID string `json:"roleDefinitionId"`
}

type assignmentData struct {
	SecurityGroupID string    `json:"securityGroupId"`
	Roles           rolesData `json:"roles"`
}

// AssignmentsData is the JSON form of a list of access assignments, as the
// commands carry it.
type AssignmentsData []assignmentData

// NewAssignmentsData returns the JSON form of as (for a command the service
// issues itself).
func NewAssignmentsData(as []Assignment) AssignmentsData {
	out := make(AssignmentsData, len(as))
	for i, a := range as {
		out[i].SecurityGroupID = a.SecurityGroupID
		for _, r := range a.Roles {
			out[i].Roles = append(out[i].Roles, struct {
				RoleDefinitionID string `json:"roleDefinitionId"`
			}{r})
		}
	}
	return out
}

// roleIDs returns the role ids of rs, refusing duplicates (ignoring case)
// with an error naming field.
func (rs rolesData) roleIDs(field string) ([]string, error) {
	out := make([]string, 0, len(rs))
	for i, r := range rs {
		if j := equalFoldIndex(out, r.RoleDefinitionID); j >= 0 {
			return nil, dataErr(fmt.Sprintf("%s[%d].roleDefinitionId", field, i), fmt.Sprintf("duplicate of %s[%d]", field[strings.LastIndexByte(field, '.')+1:], j))
		}
		out = append(out, r.RoleDefinitionID)
	}
	return out, nil
}

// assignments converts the JSON form, refusing a group listed twice and
// (when allowed is not nil) roles that are not among allowed.
func (ad AssignmentsData) assignments(field string, allowed []string) ([]Assignment, error) {
	out := make([]Assignment, 0, len(ad))
	var groups []string
	for i, a := range ad {
		f := fmt.Sprintf("%s[%d]", field, i)
		if j := equalFoldIndex(groups, a.SecurityGroupID); j >= 0 {
			return nil, dataErr(f+".securityGroupId", fmt.Sprintf("group %s is listed twice (also %s[%d])", a.SecurityGroupID, field[strings.LastIndexByte(field, '.')+1:], j))
		}
		groups = append(groups, a.SecurityGroupID)
		roles, err := a.Roles.roleIDs(f + ".roles")
		if err != nil {
			return nil, err
		}
		if allowed != nil {
			for k, r := range roles {
				if equalFoldIndex(allowed, r) < 0 {
					return nil, dataErr(fmt.Sprintf("%s.roles[%d].roleDefinitionId", f, k),
						fmt.Sprintf("role %s is not among the relationship's roles (accessDetails.unifiedRoles)", r))
				}
			}
		}
		out = append(out, Assignment{SecurityGroupID: a.SecurityGroupID, Roles: roles})
	}
	return out, nil
}

func decodeCreate(raw json.RawMessage) (Command, error) {
	var d struct {
		DisplayName   string `json:"displayName"`
		Duration      string `json:"duration"`
		AccessDetails struct {
			UnifiedRoles rolesData `json:"unifiedRoles"`
		} `json:"accessDetails"`
		Customer *struct {
			TenantID    string `json:"tenantId"`
			DisplayName string `json:"displayName"`
		} `json:"customer"`
		AutoExtendDuration *string         `json:"autoExtendDuration"`
		LockForApproval    *bool           `json:"lockForApproval"`
		AccessAssignments  AssignmentsData `json:"accessAssignments"`
	}
	if err := strictUnmarshal(raw, &d); err != nil {
		return nil, err
	}
	cmd := &CreateRelationship{DisplayName: d.DisplayName, AutoExtendDuration: gdap.AutoExtendOff, LockForApproval: true}
	dur, err := wholeDays("data.duration", d.Duration)
	if err != nil {
		return nil, err
	}
	cmd.Duration = dur
	if cmd.UnifiedRoles, err = d.AccessDetails.UnifiedRoles.roleIDs("data.accessDetails.unifiedRoles"); err != nil {
		return nil, err
	}
	if d.Customer != nil {
		cmd.Customer = &Customer{TenantID: d.Customer.TenantID, DisplayName: d.Customer.DisplayName}
	}
	if d.AutoExtendDuration != nil && gdap.IsAutoExtendOn(*d.AutoExtendDuration) {
		cmd.AutoExtendDuration = gdap.AutoExtendOn
		if gdap.HasRole(cmd.UnifiedRoles, gdap.GlobalAdminRoleID) {
			return nil, newError(op.CodeGlobalAdminBlocksAutoExtend, StageData, "data.autoExtendDuration",
				"Global Administrator cannot be auto-extended: drop the role or set autoExtendDuration PT0S")
		}
	}
	if d.LockForApproval != nil {
		cmd.LockForApproval = *d.LockForApproval
	}
	if d.AccessAssignments != nil {
		if !cmd.LockForApproval {
			return nil, dataErr("data.accessAssignments",
				"needs lockForApproval true: the assignments are applied once the customer approves the locked invitation")
		}
		if cmd.Assignments, err = d.AccessAssignments.assignments("data.accessAssignments", cmd.UnifiedRoles); err != nil {
			return nil, err
		}
	}
	return cmd, nil
}

func decodeSetAssignments(raw json.RawMessage) (Command, error) {
	var d struct {
		RelationshipID  string          `json:"relationshipId"`
		Assignments     AssignmentsData `json:"assignments"`
		Prune           bool            `json:"prune"`
		AwaitApproval   bool            `json:"awaitApproval"`
		CopyFrom        string          `json:"copyFrom"`
		TerminateCopied bool            `json:"terminateCopied"`
	}
	if err := strictUnmarshal(raw, &d); err != nil {
		return nil, err
	}
	as, err := d.Assignments.assignments("data.assignments", nil)
	if err != nil {
		return nil, err
	}
	switch {
	case len(as) == 0 && d.CopyFrom == "":
		return nil, dataErr("data.assignments", "required (unless copyFrom names a relationship to copy from)")
	case d.TerminateCopied && d.CopyFrom == "":
		return nil, dataErr("data.terminateCopied", "needs copyFrom")
	case d.CopyFrom != "" && strings.EqualFold(d.CopyFrom, d.RelationshipID):
		return nil, dataErr("data.copyFrom", "names the relationship itself")
	}
	return &SetAssignments{RelationshipID: d.RelationshipID, Assignments: as, Prune: d.Prune, AwaitApproval: d.AwaitApproval,
		CopyFrom: d.CopyFrom, TerminateCopied: d.TerminateCopied}, nil
}

func decodeReplace(raw json.RawMessage) (Command, error) {
	var d struct {
		RelationshipID string `json:"relationshipId"`
		AccessDetails  struct {
			UnifiedRoles rolesData `json:"unifiedRoles"`
		} `json:"accessDetails"`
		DisplayName        string  `json:"displayName"`
		Duration           *string `json:"duration"`
		AutoExtendDuration *string `json:"autoExtendDuration"`
	}
	if err := strictUnmarshal(raw, &d); err != nil {
		return nil, err
	}
	cmd := &ReplaceRelationship{RelationshipID: d.RelationshipID, DisplayName: d.DisplayName}
	var err error
	if cmd.UnifiedRoles, err = d.AccessDetails.UnifiedRoles.roleIDs("data.accessDetails.unifiedRoles"); err != nil {
		return nil, err
	}
	if d.Duration != nil {
		if cmd.Duration, err = wholeDays("data.duration", *d.Duration); err != nil {
			return nil, err
		}
	}
	if d.AutoExtendDuration != nil {
		cmd.AutoExtendDuration = gdap.AutoExtendOff
		if gdap.IsAutoExtendOn(*d.AutoExtendDuration) {
			if gdap.HasRole(cmd.UnifiedRoles, gdap.GlobalAdminRoleID) {
				return nil, newError(op.CodeGlobalAdminBlocksAutoExtend, StageData, "data.autoExtendDuration",
					"Global Administrator cannot be auto-extended: drop the role or set autoExtendDuration PT0S")
			}
			cmd.AutoExtendDuration = gdap.AutoExtendOn
		}
	}
	return cmd, nil
}

// wholeDays normalises an ISO 8601 duration of whole days within the
// relationship bounds to "P<n>D".
func wholeDays(field, s string) (string, error) {
	dur, err := isoduration.Parse(s)
	if err != nil {
		return "", dataErr(field, limit(err.Error()))
	}
	days, ok := dur.WholeDays()
	if !ok {
		return "", dataErr(field, fmt.Sprintf("%q is not a whole number of days (months and partial days are not allowed)", s))
	}
	if days < MinDurationDays || days > MaxDurationDays {
		return "", dataErr(field, fmt.Sprintf("%q is %d days; must be between P1D and P2Y (%d days)", s, days, MaxDurationDays))
	}
	return fmt.Sprintf("P%dD", days), nil
}
