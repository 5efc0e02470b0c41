package engine_test

import (
	"context"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
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
