package graphsim

import (
	"net/http"
	"strconv"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// OData type names.
const (
	typeRelationship = "#microsoft.graph.delegatedAdminRelationship"
	typeReseller     = "#microsoft.graph.resellerDelegatedAdminRelationship"
	typeRequest      = "#microsoft.graph.delegatedAdminRelationshipRequest"
	typeOperation    = "#microsoft.graph.delegatedAdminRelationshipOperation"
	typeAssignment   = "#microsoft.graph.delegatedAdminAccessAssignment"
	typeCustomer     = "#microsoft.graph.delegatedAdminCustomer"
	typeServiceDet   = "#microsoft.graph.delegatedAdminServiceManagementDetail"
)

func rolesJSON(roles []string) obj {
	ur := make([]obj, len(roles))
	for i, r := range roles {
		ur[i] = obj{{"roleDefinitionId", r}}
	}
	return obj{{"unifiedRoles", ur}}
}

// renderRelationship renders a relationship (rules 13, 15, 24).
func renderRelationship(r *relationship) obj {
	t := typeRelationship
	if r.reseller {
		t = typeReseller
	}
	var cust any
	if r.hasCustomer {
		cust = obj{{"tenantId", r.customer.TenantID}, {"displayName", r.customer.DisplayName}}
	}
	o := make(obj, 0, 16)
	o = append(o,
		field{"@odata.type", t},
		field{"@odata.etag", etagString(r.etag)},
		field{"id", r.id},
		field{"displayName", r.displayName},
		field{"duration", daysDuration(r.durationDays)},
		field{"status", r.status},
		field{"autoExtendDuration", r.autoExtend},
		field{"createdDateTime", r.created},
		field{"lastModifiedDateTime", r.modified},
		field{"activatedDateTime", r.activated},
		field{"endDateTime", r.end},
		field{"customer", cust},
		field{"accessDetails", rolesJSON(r.roles)},
	)
	if r.reseller {
		o = append(o, field{"indirectProviderTenantId", r.indirectTID}, field{"isPartnerConsentPending", r.consentPend})
	}
	return o
}

// renderRequest renders a request; reject is hidden without Prefer (rule 29).
func renderRequest(q *relRequest, prefer bool) obj {
	action := q.action
	if action == gdap.ActionReject && !prefer {
		action = gdap.StatusUnknownFutureValue
	}
	return obj{
		{"@odata.type", typeRequest},
		{"id", q.id},
		{"action", action},
		{"status", q.status},
		{"createdDateTime", q.created},
		{"lastModifiedDateTime", q.modified},
	}
}

// renderOperation renders an operation; delegatedAdminRelationshipUpdate is
// hidden without Prefer (rule 29).
func renderOperation(op *operation, prefer bool) obj {
	t := op.opType
	if t == opTypeRelationshipUpdate && !prefer {
		t = gdap.StatusUnknownFutureValue
	}
	return obj{
		{"@odata.type", typeOperation},
		{"@odata.etag", etagString(op.etag)},
		{"id", op.id},
		{"operationType", t},
		{"data", op.data},
		{"status", op.status},
		{"createdDateTime", op.created},
		{"lastModifiedDateTime", op.modified},
	}
}

// renderAssignment renders an access assignment.
func renderAssignment(a *assignment) obj {
	return obj{
		{"@odata.type", typeAssignment},
		{"@odata.etag", etagString(a.etag)},
		{"id", a.id},
		{"status", a.status},
		{"createdDateTime", a.created},
		{"lastModifiedDateTime", a.modified},
		{"accessContainer", obj{{"accessContainerId", a.containerID}, {"accessContainerType", a.containerType}}},
		{"accessDetails", rolesJSON(a.roles)},
	}
}

// writeJSON writes status and an object body.
func (c *call) writeJSON(status int, body obj) { c.writeJSONSized(status, body, 4096) }

// writeJSONSized is writeJSON with an output size hint (collections).
func (c *call) writeJSONSized(status int, body obj, hint int) {
	out := body.appendJSON(make([]byte, 0, hint))
	h := c.w.Header()
	h.Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	c.w.WriteHeader(status)
	_, _ = c.w.Write(out)
}

// writeEntity writes one entity with its @odata.context.
func (c *call) writeEntity(status int, context string, e obj) {
	out := make(obj, 0, len(e)+1)
	out = append(out, field{"@odata.context", c.base + "/$metadata#" + context + "/$entity"})
	out = append(out, e...)
	c.writeJSON(status, out)
}

// writeAccepted writes the 202 of a long-running operation (rules 19, 33).
func (c *call) writeAccepted(location string, retryAfter int) {
	h := c.w.Header()
	h.Set("Location", location)
	h.Set("Retry-After", strconv.Itoa(retryAfter))
	h.Set("Content-Type", "application/json")
	c.w.WriteHeader(http.StatusAccepted)
	_, _ = c.w.Write([]byte("{}"))
}

// writeNoContent writes 204.
func (c *call) writeNoContent() { c.w.WriteHeader(http.StatusNoContent) }
