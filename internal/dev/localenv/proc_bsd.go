//go:build unix && !linux

package localenv

import "syscall"

// sysProcAttr puts the child in its own process group so Stop reaches every
// process it spawns. Without Pdeathsig (Linux only) the child outlives a
// test binary that crashes before Stop.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
