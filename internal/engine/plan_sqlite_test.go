package engine_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	msqlite "modernc.org/sqlite"

	"github.com/kassapay/kassa/internal/store/sqlite"
	"github.com/kassapay/kassa/internal/vault"
)

// sqliteStatements is what the tracing driver saw: every statement text
// the store prepared or ran, in order of first use.
var sqliteStatements = struct {
	mu    sync.Mutex
	order []string
	seen  map[string]bool
}{seen: map[string]bool{}}

func recordSQLite(q string) {
	sqliteStatements.mu.Lock()
	defer sqliteStatements.mu.Unlock()
	if !sqliteStatements.seen[q] {
		sqliteStatements.seen[q] = true
		sqliteStatements.order = append(sqliteStatements.order, q)
	}
}

// tracingDriver is modernc.org/sqlite's driver with every statement
// recorded on its way.
type tracingDriver struct{}

func (tracingDriver) Open(name string) (driver.Conn, error) {
	c, err := (&msqlite.Driver{}).Open(name)
	if err != nil {
		return nil, err
	}
	return &tracingConn{c}, nil
}

type tracingConn struct{ driver.Conn }

func (c *tracingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	recordSQLite(q)
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c *tracingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	recordSQLite(q)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *tracingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	recordSQLite(q)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *tracingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func init() { sql.Register("sqlite-trace", tracingDriver{}) }

// TestHotQueryPlansSQLite is TestHotQueryPlansPostgres on SQLite: every
// statement the store sent while a card was tokenized and paid for,
// authorized, captured, refunded and voided, a keyed purchase made, a
// payment read and the reconciler run is planned (EXPLAIN QUERY PLAN)
// after one account has grown by thousands of rows behind the
// statistics' back, and again after the sweeper refreshed them; none may
// scan a growing table or walk an account-wide index for one object.
func TestHotQueryPlansSQLite(t *testing.T) {
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
	pm := f.card(t, p, "4111111111111111", "").ID
	f.pay(t, p, pm, gw, 1000, true)

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	const grow = 5000
	for _, q := range []string{
		`INSERT INTO payments (` + copySQLiteColumns(t, db, "payments", map[string]string{"id": `'pay_bulk' || g.value`}) + `
			FROM (SELECT * FROM payments WHERE account_id = ?2 LIMIT 1) payments, g`,
		`INSERT INTO operations (` + copySQLiteColumns(t, db, "operations", map[string]string{"id": `'op_bulk' || g.value`, "payment_id": `'pay_bulk' || g.value`}) + `
			FROM (SELECT * FROM operations WHERE account_id = ?2 LIMIT 1) operations, g`,
		`INSERT INTO events (` + copySQLiteColumns(t, db, "events", map[string]string{"id": `'evt_bulk' || g.value`}) + `
			FROM (SELECT * FROM events WHERE account_id = ?2 LIMIT 1) events, g`,
		`INSERT INTO simulator_operations (` + copySQLiteColumns(t, db, "simulator_operations", map[string]string{"reference": `'op_bulk' || g.value`}) + `
			FROM (SELECT * FROM simulator_operations LIMIT 1) simulator_operations, g WHERE ?2 <> ''`,
		`INSERT INTO simulator_authorizations (` + copySQLiteColumns(t, db, "simulator_authorizations", map[string]string{"gateway_reference": `'bulk' || g.value`}) + `
			FROM (SELECT * FROM simulator_authorizations LIMIT 1) simulator_authorizations, g WHERE ?2 <> ''`,
	} {
		// SQLite here has no generate_series: count with a recursive CTE.
		q = `WITH RECURSIVE g(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM g WHERE value < ?1) ` + q
		if _, err := db.ExecContext(ctx, q, grow, p.Account.ID); err != nil {
			t.Fatalf("grow: %v\n%s", err, q)
		}
	}

	moveMoney(t, f, p, pm, gw)
	sqliteStatements.mu.Lock()
	stmts := append([]string(nil), sqliteStatements.order...)
	sqliteStatements.mu.Unlock()

	explainSQLite(t, db, stmts)
	if err := f.eng.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	explainSQLite(t, db, stmts)
}

// explainSQLite plans every data statement of stmts and fails for each
// whose plan scans a growing table or walks an account-wide index.
func explainSQLite(t *testing.T, db *sql.DB, stmts []string) {
	t.Helper()
	if n := explainEach(t, db, stmts, func(_ string, plan []string) string { return badSQLitePlan(plan) }); n < 15 {
		t.Fatalf("only %d statements explained: the driver missed the money path", n)
	}
}

// explainEach plans every data statement of stmts, fails for each whose
// plan bad names a step of, and returns how many it planned.
func explainEach(t *testing.T, db *sql.DB, stmts []string, bad func(q string, plan []string) string) int {
	t.Helper()
	explained := 0
	for _, q := range stmts {
		if !explainable.MatchString(q) {
			continue
		}
		// The driver wants a value for every parameter; the plan does not
		// depend on them.
		rows, err := db.Query(`EXPLAIN QUERY PLAN `+q, make([]any, sqliteParams(q))...)
		if err != nil {
			t.Errorf("EXPLAIN QUERY PLAN %s: %v", oneLine(q), err)
			continue
		}
		var plan []string
		for rows.Next() {
			var id, parent, notUsed int
			var detail string
			if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		explained++
		if step := bad(q, plan); step != "" {
			t.Errorf("%s\n  %s in the plan: %s", oneLine(q), step, strings.Join(plan, "; "))
		}
	}
	return explained
}

var sqliteParam = regexp.MustCompile(`\?(\d*)`)

// sqliteParams counts q's parameters: ? each, or the highest ?N.
func sqliteParams(q string) int {
	n, highest := 0, 0
	for _, m := range sqliteParam.FindAllStringSubmatch(q, -1) {
		n++
		if v, err := strconv.Atoi(m[1]); err == nil {
			highest = max(highest, v)
		}
	}
	if highest > 0 {
		return highest
	}
	return n
}

// badSQLitePlan returns the step of plan that scans a growing table
// whole or searches it by an account-wide index, or "".
func badSQLitePlan(plan []string) string {
	for _, step := range plan {
		for _, tb := range bigTables {
			if step == "SCAN "+tb {
				return step
			}
		}
		for _, ix := range accountWide {
			if strings.HasSuffix(step, "INDEX "+ix) || strings.Contains(step, "INDEX "+ix+" ") {
				return step
			}
		}
	}
	return ""
}

// copySQLiteColumns is copyColumns for SQLite.
func copySQLiteColumns(t testing.TB, db *sql.DB, table string, replace map[string]string) string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM pragma_table_info(?) WHERE name <> 'seq' ORDER BY cid`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols, sel []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
		v := table + "." + c
		if r, ok := replace[c]; ok {
			v = r
		}
		sel = append(sel, v)
	}
	if len(cols) == 0 {
		t.Fatalf("no columns in %s", table)
	}
	return strings.Join(cols, ", ") + `) SELECT ` + strings.Join(sel, ", ")
}
