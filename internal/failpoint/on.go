//go:build failpoints

package failpoint

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
)

// armed is the point KASSA_FAILPOINT names; live is whether it is armed
// yet (at once, unless the variable ends in OnSignal).
var (
	armed string
	live  atomic.Bool
)

func init() {
	p, onSignal := strings.CutSuffix(os.Getenv(Env), OnSignal)
	armed = p
	if !onSignal {
		live.Store(true)
		return
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		<-usr1
		live.Store(true)
		fmt.Fprintf(os.Stderr, "FAILPOINT armed %s\n", armed)
	}()
}

// Hit blocks forever if KASSA_FAILPOINT names point (or point:kind) and
// is armed, after announcing it on standard error.
func Hit(point, kind string) {
	if armed == "" || (armed != point && armed != point+":"+kind) || !live.Load() {
		return
	}
	fmt.Fprintf(os.Stderr, "FAILPOINT %s %s\n", point, kind)
	select {}
}
