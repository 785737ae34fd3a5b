// Package infra_test checks the Bicep in infra/ and the deployment pipelines
// without a Bicep compiler (none is installable offline; reference
// docs/platform/functions-host-facts.md §5.5): every file must parse with tree-sitter-bicep, the
// app settings must cover every setting internal/config reads and every
// name the function.json files use, the role assignments must be the narrow
// ones docs/deploy.md describes, and nothing may create or output a key,
// SAS or connection string.
package infra_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/config"
)

// bicepFile is what infra/check/parse.js reports about one file.
type bicepFile struct {
	File   string `json:"file"`
	Using  string `json:"using"`
	Errors []struct {
		Kind   string `json:"kind"`
		Line   int    `json:"line"`
		Column int    `json:"column"`
		Text   string `json:"text"`
	} `json:"errors"`
	Params []struct {
		Name    string  `json:"name"`
		Default *string `json:"default"`
	} `json:"params"`
	Outputs []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"outputs"`
	Resources []bicepResource `json:"resources"`
	Modules   []bicepResource `json:"modules"`
	Settings  []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
		Line  int    `json:"line"`
	} `json:"settings"`
	Properties []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
		Kind  string `json:"kind"`
		Line  int    `json:"line"`
	} `json:"properties"`
}

// bicepResource is a resource or module declaration.
type bicepResource struct {
	Symbol   string `json:"symbol"`
	Type     string `json:"type"`
	Existing bool   `json:"existing"`
	Loop     *struct {
		Variable string `json:"variable"`
		Index    string `json:"index"`
		Over     string `json:"over"`
	} `json:"loop"`
	// Condition is the expression of `if (...)`, empty when unconditional.
	Condition string `json:"condition"`
	// Paths holds every value of the body by dotted path
	// ("properties.networkAcls.defaultAction"; array elements by index).
	Paths      map[string]string `json:"paths"`
	Top        map[string]string `json:"top"`
	Properties map[string]string `json:"properties"`
	Line       int               `json:"line"`
}

// repoRoot is the repository root (the parent of infra/).
func repoRoot() string {
	abs, err := filepath.Abs("..")
	if err != nil {
		panic(err)
	}
	return abs
}

// bicepFiles lists the .bicep and .bicepparam files under dir, sorted.
func bicepFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".bicep") || strings.HasSuffix(path, ".bicepparam")) {
			files = append(files, path)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// parsedByContent caches parse.js's report per file content (SHA-256 of
// the extension and the bytes): the checks and their mutation cases parse copies of infra/
// in which all files but one are unchanged. Raw JSON, so that every caller
// decodes a copy of its own.
var parsedByContent sync.Map //nolint:gochecknoglobals // test-process cache

// parseBicep runs infra/check/parse.js (tree-sitter-bicep from
// tools/node_modules) over the files whose content it has not parsed yet.
func parseBicep(files ...string) ([]bicepFile, error) {
	script := filepath.Join(repoRoot(), "infra", "check", "parse.js")
	if _, err := os.Stat(filepath.Join(repoRoot(), "tools", "node_modules", "tree-sitter-bicep")); err != nil {
		return nil, fmt.Errorf("tree-sitter-bicep is not installed (run `make tools`): %w", err)
	}
	keys := make([][32]byte, len(files))
	var missing []string
	var missingKeys [][32]byte
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		// The extension matters too (parse.js reads .bicepparam apart).
		keys[i] = sha256.Sum256(append([]byte(filepath.Ext(f)+"\x00"), b...))
		if _, ok := parsedByContent.Load(keys[i]); !ok {
			missing, missingKeys = append(missing, f), append(missingKeys, keys[i])
		}
	}
	if len(missing) > 0 {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command("node", append([]string{script}, missing...)...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("node %s: %w: %s", script, err, stderr.String())
		}
		var raw []json.RawMessage
		if err := json.Unmarshal(stdout.Bytes(), &raw); err != nil {
			return nil, fmt.Errorf("parse.js output: %w", err)
		}
		if len(raw) != len(missing) {
			return nil, fmt.Errorf("parse.js reported %d files for %d", len(raw), len(missing))
		}
		for i, r := range raw {
			parsedByContent.Store(missingKeys[i], r)
		}
	}
	out := make([]bicepFile, len(files))
	for i, f := range files {
		r, _ := parsedByContent.Load(keys[i])
		if err := json.Unmarshal(r.(json.RawMessage), &out[i]); err != nil {
			return nil, fmt.Errorf("parse.js output: %w", err)
		}
		out[i].File = f
	}
	return out, nil
}

// parseDir parses every Bicep file under dir.
func parseDir(dir string) ([]bicepFile, error) {
	files, err := bicepFiles(dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no Bicep files under %s", dir)
	}
	return parseBicep(files...)
}

// settingRE finds %SETTING% expressions in function.json values.
var settingRE = regexp.MustCompile(`%([A-Za-z0-9_]+)%`)

// requiredAppSettings lists the app settings the Bicep must set: every
// setting config reads (except host-provided and local-only ones), the
// connection settings and %SETTING% names of every function.json, and the
// identity-based host settings.
func requiredAppSettings(functionsDir string) ([]string, error) {
	skip := slices.Concat(config.HostProvided, config.DevOnly)
	want := map[string]bool{}
	for _, n := range config.SettingNames() {
		if !slices.Contains(skip, n) {
			want[n] = true
		}
	}
	for _, n := range []string{
		"AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId",
		"AZURE_CLIENT_ID", "APPLICATIONINSIGHTS_CONNECTION_STRING", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
	} {
		want[n] = true
	}
	defs, err := filepath.Glob(filepath.Join(functionsDir, "*", "function.json"))
	if err != nil {
		return nil, err
	}
	if len(defs) == 0 {
		return nil, fmt.Errorf("no function.json under %s", functionsDir)
	}
	for _, def := range defs {
		b, err := os.ReadFile(def)
		if err != nil {
			return nil, err
		}
		var fn struct {
			Bindings []map[string]any `json:"bindings"`
		}
		if err := json.Unmarshal(b, &fn); err != nil {
			return nil, fmt.Errorf("%s: %w", def, err)
		}
		for _, binding := range fn.Bindings {
			if conn, ok := binding["connection"].(string); ok && conn != "" {
				want[conn+"__fullyQualifiedNamespace"] = true
				want[conn+"__credential"] = true
				want[conn+"__clientId"] = true
			}
			for _, v := range binding {
				if s, ok := v.(string); ok {
					for _, m := range settingRE.FindAllStringSubmatch(s, -1) {
						want[m[1]] = true
					}
				}
			}
		}
	}
	out := make([]string, 0, len(want))
	for n := range want {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// forbiddenAppSettings must not be set: local-only settings, what the host
// provides, secrets in plain text and settings Flex Consumption rejects or
// ignores (runtime and package come from functionAppConfig).
func forbiddenAppSettings() []string {
	return slices.Concat(config.HostProvided, config.DevOnly, []string{
		"AzureWebJobsStorage", "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION",
		"WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTSHARE",
		"APPINSIGHTS_INSTRUMENTATIONKEY",
	})
}

// CheckAppSettings reports, one line each, the app settings the Bicep under
// infraDir fails to set (or sets twice, or must not set), checked against
// internal/config and the function.json files under functionsDir.
func CheckAppSettings(infraDir, functionsDir string) ([]string, error) {
	parsed, err := parseDir(infraDir)
	if err != nil {
		return nil, err
	}
	want, err := requiredAppSettings(functionsDir)
	if err != nil {
		return nil, err
	}
	have := map[string][]string{}
	for _, f := range parsed {
		for _, s := range f.Settings {
			have[s.Name] = append(have[s.Name], fmt.Sprintf("%s:%d", filepath.Base(f.File), s.Line))
		}
	}
	var problems []string
	for _, n := range want {
		if len(have[n]) == 0 {
			problems = append(problems, "app setting not set: "+n)
		}
	}
	for n, where := range have {
		if len(where) > 1 {
			problems = append(problems, fmt.Sprintf("app setting %s set more than once: %s", n, strings.Join(where, ", ")))
		}
		if slices.Contains(forbiddenAppSettings(), n) {
			problems = append(problems, fmt.Sprintf("app setting %s must not be set (%s)", n, strings.Join(where, ", ")))
		}
	}
	sort.Strings(problems)
	return problems, nil
}

// copyDir copies src to a fresh temporary directory and returns it.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	require.NoError(t, err)
	return dst
}

// editFile replaces old (which must occur) with new in path.
func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(b), old, "test fixture drifted from %s", path)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644))
}

// removeLineContaining deletes the lines of path that contain needle.
func removeLineContaining(t *testing.T, path, needle string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var kept []string
	removed := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, needle) {
			removed++
			continue
		}
		kept = append(kept, line)
	}
	require.Positive(t, removed, "%q not found in %s", needle, path)
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(kept, "\n")), 0o644))
}

// TestBicepParses requires every Bicep and parameter file to parse without
// ERROR or MISSING nodes.
func TestBicepParses(t *testing.T) {
	t.Parallel()
	parsed, err := parseDir(".")
	require.NoError(t, err)
	names := []string{}
	for _, f := range parsed {
		names = append(names, filepath.ToSlash(f.File))
		for _, e := range f.Errors {
			t.Errorf("%s:%d:%d: %s near %q", f.File, e.Line, e.Column, e.Kind, e.Text)
		}
	}
	require.Contains(t, names, "main.bicep")
	require.Contains(t, names, "main.bicepparam")
	require.Contains(t, names, "modules/functionapp.bicep")
}

// TestParserReportsSyntaxErrors makes sure the parse check can fail.
func TestParserReportsSyntaxErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.bicep")
	require.NoError(t, os.WriteFile(bad, []byte("param a string = \nresource r 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'x'\n"), 0o644))
	badParam := filepath.Join(dir, "bad.bicepparam")
	require.NoError(t, os.WriteFile(badParam, []byte("using './main.bicep'\nparam a = \n"), 0o644))
	good := filepath.Join(dir, "good.bicepparam")
	require.NoError(t, os.WriteFile(good, []byte("using './main.bicep'\nparam a = readEnvironmentVariable('A', 'b')\n"), 0o644))
	parsed, err := parseBicep(bad, badParam, good)
	require.NoError(t, err)
	require.NotEmpty(t, parsed[0].Errors)
	require.NotEmpty(t, parsed[1].Errors)
	require.Empty(t, parsed[2].Errors, "an untyped param assignment is .bicepparam syntax")
}

// TestAppSettingsCoverConfig cross-checks the app settings against
// internal/config and the function.json files.
func TestAppSettingsCoverConfig(t *testing.T) {
	t.Parallel()
	problems, err := CheckAppSettings(".", filepath.Join(repoRoot(), "functions"))
	require.NoError(t, err)
	require.Empty(t, problems)
}

// TestAppSettingsCheckFailsOnRemovedSetting proves the cross-check catches a
// deleted setting, a %SETTING% a function.json starts using, and a
// local-only setting added to the Bicep.
func TestAppSettingsCheckFailsOnRemovedSetting(t *testing.T) {
	t.Parallel()
	functions := filepath.Join(repoRoot(), "functions")
	for _, name := range []string{"GDAP_SWEEP_SCHEDULE", "GDAP_PC_REFRESH_TOKEN_SECRET_URI", "ServiceBusConnection__fullyQualifiedNamespace", "GDAP_PC_CLIENT_SECRET"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := copyDir(t, ".")
			removeLineContaining(t, filepath.Join(dir, "main.bicep"), "name: '"+name+"'")
			problems, err := CheckAppSettings(dir, functions)
			require.NoError(t, err)
			require.Contains(t, problems, "app setting not set: "+name)
		})
	}
	t.Run("new function setting", func(t *testing.T) {
		t.Parallel()
		fdir := copyDir(t, functions)
		editFile(t, filepath.Join(fdir, "commands", "function.json"), `"%GDAP_COMMANDS_QUEUE%"`, `"%GDAP_OTHER_QUEUE%"`)
		problems, err := CheckAppSettings(".", fdir)
		require.NoError(t, err)
		require.Contains(t, problems, "app setting not set: GDAP_OTHER_QUEUE")
	})
	t.Run("dev-only setting", func(t *testing.T) {
		t.Parallel()
		dir := copyDir(t, ".")
		editFile(t, filepath.Join(dir, "main.bicep"), "  { name: 'GDAP_LOG_LEVEL', value: logLevel }\n",
			"  { name: 'GDAP_LOG_LEVEL', value: logLevel }\n  { name: 'GDAP_DEV_BEARER_TOKEN', value: 'x' }\n")
		problems, err := CheckAppSettings(dir, functions)
		require.NoError(t, err)
		require.Len(t, problems, 1)
		require.Contains(t, problems[0], "app setting GDAP_DEV_BEARER_TOKEN must not be set")
	})
}
