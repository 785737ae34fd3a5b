//go:build !unix

package localenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// sysProcAttr has nothing to set outside Unix.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// terminate kills the process; there is no portable graceful signal.
func terminate(cmd *exec.Cmd) error { return kill(cmd) }

// kill kills the process (process groups are Unix only).
func kill(cmd *exec.Cmd) error {
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill azurite: %w", err)
	}
	return nil
}
