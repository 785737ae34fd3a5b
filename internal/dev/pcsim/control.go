package pcsim

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// serveControl answers the simulator's control API (development and
// standalone use; tests normally call the Go methods):
//
//	POST   /_pcsim/customers               {"tenantId","name","allowDelegatedAccess"}
//	GET    /_pcsim/customers/{id}
//	POST   /_pcsim/refresh-tokens          {"clientId"} → {"refreshToken"}
//	POST   /_pcsim/refresh-tokens/revoke   {"refreshToken"} or {"clientId"} (all of its tokens)
//	PUT    /_pcsim/secrets/{name}          {"value"} → {"version"}
//	POST   /_pcsim/faults                  {"route","method","kind","count","retryAfterSeconds"}
//	DELETE /_pcsim/faults
//	GET    /_pcsim/journal
//	GET    /_pcsim/counters
func (s *Sim) serveControl(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/_pcsim/"), "/")
	bad := func(msg string) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
	}
	decode := func(v any) bool {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
			bad("invalid JSON body: " + err.Error())
			return false
		}
		return true
	}
	switch {
	case path == "customers" && r.Method == http.MethodPost:
		var in Customer
		if !decode(&in) {
			return
		}
		if in.TenantID == "" {
			bad("tenantId is required")
			return
		}
		s.AddCustomer(in.TenantID, in.Name, in.AllowDelegatedAccess)
		c, _ := s.Customer(in.TenantID)
		writeJSON(w, http.StatusCreated, c)
	case strings.HasPrefix(path, "customers/") && r.Method == http.MethodGet:
		c, ok := s.Customer(strings.TrimPrefix(path, "customers/"))
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown customer"})
			return
		}
		writeJSON(w, http.StatusOK, c)
	case path == "refresh-tokens" && r.Method == http.MethodPost:
		var in struct {
			ClientID string `json:"clientId"`
		}
		if !decode(&in) {
			return
		}
		if in.ClientID == "" {
			bad("clientId is required")
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"refreshToken": s.IssueRefreshToken(in.ClientID)})
	case path == "refresh-tokens/revoke" && r.Method == http.MethodPost:
		var in struct {
			RefreshToken string `json:"refreshToken"`
			ClientID     string `json:"clientId"`
		}
		if !decode(&in) {
			return
		}
		n := 0
		switch {
		case in.RefreshToken != "":
			if s.RevokeRefreshToken(in.RefreshToken) {
				n = 1
			}
		case in.ClientID != "":
			n = s.RevokeAllRefreshTokens(in.ClientID)
		default:
			bad("refreshToken or clientId is required")
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
	case strings.HasPrefix(path, "secrets/") && r.Method == http.MethodPut:
		var in struct {
			Value string `json:"value"`
		}
		if !decode(&in) {
			return
		}
		name := strings.TrimPrefix(path, "secrets/")
		if !secretNameRE.MatchString(name) {
			bad("invalid secret name")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"version": s.SetSecret(name, in.Value)})
	case path == "faults" && r.Method == http.MethodPost:
		var in struct {
			Route             Route     `json:"route"`
			Method            string    `json:"method"`
			Kind              FaultKind `json:"kind"`
			Count             int       `json:"count"`
			RetryAfterSeconds int       `json:"retryAfterSeconds"`
		}
		if !decode(&in) {
			return
		}
		if err := s.InjectFault(in.Route, in.Method, Fault{Kind: in.Kind, Count: in.Count, RetryAfter: time.Duration(in.RetryAfterSeconds) * time.Second}); err != nil {
			bad(err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case path == "faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case path == "journal" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Journal())
	case path == "counters" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Counters())
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown control endpoint"})
	}
}
