package engine_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/pgtest"
	"github.com/kassapay/kassa/internal/store/postgres"
	"github.com/kassapay/kassa/internal/vault"
)

// statementRecorder is a pgx tracer that keeps every statement the store
// sends, with the arguments of its first use.
type statementRecorder struct {
	mu    sync.Mutex
	on    bool
	order []string
	args  map[string][]any
}

func (r *statementRecorder) record(sql string, args []any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.on {
		return
	}
	if _, ok := r.args[sql]; !ok {
		r.order = append(r.order, sql)
		r.args[sql] = args
	}
}

func (r *statementRecorder) start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on, r.order, r.args = true, nil, map[string][]any{}
}

func (r *statementRecorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.record(d.SQL, d.Args)
	return ctx
}
func (r *statementRecorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *statementRecorder) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (r *statementRecorder) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	r.record(d.SQL, d.Args)
}
func (r *statementRecorder) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// bigTables are the tables that grow with traffic; accountWide are the
// indexes that serve lists of an account, which a statement about one
// object must not walk.
var (
	bigTables   = []string{"payments", "operations", "events", "simulator_operations", "simulator_authorizations"}
	accountWide = []string{"payments_account_seq", "payments_account_payment_method", "operations_account_seq",
		"operations_account_payment_method", "events_account_seq"}
)

// TestHotQueryPlansPostgres: every statement kassa sends on the money path
// (tokenize, purchase, authorize, capture, refund, void, a keyed purchase,
// a read, a reconciler pass, the simulator's ledger) is planned with an
// index that matches its predicate, even when the planner's statistics are
// stale — the tables analysed while small, then grown by thousands of rows
// of one account, as on a server with autovacuum off. A plan that scans a
// growing table, or walks an account-wide index for one object, fails:
// such a statement gets slower with every payment.
func TestHotQueryPlansPostgres(t *testing.T) {
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
	f.account(t, false) // another account, so account_id is not one value
	gw := f.simGateway(t, p, nil).ID
	pm := f.card(t, p, "4111111111111111", "").ID
	f.pay(t, p, pm, gw, 1000, true)

	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Statistics of a small database; then one account grows by copies of
	// its rows, which the statistics never see.
	tables, err := pgx.CollectRows(mustQuery(t, conn, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`), pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if _, err := conn.Exec(ctx, `ANALYZE `+pgx.Identifier{tb}.Sanitize()); err != nil {
			t.Fatal(err)
		}
	}
	const grow = 5000 // rows of one account added to each growing table
	for _, q := range []string{
		`INSERT INTO payments (` + copyColumns(t, conn, "payments", map[string]string{"id": `'pay_bulk' || g`}) + `
			FROM (SELECT * FROM payments WHERE account_id = $2 LIMIT 1) payments, generate_series(1, $1) g`,
		`INSERT INTO operations (` + copyColumns(t, conn, "operations", map[string]string{"id": `'op_bulk' || g`, "payment_id": `'pay_bulk' || g`}) + `
			FROM (SELECT * FROM operations WHERE account_id = $2 LIMIT 1) operations, generate_series(1, $1) g`,
		`INSERT INTO simulator_operations (` + copyColumns(t, conn, "simulator_operations", map[string]string{"reference": `'op_bulk' || g`}) + `
			FROM (SELECT * FROM simulator_operations LIMIT 1) simulator_operations, generate_series(1, $1) g WHERE $2 <> ''`,
		`INSERT INTO simulator_authorizations (` + copyColumns(t, conn, "simulator_authorizations", map[string]string{"gateway_reference": `'bulk' || g`}) + `
			FROM (SELECT * FROM simulator_authorizations LIMIT 1) simulator_authorizations, generate_series(1, $1) g WHERE $2 <> ''`,
		`INSERT INTO events (` + copyColumns(t, conn, "events", map[string]string{"id": `'evt_bulk' || g`}) + `
			FROM (SELECT * FROM events WHERE account_id = $2 LIMIT 1) events, generate_series(1, $1) g`,
	} {
		if _, err := conn.Exec(ctx, q, grow, p.Account.ID); err != nil {
			t.Fatalf("grow: %v\n%s", err, q)
		}
	}

	rec.start()
	moveMoney(t, f, p, pm, gw)
	rec.mu.Lock()
	stmts, args := rec.order, rec.args
	rec.on = false
	rec.mu.Unlock()

	// With statistics from when the tables were small, the planner's
	// choice between indexes that both start with account_id is a coin
	// toss; but for a payment's operations, read on every settle, one index
	// matches the whole predicate and the order, whatever the statistics.
	explainAll(t, conn, stmts, args, "operations")

	// The sweeper brings the statistics up to date (the server's
	// autovacuum is not counted on); then every statement has a plan that
	// stays flat. The server publishes row counts up to a second late.
	deadline := time.Now().Add(15 * time.Second)
	for {
		if err := f.eng.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		var fresh bool
		if err := conn.QueryRow(ctx, `SELECT count(*) = 5 FROM pg_stat_user_tables WHERE schemaname = current_schema()
			AND relname IN ('payments', 'operations', 'events', 'simulator_operations', 'simulator_authorizations')
			AND n_mod_since_analyze <= 50 + 0.1 * n_live_tup AND n_live_tup >= $1`, grow).Scan(&fresh); err != nil {
			t.Fatal(err)
		}
		if fresh {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not analyse the grown tables")
		}
		time.Sleep(200 * time.Millisecond)
	}
	explainAll(t, conn, stmts, args, "")
}

// explainAll explains every statement of stmts and fails for each whose
// plan scans a growing table or walks an account-wide index — only those
// on table, when table is set.
func explainAll(t *testing.T, conn *pgx.Conn, stmts []string, args map[string][]any, table string) {
	t.Helper()
	ctx := context.Background()
	explained := 0
	for _, sql := range stmts {
		if !explainable.MatchString(sql) {
			continue
		}
		var out []byte
		if err := conn.QueryRow(ctx, `EXPLAIN (FORMAT JSON) `+sql, args[sql]...).Scan(&out); err != nil {
			t.Errorf("EXPLAIN %s: %v", oneLine(sql), err)
			continue
		}
		explained++
		var plans []struct{ Plan planNode }
		if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
			t.Fatalf("plan of %s: %v", oneLine(sql), err)
		}
		if bad, on := plans[0].Plan.bad(); bad != "" && (table == "" || on == table) {
			t.Errorf("%s\n  plan: %s", oneLine(sql), bad)
		}
	}
	// The money path is more than a handful of statements: a recorder
	// that saw nothing would pass everything.
	if explained < 15 {
		t.Fatalf("only %d statements explained: the recorder missed the money path", explained)
	}
}

// moveMoney runs what the hot-query tests plan: a card tokenized and
// paid for, an authorization captured and partly refunded, another
// voided, a keyed purchase, a payment read, a reconciler pass.
func moveMoney(t *testing.T, f *fixture, p *payment.Principal, pm, gw string) {
	t.Helper()
	ctx := context.Background()
	pm2 := f.card(t, p, "5555555555554444", "737").ID
	f.pay(t, p, pm2, gw, 1000, true)
	auth := f.pay(t, p, pm, gw, 2000, false)
	if _, _, err := f.eng.Capture(ctx, p, auth.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.eng.Refund(ctx, p, auth.ID, ptr(int64(500)), ""); err != nil {
		t.Fatal(err)
	}
	auth2 := f.pay(t, p, pm, gw, 3000, false)
	if _, _, err := f.eng.Void(ctx, p, auth2.ID); err != nil {
		t.Fatal(err)
	}
	k := keyed{f: f, acct: p.Account.ID, key: "plan-1", path: "/v1/payments", body: `{"amount":4200}`}
	claim := k.mustClaim(t)
	if _, err := f.eng.CreatePayment(engine.WithIdempotencyClaim(ctx, claim), p,
		engine.PaymentInput{Amount: 4200, Currency: "EUR", PaymentMethodID: pm, GatewayID: gw}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.Payment(ctx, p.Account.ID, auth.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
}

var explainable = regexp.MustCompile(`(?is)^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b`)

type planNode struct {
	NodeType     string     `json:"Node Type"`
	RelationName string     `json:"Relation Name"`
	IndexName    string     `json:"Index Name"`
	Plans        []planNode `json:"Plans"`
}

// bad describes the first node of the plan that scans a growing table or
// walks an account-wide index, and names its table; "" when there is none.
func (n planNode) bad() (string, string) {
	if n.NodeType == "Seq Scan" && contains(bigTables, n.RelationName) {
		return "Seq Scan on " + n.RelationName, n.RelationName
	}
	if contains(accountWide, n.IndexName) {
		return n.NodeType + " using " + n.IndexName, n.RelationName
	}
	for _, c := range n.Plans {
		if b, on := c.bad(); b != "" {
			return b, on
		}
	}
	return "", ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// copyColumns is the column list of table and the SELECT list that copies
// a row, with the given columns replaced (the identity seq is left out).
func copyColumns(t testing.TB, conn *pgx.Conn, table string, replace map[string]string) string {
	t.Helper()
	cols, err := pgx.CollectRows(mustQuery(t, conn, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 AND column_name <> 'seq' ORDER BY ordinal_position`, table),
		pgx.RowTo[string])
	if err != nil || len(cols) == 0 {
		t.Fatalf("columns of %s: %v", table, err)
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = table + "." + c
		if r, ok := replace[c]; ok {
			sel[i] = r
		}
	}
	return strings.Join(cols, ", ") + `) SELECT ` + strings.Join(sel, ", ")
}

func mustQuery(t testing.TB, conn *pgx.Conn, sql string, args ...any) pgx.Rows {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
