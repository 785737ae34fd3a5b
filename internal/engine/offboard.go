package engine

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

// offboardEntry is what an offboarding did to one relationship.
type offboardEntry struct {
	Name   string `json:"n"`
	Prev   string `json:"p"`
	Action string `json:"a"`
	// RequestID is the terminate request followed.
	RequestID string `json:"r,omitempty"`
}

// offboardWorkflow runs gdap.customer.offboard (docs/contract.md §6.1):
//
//	start, apply   list the customer's relationships; terminate the active
//	               ones (a terminate request each, or the one in flight),
//	               delete the created ones (If-Match); others are reported
//	pollOffboard   list again until every termination is done and nothing
//	               new needs ending: the final list is the outcome's (poll)
//	removeDap,     with removeDap, remove legacy DAP in Partner Center, then
//	confirmDap     list once more
//
// What it did to each relationship is kept in the workflow state, so every
// step is resumable; a write is guarded (a terminate request in flight is
// followed, a DELETE carries If-Match), so a retry never writes twice.
func offboardWorkflow(ctx context.Context, r *run) (stepResult, error) {
	cmd, ok := r.cmd.(*command.OffboardCustomer)
	if !ok {
		return failed(op.Failf(op.CodeInternal, "unexpected command %T", r.cmd)), nil
	}
	if r.e.opts.Protected(cmd.CustomerTenantID) {
		return failed(op.Failf(op.CodePolicyDenied, "customer %s is protected (GDAP_PROTECTED_CUSTOMERS): it will not be offboarded", cmd.CustomerTenantID)), nil
	}
	switch r.step() {
	case stepStart, stepApply:
		return applyOffboard(ctx, r, cmd)
	case stepPollOffboard:
		return pollOffboard(ctx, r, cmd)
	case stepRemoveDAP, stepConfirmDAP:
		return dapStep(ctx, r, cmd.CustomerTenantID, r.step(), stepRemoveDAP, stepConfirmDAP, func() stepResult {
			r.wf.DAPRemoved = true
			return goTo(stepPollOffboard)
		})
	}
	return failed(op.Failf(op.CodeInternal, "unknown step %q", r.rec.Step)), nil
}

// offboardNeedsWrite reports whether rel still needs this operation to end it.
func (r *run) offboardNeedsWrite(rel gdap.Relationship) bool {
	e := r.wf.Offboard[rel.ID]
	switch rel.Status {
	case gdap.StatusActive:
		return e == nil || e.RequestID == ""
	case gdap.StatusCreated:
		return true
	}
	return false
}

func applyOffboard(ctx context.Context, r *run, cmd *command.OffboardCustomer) (stepResult, error) {
	rels, err := r.e.opts.Graph.ListCustomerRelationships(ctx, cmd.CustomerTenantID)
	if err != nil {
		return stepResult{}, err
	}
	if r.wf.Offboard == nil {
		r.wf.Offboard = map[string]*offboardEntry{}
	}
	writes := 0
	for _, rel := range rels {
		if _, seen := r.wf.Offboard[rel.ID]; !seen {
			e := &offboardEntry{Name: rel.DisplayName, Prev: rel.Status, Action: op.OffboardNone}
			r.wf.Offboard[rel.ID] = e
			if isEnding(rel.Status) || rel.Status == gdap.StatusTerminated {
				// Terminating or terminated: by this operation's own
				// request, if its record was lost in a crash (a request
				// since it was accepted), or by someone else.
				if err := r.adoptTermination(ctx, rel, e); err != nil {
					return stepResult{}, err
				}
			}
		}
		if !r.offboardNeedsWrite(rel) {
			continue
		}
		if writes >= maxAssignmentWrites {
			return waitFor(stepApply, time.Millisecond), nil
		}
		writes++
		if err := r.endRelationship(ctx, rel); err != nil {
			return stepResult{}, err
		}
	}
	r.wf.Polls = 0
	return waitFor(stepPollOffboard, op.DefaultPollInterval), nil
}

// endRelationship terminates an active relationship (following a terminate
// request already in flight) or deletes a created one.
func (r *run) endRelationship(ctx context.Context, rel gdap.Relationship) error {
	e := r.wf.Offboard[rel.ID]
	g := r.e.opts.Graph
	if rel.Status == gdap.StatusCreated {
		// Recorded before the call: an answer lost on the way (the
		// relationship gone, the call failed) is this operation's deletion.
		// While the relationship is still listed it is deleted again.
		prevAction, prevWrote := e.Action, r.wf.Wrote
		e.Action = op.OffboardDeleted
		r.wf.Wrote = true
		err := g.DeleteRelationship(ctx, rel.ID, rel.ETag)
		switch {
		case isStatus(err, http.StatusNotFound):
			// Gone since the list: this operation's own DELETE whose
			// answer was lost (a retry), or another client's.
			r.log.InfoContext(ctx, "relationship already deleted", "relationship_id", rel.ID)
		case isStatus(err, http.StatusPreconditionFailed):
			// Changed since the list: not deleted; the next list decides again.
			e.Action, r.wf.Wrote = prevAction, prevWrote
			r.log.InfoContext(ctx, "relationship changed before its deletion; re-listing", "relationship_id", rel.ID)
			return nil
		case err != nil:
			return err
		}
		r.log.InfoContext(ctx, "created relationship deleted", "relationship_id", rel.ID)
		return nil
	}
	req, inFlight, err := r.inFlightRequest(ctx, rel.ID, gdap.ActionTerminate)
	if err != nil {
		return err
	}
	if !inFlight {
		req, err = g.CreateRequest(ctx, rel.ID, gdap.ActionTerminate)
		if isStatus(err, http.StatusConflict) || isStatus(err, http.StatusBadRequest) {
			r.log.InfoContext(ctx, "terminate refused; re-listing", "relationship_id", rel.ID)
			return nil
		}
		if err != nil {
			return err
		}
		r.log.InfoContext(ctx, "relationship termination requested", "relationship_id", rel.ID, "request_id", req.ID)
	}
	e.Action, e.RequestID = op.OffboardTerminated, req.ID
	r.wf.Wrote = true
	return nil
}

// adoptTermination marks rel terminated by this operation when a terminate
// request was created since the operation was accepted.
func (r *run) adoptTermination(ctx context.Context, rel gdap.Relationship, e *offboardEntry) error {
	reqs, err := r.e.opts.Graph.ListRequests(ctx, rel.ID)
	if err != nil {
		return err
	}
	for _, q := range reqs {
		if q.Action == gdap.ActionTerminate && !q.CreatedDateTime.Before(r.rec.AcceptedAt) {
			e.Prev, e.Action, e.RequestID = gdap.StatusActive, op.OffboardTerminated, q.ID
			return nil
		}
	}
	return nil
}

// pollOffboard lists the customer's relationships again: done when every
// termination finished and nothing is left to end; back to apply when a
// relationship needs ending (one created meanwhile, a refused write).
func pollOffboard(ctx context.Context, r *run, cmd *command.OffboardCustomer) (stepResult, error) {
	rels, err := r.e.opts.Graph.ListCustomerRelationships(ctx, cmd.CustomerTenantID)
	if err != nil {
		return stepResult{}, err
	}
	pending := false
	for _, rel := range rels {
		e := r.wf.Offboard[rel.ID]
		if e == nil || r.offboardNeedsWrite(rel) {
			return goTo(stepApply), nil
		}
		if e.Action != op.OffboardTerminated || gdap.IsTerminal(rel.Status) {
			continue // ended (terminated, or expired meanwhile)
		}
		pending = true
		if rel.Status == gdap.StatusActive {
			req, err := r.e.opts.Graph.GetRequest(ctx, rel.ID, e.RequestID)
			if err != nil {
				return stepResult{}, err
			}
			if req.Status == gdap.RequestFailed {
				return failed(op.Failf(op.CodeOperationFailed, "the termination of relationship %s (request %s) failed upstream", rel.ID, req.ID)), nil
			}
		}
	}
	if pending {
		r.wf.Polls++
		return waitFor(stepPollOffboard, op.PollDelay(op.DefaultPollInterval, r.wf.Polls)), nil
	}
	if cmd.RemoveDAP && !r.wf.DAPRemoved {
		r.wf.Polls = 0
		return goTo(stepRemoveDAP), nil
	}
	return done(r.offboardResult(cmd, rels)), nil
}

// offboardResult reports every relationship seen, in a stable order.
func (r *run) offboardResult(cmd *command.OffboardCustomer, rels []gdap.Relationship) *op.Result {
	status := make(map[string]string, len(rels))
	for _, rel := range rels {
		status[rel.ID] = rel.Status
	}
	ids := make([]string, 0, len(r.wf.Offboard))
	for id := range r.wf.Offboard {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	res := &op.Result{Relationships: make([]op.OffboardedRelationship, 0, len(ids))}
	for _, id := range ids {
		e := r.wf.Offboard[id]
		st, ok := status[id]
		if !ok {
			st = "deleted"
		}
		res.Relationships = append(res.Relationships, op.OffboardedRelationship{
			ID: id, DisplayName: e.Name, PreviousStatus: e.Prev, Action: e.Action, Status: st,
		})
	}
	if cmd.RemoveDAP {
		removed := r.wf.DAPRemoved
		res.DapRemoved = &removed
	}
	return res
}

// isEnding reports whether status is on its way to terminated.
func isEnding(status string) bool {
	return strings.EqualFold(status, gdap.StatusTerminationRequested) || strings.EqualFold(status, gdap.StatusTerminating)
}
