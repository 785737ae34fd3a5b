package graphsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// Fixtures is the JSON fixture file format: hand-written relationships and
// the serviceManagementDetails of customer tenants.
//
//	{"relationships": [{"displayName": "Contoso GDAP", "status": "active",
//	   "customer": {"tenantId": "…", "displayName": "Contoso"},
//	   "duration": "P730D", "autoExtendDuration": "PT0S",
//	   "unifiedRoles": ["62e90394-69f5-4237-9190-012177145e10"],
//	   "activatedDateTime": "2026-01-01T00:00:00Z"}],
//	 "serviceManagementDetails": {"<tenantId>": [{"serviceName": "…", "serviceManagementUrl": "…"}]}}
type Fixtures struct {
	Relationships            []FixtureRelationship                `json:"relationships"`
	ServiceManagementDetails map[string][]ServiceManagementDetail `json:"serviceManagementDetails,omitempty"`
}

// FixtureRelationship is one relationship of a fixture file. Omitted
// fields take AddRelationship's defaults.
type FixtureRelationship struct {
	ID                       string           `json:"id,omitempty"`
	DisplayName              string           `json:"displayName,omitempty"`
	Status                   string           `json:"status,omitempty"`
	Customer                 *FixtureCustomer `json:"customer,omitempty"`
	Duration                 string           `json:"duration,omitempty"`
	AutoExtendDuration       string           `json:"autoExtendDuration,omitempty"`
	UnifiedRoles             []string         `json:"unifiedRoles,omitempty"`
	CreatedDateTime          time.Time        `json:"createdDateTime,omitzero"`
	ActivatedDateTime        time.Time        `json:"activatedDateTime,omitzero"`
	EndDateTime              time.Time        `json:"endDateTime,omitzero"`
	Reseller                 bool             `json:"reseller,omitempty"`
	IndirectProviderTenantID string           `json:"indirectProviderTenantId,omitempty"`
	IsPartnerConsentPending  bool             `json:"isPartnerConsentPending,omitempty"`
}

// FixtureCustomer is the customer of a fixture relationship.
type FixtureCustomer struct {
	TenantID    string `json:"tenantId"`
	DisplayName string `json:"displayName,omitempty"`
}

// toGDAP converts a fixture relationship for AddRelationship.
func (f FixtureRelationship) toGDAP() gdap.Relationship {
	r := gdap.Relationship{
		ID: f.ID, DisplayName: f.DisplayName, Status: f.Status, Duration: f.Duration,
		AutoExtendDuration: f.AutoExtendDuration, UnifiedRoles: f.UnifiedRoles,
		CreatedDateTime: f.CreatedDateTime, ActivatedDateTime: f.ActivatedDateTime, EndDateTime: f.EndDateTime,
		IsReseller: f.Reseller, IndirectProviderTenantID: f.IndirectProviderTenantID,
		IsPartnerConsentPending: f.IsPartnerConsentPending,
	}
	if f.Customer != nil {
		r.Customer = gdap.Customer{TenantID: f.Customer.TenantID, DisplayName: f.Customer.DisplayName}
	}
	return r
}

// LoadFixtures adds the relationships and service management details of a
// fixture document (unknown fields are errors) and returns the ids of the
// added relationships in order. It stops at the first invalid relationship.
func (s *Sim) LoadFixtures(rd io.Reader) ([]string, error) {
	raw, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("graphsim: read fixtures: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var fx Fixtures
	if err := dec.Decode(&fx); err != nil {
		return nil, fmt.Errorf("%w: fixtures: %w", ErrInvalidRelationship, err)
	}
	ids := make([]string, 0, len(fx.Relationships))
	for i, fr := range fx.Relationships {
		id, err := s.AddRelationship(fr.toGDAP())
		if err != nil {
			return ids, fmt.Errorf("fixture relationship %d: %w", i, err)
		}
		ids = append(ids, id)
	}
	for tid, d := range fx.ServiceManagementDetails {
		s.SetServiceManagementDetails(tid, d)
	}
	return ids, nil
}

// LoadFixturesFile is LoadFixtures on a file.
func (s *Sim) LoadFixturesFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("graphsim: open fixtures: %w", err)
	}
	defer f.Close()
	return s.LoadFixtures(f)
}
