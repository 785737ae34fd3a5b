// Package config loads and validates gdapflow's settings (docs/contract.md §4). It
// is read once in main; every other package receives the values it needs.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Policy is the sweep's auto-extend policy (GDAP_AUTO_EXTEND_POLICY).
type Policy string

// Auto-extend policies.
const (
	// PolicyOff: the sweep only announces; it issues no commands.
	PolicyOff Policy = "off"
	// PolicyEnable: the sweep enables auto-extend on expiring relationships
	// without Global Administrator.
	PolicyEnable Policy = "enable"
	// PolicyRemoveGlobalAdmin: as PolicyEnable, and for relationships with
	// Global Administrator it first removes that role.
	PolicyRemoveGlobalAdmin Policy = "remove-global-admin"
)

// Policies returns every policy.
func Policies() []Policy { return []Policy{PolicyOff, PolicyEnable, PolicyRemoveGlobalAdmin} }

// Defaults of the settings. Each is defined here once; the packages that
// have a default of their own (engine, sweep, event) use these.
const (
	// DefaultGraphBaseURL is GDAP_GRAPH_BASE_URL's default.
	DefaultGraphBaseURL = "https://graph.microsoft.com/beta"
	// DefaultPartnerCenterBaseURL is GDAP_PARTNER_CENTER_BASE_URL's default.
	DefaultPartnerCenterBaseURL = "https://api.partnercenter.microsoft.com"
	// DefaultLoginBaseURL is GDAP_LOGIN_BASE_URL's default.
	DefaultLoginBaseURL = "https://login.microsoftonline.com"
	// DefaultTablePrefix is GDAP_TABLE_PREFIX's default.
	DefaultTablePrefix = "gdap"
	// DefaultCommandsQueue, DefaultContinuationsQueue and DefaultEventsTopic
	// are the entity names' defaults.
	DefaultCommandsQueue      = "gdap-commands"
	DefaultContinuationsQueue = "gdap-continuations"
	DefaultEventsTopic        = "gdap-events"
	// DefaultEventSource is GDAP_EVENT_SOURCE's default.
	DefaultEventSource = "/gdapflow"
	// DefaultSweepSchedule is GDAP_SWEEP_SCHEDULE's default (every 6 hours).
	DefaultSweepSchedule = "0 0 */6 * * *"
	// DefaultExpiryWarningDays is GDAP_EXPIRY_WARNING_DAYS's default.
	DefaultExpiryWarningDays = "30,7,1"
	// DefaultApprovalWarningDays is GDAP_APPROVAL_WARNING_DAYS's default.
	DefaultApprovalWarningDays = 75
	// DefaultRetryMaxAttempts is GDAP_RETRY_MAX_ATTEMPTS's default.
	DefaultRetryMaxAttempts = 8
	// DefaultOperationDeadline is GDAP_OPERATION_DEADLINE's default.
	DefaultOperationDeadline = 24 * time.Hour
	// DefaultFollowUpPoll is GDAP_FOLLOWUP_POLL's default: an operation
	// waiting for a customer's approval is checked at least daily.
	DefaultFollowUpPoll = 24 * time.Hour
	// DefaultInvocationTimeout is GDAP_INVOCATION_TIMEOUT's default; the
	// engine's lease lasts as long.
	DefaultInvocationTimeout = 5 * time.Minute
	// DefaultSweepInvocationBudget is GDAP_SWEEP_INVOCATION_BUDGET's default.
	DefaultSweepInvocationBudget = 2 * time.Minute
	// DefaultSweepMaxPagesPerInvocation is GDAP_SWEEP_MAX_PAGES_PER_INVOCATION's default.
	DefaultSweepMaxPagesPerInvocation = 200
	// DefaultReaperSchedule is GDAP_REAPER_SCHEDULE's default (every 5 minutes).
	DefaultReaperSchedule = "0 */5 * * * *"
	// DefaultReaperPageSize is GDAP_REAPER_PAGE_SIZE's default: overdue
	// operations one reaper tick reads at most.
	DefaultReaperPageSize = 100
	// DefaultReaperBudget is GDAP_REAPER_BUDGET's default: the wall time
	// after which a reaper tick starts no new recovery.
	DefaultReaperBudget = 60 * time.Second
	// DefaultReaperGrace is GDAP_REAPER_GRACE's default: how far past its
	// due time an operation must be before the reaper acts.
	DefaultReaperGrace = 2 * time.Minute
	// DefaultPCScope is GDAP_PC_SCOPE's default.
	DefaultPCScope = "https://api.partnercenter.microsoft.com/user_impersonation offline_access"
)

// DevClockHost is the GDAP_DEV_CLOCK value that makes the handler read the
// current time from each invocation's Metadata.sys.UtcNow (local host
// emulator with virtual time). Allowed only when every upstream is loopback.
const DevClockHost = "host"

// Config is the validated configuration of the handler.
type Config struct {
	// Port is FUNCTIONS_CUSTOMHANDLER_PORT, set by the Functions host.
	Port string
	// GraphBaseURL is the Graph root including the version segment.
	GraphBaseURL string
	// PartnerCenterBaseURL is the Partner Center REST root.
	PartnerCenterBaseURL string
	// LoginBaseURL is the Entra token endpoint root.
	LoginBaseURL string
	// TablesEndpoint is the Table Storage endpoint used with managed identity.
	TablesEndpoint string
	// TablesConnectionString is a Table Storage connection string (Azurite).
	TablesConnectionString string
	// TablePrefix prefixes the names of the service's tables (GDAP_TABLE_PREFIX, default "gdap").
	TablePrefix string
	// ServiceBusNamespace is the fully qualified Service Bus namespace (identity auth).
	ServiceBusNamespace string
	// ServiceBusConnectionString is a Service Bus connection string.
	ServiceBusConnectionString string
	// BrokerURL is the local broker (docs/contract.md §5); when set, Service Bus is not used.
	BrokerURL string
	// CommandsQueue, ContinuationsQueue and EventsTopic are entity names.
	CommandsQueue, ContinuationsQueue, EventsTopic string
	// EventSource is the CloudEvents source of published events.
	EventSource string
	// SweepSchedule is the NCRONTAB of the expiry sweep timer.
	SweepSchedule string
	// ReaperSchedule is the NCRONTAB of the reaper timer.
	ReaperSchedule string
	// ReaperPageSize bounds the overdue operations one reaper tick reads.
	ReaperPageSize int
	// ReaperBudget bounds one reaper tick's wall time.
	ReaperBudget time.Duration
	// ReaperGrace is how far past due an operation must be for the reaper.
	ReaperGrace time.Duration
	// ExpiryWarningDays are the expiry thresholds, sorted descending.
	ExpiryWarningDays []int
	// ApprovalWarningDays is the age at which a pending approval is announced.
	ApprovalWarningDays int
	// AutoExtendPolicy is the sweep's auto-extend policy.
	AutoExtendPolicy Policy
	// RetryMaxAttempts bounds transient-failure retries of one step.
	RetryMaxAttempts int
	// OperationDeadline fails operations still unfinished after it.
	OperationDeadline time.Duration
	// FollowUpPoll is the longest gap between two checks of an operation
	// waiting for a customer's approval that nothing else wakes.
	FollowUpPoll time.Duration
	// InvocationTimeout bounds one invocation; it must stay below host.json functionTimeout.
	InvocationTimeout time.Duration
	// SweepInvocationBudget is how long one invocation may page through
	// relationships before it checkpoints and continues in a continuation.
	SweepInvocationBudget time.Duration
	// SweepMaxPagesPerInvocation caps the pages one invocation processes.
	SweepMaxPagesPerInvocation int
	// PartnerTenantID is the partner's Entra tenant.
	PartnerTenantID string
	// PCClientID is the Partner Center (secure application model) app.
	PCClientID string
	// PCClientSecret is its secret; empty means a federated managed-identity assertion.
	PCClientSecret string
	// PCRefreshToken is the App+User refresh token given directly (local).
	PCRefreshToken string
	// PCRefreshTokenSecretURI is the Key Vault secret holding the refresh token.
	PCRefreshTokenSecretURI string
	// PCScope is the delegated scope requested for Partner Center.
	PCScope string
	// ProtectedCustomers are lower-case customer tenant ids that may not be terminated or have DAP removed.
	ProtectedCustomers map[string]bool
	// DevBearerToken is a fixed Graph bearer token for a loopback simulator.
	DevBearerToken string
	// DevClock is "" or DevClockHost.
	DevClock string
	// LogLevel is the minimum level logged.
	LogLevel slog.Level
	// Webhook configures the partner-center-webhook function (webhook.go).
	Webhook Webhook
	// Report configures the report function (report.go).
	Report Report
}

// PartnerCenterConfigured reports whether App+User credentials are configured.
func (c Config) PartnerCenterConfigured() bool { return c.PCClientID != "" }

// IsProtected reports whether a customer tenant is in GDAP_PROTECTED_CUSTOMERS
// (case-insensitively). An empty tenant id — a relationship whose customer
// cannot be determined — counts as protected as long as any customer is:
// the guard fails closed (docs/contract.md §6.4).
func (c Config) IsProtected(tenantID string) bool {
	if tenantID == "" {
		return len(c.ProtectedCustomers) > 0
	}
	return c.ProtectedCustomers[strings.ToLower(tenantID)]
}

// Setting names read by Load. The infrastructure test checks that the Bicep
// sets each of them (except those the Functions host itself provides).
const (
	SettingPort                    = "FUNCTIONS_CUSTOMHANDLER_PORT"
	SettingGraphBaseURL            = "GDAP_GRAPH_BASE_URL"
	SettingPartnerCenterBaseURL    = "GDAP_PARTNER_CENTER_BASE_URL"
	SettingLoginBaseURL            = "GDAP_LOGIN_BASE_URL"
	SettingTablesEndpoint          = "GDAP_TABLES_ENDPOINT"
	SettingTablesConnectionString  = "GDAP_TABLES_CONNECTION_STRING"
	SettingTablePrefix             = "GDAP_TABLE_PREFIX"
	SettingServiceBusNamespace     = "ServiceBusConnection__fullyQualifiedNamespace"
	SettingServiceBusConnection    = "ServiceBusConnection"
	SettingBrokerURL               = "GDAP_BROKER_URL"
	SettingCommandsQueue           = "GDAP_COMMANDS_QUEUE"
	SettingContinuationsQueue      = "GDAP_CONTINUATIONS_QUEUE"
	SettingEventsTopic             = "GDAP_EVENTS_TOPIC"
	SettingEventSource             = "GDAP_EVENT_SOURCE"
	SettingSweepSchedule           = "GDAP_SWEEP_SCHEDULE"
	SettingReaperSchedule          = "GDAP_REAPER_SCHEDULE"
	SettingReaperPageSize          = "GDAP_REAPER_PAGE_SIZE"
	SettingReaperBudget            = "GDAP_REAPER_BUDGET"
	SettingReaperGrace             = "GDAP_REAPER_GRACE"
	SettingExpiryWarningDays       = "GDAP_EXPIRY_WARNING_DAYS"
	SettingApprovalWarningDays     = "GDAP_APPROVAL_WARNING_DAYS"
	SettingAutoExtendPolicy        = "GDAP_AUTO_EXTEND_POLICY"
	SettingRetryMaxAttempts        = "GDAP_RETRY_MAX_ATTEMPTS"
	SettingOperationDeadline       = "GDAP_OPERATION_DEADLINE"
	SettingFollowUpPoll            = "GDAP_FOLLOWUP_POLL"
	SettingInvocationTimeout       = "GDAP_INVOCATION_TIMEOUT"
	SettingSweepInvocationBudget   = "GDAP_SWEEP_INVOCATION_BUDGET"
	SettingSweepMaxPages           = "GDAP_SWEEP_MAX_PAGES_PER_INVOCATION"
	SettingPartnerTenantID         = "GDAP_PARTNER_TENANT_ID"
	SettingPCClientID              = "GDAP_PC_CLIENT_ID"
	SettingPCClientSecret          = "GDAP_PC_CLIENT_SECRET"
	SettingPCRefreshToken          = "GDAP_PC_REFRESH_TOKEN"
	SettingPCRefreshTokenSecretURI = "GDAP_PC_REFRESH_TOKEN_SECRET_URI"
	SettingPCScope                 = "GDAP_PC_SCOPE"
	SettingProtectedCustomers      = "GDAP_PROTECTED_CUSTOMERS"
	SettingDevBearerToken          = "GDAP_DEV_BEARER_TOKEN"
	SettingDevClock                = "GDAP_DEV_CLOCK"
	SettingLogLevel                = "GDAP_LOG_LEVEL"
)

// HostProvided lists settings the Functions host sets itself; Bicep does not.
var HostProvided = []string{SettingPort} //nolint:gochecknoglobals // constant list

// DevOnly lists settings meant only for local runs against loopback
// upstreams; the Bicep must not set them.
var DevOnly = []string{SettingBrokerURL, SettingDevBearerToken, SettingDevClock, SettingTablesConnectionString, SettingServiceBusConnection, SettingPCRefreshToken, SettingDevWebhookRoots, SettingDevReportPrincipal} //nolint:gochecknoglobals // constant list

// SettingNames returns every setting name Load reads, sorted.
func SettingNames() []string {
	names := []string{}
	r := reader{lookup: func(string) (string, bool) { return "", false }, seen: map[string]bool{}}
	_, _ = r.load()
	for n := range r.seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// SettingError is a bad or missing setting. Its message is one line naming it.
type SettingError struct {
	Name   string
	Reason string
}

func (e *SettingError) Error() string { return fmt.Sprintf("config: %s: %s", e.Name, e.Reason) }

// Load reads and validates the configuration from lookup (os.LookupEnv in main).
func Load(lookup func(string) (string, bool)) (Config, error) {
	r := reader{lookup: lookup, seen: map[string]bool{}}
	return r.load()
}

type reader struct {
	lookup func(string) (string, bool)
	seen   map[string]bool
	err    error
}

func (r *reader) str(name, def string) string {
	r.seen[name] = true
	v, ok := r.lookup(name)
	v = strings.TrimSpace(v)
	if !ok || v == "" {
		return def
	}
	return v
}

func (r *reader) fail(name, format string, args ...any) {
	if r.err == nil {
		r.err = &SettingError{Name: name, Reason: fmt.Sprintf(format, args...)}
	}
}

func (r *reader) int(name string, def, lo, hi int) int {
	s := r.str(name, "")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		r.fail(name, "must be a whole number from %d to %d, got %q", lo, hi, s)
		return def
	}
	return n
}

func (r *reader) duration(name, def string, lo time.Duration) time.Duration {
	s := r.str(name, def)
	d, err := time.ParseDuration(s)
	if err != nil || d < lo {
		r.fail(name, "must be a Go duration of at least %s (for example 24h), got %q", lo, s)
		return 0
	}
	return d
}

func (r *reader) url(name, def string, required bool) string {
	s := strings.TrimRight(r.str(name, def), "/")
	if s == "" {
		if required {
			r.fail(name, "is required")
		}
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		r.fail(name, "must be an absolute http(s) URL, got %q", s)
		return s
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		r.fail(name, "must use https unless the host is loopback, got %q", s)
	}
	return s
}

var (
	entityNameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._\-/]{0,259}$`)
	tablePrefixRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,39}$`)
	guidRE        = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	portRE        = regexp.MustCompile(`^[0-9]{1,5}$`)
)

func (r *reader) entity(name, def string) string {
	s := r.str(name, def)
	if !entityNameRE.MatchString(s) {
		r.fail(name, "is not a valid Service Bus entity name: %q", s)
	}
	return s
}

func (r *reader) load() (Config, error) {
	c := Config{}
	c.Port = r.str(SettingPort, "")
	if c.Port == "" {
		r.fail(SettingPort, "is required (the Functions host sets it)")
	} else if !portRE.MatchString(c.Port) {
		r.fail(SettingPort, "must be a TCP port number, got %q", c.Port)
	}
	c.GraphBaseURL = r.url(SettingGraphBaseURL, DefaultGraphBaseURL, true)
	c.PartnerCenterBaseURL = r.url(SettingPartnerCenterBaseURL, DefaultPartnerCenterBaseURL, true)
	c.LoginBaseURL = r.url(SettingLoginBaseURL, DefaultLoginBaseURL, true)

	c.TablesEndpoint = r.url(SettingTablesEndpoint, "", false)
	c.TablesConnectionString = r.str(SettingTablesConnectionString, "")
	switch {
	case c.TablesEndpoint == "" && c.TablesConnectionString == "":
		r.fail(SettingTablesEndpoint, "one of %s or %s is required", SettingTablesEndpoint, SettingTablesConnectionString)
	case c.TablesEndpoint != "" && c.TablesConnectionString != "":
		r.fail(SettingTablesConnectionString, "set only one of %s and %s", SettingTablesEndpoint, SettingTablesConnectionString)
	}
	c.TablePrefix = r.str(SettingTablePrefix, DefaultTablePrefix)
	if !tablePrefixRE.MatchString(c.TablePrefix) {
		r.fail(SettingTablePrefix, "must be a letter followed by up to 39 letters or digits, got %q", c.TablePrefix)
	}

	c.BrokerURL = r.url(SettingBrokerURL, "", false)
	c.ServiceBusNamespace = r.str(SettingServiceBusNamespace, "")
	c.ServiceBusConnectionString = r.str(SettingServiceBusConnection, "")
	if c.BrokerURL == "" && c.ServiceBusNamespace == "" && c.ServiceBusConnectionString == "" {
		r.fail(SettingServiceBusNamespace, "one of %s, %s or %s is required", SettingServiceBusNamespace, SettingServiceBusConnection, SettingBrokerURL)
	}
	c.CommandsQueue = r.entity(SettingCommandsQueue, DefaultCommandsQueue)
	c.ContinuationsQueue = r.entity(SettingContinuationsQueue, DefaultContinuationsQueue)
	c.EventsTopic = r.entity(SettingEventsTopic, DefaultEventsTopic)
	c.EventSource = r.str(SettingEventSource, DefaultEventSource)

	c.SweepSchedule = r.str(SettingSweepSchedule, DefaultSweepSchedule)
	if _, err := ParseSchedule(c.SweepSchedule); err != nil {
		r.fail(SettingSweepSchedule, "must be a six-field NCRONTAB expression, got %q", c.SweepSchedule)
	}
	c.ExpiryWarningDays = r.days(SettingExpiryWarningDays, DefaultExpiryWarningDays)
	c.ApprovalWarningDays = r.int(SettingApprovalWarningDays, DefaultApprovalWarningDays, 1, 89)
	c.AutoExtendPolicy = Policy(r.str(SettingAutoExtendPolicy, string(PolicyOff)))
	if !slices.Contains(Policies(), c.AutoExtendPolicy) {
		r.fail(SettingAutoExtendPolicy, "must be off, enable or remove-global-admin, got %q", c.AutoExtendPolicy)
	}
	c.RetryMaxAttempts = r.int(SettingRetryMaxAttempts, DefaultRetryMaxAttempts, 1, 100)
	c.OperationDeadline = r.duration(SettingOperationDeadline, DefaultOperationDeadline.String(), time.Minute)
	c.FollowUpPoll = r.duration(SettingFollowUpPoll, DefaultFollowUpPoll.String(), time.Minute)
	c.InvocationTimeout = r.duration(SettingInvocationTimeout, DefaultInvocationTimeout.String(), 10*time.Second)
	c.SweepInvocationBudget = r.duration(SettingSweepInvocationBudget, DefaultSweepInvocationBudget.String(), time.Second)
	if c.SweepInvocationBudget >= c.InvocationTimeout && c.InvocationTimeout > 0 {
		r.fail(SettingSweepInvocationBudget, "must be shorter than %s (%s)", SettingInvocationTimeout, c.InvocationTimeout)
	}
	c.SweepMaxPagesPerInvocation = r.int(SettingSweepMaxPages, DefaultSweepMaxPagesPerInvocation, 1, 100000)
	c.ReaperSchedule = r.str(SettingReaperSchedule, DefaultReaperSchedule)
	if _, err := ParseSchedule(c.ReaperSchedule); err != nil {
		r.fail(SettingReaperSchedule, "must be a six-field NCRONTAB expression, got %q", c.ReaperSchedule)
	}
	c.ReaperPageSize = r.int(SettingReaperPageSize, DefaultReaperPageSize, 1, 1000)
	c.ReaperBudget = r.duration(SettingReaperBudget, DefaultReaperBudget.String(), time.Second)
	if c.ReaperBudget >= c.InvocationTimeout && c.InvocationTimeout > 0 {
		r.fail(SettingReaperBudget, "must be shorter than %s (%s)", SettingInvocationTimeout, c.InvocationTimeout)
	}
	c.ReaperGrace = r.duration(SettingReaperGrace, DefaultReaperGrace.String(), 0)

	c.PartnerTenantID = r.str(SettingPartnerTenantID, "")
	c.PCClientID = r.str(SettingPCClientID, "")
	c.PCClientSecret = r.str(SettingPCClientSecret, "")
	c.PCRefreshToken = r.str(SettingPCRefreshToken, "")
	c.PCRefreshTokenSecretURI = r.url(SettingPCRefreshTokenSecretURI, "", false)
	c.PCScope = r.str(SettingPCScope, DefaultPCScope)
	if c.PCClientID != "" {
		if c.PartnerTenantID == "" {
			r.fail(SettingPartnerTenantID, "is required when %s is set", SettingPCClientID)
		}
		if (c.PCRefreshToken == "") == (c.PCRefreshTokenSecretURI == "") {
			r.fail(SettingPCRefreshTokenSecretURI, "exactly one of %s or %s is required when %s is set", SettingPCRefreshToken, SettingPCRefreshTokenSecretURI, SettingPCClientID)
		}
	}
	if c.PartnerTenantID != "" && !guidRE.MatchString(c.PartnerTenantID) {
		r.fail(SettingPartnerTenantID, "must be a GUID")
	}
	if c.PCClientID != "" && !guidRE.MatchString(c.PCClientID) {
		r.fail(SettingPCClientID, "must be a GUID")
	}

	c.ProtectedCustomers = map[string]bool{}
	for _, id := range splitList(r.str(SettingProtectedCustomers, "")) {
		if !guidRE.MatchString(id) {
			r.fail(SettingProtectedCustomers, "must be a comma-separated list of tenant GUIDs, got %q", id)
			continue
		}
		c.ProtectedCustomers[strings.ToLower(id)] = true
	}

	c.DevBearerToken = r.str(SettingDevBearerToken, "")
	c.DevClock = r.str(SettingDevClock, "")
	if c.DevClock != "" && c.DevClock != DevClockHost {
		r.fail(SettingDevClock, "must be empty or %q", DevClockHost)
	}
	loopback := allLoopback(c.GraphBaseURL, c.PartnerCenterBaseURL, c.LoginBaseURL, c.BrokerURL, c.TablesEndpoint, c.PCRefreshTokenSecretURI)
	if c.DevBearerToken != "" && !loopback {
		r.fail(SettingDevBearerToken, "is refused unless every upstream URL is loopback")
	}
	if c.DevClock != "" && !loopback {
		r.fail(SettingDevClock, "is refused unless every upstream URL is loopback")
	}
	c.Webhook = r.loadWebhook(loopback)
	c.Report = r.loadReport(loopback)

	switch lvl := strings.ToLower(r.str(SettingLogLevel, "info")); lvl {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		r.fail(SettingLogLevel, "must be debug, info, warn or error, got %q", lvl)
	}
	if r.err != nil {
		return Config{}, r.err
	}
	return c, nil
}

// ParseSchedule parses a six-field NCRONTAB expression (with seconds), as
// the Functions timer trigger reads GDAP_SWEEP_SCHEDULE and
// GDAP_REAPER_SCHEDULE.
func ParseSchedule(s string) (cron.Schedule, error) {
	return cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow).Parse(s)
}

func (r *reader) days(name, def string) []int {
	s := r.str(name, def)
	out := []int{}
	for _, p := range splitList(s) {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 730 {
			r.fail(name, "must be a comma-separated list of whole days from 1 to 730, got %q", s)
			return nil
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		r.fail(name, "must name at least one threshold")
	}
	sort.Sort(sort.Reverse(sort.IntSlice(out)))
	return out
}

func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// allLoopback reports whether every non-empty URL has a loopback host.
func allLoopback(urls ...string) bool {
	for _, s := range urls {
		if s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || !isLoopbackHost(u.Hostname()) {
			return false
		}
	}
	return true
}
