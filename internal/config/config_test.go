package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func env(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := kv[k]
		return v, ok
	}
}

func minimal() map[string]string {
	return map[string]string{
		SettingPort:                   "7071",
		SettingTablesConnectionString: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;",
		SettingBrokerURL:              "http://127.0.0.1:9000",
	}
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(env(minimal()))
	require.NoError(t, err)
	require.Equal(t, "https://graph.microsoft.com/beta", c.GraphBaseURL)
	require.Equal(t, "https://api.partnercenter.microsoft.com", c.PartnerCenterBaseURL)
	require.Equal(t, "gdap-commands", c.CommandsQueue)
	require.Equal(t, "gdap-continuations", c.ContinuationsQueue)
	require.Equal(t, "gdap-events", c.EventsTopic)
	require.Equal(t, "/gdapflow", c.EventSource)
	require.Equal(t, "0 0 */6 * * *", c.SweepSchedule)
	require.Equal(t, "0 */5 * * * *", c.ReaperSchedule)
	require.Equal(t, 100, c.ReaperPageSize)
	require.Equal(t, time.Minute, c.ReaperBudget)
	require.Equal(t, 2*time.Minute, c.ReaperGrace)
	require.Equal(t, []int{30, 7, 1}, c.ExpiryWarningDays)
	require.Equal(t, 75, c.ApprovalWarningDays)
	require.Equal(t, PolicyOff, c.AutoExtendPolicy)
	require.Equal(t, 8, c.RetryMaxAttempts)
	require.Equal(t, 24*time.Hour, c.OperationDeadline)
	require.False(t, c.PartnerCenterConfigured())
}

func TestLoadRejectsBadSettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		set     map[string]string
		unset   []string
		setting string
	}{
		{"missing port", nil, []string{SettingPort}, SettingPort},
		{"no tables", nil, []string{SettingTablesConnectionString}, SettingTablesEndpoint},
		{"no bus", nil, []string{SettingBrokerURL}, SettingServiceBusNamespace},
		{"bad policy", map[string]string{SettingAutoExtendPolicy: "always"}, nil, SettingAutoExtendPolicy},
		{"bad days", map[string]string{SettingExpiryWarningDays: "30,x"}, nil, SettingExpiryWarningDays},
		{"bad retry", map[string]string{SettingRetryMaxAttempts: "0"}, nil, SettingRetryMaxAttempts},
		{"bad deadline", map[string]string{SettingOperationDeadline: "tomorrow"}, nil, SettingOperationDeadline},
		{"bad schedule", map[string]string{SettingSweepSchedule: "every day"}, nil, SettingSweepSchedule},
		{"http graph not loopback", map[string]string{SettingGraphBaseURL: "http://graph.example.com/beta"}, nil, SettingGraphBaseURL},
		{"dev token with real graph", map[string]string{SettingDevBearerToken: "x", SettingGraphBaseURL: "https://graph.microsoft.com/beta"}, nil, SettingDevBearerToken},
		{"dev clock with real graph", map[string]string{SettingDevClock: "host"}, nil, SettingDevClock},
		{"pc without tenant", map[string]string{SettingPCClientID: "11111111-1111-1111-1111-111111111111", SettingPCRefreshToken: "r"}, nil, SettingPartnerTenantID},
		{"pc without refresh token", map[string]string{SettingPCClientID: "11111111-1111-1111-1111-111111111111", SettingPartnerTenantID: "22222222-2222-2222-2222-222222222222"}, nil, SettingPCRefreshTokenSecretURI},
		{"protected not guid", map[string]string{SettingProtectedCustomers: "contoso"}, nil, SettingProtectedCustomers},
		{"bad table prefix", map[string]string{SettingTablePrefix: "9x"}, nil, SettingTablePrefix},
		{"bad log level", map[string]string{SettingLogLevel: "loud"}, nil, SettingLogLevel},
		{"bad reaper schedule", map[string]string{SettingReaperSchedule: "*/5 * * * *"}, nil, SettingReaperSchedule},
		{"reaper page too large", map[string]string{SettingReaperPageSize: "1001"}, nil, SettingReaperPageSize},
		{"reaper page zero", map[string]string{SettingReaperPageSize: "0"}, nil, SettingReaperPageSize},
		{"reaper budget too long", map[string]string{SettingReaperBudget: "5m"}, nil, SettingReaperBudget},
		{"reaper budget zero", map[string]string{SettingReaperBudget: "0s"}, nil, SettingReaperBudget},
		{"reaper grace negative", map[string]string{SettingReaperGrace: "-1s"}, nil, SettingReaperGrace},
		{"sweep budget too long", map[string]string{SettingSweepInvocationBudget: "10m"}, nil, SettingSweepInvocationBudget},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			kv := minimal()
			for k, v := range tc.set {
				kv[k] = v
			}
			for _, k := range tc.unset {
				delete(kv, k)
			}
			_, err := Load(env(kv))
			require.Error(t, err)
			var se *SettingError
			require.ErrorAs(t, err, &se)
			require.Equal(t, tc.setting, se.Name)
			require.NotContains(t, err.Error(), "\n", "one line")
			require.True(t, strings.HasPrefix(err.Error(), "config: "+tc.setting+": "))
		})
	}
}

func TestLoadDevelopmentMode(t *testing.T) {
	t.Parallel()
	kv := minimal()
	kv[SettingGraphBaseURL] = "http://127.0.0.1:5000/beta"
	kv[SettingPartnerCenterBaseURL] = "http://127.0.0.1:5000"
	kv[SettingLoginBaseURL] = "http://localhost:5000"
	kv[SettingDevBearerToken] = "dev"
	kv[SettingDevClock] = DevClockHost
	kv[SettingProtectedCustomers] = "AAAAAAAA-0000-0000-0000-000000000001, aaaaaaaa-0000-0000-0000-000000000002"
	kv[SettingExpiryWarningDays] = "7,30,7,1"
	c, err := Load(env(kv))
	require.NoError(t, err)
	require.Equal(t, "dev", c.DevBearerToken)
	require.True(t, c.IsProtected("aaaaaaaa-0000-0000-0000-000000000001"))
	require.True(t, c.IsProtected("AAAAAAAA-0000-0000-0000-000000000002"))
	require.Equal(t, []int{30, 7, 1}, c.ExpiryWarningDays)
}

func TestSettingNamesCoverContract(t *testing.T) {
	t.Parallel()
	names := SettingNames()
	for _, want := range []string{
		"GDAP_GRAPH_BASE_URL", "GDAP_PARTNER_CENTER_BASE_URL", "GDAP_LOGIN_BASE_URL", "GDAP_TABLES_ENDPOINT",
		"GDAP_TABLES_CONNECTION_STRING", "ServiceBusConnection__fullyQualifiedNamespace", "ServiceBusConnection",
		"GDAP_BROKER_URL", "GDAP_COMMANDS_QUEUE", "GDAP_CONTINUATIONS_QUEUE", "GDAP_EVENTS_TOPIC", "GDAP_SWEEP_SCHEDULE",
		"GDAP_EXPIRY_WARNING_DAYS", "GDAP_APPROVAL_WARNING_DAYS", "GDAP_AUTO_EXTEND_POLICY", "GDAP_RETRY_MAX_ATTEMPTS",
		"GDAP_OPERATION_DEADLINE", "GDAP_PARTNER_TENANT_ID", "GDAP_PC_CLIENT_ID", "GDAP_PC_CLIENT_SECRET",
		"GDAP_PC_REFRESH_TOKEN", "GDAP_PC_REFRESH_TOKEN_SECRET_URI", "GDAP_PROTECTED_CUSTOMERS", "GDAP_DEV_BEARER_TOKEN",
		"GDAP_EVENT_SOURCE", "GDAP_REAPER_SCHEDULE", "GDAP_REAPER_PAGE_SIZE", "GDAP_REAPER_BUDGET", "GDAP_REAPER_GRACE",
	} {
		require.Contains(t, names, want)
	}
}
