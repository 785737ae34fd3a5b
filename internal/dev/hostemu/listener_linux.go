//go:build linux

package hostemu

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// listenerOwned reports whether process pid holds the TCP socket listening
// on port (known is false when that cannot be told). The emulator hands the
// handler a port that was free a moment before, as the host does; another
// process may take it in between, and then a GET / would be answered by
// that process's server. Reading /proc tells the two apart.
func listenerOwned(pid, port int) (owned, known bool) {
	inodes := listeningInodes(port)
	if len(inodes) == 0 {
		return false, true // nobody listens yet
	}
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, false
	}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if inode, ok := strings.CutPrefix(target, "socket:["); ok && inodes[strings.TrimSuffix(inode, "]")] {
			return true, true
		}
	}
	return false, true
}

// listeningInodes returns the socket inodes of the TCP sockets (IPv4 and
// IPv6) in state LISTEN on port, from /proc/net/tcp and /proc/net/tcp6.
func listeningInodes(port int) map[string]bool {
	want := fmt.Sprintf(":%04X", port)
	out := map[string]bool{}
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || !strings.HasSuffix(fields[1], want) || fields[3] != "0A" {
				continue
			}
			out[fields[9]] = true
		}
		_ = f.Close()
	}
	return out
}
