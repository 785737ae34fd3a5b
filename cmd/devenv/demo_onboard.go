package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/webhook"
)

// Onboarding demo data: the roles granted and the security groups that get
// them once the customer approves.
const (
	demoRoleSecurityReader = "5d6b6bb7-de71-4623-b4af-96380a352509"
	demoGroupHelpdesk      = "3c5e7a91-2b4d-4f60-8a1c-9e0d2f3b4a61"
	demoGroupAdmins        = "3c5e7a91-2b4d-4f60-8a1c-9e0d2f3b4a62"
)

// idleAdvance moves the virtual clock by total in steps, running what is due
// at each step. Unlike drain it does not fast-forward to the follow-up's
// next daily check: the customer approves in between.
func (s *stepRun) idleAdvance(ctx context.Context, total, step time.Duration, why string) error {
	c, cancel := context.WithTimeout(ctx, drainTimeout)
	defer cancel()
	for elapsed := time.Duration(0); ; elapsed += step {
		if err := s.d.st.Emu.Idle(c); err != nil {
			return err
		}
		if elapsed >= total {
			break
		}
		s.d.st.Clock.Advance(step)
	}
	s.note("⏩", "clock", "+%s  %s", shortDuration(total), why)
	return nil
}

func roleRefs(ids ...string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = map[string]any{"roleDefinitionId": id}
	}
	return out
}

// stepOnboard: create with access assignments → invitation link → ten
// virtual days later the customer approves → Partner Center's signed
// granular-admin-relationship-activated webhook makes the service refresh
// the relationship, announce the activation and wake the follow-up within
// seconds (no sweep) → the assignments are applied → the follow-up
// operation's own outcome. (The sweep path: tests/onboard_test.go.)
func stepOnboard(ctx context.Context, s *stepRun) error {
	const opID = "op-onboard"
	tenant := "8a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c31"
	data := map[string]any{
		"displayName": "Tailspin Toys admins", "duration": "P730D",
		"customer":      map[string]any{"tenantId": tenant, "displayName": "Tailspin Toys"},
		"accessDetails": map[string]any{"unifiedRoles": roleRefs(roleHelpdesk, roleUserAdmin)},
		"accessAssignments": []any{
			map[string]any{"securityGroupId": demoGroupHelpdesk, "roles": roleRefs(roleHelpdesk)},
			map[string]any{"securityGroupId": demoGroupAdmins, "roles": roleRefs(roleHelpdesk, roleUserAdmin)},
		},
	}
	if err := s.send(ctx, opID, command.TypeRelationshipCreate, data); err != nil {
		return err
	}
	if err := s.idleAdvance(ctx, 2*time.Minute, 10*time.Second, "the lock for approval completes"); err != nil {
		return err
	}
	created, err := s.expectOutcome(opID, "")
	if err != nil {
		return err
	}
	if !s.expect(created.Result.Relationship != nil && created.Result.FollowUpOperationID != "",
		"create reports the relationship and a follow-up operation") {
		return nil
	}
	relID := created.Result.Relationship.ID
	s.lines = append(s.lines, "               invitation: "+created.Result.InvitationURL,
		"               follow-up operation: "+created.Result.FollowUpOperationID)
	s.expectRelationship(relID, "approvalPending", func(r gdap.Relationship) bool { return r.Status == gdap.StatusApprovalPending })

	if err := s.idleAdvance(ctx, 10*24*time.Hour, time.Hour, "ten days pass; the follow-up checks once a day (GDAP_FOLLOWUP_POLL)"); err != nil {
		return err
	}
	if err := s.d.st.Graph.Approve(relID, nil); err != nil {
		return err
	}
	s.note("•", "customer", "the customer's admin opens the invitation and approves")
	if err := s.idleAdvance(ctx, 2*time.Minute, 30*time.Second, "approved → activating → active"); err != nil {
		return err
	}
	status, err := s.d.st.DeliverWebhook(ctx, webhook.EventRelationshipActivated, relID)
	if err != nil {
		return err
	}
	s.note("✉", "webhook", "Partner Center posts a signed granular-admin-relationship-activated: HTTP %d", status)
	s.expect(status == http.StatusOK, "the signed webhook is accepted (HTTP %d)", status)
	if err := s.idleAdvance(ctx, 30*time.Second, 10*time.Second, "seconds later: refreshed, announced, follow-up woken and applied"); err != nil {
		return err
	}
	evs, err := s.stepEvents()
	if err != nil {
		return err
	}
	activated := 0
	for _, e := range evs {
		if e.Type == "gdap.relationship.activated" && e.Subject == relID {
			activated++
		}
	}
	s.expect(activated == 1, "one gdap.relationship.activated for the relationship (%d)", activated)
	follow, err := s.expectOutcome(created.Result.FollowUpOperationID, "")
	if err != nil {
		return err
	}
	active := 0
	for _, a := range follow.Result.Assignments {
		s.lines = append(s.lines, fmt.Sprintf("               group %s → %d role(s), %s, %s",
			shortID(a.SecurityGroupID), len(a.Roles), a.Status, a.Action))
		if a.Status == gdap.AssignmentActive && a.Action == "created" {
			active++
		}
	}
	s.expect(active == 2, "both access assignments created and active (%d)", active)
	return nil
}
