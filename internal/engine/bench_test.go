package engine_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// BenchmarkTokenize measures vaulting a card end to end below HTTP:
// validation, fingerprint, two seals, and the insert with its event.
func BenchmarkTokenize(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			f := newFixture(b, be.open(b))
			p, _ := f.account(b, false)
			ctx := context.Background()
			in := engine.PaymentMethodInput{Type: "card", Card: visa("123")}
			b.Run("sequential", func(b *testing.B) {
				for b.Loop() {
					if _, err := f.eng.CreatePaymentMethod(ctx, p, in); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("parallel", func(b *testing.B) {
				b.SetParallelism(8) // 8 × GOMAXPROCS concurrent callers
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := f.eng.CreatePaymentMethod(ctx, p, in); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		})
	}
}

// BenchmarkPurchase measures purchases through the simulator below HTTP:
// validation, opening the card and credentials, the reserve and settle
// transactions with their events, and the (in-process) gateway call. It
// reports p50 and p99 latency besides ns/op (the inverse of throughput).
func BenchmarkPurchase(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			f := newFixture(b, be.open(b))
			p, _ := f.account(b, false)
			gw := f.simGateway(b, p, nil).ID
			pm := f.card(b, p, "4111111111111111", "").ID
			in := engine.PaymentInput{Amount: 1000, Currency: "EUR", PaymentMethodID: pm, GatewayID: gw}
			ctx := context.Background()
			for _, clients := range []int{1, 32} {
				b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
					lat := make([]time.Duration, 0, b.N)
					var mu sync.Mutex
					work := make(chan struct{})
					var wg sync.WaitGroup
					for range clients {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for range work {
								start := time.Now()
								pay, err := f.eng.CreatePayment(ctx, p, in)
								d := time.Since(start)
								if err != nil || pay.Status != payment.StatusCaptured {
									b.Errorf("purchase: %v", err)
								}
								mu.Lock()
								lat = append(lat, d)
								mu.Unlock()
							}
						}()
					}
					b.ResetTimer()
					for range b.N {
						work <- struct{}{}
					}
					close(work)
					wg.Wait()
					b.StopTimer()
					slices.Sort(lat)
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
					b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "purchases/s")
				})
			}
		})
	}
}
