package graphsim

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// Errors of the Go API.
var (
	// ErrNotFound: no relationship with that id.
	ErrNotFound = errors.New("graphsim: relationship not found")
	// ErrInvalidState: the relationship's status does not allow the action.
	ErrInvalidState = errors.New("graphsim: relationship status does not allow this")
	// ErrInvalidRelationship: AddRelationship or a fixture was rejected.
	ErrInvalidRelationship = errors.New("graphsim: invalid relationship")
	// ErrClockNotAdvanceable: the clock has no Advance method.
	ErrClockNotAdvanceable = errors.New("graphsim: clock cannot be advanced")
)

// DefaultRoles are the roles AddRelationship uses when none are given:
// Helpdesk Administrator and User Administrator.
var DefaultRoles = []string{ //nolint:gochecknoglobals // documented default, copied before use
	"729827e3-9c14-49f7-bb1b-9608f156bbb8", "fe930be7-5e62-47db-91af-98c3a49a38b1",
}

// AddRelationship stores one relationship and returns its id. Zero fields
// take defaults: a generated id (`<guid>-<guid>`) and display name, status
// created, duration P730D, autoExtendDuration PT0S, DefaultRoles,
// createdDateTime now. For an active relationship without dates
// activatedDateTime is now and endDateTime activatedDateTime + duration.
// The customer is set when Customer.TenantID is non-empty. ETag and
// LastModified are ignored (LastModified = CreatedDateTime unless set).
// Transitions due for the status are scheduled as if the relationship had
// reached it now (approval lapse: CreatedDateTime + ApprovalLapse).
func (s *Sim) AddRelationship(in gdap.Relationship) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.syncLocked()
	r, err := s.buildLocked(in, now)
	if err != nil {
		return "", err
	}
	s.bumpLocked(&r.etag)
	s.insertLocked(r)
	s.scheduleNextLocked(r, now, s.scheduleLocked)
	return r.id, nil
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidRelationship, fmt.Sprintf(format, a...))
}

// buildLocked validates in and fills defaults.
func (s *Sim) buildLocked(in gdap.Relationship, now time.Time) (*relationship, error) {
	r := &relationship{
		id: in.ID, displayName: in.DisplayName, status: cmp.Or(in.Status, gdap.StatusCreated),
		autoExtend: gdap.AutoExtendOff, roles: slices.Clone(in.UnifiedRoles),
		created: in.CreatedDateTime.UTC(), modified: in.LastModified.UTC(),
		activated: in.ActivatedDateTime.UTC(), end: in.EndDateTime.UTC(),
		reseller: in.IsReseller || in.IndirectProviderTenantID != "", indirectTID: in.IndirectProviderTenantID,
		consentPend: in.IsPartnerConsentPending,
	}
	if r.id == "" {
		r.id = newRelationshipID(s.rng)
	} else if _, dup := s.rels[r.id]; dup {
		return nil, invalid("id %q already exists", r.id)
	}
	if r.displayName == "" {
		r.displayName = fmt.Sprintf("Relationship %d", s.nextSeq+1)
	}
	if e := validateDisplayName(r.displayName); e != nil {
		return nil, invalid("%s", e.message)
	}
	if s.nameTakenLocked(r.displayName, "") {
		return nil, invalid("displayName %q already exists", r.displayName)
	}
	if !slices.Contains(relationshipStatuses, r.status) || r.status == gdap.StatusUnknownFutureValue {
		return nil, invalid("unknown status %q", r.status)
	}
	days, e := parseDurationDays(cmp.Or(in.Duration, "P730D"))
	if e != nil {
		return nil, invalid("%s", e.message)
	}
	r.durationDays = days
	if in.AutoExtendDuration != "" {
		if r.autoExtend, e = s.normalizeAutoExtend(in.AutoExtendDuration); e != nil {
			return nil, invalid("%s", e.message)
		}
	}
	if len(r.roles) == 0 {
		r.roles = slices.Clone(DefaultRoles)
	}
	if e := validateRoles(r.roles); e != nil {
		return nil, invalid("%s", e.message)
	}
	if e := checkAutoExtendGA(r.autoExtend, r.roles); e != nil {
		return nil, invalid("%s", e.message)
	}
	if in.Customer.TenantID != "" {
		if !isGUID(in.Customer.TenantID) {
			return nil, invalid("customer tenant id %q is not a GUID", in.Customer.TenantID)
		}
		r.hasCustomer = true
		r.customer = gdap.Customer{TenantID: strings.ToLower(in.Customer.TenantID), DisplayName: in.Customer.DisplayName}
	}
	if r.created.IsZero() {
		r.created = now
	}
	if r.modified.IsZero() {
		r.modified = r.created
	}
	switch r.status {
	case gdap.StatusActive, gdap.StatusExpiring, gdap.StatusTerminationRequested, gdap.StatusTerminating:
		if r.activated.IsZero() {
			r.activated = now
		}
		if r.end.IsZero() {
			r.end = r.activated.AddDate(0, 0, r.durationDays)
		}
	case gdap.StatusExpired, gdap.StatusTerminated:
		if r.end.IsZero() {
			r.end = now
		}
	}
	return r, nil
}

// Relationship returns the current state of a relationship (after applying
// due transitions).
func (s *Sim) Relationship(id string) (gdap.Relationship, bool) {
	return view(s, id, (*relationship).toGDAP)
}

// view applies due transitions and returns read(r) for relationship id,
// under the simulator's lock; ok is false when there is no such relationship.
func view[T any](s *Sim, id string, read func(*relationship) T) (out T, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncLocked()
	r, ok := s.rels[id]
	if !ok {
		return out, false
	}
	return read(r), true
}

// RelationshipsNamed returns the current state of the relationships whose
// displayName is name (exactly), in no particular order.
func (s *Sim) RelationshipsNamed(name string) []gdap.Relationship {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncLocked()
	var out []gdap.Relationship
	for _, r := range s.rels {
		if r.displayName == name {
			out = append(out, r.toGDAP())
		}
	}
	return out
}

// Len returns the number of stored relationships.
func (s *Sim) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rels)
}

// Requests returns the requests of a relationship, oldest first.
func (s *Sim) Requests(relID string) ([]gdap.Request, error) {
	out, ok := view(s, relID, func(r *relationship) []gdap.Request {
		out := make([]gdap.Request, len(r.requests))
		for i, q := range r.requests {
			out[i] = gdap.Request{ID: q.id, Action: q.action, Status: q.status, CreatedDateTime: q.created, LastModified: q.modified}
		}
		return out
	})
	if !ok {
		return nil, ErrNotFound
	}
	return out, nil
}

// Operations returns the operations of a relationship, oldest first.
func (s *Sim) Operations(relID string) ([]gdap.Operation, error) {
	out, ok := view(s, relID, func(r *relationship) []gdap.Operation {
		out := make([]gdap.Operation, len(r.operations))
		for i, op := range r.operations {
			out[i] = gdap.Operation{ID: op.id, OperationType: op.opType, Status: op.status, Data: op.data,
				CreatedDateTime: op.created, LastModified: op.modified}
		}
		return out
	})
	if !ok {
		return nil, ErrNotFound
	}
	return out, nil
}

// Approve is the customer approving an approvalPending relationship through
// the invitation link (rule 30): approvalPending → approved → activating →
// active (ActivationStepDelay each); activatedDateTime is set on activation
// and endDateTime = activatedDateTime + duration. customer, when non-nil,
// sets the approving customer (it must match a customer already on the
// relationship); a relationship without customer gets a generated one.
func (s *Sim) Approve(id string, customer *gdap.Customer) error {
	return s.customerAct(id, gdap.StatusApprovalPending, "approve", func(r *relationship, now time.Time) error {
		return s.approveLocked(r, customer, now)
	})
}

// approveLocked approves r (see Approve) under the simulator's lock.
func (s *Sim) approveLocked(r *relationship, customer *gdap.Customer, now time.Time) error {
	if customer != nil {
		if !isGUID(customer.TenantID) {
			return fmt.Errorf("%w: customer tenant id %q is not a GUID", ErrInvalidRelationship, customer.TenantID)
		}
		if r.hasCustomer && !strings.EqualFold(r.customer.TenantID, customer.TenantID) {
			return fmt.Errorf("%w: relationship is for customer %s", ErrInvalidState, r.customer.TenantID)
		}
		r.hasCustomer = true
		r.customer = gdap.Customer{TenantID: strings.ToLower(customer.TenantID),
			DisplayName: cmp.Or(customer.DisplayName, r.customer.DisplayName)}
	}
	if !r.hasCustomer {
		r.hasCustomer = true
		tid := newGUID(s.rng)
		r.customer = gdap.Customer{TenantID: tid, DisplayName: "Customer " + tid[:8]}
	}
	s.enterLocked(r, gdap.StatusApproved, now)
	return nil
}

// Reject is the customer declining an approvalPending relationship through
// the invitation link (rule 39). Graph does not document the resulting
// status; the simulator assumes Options.RejectStatus (default terminated),
// with endDateTime = now, as for a rejected reseller relationship.
func (s *Sim) Reject(id string) error {
	return s.customerAct(id, gdap.StatusApprovalPending, "reject", func(r *relationship, now time.Time) error {
		r.consentPend = false
		s.setStatusLocked(r, s.opts.RejectStatus, now)
		return nil
	})
}

// TerminateByCustomer is the customer terminating an active relationship
// from their side: terminationRequested → terminating → terminated
// (TerminationStepDelay each).
func (s *Sim) TerminateByCustomer(id string) error {
	return s.customerAct(id, gdap.StatusActive, "terminate", func(r *relationship, now time.Time) error {
		s.enterLocked(r, gdap.StatusTerminationRequested, now)
		return nil
	})
}

// customerAct runs act, under the lock and after the due transitions, on
// relationship id when its status is want.
func (s *Sim) customerAct(id, want, action string, act func(r *relationship, now time.Time) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.syncLocked()
	r, ok := s.rels[id]
	if !ok {
		return ErrNotFound
	}
	if r.status != want {
		return fmt.Errorf("%w: %s needs %s, status is %s", ErrInvalidState, action, want, r.status)
	}
	return act(r, now)
}

// FailNextRequest makes the next relationship request posted on relID end
// in failed (with no effect on the relationship).
func (s *Sim) FailNextRequest(relID string) error {
	return s.failNext(relID, func(r *relationship) { r.failNextRequest++ })
}

// FailNextOperation makes the next operation (202) created on relID end in
// failed (the change is not applied).
func (s *Sim) FailNextOperation(relID string) error {
	return s.failNext(relID, func(r *relationship) { r.failNextOperation++ })
}

// FailNextAssignment makes the next access assignment created or updated
// (202) on relID end in status error instead of active (rule 40): a created
// assignment goes pending → error; an update's operation ends in failed,
// the roles unchanged and the assignment in error. A PATCH with unchanged
// roles (200) does not use it up.
func (s *Sim) FailNextAssignment(relID string) error {
	return s.failNext(relID, func(r *relationship) { r.failNextAssignment++ })
}

// failNext applies arm to relationship relID under the lock.
func (s *Sim) failNext(relID string, arm func(*relationship)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rels[relID]
	if !ok {
		return ErrNotFound
	}
	arm(r)
	return nil
}

// Sync applies every transition due at the clock's current time and returns
// that time. Every HTTP request and Go API call does this first.
func (s *Sim) Sync() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncLocked()
}

// NextTransition returns when the next scheduled transition is due (for
// drivers that jump a virtual clock to the next interesting instant). Stale
// entries (for entities that moved on) may make it earlier than needed.
func (s *Sim) NextTransition() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncLocked()
	return s.nextEventLocked()
}

// advancer is implemented by vclock.Virtual.
type advancer interface{ Advance(d time.Duration) }

// Advance moves the clock forward by d (it must have an Advance method, as
// vclock.Virtual does) and applies the transitions that became due.
func (s *Sim) Advance(d time.Duration) (time.Time, error) {
	a, ok := s.opts.Clock.(advancer)
	if !ok {
		return time.Time{}, ErrClockNotAdvanceable
	}
	a.Advance(d)
	return s.Sync(), nil
}

// SetServiceManagementDetails sets the serviceManagementDetails of a
// customer tenant (rule 31). Details without ID get a generated GUID.
func (s *Sim) SetServiceManagementDetails(tenantID string, details []ServiceManagementDetail) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ds := slices.Clone(details)
	for i := range ds {
		if ds[i].ID == "" {
			ds[i].ID = newGUID(s.rng)
		}
	}
	s.smd[strings.ToLower(tenantID)] = ds
}
