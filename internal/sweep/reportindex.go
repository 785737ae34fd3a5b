package sweep

import (
	"encoding/json"
	"time"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// Expiry categories of an active relationship, as the report page draws
// them (docs/sweep.md, "The report summary").
const (
	// CategoryAutoExtends: Graph extends it at its end date by itself.
	CategoryAutoExtends = 0
	// CategoryLapseNoAutoExtend: auto-extend is off; it ends at its end date.
	CategoryLapseNoAutoExtend = 1
	// CategoryLapseGlobalAdmin: Global Administrator blocks auto-extend.
	CategoryLapseGlobalAdmin = 2
	// CategoryProtected: a protected customer's relationship without
	// Global Administrator whose auto-extend is off: the sweep switches it
	// on inside the warning window (docs/contract.md §6.4).
	CategoryProtected = 3
	// Categories is the number of categories.
	Categories = 4
)

// noteKind tells what a pageNote is about.
const (
	noteLapse   = "l" // an active relationship that will lapse; At is its end
	notePending = "p" // a pending approval; At is its creation
)

// pageReport is the report summary of one page position, stored beside the
// page index in the same row (property Report, JSON). It holds no time
// relative to the sweep: a page whose relationships did not change keeps
// the same summary, so the sweep rewrites it only with the page index.
type pageReport struct {
	// ByStatus counts the page's relationships by status.
	ByStatus map[string]int `json:"s,omitempty"`
	// AutoExtends counts the active ones Graph will extend by itself.
	AutoExtends int `json:"x,omitempty"`
	// Ends are the end dates (Unix seconds) and categories of the active
	// relationships that have one.
	Ends [][2]int64 `json:"e,omitempty"`
	// Notes name the relationships the page lists: those that will lapse
	// and the approvals pending.
	Notes []pageNote `json:"n,omitempty"`
}

// pageNote is one relationship named by the report.
type pageNote struct {
	ID   string `json:"i"`
	Kind string `json:"k"`
	At   int64  `json:"t"`
	Cat  int    `json:"c,omitempty"`
}

// categoryOf classifies an active relationship.
func categoryOf(rel gdap.Relationship, protected bool) int {
	ga := rel.HasGlobalAdmin()
	switch {
	case ga:
		return CategoryLapseGlobalAdmin
	case rel.AutoExtendDuration == gdap.AutoExtendOn:
		return CategoryAutoExtends
	case protected:
		return CategoryProtected
	}
	return CategoryLapseNoAutoExtend
}

// summarize builds the report summary of one page's relationships, in
// page order. The encoding is deterministic (encoding/json sorts map keys).
func summarize(rels []gdap.Relationship, protected func(string) bool) []byte {
	r := pageReport{ByStatus: map[string]int{}}
	for _, rel := range rels {
		r.ByStatus[rel.Status]++
		switch rel.Status {
		case gdap.StatusActive:
			cat := categoryOf(rel, protected(rel.Customer.TenantID))
			if cat == CategoryAutoExtends {
				r.AutoExtends++
			}
			end := normTime(rel.EndDateTime)
			if end.IsZero() {
				continue
			}
			r.Ends = append(r.Ends, [2]int64{end.Unix(), int64(cat)})
			if cat == CategoryLapseNoAutoExtend || cat == CategoryLapseGlobalAdmin {
				r.Notes = append(r.Notes, pageNote{ID: rel.ID, Kind: noteLapse, At: end.Unix(), Cat: cat})
			}
		case gdap.StatusApprovalPending:
			var created int64
			if c := normTime(rel.CreatedDateTime); !c.IsZero() {
				created = c.Unix()
			}
			r.Notes = append(r.Notes, pageNote{ID: rel.ID, Kind: notePending, At: created})
		}
	}
	raw, _ := json.Marshal(r) // maps of strings and ints only
	return raw
}

// unixTime is t (Unix seconds) in UTC; 0 is the zero time.
func unixTime(t int64) time.Time {
	if t == 0 {
		return time.Time{}
	}
	return time.Unix(t, 0).UTC()
}
