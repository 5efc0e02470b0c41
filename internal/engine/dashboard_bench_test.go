package engine_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/pgtest"
	"github.com/kassapay/kassa/internal/store/postgres"
	"github.com/kassapay/kassa/internal/store/sqlite"
	"github.com/kassapay/kassa/internal/vault"
)

// dashboardBenchPayments is how many payments the dashboard benchmark
// preloads, all of one account: the worst case for a query that walks
// the account.
const dashboardBenchPayments = 100_000

// dashboardBenchRows are the preloaded rows, as (column → SQL value)
// replacements of a copy of the account's first row of each table; g is
// the row's number from 1 (in creation order, as seq), N their number,
// NOW the fixture's clock in the store's time type, STEP the gap between
// two payments' creation (30 days over all of them). Payments have 5,000 customers, 20,000 cards, amounts 10 to
// 9,990, one in 2,000 flagged for review; every tenth attempt is
// declined, latencies 0 to 499 ms; events are about 50,000 objects.
var dashboardBenchRows = []struct {
	table   string
	replace map[string]string
}{
	{"payments", map[string]string{"id": `'pay_b' || g`, "amount": `(g % 999 + 1) * 10`, "created_at": `NOW - (N - g) * STEP`,
		"customer_id": `'cus_b' || (g % 5000)`, "payment_method_id": `'pm_b' || (g % 20000)`, "requires_review": `REVIEW`,
		"reference": `'order-' || g`}},
	{"operations", map[string]string{"id": `'op_b' || g`, "payment_id": `'pay_b' || g`, "created_at": `NOW - (N - g) * STEP`,
		"updated_at": `NOW - (N - g) * STEP + (g % 500) * MS`, "outcome": `CASE WHEN g % 10 = 0 THEN 'declined' ELSE 'succeeded' END`}},
	{"payment_methods", map[string]string{"id": `'pm_b' || g`, "card_last4": `LAST4`, "card_fingerprint": `'fp_b' || g`}},
	{"events", map[string]string{"id": `'evt_b' || g`, "object_id": `'pay_b' || (g % 50000)`}},
}

// BenchmarkDashboardQueries times every read of the dashboard's pages
// on an account of 100,000 payments (figures in docs/benchmarks.md,
// "Dashboard queries").
func BenchmarkDashboardQueries(b *testing.B) {
	for _, be := range []struct {
		name string
		open func(b *testing.B) (*fixture, *payment.Principal, *payment.PaymentMethod)
	}{{"sqlite", benchSQLite}, {"postgres", benchPostgres}} {
		b.Run(be.name, func(b *testing.B) {
			f, p, pm := be.open(b)
			ctx := context.Background()
			acct := p.Account.ID
			now := f.clock.Now()
			if err := f.eng.Sweep(ctx); err != nil { // statistics, as the server's sweeper keeps them
				b.Fatal(err)
			}
			for _, s := range []struct {
				name string
				f    payment.PaymentFilter
			}{
				{"search/none", payment.PaymentFilter{}},
				{"search/id", payment.PaymentFilter{ID: "pay_b777"}},
				{"search/reference", payment.PaymentFilter{Reference: "order-777"}},
				{"search/status", payment.PaymentFilter{Status: payment.StatusUnknown}},
				{"search/customer", payment.PaymentFilter{CustomerID: "cus_b42"}},
				{"search/last4", payment.PaymentFilter{CardLast4: "4242"}},
				{"search/fingerprint", payment.PaymentFilter{CardFingerprint: pm.Card.Fingerprint}},
				{"search/amount_exact", payment.PaymentFilter{AmountMin: 4200, AmountMax: 4200}},
				{"search/amount_range", payment.PaymentFilter{AmountMin: 4200, AmountMax: 4300}},
				{"search/created_one_day", payment.PaymentFilter{CreatedFrom: now.Add(-72 * time.Hour), CreatedBefore: now.Add(-48 * time.Hour)}},
				{"search/last4_amount_week", payment.PaymentFilter{CardLast4: "4242", AmountMin: 1000, CreatedFrom: now.Add(-7 * 24 * time.Hour)}},
			} {
				s.f.Limit = 25
				b.Run(s.name, func(b *testing.B) {
					for b.Loop() {
						if _, _, err := f.eng.Payments(ctx, acct, s.f); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			for _, r := range []engine.OverviewRange{engine.OverviewToday, engine.OverviewMonth} {
				b.Run("overview/"+string(r), func(b *testing.B) {
					for b.Loop() {
						if _, err := f.eng.Overview(ctx, acct, r); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.Run("gateways_health", func(b *testing.B) {
				for b.Loop() {
					if _, err := f.eng.GatewaysHealth(ctx, acct); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("review_queue", func(b *testing.B) {
				for b.Loop() {
					if _, _, err := f.eng.ReviewQueue(ctx, acct, payment.ListParams{Limit: 25}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("object_events", func(b *testing.B) {
				for b.Loop() {
					if _, _, err := f.eng.ObjectEvents(ctx, acct, "pay_b4242", payment.ListParams{Limit: 25}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// benchSeed is the account the benchmark preloads, with a gateway, a
// card and one payment whose rows the preload copies.
func benchSeed(b *testing.B, f *fixture) (*payment.Principal, *payment.PaymentMethod) {
	p, _ := f.account(b, false)
	f.account(b, false)
	gw := f.simGateway(b, p, nil).ID
	pm := f.card(b, p, "4242424242424242", "")
	f.pay(b, p, pm.ID, gw, 1000, true)
	return p, pm
}

func benchSQLite(b *testing.B) (*fixture, *payment.Principal, *payment.PaymentMethod) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "kassa.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ring := filepath.Join(b.TempDir(), "master.key")
	if _, err := vault.CreateDevKeyFile(ring); err != nil {
		b.Fatal(err)
	}
	f := newFixtureOn(b, st, ring)
	p, pm := benchSeed(b, f)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `PRAGMA busy_timeout = 10000`); err != nil {
		b.Fatal(err)
	}
	step := int64(30 * 24 * time.Hour / time.Microsecond / dashboardBenchPayments)
	for _, r := range dashboardBenchRows {
		replace := map[string]string{}
		for k, v := range r.replace {
			replace[k] = sqliteBenchValue(v)
		}
		q := `WITH RECURSIVE g(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM g WHERE value < ?1) INSERT INTO ` + r.table + ` (` +
			copySQLiteColumns(b, db, r.table, replace) + ` FROM (SELECT * FROM ` + r.table + ` WHERE account_id = ?2 LIMIT 1) ` + r.table + `, g
			WHERE ?3 >= 0 AND ?4 >= 0`
		n := dashboardBenchPayments
		if r.table == "payment_methods" {
			n = 20000
		}
		if _, err := db.ExecContext(ctx, q, n, p.Account.ID, f.clock.Now().UnixMicro(), step); err != nil {
			b.Fatalf("preload: %v\n%s", err, q)
		}
	}
	return f, p, pm
}

// sqliteBenchValue writes a dashboardBenchRows value for SQLite (times
// are integer microseconds there).
func sqliteBenchValue(v string) string {
	return replaceAll(v, map[string]string{"NOW": "?3", "STEP": "?4", "MS": "1000", "REVIEW": "(g.value % 2000 = 0)",
		"LAST4": "substr('000' || (g.value % 10000), -4)", "g": "g.value", "N": strconv.Itoa(dashboardBenchPayments)})
}

func benchPostgres(b *testing.B) (*fixture, *payment.Principal, *payment.PaymentMethod) {
	ctx := context.Background()
	u := pgtest.SchemaURL(b)
	st, err := postgres.Open(ctx, u, postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ring := filepath.Join(b.TempDir(), "master.key")
	if _, err := vault.CreateDevKeyFile(ring); err != nil {
		b.Fatal(err)
	}
	f := newFixtureOn(b, st, ring)
	p, pm := benchSeed(b, f)
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	step := 30 * 24 * time.Hour / dashboardBenchPayments
	for _, r := range dashboardBenchRows {
		replace := map[string]string{}
		for k, v := range r.replace {
			replace[k] = replaceAll(v, map[string]string{"NOW": "$3::timestamptz", "STEP": "$4::interval", "MS": "interval '1 millisecond'",
				"REVIEW": "(g % 2000 = 0)", "LAST4": "lpad((g % 10000)::text, 4, '0')", "N": strconv.Itoa(dashboardBenchPayments)})
		}
		q := `INSERT INTO ` + r.table + ` (` + copyColumns(b, conn, r.table, replace) + `
			FROM (SELECT * FROM ` + r.table + ` WHERE account_id = $2 LIMIT 1) ` + r.table + `, generate_series(1, $1) g
			WHERE $3::timestamptz IS NOT NULL AND $4::interval IS NOT NULL`
		n := dashboardBenchPayments
		if r.table == "payment_methods" {
			n = 20000
		}
		if _, err := conn.Exec(ctx, q, n, p.Account.ID, f.clock.Now(), step); err != nil {
			b.Fatalf("preload: %v\n%s", err, q)
		}
	}
	return f, p, pm
}

// replaceAll replaces whole words of v (letters, digits and _) found in
// words; everything else is left as it is.
func replaceAll(v string, words map[string]string) string {
	var out []byte
	for i := 0; i < len(v); {
		j := i
		for j < len(v) && (v[j] == '_' || v[j] >= 'a' && v[j] <= 'z' || v[j] >= 'A' && v[j] <= 'Z' || v[j] >= '0' && v[j] <= '9') {
			j++
		}
		if j == i {
			if v[i] == '\'' { // a string literal: copied as it is
				k := i + 1
				for k < len(v) && v[k] != '\'' {
					k++
				}
				out = append(out, v[i:min(k+1, len(v))]...)
				i = k + 1
				continue
			}
			out = append(out, v[i])
			i++
			continue
		}
		if r, ok := words[v[i:j]]; ok {
			out = append(out, r...)
		} else {
			out = append(out, v[i:j]...)
		}
		i = j
	}
	return string(out)
}
