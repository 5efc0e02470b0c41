package engine_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/postgres"
	"github.com/kassapay/kassa/internal/store/sqlite"
	"github.com/kassapay/kassa/internal/vault"
)

// TestWriteTransactionsPerPurchase counts the write transactions a
// purchase costs on SQLite (each is a unit of the group commit): the
// reservation and the settle — the CVC is destroyed in the settle, not in
// a transaction of its own — and one more per extra attempt of a cascade.
func TestWriteTransactionsPerPurchase(t *testing.T) {
	f := newFixture(t, openSQLite(t))
	stats := f.store.(interface{ Stats() sqlite.WriteStats })
	ctx := context.Background()
	p, _ := f.account(t, false)
	gw := f.simGateway(t, p, nil).ID
	down := f.simGateway(t, p, map[string]any{"outage": true}).ID
	direct := f.router(t, p, cascade(nil, gw))
	cascading := f.router(t, p, cascade(nil, down, gw))

	for _, tc := range []struct {
		name    string
		gateway string
		want    int64
	}{
		{"direct", gw, 2},
		{"routed", direct.ID, 2},
		{"cascade of two attempts", cascading.ID, 3},
	} {
		pm := f.card(t, p, "4111111111111111", "737") // a CVC to destroy
		before := stats.Stats().Units
		pay, err := f.eng.CreatePayment(ctx, p, engine.PaymentInput{Amount: 1000, Currency: "EUR", PaymentMethodID: pm.ID, GatewayID: tc.gateway})
		if err != nil || pay.Status != payment.StatusCaptured {
			t.Fatalf("%s: %v %v", tc.name, pay, err)
		}
		if n := stats.Stats().Units - before; n != tc.want {
			t.Errorf("%s: %d write transactions, want %d", tc.name, n, tc.want)
		}
		if got, _ := f.eng.PaymentMethod(ctx, p.Account.ID, pm.ID); got.CVCSealed != nil || got.CVCExpiresAt != nil {
			t.Errorf("%s: the CVC survived the purchase", tc.name)
		}
		if sent := f.sim.CVCSent(); !sent[len(sent)-1] {
			t.Errorf("%s: the attempt that reached the gateway carried no CVC", tc.name)
		}
	}
}

// TestCascadeSendsTheCVCOnce: a CVC serves one authorization attempt. A
// cascade that moves on after a soft decline (the first gateway got the
// CVC) sends the next attempt without it; one that moves on after a call
// that was not sent sends it with the next attempt, which is the first to
// reach a gateway.
func TestCascadeSendsTheCVCOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		a, b := f.simGateway(t, p, nil).ID, f.simGateway(t, p, nil).ID
		down := f.simGateway(t, p, map[string]any{"outage": true}).ID
		soft := f.router(t, p, cascade([]any{"do_not_honor"}, a, b))
		notSent := f.router(t, p, cascade(nil, down, b))

		pm := f.card(t, p, "4111111111111111", "737")
		calls := len(f.sim.CVCSent())
		// 1005 is declined do_not_honor by every simulator.
		pay, err := f.eng.CreatePayment(ctx, p, engine.PaymentInput{Amount: 1005, Currency: "EUR", PaymentMethodID: pm.ID, GatewayID: soft.ID})
		if err != nil || len(pay.Operations) != 2 {
			t.Fatalf("soft-declined cascade: %v %v", pay, err)
		}
		if got := f.sim.CVCSent()[calls:]; len(got) != 2 || !got[0] || got[1] {
			t.Errorf("CVC sent per attempt after a soft decline: %v, want [true false]", got)
		}
		if got, _ := f.eng.PaymentMethod(ctx, p.Account.ID, pm.ID); got.CVCSealed != nil {
			t.Error("the CVC survived the cascade")
		}

		pm = f.card(t, p, "4111111111111111", "737")
		calls = len(f.sim.CVCSent())
		pay, err = f.eng.CreatePayment(ctx, p, engine.PaymentInput{Amount: 1000, Currency: "EUR", PaymentMethodID: pm.ID, GatewayID: notSent.ID})
		if err != nil || pay.Status != payment.StatusCaptured || len(pay.Operations) != 2 {
			t.Fatalf("cascade after not sent: %v %v", pay, err)
		}
		// The outage refuses before anything is sent: the simulator counts
		// only calls that reached it.
		if got := f.sim.CVCSent()[calls:]; len(got) == 0 || !got[len(got)-1] {
			t.Errorf("CVC sent per call after a not-sent attempt: %v, want the last with the CVC", got)
		}
		if got, _ := f.eng.PaymentMethod(ctx, p.Account.ID, pm.ID); got.CVCSealed != nil {
			t.Error("the CVC survived the purchase")
		}
	})
}

// TestWriteTransactionsPerKeyedPurchase: a purchase under an
// Idempotency-Key claimed at its reservation costs the reservation, the
// settle, and the storing of its answer.
func TestWriteTransactionsPerKeyedPurchase(t *testing.T) {
	f := newFixture(t, openSQLite(t))
	stats := f.store.(interface{ Stats() sqlite.WriteStats })
	ctx := context.Background()
	p, _ := f.account(t, false)
	gw := f.simGateway(t, p, nil).ID
	pm := f.card(t, p, "4111111111111111", "737")
	// The account's first keyed request makes its request-hash data key:
	// a write of its own, once.
	if _, err := f.eng.ClaimIdempotencyKeyAtReserve(ctx, p.Account.ID, "warm-up", "POST", "/v1/payments", nil); err != nil {
		t.Fatal(err)
	}
	before := stats.Stats().Units
	c, err := f.eng.ClaimIdempotencyKeyAtReserve(ctx, p.Account.ID, "order-77", "POST", "/v1/payments", []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	pay, err := f.eng.CreatePayment(engine.WithIdempotencyClaim(ctx, c), p, engine.PaymentInput{Amount: 1000, Currency: "EUR",
		PaymentMethodID: pm.ID, GatewayID: gw})
	if err != nil || pay.Status != payment.StatusCaptured {
		t.Fatalf("purchase: %v %v", pay, err)
	}
	if err := f.eng.CompleteIdempotencyKey(ctx, c, 201, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if n := stats.Stats().Units - before; n != 3 {
		t.Errorf("%d write transactions for a keyed purchase, want 3 (reserve with the claim, settle, answer)", n)
	}

	// With a way to render its answer, the settle stores it: two.
	answer := func(pay *payment.Payment, op *payment.Operation) (engine.Answer, error) {
		return engine.Answer{Status: 201, ContentType: "text/plain", Body: []byte(pay.ID + " " + string(pay.Status))}, nil
	}
	c, err = f.eng.ClaimIdempotencyKeyAtReserve(ctx, p.Account.ID, "order-78", "POST", "/v1/payments", []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	pm2 := f.card(t, p, "4111111111111111", "737")
	before = stats.Stats().Units
	pay, err = f.eng.CreatePayment(engine.WithAnswer(engine.WithIdempotencyClaim(ctx, c), answer), p, engine.PaymentInput{Amount: 1000,
		Currency: "EUR", PaymentMethodID: pm2.ID, GatewayID: gw})
	if err != nil || pay.Status != payment.StatusCaptured {
		t.Fatalf("purchase: %v %v", pay, err)
	}
	if n := stats.Stats().Units - before; n != 2 {
		t.Errorf("%d write transactions for a keyed purchase that answers in its settle, want 2", n)
	}
	a := c.Answered()
	if a == nil || string(a.Body) != pay.ID+" CAPTURED" {
		t.Fatalf("the settle's answer: %+v", a)
	}
	replay, err := f.eng.ClaimIdempotencyKeyAtReserve(ctx, p.Account.ID, "order-78", "POST", "/v1/payments", []byte("{}"))
	if err != nil || replay.Replay == nil || replay.Replay.ResponseStatus != 201 {
		t.Fatalf("retry: %+v %v, want the replay", replay, err)
	}
	if ct, body := engine.ParseStoredAnswer(replay.Replay.ResponseBody); ct != "text/plain" || string(body) != string(a.Body) {
		t.Errorf("replayed %q %q, want the settle's answer", ct, body)
	}
}

// TestRoundTripsPerPurchasePostgres counts what a purchase sends to
// PostgreSQL once its gateway and credentials are cached, with the
// simulator's ledger in the store as `kassa serve` has it: the payment
// method's read, the reservation (one implicit transaction), the
// simulator's ledger (a new purchase is one statement) and the settle
// (one implicit transaction): four round trips, three commits, and five
// statements — the reservation's rows are one statement, the settle's two
// (its second event cannot join the first, see oneStatement).
//
// Keyed, with the key claimed at the reservation and the answer stored by
// the settle: one more round trip, the read of the key before the
// handler runs; the claim joins the reservation's statement and the
// answer the settle's.
func TestRoundTripsPerPurchasePostgres(t *testing.T) {
	st := openPostgres(t)
	ring := filepath.Join(t.TempDir(), "master.key")
	if _, err := vault.CreateDevKeyFile(ring); err != nil {
		t.Fatal(err)
	}
	f := newFixtureLedger(t, st, ring, st.(simulator.Ledger))
	stats := st.(interface{ Stats() postgres.Stats })
	ctx := context.Background()
	p, _ := f.account(t, false)
	gw := f.simGateway(t, p, nil).ID
	pm := f.card(t, p, "4111111111111111", "").ID
	f.pay(t, p, pm, gw, 1000, true) // caches the gateway and its credentials
	// The account's first keyed request makes its request-hash data key:
	// a write of its own, once.
	if _, err := f.eng.ClaimIdempotencyKeyAtReserve(ctx, p.Account.ID, "warm-up", "POST", "/v1/payments", nil); err != nil {
		t.Fatal(err)
	}
	count := func(name string, wantTrips, wantStatements int64, purchase func() *payment.Payment) {
		t.Helper()
		before := stats.Stats()
		if pay := purchase(); pay.Status != payment.StatusCaptured {
			t.Fatalf("%s: %s", name, pay.Status)
		}
		after := stats.Stats()
		if d := after.RoundTrips - before.RoundTrips; d != wantTrips {
			t.Errorf("%s: %d round trips per purchase, want %d", name, d, wantTrips)
		}
		if d := after.Commits - before.Commits; d != 3 {
			t.Errorf("%s: %d commits per purchase, want 3 (reservation, the simulator's ledger, settle)", name, d)
		}
		if d := after.Statements - before.Statements; d != wantStatements {
			t.Errorf("%s: %d statements per purchase, want %d", name, d, wantStatements)
		}
	}
	count("unkeyed", 4, 5, func() *payment.Payment {
		pay, err := f.eng.CreatePayment(ctx, p, engine.PaymentInput{Amount: 1000, Currency: "EUR", PaymentMethodID: pm, GatewayID: gw})
		if err != nil {
			t.Fatal(err)
		}
		return pay
	})
	answer := func(pay *payment.Payment, op *payment.Operation) (engine.Answer, error) {
		return engine.Answer{Status: 201, ContentType: "text/plain", Body: []byte(pay.ID)}, nil
	}
	count("keyed", 5, 6, func() *payment.Payment {
		c, err := f.eng.ClaimIdempotencyKeyAtReserve(ctx, p.Account.ID, "order-79", "POST", "/v1/payments", []byte("{}"))
		if err != nil {
			t.Fatal(err)
		}
		pay, err := f.eng.CreatePayment(engine.WithAnswer(engine.WithIdempotencyClaim(ctx, c), answer), p,
			engine.PaymentInput{Amount: 1000, Currency: "EUR", PaymentMethodID: pm, GatewayID: gw})
		if err != nil {
			t.Fatal(err)
		}
		if c.Answered() == nil {
			t.Fatal("the settle did not store the answer")
		}
		return pay
	})
}
