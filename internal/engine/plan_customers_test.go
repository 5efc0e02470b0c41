package engine_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/sqlite"
	"github.com/kassapay/kassa/internal/vault"
)

// TestCustomerQueryPlansSQLite plans every statement the store sends for
// the customer routes after an account has grown by thousands of
// customers, tokens and payment methods of customers: with the statistics
// kassa leaves after migrating (its tables empty), and again after the
// sweeper refreshed them. None may scan a table whole, and a list filtered
// by email, external id or customer must use that filter's index instead
// of walking the account's.
//
// (Statistics taken while the tables held a row or two and never
// refreshed make SQLite scan any list backwards by rowid, customers' as
// payments'; the sweeper's PRAGMA optimize is what keeps them fresh.)
func TestCustomerQueryPlansSQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kassa.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{Driver: "sqlite-trace"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ring := filepath.Join(t.TempDir(), "master.key")
	if _, err := vault.CreateDevKeyFile(ring); err != nil {
		t.Fatal(err)
	}
	f := newFixtureLedger(t, st, ring, st)
	p, _ := f.account(t, false)
	seed, err := f.eng.CreateCustomer(ctx, p, engine.CustomerInput{ExternalID: new("seed"), Email: "seed@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.eng.CreatePaymentMethod(ctx, p, engine.PaymentMethodInput{Type: "card", Card: visa("123"), Customer: seed.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.CreateCustomerToken(ctx, p, seed.ID, engine.CustomerTokenInput{Type: "t", Value: "v"}); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`INSERT INTO customers (` + copySQLiteColumns(t, db, "customers", map[string]string{"id": `'cus_bulk' || g.value`,
			"external_id": `'bulk' || g.value`, "email": `'bulk' || (g.value % 50) || '@example.com'`}) + `
			FROM (SELECT * FROM customers WHERE account_id = ?2 LIMIT 1) customers, g`,
		`INSERT INTO customer_tokens (` + copySQLiteColumns(t, db, "customer_tokens", map[string]string{"id": `'ctok_bulk' || g.value`,
			"token_id": `'bulk' || g.value`, "customer_id": `'cus_bulk' || (g.value % 7)`}) + `
			FROM (SELECT * FROM customer_tokens WHERE account_id = ?2 LIMIT 1) customer_tokens, g`,
		`INSERT INTO payment_methods (` + copySQLiteColumns(t, db, "payment_methods", map[string]string{"id": `'pm_bulk' || g.value`,
			"customer_id": `CASE WHEN g.value % 2 = 0 THEN NULL ELSE 'cus_bulk' || (g.value % 7) END`}) + `
			FROM (SELECT * FROM payment_methods WHERE account_id = ?2 LIMIT 1) payment_methods, g`,
	} {
		q = `WITH RECURSIVE g(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM g WHERE value < ?1) ` + q
		if _, err := db.ExecContext(ctx, q, 5000, p.Account.ID); err != nil {
			t.Fatalf("grow: %v\n%s", err, q)
		}
	}

	sqliteStatements.mu.Lock()
	before := len(sqliteStatements.order)
	sqliteStatements.mu.Unlock()

	acct := p.Account.ID
	c, err := f.eng.CreateCustomer(ctx, p, engine.CustomerInput{ExternalID: new("crm-1"), Email: "kari@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = f.eng.Customer(ctx, acct, c.ID)
	must(err)
	for _, flt := range []payment.CustomerFilter{{}, {Email: "kari@example.com"}, {ExternalID: "crm-1"},
		{Email: "bulk3@example.com", ListParams: payment.ListParams{StartingAfter: "cus_bulk4000"}}} {
		_, _, err = f.eng.Customers(ctx, acct, flt)
		must(err)
	}
	_, err = f.eng.UpdateCustomer(ctx, acct, c.ID, engine.CustomerUpdate{Name: new("Kari")})
	must(err)
	pm, err := f.eng.CreatePaymentMethod(ctx, p, engine.PaymentMethodInput{Type: "card", Card: visa("123"), Customer: c.ID})
	must(err)
	_, err = f.eng.UpdateCustomer(ctx, acct, c.ID, engine.CustomerUpdate{DefaultPaymentMethod: &pm.ID})
	must(err)
	_, _, err = f.eng.CustomerPaymentMethods(ctx, acct, "cus_bulk3", payment.ListParams{Limit: 5, StartingAfter: "pm_bulk4001"})
	must(err)
	_, err = f.eng.CreateCustomerToken(ctx, p, c.ID, engine.CustomerTokenInput{Type: "t", Value: "v", TokenID: new("x")})
	must(err)
	_, _, err = f.eng.CustomerTokens(ctx, acct, "cus_bulk3", payment.ListParams{Limit: 5})
	must(err)
	_, err = f.eng.DeleteCustomerToken(ctx, p, c.ID, "x")
	must(err)
	_, err = f.eng.DeleteCustomer(ctx, p, c.ID)
	must(err)

	sqliteStatements.mu.Lock()
	stmts := append([]string(nil), sqliteStatements.order[before:]...)
	sqliteStatements.mu.Unlock()
	explainCustomerPlans(t, db, stmts)
	if err := f.eng.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	explainCustomerPlans(t, db, stmts)
}

func explainCustomerPlans(t *testing.T, db *sql.DB, stmts []string) {
	t.Helper()
	if n := explainEach(t, db, stmts, badCustomerPlan); n < 10 {
		t.Fatalf("only %d customer statements explained", n)
	}
}

// badCustomerPlan returns the step of plan that scans a table whole, or
// walks an account-wide index for a query that filters by something
// narrower, or "".
func badCustomerPlan(q string, plan []string) string {
	narrow := strings.Contains(q, "email = ?") || strings.Contains(q, "external_id = ?") || strings.Contains(q, "customer_id = ?")
	for _, step := range plan {
		for _, tb := range []string{"customers", "customer_tokens", "payment_methods", "events"} {
			if step == "SCAN "+tb {
				return step
			}
		}
		if narrow {
			for _, ix := range []string{"customers_account_seq", "payment_methods_account_seq", "events_account_seq"} {
				if strings.HasSuffix(step, "INDEX "+ix) || strings.Contains(step, "INDEX "+ix+" ") {
					return step
				}
			}
		}
	}
	return ""
}
