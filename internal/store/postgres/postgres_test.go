package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
	"github.com/kassapay/kassa/internal/store/storetest"
	"github.com/kassapay/kassa/internal/testskip"
)

// envURL names the server the tests use. They create a database of their
// own on it and drop it at the end.
const envURL = "KASSA_TEST_DATABASE_URL"

// testDB is the URL of this run's database, or "" when envURL is unset.
var testDB string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	base := os.Getenv(envURL)
	if base == "" {
		return m.Run()
	}
	ctx := context.Background()
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		fmt.Fprintf(os.Stderr, "%s must be a postgres:// URL\n", envURL)
		return 2
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		fmt.Fprintf(os.Stderr, "connect to %s: %v\n", envURL, err)
		return 2
	}
	defer conn.Close(ctx)
	name := "kassa_test_" + strings.ToLower(payment.RandomString(12))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		fmt.Fprintf(os.Stderr, "create test database: %v\n", err)
		return 2
	}
	defer func() {
		if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "drop test database %s: %v\n", name, err)
		}
	}()
	u.Path = "/" + name
	testDB = u.String()
	return m.Run()
}

// newSchema creates an empty schema in the test database and returns a URL
// whose search_path selects it.
func newSchema(t *testing.T) string {
	t.Helper()
	if testDB == "" {
		if os.Getenv("KASSA_REQUIRE_POSTGRES") != "" {
			t.Fatalf("KASSA_REQUIRE_POSTGRES is set but %s is empty", envURL)
		}
		testskip.Skip(t, fmt.Sprintf("PostgreSQL tests did not run. Set %s to a server's URL to run them, e.g. "+
			"%s='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' (they create and drop a database of their own).",
			envURL, envURL))
	}
	ctx := context.Background()
	schema := "s_" + strings.ToLower(payment.RandomString(12))
	conn, err := pgx.Connect(ctx, testDB)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(testDB)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t *testing.T, dbURL string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dbURL, Options{MaxConns: 4})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	if testDB == "" {
		newSchema(t) // skips, loudly
	}
	storetest.Run(t, func(t *testing.T) payment.Store {
		return open(t, newSchema(t))
	})
}

func TestConformanceShared(t *testing.T) {
	if testDB == "" {
		newSchema(t) // skips, loudly
	}
	storetest.RunShared(t, func(t *testing.T) (payment.Store, func(t *testing.T) payment.Store) {
		dbURL := newSchema(t)
		return open(t, dbURL), func(t *testing.T) payment.Store { return open(t, dbURL) }
	})
}

// TestConcurrentOpen starts several stores on one new schema at once, as
// several kassa processes might: each migration must be applied once.
func TestConcurrentOpen(t *testing.T) {
	dbURL := newSchema(t)
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			s, err := Open(context.Background(), dbURL, Options{MaxConns: 2})
			if err != nil {
				t.Errorf("Open: %v", err)
				return
			}
			s.Close()
		})
	}
	wg.Wait()
	s := open(t, dbURL)
	ms, err := store.LoadMigrations(Migrations())
	if err != nil {
		t.Fatal(err)
	}
	var n, maxV int
	err = s.withConn(context.Background(), func(q querier) error {
		return q.QueryRow(context.Background(), `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &maxV)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || maxV != len(ms) {
		t.Errorf("schema_migrations holds %d rows up to %d, want %d", n, maxV, len(ms))
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Errorf("Migrate of a migrated database: %v", err)
	}
}

func TestSchemaTooNew(t *testing.T) {
	dbURL := newSchema(t)
	s := open(t, dbURL)
	err := s.withConn(context.Background(), func(q querier) error {
		_, err := q.Exec(context.Background(), `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', now())`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Open(context.Background(), dbURL, Options{})
	if !errors.Is(err, store.ErrSchemaTooNew) {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("Open of a database from the future: err = %v, want ErrSchemaTooNew", err)
	}
}

func TestOpenBadURL(t *testing.T) {
	_, err := Open(context.Background(), "postgres://user:hunter2@127.0.0.1:1/x?sslmode=disable&connect_timeout=1", Options{})
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the password: %v", err)
	}
	_, err = Open(context.Background(), "postgres://user:hunter2@/x?sslmode=bogus", Options{})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Open of an invalid URL: err = %v, want an error without the password", err)
	}
}

// TestPoolReplacesDeadConnections kills the store's server sessions: once
// they have sat idle for over a second (pgxpool pings such connections
// before use), the pool notices and reconnects.
func TestPoolReplacesDeadConnections(t *testing.T) {
	dbURL := newSchema(t)
	app := "kassa_test_" + strings.ToLower(payment.RandomString(8))
	u, _ := url.Parse(dbURL)
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	s := open(t, u.String())
	ctx := context.Background()

	admin, err := pgx.Connect(ctx, testDB)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var killed int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = $1) t`, app).Scan(&killed); err != nil || killed == 0 {
		t.Fatalf("terminated %d sessions, %v; want some", killed, err)
	}
	time.Sleep(1100 * time.Millisecond)
	if n, err := s.CountAccounts(ctx); err != nil || n != 0 {
		t.Errorf("CountAccounts after the server dropped the pool's sessions = %d, %v", n, err)
	}
}

// TestBatchFailureLeavesConnectionIdle fails a statement in the middle of
// each kind of batch the store sends, more times than the pool has
// connections: each connection must come back outside any transaction.
func TestBatchFailureLeavesConnectionIdle(t *testing.T) {
	s := open(t, newSchema(t)) // 4 connections
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fail := func(b *pgx.Batch) {
		b.Queue(`SELECT 1`)
		b.Queue(`SELECT 1 / 0`)
		b.Queue(`SELECT 1`)
	}
	for i := range 10 {
		b := &pgx.Batch{}
		fail(b)
		if err := s.sendBatch(ctx, b); err == nil {
			t.Fatalf("sendBatch %d: a division by zero succeeded", i)
		}
		if err := s.inSnapshot(ctx, fail); err == nil {
			t.Fatalf("inSnapshot %d: a division by zero succeeded", i)
		}
		b = &pgx.Batch{}
		b.BeginTx(pgx.TxOptions{})
		fail(b)
		called := false
		if err := s.inBatchTx(ctx, b, func(pgx.Tx) error { called = true; return nil }); err == nil || called {
			t.Fatalf("inBatchTx %d: err = %v, fn called %v; want an error before fn", i, err, called)
		}
		b = &pgx.Batch{}
		b.BeginTx(pgx.TxOptions{})
		b.Queue(`SELECT 1`)
		err := s.inBatchTx(ctx, b, func(tx pgx.Tx) error {
			wb := &pgx.Batch{}
			fail(wb)
			return tx.SendBatch(ctx, wb).Close()
		})
		if err == nil {
			t.Fatalf("inBatchTx %d: a division by zero in fn succeeded", i)
		}
	}
	// The pool destroys a connection given back inside a transaction, so
	// one left so shows as a replacement.
	if n := s.pool.Stat().NewConnsCount(); n > 4 {
		t.Errorf("the pool opened %d connections for 4 slots: failed batches left theirs in a transaction", n)
	}
}

// TestStatsCountWhatIsSent: the counters `kassa bench` reports per
// purchase count statements, round trips and commits as they are sent.
func TestStatsCountWhatIsSent(t *testing.T) {
	s := open(t, newSchema(t))
	ctx := context.Background()
	before := s.Stats()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	a := &payment.Account{ID: payment.NewAccountID(false), Name: "Stats", CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if err := s.CreateAccount(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	after := s.Stats()
	if d := after.Commits - before.Commits; d != 1 {
		t.Errorf("commits: %d for one account created, want 1", d)
	}
	// A write outside a transaction block is a transaction (and a WAL
	// flush) of its own; a read is none.
	if err := s.withConn(ctx, func(q querier) error {
		if _, err := q.Exec(ctx, `UPDATE accounts SET name = name WHERE id = $1`, a.ID); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `SELECT 1`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if d := s.Stats().Commits - after.Commits; d != 1 {
		t.Errorf("commits: %d for one write and one read outside a transaction, want 1", d)
	}
	if d := after.RoundTrips - before.RoundTrips; d < 2 {
		t.Errorf("round trips: %d for a ping and a transaction, want at least 2", d)
	}
	if ds, dr := after.Statements-before.Statements, after.RoundTrips-before.RoundTrips; ds < dr {
		t.Errorf("statements %d < round trips %d", ds, dr)
	}
}

// TestMigration0013KeepsCallbackSigners: a reference written before
// migration 0013 (every one of them the IXOPAY dialect's) comes out of it
// with its callback's signer, so that a later change can promise another
// callback to it.
func TestMigration0013KeepsCallbackSigners(t *testing.T) {
	ctx := context.Background()
	s := open(t, newSchema(t))
	a := &payment.Account{ID: payment.NewAccountID(false), Name: "Old Shop", CreatedAt: time.Now().UTC()}
	if err := s.CreateAccount(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	// Back to the schema before 0013, with two references of the time.
	err := s.withConn(ctx, func(q querier) error {
		for _, stmt := range []string{
			`ALTER TABLE transaction_references DROP COLUMN attributes, DROP COLUMN callback_signer, DROP COLUMN change_event_id`,
			`DELETE FROM schema_migrations WHERE version = 13`,
		} {
			if _, err := q.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", stmt, err)
			}
		}
		for _, r := range []struct{ name, callback string }{{"with-callback", "https://shop.example/cb"}, {"without", ""}} {
			if _, err := q.Exec(ctx, `INSERT INTO transaction_references (account_id, scope, reference, type, payment_id,
					operation_id, callback, payment_method_id, created_at) VALUES ($1, 'CO-1', $2, 'DEBIT', 'pay_1', $3, $4, 'pm_1', now())`,
				a.ID, r.name, "op_"+r.name, r.callback); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for name, signer := range map[string]string{"with-callback": "ixopay", "without": ""} {
		r, err := s.TransactionReference(ctx, a.ID, "CO-1", name)
		if err != nil {
			t.Fatal(err)
		}
		if r.CallbackSigner != signer || r.Attributes != nil || r.ChangeEventID != "" {
			t.Errorf("%s after 0013: signer %q, attributes %s, change %q", name, r.CallbackSigner, r.Attributes, r.ChangeEventID)
		}
	}
}

// TestSimulatorCallRoundTrips: the simulator's ledger records a new
// authorization or purchase, decided before it is sent, in one statement
// (one round trip, one commit), and counts a repeat of it the same way
// without opening a second authorization; a follow-up takes two round
// trips (BEGIN with the claim and the authorization's lock, then the
// decided writes with the COMMIT). A decide that fails leaves nothing
// written and the connection out of any transaction.
func TestSimulatorCallRoundTrips(t *testing.T) {
	s := open(t, newSchema(t))
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Microsecond)
	call := &payment.SimulatorOperation{GatewayID: "gw_1", Reference: "op_1", Kind: payment.OpPurchase, Amount: 1000, CreatedAt: at}
	decided := 0
	decide := func(*payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error) {
		decided++
		ref := fmt.Sprintf("sim_%d", decided)
		return payment.SimulatorResult{Outcome: payment.OutcomeSucceeded, GatewayReference: ref},
			&payment.SimulatorAuthorization{GatewayID: "gw_1", GatewayReference: ref, Kind: payment.OpPurchase,
				Currency: "EUR", Authorized: 1000}, nil
	}
	for i, want := range []int{1, 2} {
		before := s.Stats()
		op, err := s.RecordSimulatorCall(ctx, call, decide)
		if err != nil || op.Calls != want || op.Result.GatewayReference != "sim_1" {
			t.Fatalf("call %d: %+v %v", i, op, err)
		}
		if d := s.Stats().RoundTrips - before.RoundTrips; d != 1 {
			t.Errorf("call %d: %d round trips, want 1", i, d)
		}
		if d := s.Stats().Commits - before.Commits; d != 1 {
			t.Errorf("call %d: %d commits, want 1", i, d)
		}
	}
	var auths int
	if err := s.withConn(ctx, func(q querier) error {
		return q.QueryRow(ctx, `SELECT count(*) FROM simulator_authorizations`).Scan(&auths)
	}); err != nil {
		t.Fatal(err)
	}
	if auths != 1 {
		t.Errorf("%d authorizations after a purchase and its repeat, want 1", auths)
	}

	capture := &payment.SimulatorOperation{GatewayID: "gw_1", Reference: "op_c", Kind: payment.OpCapture, Amount: 400,
		PriorReference: "sim_1", CreatedAt: at}
	before := s.Stats()
	op, err := s.RecordSimulatorCall(ctx, capture, func(a *payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error) {
		if a == nil || a.GatewayReference != "sim_1" {
			t.Errorf("capture decided against %+v, want the purchase's authorization", a)
			return payment.SimulatorResult{}, nil, errors.New("no authorization")
		}
		a.Captured = 400
		return payment.SimulatorResult{Outcome: payment.OutcomeSucceeded, GatewayReference: "sim_c"}, nil, nil
	})
	if err != nil || op.Calls != 1 {
		t.Fatalf("capture: %+v %v", op, err)
	}
	if d := s.Stats().RoundTrips - before.RoundTrips; d != 2 {
		t.Errorf("capture: %d round trips, want 2", d)
	}

	boom := errors.New("boom")
	failing := *call
	failing.Reference = "op_2"
	if _, err := s.RecordSimulatorCall(ctx, &failing, func(*payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error) {
		return payment.SimulatorResult{}, nil, boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failing decide: %v, want its error", err)
	}
	if _, err := s.SimulatorOperation(ctx, "gw_1", "op_2"); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("the claim of a failed decide was kept: %v", err)
	}
	// Every connection of the pool is back outside a transaction: a
	// statement that must run outside one succeeds on each of them.
	for range 4 {
		if err := s.withConn(ctx, func(q querier) error {
			_, err := q.Exec(ctx, `VACUUM simulator_operations`)
			return err
		}); err != nil {
			t.Fatalf("a connection was left in a transaction: %v", err)
		}
	}
}

// TestMembersReadByAccount: an account's members are read through the
// index of memberships by account, not by scanning the memberships of
// every account of the installation.
func TestMembersReadByAccount(t *testing.T) {
	ctx := context.Background()
	s := open(t, newSchema(t))
	// 20,000 accounts with a member each, then fresh statistics: enough
	// rows that a scan costs more than the index.
	var plan string
	err := s.withConn(ctx, func(q querier) error {
		for _, stmt := range []string{
			`INSERT INTO accounts (id, name, live, created_at) SELECT 'acct_' || n, 'shop', false, now() FROM generate_series(1, 20000) n`,
			`INSERT INTO dashboard_users (id, email, password_hash, created_at) SELECT 'usr_' || id, id || '@example.com', 'x', now() FROM accounts`,
			`INSERT INTO dashboard_memberships (user_id, account_id, role, created_at) SELECT 'usr_' || id, id, 'admin', now() FROM accounts`,
			`ANALYZE accounts, dashboard_users, dashboard_memberships`,
		} {
			if _, err := q.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", stmt, err)
			}
		}
		return q.QueryRow(ctx, `EXPLAIN (FORMAT JSON) `+membersQuery, "acct_77").Scan(&plan)
	})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := s.Members(ctx, "acct_77")
	if err != nil || len(ms) != 1 || ms[0].Email != "acct_77@example.com" {
		t.Fatalf("Members: %v %v", ms, err)
	}
	if !strings.Contains(plan, `"Index Name": "dashboard_memberships_account"`) {
		t.Errorf("members of an account: %s", plan)
	}
}
