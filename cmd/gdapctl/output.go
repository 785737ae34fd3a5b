package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// printJSON writes v as indented JSON.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// kv is a two-column "label  value" listing; empty values are skipped.
type kv struct{ rows [][2]string }

func newKV() *kv { return &kv{} }

func (k *kv) add(label, value string) {
	if value != "" {
		k.rows = append(k.rows, [2]string{label, value})
	}
}

func (k *kv) write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range k.rows {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}

// table writes a header and rows as aligned columns.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func cmpOr(a, b string) string { return cmp.Or(a, b) }

// fmtTime renders a time in UTC, "" for zero.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// fmtTimeRel renders a time with how long ago or ahead it is from now.
func fmtTimeRel(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := t.Sub(now)
	switch {
	case d > time.Second:
		return fmtTime(t) + " (in " + human(d) + ")"
	case d < -time.Second:
		return fmtTime(t) + " (" + human(-d) + " ago)"
	}
	return fmtTime(t) + " (now)"
}

// human renders a duration coarsely: 3d4h, 5h12m, 4m10s, 12s.
func human(d time.Duration) string {
	d = d.Round(time.Second)
	day := 24 * time.Hour
	switch {
	case d >= day:
		return fmt.Sprintf("%dd%dh", d/day, (d%day)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", d/time.Hour, (d%time.Hour)/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%ds", d/time.Minute, (d%time.Minute)/time.Second)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// errorWords renders an error: "code (field f, HTTP n, upstream c, request r): message".
func errorWords(code, msg, field string, status int, upstream, requestID string) string {
	var det []string
	if field != "" {
		det = append(det, "field "+field)
	}
	if status != 0 {
		det = append(det, "HTTP "+strconv.Itoa(status))
	}
	if upstream != "" {
		det = append(det, "upstream "+upstream)
	}
	if requestID != "" {
		det = append(det, "request "+requestID)
	}
	s := code
	if len(det) > 0 {
		s += " (" + strings.Join(det, ", ") + ")"
	}
	return s + ": " + msg
}

// parseSpan parses a duration that may also be in days: 30d, 36h, 90m.
func parseSpan(flag, v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err == nil && days >= 0 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return d, nil
	}
	return 0, usageErrorf("--%s: %q is not a duration (use e.g. 30d, 24h, 90m)", flag, v)
}
