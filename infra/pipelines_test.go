package infra_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// pipelineFiles lists the GitHub workflows and Azure Pipelines files under root.
func pipelineFiles(root string) ([]string, error) {
	var files []string
	for _, pattern := range []string{
		".github/workflows/*.yml", ".github/workflows/*.yaml",
		"azure-pipelines.yml", ".azure-pipelines/*.yml", ".azure-pipelines/*.yaml",
	} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("no workflow or pipeline files under %s", root)
	}
	return files, nil
}

// TestActionlint lints the GitHub workflows with the actionlint pinned in
// go.mod (`go tool actionlint`). Shellcheck integration is off so that the
// result does not depend on whether shellcheck happens to be installed.
func TestActionlint(t *testing.T) {
	t.Parallel()
	out, err := actionlint(repoRoot())
	require.NoError(t, err, "actionlint:\n%s", out)

	// The same run fails on a broken workflow.
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.yml")
	require.NoError(t, os.WriteFile(broken, []byte("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.no_such_context }}\n        uses: actions/checkout@v4\n"), 0o644))
	out, err = actionlint(repoRoot(), broken)
	require.Error(t, err)
	require.NotEmpty(t, out)
}

// actionlint runs `go tool actionlint` in root on files (default: the
// repository's workflows) and returns its output.
func actionlint(root string, files ...string) (string, error) {
	var buf bytes.Buffer
	cmd := exec.Command("go", append([]string{"tool", "actionlint", "-no-color", "-shellcheck=", "-pyflakes="}, files...)...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

var (
	// continuationRE joins shell line continuations.
	continuationRE = regexp.MustCompile(`\\\s*\n\s*`)
	// parametersRE finds the arguments of --parameters / -p up to the next option or line end.
	parametersRE = regexp.MustCompile(`(?m)(?:--parameters|\s-p)\s+([^\n]*)`)
	// envVarRE finds readEnvironmentVariable('NAME' in a .bicepparam file.
	envVarRE = regexp.MustCompile(`readEnvironmentVariable\('([A-Za-z0-9_]+)'`)
)

// passedParameters returns the parameter names and parameter files a
// pipeline file passes to `az deployment group ... --parameters`.
func passedParameters(text string) (names, paramFiles []string) {
	text = continuationRE.ReplaceAllString(text, " ")
	for _, m := range parametersRE.FindAllStringSubmatch(text, -1) {
		for _, tok := range strings.Fields(m[1]) {
			if strings.HasPrefix(tok, "-") {
				break
			}
			tok = strings.Trim(tok, `"'`)
			switch {
			case strings.HasSuffix(tok, ".bicepparam") || strings.HasSuffix(tok, ".json"):
				paramFiles = append(paramFiles, tok)
			case strings.Contains(tok, "="):
				names = append(names, strings.SplitN(tok, "=", 2)[0])
			}
		}
	}
	return names, paramFiles
}

// CheckPassedParameters reports parameters the workflows and pipelines
// under root pass to the Bicep (key=value or through a .bicepparam file)
// that infra/main.bicep does not declare.
func CheckPassedParameters(root string) ([]string, error) {
	files, err := pipelineFiles(root)
	if err != nil {
		return nil, err
	}
	parsed, err := parseBicep(filepath.Join(root, "infra", "main.bicep"))
	if err != nil {
		return nil, err
	}
	declared := map[string]bool{}
	for _, p := range parsed[0].Params {
		declared[p.Name] = true
	}
	var problems []string
	passedAny := false
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(root, f)
		names, paramFiles := passedParameters(string(b))
		for _, pf := range paramFiles {
			if !strings.HasSuffix(pf, ".bicepparam") {
				problems = append(problems, fmt.Sprintf("%s: parameter file %s: only .bicepparam files are checked", rel, pf))
				continue
			}
			pp, err := parseBicep(filepath.Join(root, pf))
			if err != nil {
				return nil, err
			}
			if pp[0].Using != "./main.bicep" {
				problems = append(problems, fmt.Sprintf("%s: %s is not `using './main.bicep'`", rel, pf))
			}
			for _, p := range pp[0].Params {
				names = append(names, p.Name)
			}
		}
		for _, n := range names {
			passedAny = true
			if !declared[n] {
				problems = append(problems, fmt.Sprintf("%s: passes parameter %s, which infra/main.bicep does not declare", rel, n))
			}
		}
	}
	if !passedAny {
		problems = append(problems, "no workflow passes any parameter to infra/main.bicep")
	}
	sort.Strings(problems)
	return slices.Compact(problems), nil
}

// TestPassedParametersExist requires every parameter the pipelines pass to
// be a param of infra/main.bicep.
func TestPassedParametersExist(t *testing.T) {
	t.Parallel()
	problems, err := CheckPassedParameters(repoRoot())
	require.NoError(t, err)
	require.Empty(t, problems)
}

// TestPassedParametersCheckFails proves an undeclared parameter, passed
// inline or through the .bicepparam file, is reported.
func TestPassedParametersCheckFails(t *testing.T) {
	t.Parallel()
	names, files := passedParameters("az deployment group create \\\n  --template-file infra/main.bicep \\\n  --parameters infra/main.bicepparam baseName=x 'environmentName=dev' \\\n  --output none\naz x -p a=1\n")
	require.Equal(t, []string{"baseName", "environmentName", "a"}, names)
	require.Equal(t, []string{"infra/main.bicepparam"}, files)

	root := t.TempDir()
	for _, rel := range []string{"infra/main.bicep", "infra/main.bicepparam", ".github/workflows/deploy-environment.yml"} {
		b, err := os.ReadFile(filepath.Join(repoRoot(), rel))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, rel)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, rel), b, 0o644))
	}
	editFile(t, filepath.Join(root, ".github/workflows/deploy-environment.yml"),
		"            --parameters infra/main.bicepparam \\\n            --output none",
		"            --parameters infra/main.bicepparam noSuchParam=1 \\\n            --output none")
	editFile(t, filepath.Join(root, "infra/main.bicepparam"), "param baseName =", "param baseNameTypo =")
	problems, err := CheckPassedParameters(root)
	require.NoError(t, err)
	joined := strings.Join(problems, "\n")
	require.Contains(t, joined, "passes parameter noSuchParam")
	require.Contains(t, joined, "passes parameter baseNameTypo")
}

// secretRE matches secrets and long-lived credentials in a pipeline file:
// GitHub secrets, client secrets, publish profiles, credential JSON,
// passwords, storage keys and SAS tokens.
var secretRE = regexp.MustCompile(`(?i)\bsecrets\.|secrets:\s*inherit|client-secret|clientsecret|\bcreds:|publish-?profile|AZURE_CREDENTIALS|password|SharedAccessKey|AccountKey|listKeys|sas-token|--sas\b|az login --service-principal`)

// CheckNoSecrets reports lines of the files holding a secret or a
// long-lived credential.
func CheckNoSecrets(files []string) ([]string, error) {
	var problems []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := secretRE.FindString(line); m != "" {
				problems = append(problems, fmt.Sprintf("%s:%d: %q", filepath.Base(f), i+1, m))
			}
		}
	}
	return problems, nil
}

// TestNoSecretsInPipelines requires the workflows and pipelines to hold no
// secret or long-lived credential: Azure access is federated (OIDC / workload
// identity federation) only.
func TestNoSecretsInPipelines(t *testing.T) {
	t.Parallel()
	files, err := pipelineFiles(repoRoot())
	require.NoError(t, err)
	problems, err := CheckNoSecrets(files)
	require.NoError(t, err)
	require.Empty(t, problems)

	for _, bad := range []string{
		"          client-secret: ${{ secrets.AZURE_CLIENT_SECRET }}\n",
		"          creds: ${{ secrets.AZURE_CREDENTIALS }}\n",
		"          publish-profile: ${{ vars.PROFILE }}\n",
		"    secrets: inherit\n",
	} {
		f := filepath.Join(t.TempDir(), "bad.yml")
		require.NoError(t, os.WriteFile(f, []byte("jobs:\n"+bad), 0o644))
		problems, err := CheckNoSecrets([]string{f})
		require.NoError(t, err)
		require.Len(t, problems, 1, bad)
	}
}

// workflow is the part of a GitHub workflow the hardening test reads.
type workflow struct {
	On          yaml.Node         `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]struct {
		Uses        string            `yaml:"uses"`
		Needs       any               `yaml:"needs"`
		With        map[string]any    `yaml:"with"`
		Permissions map[string]string `yaml:"permissions"`
		Environment struct {
			Name string `yaml:"name"`
		} `yaml:"environment"`
		Concurrency struct {
			Group            string `yaml:"group"`
			CancelInProgress *bool  `yaml:"cancel-in-progress"`
		} `yaml:"concurrency"`
		Env   map[string]string `yaml:"env"`
		Steps []struct {
			Uses string            `yaml:"uses"`
			With map[string]string `yaml:"with"`
			Run  string            `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

// readWorkflow parses .github/workflows/name.
func readWorkflow(t *testing.T, name string) workflow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), ".github", "workflows", name))
	require.NoError(t, err)
	var w workflow
	require.NoError(t, yaml.Unmarshal(b, &w), name)
	return w
}

// pinnedRE is a third-party action pinned to a full commit SHA with a
// version comment.
var pinnedRE = regexp.MustCompile(`^\s*(?:- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*\s*$`)

// TestWorkflowsHardened checks pinned actions, least-privilege
// permissions, OIDC login from variables, environments, per-environment
// concurrency and the post-deploy function check.
func TestWorkflowsHardened(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(repoRoot(), ".github", "workflows", "*.yml"))
	require.NoError(t, err)
	require.Len(t, files, 3)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for i, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "uses:") && !strings.Contains(line, "uses: ./") {
				require.Regexp(t, pinnedRE, line, "%s:%d: pin actions to a full commit SHA with a version comment", filepath.Base(f), i+1)
			}
		}
		w := readWorkflow(t, filepath.Base(f))
		require.Equal(t, map[string]string{"contents": "read"}, w.Permissions, "%s: top-level permissions", f)
		for name, job := range w.Jobs {
			for scope, level := range job.Permissions {
				if level == "write" {
					require.Equal(t, "id-token", scope, "%s job %s: only id-token may be write", f, name)
				}
			}
		}
	}

	ci := readWorkflow(t, "ci.yml")
	require.Contains(t, ci.Jobs["test"].Steps[len(ci.Jobs["test"].Steps)-1].Run, "make test")
	require.Empty(t, ci.Jobs["test"].Permissions)

	deploy := readWorkflow(t, "deploy.yml")
	require.Contains(t, deploy.Jobs["package"].Steps[2].Run, "make package")
	require.Empty(t, deploy.Jobs["package"].Permissions, "building needs no Azure token")
	for env, needs := range map[string]string{"dev": "package", "prod": "dev"} {
		job := deploy.Jobs[env]
		require.Equal(t, "./.github/workflows/deploy-environment.yml", job.Uses)
		require.Equal(t, env, job.With["environment"])
		require.Equal(t, needs, job.Needs)
		require.Equal(t, map[string]string{"contents": "read", "id-token": "write"}, job.Permissions)
	}

	env := readWorkflow(t, "deploy-environment.yml")
	job := env.Jobs["deploy"]
	require.Equal(t, "${{ inputs.environment }}", job.Environment.Name)
	require.Equal(t, "deploy-${{ inputs.environment }}", job.Concurrency.Group)
	require.NotNil(t, job.Concurrency.CancelInProgress)
	require.False(t, *job.Concurrency.CancelInProgress, "never cancel a deployment in progress")
	require.Equal(t, map[string]string{"contents": "read", "id-token": "write"}, job.Permissions)
	logins := 0
	var script strings.Builder
	for _, s := range job.Steps {
		script.WriteString(s.Run)
		if strings.HasPrefix(s.Uses, "azure/login@") {
			logins++
			require.Equal(t, map[string]string{
				"client-id":       "${{ vars.AZURE_CLIENT_ID }}",
				"tenant-id":       "${{ vars.AZURE_TENANT_ID }}",
				"subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}",
			}, s.With)
		}
	}
	require.Equal(t, 1, logins)
	for _, want := range []string{
		"az deployment group validate", "az deployment group what-if", "az deployment group create",
		"az functionapp deployment source config-zip", "az functionapp function list",
		wantFunctionsLine(t),
	} {
		require.Contains(t, script.String(), want)
	}

	// Every variable infra/main.bicepparam reads is provided by the job.
	b, err := os.ReadFile(filepath.Join(repoRoot(), "infra", "main.bicepparam"))
	require.NoError(t, err)
	vars := envVarRE.FindAllStringSubmatch(string(b), -1)
	require.NotEmpty(t, vars)
	for _, m := range vars {
		require.Contains(t, job.Env, m[1], "deploy-environment.yml must export %s for infra/main.bicepparam", m[1])
	}
}

// TestAzurePipeline checks the Azure Pipelines flow: workload identity
// federation service connections, AzureCLI@2, AzureFunctionApp@2 on Flex
// Consumption, deployment jobs on approval-gated environments.
func TestAzurePipeline(t *testing.T) {
	t.Parallel()
	var root struct {
		Trigger any `yaml:"trigger"`
		PR      any `yaml:"pr"`
		Stages  []struct {
			Stage      string         `yaml:"stage"`
			Template   string         `yaml:"template"`
			Parameters map[string]any `yaml:"parameters"`
		} `yaml:"stages"`
	}
	b, err := os.ReadFile(filepath.Join(repoRoot(), "azure-pipelines.yml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, &root))
	require.NotNil(t, root.Trigger)
	require.NotNil(t, root.PR)
	require.Contains(t, string(b), "script: make test")
	require.Contains(t, string(b), "script: make package")
	var deploys []map[string]any
	for _, s := range root.Stages {
		if s.Template != "" {
			require.Equal(t, ".azure-pipelines/deploy-stage.yml", s.Template)
			deploys = append(deploys, s.Parameters)
		}
	}
	require.Len(t, deploys, 2)
	require.Equal(t, "dev", deploys[0]["environment"])
	require.Equal(t, "prod", deploys[1]["environment"])
	require.Equal(t, "Deploy_dev", deploys[1]["dependsOn"], "prod deploys only after dev")

	tb, err := os.ReadFile(filepath.Join(repoRoot(), ".azure-pipelines", "deploy-stage.yml"))
	require.NoError(t, err)
	var tmpl struct {
		Stages []struct {
			Jobs []struct {
				Deployment  string `yaml:"deployment"`
				Environment string `yaml:"environment"`
				Strategy    struct {
					RunOnce struct {
						Deploy struct {
							Steps []struct {
								Task   string         `yaml:"task"`
								Inputs map[string]any `yaml:"inputs"`
							} `yaml:"steps"`
						} `yaml:"deploy"`
					} `yaml:"runOnce"`
				} `yaml:"strategy"`
			} `yaml:"jobs"`
		} `yaml:"stages"`
	}
	require.NoError(t, yaml.Unmarshal(tb, &tmpl))
	require.Len(t, tmpl.Stages, 1)
	require.Len(t, tmpl.Stages[0].Jobs, 1)
	dj := tmpl.Stages[0].Jobs[0]
	require.Equal(t, "deploy", dj.Deployment)
	require.Equal(t, "gdapflow-${{ parameters.environment }}", dj.Environment)
	tasks := []string{}
	for _, s := range dj.Strategy.RunOnce.Deploy.Steps {
		if s.Task == "" {
			continue
		}
		tasks = append(tasks, s.Task)
		require.Equal(t, "${{ parameters.serviceConnection }}", s.Inputs["azureSubscription"], s.Task)
		if s.Task == "AzureFunctionApp@2" {
			require.Equal(t, true, s.Inputs["isFlexConsumption"])
			require.Equal(t, "functionAppLinux", s.Inputs["appType"])
			require.Equal(t, "$(Pipeline.Workspace)/gdapflow-package/gdapflow.zip", s.Inputs["package"])
		}
	}
	require.Equal(t, []string{"AzureCLI@2", "AzureFunctionApp@2", "AzureCLI@2"}, tasks)
	for _, want := range []string{"az deployment group validate", "az deployment group what-if", "az deployment group create", "az functionapp function list", wantFunctionsLine(t)} {
		require.Contains(t, string(tb), want)
	}
}

// wantFunctionsLine is the post-deploy check's list of functions, which must
// name every folder under functions/ (sorted, as the check sorts what
// `az functionapp function list` returns): a new function makes the
// pipelines' check, and so this test, fail until the list names it.
func wantFunctionsLine(t *testing.T) string {
	t.Helper()
	defs, err := filepath.Glob(filepath.Join(repoRoot(), "functions", "*", "function.json"))
	require.NoError(t, err)
	require.NotEmpty(t, defs)
	names := make([]string, 0, len(defs))
	for _, d := range defs {
		names = append(names, filepath.Base(filepath.Dir(d)))
	}
	sort.Strings(names)
	return `want="` + strings.Join(names, " ") + `"`
}
