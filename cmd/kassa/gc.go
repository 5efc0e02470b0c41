package main

import "runtime/debug"

// gcPercent is the garbage collector's target heap growth kassa runs
// with unless GOGC says otherwise. Go's default (100) collects whenever the
// heap has doubled; kassa's live heap is small (tens of megabytes) and
// every request allocates, so at 100 the collector took 9 % of the CPU
// of a purchase in a profile of `kassa bench`; at 400 under 3 %, for a
// heap that peaks at five times the live one instead of twice (a few
// hundred megabytes at most; docs/benchmarks.md, issue 11, fifth part).
// GOMEMLIMIT, when set, still caps the heap.
const gcPercent = 400

// tuneGC sets kassa's collector target when the environment sets none,
// and reports whether it did. An operator's GOGC (any value, off
// included) is left as the runtime read it.
func tuneGC(getenv func(string) string) bool {
	if getenv("GOGC") != "" {
		return false
	}
	debug.SetGCPercent(gcPercent)
	return true
}
