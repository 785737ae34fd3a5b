package graphsim

import (
	"net/http"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

var opShape = queryShape{ //nolint:gochecknoglobals // immutable table
	filter: map[string][]string{
		"status": {gdap.OperationNotStarted, gdap.OperationRunning, gdap.OperationSucceeded, gdap.OperationFailed,
			gdap.StatusUnknownFutureValue},
		"operationType": {opTypeAssignmentUpdate, opTypeRelationshipUpdate, gdap.StatusUnknownFutureValue},
	},
	orderBy:    []string{"createdDateTime", "lastModifiedDateTime", "status"},
	selectable: []string{"id", "operationType", "data", "status", "createdDateTime", "lastModifiedDateTime"},
}

func operationsContext(relID string) string {
	return ctxRelationships + "('" + relID + "')/operations"
}

// listOperationsLocked serves GET operations (rule 35).
func (s *Sim) listOperationsLocked(c *call) *apiError {
	r, e := s.relLocked(c)
	if e != nil {
		return e
	}
	items := make([]smallItem, len(r.operations))
	for i, op := range r.operations {
		items[i] = smallItem{o: renderOperation(op, c.prefer), keys: map[string]string{
			"status": op.status, "operationType": op.opType,
			"createdDateTime": sortableTime(op.created), "lastModifiedDateTime": sortableTime(op.modified),
		}}
	}
	return s.serveSmallList(c, opShape, operationsContext(r.id), items)
}

// getOperationLocked serves GET operations/{id} (polling is allowed any
// time, rule 35).
func (s *Sim) getOperationLocked(c *call) *apiError {
	r, e := s.relLocked(c)
	if e != nil {
		return e
	}
	op := r.findOperation(c.subID)
	if op == nil {
		return notFound("delegatedAdminRelationshipOperation '" + c.subID + "'")
	}
	sel, e := s.parseItemQuery(c, opShape)
	if e != nil {
		return e
	}
	c.writeEntity(http.StatusOK, operationsContext(r.id), selectFields(renderOperation(op, c.prefer), sel))
	return nil
}
