package graphsim

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// queryShape says which query options and properties a collection supports.
type queryShape struct {
	// filter maps a filterable property path to its allowed values (nil:
	// any value).
	filter map[string][]string
	// orderBy lists the sortable properties.
	orderBy []string
	// selectable lists the properties $select may name.
	selectable []string
}

// filterTerm is one `prop eq 'value'` clause.
type filterTerm struct{ prop, value string }

// orderTerm is one $orderby item.
type orderTerm struct {
	prop string
	desc bool
}

// listQuery is a parsed collection query (rule 23).
type listQuery struct {
	top     int
	filter  []filterTerm
	orderBy []orderTerm
	selects []string
	count   bool
	token   string // raw $skiptoken
}

var filterTermRE = regexp.MustCompile(`^\s*([A-Za-z]+(?:/[A-Za-z]+)?)\s+eq\s+'((?:[^']|'')*)'\s*$`) //nolint:gochecknoglobals // compiled once

func unsupportedQuery(msg string) *apiError {
	return errorf(400, CodeBadRequest, msg)
}

// parseListQuery parses and validates the OData query options of a
// collection GET. Options other than $top, $filter, $orderby, $select,
// $count and $skiptoken are rejected.
func (s *Sim) parseListQuery(c *call, shape queryShape) (*listQuery, *apiError) {
	q := &listQuery{top: s.opts.PageSize}
	vals, err := url.ParseQuery(c.r.URL.RawQuery)
	if err != nil {
		return nil, unsupportedQuery("The query string is malformed.")
	}
	for k, v := range vals {
		if !strings.HasPrefix(k, "$") {
			continue
		}
		if len(v) != 1 {
			return nil, unsupportedQuery("Query option '" + k + "' is given more than once.")
		}
		val := v[0]
		switch strings.ToLower(k) {
		case "$top":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > s.opts.PageSize {
				return nil, unsupportedQuery("$top must be an integer between 1 and " + strconv.Itoa(s.opts.PageSize) + ".")
			}
			q.top = n
		case "$filter":
			terms, e := parseFilter(val, shape)
			if e != nil {
				return nil, e
			}
			q.filter = terms
		case "$orderby":
			terms, e := parseOrderBy(val, shape)
			if e != nil {
				return nil, e
			}
			q.orderBy = terms
		case "$select":
			for p := range strings.SplitSeq(val, ",") {
				p = strings.TrimSpace(p)
				if !slices.Contains(shape.selectable, p) {
					return nil, unsupportedQuery("Could not find a property named '" + p + "' for $select.")
				}
				q.selects = append(q.selects, p)
			}
		case "$count":
			switch val {
			case "true":
				q.count = true
			case "false":
			default:
				return nil, unsupportedQuery("$count must be true or false.")
			}
		case "$skiptoken":
			q.token = val
		default:
			return nil, unsupportedQuery("Query option '" + k + "' is not supported.")
		}
	}
	return q, nil
}

// splitAnd splits a $filter expression at the `and` operators outside
// string literals (a doubled quote inside a literal is an escaped one), so
// that a value such as 'Tom and Jerry' stays whole.
func splitAnd(expr string) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(expr); i++ {
		switch {
		case expr[i] == '\'':
			quoted = !quoted // '' toggles twice: still inside
		case !quoted && i > start && isSpace(expr[i-1]) && len(expr) >= i+4 &&
			strings.EqualFold(expr[i:i+3], "and") && isSpace(expr[i+3]):
			parts = append(parts, expr[start:i])
			start = i + 3
		}
	}
	return append(parts, expr[start:])
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' }

// parseFilter parses `prop eq 'v' [and prop eq 'v']...`.
func parseFilter(expr string, shape queryShape) ([]filterTerm, *apiError) {
	var out []filterTerm
	for _, part := range splitAnd(expr) {
		m := filterTermRE.FindStringSubmatch(part)
		if m == nil {
			return nil, unsupportedQuery("Invalid or unsupported $filter expression '" + strings.TrimSpace(part) + "'.")
		}
		allowed, ok := shape.filter[m[1]]
		if !ok {
			return nil, unsupportedQuery("Filtering on property '" + m[1] + "' is not supported.")
		}
		v := strings.ReplaceAll(m[2], "''", "'")
		if allowed != nil && !slices.Contains(allowed, v) {
			return nil, unsupportedQuery("'" + v + "' is not a valid value of '" + m[1] + "'.")
		}
		out = append(out, filterTerm{prop: m[1], value: v})
	}
	return out, nil
}

// parseOrderBy parses `prop [asc|desc][, ...]`.
func parseOrderBy(expr string, shape queryShape) ([]orderTerm, *apiError) {
	var out []orderTerm
	for item := range strings.SplitSeq(expr, ",") {
		f := strings.Fields(item)
		if len(f) == 0 || len(f) > 2 || !slices.Contains(shape.orderBy, f[0]) {
			return nil, unsupportedQuery("Ordering by '" + strings.TrimSpace(item) + "' is not supported.")
		}
		t := orderTerm{prop: f[0]}
		if len(f) == 2 {
			switch strings.ToLower(f[1]) {
			case "asc":
			case "desc":
				t.desc = true
			default:
				return nil, unsupportedQuery("Invalid $orderby direction '" + f[1] + "'.")
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// selectFields applies $select: only the named properties plus @odata.type
// and @odata.etag stay.
func selectFields(o obj, selects []string) obj {
	if len(selects) == 0 {
		return o
	}
	out := make(obj, 0, len(selects)+2)
	for _, f := range o {
		if f.k == "@odata.type" || f.k == "@odata.etag" || slices.Contains(selects, f.k) {
			out = append(out, f)
		}
	}
	return out
}

// nextLink is the request URL with $skiptoken replaced by token.
func (c *call) nextLink(token string) string {
	var keep []string
	for part := range strings.SplitSeq(c.r.URL.RawQuery, "&") {
		if part == "" {
			continue
		}
		k, _, _ := strings.Cut(part, "=")
		if dk, err := url.QueryUnescape(k); err == nil && strings.EqualFold(dk, "$skiptoken") {
			continue
		}
		keep = append(keep, part)
	}
	keep = append(keep, "$skiptoken="+token)
	return scheme(c.r) + "://" + c.r.Host + c.r.URL.Path + "?" + strings.Join(keep, "&")
}

// encodeToken makes an opaque $skiptoken from a JSON-able position.
func encodeToken(v any) string {
	raw, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// decodeToken reverses encodeToken.
func decodeToken(tok string, v any) *apiError {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || json.Unmarshal(raw, v) != nil {
		return unsupportedQuery("The $skiptoken is invalid.")
	}
	return nil
}

// writeCollection writes a collection page.
func (c *call) writeCollection(context string, items []obj, count int, withCount bool, next string) {
	body := obj{{"@odata.context", c.base + "/$metadata#" + context}}
	if withCount {
		body = append(body, field{"@odata.count", count})
	}
	if next != "" {
		body = append(body, field{"@odata.nextLink", next})
	}
	body = append(body, field{"value", items})
	c.writeJSONSized(200, body, 512+len(items)*1200)
}

// smallItem is one rendered item of a small in-memory collection
// (requests, operations, access assignments, customers, service management
// details) served with offset paging by serveSmallList.
type smallItem struct {
	o    obj
	keys map[string]string // filter and sort values
}

// serveSmallList filters, sorts and pages items. Filter values and sort keys
// compare case-insensitively (GUIDs), as relationship lists do.
func (s *Sim) serveSmallList(c *call, shape queryShape, context string, items []smallItem) *apiError {
	q, e := s.parseListQuery(c, shape)
	if e != nil {
		return e
	}
	matched := items[:0:0]
	for _, it := range items {
		ok := true
		for _, f := range q.filter {
			if !strings.EqualFold(it.keys[f.prop], f.value) {
				ok = false
				break
			}
		}
		if ok {
			matched = append(matched, it)
		}
	}
	if len(q.orderBy) > 0 {
		slices.SortStableFunc(matched, func(a, b smallItem) int {
			for _, t := range q.orderBy {
				if d := strings.Compare(strings.ToLower(a.keys[t.prop]), strings.ToLower(b.keys[t.prop])); d != 0 {
					if t.desc {
						return -d
					}
					return d
				}
			}
			return 0
		})
	}
	var pos struct {
		O int `json:"o"`
	}
	if q.token != "" {
		if e := decodeToken(q.token, &pos); e != nil {
			return e
		}
		if pos.O < 0 || pos.O > len(matched) {
			return unsupportedQuery("The $skiptoken is invalid.")
		}
	}
	end := min(pos.O+q.top, len(matched))
	page := make([]obj, 0, end-pos.O)
	for _, it := range matched[pos.O:end] {
		page = append(page, selectFields(it.o, q.selects))
	}
	next := ""
	if end < len(matched) {
		next = c.nextLink(encodeToken(struct {
			O int `json:"o"`
		}{end}))
	}
	c.writeCollection(context, page, len(matched), q.count, next)
	return nil
}
