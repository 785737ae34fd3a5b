package infra_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// roleNames maps the built-in role definition ids the Bicep may use
// (docs/platform/functions-host-facts.md §5.3, plus Key Vault Secrets Officer) to
// their names. Any other role id is a finding.
var roleNames = map[string]string{ //nolint:gochecknoglobals // constant table
	"b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
	"0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
	"4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0": "Azure Service Bus Data Receiver",
	"69a216fc-b8fb-44d8-bc22-1f3c2cd27a39": "Azure Service Bus Data Sender",
	"3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
	"090c5cfd-751d-490a-894a-3ce6f1109419": "Azure Service Bus Data Owner",
	"b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
}

// wantRoleAssignments is every role assignment the Bicep may make, as
// "file scope-symbol (scope-type): role -> principal". The app's identity
// gets entity-scoped Service Bus roles; other systems get exactly one
// entity each. "(if cond)" marks an assignment made only when cond holds;
// "X[i]" a scope that is the loop's own element of a looped resource.
var wantRoleAssignments = []string{ //nolint:gochecknoglobals // constant table
	"keyvault.bicep vault (Microsoft.KeyVault/vaults): Key Vault Secrets Officer -> app",
	"monitoring.bicep appInsights (Microsoft.Insights/components): Monitoring Metrics Publisher -> app",
	"servicebus.bicep commandsQueue (Microsoft.ServiceBus/namespaces/queues): Azure Service Bus Data Owner -> app (if scalerReadsQueueLength)",
	"servicebus.bicep commandsQueue (Microsoft.ServiceBus/namespaces/queues): Azure Service Bus Data Receiver -> app",
	"servicebus.bicep commandsQueue (Microsoft.ServiceBus/namespaces/queues): Azure Service Bus Data Sender -> app",
	"servicebus.bicep commandsQueue (Microsoft.ServiceBus/namespaces/queues): Azure Service Bus Data Sender -> each commandSenderPrincipalIds",
	"servicebus.bicep consumerSubscriptions[i] (Microsoft.ServiceBus/namespaces/topics/subscriptions): Azure Service Bus Data Receiver -> each consumers",
	"servicebus.bicep continuationsQueue (Microsoft.ServiceBus/namespaces/queues): Azure Service Bus Data Owner -> app (if scalerReadsQueueLength)",
	"servicebus.bicep continuationsQueue (Microsoft.ServiceBus/namespaces/queues): Azure Service Bus Data Receiver -> app",
	"servicebus.bicep continuationsQueue (Microsoft.ServiceBus/namespaces/queues): Azure Service Bus Data Sender -> app",
	"servicebus.bicep eventsTopic (Microsoft.ServiceBus/namespaces/topics): Azure Service Bus Data Sender -> app",
	"storage.bicep storage (Microsoft.Storage/storageAccounts): Storage Blob Data Owner -> app",
	"storage.bicep tableService (Microsoft.Storage/storageAccounts/tableServices): Storage Table Data Contributor -> app",
}

var (
	roleVarRE  = regexp.MustCompile(`(?m)^var (\w+) = '([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'`)
	guidNameRE = regexp.MustCompile(`^guid\(([\w\[\]]+)\.id, ([\w.]+), (\w+)\)$`)
	// indexedRE is a scope naming one element of a looped resource: x[i].
	indexedRE = regexp.MustCompile(`^(\w+)\[(\w+)\]$`)
	roleDefRE = regexp.MustCompile(`^subscriptionResourceId\('Microsoft\.Authorization/roleDefinitions', (\w+)\)$`)
	// forbiddenTextRE matches ways of creating or reading keys, SAS tokens
	// or connection strings, and secure parameters (secrets passed in).
	forbiddenTextRE = regexp.MustCompile(`(?i)list(Keys|ConnectionStrings|AccountSas|ServiceSas|Secrets)\s*\(|SharedAccessKey|AccountKey=|@secure\(\)`)
	// forbiddenOutputRE matches outputs that would carry a credential.
	forbiddenOutputRE = regexp.MustCompile(`(?i)connectionstring|instrumentationkey|accountkey|primarykey|secondarykey|password|listkeys|sharedaccess`)
)

// mustBe lists properties whose every occurrence must have one of the
// given values (and that must occur at least once).
var mustBe = map[string][]string{ //nolint:gochecknoglobals // constant table
	"allowSharedKeyAccess":             {"false"},
	"allowBlobPublicAccess":            {"false"},
	"allowCrossTenantReplication":      {"false"},
	"supportsHttpsTrafficOnly":         {"true"},
	"minimumTlsVersion":                {"TLS1_2", "1.2"},
	"disableLocalAuth":                 {"true"},
	"DisableLocalAuth":                 {"true"},
	"enableRbacAuthorization":          {"true"},
	"enableSoftDelete":                 {"true"},
	"enablePurgeProtection":            {"true"},
	"requiresDuplicateDetection":       {"true"},
	"deadLetteringOnMessageExpiration": {"true"},
	"httpsOnly":                        {"true"},
	"publicAccess":                     {"None"},
	"allow":                            {"false"},
}

// CheckSecurity reports, one line each, what in the Bicep under dir could
// create, read or leak a key, SAS or connection string, weakens
// identity-only access, or grants a role more broadly than intended.
func CheckSecurity(dir string) ([]string, error) {
	parsed, err := parseDir(dir)
	if err != nil {
		return nil, err
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	seen := map[string]int{}
	var roles []string
	for _, f := range parsed {
		base := filepath.Base(f.File)
		src, err := os.ReadFile(f.File)
		if err != nil {
			return nil, err
		}
		for i, line := range strings.Split(string(src), "\n") {
			if m := forbiddenTextRE.FindString(line); m != "" {
				add("%s:%d: forbidden %q", base, i+1, m)
			}
		}
		for _, o := range f.Outputs {
			if forbiddenOutputRE.MatchString(o.Name) || forbiddenOutputRE.MatchString(o.Value) {
				add("%s: output %s may carry a credential: %s", base, o.Name, o.Value)
			}
		}
		for _, p := range f.Properties {
			allowed, ok := mustBe[p.Key]
			if !ok {
				continue
			}
			seen[p.Key]++
			if !slices.Contains(allowed, p.Value) {
				add("%s:%d: %s is %s, must be %s", base, p.Line, p.Key, p.Value, strings.Join(allowed, " or "))
			}
		}
		// Role assignments.
		roleVars := map[string]string{}
		for _, m := range roleVarRE.FindAllStringSubmatch(string(src), -1) {
			roleVars[m[1]] = m[2]
		}
		bySymbol := map[string]bicepResource{}
		for _, r := range f.Resources {
			bySymbol[r.Symbol] = r
		}
		for _, r := range f.Resources {
			if !strings.HasPrefix(r.Type, "Microsoft.Authorization/roleAssignments@") {
				continue
			}
			got, err := describeRoleAssignment(base, r, roleVars, bySymbol)
			if err != nil {
				add("%s:%d: role assignment %s: %v", base, r.Line, r.Symbol, err)
				continue
			}
			roles = append(roles, got)
		}
	}
	for key := range mustBe {
		if seen[key] == 0 {
			add("property %s is never set", key)
		}
	}
	sort.Strings(roles)
	for _, r := range roles {
		if !slices.Contains(wantRoleAssignments, r) {
			add("unexpected role assignment: %s", r)
		}
	}
	for _, r := range wantRoleAssignments {
		if !slices.Contains(roles, r) {
			add("missing role assignment: %s", r)
		}
	}
	sort.Strings(problems)
	return problems, nil
}

// describeRoleAssignment checks a role assignment's shape (name =
// guid(scope.id, principalId, roleId), principalType set) and describes it.
// A looped assignment scoped to x[i] must loop over the same array as x, with
// i its own index, so that each element gets exactly its own x.
func describeRoleAssignment(file string, r bicepResource, roleVars map[string]string, bySymbol map[string]bicepResource) (string, error) {
	scope := r.Top["scope"]
	if scope == "" {
		return "", fmt.Errorf("no explicit scope (it would default to the whole resource group)")
	}
	scopeSymbol := scope
	if m := indexedRE.FindStringSubmatch(scope); m != nil {
		target := bySymbol[m[1]]
		switch {
		case r.Loop == nil || r.Loop.Index != m[2]:
			return "", fmt.Errorf("scope %s is not indexed by the assignment's own loop index", scope)
		case target.Loop == nil || target.Loop.Over != r.Loop.Over:
			return "", fmt.Errorf("scope %s does not loop over %s like the assignment", scope, r.Loop.Over)
		}
		scopeSymbol = m[1]
	}
	target, ok := bySymbol[scopeSymbol]
	if !ok {
		return "", fmt.Errorf("scope %s is not a resource of this file", scope)
	}
	scopeType := strings.SplitN(target.Type, "@", 2)[0]
	m := guidNameRE.FindStringSubmatch(r.Top["name"])
	if m == nil {
		return "", fmt.Errorf("name %s is not guid(scope.id, principalId, roleId)", r.Top["name"])
	}
	roleVar := roleDefRE.FindStringSubmatch(r.Properties["roleDefinitionId"])
	switch {
	case m[1] != scope:
		return "", fmt.Errorf("name uses %s.id but the scope is %s", m[1], scope)
	case m[2] != r.Properties["principalId"]:
		return "", fmt.Errorf("name uses principal %s but principalId is %s", m[2], r.Properties["principalId"])
	case roleVar == nil || roleVar[1] != m[3]:
		return "", fmt.Errorf("roleDefinitionId %s does not match the name's role %s", r.Properties["roleDefinitionId"], m[3])
	case r.Properties["principalType"] == "":
		return "", fmt.Errorf("principalType is not set")
	}
	role, ok := roleNames[roleVars[m[3]]]
	if !ok {
		return "", fmt.Errorf("role %s (%q) is not one of the allowed built-in roles", m[3], roleVars[m[3]])
	}
	principal := "app"
	switch {
	case r.Loop != nil && (m[2] == r.Loop.Variable || m[2] == r.Loop.Variable+".principalId"):
		principal = "each " + r.Loop.Over
	case r.Loop != nil:
		return "", fmt.Errorf("looped assignment over %s does not use the loop variable %s as principal", r.Loop.Over, r.Loop.Variable)
	case m[2] != "appPrincipalId":
		return "", fmt.Errorf("principal %s is neither the app nor a principal-id parameter", m[2])
	}
	if r.Condition != "" {
		principal += " (if " + r.Condition + ")"
	}
	return fmt.Sprintf("%s %s (%s): %s -> %s", file, scope, scopeType, role, principal), nil
}

// TestSecurity requires identity-only access, no credential anywhere and
// exactly the intended role assignments.
func TestSecurity(t *testing.T) {
	t.Parallel()
	problems, err := CheckSecurity(".")
	require.NoError(t, err)
	require.Empty(t, problems)
}

// TestSecurityCheckFails proves each kind of finding is reported.
func TestSecurityCheckFails(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		file, old, new, want string
	}{
		"listKeys output": {
			file: "modules/storage.bicep",
			old:  "@description('Storage account name.')\n",
			new:  "output key string = storage.listKeys().keys[0].value\n\n@description('Storage account name.')\n",
			want: "forbidden \"listKeys(\"",
		},
		"connection string output": {
			file: "main.bicep",
			old:  "@description('Storage account name.')\n",
			new:  "output appInsightsConnectionString string = appInsights.properties.ConnectionString\n\n@description('Storage account name.')\n",
			want: "output appInsightsConnectionString may carry a credential",
		},
		"shared keys enabled": {
			file: "modules/storage.bicep", old: "allowSharedKeyAccess: false", new: "allowSharedKeyAccess: true",
			want: "allowSharedKeyAccess is true, must be false",
		},
		"Service Bus local auth": {
			file: "modules/servicebus.bicep", old: "disableLocalAuth: true", new: "disableLocalAuth: false",
			want: "disableLocalAuth is false, must be true",
		},
		"secure parameter": {
			file: "main.bicep", old: "param tags object = {}", new: "@secure()\nparam tags object = {}",
			want: "forbidden \"@secure()\"",
		},
		"receiver on the namespace": {
			file: "modules/servicebus.bicep",
			old:  "  name: guid(commandsQueue.id, appPrincipalId, dataReceiver)\n  scope: commandsQueue\n",
			new:  "  name: guid(namespace.id, appPrincipalId, dataReceiver)\n  scope: namespace\n",
			want: "unexpected role assignment: servicebus.bicep namespace (Microsoft.ServiceBus/namespaces): Azure Service Bus Data Receiver -> app",
		},
		"mismatched guid name": {
			file: "modules/keyvault.bicep",
			old:  "name: guid(vault.id, appPrincipalId, keyVaultSecretsOfficer)",
			new:  "name: guid(resourceGroup().id, appPrincipalId, keyVaultSecretsOfficer)",
			want: "is not guid(scope.id, principalId, roleId)",
		},
		"consumer reads the whole topic": {
			file: "modules/servicebus.bicep",
			old:  "    name: guid(consumerSubscriptions[i].id, consumer.principalId, dataReceiver)\n    scope: consumerSubscriptions[i]\n",
			new:  "    name: guid(eventsTopic.id, consumer.principalId, dataReceiver)\n    scope: eventsTopic\n",
			want: "unexpected role assignment: servicebus.bicep eventsTopic (Microsoft.ServiceBus/namespaces/topics): Azure Service Bus Data Receiver -> each consumers",
		},
		"consumer reads another consumer's subscription": {
			file: "modules/servicebus.bicep",
			old:  "    name: guid(consumerSubscriptions[i].id, consumer.principalId, dataReceiver)\n    scope: consumerSubscriptions[i]\n",
			new:  "    name: guid(consumerSubscriptions[0].id, consumer.principalId, dataReceiver)\n    scope: consumerSubscriptions[0]\n",
			want: "is not indexed by the assignment's own loop index",
		},
		"broader role": {
			file: "modules/storage.bicep",
			old:  "var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'",
			new:  "var storageTableDataContributor = '17d1049b-9a84-46fb-8f53-869881c3d3ab'",
			want: "is not one of the allowed built-in roles",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := copyDir(t, ".")
			editFile(t, filepath.Join(dir, tc.file), tc.old, tc.new)
			problems, err := CheckSecurity(dir)
			require.NoError(t, err)
			require.NotEmpty(t, problems)
			require.Contains(t, strings.Join(problems, "\n"), tc.want)
		})
	}
}

// paramDefault returns the literal default of a main.bicep parameter
// (quotes removed).
func paramDefault(t *testing.T, f bicepFile, name string) string {
	t.Helper()
	for _, p := range f.Params {
		if p.Name == name {
			require.NotNil(t, p.Default, "param %s has no default", name)
			return strings.Trim(*p.Default, "'")
		}
	}
	require.Failf(t, "missing param", "main.bicep has no param %s", name)
	return ""
}

// mainBicep parses infra/main.bicep.
func mainBicep(t *testing.T) bicepFile {
	t.Helper()
	parsed, err := parseBicep(filepath.Join(repoRoot(), "infra", "main.bicep"))
	require.NoError(t, err)
	return parsed[0]
}

// TestTimeoutsFitHost keeps GDAP_INVOCATION_TIMEOUT (and the sweep budget
// inside it) below host.json functionTimeout, so a slow invocation ends
// itself before the host restarts the whole handler process.
func TestTimeoutsFitHost(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "host.json"))
	require.NoError(t, err)
	var host struct {
		FunctionTimeout string `json:"functionTimeout"`
	}
	require.NoError(t, json.Unmarshal(b, &host))
	hms, err := time.Parse("15:04:05", host.FunctionTimeout)
	require.NoError(t, err)
	functionTimeout := time.Duration(hms.Hour())*time.Hour + time.Duration(hms.Minute())*time.Minute + time.Duration(hms.Second())*time.Second

	f := mainBicep(t)
	invocation, err := time.ParseDuration(paramDefault(t, f, "invocationTimeout"))
	require.NoError(t, err)
	budget, err := time.ParseDuration(paramDefault(t, f, "sweepInvocationBudget"))
	require.NoError(t, err)
	require.LessOrEqual(t, invocation, functionTimeout-time.Minute, "GDAP_INVOCATION_TIMEOUT must leave at least a minute of host.json functionTimeout")
	require.Less(t, budget, invocation, "GDAP_SWEEP_INVOCATION_BUDGET must be shorter than GDAP_INVOCATION_TIMEOUT")
}

// TestContractNamesAndOutputs checks the entity names against docs/contract.md §1
// and §4 and that the outputs other pipelines need exist.
func TestContractNamesAndOutputs(t *testing.T) {
	t.Parallel()
	f := mainBicep(t)
	require.Equal(t, "gdap-commands", paramDefault(t, f, "commandsQueueName"))
	require.Equal(t, "gdap-continuations", paramDefault(t, f, "continuationsQueueName"))
	require.Equal(t, "gdap-events", paramDefault(t, f, "eventsTopicName"))
	require.Equal(t, "0 0 */6 * * *", paramDefault(t, f, "sweepSchedule"))
	outputs := []string{}
	for _, o := range f.Outputs {
		outputs = append(outputs, o.Name)
	}
	for _, want := range []string{
		"functionAppName", "storageAccountName", "serviceBusNamespaceFqdn", "commandsQueueName",
		"continuationsQueueName", "eventsTopicName", "eventSubscriptionNames", "pcRefreshTokenSecretUri",
		"keyVaultName", "identityPrincipalId",
	} {
		require.Contains(t, outputs, want)
	}
}

// TestFlexConsumptionApp checks the shape of the plan and the app: FC1,
// runtime custom 1.0, user-assigned identity for the deployment container
// and Key Vault references.
func TestFlexConsumptionApp(t *testing.T) {
	t.Parallel()
	parsed, err := parseBicep(filepath.Join(repoRoot(), "infra", "modules", "functionapp.bicep"))
	require.NoError(t, err)
	f := parsed[0]
	byType := map[string]bicepResource{}
	for _, r := range f.Resources {
		byType[strings.SplitN(r.Type, "@", 2)[0]] = r
	}
	plan := byType["Microsoft.Web/serverfarms"]
	require.Contains(t, plan.Top["sku"], "name: 'FC1'")
	require.Contains(t, plan.Top["sku"], "tier: 'FlexConsumption'")
	app := byType["Microsoft.Web/sites"]
	require.Equal(t, "'functionapp,linux'", app.Top["kind"])
	require.Contains(t, app.Top["identity"], "type: 'UserAssigned'")
	require.Equal(t, "identityId", app.Properties["keyVaultReferenceIdentity"])
	cfg := app.Properties["functionAppConfig"]
	require.Regexp(t, `runtime: \{\s+name: 'custom'\s+version: '1.0'\s+\}`, cfg)
	require.Regexp(t, `type: 'UserAssignedIdentity'\s+userAssignedIdentityResourceId: identityId`, cfg)
	require.Contains(t, cfg, "type: 'blobContainer'")
}
