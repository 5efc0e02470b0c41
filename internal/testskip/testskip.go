// Package testskip lets a test that cannot find a service it needs skip
// loudly: the reason goes to the test's log and, when KASSA_SKIP_LOG names
// a file, to that file too, so that `make test` can say at its end what did
// not run and why instead of passing quietly.
package testskip

import (
	"os"
	"testing"
)

// Env names the file skips are listed in.
const Env = "KASSA_SKIP_LOG"

// Skip records why t cannot run and skips it.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if path := os.Getenv(Env); path != "" {
		if f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
			f.WriteString(reason + "\n")
			f.Close()
		}
	}
	t.Skip("*** SKIPPED *** " + reason)
}
