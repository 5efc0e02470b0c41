package sqlite

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
	"github.com/kassapay/kassa/internal/store/storetest"
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) payment.Store {
		return open(t, filepath.Join(t.TempDir(), "kassa.db"))
	})
}

func TestConformanceShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (payment.Store, func(t *testing.T) payment.Store) {
		path := filepath.Join(t.TempDir(), "kassa.db")
		return open(t, path), func(t *testing.T) payment.Store { return open(t, path) }
	})
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kassa-data")
	path := filepath.Join(dir, "kassa.db")
	s := open(t, path)
	ctx := context.Background()
	if err := s.CreateAccount(ctx, &payment.Account{ID: "T00000001", Name: "x"}, nil); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, path: 0o600, path + "-wal": 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(p), fi.Mode(), want)
		}
	}

	var mode string
	if err := s.reader.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	for pragma, want := range map[string]int{"synchronous": 2, "foreign_keys": 1, "secure_delete": 1, "busy_timeout": 10000} {
		var v int
		if err := s.writer.QueryRow(`PRAGMA ` + pragma).Scan(&v); err != nil || v != want {
			t.Errorf("writer %s = %d, %v; want %d", pragma, v, err, want)
		}
	}
	if _, err := s.reader.Exec(`INSERT INTO accounts (id, name, live, created_at) VALUES ('T00000002', 'y', 0, 0)`); err == nil {
		t.Error("the read pool accepted a write")
	}
}

func TestOpenRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", filepath.Join(t.TempDir(), "a?b.db")} {
		if s, err := Open(context.Background(), p, Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

// TestConcurrentOpen starts several stores on one new file at once, as
// several processes might: each migration must be applied exactly once.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kassa.db")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			s, err := Open(context.Background(), path, Options{})
			if err != nil {
				t.Errorf("Open: %v", err)
				return
			}
			s.Close()
		})
	}
	wg.Wait()
	s := open(t, path)
	ms, err := store.LoadMigrations(Migrations())
	if err != nil {
		t.Fatal(err)
	}
	var n, maxV int
	if err := s.reader.QueryRow(`SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &maxV); err != nil {
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
	path := filepath.Join(t.TempDir(), "kassa.db")
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.writer.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(context.Background(), path, Options{})
	if !errors.Is(err, store.ErrSchemaTooNew) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open of a database from the future: err = %v, want ErrSchemaTooNew", err)
	}
}

// TestRedactionErasesCiphertext checks that redaction removes a payment
// method's ciphertexts from the database file and the WAL, not merely from
// the table (secure_delete plus a checkpoint).
func TestRedactionErasesCiphertext(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kassa.db")
	s := open(t, path)

	pan := []byte("PAN-MARKER-" + payment.RandomString(40))
	// The CVC ciphertext is big enough to spill into overflow pages.
	cvc := append([]byte("CVC-MARKER-"+payment.RandomString(40)), bytes.Repeat([]byte{0xA5}, 6000)...)
	cvc = append(cvc, []byte("CVC-TAIL-"+payment.RandomString(40))...)
	markers := [][]byte{pan, cvc[:51], cvc[len(cvc)-49:]}

	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	acct := &payment.Account{ID: "T12345678", Name: "shop", CreatedAt: now}
	if err := s.CreateAccount(ctx, acct, nil); err != nil {
		t.Fatal(err)
	}
	newPM := func(state payment.StorageState, pan, cvc []byte) *payment.PaymentMethod {
		pm := &payment.PaymentMethod{
			ID: payment.NewID(payment.PrefixPaymentMethod), AccountID: acct.ID, Type: payment.PaymentMethodTypeCard,
			Card:         payment.Card{Brand: "visa", First6: "424242", Last4: "4242", ExpMonth: 1, ExpYear: 2031},
			StorageState: state, CreatedAt: now, UpdatedAt: now,
			PANSealed: pan, CVCSealed: cvc, CVCExpiresAt: new(now.Add(time.Hour)),
		}
		ev := &payment.Event{ID: payment.NewID(payment.PrefixEvent), AccountID: acct.ID, Type: "payment_method.created",
			ObjectID: pm.ID, Data: []byte(`{}`), CreatedAt: now}
		if err := s.CreatePaymentMethod(ctx, pm, ev); err != nil {
			t.Fatal(err)
		}
		return pm
	}
	// Neighbours on the same pages, which stay.
	keptBefore := newPM(payment.StorageRetained, []byte("kept-pan-1"), []byte("kept-cvc-1"))
	target := newPM(payment.StorageCached, pan, cvc)
	newPM(payment.StorageRetained, []byte("kept-pan-2"), []byte("kept-cvc-2"))

	checkpoint := func() {
		t.Helper()
		var busy, frames, done int
		if err := s.writer.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &done); err != nil || busy != 0 {
			t.Fatalf("wal_checkpoint = busy %d, %v", busy, err)
		}
	}
	files := func() []byte { t.Helper(); return dbFiles(t, path) }

	// The test can see the ciphertexts before redaction, in the WAL and,
	// after a checkpoint, in the database file.
	for _, m := range markers {
		if !bytes.Contains(files(), m) {
			t.Fatalf("marker %.20q not found before redaction: the test cannot see ciphertexts", m)
		}
	}
	checkpoint()
	for _, m := range markers {
		if !bytes.Contains(files(), m) {
			t.Fatalf("marker %.20q not found in the database file before redaction", m)
		}
	}
	// Write once more so that the old page images sit in the WAL too.
	if _, err := s.UpdatePaymentMethod(ctx, acct.ID, target.ID, func(pm *payment.PaymentMethod) (*payment.Event, error) {
		pm.Metadata = map[string]string{"touched": "yes"}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}

	n, err := s.ExpirePaymentMethods(ctx, now, now, func(pm *payment.PaymentMethod) *payment.Event {
		return &payment.Event{ID: payment.NewID(payment.PrefixEvent), AccountID: pm.AccountID, Type: "payment_method.redacted",
			ObjectID: pm.ID, Data: []byte(`{}`), CreatedAt: now}
	})
	if err != nil || n != 1 {
		t.Fatalf("ExpirePaymentMethods = %d, %v; want 1", n, err)
	}
	checkpoint()
	all := files()
	for _, m := range markers {
		if bytes.Contains(all, m) {
			t.Errorf("marker %.20q still in the database file or WAL after redaction", m)
		}
	}
	if !bytes.Contains(all, []byte("kept-pan-1")) || !bytes.Contains(all, []byte("kept-cvc-2")) {
		t.Error("the neighbours' ciphertexts are gone too")
	}
	got, err := s.PaymentMethod(ctx, acct.ID, keptBefore.ID)
	if err != nil || string(got.PANSealed) != "kept-pan-1" {
		t.Errorf("neighbour after redaction = %+v, %v", got, err)
	}
}

// TestGatewayRedactionErasesCiphertext checks that redacting a gateway
// removes every credential version's ciphertext from the database file and
// the WAL: secure_delete, plus the checkpoint UpdateGateway runs itself.
func TestGatewayRedactionErasesCiphertext(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kassa.db")
	s := open(t, path)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	acct := &payment.Account{ID: "T12345678", Name: "shop", CreatedAt: now}
	if err := s.CreateAccount(ctx, acct, nil); err != nil {
		t.Fatal(err)
	}
	newGateway := func(sealed []byte) *payment.Gateway {
		g := &payment.Gateway{ID: payment.NewID(payment.PrefixGateway), AccountID: acct.ID, Type: "simulator",
			State: payment.GatewayRetained, CredentialVersion: 1, CreatedAt: now, UpdatedAt: now}
		cred := &payment.CredentialVersion{AccountID: acct.ID, GatewayID: g.ID, Version: 1, Sealed: sealed, CreatedAt: now}
		if err := s.CreateGateway(ctx, g, cred, nil); err != nil {
			t.Fatal(err)
		}
		return g
	}
	v1 := []byte("GW-V1-MARKER-" + payment.RandomString(40))
	// Version 2 is big enough to spill into overflow pages.
	v2 := append([]byte("GW-V2-MARKER-"+payment.RandomString(40)), bytes.Repeat([]byte{0x5A}, 6000)...)
	v2 = append(v2, []byte("GW-V2-TAIL-"+payment.RandomString(40))...)
	markers := [][]byte{v1, v2[:53], v2[len(v2)-51:]}

	newGateway([]byte("kept-gw-1"))
	target := newGateway(v1)
	newGateway([]byte("kept-gw-2"))
	if _, err := s.UpdateGateway(ctx, acct.ID, target.ID, func(g *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
		g.CredentialVersion = 2
		return &payment.CredentialVersion{AccountID: acct.ID, GatewayID: g.ID, Version: 2, Sealed: v2, CreatedAt: now}, nil, nil
	}); err != nil {
		t.Fatal(err)
	}

	files := func() []byte { t.Helper(); return dbFiles(t, path) }
	var busy, frames, done int
	if err := s.writer.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &done); err != nil || busy != 0 {
		t.Fatalf("wal_checkpoint = busy %d, %v", busy, err)
	}
	for _, m := range markers {
		if !bytes.Contains(files(), m) {
			t.Fatalf("marker %.20q not found before redaction: the test cannot see ciphertexts", m)
		}
	}
	// Write once more so that the old page images sit in the WAL too.
	if _, err := s.UpdateGateway(ctx, acct.ID, target.ID, func(g *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
		g.Description = "touched"
		return nil, nil, nil
	}); err != nil {
		t.Fatal(err)
	}

	if _, err := s.UpdateGateway(ctx, acct.ID, target.ID, func(g *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
		g.State = payment.GatewayRedacted
		g.RedactedAt = &now
		return nil, nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	all := files()
	for _, m := range markers {
		if bytes.Contains(all, m) {
			t.Errorf("marker %.20q still in the database file or WAL after redaction", m)
		}
	}
	if !bytes.Contains(all, []byte("kept-gw-1")) || !bytes.Contains(all, []byte("kept-gw-2")) {
		t.Error("the neighbours' ciphertexts are gone too")
	}
}

// TestDeleteCustomerErasesCiphertext checks that deleting a customer
// removes its payment methods' ciphertexts from the database file and the
// WAL (secure_delete, plus the checkpoint DeleteCustomer runs itself), and
// leaves another customer's.
func TestDeleteCustomerErasesCiphertext(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kassa.db")
	s := open(t, path)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	acct := &payment.Account{ID: "T12345678", Name: "shop", CreatedAt: now}
	if err := s.CreateAccount(ctx, acct, nil); err != nil {
		t.Fatal(err)
	}
	ev := func(typ, id string) *payment.Event {
		return &payment.Event{ID: payment.NewID(payment.PrefixEvent), AccountID: acct.ID, Type: typ, ObjectID: id,
			Data: []byte(`{}`), CreatedAt: now}
	}
	newCustomer := func() *payment.Customer {
		c := &payment.Customer{ID: payment.NewID(payment.PrefixCustomer), AccountID: acct.ID, CreatedAt: now, UpdatedAt: now}
		if err := s.CreateCustomer(ctx, c, ev(payment.EventCustomerCreated, c.ID)); err != nil {
			t.Fatal(err)
		}
		return c
	}
	newPM := func(customer string, pan, cvc []byte) {
		pm := &payment.PaymentMethod{
			ID: payment.NewID(payment.PrefixPaymentMethod), AccountID: acct.ID, Type: payment.PaymentMethodTypeCard,
			Card:         payment.Card{Brand: "visa", First6: "424242", Last4: "4242", ExpMonth: 1, ExpYear: 2031},
			StorageState: payment.StorageRetained, CustomerID: customer, CreatedAt: now, UpdatedAt: now,
			PANSealed: pan, CVCSealed: cvc, CVCExpiresAt: new(now.Add(time.Hour)),
		}
		if err := s.CreatePaymentMethod(ctx, pm, ev("payment_method.created", pm.ID)); err != nil {
			t.Fatal(err)
		}
	}
	gone, kept := newCustomer(), newCustomer()
	var markers [][]byte
	for range 2 {
		pan := []byte("PAN-MARKER-" + payment.RandomString(40))
		cvc := append([]byte("CVC-MARKER-"+payment.RandomString(40)), bytes.Repeat([]byte{0xA5}, 6000)...)
		newPM(gone.ID, pan, cvc)
		markers = append(markers, pan, cvc[:51])
	}
	newPM(kept.ID, []byte("kept-pan-1"), []byte("kept-cvc-1"))

	files := func() []byte { t.Helper(); return dbFiles(t, path) }
	for _, m := range markers {
		if !bytes.Contains(files(), m) {
			t.Fatalf("marker %.20q not found before the deletion: the test cannot see ciphertexts", m)
		}
	}
	_, err := s.DeleteCustomer(ctx, acct.ID, gone.ID, payment.CustomerDeletion{Now: now, By: "key_1",
		PaymentMethodEvent: func(pm *payment.PaymentMethod) *payment.Event { return ev("payment_method.redacted", pm.ID) },
		Event:              func(c *payment.Customer) *payment.Event { return ev(payment.EventCustomerDeleted, c.ID) }})
	if err != nil {
		t.Fatal(err)
	}
	all := files()
	for _, m := range markers {
		if bytes.Contains(all, m) {
			t.Errorf("marker %.20q still in the database file or WAL after the customer's deletion", m)
		}
	}
	if !bytes.Contains(all, []byte("kept-pan-1")) || !bytes.Contains(all, []byte("kept-cvc-1")) {
		t.Error("another customer's ciphertexts are gone too")
	}
}

// dbFiles returns the bytes of the database file at path and of its WAL
// (none when it does not exist), for tests that look for what must not
// be there.
func dbFiles(t *testing.T, path string) []byte {
	t.Helper()
	var all []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// TestMigration0013KeepsCallbackSigners: a reference written before
// migration 0013 (every one of them the IXOPAY dialect's) comes out of it
// with its callback's signer, so that a later change can promise another
// callback to it.
func TestMigration0013KeepsCallbackSigners(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kassa.db")
	s := open(t, path)
	a := &payment.Account{ID: payment.NewAccountID(false), Name: "Old Shop", CreatedAt: time.Now().UTC()}
	if err := s.CreateAccount(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	// Back to the schema before 0013, with two references of the time.
	for _, q := range []string{
		`ALTER TABLE transaction_references DROP COLUMN attributes`,
		`ALTER TABLE transaction_references DROP COLUMN callback_signer`,
		`ALTER TABLE transaction_references DROP COLUMN change_event_id`,
		`DELETE FROM schema_migrations WHERE version = 13`,
	} {
		if _, err := s.writer.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, r := range []struct{ name, callback string }{{"with-callback", "https://shop.example/cb"}, {"without", ""}} {
		if _, err := s.writer.Exec(`INSERT INTO transaction_references (account_id, scope, reference, type, payment_id,
				operation_id, callback, payment_method_id, created_at) VALUES (?, 'CO-1', ?, 'DEBIT', 'pay_1', ?, ?, 'pm_1', 0)`,
			a.ID, r.name, "op_"+r.name, r.callback); err != nil {
			t.Fatal(err)
		}
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

// TestMigration0019KeepsIdempotencyRecords: moving idempotency records
// from a WITHOUT ROWID table into a rowid table keeps every record, and
// a lookup by key goes through the small unique index, not cells that
// hold whole records.
func TestMigration0019KeepsIdempotencyRecords(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "kassa.db"))
	a := &payment.Account{ID: payment.NewAccountID(false), Name: "Old Shop", CreatedAt: time.Now().UTC()}
	if err := s.CreateAccount(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	// Back to the table of migrations 0001 and 0005.
	for _, q := range []string{
		`DROP TABLE idempotency_keys`,
		`CREATE TABLE idempotency_keys (
			account_id TEXT NOT NULL REFERENCES accounts (id), key TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,
			request_hash BLOB, completed INTEGER NOT NULL CHECK (completed IN (0, 1)), locked_until INTEGER NOT NULL,
			response_status INTEGER NOT NULL, response_body BLOB, created_at INTEGER NOT NULL,
			token TEXT NOT NULL DEFAULT '', point TEXT NOT NULL DEFAULT 'started' CHECK (point IN ('started', 'reserved', 'settled')),
			payment_id TEXT NOT NULL DEFAULT '', operation_id TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (account_id, key)) STRICT, WITHOUT ROWID`,
		`CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)`,
		`DELETE FROM schema_migrations WHERE version = 19`,
	} {
		if _, err := s.writer.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	body := []byte(`{"id":"pay_1","object":"payment","padding":"` + strings.Repeat("x", 5000) + `"}`)
	created := time.Now().UTC().Truncate(time.Microsecond)
	if _, err := s.writer.Exec(`INSERT INTO idempotency_keys (`+idempotencyColumns+`)
		VALUES (?, 'k1', 'tok', 'POST', '/v1/payments', x'0102', 1, 0, 'settled', 'pay_1', 'op_1', 201, ?, ?)`,
		a.ID, body, micros(created)); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	r, err := s.IdempotencyKey(ctx, a.ID, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if r.Token != "tok" || r.Method != "POST" || r.Path != "/v1/payments" || string(r.RequestHash) != "\x01\x02" || !r.Completed ||
		r.Point != payment.RecoverySettled || r.PaymentID != "pay_1" || r.OperationID != "op_1" || r.ResponseStatus != 201 ||
		string(r.ResponseBody) != string(body) || !r.CreatedAt.Equal(created) {
		t.Errorf("record after 0019: %+v", r)
	}
	var ddl string
	if err := s.reader.QueryRow(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'idempotency_keys'`).Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ddl, "WITHOUT ROWID") {
		t.Errorf("idempotency_keys is still WITHOUT ROWID: %s", ddl)
	}
	if plan := queryPlan(t, s, `SELECT `+idempotencyColumns+` FROM idempotency_keys WHERE account_id = ? AND key = ?`, a.ID, "k1"); !strings.Contains(plan, "USING INDEX sqlite_autoindex_idempotency_keys_1 (account_id=? AND key=?)") {
		t.Errorf("lookup by key: %s", plan)
	}
	// The unique index still makes a second claim of the key conflict.
	if _, err := s.writer.Exec(`INSERT INTO idempotency_keys (`+idempotencyColumns+`)
		VALUES (?, 'k1', 'tok2', 'POST', '/v1/payments', NULL, 0, 0, 'started', '', '', 0, NULL, 0)`, a.ID); err == nil {
		t.Error("a second record of the same key was accepted")
	}
}

// TestMembersReadByAccount: an account's members are read through the
// index of memberships by account, not by scanning the memberships of
// every account of the installation.
func TestMembersReadByAccount(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "kassa.db"))
	// 2,000 accounts with a member each, then fresh statistics.
	for _, q := range []string{
		`WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 2000)
			INSERT INTO accounts (id, name, live, created_at) SELECT 'acct_' || n, 'shop', 0, n FROM g`,
		`INSERT INTO dashboard_users (id, email, password_hash, created_at) SELECT 'usr_' || id, id || '@example.com', 'x', 0 FROM accounts`,
		`INSERT INTO dashboard_memberships (user_id, account_id, role, created_at) SELECT 'usr_' || id, id, 'admin', 0 FROM accounts`,
		`ANALYZE`,
	} {
		if _, err := s.writer.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	ms, err := s.Members(context.Background(), "acct_77")
	if err != nil || len(ms) != 1 || ms[0].Email != "acct_77@example.com" {
		t.Fatalf("Members: %v %v", ms, err)
	}
	all := queryPlan(t, s, membersQuery, "acct_77")
	if !strings.Contains(all, "USING INDEX dashboard_memberships_account (account_id=?)") || strings.Contains(all, "SCAN m") {
		t.Errorf("members of an account: %s", all)
	}
}
