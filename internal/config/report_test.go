package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLoadReport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		set     map[string]string
		want    Report
		failsOn string
	}{
		{name: "default role", want: Report{Role: DefaultReportRole}},
		{name: "own role", set: map[string]string{SettingReportRole: "Ops.Reader"}, want: Report{Role: "Ops.Reader"}},
		{name: "role with a space", set: map[string]string{SettingReportRole: "Ops Reader"}, failsOn: SettingReportRole},
		{name: "dev principal on loopback", set: map[string]string{SettingDevReportPrincipal: "true"}, want: Report{Role: DefaultReportRole, DevPrincipal: true}},
		{name: "dev principal not a boolean", set: map[string]string{SettingDevReportPrincipal: "yes"}, failsOn: SettingDevReportPrincipal},
		{name: "dev principal with a remote upstream", set: map[string]string{SettingDevReportPrincipal: "true", SettingGraphBaseURL: "https://graph.microsoft.com/beta"}, failsOn: SettingDevReportPrincipal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadLoopback(tc.set)
			if tc.failsOn != "" {
				require.ErrorContains(t, err, tc.failsOn)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, c.Report)
		})
	}
}

// loadLoopback loads the minimal settings with loopback upstreams, plus set.
func loadLoopback(set map[string]string) (Config, error) {
	kv := minimal()
	kv[SettingGraphBaseURL] = "http://127.0.0.1:9001/beta"
	kv[SettingPartnerCenterBaseURL] = "http://127.0.0.1:9001"
	kv[SettingLoginBaseURL] = "http://127.0.0.1:9001"
	for k, v := range set {
		kv[k] = v
	}
	return Load(env(kv))
}
