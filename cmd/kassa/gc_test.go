package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)

	env := map[string]string{"GOGC": "150"}
	if tuneGC(func(k string) string { return env[k] }) {
		t.Fatal("tuneGC changed the collector although GOGC is set")
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("with GOGC set, the GC percent is %d, want it left at 100", got)
	}

	if !tuneGC(func(string) string { return "" }) {
		t.Fatal("tuneGC left the collector alone although GOGC is unset")
	}
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Fatalf("without GOGC, the GC percent is %d, want %d", got, gcPercent)
	}
}
