package graphsim

import (
	"container/heap"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// SeedOptions configures Seed.
type SeedOptions struct {
	// Count is how many relationships to generate (none when not positive).
	Count int `json:"count"`
	// Seed makes the population deterministic (same seed, same clock time,
	// same population).
	Seed uint64 `json:"seed"`
}

// SeedSummary describes a generated population.
type SeedSummary struct {
	Count     int            `json:"count"`
	Customers int            `json:"customers"`
	Resellers int            `json:"resellers"`
	WithGA    int            `json:"withGlobalAdmin"`
	ByStatus  map[string]int `json:"byStatus"`
	FirstID   string         `json:"firstId,omitempty"`
}

// Role template ids used by the seeder.
const (
	roleHelpdesk     = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	roleUserAdmin    = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	roleSecReader    = "5d6b6bb7-de71-4623-b4af-96380a352509"
	roleExchange     = "29232cdf-9323-42fd-ade2-1d097af3e4de"
	roleTeams        = "69091246-20e8-4a56-aa4d-066075b2a7a8"
	roleGlobalReader = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
	roleIntune       = "3a2c62db-5318-420d-8d74-23affee5d9d5"
)

// seedRoleSets are shared (never mutated) role slices; the first two hold
// Global Administrator.
var seedRoleSets = [][]string{ //nolint:gochecknoglobals // immutable seed data
	{gdap.GlobalAdminRoleID, roleHelpdesk, roleUserAdmin},
	{gdap.GlobalAdminRoleID},
	{roleHelpdesk, roleUserAdmin, roleSecReader},
	{roleExchange, roleTeams},
	{roleGlobalReader},
	{roleHelpdesk, roleIntune, roleGlobalReader, roleUserAdmin},
	{roleSecReader},
	{roleUserAdmin, roleExchange},
}

// seedStatuses is the status mix in per-mille (cumulative order).
var seedStatuses = []struct { //nolint:gochecknoglobals // immutable seed data
	status string
	permil int
}{
	{gdap.StatusActive, 700}, {gdap.StatusCreated, 40}, {gdap.StatusApprovalPending, 60},
	{gdap.StatusApproved, 5}, {gdap.StatusActivating, 5}, {gdap.StatusExpiring, 5},
	{gdap.StatusExpired, 85}, {gdap.StatusTerminationRequested, 5}, {gdap.StatusTerminating, 5},
	{gdap.StatusTerminated, 90},
}

var seedDurations = []int{730, 730, 730, 730, 365, 365, 365, 180, 180, 90, 30} //nolint:gochecknoglobals // immutable seed data

var seedWords = []string{ //nolint:gochecknoglobals // immutable seed data
	"Contoso", "Fabrikam", "Northwind", "Tailspin", "Litware", "Adatum", "Woodgrove", "Proseware",
	"Wingtip", "Alpine", "Trey", "Fourth Coffee", "Lamna", "Relecloud", "Munson", "Coho",
}

// Seed generates a realistic population: ~70% active with end dates spread
// over their duration, the rest created, approvalPending (some of them
// reseller relationships awaiting partner consent), transitional and ended
// statuses; about a quarter hold Global Administrator; about 40% of the
// others auto-extend; customers (GUID tenant ids) own one to three
// relationships each. Statuses in flight get their next transition
// scheduled. It is deterministic for a given Seed and clock time.
func (s *Sim) Seed(o SeedOptions) SeedSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.syncLocked()
	o.Count = max(o.Count, 0)
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)) //nolint:gosec // deterministic test data
	sum := SeedSummary{Count: o.Count, ByStatus: map[string]int{}}
	s.seedBatch++
	prefix := "S" + strconv.Itoa(s.seedBatch) + "-"
	if len(s.rels) == 0 {
		s.rels = make(map[string]*relationship, o.Count)
		s.names = make(map[string]string, o.Count)
	}
	s.order = slices.Grow(s.order, o.Count)

	var cust gdap.Customer
	custLeft := 0
	for i := range o.Count {
		if custLeft == 0 {
			tid := newGUID(rng)
			cust = gdap.Customer{TenantID: tid, DisplayName: seedWords[rng.IntN(len(seedWords))] + " " + tid[:6]}
			custLeft = 1 + rng.IntN(3)
			sum.Customers++
		}
		custLeft--
		r := s.seedOne(rng, now, cust, prefix, i)
		s.bumpLocked(&r.etag)
		s.insertLocked(r)
		s.scheduleNextLocked(r, now, s.appendEventLocked)
		sum.ByStatus[r.status]++
		if r.reseller {
			sum.Resellers++
		}
		if gdap.HasRole(r.roles, gdap.GlobalAdminRoleID) {
			sum.WithGA++
		}
		if i == 0 {
			sum.FirstID = r.id
		}
	}
	heap.Init(&s.sched)
	return sum
}

// seedOne builds one generated relationship.
func (s *Sim) seedOne(rng *rand.Rand, now time.Time, cust gdap.Customer, prefix string, i int) *relationship {
	p := rng.IntN(1000)
	status := gdap.StatusActive
	for _, st := range seedStatuses {
		if p < st.permil {
			status = st.status
			break
		}
		p -= st.permil
	}
	roleSet := rng.IntN(len(seedRoleSets))
	if rng.IntN(100) < 25 {
		roleSet = rng.IntN(2)
	} else if roleSet < 2 {
		roleSet += 2
	}
	days := seedDurations[rng.IntN(len(seedDurations))]
	r := &relationship{
		id:           newRelationshipID(rng),
		status:       status,
		durationDays: days,
		autoExtend:   gdap.AutoExtendOff,
		roles:        seedRoleSets[roleSet],
		hasCustomer:  true,
		customer:     cust,
	}
	var b strings.Builder
	b.Grow(48)
	b.WriteString(prefix)
	b.WriteString(strconv.Itoa(i))
	b.WriteByte(' ')
	name := cust.DisplayName
	if len(name) > maxDisplayName-b.Len() {
		name = name[:maxDisplayName-b.Len()]
	}
	b.WriteString(name)
	r.displayName = b.String()
	if roleSet >= 2 && rng.IntN(100) < 40 {
		r.autoExtend = gdap.AutoExtendOn
	}
	jitter := time.Duration(rng.IntN(86400)) * time.Second
	day := 24 * time.Hour
	switch status {
	case gdap.StatusCreated:
		r.created = now.Add(-time.Duration(rng.IntN(30))*day - jitter)
		r.hasCustomer = rng.IntN(2) == 0
	case gdap.StatusApprovalPending:
		r.created = now.Add(-time.Duration(rng.IntN(89))*day - jitter)
		if rng.IntN(100) < 30 {
			r.reseller, r.consentPend = true, true
			r.indirectTID = newGUID(rng)
		}
		r.hasCustomer = r.reseller || rng.IntN(2) == 0
	case gdap.StatusExpired, gdap.StatusTerminated:
		r.end = now.Add(-time.Duration(1+rng.IntN(400))*day - jitter)
		r.activated = r.end.AddDate(0, 0, -days)
		if status == gdap.StatusTerminated {
			r.activated = r.end.Add(-time.Duration(rng.IntN(days))*day - jitter)
		}
		r.created = r.activated.Add(-time.Duration(1+rng.IntN(10)) * day)
	case gdap.StatusApproved, gdap.StatusActivating:
		r.created = now.Add(-time.Duration(1+rng.IntN(60))*day - jitter)
	default: // active and ending states: activated within the duration
		r.activated = now.Add(-time.Duration(rng.IntN(days))*day - jitter)
		r.end = r.activated.AddDate(0, 0, days)
		if !r.end.After(now) {
			r.end = now.Add(time.Hour)
		}
		r.created = r.activated.Add(-time.Duration(1+rng.IntN(10)) * day)
		if status == gdap.StatusActive && rng.IntN(100) < 2 {
			r.reseller, r.indirectTID = true, newGUID(rng)
		}
	}
	r.modified = r.created
	if !r.activated.IsZero() {
		r.modified = r.activated
	}
	if !r.hasCustomer {
		r.customer = gdap.Customer{}
	}
	return r
}
