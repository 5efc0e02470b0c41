//go:build failpoints

package failpoint

import (
	"fmt"
	"os"
)

var armed = os.Getenv(Env)

// Hit blocks forever if KASSA_FAILPOINT names point (or point:kind),
// after announcing it on standard error.
func Hit(point, kind string) {
	if armed == "" || (armed != point && armed != point+":"+kind) {
		return
	}
	fmt.Fprintf(os.Stderr, "FAILPOINT %s %s\n", point, kind)
	select {}
}
