// Package browser drives Debian's headless Chromium from the command line
// (no DevTools library): the DOM a page ends up with (--dump-dom) and a PNG
// screenshot (--screenshot). The report page's browser test and `make demo`
// use it; tools/install-chromium.sh (make browser) installs it.
package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// Path is where Debian's chromium package installs the browser.
const Path = "/usr/bin/chromium"

// ErrMissing reports that Chromium is not installed.
var ErrMissing = errors.New("browser: chromium is not installed (make browser installs it)")

// Available returns nil when Chromium runs, ErrMissing (wrapped) otherwise.
func Available(ctx context.Context) error {
	if _, err := os.Stat(Path); err != nil {
		return fmt.Errorf("%w: %v", ErrMissing, err)
	}
	if out, err := exec.CommandContext(ctx, Path, "--version").CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMissing, bytes.TrimSpace(out), err)
	}
	return nil
}

// flags start a throw-away headless browser that talks to nothing but the
// page: no sandbox (root in a container), no GPU, no first-run, background
// networking, component updates or sync.
func flags(profile string) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + profile}
}

// run runs Chromium with a fresh profile and returns its stdout.
func run(ctx context.Context, args ...string) ([]byte, error) {
	if err := Available(ctx); err != nil {
		return nil, err
	}
	profile, err := os.MkdirTemp("", "gdapflow-chromium-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(profile)
	cmd := exec.CommandContext(ctx, Path, append(flags(profile), args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("browser: chromium %v: %w: %s", args, err, lastLines(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}

// DumpDOM loads url and returns the serialized DOM once the page loaded.
func DumpDOM(ctx context.Context, url string) ([]byte, error) {
	return run(ctx, "--dump-dom", url)
}

// Screenshot loads url in a window of width×height CSS pixels and saves a
// PNG of the viewport at path.
func Screenshot(ctx context.Context, url, path string, width, height int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if _, err := run(ctx, "--screenshot="+abs, "--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), url); err != nil {
		return err
	}
	if st, err := os.Stat(abs); err != nil || st.Size() == 0 {
		return fmt.Errorf("browser: no screenshot at %s", abs)
	}
	return nil
}

// lastLines keeps the end of Chromium's stderr for an error message.
func lastLines(b []byte) string {
	const keep = 600
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return string(bytes.TrimSpace(b))
}
