package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/pgtest"
	"github.com/kassapay/kassa/internal/store/postgres"
	"github.com/kassapay/kassa/internal/store/sqlite"
)

// TestBenchPreloadIsReadable: the payments `kassa bench --preload` stores
// (through the store on SQLite, by COPY on PostgreSQL) are payments the
// store reads back whole, with their operation and its transcript, so
// that a preloaded run measures kassa over data like its own.
func TestBenchPreloadIsReadable(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		open func(t *testing.T) (dataDir, dbURL string, st func() (payment.Store, error))
	}{
		{"sqlite", func(t *testing.T) (string, string, func() (payment.Store, error)) {
			dir := t.TempDir()
			return dir, "", func() (payment.Store, error) {
				return sqlite.Open(ctx, filepath.Join(dir, "kassa.db"), sqlite.Options{})
			}
		}},
		{"postgres", func(t *testing.T) (string, string, func() (payment.Store, error)) {
			u := pgtest.SchemaURL(t)
			return "", u, func() (payment.Store, error) { return postgres.Open(ctx, u, postgres.Options{}) }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dataDir, dbURL, open := tc.open(t)
			const n = 45
			if _, err := preload(ctx, dataDir, dbURL, n); err != nil {
				t.Fatal(err)
			}
			st, err := open()
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			total := 0
			for i := range 4 {
				acct := preloadAccount(i)
				pays, _, err := st.Payments(ctx, acct, payment.PaymentFilter{ListParams: payment.ListParams{Limit: 100}})
				if err != nil {
					t.Fatal(err)
				}
				total += len(pays)
				for _, p := range pays {
					full, err := st.Payment(ctx, acct, p.ID)
					if err != nil {
						t.Fatal(err)
					}
					if full.Status != payment.StatusCaptured || full.AmountCaptured != 1000 || len(full.Operations) != 1 ||
						full.Operations[0].Outcome != payment.OutcomeSucceeded || len(full.Operations[0].Transcript) == 0 {
						t.Fatalf("preloaded payment %+v with operations %+v", full, full.Operations)
					}
				}
			}
			if total != n {
				t.Fatalf("%d preloaded payments read back, want %d", total, n)
			}
		})
	}
}
