package localenv

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { Main(m) }

var tableName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{2,62}$`)

func TestRepoRoot(t *testing.T) {
	t.Parallel()
	root, err := RepoRoot()
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(root, "go.mod"))
	wd, err := os.Getwd()
	require.NoError(t, err)
	rel, err := filepath.Rel(root, wd)
	require.NoError(t, err)
	require.Equal(t, filepath.Join("internal", "dev", "localenv"), rel)
}

func TestFreePort(t *testing.T) {
	t.Parallel()
	port, err := FreePort()
	require.NoError(t, err)
	require.Positive(t, port)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	require.NoError(t, err, "the returned port is bindable")
	require.NoError(t, l.Close())
}

func TestUniqueName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, prefix, wantPrefix string
	}{
		{"plain", "ledger", "ledger"},
		{"empty", "", "t"},
		{"leading digit", "9lives", "t9lives"},
		{"punctuation dropped", "a-b_c.d:e", "abcde"},
		{"only punctuation", "--__", "t"},
		{"non-ascii dropped", "tâblé", "tbl"},
		{"long prefix truncated", strings.Repeat("x", 100), strings.Repeat("x", 47)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := UniqueName(tt.prefix)
			require.Regexp(t, tableName, got)
			require.True(t, strings.HasPrefix(got, tt.wantPrefix), "%q has prefix %q", got, tt.wantPrefix)
			require.Len(t, got, len(tt.wantPrefix)+suffixLen)
		})
	}
	seen := map[string]bool{}
	for range 1000 {
		n := UniqueName("u")
		require.False(t, seen[n], "duplicate %q", n)
		seen[n] = true
	}
}

func TestStartAzuriteMissingBinary(t *testing.T) {
	t.Parallel()
	_, err := StartAzurite(t.Context(), AzuriteOptions{RepoRoot: t.TempDir()})
	require.ErrorIs(t, err, ErrAzuriteNotInstalled)
	require.Contains(t, err.Error(), "make tools")
}

func TestSharedAzurite(t *testing.T) {
	t.Parallel()
	az := SharedAzurite(t)
	require.Same(t, az, SharedAzurite(t), "one Azurite per test binary")
	require.Equal(t, "http://127.0.0.1:"+strconv.Itoa(az.Port())+"/devstoreaccount1", az.TableEndpoint())
	require.Equal(t,
		"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="+AzuriteAccountKey+
			";TableEndpoint="+az.TableEndpoint()+";",
		az.ConnectionString())

	client, err := az.NewTableClient(UniqueName("shared"))
	require.NoError(t, err)
	_, err = client.CreateTable(t.Context(), nil)
	require.NoError(t, err)
	_, err = client.AddEntity(t.Context(), []byte(`{"PartitionKey":"p","RowKey":"r","V":1}`), nil)
	require.NoError(t, err)
	got, err := client.GetEntity(t.Context(), "p", "r", nil)
	require.NoError(t, err)
	require.Contains(t, string(got.Value), `"V":1`)
}

func TestStartAzuriteRetriesTakenPort(t *testing.T) {
	t.Parallel()
	// Hold a port so the first attempt fails with EADDRINUSE.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = taken.Close() })
	takenPort := taken.Addr().(*net.TCPAddr).Port

	calls := 0
	pick := func() (int, error) {
		calls++
		if calls == 1 {
			return takenPort, nil
		}
		return FreePort()
	}
	az, err := startAzurite(t.Context(), AzuriteOptions{}, pick)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, az.Stop()) })
	require.Equal(t, 2, calls)
	require.NotEqual(t, takenPort, az.Port())

	sc, err := aztables.NewServiceClientFromConnectionString(az.ConnectionString(), nil)
	require.NoError(t, err)
	_, err = sc.CreateTable(t.Context(), UniqueName("retry"), nil)
	require.NoError(t, err)
}

func TestStartAzuriteGivesUpOnTakenPorts(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = taken.Close() })
	takenPort := taken.Addr().(*net.TCPAddr).Port

	pick := func() (int, error) { return takenPort, nil }
	_, err = startAzurite(t.Context(), AzuriteOptions{PortAttempts: 2}, pick)
	require.ErrorIs(t, err, errPortInUse)
	require.Contains(t, err.Error(), "gave up after 2 ports")
}
