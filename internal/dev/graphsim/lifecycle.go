package graphsim

import (
	"time"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// bumpLocked gives an entity a new ETag version (rule 15).
func (s *Sim) bumpLocked(etag *uint64) {
	s.etagCounter++
	*etag = s.etagCounter
}

// setStatusLocked moves a relationship to status at time at.
func (s *Sim) setStatusLocked(r *relationship, status string, at time.Time) {
	r.status = status
	r.modified = at
	s.bumpLocked(&r.etag)
	if gdap.IsTerminal(status) {
		if r.end.IsZero() || r.end.After(at) {
			r.end = at
		}
		s.endAssignmentsLocked(r, at)
	}
}

// enterLocked moves a relationship to status at time at and schedules the
// transition that status waits for (scheduleNextLocked). Statuses reached
// through a partner's terminate request use setStatusLocked instead: the
// request, not the clock, moves them on.
func (s *Sim) enterLocked(r *relationship, status string, at time.Time) {
	s.setStatusLocked(r, status, at)
	s.scheduleNextLocked(r, at, s.scheduleLocked)
}

// scheduleNextLocked schedules, through add (scheduleLocked, or
// appendEventLocked when seeding), the transition a relationship that
// reached its status at time at waits for (rule 30): expiry at endDateTime,
// the approval lapse at createdDateTime + ApprovalLapse (not before at), or
// the next activation, expiry or customer-termination step.
func (s *Sim) scheduleNextLocked(r *relationship, at time.Time, add func(*event)) {
	switch r.status {
	case gdap.StatusActive:
		add(&event{at: r.end, kind: evRelExpiry, rel: r})
	case gdap.StatusApprovalPending:
		add(&event{at: laterOf(r.created.Add(s.opts.ApprovalLapse), at), kind: evRelApprovalLapse, rel: r})
		if s.opts.CustomerApproval > 0 && !r.reseller {
			add(&event{at: at.Add(s.opts.CustomerApproval), kind: evRelCustomerApproves, rel: r})
		}
	case gdap.StatusApproved:
		add(&event{at: at.Add(s.opts.ActivationStepDelay), kind: evRelActivating, rel: r})
	case gdap.StatusActivating:
		add(&event{at: at.Add(s.opts.ActivationStepDelay), kind: evRelActive, rel: r})
	case gdap.StatusExpiring:
		add(&event{at: at.Add(s.opts.ExpiryStepDelay), kind: evRelExpired, rel: r})
	case gdap.StatusTerminationRequested:
		add(&event{at: at.Add(s.opts.TerminationStepDelay), kind: evRelTerminating, rel: r})
	case gdap.StatusTerminating:
		add(&event{at: at.Add(s.opts.TerminationStepDelay), kind: evRelTerminated, rel: r})
	}
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// endAssignmentsLocked deletes the access assignments of an ended relationship.
func (s *Sim) endAssignmentsLocked(r *relationship, at time.Time) {
	for _, a := range r.assignments {
		if a.status != aaDeleted {
			a.status = aaDeleted
			a.modified = at
			s.bumpLocked(&a.etag)
		}
	}
}

// fireLocked applies one due event.
func (s *Sim) fireLocked(e *event) {
	r, at := e.rel, e.at
	switch e.kind {
	case evRelExpiry:
		if r.status != gdap.StatusActive || !r.end.Equal(at) {
			return
		}
		if gdap.IsAutoExtendOn(r.autoExtend) && !gdap.HasRole(r.roles, gdap.GlobalAdminRoleID) {
			r.end = r.end.Add(AutoExtendPeriod)
			r.modified = at
			s.bumpLocked(&r.etag)
			s.scheduleNextLocked(r, at, s.scheduleLocked) // expiry at the new end
			return
		}
		s.enterLocked(r, gdap.StatusExpiring, at)
	case evRelExpired:
		if r.status == gdap.StatusExpiring {
			s.setStatusLocked(r, gdap.StatusExpired, at)
		}
	case evRelApprovalLapse:
		if r.status == gdap.StatusApprovalPending && !r.created.Add(s.opts.ApprovalLapse).After(at) {
			s.setStatusLocked(r, gdap.StatusExpired, at)
		}
	case evRelCustomerApproves:
		if r.status == gdap.StatusApprovalPending {
			s.approveLocked(r, nil, at)
		}
	case evRelActivating:
		if r.status == gdap.StatusApproved {
			s.enterLocked(r, gdap.StatusActivating, at)
		}
	case evRelActive:
		// Activation (rule 30): activatedDateTime = at, endDateTime = at +
		// duration.
		if r.status == gdap.StatusActivating {
			r.activated = at
			r.end = at.AddDate(0, 0, r.durationDays)
			s.enterLocked(r, gdap.StatusActive, at)
		}
	case evRelTerminating:
		if r.status == gdap.StatusTerminationRequested {
			s.enterLocked(r, gdap.StatusTerminating, at)
		}
	case evRelTerminated:
		if r.status == gdap.StatusTerminating {
			s.setStatusLocked(r, gdap.StatusTerminated, at)
		}
	case evReqPending:
		s.requestPendingLocked(r, e.req, at)
	case evReqDone:
		s.requestDoneLocked(r, e.req, at)
	case evOpRunning:
		if e.op.status == gdap.OperationNotStarted {
			e.op.status = gdap.OperationRunning
			e.op.modified = at
			s.bumpLocked(&e.op.etag)
			s.scheduleLocked(&event{at: at.Add(s.opts.OperationCompleteDelay), kind: evOpDone, rel: r, op: e.op})
		}
	case evOpDone:
		s.operationDoneLocked(r, e.op, at)
	case evAAActive:
		if e.aa.status == aaPending {
			e.aa.status = aaActive
			if e.aa.fail {
				e.aa.status = aaError // rule 40
			}
			e.aa.modified = at
			s.bumpLocked(&e.aa.etag)
		}
	case evAADeleted:
		if e.aa.status == aaDeleting {
			e.aa.status = aaDeleted
			e.aa.modified = at
			s.bumpLocked(&e.aa.etag)
		}
	}
}

// requestPendingLocked moves a request created → pending. A terminate
// request moves its relationship terminationRequested → terminating.
func (s *Sim) requestPendingLocked(r *relationship, q *relRequest, at time.Time) {
	if q.status != gdap.RequestCreated {
		return
	}
	q.status = gdap.RequestPending
	q.modified = at
	s.bumpLocked(&q.etag)
	if q.action == gdap.ActionTerminate && r.status == gdap.StatusTerminationRequested {
		s.setStatusLocked(r, gdap.StatusTerminating, at)
	}
	s.scheduleLocked(&event{at: at.Add(s.opts.RequestCompleteDelay), kind: evReqDone, rel: r, req: q})
}

// requestDoneLocked finishes a request and applies its effect (rule 26).
// A scripted failure (FailNextRequest) or a relationship that left the
// required status in the meantime ends the request in failed; a failed
// terminate returns the relationship to active.
func (s *Sim) requestDoneLocked(r *relationship, q *relRequest, at time.Time) {
	if q.status != gdap.RequestPending {
		return
	}
	ok := !q.fail
	if ok {
		switch q.action {
		case gdap.ActionLockForApproval:
			if ok = r.status == gdap.StatusCreated; ok {
				s.enterLocked(r, gdap.StatusApprovalPending, at)
			}
		case gdap.ActionTerminate:
			if ok = r.status == gdap.StatusTerminating || r.status == gdap.StatusTerminationRequested; ok {
				s.setStatusLocked(r, gdap.StatusTerminated, at)
			}
		case gdap.ActionApprove:
			if ok = r.status == gdap.StatusApprovalPending; ok {
				r.consentPend = false
				s.enterLocked(r, gdap.StatusApproved, at)
			}
		case gdap.ActionReject:
			if ok = r.status == gdap.StatusApprovalPending; ok {
				r.consentPend = false
				s.setStatusLocked(r, s.opts.RejectStatus, at)
			}
		}
	}
	if !ok && q.action == gdap.ActionTerminate &&
		(r.status == gdap.StatusTerminating || r.status == gdap.StatusTerminationRequested) {
		// Back to active, and to its expiry: the one scheduled at activation
		// was skipped if endDateTime passed while the termination ran.
		s.enterLocked(r, gdap.StatusActive, at)
	}
	q.status = gdap.RequestSucceeded
	if !ok {
		q.status = gdap.RequestFailed
	}
	q.modified = at
	s.bumpLocked(&q.etag)
}

// operationDoneLocked finishes an operation; only a success applies the new
// roles (and bumps the target's ETag).
func (s *Sim) operationDoneLocked(r *relationship, op *operation, at time.Time) {
	if op.status != gdap.OperationRunning {
		return
	}
	ok := !op.fail
	if ok {
		if a := op.assignment; a != nil {
			ok = a.status == aaActive && r.status == gdap.StatusActive
			switch {
			case ok && op.assignmentError:
				// Rule 40: the update fails and leaves the assignment in error.
				ok = false
				a.status = aaError
				a.modified = at
				s.bumpLocked(&a.etag)
			case ok:
				a.roles = op.newRoles
				a.modified = at
				s.bumpLocked(&a.etag)
			}
		} else if ok = r.status == gdap.StatusActive; ok {
			r.roles = op.newRoles
			r.modified = at
			s.bumpLocked(&r.etag)
		}
	}
	op.status = gdap.OperationSucceeded
	if !ok {
		op.status = gdap.OperationFailed
	}
	op.modified = at
	s.bumpLocked(&op.etag)
}
