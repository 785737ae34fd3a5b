package pcsim

import (
	"encoding/json"
	"mime"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// Customer is a Partner Center customer as the simulator holds it.
type Customer struct {
	// TenantID is the customer's tenant id (lower case).
	TenantID string `json:"tenantId"`
	// Name is the company name.
	Name string `json:"name"`
	// AllowDelegatedAccess is the legacy DAP flag.
	AllowDelegatedAccess bool `json:"allowDelegatedAccess"`
}

// AddCustomer adds (or replaces) a customer of the partner.
func (s *Sim) AddCustomer(tenantID, name string, allowDelegatedAccess bool) {
	id := strings.ToLower(tenantID)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.customers[id] = &Customer{TenantID: id, Name: name, AllowDelegatedAccess: allowDelegatedAccess}
}

// Customer returns the customer with tenantID, if known.
func (s *Sim) Customer(tenantID string) (Customer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.customers[strings.ToLower(tenantID)]
	if !ok {
		return Customer{}, false
	}
	return *c, true
}

func newGUID() string { return uuid.NewString() }

// pcError is Partner Center's error body.
type pcError struct {
	Code        string `json:"code"`
	Description string `json:"description"`
	Source      string `json:"source"`
}

func writePCError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, pcError{Code: code, Description: description, Source: "PartnerAPIs"})
}

// customerJSON renders c like Partner Center's Customer resource;
// allowDelegatedAccess is populated only when a customer is read by id.
func customerJSON(c Customer, withDAP bool) map[string]any {
	out := map[string]any{
		"id":         c.TenantID,
		"commerceId": c.TenantID,
		"companyProfile": map[string]any{
			"tenantId":    c.TenantID,
			"companyName": c.Name,
			"domain":      strings.ReplaceAll(strings.ToLower(c.Name), " ", "") + ".onmicrosoft.com",
			"attributes":  map[string]any{"objectType": "CustomerCompanyProfile"},
		},
		"relationshipToPartner": "reseller",
		"attributes":            map[string]any{"objectType": "Customer"},
	}
	if withDAP {
		out["allowDelegatedAccess"] = c.AllowDelegatedAccess
	}
	return out
}

// authorizePC enforces Partner Center's App+User-only rule. It writes the
// error response and returns false when the request may not proceed.
func (s *Sim) authorizePC(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := bearer(r)
	if !ok {
		writePCError(w, http.StatusUnauthorized, "Unauthorized", "The request has no Bearer token in its Authorization header.")
		return false
	}
	s.mu.Lock()
	at, known := s.access[tok]
	now := s.opts.Clock.Now()
	s.mu.Unlock()
	switch {
	case known && !now.Before(at.expires):
		writePCError(w, http.StatusUnauthorized, "TokenExpired", "The access token has expired.")
		return false
	case known && at.revoked:
		writePCError(w, http.StatusUnauthorized, "InvalidToken", "The access token has been revoked.")
		return false
	case known && at.appUser:
		return true
	case known && s.opts.AllowAppOnly:
		return true
	default:
		writePCError(w, http.StatusForbidden, "Forbidden", "This operation requires an App+User token (secure application model); app-only or unrecognised tokens are refused.")
		return false
	}
}

func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return tok, true
}

func (s *Sim) serveCustomers(w http.ResponseWriter, r *http.Request, body []byte) {
	id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/customers/"), "/")
	if id == "" || strings.Contains(id, "/") {
		writePCError(w, http.StatusNotFound, "NotFound", "The simulator serves only /v1/customers/{customer-tenant-id}.")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPatch {
		w.Header().Set("Allow", "GET, PATCH")
		writePCError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Only GET and PATCH are supported on a customer.")
		return
	}
	if !s.authorizePC(w, r) {
		return
	}
	if r.Method == http.MethodPatch {
		if msg, ok := validateDAPPatch(r, body); !ok {
			code := http.StatusBadRequest
			if strings.HasPrefix(msg, "Content-Type") {
				code = http.StatusUnsupportedMediaType
			}
			writePCError(w, code, "InvalidInput", msg)
			return
		}
	}
	s.mu.Lock()
	c, ok := s.customers[strings.ToLower(id)]
	if !ok {
		s.mu.Unlock()
		writePCError(w, http.StatusNotFound, "CustomerNotFound", "Customer "+id+" was not found for this partner.")
		return
	}
	withDAP := r.Method == http.MethodGet
	if r.Method == http.MethodPatch {
		s.counters.CustomerPatches++
		if c.AllowDelegatedAccess {
			s.counters.DAPRemovals++
		}
		c.AllowDelegatedAccess = false
	} else {
		s.counters.CustomerGets++
	}
	snapshot := *c
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, customerJSON(snapshot, withDAP))
}

// validateDAPPatch checks that body is a JSON object whose
// AllowDelegatedAccess (any letter case) is false.
func validateDAPPatch(r *http.Request, body []byte) (string, bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return "Content-Type must be application/json.", false
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return "The request body is not a JSON object.", false
	}
	for k, v := range obj {
		if !strings.EqualFold(k, "AllowDelegatedAccess") {
			continue
		}
		var b bool
		if err := json.Unmarshal(v, &b); err != nil || b {
			return "AllowDelegatedAccess must be false.", false
		}
		return "", true
	}
	return "The Customer body must set AllowDelegatedAccess to false.", false
}
