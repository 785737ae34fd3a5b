package graphsim

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// relShape is what relationship collections support (rule 23). Graph
// documents $filter on the list without naming the properties; the
// simulator filters on status, customer/tenantId and displayName.
var relShape = queryShape{ //nolint:gochecknoglobals // immutable table
	filter: map[string][]string{
		"status":            relationshipStatuses,
		"customer/tenantId": nil,
		"displayName":       nil,
	},
	orderBy: []string{"status", "endDateTime", "createdDateTime", "displayName"},
	selectable: []string{"id", "displayName", "duration", "status", "autoExtendDuration", "createdDateTime",
		"lastModifiedDateTime", "activatedDateTime", "endDateTime", "customer", "accessDetails",
		"indirectProviderTenantId", "isPartnerConsentPending"},
}

// relToken is the keyset position of a relationship page: the sort values
// and creation sequence of the last item served.
type relToken struct {
	Seq     uint64    `json:"s"`
	Status  string    `json:"st,omitempty"`
	End     time.Time `json:"e,omitzero"`
	Created time.Time `json:"c,omitzero"`
	Name    string    `json:"n,omitempty"`
}

func relMatches(r *relationship, filter []filterTerm) bool {
	for _, f := range filter {
		switch f.prop {
		case "status":
			if r.status != f.value {
				return false
			}
		case "customer/tenantId":
			if !r.hasCustomer || !strings.EqualFold(r.customer.TenantID, f.value) {
				return false
			}
		case "displayName":
			// Case-insensitive like the uniqueness of rule 8, so the filter
			// finds the relationship that blocks a name.
			if !strings.EqualFold(r.displayName, f.value) {
				return false
			}
		}
	}
	return true
}

// cmpFold compares ASCII case-insensitively without allocating.
func cmpFold(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := a[i], b[i]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}

// cmpRel orders relationships by the $orderby terms, then creation order.
func cmpRel(a, b *relationship, order []orderTerm) int {
	for _, t := range order {
		var d int
		switch t.prop {
		case "status":
			d = strings.Compare(a.status, b.status)
		case "endDateTime":
			d = a.end.Compare(b.end)
		case "createdDateTime":
			d = a.created.Compare(b.created)
		case "displayName":
			d = cmpFold(a.displayName, b.displayName)
		}
		if d != 0 {
			if t.desc {
				return -d
			}
			return d
		}
	}
	switch {
	case a.seq < b.seq:
		return -1
	case a.seq > b.seq:
		return 1
	}
	return 0
}

// listRelationshipsLocked serves GET relationships with keyset paging: the
// default order is creation order, $orderby sorts with creation order as
// the tie-break, and $skiptoken carries the last item's sort key.
func (s *Sim) listRelationshipsLocked(c *call) *apiError {
	q, e := s.parseListQuery(c, relShape)
	if e != nil {
		return e
	}
	var after *relationship
	if q.token != "" {
		var tok relToken
		if e := decodeToken(q.token, &tok); e != nil {
			return e
		}
		after = &relationship{seq: tok.Seq, status: tok.Status, end: tok.End, created: tok.Created, displayName: tok.Name}
	}
	var page []*relationship
	more := false
	total := 0
	if len(q.orderBy) == 0 {
		start := 0
		if after != nil {
			start = sort.Search(len(s.order), func(i int) bool { return s.order[i].seq > after.seq })
		}
		for _, r := range s.order[start:] {
			if !relMatches(r, q.filter) {
				continue
			}
			if len(page) == q.top {
				more = true
				break
			}
			page = append(page, r)
		}
		if q.count {
			total = s.countMatchingLocked(q.filter)
		}
	} else {
		page, more, total = s.topKLocked(q, after)
	}
	items := make([]obj, len(page))
	for i, r := range page {
		items[i] = selectFields(renderRelationship(r), q.selects)
	}
	next := ""
	if more {
		last := page[len(page)-1]
		next = c.nextLink(encodeToken(relToken{
			Seq: last.seq, Status: last.status, End: last.end, Created: last.created, Name: last.displayName,
		}))
	}
	c.writeCollection(ctxRelationships, items, total, q.count, next)
	return nil
}

// topKLocked selects the first q.top matches after the keyset position in
// $orderby order with a bounded insertion sort (one pass, no full sort).
func (s *Sim) topKLocked(q *listQuery, after *relationship) (page []*relationship, more bool, total int) {
	k := q.top
	best := make([]*relationship, 0, k+1)
	for _, r := range s.order {
		if !relMatches(r, q.filter) {
			continue
		}
		total++
		if after != nil && cmpRel(r, after, q.orderBy) <= 0 {
			continue
		}
		if len(best) == k+1 && cmpRel(r, best[k], q.orderBy) >= 0 {
			more = true
			continue
		}
		i := sort.Search(len(best), func(i int) bool { return cmpRel(best[i], r, q.orderBy) > 0 })
		if len(best) == k+1 {
			best = best[:k]
			more = true
		}
		best = append(best, nil)
		copy(best[i+1:], best[i:])
		best[i] = r
	}
	if len(best) > k {
		best, more = best[:k], true
	}
	return best, more, total
}

func (s *Sim) countMatchingLocked(filter []filterTerm) int {
	if len(filter) == 0 {
		return len(s.rels)
	}
	n := 0
	for _, r := range s.order {
		if relMatches(r, filter) {
			n++
		}
	}
	return n
}

// countRelationshipsLocked serves GET relationships/$count: a plain integer.
func (s *Sim) countRelationshipsLocked(c *call) *apiError {
	q, e := s.parseListQuery(c, relShape)
	if e != nil {
		return e
	}
	if q.orderBy != nil || q.selects != nil || q.token != "" || q.count {
		return unsupportedQuery("Only $filter is supported on $count.")
	}
	c.w.Header().Set("Content-Type", "text/plain")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write([]byte(strconv.Itoa(s.countMatchingLocked(q.filter))))
	return nil
}
