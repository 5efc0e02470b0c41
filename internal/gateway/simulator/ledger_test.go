package simulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/pgtest"
	"github.com/kassapay/kassa/internal/store/postgres"
	"github.com/kassapay/kassa/internal/store/sqlite"
)

// storeLedger is a Ledger in one of kassa's stores.
type storeLedger interface {
	Ledger
	Close() error
}

var (
	_ storeLedger = (*sqlite.Store)(nil)
	_ storeLedger = (*postgres.Store)(nil)
)

// database is a kind of database a store-backed ledger lives in. newDB
// makes a fresh one and returns a function that opens another store on it,
// as another kassa process (or the same one after a restart) would; each
// store is closed when the test ends, if the test has not closed it.
type database struct {
	name  string
	newDB func(t *testing.T) func(t *testing.T) storeLedger
}

var databases = []database{
	{"sqlite", func(t *testing.T) func(t *testing.T) storeLedger {
		path := filepath.Join(t.TempDir(), "kassa.db")
		return func(t *testing.T) storeLedger {
			t.Helper()
			st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
			if err != nil {
				t.Fatalf("open SQLite: %v", err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
	}},
	{"postgres", func(t *testing.T) func(t *testing.T) storeLedger {
		url := pgtest.SchemaURL(t) // skips, or fails under KASSA_REQUIRE_POSTGRES, without a server
		return func(t *testing.T) storeLedger {
			t.Helper()
			st, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: 4})
			if err != nil {
				t.Fatalf("open PostgreSQL: %v", err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
	}},
}

// forEachLedger runs fn once per kind of Ledger, in parallel subtests:
// in memory, and in each store. open returns an empty ledger.
func forEachLedger(t *testing.T, fn func(t *testing.T, open func(*testing.T) Ledger)) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		fn(t, func(*testing.T) Ledger { return NewMemoryLedger(0) })
	})
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			fn(t, func(t *testing.T) Ledger { return db.newDB(t)(t) })
		})
	}
}

// forEachDatabase runs fn once per kind of store, in parallel subtests;
// open opens another store on one fresh database.
func forEachDatabase(t *testing.T, fn func(t *testing.T, open func(*testing.T) storeLedger)) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			fn(t, db.newDB(t))
		})
	}
}

func calls(t *testing.T, l Ledger, reference string) int {
	t.Helper()
	op, err := l.SimulatorOperation(context.Background(), gw, reference)
	if err != nil {
		t.Fatalf("SimulatorOperation(%s): %v", reference, err)
	}
	return op.Calls
}

// TestLedgerSurvivesReopen authorizes with one Simulator, closes its
// store, and goes on with a fresh Simulator over the store reopened: a
// restart of kassa.
func TestLedgerSurvivesReopen(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, open func(*testing.T) storeLedger) {
		st1 := open(t)
		f1 := setup(t, st1)
		auth := f1.authorize(t, "4111111111111111", 10000)
		want(t, "authorize", auth, payment.OutcomeSucceeded, "")
		firstCapture := &gateway.Request{Kind: payment.OpCapture, Reference: newRef(), Amount: 3000, Currency: "EUR",
			PriorReference: auth.GatewayReference}
		c1 := f1.call(t, firstCapture)
		want(t, "capture before the restart", c1, payment.OutcomeSucceeded, "")
		// Accepted, but the answer is lost: the call kassa's reconciler
		// asks about after the restart.
		lost := &gateway.Request{Kind: payment.OpAuthorize, Reference: newRef(), Amount: 500, Currency: "EUR",
			Card: testCard("4100000000000001")}
		want(t, "lost authorization", f1.call(t, lost), payment.OutcomeUnknown, "")
		if err := st1.Close(); err != nil {
			t.Fatal(err)
		}

		st2 := open(t)
		f2 := setup(t, st2)
		want(t, "capture after the restart", f2.followUp(t, payment.OpCapture, auth.GatewayReference, 7000), payment.OutcomeSucceeded, "")
		want(t, "capture beyond it", f2.followUp(t, payment.OpCapture, auth.GatewayReference, 1), payment.OutcomeFailed, "already_captured")
		q, err := f2.QueryStatus(context.Background(), lost)
		if err != nil || q.Outcome != payment.OutcomeSucceeded || q.GatewayReference == "" {
			t.Errorf("QueryStatus of the lost authorization after the restart = %+v, %v; want succeeded", q, err)
		}
		want(t, "capture of the lost authorization", f2.followUp(t, payment.OpCapture, q.GatewayReference, 500), payment.OutcomeSucceeded, "")
		again := f2.call(t, firstCapture)
		if again.Outcome != payment.OutcomeSucceeded || again.GatewayReference != c1.GatewayReference {
			t.Errorf("repeat of the first capture after the restart = %+v, first %+v", again, c1)
		}
		if n := calls(t, st2, firstCapture.Reference); n != 2 {
			t.Errorf("first capture: %d calls, want 2", n)
		}
	})
}

// TestLedgerSharedByInstances runs two Simulators on two stores of one
// database, as two kassa processes: each sees what the other recorded.
func TestLedgerSharedByInstances(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, open func(*testing.T) storeLedger) {
		a, b := setup(t, open(t)), setup(t, open(t))
		auth := &gateway.Request{Kind: payment.OpAuthorize, Reference: newRef(), Amount: 10000, Currency: "EUR",
			Card: testCard("4111111111111111")}
		ra := a.call(t, auth)
		want(t, "authorize on a", ra, payment.OutcomeSucceeded, "")

		capture := &gateway.Request{Kind: payment.OpCapture, Reference: newRef(), Amount: 4000, Currency: "EUR",
			PriorReference: ra.GatewayReference}
		rc := b.call(t, capture)
		want(t, "capture on b", rc, payment.OutcomeSucceeded, "")
		want(t, "capture too much on a", a.followUp(t, payment.OpCapture, ra.GatewayReference, 6001),
			payment.OutcomeFailed, "amount_exceeds_authorized")
		want(t, "capture the rest on a", a.followUp(t, payment.OpCapture, ra.GatewayReference, 6000), payment.OutcomeSucceeded, "")

		// A repeat on the other instance returns the first result and is
		// counted.
		again := a.call(t, capture)
		if again.Outcome != rc.Outcome || again.GatewayReference != rc.GatewayReference {
			t.Errorf("capture repeated on a = %+v, first on b %+v", again, rc)
		}
		if n := calls(t, b.ledger, capture.Reference); n != 2 {
			t.Errorf("capture: %d calls, want 2", n)
		}
		if n := calls(t, a.ledger, auth.Reference); n != 1 {
			t.Errorf("authorization: %d calls, want 1", n)
		}

		// Each answers status queries of the other's operations.
		q, err := b.QueryStatus(context.Background(), auth)
		if err != nil || q.Outcome != payment.OutcomeSucceeded || q.GatewayReference != ra.GatewayReference ||
			q.NetworkTransactionID != ra.NetworkTransactionID {
			t.Errorf("QueryStatus on b of a's authorization = %+v, %v; result was %+v", q, err, ra)
		}
		q, err = a.QueryStatus(context.Background(), capture)
		if err != nil || q.GatewayReference != rc.GatewayReference {
			t.Errorf("QueryStatus on a of b's capture = %+v, %v", q, err)
		}
		unknown := *auth
		unknown.Reference = newRef()
		if _, err := b.QueryStatus(context.Background(), &unknown); !errors.Is(err, gateway.ErrReferenceNotFound) {
			t.Errorf("QueryStatus of a reference neither saw: %v", err)
		}
	})
}

// TestConcurrentCapturesAcrossInstances captures 10 twenty times at once
// against an authorization of 100, alternating between two Simulators on
// one database: exactly 10 succeed, and each capture is one call.
func TestConcurrentCapturesAcrossInstances(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, open func(*testing.T) storeLedger) {
		sims := []*fixture{setup(t, open(t)), setup(t, open(t))}
		auth := sims[0].authorize(t, "4111111111111111", 100)
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			succeeded int
			codes     = map[string]int{}
		)
		for i := range 20 {
			wg.Go(func() {
				res, err := sims[i%2].Capture(context.Background(), &gateway.Request{Config: config(nil), Reference: fmt.Sprintf("op_cc_%02d", i),
					Kind: payment.OpCapture, Amount: 10, Currency: "EUR", PriorReference: auth.GatewayReference})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Error(err)
				case res.Outcome == payment.OutcomeSucceeded:
					succeeded++
				default:
					codes[res.DeclineCode]++
				}
			})
		}
		wg.Wait()
		if succeeded != 10 {
			t.Errorf("%d captures of 10 succeeded on an authorization of 100 (failures %v), want 10", succeeded, codes)
		}
		for code := range codes {
			if code != CodeAlreadyCaptured && code != CodeAmountExceedsAuthorized {
				t.Errorf("unexpected failure code %q", code)
			}
		}
		ops, err := sims[1].ledger.SimulatorOperations(context.Background(), gw)
		if err != nil || len(ops) != 21 {
			t.Fatalf("SimulatorOperations = %d operations, %v; want 21", len(ops), err)
		}
		for _, op := range ops {
			if op.Calls != 1 {
				t.Errorf("%s: %d calls, want 1", op.Reference, op.Calls)
			}
		}
	})
}

// TestLedgerHoldsNoCardData authorizes and captures on SQLite and looks
// for the card number and CVC in the database file and its WAL.
func TestLedgerHoldsNoCardData(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "kassa.db")
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := setup(t, st)
	const number, cvc = "4242424242424242", "9173"
	c := testCard(number)
	c.CVC = cvc
	res := f.call(t, &gateway.Request{Kind: payment.OpAuthorize, Amount: 1000, Currency: "EUR", Card: c})
	want(t, "authorize", res, payment.OutcomeSucceeded, "")
	want(t, "capture", f.followUp(t, payment.OpCapture, res.GatewayReference, 1000), payment.OutcomeSucceeded, "")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if !bytes.Contains(all, []byte(res.GatewayReference)) {
		t.Fatal("the gateway reference is not in the database: the test cannot see the ledger")
	}
	for _, secret := range []string{number, "424242…4242", cvc} {
		if bytes.Contains(all, []byte(secret)) {
			t.Errorf("the database holds %q", secret)
		}
	}
}
