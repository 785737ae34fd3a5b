package graphsim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// ControlPrefix is the path prefix of the control surface. It needs no
// authorization and exists for the standalone command and demos:
//
//	GET    /_sim/clock                     {"now","nextTransition"}
//	POST   /_sim/clock/advance             {"by":"90m"} or {"to":"RFC 3339"}
//	GET    /_sim/faults                    armed faults
//	POST   /_sim/faults                    a Fault ({"route","method","kind","times","retryAfter","code","latency":"250ms"});
//	                                       kinds throttle, unavailable, internal, reset, lost, latency, etagRace
//	DELETE /_sim/faults                    clear faults
//	POST   /_sim/fail-next                 {"relationshipId","kind":"request"|"operation"|"assignment"}
//	                                       (assignment: the next one created or updated ends in error)
//	GET    /_sim/journal, DELETE /_sim/journal (also clears counters)
//	GET    /_sim/counters                  {"GET /tenantRelationships/...": n}
//	POST   /_sim/seed                      {"count","seed"} → SeedSummary
//	POST   /_sim/fixtures                  a Fixtures document → {"ids":[…]}
//	POST   /_sim/relationships             a FixtureRelationship → {"id"}
//	GET    /_sim/relationships/{id}        current state (gdap.Relationship)
//	POST   /_sim/approve                   {"relationshipId","customer":{"tenantId","displayName"}}
//	POST   /_sim/reject                    {"relationshipId"} (the customer declines the invitation)
//	POST   /_sim/terminate                 {"relationshipId"} (customer-initiated)
//	POST   /_sim/reset                     drop all state
const ControlPrefix = "/_sim"

type controlFault struct {
	Fault
	Latency string `json:"latency,omitempty"`
}

// serveControl serves the /_sim control surface.
func (s *Sim) serveControl(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, ControlPrefix), "/")
	route := r.Method + " " + p
	if rest, ok := strings.CutPrefix(p, "/relationships/"); ok && r.Method == http.MethodGet {
		rel, found := s.Relationship(rest)
		if !found {
			ctlError(w, http.StatusNotFound, ErrNotFound)
			return
		}
		ctlJSON(w, http.StatusOK, rel)
		return
	}
	switch route {
	case "GET /clock":
		s.ctlClock(w)
	case "POST /clock/advance":
		s.ctlAdvance(w, r)
	case "GET /faults":
		ctlJSON(w, http.StatusOK, s.Faults())
	case "POST /faults":
		var cf controlFault
		if !ctlDecode(w, r, &cf) {
			return
		}
		if cf.Latency != "" {
			d, err := time.ParseDuration(cf.Latency)
			if err != nil {
				ctlError(w, http.StatusBadRequest, err)
				return
			}
			cf.Fault.Latency = d
		}
		if err := s.AddFault(cf.Fault); err != nil {
			ctlError(w, http.StatusBadRequest, err)
			return
		}
		ctlJSON(w, http.StatusCreated, cf.Fault)
	case "DELETE /faults":
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case "POST /fail-next":
		s.ctlFailNext(w, r)
	case "GET /journal":
		ctlJSON(w, http.StatusOK, s.Journal())
	case "DELETE /journal":
		s.ResetJournal()
		w.WriteHeader(http.StatusNoContent)
	case "GET /counters":
		ctlJSON(w, http.StatusOK, s.Counters())
	case "POST /seed":
		var so SeedOptions
		if !ctlDecode(w, r, &so) {
			return
		}
		if so.Count < 0 {
			ctlError(w, http.StatusBadRequest, errors.New("count must not be negative"))
			return
		}
		ctlJSON(w, http.StatusOK, s.Seed(so))
	case "POST /fixtures":
		ids, err := s.LoadFixtures(r.Body)
		if err != nil {
			ctlError(w, http.StatusBadRequest, err)
			return
		}
		ctlJSON(w, http.StatusOK, map[string][]string{"ids": ids})
	case "POST /relationships":
		var fr FixtureRelationship
		if !ctlDecode(w, r, &fr) {
			return
		}
		id, err := s.AddRelationship(fr.toGDAP())
		if err != nil {
			ctlError(w, http.StatusBadRequest, err)
			return
		}
		ctlJSON(w, http.StatusCreated, map[string]string{"id": id})
	case "POST /approve":
		var in struct {
			RelationshipID string           `json:"relationshipId"`
			Customer       *FixtureCustomer `json:"customer"`
		}
		if !ctlDecode(w, r, &in) {
			return
		}
		var cust *gdap.Customer
		if in.Customer != nil {
			cust = &gdap.Customer{TenantID: in.Customer.TenantID, DisplayName: in.Customer.DisplayName}
		}
		ctlResult(w, s.Approve(in.RelationshipID, cust))
	case "POST /terminate":
		s.ctlOnRelationship(w, r, s.TerminateByCustomer)
	case "POST /reject":
		s.ctlOnRelationship(w, r, s.Reject)
	case "POST /reset":
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	default:
		ctlError(w, http.StatusNotFound, errors.New("unknown control route "+route))
	}
}

func (s *Sim) ctlClock(w http.ResponseWriter) {
	s.mu.Lock()
	out := map[string]any{"now": s.syncLocked()}
	if next, ok := s.nextEventLocked(); ok {
		out["nextTransition"] = next
	}
	s.mu.Unlock()
	ctlJSON(w, http.StatusOK, out)
}

func (s *Sim) ctlAdvance(w http.ResponseWriter, r *http.Request) {
	var in struct {
		By string    `json:"by"`
		To time.Time `json:"to"`
	}
	if !ctlDecode(w, r, &in) {
		return
	}
	d := time.Duration(0)
	if in.By != "" {
		var err error
		if d, err = time.ParseDuration(in.By); err != nil {
			ctlError(w, http.StatusBadRequest, err)
			return
		}
	} else if !in.To.IsZero() {
		d = in.To.Sub(s.Now())
	}
	now, err := s.Advance(d)
	if err != nil {
		ctlError(w, http.StatusConflict, err)
		return
	}
	ctlJSON(w, http.StatusOK, map[string]any{"now": now})
}

// ctlOnRelationship decodes {"relationshipId"} and applies act to it.
func (s *Sim) ctlOnRelationship(w http.ResponseWriter, r *http.Request, act func(id string) error) {
	var in struct {
		RelationshipID string `json:"relationshipId"`
	}
	if !ctlDecode(w, r, &in) {
		return
	}
	ctlResult(w, act(in.RelationshipID))
}

func (s *Sim) ctlFailNext(w http.ResponseWriter, r *http.Request) {
	var in struct {
		RelationshipID string `json:"relationshipId"`
		Kind           string `json:"kind"`
	}
	if !ctlDecode(w, r, &in) {
		return
	}
	switch in.Kind {
	case "request":
		ctlResult(w, s.FailNextRequest(in.RelationshipID))
	case "operation":
		ctlResult(w, s.FailNextOperation(in.RelationshipID))
	case "assignment":
		ctlResult(w, s.FailNextAssignment(in.RelationshipID))
	default:
		ctlError(w, http.StatusBadRequest, errors.New("kind must be request, operation or assignment"))
	}
}

func ctlDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return false
	}
	return true
}

func ctlResult(w http.ResponseWriter, err error) {
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, ErrNotFound):
		ctlError(w, http.StatusNotFound, err)
	case errors.Is(err, ErrInvalidState):
		ctlError(w, http.StatusConflict, err)
	default:
		ctlError(w, http.StatusBadRequest, err)
	}
}

func ctlJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func ctlError(w http.ResponseWriter, status int, err error) {
	ctlJSON(w, status, map[string]string{"error": err.Error()})
}
