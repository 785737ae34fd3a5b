//go:build unix

package localenv

import (
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStartAzuriteStop(t *testing.T) {
	t.Parallel()
	az, err := StartAzurite(t.Context(), AzuriteOptions{})
	require.NoError(t, err)
	pid := az.cmd.Process.Pid
	workDir := az.workDir

	sc, err := az.ServiceClient()
	require.NoError(t, err)
	_, err = sc.CreateTable(t.Context(), UniqueName("stop"), nil)
	require.NoError(t, err)

	require.NoError(t, az.Stop())
	require.NoError(t, az.Stop(), "Stop is idempotent")
	requireGroupGone(t, pid)
	require.NoDirExists(t, workDir)
	_, err = net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(az.Port())))
	require.Error(t, err, "nothing listens after Stop")
}

// requireGroupGone checks that no process of the group led by pid is left.
func requireGroupGone(t *testing.T, pid int) {
	t.Helper()
	err := syscall.Kill(-pid, 0)
	require.True(t, errors.Is(err, syscall.ESRCH), "process group %d still exists (err %v)", pid, err)
}
