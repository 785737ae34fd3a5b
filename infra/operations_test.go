package infra_test

// Checks of what operating gdapflow in Azure relies on (docs/deploy.md,
// "Operating it"): one events subscription per consumer with its filter, the
// scaler's role decision, always-ready instances, diagnostic settings,
// alert rules that match what the handler really logs, and restrictNetwork
// evaluated on and off. Each Check* function reports problems for the Bicep
// under a directory; TestOperationsChecksFail mutates a copy of the Bicep to
// show that each check fails when the property it guards is removed.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/config"
)

// parsedInfra is infra/ parsed, by base name (main.bicep, servicebus.bicep).
type parsedInfra map[string]bicepFile

func parseInfra(dir string) (parsedInfra, error) {
	files, err := parseDir(dir)
	if err != nil {
		return nil, err
	}
	out := parsedInfra{}
	for _, f := range files {
		out[filepath.Base(f.File)] = f
	}
	return out, nil
}

// ofType lists the resources of a file whose type (without API version) is typ.
func (p parsedInfra) ofType(file, typ string) []bicepResource {
	var out []bicepResource
	for _, r := range p[file].Resources {
		if strings.SplitN(r.Type, "@", 2)[0] == typ {
			out = append(out, r)
		}
	}
	return out
}

// symbol returns the resource or module of a file named sym.
func (p parsedInfra) symbol(file, sym string) (bicepResource, bool) {
	for _, r := range slices.Concat(p[file].Resources, p[file].Modules) {
		if r.Symbol == sym {
			return r, true
		}
	}
	return bicepResource{}, false
}

// module returns main.bicep's module declared from path (modules/x.bicep).
func (p parsedInfra) module(path string) (bicepResource, bool) {
	for _, m := range p["main.bicep"].Modules {
		if m.Type == path {
			return m, true
		}
	}
	return bicepResource{}, false
}

// param returns the default of a parameter of a file ("" and false if absent).
func (p parsedInfra) param(file, name string) (string, bool) {
	for _, x := range p[file].Params {
		if x.Name == name {
			if x.Default == nil {
				return "", true
			}
			return *x.Default, true
		}
	}
	return "", false
}

// varRE returns the text of `var name = ...` up to the next blank line.
func varText(dir, file, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return ""
	}
	m := regexp.MustCompile(`(?ms)^var ` + regexp.QuoteMeta(name) + ` = (.*?)\n\n`).FindStringSubmatch(string(b))
	if m == nil {
		return ""
	}
	return m[1]
}

func modulePath(dir, file string) string {
	if file == "main.bicep" {
		return filepath.Join(dir, file)
	}
	return filepath.Join(dir, "modules", file)
}

// CheckConsumers reports whether every event consumer gets exactly its own
// subscription, filtered on the event type, and nothing shared.
func CheckConsumers(dir string) ([]string, error) {
	p, err := parseInfra(dir)
	if err != nil {
		return nil, err
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	const sb = "servicebus.bicep"
	if _, ok := p.param(sb, "eventConsumers"); !ok {
		add("servicebus.bicep: no param eventConsumers")
	}
	consumers := varText(filepath.Join(dir, "modules"), sb, "consumers")
	for _, want := range []string{"map(eventConsumers,", "name: c.name", "principalId: trim(c.principalId)", "'1=1'", "'sys.Label IN (", "c.?eventTypes"} {
		if !strings.Contains(consumers, want) {
			add("servicebus.bicep: var consumers (the per-consumer filter) lacks %q", want)
		}
	}
	subs := p.ofType(sb, "Microsoft.ServiceBus/namespaces/topics/subscriptions")
	if len(subs) != 1 {
		add("servicebus.bicep: want exactly one subscription resource (looped over consumers), got %d", len(subs))
	}
	subSymbol := ""
	for _, s := range subs {
		if s.Loop == nil || s.Loop.Over != "consumers" {
			add("servicebus.bicep: subscription %s is not one per consumer (not looped over consumers): a shared subscription", s.Symbol)
			continue
		}
		subSymbol = s.Symbol
		if s.Top["name"] != s.Loop.Variable+".name" {
			add("servicebus.bicep: subscription %s is not named after its consumer: %s", s.Symbol, s.Top["name"])
		}
		if s.Top["parent"] != "eventsTopic" {
			add("servicebus.bicep: subscription %s is not on the events topic", s.Symbol)
		}
		if s.Paths["properties.deadLetteringOnMessageExpiration"] != "true" {
			add("servicebus.bicep: subscription %s does not dead-letter expired events", s.Symbol)
		}
	}
	rules := p.ofType(sb, "Microsoft.ServiceBus/namespaces/topics/subscriptions/rules")
	if len(rules) != 1 {
		add("servicebus.bicep: want exactly one rule resource (each consumer's filter), got %d", len(rules))
	}
	for _, r := range rules {
		switch {
		case r.Loop == nil || r.Loop.Over != "consumers" || r.Loop.Index == "":
			add("servicebus.bicep: rule %s is not one per consumer", r.Symbol)
		case r.Top["parent"] != subSymbol+"["+r.Loop.Index+"]":
			add("servicebus.bicep: rule %s is not on its own consumer's subscription: parent %s", r.Symbol, r.Top["parent"])
		}
		if r.Top["name"] != "'$Default'" {
			add("servicebus.bicep: rule %s must replace the subscription's $Default (TrueFilter) rule, else every event passes: name %s", r.Symbol, r.Top["name"])
		}
		if r.Paths["properties.filterType"] != "'SqlFilter'" {
			add("servicebus.bicep: rule %s is not a SqlFilter", r.Symbol)
		}
		if r.Loop != nil && r.Paths["properties.sqlFilter.sqlExpression"] != r.Loop.Variable+".sqlFilter" {
			add("servicebus.bicep: rule %s does not use its consumer's filter: %q", r.Symbol, r.Paths["properties.sqlFilter.sqlExpression"])
		}
	}
	receivers := 0
	for _, ra := range p.ofType(sb, "Microsoft.Authorization/roleAssignments") {
		if strings.HasPrefix(ra.Top["scope"], subSymbol+"[") {
			receivers++
			if ra.Loop == nil || ra.Top["scope"] != subSymbol+"["+ra.Loop.Index+"]" || ra.Properties["principalId"] != ra.Loop.Variable+".principalId" {
				add("servicebus.bicep: role assignment %s does not give each consumer its own subscription", ra.Symbol)
			}
		}
	}
	if receivers != 1 {
		add("servicebus.bicep: want one role assignment per consumer subscription, got %d", receivers)
	}
	if m, ok := p.module("modules/servicebus.bicep"); !ok || !strings.Contains(m.Top["params"], "eventConsumers: eventConsumers") {
		add("main.bicep: the servicebus module is not given eventConsumers")
	}
	sort.Strings(problems)
	return problems, nil
}

// CheckScaler reports whether the app holds Azure Service Bus Data Owner
// (the Manage right the target-based scaler needs) on exactly the two queues
// it triggers on, behind scalerReadsQueueLength, and the always-ready
// setting of the commands function.
func CheckScaler(dir string) ([]string, error) {
	p, err := parseInfra(dir)
	if err != nil {
		return nil, err
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	const sb = "servicebus.bicep"
	owner := ""
	for _, m := range roleVarRE.FindAllStringSubmatch(varBlock(dir, sb), -1) {
		if m[2] == "090c5cfd-751d-490a-894a-3ce6f1109419" {
			owner = m[1]
		}
	}
	var scopes []string
	for _, ra := range p.ofType(sb, "Microsoft.Authorization/roleAssignments") {
		if owner == "" || !strings.HasSuffix(ra.Properties["roleDefinitionId"], ", "+owner+")") {
			continue
		}
		scopes = append(scopes, ra.Top["scope"])
		if ra.Condition != "scalerReadsQueueLength" {
			add("servicebus.bicep: Data Owner on %s is not conditioned on scalerReadsQueueLength", ra.Top["scope"])
		}
		if ra.Properties["principalId"] != "appPrincipalId" {
			add("servicebus.bicep: Data Owner on %s is not for the app", ra.Top["scope"])
		}
	}
	sort.Strings(scopes)
	if !slices.Equal(scopes, []string{"commandsQueue", "continuationsQueue"}) {
		add("servicebus.bicep: the scaler's Data Owner must be on the commands and continuations queues only, got %v", scopes)
	}
	if d, ok := p.param("main.bicep", "scalerReadsQueueLength"); !ok || d != "true" {
		add("main.bicep: param scalerReadsQueueLength must default to true (got %q)", d)
	}
	if m, ok := p.module("modules/servicebus.bicep"); !ok || !strings.Contains(m.Top["params"], "scalerReadsQueueLength: scalerReadsQueueLength") {
		add("main.bicep: the servicebus module is not given scalerReadsQueueLength")
	}
	// Always ready: named function:<name> of an existing function.
	apps := p.ofType("functionapp.bicep", "Microsoft.Web/sites")
	if len(apps) != 1 {
		add("functionapp.bicep: want one site, got %d", len(apps))
		return problems, nil
	}
	ready := apps[0].Paths["properties.functionAppConfig.scaleAndConcurrency.alwaysReady"]
	if !strings.Contains(ready, "name: 'function:commands'") || !strings.Contains(ready, "instanceCount: commandsAlwaysReady") {
		add("functionapp.bicep: no always-ready entry function:commands with commandsAlwaysReady instances: %q", ready)
	}
	if _, err := os.Stat(filepath.Join(repoRoot(), "functions", "commands", "function.json")); err != nil {
		add("always-ready names function:commands, but functions/commands does not exist")
	}
	if d, ok := p.param("main.bicep", "commandsAlwaysReady"); !ok || d != "0" {
		add("main.bicep: param commandsAlwaysReady must default to 0 (got %q)", d)
	}
	sort.Strings(problems)
	return problems, nil
}

// varBlock returns a module's text (for role id variables).
func varBlock(dir, file string) string {
	b, err := os.ReadFile(modulePath(dir, file))
	if err != nil {
		return ""
	}
	return string(b)
}

// wantDiagnostics: per module, the type of the resource the diagnostic
// setting must be scoped to and the log categories (or category group) it
// must send.
var wantDiagnostics = []struct { //nolint:gochecknoglobals // constant table
	file, scopeType string
	categories      []string
}{
	{"keyvault.bicep", "Microsoft.KeyVault/vaults", []string{"category: 'AuditEvent'"}},
	{"servicebus.bicep", "Microsoft.ServiceBus/namespaces", []string{"categoryGroup: 'allLogs'"}},
	{"storage.bicep", "Microsoft.Storage/storageAccounts/tableServices", []string{"category: 'StorageRead'", "category: 'StorageWrite'", "category: 'StorageDelete'"}},
	{"functionapp.bicep", "Microsoft.Web/sites", []string{"category: 'FunctionAppLogs'"}},
}

// CheckDiagnostics reports a missing or mis-scoped diagnostic setting, a
// missing log category, or one not sent to the deployment's workspace.
func CheckDiagnostics(dir string) ([]string, error) {
	p, err := parseInfra(dir)
	if err != nil {
		return nil, err
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, w := range wantDiagnostics {
		found := false
		for _, d := range p.ofType(w.file, "Microsoft.Insights/diagnosticSettings") {
			target, ok := p.symbol(w.file, d.Top["scope"])
			if !ok || strings.SplitN(target.Type, "@", 2)[0] != w.scopeType {
				continue
			}
			found = true
			if d.Properties["workspaceId"] != "workspaceId" {
				add("%s: diagnostic setting %s does not send to the workspace (workspaceId: %q)", w.file, d.Symbol, d.Properties["workspaceId"])
			}
			if d.Condition != "" {
				add("%s: diagnostic setting %s is conditional (%s)", w.file, d.Symbol, d.Condition)
			}
			for _, c := range w.categories {
				if !strings.Contains(d.Properties["logs"], c) || !regexp.MustCompile(regexp.QuoteMeta(c)+`\s+enabled: true`).MatchString(d.Properties["logs"]) {
					add("%s: diagnostic setting %s does not enable %s", w.file, d.Symbol, c)
				}
			}
		}
		if !found {
			add("%s: no diagnostic setting scoped to a %s", w.file, w.scopeType)
		}
		m, ok := p.module("modules/" + w.file)
		if !ok || !strings.Contains(m.Top["params"], "workspaceId: monitoring.outputs.workspaceId") {
			add("main.bicep: module %s is not given the workspace (workspaceId: monitoring.outputs.workspaceId)", w.file)
		}
	}
	sort.Strings(problems)
	return problems, nil
}

// logTables are the tables each log-alert scope can query: the Application
// Insights component (classic names) and the Log Analytics workspace.
var logTables = map[string][]string{ //nolint:gochecknoglobals // constant table
	"appInsightsId": {"traces", "requests"},
	"workspaceId":   {"AzureDiagnostics"},
}

// metrics are the platform metrics a metric alert may use, by namespace
// (Supported metrics, Microsoft.ServiceBus/Namespaces).
var metrics = map[string][]string{ //nolint:gochecknoglobals // constant table
	"Microsoft.ServiceBus/namespaces": {"DeadletteredMessages", "ActiveMessages"},
}

// wantAlerts: each rule (by name suffix), its type, scope and what its query
// or metric must reference.
var wantAlerts = []struct { //nolint:gochecknoglobals // constant table
	suffix, typ, scope string
	mustReference      []string
}{
	{"dead-letters", "Microsoft.Insights/metricAlerts", "serviceBusNamespaceId", []string{"DeadletteredMessages", "EntityName"}},
	{"failed-operations", "Microsoft.Insights/scheduledQueryRules", "appInsightsId", []string{`"msg":"operation failed"`, "failedOperationsPerHour"}},
	{"sweep-missing", "Microsoft.Insights/scheduledQueryRules", "appInsightsId", []string{`"msg":"sweep finished"`, "line.failed", "sweepAlertWindowHours", "LessThan"}},
	{"reaper-recoveries", "Microsoft.Insights/scheduledQueryRules", "appInsightsId", []string{`"msg":"reaper tick"`, "reaperRecoveriesPerHour"}},
	{"secret-expiry", "Microsoft.Insights/scheduledQueryRules", "workspaceId", []string{"SecretNearExpiryEventGridNotification", "SecretExpiredEventGridNotification", "keyVaultId"}},
}

// bicepString returns the text of a single-quoted Bicep string literal
// (escapes \n, \' and \\ resolved; interpolations left as written).
func bicepString(lit string) string {
	lit = strings.TrimSuffix(strings.TrimPrefix(lit, "'"), "'")
	return strings.NewReplacer(`\n`, "\n", `\'`, "'", `\\`, `\`).Replace(lit)
}

var (
	msgRE   = regexp.MustCompile(`"msg":"([^"]+)"`)
	fieldRE = regexp.MustCompile(`\bline\.(\w+)`)
)

// goSources returns every non-test .go file of the repository outside tools/,
// with its text.
func goSources(root string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "tools" || d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out[path] = string(b)
		return nil
	})
	return out, err
}

// CheckAlerts reports a missing alert rule, one that queries a table or
// metric its scope does not have, one whose log message or field the handler
// never writes (searched in the Go sources under goRoot), a rule without the
// action group, and host or handler settings that would hide the logs the
// rules read.
func CheckAlerts(dir, goRoot string) ([]string, error) {
	p, err := parseInfra(dir)
	if err != nil {
		return nil, err
	}
	sources, err := goSources(goRoot)
	if err != nil {
		return nil, err
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	const file = "alerts.bicep"
	jsonLine := varText(filepath.Join(dir, "modules"), file, "jsonLine")
	for _, w := range wantAlerts {
		var rule *bicepResource
		for _, r := range p.ofType(file, w.typ) {
			if strings.Contains(r.Top["name"], "-"+w.suffix+"'") {
				rule = &r
			}
		}
		if rule == nil {
			add("alerts.bicep: no %s rule named *-%s", w.typ, w.suffix)
			continue
		}
		text := rule.Top["properties"]
		if rule.Paths["properties.scopes.0"] != w.scope {
			add("alerts.bicep: %s is not scoped to %s: %q", w.suffix, w.scope, rule.Paths["properties.scopes.0"])
		}
		if rule.Paths["properties.enabled"] != "true" {
			add("alerts.bicep: %s is not enabled", w.suffix)
		}
		if !strings.Contains(text, "actionGroupId") && rule.Paths["properties.actions"] != "scheduledActions" {
			add("alerts.bicep: %s does not notify the action group", w.suffix)
		}
		for _, ref := range w.mustReference {
			if !strings.Contains(text, ref) && !strings.Contains(text, strings.ReplaceAll(ref, `"`, `\"`)) {
				add("alerts.bicep: %s does not reference %s", w.suffix, ref)
			}
		}
		if w.typ == "Microsoft.Insights/metricAlerts" {
			ns := strings.Trim(rule.Paths["properties.criteria.allOf.0.metricNamespace"], "'")
			name := strings.Trim(rule.Paths["properties.criteria.allOf.0.metricName"], "'")
			if !slices.Contains(metrics[ns], name) {
				add("alerts.bicep: %s uses metric %s/%s, which is not a known platform metric", w.suffix, ns, name)
			}
			continue
		}
		q := bicepString(rule.Paths["properties.criteria.allOf.0.query"])
		table := strings.Fields(strings.SplitN(q, "\n", 2)[0])
		if len(table) == 0 || !slices.Contains(logTables[w.scope], table[0]) {
			add("alerts.bicep: %s queries %v, not a table of its scope %s %v", w.suffix, table, w.scope, logTables[w.scope])
		}
		q = strings.ReplaceAll(q, "${jsonLine}", jsonLine)
		for _, m := range msgRE.FindAllStringSubmatch(q, -1) {
			msg := m[1]
			var where []string
			for path, src := range sources {
				if strings.Contains(src, strconv.Quote(msg)) {
					where = append(where, path)
				}
			}
			if len(where) == 0 {
				add("alerts.bicep: %s matches log message %q, which no Go source writes", w.suffix, msg)
				continue
			}
			for _, f := range fieldRE.FindAllStringSubmatch(q, -1) {
				found := false
				for _, path := range where {
					if strings.Contains(sources[path], strconv.Quote(f[1])) {
						found = true
					}
				}
				if !found {
					add("alerts.bicep: %s reads field %q, which the source writing %q does not log", w.suffix, f[1], msg)
				}
			}
		}
	}
	if !strings.Contains(jsonLine, "parse_json(extract(") {
		add("alerts.bicep: var jsonLine does not parse the JSON log line")
	}
	m, ok := p.module("modules/alerts.bicep")
	if !ok || !strings.Contains(m.Top["params"], "actionGroupId: alertActionGroupId") {
		add("main.bicep: the alerts module is not given alertActionGroupId")
	}
	// The sweep alert's window is twice the default schedule's interval.
	sched, _ := p.param("main.bicep", "sweepSchedule")
	window, _ := p.param("main.bicep", "sweepAlertWindowHours")
	if s, err := config.ParseSchedule(strings.Trim(sched, "'")); err != nil {
		add("main.bicep: sweepSchedule %s: %v", sched, err)
	} else {
		t0 := s.Next(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		want := 2 * s.Next(t0).Sub(t0)
		if got, err := strconv.Atoi(window); err != nil || time.Duration(got)*time.Hour != want {
			add("main.bicep: sweepAlertWindowHours default %s is not twice the interval of sweepSchedule %s (%v)", window, sched, want)
		}
	}
	// The log rules need the handler's info lines on stdout and the host
	// ingesting them (Host.Function.Console at Information or below).
	if lvl, _ := p.param("main.bicep", "logLevel"); lvl != "'info'" && lvl != "'debug'" {
		add("main.bicep: logLevel %s hides the info lines the log alerts read", lvl)
	}
	b, err := os.ReadFile(filepath.Join(goRoot, "host.json"))
	if err != nil {
		return nil, err
	}
	var host struct {
		Logging struct {
			LogLevel map[string]string `json:"logLevel"`
		} `json:"logging"`
	}
	if err := json.Unmarshal(b, &host); err != nil {
		return nil, err
	}
	if lvl := host.Logging.LogLevel["Host.Function.Console"]; !slices.Contains([]string{"Trace", "Debug", "Information"}, lvl) {
		add("host.json: Host.Function.Console is %q; the log alerts read the handler's stdout lines, which need Information", lvl)
	}
	sort.Strings(problems)
	return problems, nil
}

// ternaryRE splits `cond ? a : b` at the top level (a and b are literals or
// objects without nested ternaries).
var ternaryRE = regexp.MustCompile(`(?s)^(\w+) \? (.+?) : ([^?]+)$`)

// evaluate returns the value of expr with the boolean parameter param set:
// the chosen branch of `param ? a : b`, or expr itself when it does not
// depend on param.
func evaluate(expr, param string, on bool) string {
	m := ternaryRE.FindStringSubmatch(strings.TrimSpace(expr))
	if m == nil || m[1] != param {
		return expr
	}
	if on {
		return strings.TrimSpace(m[2])
	}
	return strings.TrimSpace(m[3])
}

// wantNetwork: each property restrictNetwork must switch, with its value on
// and off.
var wantNetwork = []struct { //nolint:gochecknoglobals // constant table
	file, typ, path, on, off string
}{
	{"storage.bicep", "Microsoft.Storage/storageAccounts", "properties.publicNetworkAccess", "'Disabled'", "'Enabled'"},
	{"storage.bicep", "Microsoft.Storage/storageAccounts", "properties.networkAcls.defaultAction", "'Deny'", "'Allow'"},
	{"keyvault.bicep", "Microsoft.KeyVault/vaults", "properties.publicNetworkAccess", "'Disabled'", "'Enabled'"},
	{"keyvault.bicep", "Microsoft.KeyVault/vaults", "properties.networkAcls.defaultAction", "'Deny'", "'Allow'"},
	{"servicebus.bicep", "Microsoft.ServiceBus/namespaces", "properties.publicNetworkAccess", "'Disabled'", "'Enabled'"},
	{"servicebus.bicep", "Microsoft.ServiceBus/namespaces", "sku", "name: 'Premium'", "name: 'Standard'"},
}

// CheckNetwork reports, for restrictNetwork on and off, a resource left
// open (or closed), a missing private endpoint or a module not told.
func CheckNetwork(dir string) ([]string, error) {
	p, err := parseInfra(dir)
	if err != nil {
		return nil, err
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if d, ok := p.param("main.bicep", "restrictNetwork"); !ok || d != "false" {
		add("main.bicep: param restrictNetwork must default to false (got %q)", d)
	}
	for _, on := range []bool{true, false} {
		for _, w := range wantNetwork {
			rs := p.ofType(w.file, w.typ)
			if len(rs) != 1 {
				add("%s: want one %s, got %d", w.file, w.typ, len(rs))
				continue
			}
			want := w.off
			if on {
				want = w.on
			}
			got := evaluate(rs[0].Paths[w.path], "restrictNetwork", on)
			if !strings.Contains(got, want) {
				add("%s: %s %s with restrictNetwork=%v is %q, want %s", w.file, w.typ, w.path, on, got, want)
			}
		}
	}
	for _, file := range []string{"storage.bicep", "keyvault.bicep", "servicebus.bicep"} {
		m, ok := p.module("modules/" + file)
		if !ok || !strings.Contains(m.Top["params"], "restrictNetwork: restrictNetwork") {
			add("main.bicep: module %s is not given restrictNetwork", file)
		}
	}
	// The private network exists only with restrictNetwork, and the app
	// integrates with it exactly then (off: the module's absent output is '').
	net, ok := p.module("modules/network.bicep")
	switch {
	case !ok:
		add("main.bicep: no network module")
	case net.Condition != "restrictNetwork":
		add("main.bicep: the network module is deployed with %q, not only with restrictNetwork", net.Condition)
	}
	app, ok := p.module("modules/functionapp.bicep")
	if !ok || !strings.Contains(app.Top["params"], "virtualNetworkSubnetId: network.?outputs.appSubnetId ?? ''") {
		add("main.bicep: the function app does not integrate with the network module's subnet")
	}
	sites := p.ofType("functionapp.bicep", "Microsoft.Web/sites")
	if len(sites) != 1 || sites[0].Properties["virtualNetworkSubnetId"] != "empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId" {
		add("functionapp.bicep: the site does not set virtualNetworkSubnetId from its parameter")
	}
	// Private endpoints: blob and table (host and app state), vault and
	// namespace, each with a DNS zone group; the app subnet delegated to Flex.
	endpoints := varText(filepath.Join(dir, "modules"), "network.bicep", "endpoints")
	var groups []string
	for _, m := range regexp.MustCompile(`groupId: '(\w+)'`).FindAllStringSubmatch(endpoints, -1) {
		groups = append(groups, m[1])
	}
	sort.Strings(groups)
	if !slices.Equal(groups, []string{"blob", "namespace", "table", "vault"}) {
		add("network.bicep: private endpoints for %v, want blob, namespace, table, vault", groups)
	}
	for typ, parent := range map[string]string{
		"Microsoft.Network/privateEndpoints":                      "",
		"Microsoft.Network/privateDnsZones":                       "",
		"Microsoft.Network/privateDnsZones/virtualNetworkLinks":   "zones[i]",
		"Microsoft.Network/privateEndpoints/privateDnsZoneGroups": "privateEndpoints[i]",
	} {
		rs := p.ofType("network.bicep", typ)
		if len(rs) != 1 || rs[0].Loop == nil || rs[0].Loop.Over != "endpoints" {
			add("network.bicep: want one %s per endpoint", typ)
			continue
		}
		if parent != "" && rs[0].Top["parent"] != parent {
			add("network.bicep: %s is not on its own endpoint's resource (parent %s)", typ, rs[0].Top["parent"])
		}
	}
	vnets := p.ofType("network.bicep", "Microsoft.Network/virtualNetworks")
	if len(vnets) != 1 || !strings.Contains(vnets[0].Properties["subnets"], "serviceName: 'Microsoft.App/environments'") {
		add("network.bicep: no subnet delegated to Microsoft.App/environments (Flex Consumption integration)")
	}
	sort.Strings(problems)
	return problems, nil
}

// TestOperations runs every check on infra/.
func TestOperations(t *testing.T) {
	t.Parallel()
	for name, check := range operationsChecks() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			problems, err := check(".")
			require.NoError(t, err)
			require.Empty(t, problems)
		})
	}
}

func operationsChecks() map[string]func(dir string) ([]string, error) {
	return map[string]func(dir string) ([]string, error){
		"consumers":   CheckConsumers,
		"scaler":      CheckScaler,
		"diagnostics": CheckDiagnostics,
		"alerts":      func(dir string) ([]string, error) { return CheckAlerts(dir, repoRoot()) },
		"network":     CheckNetwork,
	}
}

// TestEvaluate pins the ternary evaluation CheckNetwork relies on.
func TestEvaluate(t *testing.T) {
	t.Parallel()
	require.Equal(t, "'Disabled'", evaluate("restrictNetwork ? 'Disabled' : 'Enabled'", "restrictNetwork", true))
	require.Equal(t, "'Enabled'", evaluate("restrictNetwork ? 'Disabled' : 'Enabled'", "restrictNetwork", false))
	require.Equal(t, "'Enabled'", evaluate("'Enabled'", "restrictNetwork", true))
	require.Equal(t, "other ? 'a' : 'b'", evaluate("other ? 'a' : 'b'", "restrictNetwork", true))
	require.Contains(t, evaluate("restrictNetwork ? {\n  name: 'Premium'\n} : {\n  name: 'Standard'\n}", "restrictNetwork", false), "Standard")
}

// TestOperationsChecksFail shows that each check fails when the property it
// guards is removed or changed: every case edits one thing in a copy of
// infra/ and requires the named check to report it.
func TestOperationsChecksFail(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, check, file, old, new, want string
	}{
		// One subscription per consumer, with its filter.
		{"shared subscription", "consumers", "modules/servicebus.bicep",
			"resource consumerSubscriptions 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = [\n  for consumer in consumers: {",
			"resource consumerSubscriptions 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = [\n  for consumer in take(consumers, 1): {",
			"is not one per consumer"},
		{"filter added beside $Default", "consumers", "modules/servicebus.bicep", "name: '$Default'", "name: 'event-types'", "must replace the subscription's $Default"},
		{"filter removed", "consumers", "modules/servicebus.bicep", "        sqlExpression: consumer.sqlFilter\n", "        sqlExpression: '1=1'\n", "does not use its consumer's filter"},
		{"filter not on sys.Label", "consumers", "modules/servicebus.bicep", "'sys.Label IN (", "'user.type IN (", "lacks \"'sys.Label IN (\""},
		{"filter on another consumer's subscription", "consumers", "modules/servicebus.bicep", "parent: consumerSubscriptions[i]", "parent: consumerSubscriptions[0]", "is not on its own consumer's subscription"},
		{"consumers not passed", "consumers", "main.bicep", "    eventConsumers: eventConsumers\n", "    eventConsumers: []\n", "not given eventConsumers"},
		// The scaler's role decision.
		{"scaler role unconditional", "scaler", "modules/servicebus.bicep",
			"resource appManagesCommands 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (scalerReadsQueueLength) {",
			"resource appManagesCommands 'Microsoft.Authorization/roleAssignments@2022-04-01' = {",
			"Data Owner on commandsQueue is not conditioned"},
		{"scaler role removed", "scaler", "modules/servicebus.bicep",
			"roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataOwner)\n  }\n}\n\n// ... schedules",
			"roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataReceiver)\n  }\n}\n\n// ... schedules",
			"on the commands and continuations queues only, got [commandsQueue]"},
		{"scaler role on the namespace", "scaler", "modules/servicebus.bicep",
			"  name: guid(commandsQueue.id, appPrincipalId, dataOwner)\n  scope: commandsQueue\n",
			"  name: guid(namespace.id, appPrincipalId, dataOwner)\n  scope: namespace\n",
			"got [continuationsQueue namespace]"},
		{"scaler default off", "scaler", "main.bicep", "param scalerReadsQueueLength bool = true", "param scalerReadsQueueLength bool = false", "must default to true"},
		{"always ready removed", "scaler", "modules/functionapp.bicep", "name: 'function:commands'", "name: 'http'", "no always-ready entry function:commands"},
		// Diagnostic settings.
		{"Key Vault AuditEvent", "diagnostics", "modules/keyvault.bicep", "category: 'AuditEvent'", "category: 'AzurePolicyEvaluationDetails'", "does not enable category: 'AuditEvent'"},
		{"Service Bus logs", "diagnostics", "modules/servicebus.bicep", "categoryGroup: 'allLogs'", "categoryGroup: 'audit'", "does not enable categoryGroup: 'allLogs'"},
		{"table service scope", "diagnostics", "modules/storage.bicep", "  name: 'to-log-analytics'\n  scope: tableService\n", "  name: 'to-log-analytics'\n  scope: storage\n", "storage.bicep: no diagnostic setting scoped to a Microsoft.Storage/storageAccounts/tableServices"},
		{"table writes disabled", "diagnostics", "modules/storage.bicep", "category: 'StorageWrite'\n        enabled: true", "category: 'StorageWrite'\n        enabled: false", "does not enable category: 'StorageWrite'"},
		{"function app logs", "diagnostics", "modules/functionapp.bicep", "category: 'FunctionAppLogs'", "category: 'AppServiceHTTPLogs'", "does not enable category: 'FunctionAppLogs'"},
		{"workspace not passed", "diagnostics", "main.bicep", "    restrictNetwork: restrictNetwork\n    workspaceId: monitoring.outputs.workspaceId\n  }\n}\n\nmodule keyVault", "    restrictNetwork: restrictNetwork\n    workspaceId: ''\n  }\n}\n\nmodule keyVault", "module servicebus.bicep is not given the workspace"},
		// Alert rules.
		{"dead-letter metric", "alerts", "modules/alerts.bicep", "metricName: 'DeadletteredMessages'", "metricName: 'DeadLetters'", "dead-letters does not reference DeadletteredMessages"},
		{"failed message renamed", "alerts", "modules/alerts.bicep", `"msg":"operation failed"`, `"msg":"operation has failed"`, `matches log message "operation has failed", which no Go source writes`},
		{"sweep rule removed", "alerts", "modules/alerts.bicep", "name: '${namePrefix}-sweep-missing'", "name: '${namePrefix}-sweep'", "no Microsoft.Insights/scheduledQueryRules rule named *-sweep-missing"},
		{"sweep message renamed", "alerts", "modules/alerts.bicep", `"msg":"sweep finished"`, `"msg":"sweep completed"`, `which no Go source writes`},
		{"sweep window", "alerts", "main.bicep", "param sweepAlertWindowHours int = 12", "param sweepAlertWindowHours int = 6", "is not twice the interval"},
		{"reaper field", "alerts", "modules/alerts.bicep", "toint(line.timed_out)", "toint(line.timedout)", `reads field "timedout"`},
		{"reaper rule scope", "alerts", "modules/alerts.bicep", "'The reaper found more than ${reaperRecoveriesPerHour} overdue operations in an hour (docs/deploy.md, Alerts).'\n    severity: 3\n    enabled: true\n    scopes: [\n      appInsightsId", "'The reaper found more than ${reaperRecoveriesPerHour} overdue operations in an hour (docs/deploy.md, Alerts).'\n    severity: 3\n    enabled: true\n    scopes: [\n      workspaceId", "reaper-recoveries is not scoped to appInsightsId"},
		{"secret expiry table", "alerts", "modules/alerts.bicep", "query: 'AzureDiagnostics\\n", "query: 'AzureActivity\\n", "secret-expiry queries [AzureActivity]"},
		{"secret expiry operation", "alerts", "modules/alerts.bicep", `"SecretNearExpiryEventGridNotification", `, ``, "does not reference SecretNearExpiryEventGridNotification"},
		{"action group not passed", "alerts", "main.bicep", "    actionGroupId: alertActionGroupId\n", "    actionGroupId: ''\n", "not given alertActionGroupId"},
		// restrictNetwork on and off.
		{"storage stays public", "network", "modules/storage.bicep", "publicNetworkAccess: restrictNetwork ? 'Disabled' : 'Enabled'", "publicNetworkAccess: 'Enabled'", "properties.publicNetworkAccess with restrictNetwork=true is \"'Enabled'\""},
		{"vault firewall open", "network", "modules/keyvault.bicep", "defaultAction: restrictNetwork ? 'Deny' : 'Allow'", "defaultAction: 'Allow'", "Microsoft.KeyVault/vaults properties.networkAcls.defaultAction with restrictNetwork=true"},
		{"namespace always closed", "network", "modules/servicebus.bicep", "publicNetworkAccess: restrictNetwork ? 'Disabled' : 'Enabled'", "publicNetworkAccess: 'Disabled'", "with restrictNetwork=false is \"'Disabled'\""},
		{"namespace stays Standard", "network", "modules/servicebus.bicep", "  sku: restrictNetwork ? {\n    name: 'Premium'", "  sku: restrictNetwork ? {\n    name: 'Standard'", "sku with restrictNetwork=true"},
		{"no namespace endpoint", "network", "modules/network.bicep", "groupId: 'namespace'", "groupId: 'topic'", "private endpoints for [blob table topic vault]"},
		{"network always deployed", "network", "main.bicep", "module network 'modules/network.bicep' = if (restrictNetwork) {", "module network 'modules/network.bicep' = {", "not only with restrictNetwork"},
		{"app not integrated", "network", "main.bicep", "virtualNetworkSubnetId: network.?outputs.appSubnetId ?? ''", "virtualNetworkSubnetId: ''", "does not integrate with the network module's subnet"},
		{"no delegation", "network", "modules/network.bicep", "serviceName: 'Microsoft.App/environments'", "serviceName: 'Microsoft.Web/serverFarms'", "no subnet delegated to Microsoft.App/environments"},
		{"restrictNetwork default on", "network", "main.bicep", "param restrictNetwork bool = false", "param restrictNetwork bool = true", "must default to false"},
	}
	checks := operationsChecks()
	for _, tc := range cases {
		t.Run(tc.check+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			dir := copyDir(t, ".")
			editFile(t, filepath.Join(dir, tc.file), tc.old, tc.new)
			problems, err := checks[tc.check](dir)
			require.NoError(t, err)
			require.NotEmpty(t, problems, "the %s check did not notice", tc.check)
			require.Contains(t, strings.Join(problems, "\n"), tc.want)
		})
	}
}

// TestAlertsCheckSeesHostLogLevel shows that the alert check fails when the
// host stops ingesting the handler's stdout (the log rules would go blind).
func TestAlertsCheckSeesHostLogLevel(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "host.json"))
	require.NoError(t, err)
	require.Contains(t, string(b), `"Host.Function.Console": "Information"`)
	require.NoError(t, os.WriteFile(filepath.Join(root, "host.json"),
		[]byte(strings.Replace(string(b), `"Host.Function.Console": "Information"`, `"Host.Function.Console": "Warning"`, 1)), 0o644))
	problems, err := CheckAlerts(".", root)
	require.NoError(t, err)
	require.Contains(t, strings.Join(problems, "\n"), `host.json: Host.Function.Console is "Warning"`)
}
