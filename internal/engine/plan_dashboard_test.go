package engine_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
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

// dashboardIndexes: a dashboard statement with one of these conditions
// (as the store writes it, up to its placeholder) must use that index.
var dashboardIndexes = []struct{ cond, table, index string }{
	{"customer_id = ", "payments", "payments_account_customer"},
	{"card_last4 = ", "payment_methods", "payment_methods_account_last4"},
	{"card_fingerprint = ", "payment_methods", "payment_methods_account_fingerprint"},
	{"amount >= ", "payments", "payments_account_amount"},
	{"created_at >= ", "payments", "payments_account_created"},
	{"created_at >= ", "operations", "operations_account_created"},
	{"AND requires_review", "payments", "payments_account_review"},
	{"object_id = ", "events", "events_account_object"},
}

// dashboardAccountWide are the indexes that hold every row of an
// account: a dashboard search or aggregate that walks one gets slower
// with every payment the account ever made.
var dashboardAccountWide = []string{"payments_account_seq", "operations_account_seq", "events_account_seq", "payment_methods_account_seq"}

// expectedIndexes are the indexes of which stmt must use one: one per
// condition of dashboardIndexes it holds on its table (with several, the
// planner picks the most selective).
func expectedIndexes(stmt string) []string {
	var want []string
	for _, d := range dashboardIndexes {
		if strings.Contains(stmt, d.cond) && strings.Contains(stmt, "FROM "+d.table) && !strings.Contains(stmt, "FROM "+d.table+" WHERE account_id = ? AND id = ?") {
			want = append(want, d.index)
		}
	}
	return want
}

// usesExpected reports whether a plan that names the indexes it uses (as
// uses does) uses the one index stmt must, or one of several.
func usesExpected(stmt string, uses func(index string) bool) (string, bool) {
	want := expectedIndexes(stmt)
	for _, ix := range want {
		if uses(ix) {
			return "", true
		}
	}
	return strings.Join(want, " or "), len(want) == 0
}

// dashboardGrow adds rows of one account (copies of its first rows with
// varied values) to the tables the dashboard reads: 5,000 payments over
// 5,000 seconds before now, of 100 customers, 500 payment methods and
// amounts 10 to 9,990, one in 500 flagged for review; an operation for
// each; 5,000 payment methods of 10,000 last fours; 5,000 events about
// 1,000 objects.
func dashboardGrow(now time.Time) []string {
	return []string{
		`payments;id=pay_dash||g;amount=(g % 999 + 1) * 10;created_at=NOW - g;customer_id=cus_dash||(g % 100);payment_method_id=pm_dash||(g % 500);requires_review=REVIEW`,
		`operations;id=op_dash||g;payment_id=pay_dash||g;created_at=NOW - g;updated_at=NOW - g + 1`,
		`payment_methods;id=pm_dash||g;card_last4=LAST4;card_fingerprint=fp_dash||g`,
		`events;id=evt_dash||g;object_id=pay_dash||(g % 1000)`,
	}
}

// runDashboardQueries makes every call the dashboard's pages make, with
// every search filter alone and some together.
func runDashboardQueries(t *testing.T, f *fixture, p *payment.Principal, pm *payment.PaymentMethod, pay *payment.Payment) {
	t.Helper()
	ctx := context.Background()
	acct := p.Account.ID
	now := f.clock.Now()
	for _, flt := range []payment.PaymentFilter{
		{ID: pay.ID},
		{CustomerID: "cus_dash7"},
		{CardLast4: "4242"},
		{CardFingerprint: pm.Card.Fingerprint},
		{AmountMin: 5000, AmountMax: 5100},
		{AmountMin: 9900, AmountMax: 9900},
		{CreatedFrom: now.Add(-100 * time.Hour), CreatedBefore: now.Add(-90 * time.Hour)},
		{RequiresReview: true},
		{CardLast4: "4242", AmountMin: 100, CreatedFrom: now.Add(-time.Hour)},
		{CustomerID: "cus_dash7", RequiresReview: true},
		{CustomerID: "cus_dash7", ListParams: payment.ListParams{StartingAfter: "pay_dash3000"}},
	} {
		flt.Limit = 25
		if _, _, err := f.eng.Payments(ctx, acct, flt); err != nil {
			t.Fatalf("Payments(%+v): %v", flt, err)
		}
	}
	for _, r := range []engine.OverviewRange{engine.OverviewToday, engine.OverviewMonth} {
		if _, err := f.eng.Overview(ctx, acct, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.eng.GatewaysHealth(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.eng.ReviewQueue(ctx, acct, payment.ListParams{Limit: 25}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.eng.ObjectEvents(ctx, acct, "pay_dash7", payment.ListParams{Limit: 25}); err != nil {
		t.Fatal(err)
	}
}

// TestDashboardQueryPlansSQLite plans every statement of the dashboard's
// reads after an account has grown by thousands of payments, operations,
// payment methods and events, with the statistics of an empty database
// and again after the sweeper refreshed them: each filter must use its
// index, and no statement may scan a table or walk an account-wide index.
func TestDashboardQueryPlansSQLite(t *testing.T) {
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
	f.account(t, false)
	gw := f.simGateway(t, p, nil).ID
	pm := f.card(t, p, "4242424242424242", "")
	pay := f.pay(t, p, pm.ID, gw, 1000, true)

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := f.clock.Now().UnixMicro()
	for _, spec := range dashboardGrow(f.clock.Now()) {
		parts := strings.Split(spec, ";")
		table, replace := parts[0], map[string]string{}
		for _, kv := range parts[1:] {
			k, v, _ := strings.Cut(kv, "=")
			v = strings.NewReplacer("NOW - g", "?3 - g.value * 3600000000", "g %", "g.value %", "||g", "|| g.value", "REVIEW",
				"CASE WHEN g.value % 500 = 0 THEN 1 ELSE 0 END", "LAST4", "substr('000' || (g.value % 10000), -4)").Replace(v)
			if strings.HasPrefix(v, "pay_") || strings.HasPrefix(v, "op_") || strings.HasPrefix(v, "pm_") ||
				strings.HasPrefix(v, "evt_") || strings.HasPrefix(v, "cus_") || strings.HasPrefix(v, "fp_") {
				pre, rest, _ := strings.Cut(v, "||")
				v = "'" + pre + "' ||" + rest
			}
			replace[k] = v
		}
		q := `WITH RECURSIVE g(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM g WHERE value < ?1) INSERT INTO ` + table + ` (` +
			copySQLiteColumns(t, db, table, replace) + ` FROM (SELECT * FROM ` + table + ` WHERE account_id = ?2 LIMIT 1) ` + table + `, g`
		args := []any{5000, p.Account.ID}
		if strings.Contains(q, "?3") {
			args = append(args, now)
		}
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("grow: %v\n%s", err, q)
		}
	}

	sqliteStatements.mu.Lock()
	before := len(sqliteStatements.order)
	sqliteStatements.mu.Unlock()
	runDashboardQueries(t, f, p, pm, pay)
	sqliteStatements.mu.Lock()
	stmts := append([]string(nil), sqliteStatements.order[before:]...)
	// Forgotten again: TestHotQueryPlansSQLite judges every statement
	// recorded, by the money path's stricter rules and on its own data.
	sqliteStatements.order = sqliteStatements.order[:before]
	for _, q := range stmts {
		delete(sqliteStatements.seen, q)
	}
	sqliteStatements.mu.Unlock()

	explainDashboardSQLite(t, db, stmts)
	if err := f.eng.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	explainDashboardSQLite(t, db, stmts)
}

func explainDashboardSQLite(t *testing.T, db *sql.DB, stmts []string) {
	t.Helper()
	n := explainEach(t, db, stmts, func(q string, plan []string) string {
		for _, step := range plan {
			for _, tb := range []string{"payments", "operations", "events", "payment_methods"} {
				if step == "SCAN "+tb {
					return step
				}
			}
			for _, ix := range dashboardAccountWide {
				if strings.HasSuffix(step, "INDEX "+ix) || strings.Contains(step, "INDEX "+ix+" ") {
					return step
				}
			}
		}
		all := strings.Join(plan, "; ")
		if want, ok := usesExpected(q, func(ix string) bool {
			return strings.Contains(all, "INDEX "+ix+" ") || strings.HasSuffix(all, "INDEX "+ix)
		}); !ok {
			return "no " + want
		}
		return ""
	})
	if n < 15 {
		t.Fatalf("only %d dashboard statements explained", n)
	}
}

// TestDashboardQueryPlansPostgres is TestDashboardQueryPlansSQLite on
// PostgreSQL, with the statistics brought up to date first: the planner
// there weighs an index by them, and kassa's sweeper keeps them fresh.
func TestDashboardQueryPlansPostgres(t *testing.T) {
	ctx := context.Background()
	u := pgtest.SchemaURL(t)
	rec := &statementRecorder{}
	st, err := postgres.Open(ctx, u, postgres.Options{Tracer: rec})
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
	f.account(t, false)
	gw := f.simGateway(t, p, nil).ID
	pm := f.card(t, p, "4242424242424242", "")
	pay := f.pay(t, p, pm.ID, gw, 1000, true)

	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, spec := range dashboardGrow(f.clock.Now()) {
		parts := strings.Split(spec, ";")
		table, replace := parts[0], map[string]string{}
		for _, kv := range parts[1:] {
			k, v, _ := strings.Cut(kv, "=")
			v = strings.NewReplacer("NOW - g + 1", "$3::timestamptz - g * interval '1 hour' + interval '1 millisecond'",
				"NOW - g", "$3::timestamptz - g * interval '1 hour'", "REVIEW", "g % 500 = 0",
				"LAST4", "lpad((g % 10000)::text, 4, '0')").Replace(v)
			if pre, rest, ok := strings.Cut(v, "||"); ok {
				v = "'" + pre + "' ||" + rest
			}
			replace[k] = v
		}
		q := `INSERT INTO ` + table + ` (` + copyColumns(t, conn, table, replace) + `
			FROM (SELECT * FROM ` + table + ` WHERE account_id = $2 LIMIT 1) ` + table + `, generate_series(1, $1) g`
		args := []any{5000, p.Account.ID}
		if strings.Contains(q, "$3") {
			args = append(args, f.clock.Now())
		}
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			t.Fatalf("grow: %v\n%s", err, q)
		}
	}
	for _, tb := range []string{"payments", "operations", "payment_methods", "events"} {
		if _, err := conn.Exec(ctx, `ANALYZE `+tb); err != nil {
			t.Fatal(err)
		}
	}

	rec.start()
	runDashboardQueries(t, f, p, pm, pay)
	rec.mu.Lock()
	stmts, args := rec.order, rec.args
	rec.on = false
	rec.mu.Unlock()

	explained := 0
	for _, q := range stmts {
		if !explainable.MatchString(q) {
			continue
		}
		var out []byte
		if err := conn.QueryRow(ctx, `EXPLAIN (FORMAT JSON) `+q, args[q]...).Scan(&out); err != nil {
			t.Errorf("EXPLAIN %s: %v", oneLine(q), err)
			continue
		}
		explained++
		plan := string(out)
		for _, tb := range []string{"payments", "operations", "events", "payment_methods"} {
			if strings.Contains(plan, `"Node Type": "Seq Scan"`) && strings.Contains(plan, `"Relation Name": "`+tb+`"`) && seqScanOn(out, tb) {
				t.Errorf("%s\n  Seq Scan on %s", oneLine(q), tb)
			}
		}
		for _, ix := range dashboardAccountWide {
			if strings.Contains(plan, `"Index Name": "`+ix+`"`) {
				t.Errorf("%s\n  walks %s", oneLine(q), ix)
			}
		}
		if want, ok := usesExpected(q, func(ix string) bool { return strings.Contains(plan, `"Index Name": "`+ix+`"`) }); !ok {
			t.Errorf("%s\n  does not use %s: %s", oneLine(q), want, plan)
		}
	}
	if explained < 15 {
		t.Fatalf("only %d dashboard statements explained", explained)
	}
}

// seqScanOn reports whether the JSON plan out has a Seq Scan node on
// table.
func seqScanOn(out []byte, table string) bool {
	var plans []struct{ Plan planNode }
	if err := jsonUnmarshal(out, &plans); err != nil || len(plans) != 1 {
		return true
	}
	var walk func(n planNode) bool
	walk = func(n planNode) bool {
		if n.NodeType == "Seq Scan" && n.RelationName == table {
			return true
		}
		for _, c := range n.Plans {
			if walk(c) {
				return true
			}
		}
		return false
	}
	return walk(plans[0].Plan)
}

var jsonUnmarshal = json.Unmarshal
