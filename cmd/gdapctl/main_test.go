package main

import (
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
)

// The end-to-end tests share one Azurite (localenv.SharedAzurite) and one
// handler binary, built on first use by testHandler; unit tests need neither.
func TestMain(m *testing.M) {
	code := localenv.Run(m)
	if err := devstack.RemoveSharedHandler(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// testHandler returns the handler binary, built once per test binary.
func testHandler(t testing.TB) string {
	t.Helper()
	path, err := devstack.SharedHandler()
	require.NoError(t, err, "build the handler")
	return path
}
