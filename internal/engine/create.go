package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

// createClockSkew is how much earlier than the recorded intent Graph's
// createdDateTime of this operation's relationship may say (clocks differ).
const createClockSkew = 5 * time.Minute

// createWorkflow runs gdap.relationship.create (docs/contract.md §6.1):
//
//	start            record the intent to create (checkpoint)
//	create           find the relationship this operation created, or POST it
//	lockForApproval  POST a lockForApproval request (unless lockForApproval false)
//	pollRequest      follow the request (poll)
//	finish           read the relationship, start the follow-up, succeed
//
// Creation is exactly once per operation: the intent is in the ledger before
// the POST, and a retry (a lost response, a crash, a takeover) first looks
// for a relationship of the command's unique name created since the intent
// with the command's roles and customer. A name held by any other
// relationship fails with conflict.
func createWorkflow(ctx context.Context, r *run) (stepResult, error) {
	cmd, ok := r.cmd.(*command.CreateRelationship)
	if !ok {
		return failed(op.Failf(op.CodeInternal, "unexpected command %T", r.cmd)), nil
	}
	if r.step() == stepStart {
		r.wf.CreateIntent = r.now()
		r.rec.Step = string(stepCreate)
		if err := r.e.checkpoint(ctx, r); err != nil {
			return stepResult{}, err
		}
		return goTo(stepCreate), nil
	}
	var fu *followUpData
	if len(cmd.Assignments) > 0 {
		fu = &followUpData{Assignments: command.NewAssignmentsData(cmd.Assignments)}
	}
	return createSteps(ctx, r, cmd, fu)
}

// createSteps runs the steps after the recorded intent, shared by
// gdap.relationship.create and gdap.relationship.replace: create (or adopt)
// cc's relationship, lock it, follow the lock, then finish and start the
// follow-up fu (nil: none).
func createSteps(ctx context.Context, r *run, cc *command.CreateRelationship, fu *followUpData) (stepResult, error) {
	switch r.step() {
	case stepCreate:
		return createRelationship(ctx, r, cc)
	case stepLock:
		return lockCreated(ctx, r, cc)
	case stepPollRequest:
		return pollRequest(ctx, r, r.wf.RelationshipID, gdap.ActionLockForApproval, stepFinish)
	case stepFinish:
		return finishCreate(ctx, r, fu)
	}
	return failed(op.Failf(op.CodeInternal, "unknown step %q", r.rec.Step)), nil
}

// createRelationship adopts the relationship this operation created before
// (found by name) or creates it.
func createRelationship(ctx context.Context, r *run, cmd *command.CreateRelationship) (stepResult, error) {
	if r.wf.RelationshipID != "" {
		return goTo(stepLock), nil
	}
	if res, found, err := adoptCreated(ctx, r, cmd); found || err != nil {
		return res, err
	}
	rel, err := r.e.opts.Graph.CreateRelationship(ctx, cmd.NewRelationship())
	if isStatus(err, http.StatusConflict) {
		// The name is taken: by this operation's own earlier POST whose
		// answer was lost, or by another relationship.
		if res, found, ferr := adoptCreated(ctx, r, cmd); found || ferr != nil {
			return res, ferr
		}
		return stepResult{}, err // mapped to conflict
	}
	if err != nil {
		return stepResult{}, err
	}
	r.wf.Wrote = true
	r.log.InfoContext(ctx, "relationship created", "relationship_id", rel.ID)
	return r.created(rel), nil
}

// adoptCreated looks for relationships named as the command's. found is
// true when the step is decided: the one this operation created is adopted,
// or another one holds the name (conflict).
func adoptCreated(ctx context.Context, r *run, cmd *command.CreateRelationship) (stepResult, bool, error) {
	rels, err := r.e.opts.Graph.FindRelationshipsByName(ctx, cmd.DisplayName)
	if err != nil {
		return stepResult{}, false, err
	}
	for _, rel := range rels {
		if !strings.EqualFold(rel.DisplayName, cmd.DisplayName) {
			continue
		}
		if createdBy(rel, cmd, r.wf.CreateIntent) {
			r.wf.Wrote = true
			r.log.InfoContext(ctx, "found the relationship this operation created before", "relationship_id", rel.ID)
			return r.created(rel), true, nil
		}
		return failed(op.Failf(op.CodeConflict,
			"displayName %q is already used by relationship %s (status %s), which this operation did not create; relationship names are unique per partner",
			cmd.DisplayName, rel.ID, rel.Status)), true, nil
	}
	return stepResult{}, false, nil
}

// createdBy reports whether rel is what cmd creates, created since intent.
func createdBy(rel gdap.Relationship, cmd *command.CreateRelationship, intent time.Time) bool {
	if intent.IsZero() || rel.CreatedDateTime.Before(intent.Add(-createClockSkew)) {
		return false
	}
	if !sameRoles(rel.UnifiedRoles, cmd.UnifiedRoles) || !sameDuration(rel.Duration, cmd.Duration) {
		return false
	}
	if cmd.Customer == nil {
		// An open invitation: a customer who approved fills it in.
		return true
	}
	return strings.EqualFold(rel.Customer.TenantID, cmd.Customer.TenantID)
}

// created records the operation's relationship and moves on to the lock.
func (r *run) created(rel gdap.Relationship) stepResult {
	r.wf.RelationshipID = rel.ID
	r.rec.TargetID = rel.ID
	r.fresh = &rel
	return goTo(stepLock)
}

// lockCreated locks the created relationship for approval.
func lockCreated(ctx context.Context, r *run, cmd *command.CreateRelationship) (stepResult, error) {
	if !cmd.LockForApproval {
		return goTo(stepFinish), nil
	}
	relID := r.wf.RelationshipID
	rel, err := r.freshOrGet(ctx, relID)
	if err != nil {
		return stepResult{}, err
	}
	if rel.Status != gdap.StatusCreated {
		if actionGoalHolds(gdap.ActionLockForApproval, rel) {
			return goTo(stepFinish), nil
		}
		return failed(op.Failf(op.CodeInvalidState, "relationship %s is %s: it cannot be locked for approval", relID, rel.Status)), nil
	}
	if !r.firstExecution() {
		// An earlier execution may have locked it, its answer lost: follow
		// that request rather than POST a second one.
		pending, ok, err := r.inFlightRequest(ctx, relID, gdap.ActionLockForApproval)
		if err != nil {
			return stepResult{}, err
		}
		if ok {
			r.wf.Wrote = true
			return r.followRequest(pending), nil
		}
	}
	req, posted, err := r.postRequest(ctx, relID, gdap.ActionLockForApproval)
	if isRefusal(err) {
		// Something changed under us (a concurrent change): re-read and
		// decide again.
		cur, gerr := r.e.opts.Graph.GetRelationship(ctx, relID)
		if gerr != nil {
			return stepResult{}, gerr
		}
		if actionGoalHolds(gdap.ActionLockForApproval, cur) {
			return goTo(stepFinish), nil
		}
		return stepResult{}, err
	}
	if err != nil {
		return stepResult{}, err
	}
	r.wf.Wrote = true
	if posted {
		r.log.InfoContext(ctx, "relationship locked for approval", "request_id", req.ID)
	}
	return r.followRequest(req), nil
}

// finishCreate reads the relationship, starts the follow-up operation fu
// (nil: none) for it, and succeeds.
func finishCreate(ctx context.Context, r *run, fu *followUpData) (stepResult, error) {
	rel, err := r.freshOrGet(ctx, r.wf.RelationshipID)
	if err != nil {
		return stepResult{}, err
	}
	res := &op.Result{Relationship: op.RelationshipOf(rel), InvitationURL: gdap.InvitationURL(rel.ID)}
	if fu != nil {
		id, err := r.e.startFollowUp(ctx, r, rel.ID, *fu)
		if err != nil {
			return stepResult{}, err
		}
		res.FollowUpOperationID = id
	}
	return done(res), nil
}

// followUpEvent is the CloudEvent of a command the service issues itself.
// It carries no time attribute, so that a repeated send is byte-identical
// (a redelivery to the engine, a duplicate to the broker).
type followUpEvent struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Subject         string `json:"subject"`
	DataContentType string `json:"datacontenttype"`
	Data            any    `json:"data"`
}

// followUpData is the data of a follow-up
// gdap.relationship.accessAssignments.set (startFollowUp sets
// RelationshipID and AwaitApproval).
type followUpData struct {
	RelationshipID  string                  `json:"relationshipId"`
	Assignments     command.AssignmentsData `json:"assignments,omitempty"`
	AwaitApproval   bool                    `json:"awaitApproval"`
	CopyFrom        string                  `json:"copyFrom,omitempty"`
	TerminateCopied bool                    `json:"terminateCopied,omitempty"`
}

// startFollowUp issues the follow-up operation for relationship relID: a
// gdap.relationship.accessAssignments.set (fu) that waits for the
// customer's approval, under the reserved id op.FollowUpID(relID), on the
// continuations queue (contract §6.5). Sending it again is harmless.
func (e *Engine) startFollowUp(ctx context.Context, r *run, relID string, fu followUpData) (string, error) {
	id := op.FollowUpID(relID)
	fu.RelationshipID, fu.AwaitApproval = relID, true
	ev := followUpEvent{
		SpecVersion: "1.0", ID: id, Source: e.opts.EventSource, Type: command.TypeAssignmentsSet,
		Subject: relID, DataContentType: "application/json", Data: fu,
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return "", fmt.Errorf("encode follow-up command: %w", err)
	}
	msg, err := op.NewContinuationMessage(op.Continuation{Kind: op.KindCommand, OperationID: id, Command: body}, id, r.rec.OperationID, r.now())
	if err != nil {
		return "", err
	}
	if err := e.send(ctx, e.opts.ContinuationsQueue, msg); err != nil {
		return "", fmt.Errorf("start follow-up operation %s: %w: %w", id, errInfra, err)
	}
	r.log.InfoContext(ctx, "follow-up operation started", "follow_up_operation_id", id)
	return id, nil
}
