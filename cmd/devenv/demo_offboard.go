package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

// addAssignment creates an access assignment as another Graph client
// would (the partner's admin in Partner Center).
func (s *stepRun) addAssignment(ctx context.Context, relID, group string, roles ...string) error {
	body, err := json.Marshal(map[string]any{
		"accessContainer": map[string]any{"accessContainerId": group, "accessContainerType": "securityGroup"},
		"accessDetails":   map[string]any{"unifiedRoles": roleRefs(roles...)},
	})
	if err != nil {
		return err
	}
	url := s.d.st.SimURL + "/beta/tenantRelationships/delegatedAdminRelationships/" + relID + "/accessAssignments"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer partner-admin")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("add access assignment: %s", resp.Status)
	}
	s.note("•", "setup", "access assignment: group %s → %d role(s) on %s", shortID(group), len(roles), shortID(relID))
	return nil
}

// stepReplace: an active relationship gets new roles the only way Graph
// allows — a new relationship. Once the customer approves, the follow-up
// copies the assignments (roles limited to the new ones) and terminates the
// old relationship.
func stepReplace(ctx context.Context, s *stepRun) error {
	old, err := s.addRelationship(gdap.Relationship{DisplayName: "Litware helpdesk", Status: gdap.StatusActive,
		Customer: gdap.Customer{TenantID: "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c61", DisplayName: "Litware"}})
	if err != nil {
		return err
	}
	if err := s.addAssignment(ctx, old, demoGroupHelpdesk, roleHelpdesk); err != nil {
		return err
	}
	if err := s.addAssignment(ctx, old, demoGroupAdmins, roleHelpdesk, roleUserAdmin); err != nil {
		return err
	}
	if err := s.idleAdvance(ctx, time.Minute, 10*time.Second, "the assignments become active"); err != nil {
		return err
	}
	const opID = "op-replace"
	// The new roles: Helpdesk Administrator kept, User Administrator dropped,
	// Security Reader added.
	if err := s.send(ctx, opID, command.TypeRelationshipReplace, map[string]any{"relationshipId": old,
		"accessDetails": map[string]any{"unifiedRoles": roleRefs(roleHelpdesk, demoRoleSecurityReader)}}); err != nil {
		return err
	}
	if err := s.idleAdvance(ctx, 2*time.Minute, 10*time.Second, "the new relationship is created and locked"); err != nil {
		return err
	}
	o, err := s.expectOutcome(opID, "")
	if err != nil || !s.expect(o.Result.Relationship != nil, "replace reports the new relationship") {
		return err
	}
	newID := o.Result.Relationship.ID
	s.lines = append(s.lines, "               new relationship: "+o.Result.Relationship.DisplayName+" ("+o.Result.Relationship.Status+")",
		"               invitation: "+o.Result.InvitationURL)
	if err := s.idleAdvance(ctx, 2*24*time.Hour, time.Hour, "two days pass"); err != nil {
		return err
	}
	if err := s.d.st.Graph.Approve(newID, nil); err != nil {
		return err
	}
	s.note("•", "customer", "the customer approves the new relationship")
	if err := s.idleAdvance(ctx, 2*time.Minute, 30*time.Second, "approved → active"); err != nil {
		return err
	}
	if err := s.d.st.Emu.FireTimer(ctx, "expiry-sweep"); err != nil {
		return err
	}
	if err := s.drain(ctx); err != nil {
		return err
	}
	f, err := s.expectOutcome(o.Result.FollowUpOperationID, "")
	if err != nil {
		return err
	}
	for _, a := range f.Result.Assignments {
		s.lines = append(s.lines, fmt.Sprintf("               group %s → %d role(s), %s", shortID(a.SecurityGroupID), len(a.Roles), a.Action))
	}
	s.expect(len(f.Result.Assignments) == 2, "both groups' assignments reproduced with the roles still granted (%d)", len(f.Result.Assignments))
	s.expectRelationship(old, "terminated once the assignments are active", func(r gdap.Relationship) bool { return r.Status == gdap.StatusTerminated })
	return nil
}

// stepOffboard: a customer with three relationships leaves; DAP goes too.
func stepOffboard(ctx context.Context, s *stepRun) error {
	tenant := "4c3b2a19-0817-4f6e-9d5c-4b3a29180761"
	cust := gdap.Customer{TenantID: tenant, DisplayName: "Proseware"}
	s.d.st.PC.AddCustomer(tenant, "Proseware", true)
	active, err := s.addRelationship(gdap.Relationship{DisplayName: "Proseware admins", Status: gdap.StatusActive, Customer: cust})
	if err != nil {
		return err
	}
	created, err := s.addRelationship(gdap.Relationship{DisplayName: "Proseware draft", Status: gdap.StatusCreated, Customer: cust})
	if err != nil {
		return err
	}
	pending, err := s.addRelationship(gdap.Relationship{DisplayName: "Proseware invitation", Status: gdap.StatusApprovalPending, Customer: cust})
	if err != nil {
		return err
	}
	const opID = "op-offboard"
	if err := s.send(ctx, opID, command.TypeCustomerOffboard, map[string]any{"customerTenantId": tenant, "removeDap": true}); err != nil {
		return err
	}
	if err := s.drain(ctx); err != nil {
		return err
	}
	o, err := s.expectOutcome(opID, "")
	if err != nil {
		return err
	}
	for _, r := range o.Result.Relationships {
		s.lines = append(s.lines, fmt.Sprintf("               %s %q: %s → %s (%s)", shortID(r.ID), r.DisplayName, r.PreviousStatus, r.Action, r.Status))
	}
	s.expectRelationship(active, "terminated", func(r gdap.Relationship) bool { return r.Status == gdap.StatusTerminated })
	_, stillThere := s.d.st.Graph.Relationship(created)
	s.expect(!stillThere, "the created relationship is deleted")
	s.expectRelationship(pending, "left to lapse (approvalPending)", func(r gdap.Relationship) bool { return r.Status == gdap.StatusApprovalPending })
	c, found := s.d.st.PC.Customer(tenant)
	s.expect(found && !c.AllowDelegatedAccess && o.Result.DapRemoved != nil && *o.Result.DapRemoved, "DAP removed in Partner Center")
	return nil
}
