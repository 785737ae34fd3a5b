package main

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// devPrefix is the import path prefix of everything that never ships: the
// simulators, the host emulator, the local stack, chaos and the local
// environment. The handler must not link any of it.
const devPrefix = "github.com/gdapflow/gdapflow/internal/dev/"

// devOnly lists the module's packages outside internal/dev that are local
// tooling or tests, and so may import internal/dev in their non-test files.
var devOnly = map[string]bool{
	"github.com/gdapflow/gdapflow/cmd/devenv":   true,
	"github.com/gdapflow/gdapflow/cmd/graphsim": true,
	"github.com/gdapflow/gdapflow/cmd/hostemu":  true,
}

// TestHandlerLinksNoDevPackage fails when anything the handler links (its
// whole dependency graph, as `go list -deps .` reports it) is under
// internal/dev.
func TestHandlerLinksNoDevPackage(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	require.NoError(t, err)
	for _, p := range strings.Fields(string(out)) {
		require.False(t, strings.HasPrefix(p, devPrefix), "the handler links %s, which never ships", p)
	}
}

// TestProductFilesImportNoDevPackage fails when a non-test file of a product
// package (anything outside internal/dev and the dev commands) imports
// internal/dev. Test files may: they drive the product against the local
// stack.
func TestProductFilesImportNoDevPackage(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "./...").Output()
	require.NoError(t, err)
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		err := dec.Decode(&p)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		seen++
		if strings.HasPrefix(p.ImportPath, devPrefix) || devOnly[p.ImportPath] {
			continue
		}
		for _, imp := range p.Imports {
			require.False(t, strings.HasPrefix(imp, devPrefix), "%s imports %s in a non-test file; only internal/dev and the dev commands may", p.ImportPath, imp)
		}
	}
	require.Greater(t, seen, 10, "go list saw the module's packages")
}
