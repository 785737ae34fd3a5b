package config

import (
	"runtime"
	"runtime/debug"
)

// DefaultGCPercent trades a little memory for CPU: the handler's live heap
// is a few megabytes, so a less eager collector costs little and measurably
// lowers CPU per command (docs/performance.md). GOGC overrides it.
const DefaultGCPercent = 400

// DefaultMaxProcs is the number of OS threads running Go code at once. The
// handler's own work is about 50 µs of CPU per command; the rest is waiting
// on Graph, Table Storage and the broker. With more threads the runtime hands
// nearly every network wake-up from one thread to another (futex wake-ups
// and spinning threads), which measured as a quarter of the handler's CPU
// per command on a two-core instance (docs/performance.md). One thread runs
// thousands of commands per second, far more than Graph's throttling lets
// through, and leaves the other cores to the Functions host. GOMAXPROCS
// overrides it.
const DefaultMaxProcs = 1

// ApplyRuntimeDefaults sets the Go runtime's GC percent and GOMAXPROCS to
// DefaultGCPercent and DefaultMaxProcs, each unless its environment variable
// (GOGC, GOMAXPROCS) is set. The handler calls it first thing in main; the
// benchmark's floor worker calls it too, so that both run alike.
func ApplyRuntimeDefaults(lookup func(string) (string, bool)) {
	if _, set := lookup("GOGC"); !set {
		debug.SetGCPercent(DefaultGCPercent)
	}
	if _, set := lookup("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(DefaultMaxProcs)
	}
}
