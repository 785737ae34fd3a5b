//go:build unix

package localenv

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"
)

// terminate asks the process group of cmd to exit.
func terminate(cmd *exec.Cmd) error {
	return signalGroup(cmd, syscall.SIGTERM)
}

// kill kills the process group of cmd.
func kill(cmd *exec.Cmd) error {
	return signalGroup(cmd, syscall.SIGKILL)
}

func signalGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	// The child was started with Setpgid, so its pid is its group id.
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %v to process group %d: %w", sig, cmd.Process.Pid, err)
	}
	return nil
}
