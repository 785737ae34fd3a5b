package graphsim

import (
	"net/http"
	"strings"
)

// Route patterns (relative to /{version}). They name routes in counters,
// journal entries and faults.
const (
	RouteRelationships     = "/tenantRelationships/delegatedAdminRelationships"
	RouteRelationshipCount = "/tenantRelationships/delegatedAdminRelationships/$count"
	RouteRelationship      = "/tenantRelationships/delegatedAdminRelationships/{id}"
	RouteRequests          = "/tenantRelationships/delegatedAdminRelationships/{id}/requests"
	RouteRequest           = "/tenantRelationships/delegatedAdminRelationships/{id}/requests/{requestId}"
	RouteOperations        = "/tenantRelationships/delegatedAdminRelationships/{id}/operations"
	RouteOperation         = "/tenantRelationships/delegatedAdminRelationships/{id}/operations/{operationId}"
	RouteAssignments       = "/tenantRelationships/delegatedAdminRelationships/{id}/accessAssignments"
	RouteAssignment        = "/tenantRelationships/delegatedAdminRelationships/{id}/accessAssignments/{accessAssignmentId}"
	RouteCustomers         = "/tenantRelationships/delegatedAdminCustomers"
	RouteCustomer          = "/tenantRelationships/delegatedAdminCustomers/{customerId}"
	RouteServiceDetails    = "/tenantRelationships/delegatedAdminCustomers/{customerId}/serviceManagementDetails"
	RouteServiceDetail     = "/tenantRelationships/delegatedAdminCustomers/{customerId}/serviceManagementDetails/{detailId}"
)

const (
	get   = http.MethodGet
	post  = http.MethodPost
	patch = http.MethodPatch
	del   = http.MethodDelete
)

// routeMethods lists the methods each route supports; others get 405
// (rules 1, 28).
var routeMethods = map[string][]string{ //nolint:gochecknoglobals // immutable route table
	RouteRelationships:     {get, post},
	RouteRelationshipCount: {get},
	RouteRelationship:      {get, patch, del},
	RouteRequests:          {get, post},
	RouteRequest:           {get},
	RouteOperations:        {get},
	RouteOperation:         {get},
	RouteAssignments:       {get, post},
	RouteAssignment:        {get, patch, del},
	RouteCustomers:         {get},
	RouteCustomer:          {get},
	RouteServiceDetails:    {get},
	RouteServiceDetail:     {get},
}

// matchRoute maps a path below the version segment to a route pattern and
// its ids; "" when no route matches.
func matchRoute(rest string) (route, id, sub string) {
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	if len(segs) < 2 || segs[0] != "tenantRelationships" {
		return "", "", ""
	}
	for _, s := range segs {
		if s == "" {
			return "", "", ""
		}
	}
	switch segs[1] {
	case "delegatedAdminRelationships":
		switch len(segs) {
		case 2:
			return RouteRelationships, "", ""
		case 3:
			if segs[2] == "$count" {
				return RouteRelationshipCount, "", ""
			}
			return RouteRelationship, segs[2], ""
		case 4, 5:
			var coll, item string
			switch segs[3] {
			case "requests":
				coll, item = RouteRequests, RouteRequest
			case "operations":
				coll, item = RouteOperations, RouteOperation
			case "accessAssignments":
				coll, item = RouteAssignments, RouteAssignment
			default:
				return "", "", ""
			}
			if len(segs) == 4 {
				return coll, segs[2], ""
			}
			return item, segs[2], segs[4]
		}
	case "delegatedAdminCustomers":
		switch {
		case len(segs) == 2:
			return RouteCustomers, "", ""
		case len(segs) == 3:
			return RouteCustomer, segs[2], ""
		case len(segs) == 4 && segs[3] == "serviceManagementDetails":
			return RouteServiceDetails, segs[2], ""
		case len(segs) == 5 && segs[3] == "serviceManagementDetails":
			return RouteServiceDetail, segs[2], segs[4]
		}
	}
	return "", "", ""
}

// dispatchLocked runs the handler of c.route / method.
func (s *Sim) dispatchLocked(c *call) *apiError {
	m := c.r.Method
	switch c.route {
	case RouteRelationships:
		if m == post {
			return s.createRelationshipLocked(c)
		}
		return s.listRelationshipsLocked(c)
	case RouteRelationshipCount:
		return s.countRelationshipsLocked(c)
	case RouteRelationship:
		switch m {
		case patch:
			return s.patchRelationshipLocked(c)
		case del:
			return s.deleteRelationshipLocked(c)
		}
		return s.getRelationshipLocked(c)
	case RouteRequests:
		if m == post {
			return s.createRequestLocked(c)
		}
		return s.listRequestsLocked(c)
	case RouteRequest:
		return s.getRequestLocked(c)
	case RouteOperations:
		return s.listOperationsLocked(c)
	case RouteOperation:
		return s.getOperationLocked(c)
	case RouteAssignments:
		if m == post {
			return s.createAssignmentLocked(c)
		}
		return s.listAssignmentsLocked(c)
	case RouteAssignment:
		switch m {
		case patch:
			return s.patchAssignmentLocked(c)
		case del:
			return s.deleteAssignmentLocked(c)
		}
		return s.getAssignmentLocked(c)
	case RouteCustomers:
		return s.listCustomersLocked(c)
	case RouteCustomer:
		return s.getCustomerLocked(c)
	case RouteServiceDetails:
		return s.listServiceDetailsLocked(c)
	case RouteServiceDetail:
		return s.getServiceDetailLocked(c)
	}
	return notFound("Resource")
}

// relLocked looks up c.relID.
func (s *Sim) relLocked(c *call) (*relationship, *apiError) {
	r, ok := s.rels[c.relID]
	if !ok {
		return nil, notFound("delegatedAdminRelationship '" + c.relID + "'")
	}
	return r, nil
}

// checkIfMatch enforces rule 16 against the entity's current ETag.
func (s *Sim) checkIfMatch(c *call, current uint64) *apiError {
	vals := c.r.Header.Values("If-Match")
	if len(vals) == 0 || strings.TrimSpace(vals[0]) == "" {
		if s.opts.MissingIfMatchStatus == http.StatusPreconditionRequired {
			return errorf(http.StatusPreconditionRequired, CodePreconditionRequired,
				"The If-Match header is required.")
		}
		return badRequest("The If-Match header is required.")
	}
	if len(vals) != 1 || vals[0] != etagString(current) {
		e := errorf(http.StatusPreconditionFailed, CodePreconditionFailed,
			"The entity tag in If-Match does not match the current entity tag.")
		e.innerCode = CodeEntityTagDoesNotMatch
		return e
	}
	return nil
}

// invalidState is the error for an action the current status forbids.
func (s *Sim) invalidState(msg string) *apiError {
	return errorf(s.opts.InvalidStateStatus, CodeInvalidState, msg)
}

// location builds an absolute URL below the request's version root.
func (c *call) location(path string) string { return c.base + path }

func relPath(id string) string { return RouteRelationships + "/" + id }
