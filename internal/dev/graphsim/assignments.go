package graphsim

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

var aaCreateProps = newPropRules("delegatedAdminAccessAssignment", //nolint:gochecknoglobals // immutable table
	[]string{"accessContainer", "accessDetails"},
	[]string{"id", "status", "createdDateTime", "lastModifiedDateTime"},
)

var aaPatchProps = newPropRules("delegatedAdminAccessAssignment", //nolint:gochecknoglobals // immutable table
	[]string{"accessDetails"},
	[]string{"id", "status", "createdDateTime", "lastModifiedDateTime", "accessContainer"},
)

var aaShape = queryShape{ //nolint:gochecknoglobals // immutable table
	filter: map[string][]string{
		"status":                            {aaPending, aaActive, aaDeleting, aaDeleted, aaError, gdap.StatusUnknownFutureValue},
		"accessContainer/accessContainerId": nil,
	},
	orderBy:    []string{"createdDateTime", "lastModifiedDateTime", "status"},
	selectable: []string{"id", "status", "createdDateTime", "lastModifiedDateTime", "accessContainer", "accessDetails"},
}

func assignmentsContext(relID string) string {
	return ctxRelationships + "('" + relID + "')/accessAssignments"
}

type wireAccessContainer struct {
	ODataType           string `json:"@odata.type"`
	AccessContainerID   string `json:"accessContainerId"`
	AccessContainerType string `json:"accessContainerType"`
}

// assignmentRoles decodes accessDetails and checks they are a non-empty
// subset of the relationship's roles (rule 32).
func (s *Sim) assignmentRoles(r *relationship, m map[string]json.RawMessage) ([]string, *apiError) {
	raw, ok := m["accessDetails"]
	if !ok {
		return nil, badRequest("accessDetails is required.")
	}
	roles, e := s.decodeRoles(raw)
	if e != nil {
		return nil, e
	}
	if !isSubset(roles, r.roles) {
		return nil, badRequest("The roles of an access assignment must be a subset of the relationship's roles.")
	}
	return roles, nil
}

// createAssignmentLocked serves POST accessAssignments (rule 32).
func (s *Sim) createAssignmentLocked(c *call) *apiError {
	r, e := s.relLocked(c)
	if e != nil {
		return e
	}
	m, e := s.jsonBody(c, aaCreateProps)
	if e != nil {
		return e
	}
	if r.status != gdap.StatusActive {
		return s.invalidState("Access assignments can be created only on an active relationship; this one is '" + r.status + "'.")
	}
	rawC, ok := m["accessContainer"]
	if !ok || isNull(rawC) {
		return badRequest("accessContainer is required.")
	}
	var ac wireAccessContainer
	if e := s.decodeStrict(rawC, &ac, "accessContainer"); e != nil {
		return e
	}
	if ac.AccessContainerType != "securityGroup" {
		return badRequest("accessContainer.accessContainerType must be 'securityGroup'.")
	}
	if !isGUID(ac.AccessContainerID) {
		return badRequest("accessContainer.accessContainerId must be a GUID.")
	}
	roles, e := s.assignmentRoles(r, m)
	if e != nil {
		return e
	}
	for _, a := range r.assignments {
		if a.status != aaDeleted && strings.EqualFold(a.containerID, ac.AccessContainerID) {
			return errorf(http.StatusConflict, CodeConflict,
				"The security group already has an access assignment on this relationship.")
		}
	}
	a := &assignment{
		id: newGUID(s.rng), containerID: strings.ToLower(ac.AccessContainerID), containerType: ac.AccessContainerType,
		roles: roles, status: aaPending, created: c.now, modified: c.now,
	}
	if r.failNextAssignment > 0 {
		r.failNextAssignment--
		a.fail = true
	}
	s.bumpLocked(&a.etag)
	r.assignments = append(r.assignments, a)
	s.scheduleLocked(&event{at: c.now.Add(s.opts.AssignmentStepDelay), kind: evAAActive, rel: r, aa: a})
	c.w.Header().Set("Location", c.location(relPath(r.id)+"/accessAssignments/"+a.id))
	c.writeEntity(http.StatusCreated, assignmentsContext(r.id), renderAssignment(a))
	return nil
}

func (s *Sim) assignmentLocked(c *call) (*relationship, *assignment, *apiError) {
	r, e := s.relLocked(c)
	if e != nil {
		return nil, nil, e
	}
	a := r.findAssignment(c.subID)
	if a == nil {
		return nil, nil, notFound("delegatedAdminAccessAssignment '" + c.subID + "'")
	}
	return r, a, nil
}

// getAssignmentLocked serves GET accessAssignments/{id}.
func (s *Sim) getAssignmentLocked(c *call) *apiError {
	r, a, e := s.assignmentLocked(c)
	if e != nil {
		return e
	}
	sel, e := s.parseItemQuery(c, aaShape)
	if e != nil {
		return e
	}
	c.writeEntity(http.StatusOK, assignmentsContext(r.id), selectFields(renderAssignment(a), sel))
	return nil
}

// listAssignmentsLocked serves GET accessAssignments.
func (s *Sim) listAssignmentsLocked(c *call) *apiError {
	r, e := s.relLocked(c)
	if e != nil {
		return e
	}
	items := make([]smallItem, len(r.assignments))
	for i, a := range r.assignments {
		items[i] = smallItem{o: renderAssignment(a), keys: map[string]string{
			"status": a.status, "accessContainer/accessContainerId": a.containerID,
			"createdDateTime": sortableTime(a.created), "lastModifiedDateTime": sortableTime(a.modified),
		}}
	}
	return s.serveSmallList(c, aaShape, assignmentsContext(r.id), items)
}

// patchAssignmentLocked serves PATCH accessAssignments/{id} (rule 33).
func (s *Sim) patchAssignmentLocked(c *call) *apiError {
	r, a, e := s.assignmentLocked(c)
	if e != nil {
		return e
	}
	m, e := s.jsonBody(c, aaPatchProps)
	if e != nil {
		return e
	}
	if e := s.checkIfMatch(c, a.etag); e != nil {
		return e
	}
	if a.status != aaActive || r.status != gdap.StatusActive {
		return s.invalidState("Only an active access assignment of an active relationship can be updated.")
	}
	roles, e := s.assignmentRoles(r, m)
	if e != nil {
		return e
	}
	if sameRoles(roles, a.roles) {
		c.writeEntity(http.StatusOK, assignmentsContext(r.id), renderAssignment(a))
		return nil
	}
	for _, op := range r.operations {
		if op.assignment == a && (op.status == gdap.OperationNotStarted || op.status == gdap.OperationRunning) {
			return errorf(http.StatusConflict, CodeConflict, "An update operation is already in progress for this access assignment.")
		}
	}
	op := s.newOperationLocked(c, r, opTypeAssignmentUpdate, roles, a)
	if r.failNextAssignment > 0 {
		r.failNextAssignment--
		op.assignmentError = true
	}
	after := *a
	after.roles = roles
	op.data = string(renderAssignment(&after).appendJSON(nil))
	c.writeAccepted(c.location(relPath(r.id)+"/operations/"+op.id), s.opts.RetryAfter)
	return nil
}

// deleteAssignmentLocked serves DELETE accessAssignments/{id} (rule 34). An
// assignment in error can be deleted too (undocumented; it is the only way
// to assign its group again, rule 32).
func (s *Sim) deleteAssignmentLocked(c *call) *apiError {
	r, a, e := s.assignmentLocked(c)
	if e != nil {
		return e
	}
	if e := s.checkIfMatch(c, a.etag); e != nil {
		return e
	}
	if a.status != aaActive && a.status != aaPending && a.status != aaError {
		return s.invalidState("The access assignment is already '" + a.status + "'.")
	}
	a.status = aaDeleting
	a.modified = c.now
	s.bumpLocked(&a.etag)
	s.scheduleLocked(&event{at: c.now.Add(s.opts.AssignmentStepDelay), kind: evAADeleted, rel: r, aa: a})
	c.writeNoContent()
	return nil
}
