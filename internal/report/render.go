package report

import (
	"bytes"
	"crypto/sha256"
	_ "embed" // the page's template and style
	"encoding/base64"
	"fmt"
	"html/template"
)

//go:embed page.html.tmpl
var pageTemplate string

//go:embed page.css
var pageStyle string

// page is the parsed template.
var page = template.Must(template.New("report").Parse(pageTemplate)) //nolint:gochecknoglobals // parsed once

// ContentSecurityPolicy is the page's policy: nothing loads from anywhere,
// no script runs, and the one inline style block is allowed by its hash.
var ContentSecurityPolicy = fmt.Sprintf("default-src 'none'; style-src 'sha256-%s'; img-src 'none'; "+ //nolint:gochecknoglobals // computed once
	"script-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'", styleHash())

func styleHash() string {
	h := sha256.Sum256([]byte(pageStyle))
	return base64.StdEncoding.EncodeToString(h[:])
}

// Headers are the response headers of the page.
func Headers() map[string]string {
	return map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
		"X-Frame-Options":         "DENY",
	}
}

// Render writes the page of v. Every value is escaped by html/template in
// its context (text, attribute, SVG).
func Render(v View) ([]byte, error) {
	var buf bytes.Buffer
	err := page.Execute(&buf, struct {
		View
		Style template.CSS
	}{v, template.CSS(pageStyle)}) //nolint:gosec // the embedded, constant style sheet
	if err != nil {
		return nil, fmt.Errorf("report: render: %w", err)
	}
	return buf.Bytes(), nil
}
