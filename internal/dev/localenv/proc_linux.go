//go:build linux

package localenv

import "syscall"

// sysProcAttr puts the child in its own process group (so Stop reaches every
// process it spawns) and kills it if the test binary dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
