package graphsim

import (
	"net/http"
	"strings"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

const ctxCustomers = "tenantRelationships/delegatedAdminCustomers"

// ServiceManagementDetail is a delegatedAdminServiceManagementDetail
// (fixture-driven, rule 31).
type ServiceManagementDetail struct {
	ID                   string `json:"id,omitempty"`
	ServiceName          string `json:"serviceName"`
	ServiceManagementURL string `json:"serviceManagementUrl"`
}

var custShape = queryShape{ //nolint:gochecknoglobals // immutable table
	filter:     map[string][]string{"tenantId": nil},
	orderBy:    []string{"displayName"},
	selectable: []string{"id", "tenantId", "displayName"},
}

var smdShape = queryShape{ //nolint:gochecknoglobals // immutable table
	selectable: []string{"id", "serviceName", "serviceManagementUrl"},
}

// customerStatus reports whether a relationship in this status makes its
// customer a delegatedAdminCustomer (rule 31): approved, activating, active.
func customerStatus(status string) bool {
	switch status {
	case gdap.StatusApproved, gdap.StatusActivating, gdap.StatusActive:
		return true
	}
	return false
}

// customersLocked derives the customers in first-relationship order.
func (s *Sim) customersLocked() []gdap.Customer {
	seen := map[string]bool{}
	var out []gdap.Customer
	for _, r := range s.order {
		if !r.hasCustomer || !customerStatus(r.status) {
			continue
		}
		k := strings.ToLower(r.customer.TenantID)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, r.customer)
	}
	return out
}

// customerLocked looks up the customer c.relID (the path's tenant id).
func (s *Sim) customerLocked(c *call) (gdap.Customer, *apiError) {
	for _, r := range s.order {
		if r.hasCustomer && customerStatus(r.status) && strings.EqualFold(r.customer.TenantID, c.relID) {
			return r.customer, nil
		}
	}
	return gdap.Customer{}, notFound("delegatedAdminCustomer '" + c.relID + "'")
}

func serviceDetailsContext(cu gdap.Customer) string {
	return ctxCustomers + "('" + cu.TenantID + "')/serviceManagementDetails"
}

func renderCustomer(cu gdap.Customer) obj {
	return obj{{"@odata.type", typeCustomer}, {"id", cu.TenantID}, {"tenantId", cu.TenantID}, {"displayName", cu.DisplayName}}
}

// listCustomersLocked serves GET delegatedAdminCustomers.
func (s *Sim) listCustomersLocked(c *call) *apiError {
	custs := s.customersLocked()
	items := make([]smallItem, len(custs))
	for i, cu := range custs {
		items[i] = smallItem{o: renderCustomer(cu), keys: map[string]string{"tenantId": cu.TenantID, "displayName": cu.DisplayName}}
	}
	return s.serveSmallList(c, custShape, ctxCustomers, items)
}

// getCustomerLocked serves GET delegatedAdminCustomers/{id}.
func (s *Sim) getCustomerLocked(c *call) *apiError {
	cu, e := s.customerLocked(c)
	if e != nil {
		return e
	}
	sel, e := s.parseItemQuery(c, custShape)
	if e != nil {
		return e
	}
	c.writeEntity(http.StatusOK, ctxCustomers, selectFields(renderCustomer(cu), sel))
	return nil
}

func renderDetail(d ServiceManagementDetail) obj {
	return obj{{"@odata.type", typeServiceDet}, {"id", d.ID}, {"serviceName", d.ServiceName}, {"serviceManagementUrl", d.ServiceManagementURL}}
}

// listServiceDetailsLocked serves GET …/serviceManagementDetails.
func (s *Sim) listServiceDetailsLocked(c *call) *apiError {
	cu, e := s.customerLocked(c)
	if e != nil {
		return e
	}
	details := s.smd[strings.ToLower(cu.TenantID)]
	items := make([]smallItem, len(details))
	for i, d := range details {
		items[i] = smallItem{o: renderDetail(d)}
	}
	return s.serveSmallList(c, smdShape, serviceDetailsContext(cu), items)
}

// getServiceDetailLocked serves GET …/serviceManagementDetails/{id}.
func (s *Sim) getServiceDetailLocked(c *call) *apiError {
	cu, e := s.customerLocked(c)
	if e != nil {
		return e
	}
	for _, d := range s.smd[strings.ToLower(cu.TenantID)] {
		if d.ID == c.subID {
			c.writeEntity(http.StatusOK, serviceDetailsContext(cu), renderDetail(d))
			return nil
		}
	}
	return notFound("delegatedAdminServiceManagementDetail '" + c.subID + "'")
}
