package graphsim

import (
	"net/http"
	"time"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

var reqProps = newPropRules("delegatedAdminRelationshipRequest", //nolint:gochecknoglobals // immutable table
	[]string{"action"},
	[]string{"id", "status", "createdDateTime", "lastModifiedDateTime"},
)

var reqShape = queryShape{ //nolint:gochecknoglobals // immutable table
	filter: map[string][]string{
		"status": {gdap.RequestCreated, gdap.RequestPending, gdap.RequestSucceeded, gdap.RequestFailed, gdap.StatusUnknownFutureValue},
		"action": {gdap.ActionLockForApproval, gdap.ActionApprove, gdap.ActionTerminate, gdap.ActionReject, gdap.StatusUnknownFutureValue},
	},
	orderBy:    []string{"createdDateTime", "lastModifiedDateTime", "status"},
	selectable: []string{"id", "action", "status", "createdDateTime", "lastModifiedDateTime"},
}

// sortableTime renders t so that string order is time order.
func sortableTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z")
}

func requestsContext(relID string) string {
	return ctxRelationships + "('" + relID + "')/requests"
}

// createRequestLocked serves POST requests (rules 25–27).
func (s *Sim) createRequestLocked(c *call) *apiError {
	r, e := s.relLocked(c)
	if e != nil {
		return e
	}
	m, e := s.jsonBody(c, reqProps)
	if e != nil {
		return e
	}
	action, ok, e := stringProp(m, "action")
	if e != nil {
		return e
	}
	if !ok {
		return badRequest("action is required.")
	}
	switch action {
	case gdap.ActionLockForApproval, gdap.ActionTerminate, gdap.ActionApprove, gdap.ActionReject:
	default:
		return badRequest("'" + action + "' is not a valid delegatedAdminRelationshipRequestAction.")
	}
	if r.openRequest() {
		return errorf(http.StatusConflict, CodeRequestConflict,
			"Another request for this relationship is still in progress.")
	}
	if e := s.checkActionLocked(r, action); e != nil {
		return e
	}
	q := &relRequest{id: newGUID(s.rng), action: action, status: gdap.RequestCreated, created: c.now, modified: c.now}
	if r.failNextRequest > 0 {
		r.failNextRequest--
		q.fail = true
	}
	s.bumpLocked(&q.etag)
	r.requests = append(r.requests, q)
	if action == gdap.ActionTerminate {
		s.setStatusLocked(r, gdap.StatusTerminationRequested, c.now)
	}
	s.scheduleLocked(&event{at: c.now.Add(s.opts.RequestStartDelay), kind: evReqPending, rel: r, req: q})
	c.w.Header().Set("Location", c.location(relPath(r.id)+"/requests/"+q.id))
	c.writeEntity(http.StatusCreated, requestsContext(r.id), renderRequest(q, c.prefer))
	return nil
}

// checkActionLocked enforces rule 26's preconditions.
func (s *Sim) checkActionLocked(r *relationship, action string) *apiError {
	switch action {
	case gdap.ActionLockForApproval:
		if r.status != gdap.StatusCreated {
			return s.invalidState("lockForApproval requires status 'created'; the relationship is '" + r.status + "'.")
		}
	case gdap.ActionTerminate:
		if r.status != gdap.StatusActive {
			return s.invalidState("terminate requires status 'active'; the relationship is '" + r.status + "'.")
		}
	default: // approve, reject
		if r.status != gdap.StatusApprovalPending || !r.reseller || !r.consentPend {
			return s.invalidState(action + " requires a reseller relationship in status 'approvalPending' awaiting partner consent.")
		}
	}
	return nil
}

// listRequestsLocked serves GET requests (rule 28: every status).
func (s *Sim) listRequestsLocked(c *call) *apiError {
	r, e := s.relLocked(c)
	if e != nil {
		return e
	}
	items := make([]smallItem, len(r.requests))
	for i, q := range r.requests {
		items[i] = smallItem{o: renderRequest(q, c.prefer), keys: map[string]string{
			"status": q.status, "action": q.action,
			"createdDateTime": sortableTime(q.created), "lastModifiedDateTime": sortableTime(q.modified),
		}}
	}
	return s.serveSmallList(c, reqShape, requestsContext(r.id), items)
}

// getRequestLocked serves GET requests/{id}.
func (s *Sim) getRequestLocked(c *call) *apiError {
	r, e := s.relLocked(c)
	if e != nil {
		return e
	}
	q := r.findRequest(c.subID)
	if q == nil {
		return notFound("delegatedAdminRelationshipRequest '" + c.subID + "'")
	}
	sel, e := s.parseItemQuery(c, reqShape)
	if e != nil {
		return e
	}
	c.writeEntity(http.StatusOK, requestsContext(r.id), selectFields(renderRequest(q, c.prefer), sel))
	return nil
}
