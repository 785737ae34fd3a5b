package devstack

import (
	"fmt"
	"time"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

// Sample names the hand-made relationships AddSample adds, for examples
// that work on a fresh dev stack.
type Sample struct {
	// ExpiringGA is active, ends in 20 days, holds Global Administrator and
	// does not auto-extend: the example for gdap.relationship.removeGlobalAdmin.
	ExpiringGA string
	// Expiring is active, ends in 25 days and does not auto-extend: the
	// example for gdap.relationship.update with autoExtendDuration.
	Expiring string
	// Extending is active, ends in 10 days and auto-extends.
	Extending string
	// Seeded is the generated population's summary.
	Seeded graphsim.SeedSummary
}

// Role template ids of the sample relationships.
const (
	roleHelpdeskAdmin = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	roleUserAdmin     = "fe930be7-5e62-47db-91af-98c3a49a38b1"
)

// AddSample adds three hand-made active relationships ending within 30
// days and a deterministic generated population of 60 more.
func (s *Stack) AddSample() (Sample, error) {
	now := s.Clock.Now()
	add := func(name, tenant string, endIn time.Duration, autoExtend string, roles ...string) (string, error) {
		end := now.Add(endIn)
		id, err := s.Graph.AddRelationship(gdap.Relationship{
			DisplayName: name, Status: gdap.StatusActive,
			Customer:           gdap.Customer{TenantID: tenant, DisplayName: name[:len(name)-len(" helpdesk")]},
			Duration:           "P365D",
			AutoExtendDuration: autoExtend,
			UnifiedRoles:       roles,
			CreatedDateTime:    end.Add(-366 * 24 * time.Hour),
			ActivatedDateTime:  end.Add(-365 * 24 * time.Hour),
			EndDateTime:        end,
		})
		if err != nil {
			return "", fmt.Errorf("devstack: sample relationship %q: %w", name, err)
		}
		return id, nil
	}
	var out Sample
	var err error
	day := 24 * time.Hour
	if out.ExpiringGA, err = add("Contoso helpdesk", "6b0f5a3e-1c2d-4e5f-8a9b-0c1d2e3f4a01", 20*day, gdap.AutoExtendOff,
		gdap.GlobalAdminRoleID, roleHelpdeskAdmin); err != nil {
		return out, err
	}
	if out.Expiring, err = add("Fabrikam helpdesk", "6b0f5a3e-1c2d-4e5f-8a9b-0c1d2e3f4a02", 25*day, gdap.AutoExtendOff,
		roleHelpdeskAdmin, roleUserAdmin); err != nil {
		return out, err
	}
	if out.Extending, err = add("Northwind helpdesk", "6b0f5a3e-1c2d-4e5f-8a9b-0c1d2e3f4a03", 10*day, gdap.AutoExtendOn,
		roleHelpdeskAdmin); err != nil {
		return out, err
	}
	out.Seeded = s.Graph.Seed(graphsim.SeedOptions{Count: 60, Seed: 7})
	return out, nil
}
