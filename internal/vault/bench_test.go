package vault

import (
	"context"
	"testing"

	"github.com/kassapay/kassa/internal/payment"
)

var benchPAN = []byte("4242424242424242")

// benchVault returns a vault whose card key for the account is already
// cached and has uses reserved: what a busy process sees.
func benchVault(b *testing.B) (*Vault, string, []byte) {
	b.Helper()
	f := setup(b)
	v := f.vault(Options{})
	acct := f.account()
	ct := seal(b, v, acct, payment.PurposeCard, "pm_1", benchPAN)
	return v, acct, ct
}

func BenchmarkSeal(b *testing.B) {
	v, acct, _ := benchVault(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPAN)))
	for b.Loop() {
		if _, err := v.Seal(ctx, acct, payment.PurposeCard, "pm_1", benchPAN); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSealParallel(b *testing.B) {
	v, acct, _ := benchVault(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPAN)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Seal(ctx, acct, payment.PurposeCard, "pm_1", benchPAN); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkOpen(b *testing.B) {
	v, acct, ct := benchVault(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPAN)))
	for b.Loop() {
		if _, err := v.Open(ctx, acct, payment.PurposeCard, "pm_1", ct); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFingerprint(b *testing.B) {
	v, acct, _ := benchVault(b)
	ctx := context.Background()
	if _, err := v.Fingerprint(ctx, acct, string(benchPAN)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Fingerprint(ctx, acct, string(benchPAN)); err != nil {
			b.Fatal(err)
		}
	}
}
