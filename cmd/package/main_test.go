package main

import (
	"archive/zip"
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// repoRoot is the repository root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(root, "host.json"))
	return root
}

// copyFile copies src to dst, creating dst's folder.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	require.NoError(t, os.WriteFile(dst, b, 0o644))
}

// fakeRoot makes a repository root with the real host.json and function
// folders and a tiny main package standing in for the handler.
func fakeRoot(t *testing.T) string {
	t.Helper()
	real := repoRoot(t)
	root := t.TempDir()
	copyFile(t, filepath.Join(real, "host.json"), filepath.Join(root, "host.json"))
	for _, fn := range []string{"commands", "continuations", "expiry-sweep", "partner-center-webhook", "reaper", "report"} {
		copyFile(t, filepath.Join(real, "functions", fn, "function.json"), filepath.Join(root, "functions", fn, "function.json"))
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/handler\n\ngo 1.22\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644))
	return root
}

// readZip returns the zip's entries by name.
func readZip(t *testing.T, path string) map[string]*zip.File {
	t.Helper()
	zr, err := zip.OpenReader(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = zr.Close() })
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[f.Name] = f
	}
	return files
}

// readEntry returns an entry's content.
func readEntry(t *testing.T, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	require.NoError(t, err)
	defer func() { _ = rc.Close() }()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

// checkLayout asserts the deployment layout of docs/platform/functions-host-facts.md §2.4.
func checkLayout(t *testing.T, zipPath string) map[string]*zip.File {
	t.Helper()
	files := readZip(t, zipPath)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	require.Equal(t, []string{
		"commands/function.json",
		"continuations/function.json",
		"expiry-sweep/function.json",
		"handler",
		"host.json",
		"partner-center-webhook/function.json",
		"reaper/function.json",
		"report/function.json",
	}, names, "the package root holds exactly host.json, handler and the function folders")
	require.Equal(t, os.FileMode(0o755), files["handler"].Mode().Perm(), "handler must be executable")
	require.True(t, files["handler"].Mode().IsRegular())
	for _, n := range names {
		if n == "handler" {
			continue
		}
		require.Equal(t, os.FileMode(0o644), files[n].Mode().Perm(), n)
	}
	var host struct {
		Version       string `json:"version"`
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string `json:"defaultExecutablePath"`
			} `json:"description"`
		} `json:"customHandler"`
	}
	require.NoError(t, json.Unmarshal(readEntry(t, files["host.json"]), &host))
	require.Equal(t, "2.0", host.Version)
	require.Equal(t, HandlerName, host.CustomHandler.Description.DefaultExecutablePath)
	for _, n := range names[:3] {
		var def struct {
			Bindings []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"bindings"`
		}
		require.NoError(t, json.Unmarshal(readEntry(t, files[n]), &def), n)
		require.Len(t, def.Bindings, 1, n)
		require.NotEmpty(t, def.Bindings[0].Type, n)
	}
	return files
}

// TestPackageBuildsLinuxBinaryAndLayout builds a real (stand-in) handler
// with the packager's go build and checks the zip layout and the binary.
func TestPackageBuildsLinuxBinaryAndLayout(t *testing.T) {
	t.Parallel()
	root := fakeRoot(t)
	zipPath, err := Package(Options{Root: root, Out: "dist"})
	require.NoError(t, err)
	require.Equal(t, filepath.Join(root, "dist", ZipName), zipPath)
	files := checkLayout(t, zipPath)

	bin := filepath.Join(t.TempDir(), "handler")
	require.NoError(t, os.WriteFile(bin, readEntry(t, files["handler"]), 0o755))
	ef, err := elf.Open(bin)
	require.NoError(t, err)
	defer func() { _ = ef.Close() }()
	require.Equal(t, elf.EM_X86_64, ef.Machine)
	for _, p := range ef.Progs {
		require.NotEqual(t, elf.PT_INTERP, p.Type, "the handler must be static (CGO_ENABLED=0)")
	}
	_, err = ef.DynamicSymbols()
	require.Error(t, err, "a static binary has no dynamic symbols")

	// Rebuilding gives the same bytes (sorted entries, fixed times, -trimpath).
	first, err := os.ReadFile(zipPath)
	require.NoError(t, err)
	_, err = Package(Options{Root: root, Out: "dist"})
	require.NoError(t, err)
	second, err := os.ReadFile(zipPath)
	require.NoError(t, err)
	require.Equal(t, first, second, "packaging is reproducible")
}

// TestPackageRealRepoFunctions packages the repository's own host.json and
// functions/ with a prebuilt binary, so the contract's three functions are
// what ships even before the handler compiles.
func TestPackageRealRepoFunctions(t *testing.T) {
	t.Parallel()
	self, err := os.Executable() // this test binary: an ELF file
	require.NoError(t, err)
	out := t.TempDir()
	zipPath, err := Package(Options{Root: repoRoot(t), Out: out, Handler: self})
	require.NoError(t, err)
	files := checkLayout(t, zipPath)
	for _, fn := range []string{"commands", "continuations", "expiry-sweep"} {
		want, err := os.ReadFile(filepath.Join(repoRoot(t), "functions", fn, "function.json"))
		require.NoError(t, err)
		require.Equal(t, want, readEntry(t, files[fn+"/function.json"]), fn)
	}
}

// TestPackageRejectsBadInputs checks that broken function folders, a
// non-Linux binary or a missing host.json stop packaging.
func TestPackageRejectsBadInputs(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	require.NoError(t, err)
	cases := map[string]struct {
		mutate func(t *testing.T, root string)
		want   string
	}{
		"invalid function.json": {
			mutate: func(t *testing.T, root string) {
				t.Helper()
				require.NoError(t, os.WriteFile(filepath.Join(root, "functions", "commands", "function.json"), []byte("{"), 0o644))
			},
			want: "functions/commands/function.json",
		},
		"folder without function.json": {
			mutate: func(t *testing.T, root string) {
				t.Helper()
				require.NoError(t, os.MkdirAll(filepath.Join(root, "functions", "orphan"), 0o755))
			},
			want: "functions/orphan",
		},
		"invalid function name": {
			mutate: func(t *testing.T, root string) {
				t.Helper()
				copyFile(t, filepath.Join(root, "functions", "commands", "function.json"), filepath.Join(root, "functions", "Bad.Name", "function.json"))
			},
			want: "not a valid function name",
		},
		"no bindings": {
			mutate: func(t *testing.T, root string) {
				t.Helper()
				require.NoError(t, os.WriteFile(filepath.Join(root, "functions", "commands", "function.json"), []byte(`{"bindings":[]}`), 0o644))
			},
			want: "no bindings",
		},
		"missing host.json": {
			mutate: func(t *testing.T, root string) {
				t.Helper()
				require.NoError(t, os.Remove(filepath.Join(root, "host.json")))
			},
			want: "host.json",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			root := fakeRoot(t)
			tc.mutate(t, root)
			_, err := Package(Options{Root: root, Out: t.TempDir(), Handler: self})
			require.ErrorContains(t, err, tc.want)
		})
	}
	t.Run("not a Linux binary", func(t *testing.T) {
		t.Parallel()
		root := fakeRoot(t)
		notELF := filepath.Join(t.TempDir(), "handler.exe")
		require.NoError(t, os.WriteFile(notELF, []byte("MZ\x90\x00"), 0o755))
		_, err := Package(Options{Root: root, Out: t.TempDir(), Handler: notELF})
		require.ErrorContains(t, err, "not an ELF")
	})
}
