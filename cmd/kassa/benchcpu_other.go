//go:build !unix

package main

import "time"

// processCPU is not measured where getrusage is not available.
func processCPU() (time.Duration, bool) { return 0, false }

// otherProcessCPU is not measured where /proc is not available.
func otherProcessCPU(int) (time.Duration, bool) { return 0, false }
