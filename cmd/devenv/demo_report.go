package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/gdapflow/gdapflow/internal/dev/browser"
)

// stepReport renders the operators' page once after the sweep and saves
// it, HTML and a PNG screenshot (headless Chromium), under a temporary
// folder it names.
func stepReport(ctx context.Context, s *stepRun) error {
	status, body, h, err := s.d.st.GetReport(ctx)
	if err != nil {
		return err
	}
	s.expect(status == http.StatusOK, "GET /api/report answers 200 (%d)", status)
	s.expect(strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'"), "the page sets a strict Content-Security-Policy")
	dir := s.d.cfg.ReportDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "gdapflow-report-"); err != nil {
			return err
		}
	}
	htmlPath := filepath.Join(dir, "report.html")
	if err := os.WriteFile(htmlPath, body, 0o600); err != nil {
		return err
	}
	s.note("•", "report", "page saved: %s (%d bytes)", htmlPath, len(body))
	url, err := s.d.st.ReportURL()
	if err != nil {
		return err
	}
	png := filepath.Join(dir, "report.png")
	switch err := browser.Screenshot(ctx, url, png, 1280, 2200); {
	case errors.Is(err, browser.ErrMissing):
		s.note("•", "report", "no screenshot: %v", err)
	case err != nil:
		return fmt.Errorf("screenshot: %w", err)
	default:
		s.note("•", "report", "screenshot saved: %s", png)
	}
	s.lines = append(s.lines, "               report saved under "+dir)
	return nil
}
