//go:build !linux

package hostemu

// listenerOwned cannot tell who owns a listening socket on this platform.
func listenerOwned(pid, port int) (owned, known bool) { return false, false }
