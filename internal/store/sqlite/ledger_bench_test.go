//go:build unix

package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// BenchmarkRecordSimulatorCall records new purchases in the simulator's
// ledger from 32 goroutines, as a loaded kassa does: each call is a unit
// of the writer's group commit. It reports the process's CPU time per call
// (cpu-µs/op), which does not depend on the disk's speed or on what else
// the machine runs.
func BenchmarkRecordSimulatorCall(b *testing.B) {
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "kassa.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var n atomic.Int64
	at := time.Now().UTC().Truncate(time.Microsecond)
	decide := func(*payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error) {
		ref := fmt.Sprintf("sim_%d", n.Add(1))
		return payment.SimulatorResult{Outcome: payment.OutcomeSucceeded, GatewayReference: ref},
			&payment.SimulatorAuthorization{GatewayID: "gw_bench", GatewayReference: ref, Kind: payment.OpPurchase,
				Currency: "EUR", Authorized: 1000, Captured: 1000}, nil
	}
	var refs atomic.Int64
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b.SetParallelism(16) // 32 goroutines on 2 cores
	b.ReportAllocs()
	b.ResetTimer()
	start := cpu()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			call := &payment.SimulatorOperation{GatewayID: "gw_bench", Reference: fmt.Sprintf("op_%d", refs.Add(1)),
				Kind: payment.OpPurchase, Amount: 1000, CreatedAt: at}
			if _, err := s.RecordSimulatorCall(context.Background(), call, decide); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64((cpu()-start).Microseconds())/float64(b.N), "cpu-µs/op")
}
