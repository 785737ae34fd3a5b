package sweep

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

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

// pageReport is the report summary of one page position, stored in the
// report table (row "report"/<position>, property Report, JSON) with its
// hash on the page-index row. It holds no time relative to the sweep: a
// page whose relationships did not change keeps the same summary, so the
// sweep rewrites it only when the page's relationships change.
type pageReport struct {
	// ByStatus counts the page's relationships by status.
	ByStatus map[string]int `json:"s,omitempty"`
	// AutoExtends counts the active ones Graph will extend by itself.
	AutoExtends int `json:"x,omitempty"`
	// Ends are the end dates (Unix seconds) of the active relationships
	// that have one, by category.
	Ends map[int][]int64 `json:"e,omitempty"`
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
	// Name, Customer and Tenant spare the report a snapshot read; a
	// summary too large for one property keeps the ids only (named false).
	Name     string `json:"n,omitempty"`
	Customer string `json:"u,omitempty"`
	Tenant   string `json:"a,omitempty"`
	Named    bool   `json:"m,omitempty"`
	// AutoExtendOn tells a Global Administrator lapse whose auto-extend is on.
	AutoExtendOn bool `json:"x,omitempty"`
}

// maxSummary keeps a summary within Table Storage's 64 KiB property.
const maxSummary = 60 << 10

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
// Only relationships lapsing within window of now are named (the report
// lists no others); a relationship entering the window is a page-index
// deadline (quietUntil), so the page is summarized again when it does.
func summarize(rels []gdap.Relationship, protected func(string) bool, now time.Time, window time.Duration) []byte {
	r := pageReport{ByStatus: map[string]int{}, Ends: map[int][]int64{}}
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
			r.Ends[cat] = append(r.Ends[cat], end.Unix())
			if (cat == CategoryLapseNoAutoExtend || cat == CategoryLapseGlobalAdmin) && end.After(now) && !end.After(now.Add(window)) {
				r.Notes = append(r.Notes, pageNote{ID: rel.ID, Kind: noteLapse, At: end.Unix(), Cat: cat,
					Name: rel.DisplayName, Customer: rel.Customer.DisplayName, Tenant: rel.Customer.TenantID, Named: true,
					AutoExtendOn: rel.AutoExtendDuration == gdap.AutoExtendOn})
			}
		case gdap.StatusApprovalPending:
			var created int64
			if c := normTime(rel.CreatedDateTime); !c.IsZero() {
				created = c.Unix()
			}
			r.Notes = append(r.Notes, pageNote{ID: rel.ID, Kind: notePending, At: created,
				Name: rel.DisplayName, Customer: rel.Customer.DisplayName, Tenant: rel.Customer.TenantID, Named: true})
		}
	}
	raw, _ := json.Marshal(r) // maps of strings and ints only
	if len(raw) > maxSummary {
		for i := range r.Notes {
			r.Notes[i].Name, r.Notes[i].Customer, r.Notes[i].Tenant, r.Notes[i].Named = "", "", "", false
		}
		raw, _ = json.Marshal(r)
	}
	return raw
}

// reportHash identifies a summary on the page-index row.
func reportHash(summary []byte) string {
	return strconv.FormatUint(hash64(string(summary)), 16)
}

// reportClient is the report table: its own, or the sweep table.
func reportClient(table, report *aztables.Client) tableClient {
	if report != nil {
		return report
	}
	return table
}

// writeReport stores the summary of page position k.
func (st *store) writeReport(ctx context.Context, k int, summary []byte) error {
	body, err := json.Marshal(aztables.EDMEntity{
		Entity:     aztables.Entity{PartitionKey: reportPartition, RowKey: pageRowKey(k)},
		Properties: map[string]any{reportProperty: aztables.EDMBinary(summary)},
	})
	if err != nil {
		return fmt.Errorf("sweep: encode report summary %d: %w", k, err)
	}
	st.n.pageWrites.Add(1)
	if _, err := st.report.UpsertEntity(ctx, body, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}); err != nil {
		return fmt.Errorf("sweep: write report summary %d: %w", k, err)
	}
	return nil
}

// unixTime is t (Unix seconds) in UTC; 0 is the zero time.
func unixTime(t int64) time.Time {
	if t == 0 {
		return time.Time{}
	}
	return time.Unix(t, 0).UTC()
}
