package graphsim

import (
	"slices"
	"time"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// relationship is the stored state of one delegatedAdminRelationship.
type relationship struct {
	seq          uint64 // creation order, the default list order
	id           string
	displayName  string
	status       string
	hasCustomer  bool
	customer     gdap.Customer
	durationDays int
	autoExtend   string
	// roles is never modified in place: a change installs a new slice, so
	// seeded relationships can share role sets.
	roles       []string
	created     time.Time
	modified    time.Time
	activated   time.Time
	end         time.Time
	etag        uint64
	reseller    bool
	indirectTID string
	consentPend bool

	requests    []*relRequest
	operations  []*operation
	assignments []*assignment
	// failNextRequest and failNextOperation script the next request or
	// operation of this relationship to end in failed; failNextAssignment
	// the next access assignment created or updated to end in error.
	failNextRequest    int
	failNextOperation  int
	failNextAssignment int
}

// relRequest is a delegatedAdminRelationshipRequest.
type relRequest struct {
	id       string
	action   string
	status   string
	created  time.Time
	modified time.Time
	etag     uint64
	fail     bool
}

// operation is a delegatedAdminRelationshipOperation (202 LRO).
type operation struct {
	id       string
	opType   string
	status   string
	data     string
	created  time.Time
	modified time.Time
	etag     uint64
	fail     bool
	// newRoles is applied to the relationship (or assignment) on success.
	newRoles   []string
	assignment *assignment
	// assignmentError: the update fails and leaves the assignment in error
	// (FailNextAssignment).
	assignmentError bool
}

// assignment is a delegatedAdminAccessAssignment.
type assignment struct {
	id            string
	containerID   string
	containerType string
	roles         []string
	status        string
	created       time.Time
	modified      time.Time
	etag          uint64
	// fail: it ends in error instead of active (FailNextAssignment).
	fail bool
}

// Operation types (delegatedAdminRelationshipOperationType).
const (
	opTypeAssignmentUpdate   = "delegatedAdminAccessAssignmentUpdate"
	opTypeRelationshipUpdate = "delegatedAdminRelationshipUpdate"
)

// Access assignment statuses (delegatedAdminAccessAssignmentStatus).
const (
	aaPending  = "pending"
	aaActive   = "active"
	aaDeleting = "deleting"
	aaDeleted  = "deleted"
	aaError    = "error"
)

// relationshipStatuses lists every valid status literal (for $filter).
var relationshipStatuses = []string{ //nolint:gochecknoglobals // immutable enum table
	gdap.StatusActivating, gdap.StatusActive, gdap.StatusApprovalPending, gdap.StatusApproved,
	gdap.StatusCreated, gdap.StatusExpired, gdap.StatusExpiring, gdap.StatusTerminated,
	gdap.StatusTerminating, gdap.StatusTerminationRequested, gdap.StatusUnknownFutureValue,
}

// toGDAP converts the stored relationship to the domain type.
func (r *relationship) toGDAP() gdap.Relationship {
	out := gdap.Relationship{
		ID:                       r.id,
		DisplayName:              r.displayName,
		Status:                   r.status,
		Duration:                 daysDuration(r.durationDays),
		AutoExtendDuration:       r.autoExtend,
		UnifiedRoles:             slices.Clone(r.roles),
		CreatedDateTime:          r.created,
		LastModified:             r.modified,
		ActivatedDateTime:        r.activated,
		EndDateTime:              r.end,
		ETag:                     etagString(r.etag),
		IsReseller:               r.reseller,
		IndirectProviderTenantID: r.indirectTID,
		IsPartnerConsentPending:  r.consentPend,
	}
	if r.hasCustomer {
		out.Customer = r.customer
	}
	return out
}

// openRequest reports whether the relationship has a request still created
// or pending (rule 27).
func (r *relationship) openRequest() bool {
	for _, q := range r.requests {
		if q.status == gdap.RequestCreated || q.status == gdap.RequestPending {
			return true
		}
	}
	return false
}

func (r *relationship) findRequest(id string) *relRequest {
	for _, q := range r.requests {
		if q.id == id {
			return q
		}
	}
	return nil
}

func (r *relationship) findOperation(id string) *operation {
	for _, o := range r.operations {
		if o.id == id {
			return o
		}
	}
	return nil
}

func (r *relationship) findAssignment(id string) *assignment {
	for _, a := range r.assignments {
		if a.id == id {
			return a
		}
	}
	return nil
}
