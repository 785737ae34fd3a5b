package graphsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

const ctxRelationships = "tenantRelationships/delegatedAdminRelationships"

// relProps are the body rules of POST/PATCH relationship (rules 6, 22).
var relProps = newPropRules("delegatedAdminRelationship", //nolint:gochecknoglobals // immutable table
	[]string{"displayName", "duration", "customer", "accessDetails", "autoExtendDuration"},
	[]string{"id", "status", "createdDateTime", "lastModifiedDateTime", "activatedDateTime", "endDateTime",
		"accessAssignments", "operations", "requests", "indirectProviderTenantId", "isPartnerConsentPending"},
)

// relFields is the parsed, validated body of a relationship POST/PATCH.
type relFields struct {
	displayName  *string
	durationDays *int
	customer     *gdap.Customer
	clearCust    bool
	roles        []string
	autoExtend   *string
}

// parseRelFields decodes and validates each property present (rules 7, 9,
// 10, 12).
func (s *Sim) parseRelFields(m map[string]json.RawMessage) (relFields, *apiError) {
	var f relFields
	if v, ok, e := stringProp(m, "displayName"); e != nil {
		return f, e
	} else if ok {
		if e := validateDisplayName(v); e != nil {
			return f, e
		}
		f.displayName = &v
	}
	if v, ok, e := stringProp(m, "duration"); e != nil {
		return f, e
	} else if ok {
		days, e := parseDurationDays(v)
		if e != nil {
			return f, e
		}
		f.durationDays = &days
	}
	if v, ok, e := stringProp(m, "autoExtendDuration"); e != nil {
		return f, e
	} else if ok {
		n, e := s.normalizeAutoExtend(v)
		if e != nil {
			return f, e
		}
		f.autoExtend = &n
	}
	if raw, ok := m["customer"]; ok {
		if isNull(raw) {
			f.clearCust = true
		} else {
			var wc wireCustomer
			if e := s.decodeStrict(raw, &wc, "customer"); e != nil {
				return f, e
			}
			if !isGUID(wc.TenantID) {
				return f, badRequest("customer.tenantId must be a GUID.")
			}
			c := gdap.Customer{TenantID: strings.ToLower(wc.TenantID)}
			if wc.DisplayName != nil {
				c.DisplayName = *wc.DisplayName
			}
			f.customer = &c
		}
	}
	if raw, ok := m["accessDetails"]; ok {
		roles, e := s.decodeRoles(raw)
		if e != nil {
			return f, e
		}
		f.roles = roles
	}
	return f, nil
}

// nameTakenLocked reports whether displayName is used by another
// relationship (rule 8: case-insensitive, any status).
func (s *Sim) nameTakenLocked(name, selfID string) bool {
	id, ok := s.names[strings.ToLower(name)]
	return ok && id != selfID
}

func (s *Sim) duplicateName(name string) *apiError {
	return errorf(s.opts.DuplicateNameStatus, s.opts.DuplicateNameCode,
		"A relationship with the display name '"+name+"' already exists.")
}

// insertLocked stores a new relationship.
func (s *Sim) insertLocked(r *relationship) {
	s.nextSeq++
	r.seq = s.nextSeq
	s.rels[r.id] = r
	s.order = append(s.order, r)
	s.names[strings.ToLower(r.displayName)] = r.id
}

// removeLocked deletes a relationship.
func (s *Sim) removeLocked(r *relationship) {
	delete(s.rels, r.id)
	delete(s.names, strings.ToLower(r.displayName))
	i := sort.Search(len(s.order), func(i int) bool { return s.order[i].seq >= r.seq })
	if i < len(s.order) && s.order[i] == r {
		s.order = slices.Delete(s.order, i, i+1)
	}
}

// createRelationshipLocked serves POST relationships (rules 7–14).
func (s *Sim) createRelationshipLocked(c *call) *apiError {
	m, e := s.jsonBody(c, relProps)
	if e != nil {
		return e
	}
	f, e := s.parseRelFields(m)
	if e != nil {
		return e
	}
	switch {
	case f.displayName == nil:
		return badRequest("displayName is required.")
	case f.durationDays == nil:
		return badRequest("duration is required.")
	case f.roles == nil:
		return badRequest("accessDetails is required.")
	}
	r := &relationship{
		id:           newRelationshipID(s.rng),
		displayName:  *f.displayName,
		status:       gdap.StatusCreated,
		durationDays: *f.durationDays,
		autoExtend:   gdap.AutoExtendOff,
		roles:        f.roles,
		created:      c.now,
		modified:     c.now,
	}
	if f.autoExtend != nil {
		r.autoExtend = *f.autoExtend
	}
	if f.customer != nil {
		r.hasCustomer, r.customer = true, *f.customer
	}
	if e := checkAutoExtendGA(r.autoExtend, r.roles); e != nil {
		return e
	}
	if s.nameTakenLocked(r.displayName, "") {
		return s.duplicateName(r.displayName)
	}
	s.bumpLocked(&r.etag)
	s.insertLocked(r)
	c.w.Header().Set("Location", c.location(relPath(r.id)))
	c.writeEntity(http.StatusCreated, ctxRelationships, renderRelationship(r))
	return nil
}

// getRelationshipLocked serves GET relationship (supports $select).
func (s *Sim) getRelationshipLocked(c *call) *apiError {
	r, e := s.relLocked(c)
	if e != nil {
		return e
	}
	sel, e := s.parseItemQuery(c, relShape)
	if e != nil {
		return e
	}
	c.writeEntity(http.StatusOK, ctxRelationships, selectFields(renderRelationship(r), sel))
	return nil
}

// parseItemQuery accepts only $select on an item GET.
func (s *Sim) parseItemQuery(c *call, shape queryShape) ([]string, *apiError) {
	q, e := s.parseListQuery(c, shape)
	if e != nil {
		return nil, e
	}
	if q.filter != nil || q.orderBy != nil || q.count || q.token != "" || q.top != s.opts.PageSize {
		return nil, unsupportedQuery("Only $select is supported on a single entity.")
	}
	return q.selects, nil
}

// patchRelationshipLocked serves PATCH relationship (rules 16–20).
func (s *Sim) patchRelationshipLocked(c *call) *apiError {
	r, e := s.relLocked(c)
	if e != nil {
		return e
	}
	m, e := s.jsonBody(c, relProps)
	if e != nil {
		return e
	}
	if e := s.checkIfMatch(c, r.etag); e != nil {
		return e
	}
	switch r.status {
	case gdap.StatusCreated:
		return s.patchCreatedLocked(c, r, m)
	case gdap.StatusActive:
		return s.patchActiveLocked(c, r, m)
	}
	return s.invalidState("A relationship in status '" + r.status + "' cannot be updated.")
}

// patchCreatedLocked applies rule 17.
func (s *Sim) patchCreatedLocked(c *call, r *relationship, m map[string]json.RawMessage) *apiError {
	f, e := s.parseRelFields(m)
	if e != nil {
		return e
	}
	name, roles, auto := r.displayName, r.roles, r.autoExtend
	if f.displayName != nil {
		name = *f.displayName
	}
	if f.roles != nil {
		roles = f.roles
	}
	if f.autoExtend != nil {
		auto = *f.autoExtend
	}
	if e := checkAutoExtendGA(auto, roles); e != nil {
		return e
	}
	if s.nameTakenLocked(name, r.id) {
		return s.duplicateName(name)
	}
	if len(m) > 0 {
		delete(s.names, strings.ToLower(r.displayName))
		r.displayName = name
		s.names[strings.ToLower(name)] = r.id
		r.roles, r.autoExtend = roles, auto
		if f.durationDays != nil {
			r.durationDays = *f.durationDays
		}
		switch {
		case f.customer != nil:
			r.hasCustomer, r.customer = true, *f.customer
		case f.clearCust:
			r.hasCustomer, r.customer = false, gdap.Customer{}
		}
		r.modified = c.now
		s.bumpLocked(&r.etag)
	}
	c.writeEntity(http.StatusOK, ctxRelationships, renderRelationship(r))
	return nil
}

// patchActiveLocked applies rules 18 and 19.
func (s *Sim) patchActiveLocked(c *call, r *relationship, m map[string]json.RawMessage) *apiError {
	for k := range m {
		if k != "autoExtendDuration" && k != "accessDetails" {
			return badRequest("Property '" + k + "' cannot be changed on an active relationship; only autoExtendDuration and accessDetails can.")
		}
	}
	f, e := s.parseRelFields(m)
	if e != nil {
		return e
	}
	removeGA := false
	if f.roles != nil && !sameRoles(f.roles, r.roles) {
		if !gdap.HasRole(r.roles, gdap.GlobalAdminRoleID) ||
			!sameRoles(f.roles, gdap.WithoutRole(r.roles, gdap.GlobalAdminRoleID)) {
			return badRequest("On an active relationship the only role change allowed is removing the Global Administrator role.")
		}
		removeGA = true
	}
	if removeGA {
		if f.autoExtend != nil {
			return badRequest("Remove the Global Administrator role and change autoExtendDuration in separate requests.")
		}
		for _, op := range r.operations {
			if op.status == gdap.OperationNotStarted || op.status == gdap.OperationRunning {
				return errorf(http.StatusConflict, CodeConflict, "An update operation is already in progress for this relationship.")
			}
		}
		op := s.newOperationLocked(c, r, opTypeRelationshipUpdate, gdap.WithoutRole(r.roles, gdap.GlobalAdminRoleID), nil)
		after := *r
		after.roles = op.newRoles
		op.data = string(renderRelationship(&after).appendJSON(nil))
		c.writeAccepted(c.location(relPath(r.id)+"/operations/"+op.id), s.opts.RetryAfter)
		return nil
	}
	if f.autoExtend != nil && *f.autoExtend != r.autoExtend {
		if e := checkAutoExtendGA(*f.autoExtend, r.roles); e != nil {
			return e
		}
		r.autoExtend = *f.autoExtend
		r.modified = c.now
		s.bumpLocked(&r.etag)
	}
	c.writeEntity(http.StatusOK, ctxRelationships, renderRelationship(r))
	return nil
}

// newOperationLocked creates a notStarted operation and schedules its run.
func (s *Sim) newOperationLocked(c *call, r *relationship, opType string, newRoles []string, a *assignment) *operation {
	op := &operation{
		id:         newGUID(s.rng),
		opType:     opType,
		status:     gdap.OperationNotStarted,
		created:    c.now,
		modified:   c.now,
		newRoles:   newRoles,
		assignment: a,
	}
	if r.failNextOperation > 0 {
		r.failNextOperation--
		op.fail = true
	}
	s.bumpLocked(&op.etag)
	r.operations = append(r.operations, op)
	s.scheduleLocked(&event{at: c.now.Add(s.opts.OperationStartDelay), kind: evOpRunning, rel: r, op: op})
	return op
}

// deleteRelationshipLocked serves DELETE relationship (rule 21).
func (s *Sim) deleteRelationshipLocked(c *call) *apiError {
	r, e := s.relLocked(c)
	if e != nil {
		return e
	}
	if e := s.checkIfMatch(c, r.etag); e != nil {
		return e
	}
	if r.status != gdap.StatusCreated {
		return s.invalidState("Only a relationship in status 'created' can be deleted; this one is '" + r.status + "'.")
	}
	s.removeLocked(r)
	c.writeNoContent()
	return nil
}
