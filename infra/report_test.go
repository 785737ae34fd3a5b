package infra_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/config"
)

// TestReportAuthentication: App Service Authentication (Entra ID) is in
// front of the HTTP routes, sends unauthenticated browsers to sign in, and
// leaves the webhook anonymous (it authenticates by signature); the app
// role the handler requires is the one the registration's roles file
// defines.
func TestReportAuthentication(t *testing.T) {
	t.Parallel()
	parsed, err := parseBicep(filepath.Join(repoRoot(), "infra", "modules", "functionapp.bicep"))
	require.NoError(t, err)
	var auth *bicepResource
	for i, r := range parsed[0].Resources {
		if strings.HasPrefix(r.Type, "Microsoft.Web/sites/config@") && r.Top["name"] == "'authsettingsV2'" {
			auth = &parsed[0].Resources[i]
		}
	}
	require.NotNil(t, auth, "an authsettingsV2 resource")
	gv := auth.Properties["globalValidation"]
	require.Contains(t, gv, "requireAuthentication: true")
	require.Contains(t, gv, "unauthenticatedClientAction: 'RedirectToLoginPage'")
	require.Regexp(t, `excludedPaths: \[\s+'/api/partner-center-webhook'\s+\]`, gv, "only the webhook is anonymous")
	require.Contains(t, auth.Properties["identityProviders"], "clientId: reportAuthClientId")
	require.Contains(t, auth.Properties["platform"], "enabled: true")

	raw, err := os.ReadFile(filepath.Join(repoRoot(), "infra", "report-app-roles.json"))
	require.NoError(t, err)
	var roles []struct {
		Value              string   `json:"value"`
		AllowedMemberTypes []string `json:"allowedMemberTypes"`
	}
	require.NoError(t, json.Unmarshal(raw, &roles))
	require.Len(t, roles, 1)
	require.Equal(t, config.DefaultReportRole, roles[0].Value)
	main, err := os.ReadFile(filepath.Join(repoRoot(), "infra", "main.bicep"))
	require.NoError(t, err)
	require.Contains(t, string(main), "param reportRole string = '"+config.DefaultReportRole+"'")
}
