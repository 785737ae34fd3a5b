package infra_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPlaceholderGuard checks that main.bicep refuses placeholder values of
// every GUID-valued parameter (docs/deploy.md): each one feeds the guard, the
// guard is evaluated by something the deployment needs (an app setting), and
// neither the docs nor the parameter file suggest a placeholder GUID.
func TestPlaceholderGuard(t *testing.T) {
	t.Parallel()
	root := repoRoot()
	b, err := os.ReadFile(filepath.Join(root, "infra", "main.bicep"))
	require.NoError(t, err)
	main := string(b)

	decl := regexp.MustCompile(`(?s)var guidParameters = concat\((.*?)\n\)\n`).FindStringSubmatch(main)
	require.NotNil(t, decl, "guidParameters declaration")
	for _, p := range []string{"pcClientId", "partnerTenantId", "protectedCustomerIds", "commandSenders", "eventConsumers"} {
		require.Contains(t, decl[1], p, "guidParameters must cover %s", p)
	}
	require.Contains(t, main, "var placeholderGuard = int(empty(placeholderParameters) ? '0' : ")
	require.Contains(t, main, "value: placeholderGuard == 0 ? pcClientId : ''", "the guard must be evaluated by an app setting")
	require.Contains(t, main, "'00000000-0000-0000-0000-000000000000'")

	for _, f := range []string{"docs/deploy.md", "README.md", "infra/main.bicepparam"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		require.NoError(t, err)
		require.NotContains(t, string(b), "00000000-0000-0000-0000-000000000000", "%s suggests a placeholder GUID", f)
		require.False(t, strings.Contains(string(b), "GDAP_PC_CLIENT_ID=<"), "%s suggests a placeholder client id", f)
	}
}
