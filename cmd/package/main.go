// Command package builds gdapflow's deployment package: a zip whose root
// holds host.json, the static Linux custom-handler binary "handler" (mode
// 0755) and one folder per function with its function.json, copied from
// functions/ (the Functions host only discovers function folders that sit
// directly beside host.json; docs/platform/functions-host-facts.md §2.4).
//
// Usage, from the repository root:
//
//	go run ./cmd/package -out dist
//
// writes dist/handler and dist/gdapflow.zip. The zip is written with Go's
// archive/zip, so neither the zip tool nor a particular OS is needed and the
// execute bit is always recorded; entries are sorted and time-stamped with a
// fixed date, so the same inputs give the same bytes.
package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"time"
)

// ZipName is the file name of the package inside the output directory.
const ZipName = "gdapflow.zip"

// HandlerName is the binary name host.json's customHandler.description.defaultExecutablePath names.
const HandlerName = "handler"

// functionNameRE is the host's function-name rule (folder name = function name).
var functionNameRE = regexp.MustCompile(`^[a-z][a-z0-9_\-]{0,127}$`)

// zipTime is the modification time of every entry (reproducible output).
var zipTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Options says what to package.
type Options struct {
	// Root is the repository root: it holds host.json, functions/ and the
	// handler's main package.
	Root string
	// Out is the output directory; it receives the handler binary and ZipName.
	Out string
	// MainPackage is the Go package built as the handler, relative to Root
	// (default ".", handler.go at the repository root).
	MainPackage string
	// Handler, when set, is an already built binary to package instead of
	// building MainPackage.
	Handler string
	// Go is the go command (default "go").
	Go string
}

func main() {
	opts := Options{}
	flag.StringVar(&opts.Root, "root", ".", "repository root (host.json, functions/, main package)")
	flag.StringVar(&opts.Out, "out", "dist", "output directory")
	flag.StringVar(&opts.MainPackage, "pkg", ".", "handler main package, relative to -root")
	flag.StringVar(&opts.Handler, "handler", "", "package this prebuilt Linux binary instead of building one")
	flag.Parse()
	zipPath, err := Package(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		os.Exit(1)
	}
	fmt.Println(zipPath)
}

// Package builds (unless opts.Handler is set) the handler and writes the
// deployment zip. It returns the zip's path.
func Package(opts Options) (string, error) {
	if opts.Root == "" {
		opts.Root = "."
	}
	if opts.Out == "" {
		opts.Out = "dist"
	}
	if opts.MainPackage == "" {
		opts.MainPackage = "."
	}
	if opts.Go == "" {
		opts.Go = "go"
	}
	if !filepath.IsAbs(opts.Out) {
		opts.Out = filepath.Join(opts.Root, opts.Out)
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return "", err
	}
	files, err := collect(opts.Root)
	if err != nil {
		return "", err
	}
	handler := opts.Handler
	if handler == "" {
		handler = filepath.Join(opts.Out, HandlerName)
		if err := build(opts, handler); err != nil {
			return "", err
		}
	}
	bin, err := os.ReadFile(handler)
	if err != nil {
		return "", fmt.Errorf("read handler binary: %w", err)
	}
	if !bytes.HasPrefix(bin, []byte("\x7fELF")) {
		return "", fmt.Errorf("%s is not an ELF (Linux) binary", handler)
	}
	files = append(files, entry{name: HandlerName, data: bin, mode: 0o755})
	zipPath := filepath.Join(opts.Out, ZipName)
	if err := writeZip(zipPath, files); err != nil {
		return "", err
	}
	return zipPath, nil
}

// build compiles the static Linux/amd64 handler.
func build(opts Options, outFile string) error {
	abs, err := filepath.Abs(outFile)
	if err != nil {
		return err
	}
	cmd := exec.Command(opts.Go, "build", "-trimpath", "-ldflags=-s -w", "-o", abs, opts.MainPackage)
	cmd.Dir = opts.Root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", opts.MainPackage, err)
	}
	return nil
}

// entry is one file of the zip.
type entry struct {
	name string
	data []byte
	mode os.FileMode
}

// collect reads host.json and every functions/<name>/function.json,
// checking that each parses as JSON and that folder names are valid function
// names. Only function.json is taken from a folder: nothing else is needed
// by the host, and sources or local settings must never ship.
func collect(root string) ([]entry, error) {
	host, err := os.ReadFile(filepath.Join(root, "host.json"))
	if err != nil {
		return nil, err
	}
	if !json.Valid(host) {
		return nil, errors.New("host.json is not valid JSON")
	}
	out := []entry{{name: "host.json", data: host, mode: 0o644}}
	dirs, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		if !d.IsDir() {
			return nil, fmt.Errorf("functions/%s: only function folders belong in functions/", d.Name())
		}
		if !functionNameRE.MatchString(d.Name()) || d.Name() == "host" {
			return nil, fmt.Errorf("functions/%s: not a valid function name (%s)", d.Name(), functionNameRE)
		}
		p := filepath.Join(root, "functions", d.Name(), "function.json")
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("functions/%s: %w", d.Name(), err)
		}
		var def struct {
			Bindings []json.RawMessage `json:"bindings"`
		}
		if err := json.Unmarshal(b, &def); err != nil {
			return nil, fmt.Errorf("functions/%s/function.json: %w", d.Name(), err)
		}
		if len(def.Bindings) == 0 {
			return nil, fmt.Errorf("functions/%s/function.json: no bindings", d.Name())
		}
		out = append(out, entry{name: d.Name() + "/function.json", data: b, mode: 0o644})
	}
	if len(out) == 1 {
		return nil, errors.New("functions/ holds no function folders")
	}
	return out, nil
}

// writeZip writes the entries, sorted by name, to path (atomically).
func writeZip(path string, files []entry) (err error) {
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	tmp, err := os.CreateTemp(filepath.Dir(path), ".gdapflow-*.zip")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	zw := zip.NewWriter(tmp)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: zipTime}
		h.SetMode(f.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, bytes.NewReader(f.data)); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
