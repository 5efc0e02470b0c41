package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// keyed is one request under an Idempotency-Key, claimed the way the
// HTTP middleware claims it.
type keyed struct {
	f          *fixture
	acct, key  string
	path, body string
}

func (k keyed) claim(t *testing.T) (*engine.IdempotencyClaim, error) {
	t.Helper()
	return k.f.eng.ClaimIdempotencyKey(context.Background(), k.acct, k.key, "POST", k.path, []byte(k.body))
}

func (k keyed) mustClaim(t *testing.T) *engine.IdempotencyClaim {
	t.Helper()
	c, err := k.claim(t)
	if err != nil {
		t.Fatalf("claim %s: %v", k.key, err)
	}
	return c
}

// wantInFlight checks that a retry is told to come back later, and when.
func wantInFlight(t *testing.T, err error) {
	t.Helper()
	e, ok := payment.AsError(err)
	if !ok || e.Kind != payment.KindConflict || e.Code != payment.CodeIdempotencyInUse || e.RetryAfter <= 0 {
		t.Fatalf("retry: %v, want idempotency_key_in_use with a Retry-After", err)
	}
}

// TestIdempotencyRecoversAfterCrash: a request that reserved under its key
// and never stored its answer (the process died) is answered by its retry
// from what it reserved — never run again, never a second gateway call.
func TestIdempotencyRecoversAfterCrash(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		gw := f.simGateway(t, p, nil).ID
		pm := f.card(t, p, "4111111111111111", "").ID
		in := engine.PaymentInput{Amount: 4200, Currency: "EUR", PaymentMethodID: pm, GatewayID: gw, Reference: "order-42"}
		k := keyed{f: f, acct: p.Account.ID, key: "order-42-pay", path: "/v1/payments", body: `{"amount":4200}`}

		t.Run("settled, answer lost", func(t *testing.T) {
			first := k.mustClaim(t)
			pay, err := f.eng.CreatePayment(engine.WithIdempotencyClaim(ctx, first), p, in)
			if err != nil || pay.Status != payment.StatusCaptured {
				t.Fatalf("first purchase: %v %v", pay, err)
			}
			calls := len(f.sim.Calls())
			// The process dies here: the answer is never stored.
			retry := k.mustClaim(t)
			if retry.Replay != nil || !retry.Recovering() {
				t.Fatalf("retry of a settled key: %+v, want a recovering claim", retry)
			}
			again, err := f.eng.CreatePayment(engine.WithIdempotencyClaim(ctx, retry), p, in)
			if err != nil || again.ID != pay.ID || again.Status != payment.StatusCaptured {
				t.Fatalf("recovered purchase: %v %v, want %s", again, err, pay.ID)
			}
			if n := len(f.sim.Calls()); n != calls {
				t.Fatalf("the retry called the gateway: %d calls, want %d", n, calls)
			}
			if err := f.eng.CompleteIdempotencyKey(ctx, retry, 201, []byte("answer")); err != nil {
				t.Fatal(err)
			}
			// The first request's late completion loses to the retry's.
			if err := f.eng.CompleteIdempotencyKey(ctx, first, 201, []byte("late")); !errors.Is(err, payment.ErrIdempotencyClaimLost) {
				t.Errorf("late completion: %v, want ErrIdempotencyClaimLost", err)
			}
			if c := k.mustClaim(t); c.Replay == nil || string(c.Replay.ResponseBody) != "answer" {
				t.Errorf("third request: %+v, want the replay of the recovered answer", c)
			}
		})

		for _, sent := range []bool{true, false} {
			name := map[bool]string{true: "reserved, sent, not settled", false: "reserved, never sent"}[sent]
			t.Run(name, func(t *testing.T) {
				k := k
				k.key += name
				first := k.mustClaim(t)
				pay := f.crashedPaymentUnder(t, p, gw, pm, sent, first)
				calls := len(f.sim.Calls())
				// While the first request could still be calling, the
				// retry waits: never a second call.
				_, err := k.claim(t)
				wantInFlight(t, err)
				if n := len(f.sim.Calls()); n != calls {
					t.Fatalf("a retry in flight called the gateway")
				}
				// Past its call deadline, the retry asks the gateway and
				// answers from the settled payment.
				f.clock.Add(61 * time.Second)
				retry := k.mustClaim(t)
				if !retry.Recovering() {
					t.Fatalf("retry after the deadline: %+v, want recovering", retry)
				}
				got, err := f.eng.CreatePayment(engine.WithIdempotencyClaim(ctx, retry), p, in)
				if err != nil || got.ID != pay.ID {
					t.Fatalf("recovered: %v %v, want %s", got, err, pay.ID)
				}
				want := map[bool]payment.Status{true: payment.StatusCaptured, false: payment.StatusFailed}[sent]
				if got.Status != want {
					t.Errorf("recovered status %s, want %s", got.Status, want)
				}
				for _, c := range f.sim.Calls()[calls:] {
					if c.Kind == payment.OpPurchase {
						t.Errorf("the retry sent a purchase")
					}
				}
			})
		}

		t.Run("unknown outcome", func(t *testing.T) {
			lost := f.card(t, p, "4100000000000001", "").ID // the gateway takes it, the answer is lost
			k := k
			k.key = "lost-answer"
			first := k.mustClaim(t)
			lin := in
			lin.PaymentMethodID = lost
			pay, err := f.eng.CreatePayment(engine.WithIdempotencyClaim(ctx, first), p, lin)
			if err != nil || pay.Status != payment.StatusUnknown {
				t.Fatalf("purchase with a lost answer: %v %v", pay, err)
			}
			// Died before storing the answer: the retry waits for the
			// reconciler while the outcome is unknown ...
			_, err = k.claim(t)
			wantInFlight(t, err)
			f.clock.Add(3 * time.Minute)
			if _, err := f.eng.Reconcile(ctx); err != nil {
				t.Fatal(err)
			}
			// ... then answers with what the gateway said.
			retry := k.mustClaim(t)
			got, err := f.eng.CreatePayment(engine.WithIdempotencyClaim(ctx, retry), p, lin)
			if err != nil || got.ID != pay.ID || got.Status != payment.StatusCaptured {
				t.Fatalf("recovered: %v %v, want %s CAPTURED", got, err, pay.ID)
			}
		})

		t.Run("follow-up", func(t *testing.T) {
			auth := f.pay(t, p, pm, gw, 1000, false)
			k := keyed{f: f, acct: p.Account.ID, key: "capture-1", path: "/v1/payments/" + auth.ID + "/capture", body: `{"amount":600}`}
			first := k.mustClaim(t)
			_, op, err := f.eng.Capture(engine.WithIdempotencyClaim(ctx, first), p, auth.ID, ptr(int64(600)))
			if err != nil || op.Kind != payment.OpCapture || op.Amount != 600 {
				t.Fatalf("capture: %v %v", op, err)
			}
			retry := k.mustClaim(t)
			got, gop, err := f.eng.Capture(engine.WithIdempotencyClaim(ctx, retry), p, auth.ID, ptr(int64(600)))
			if err != nil || gop.ID != op.ID || got.AmountCaptured != 600 {
				t.Fatalf("recovered capture: %v %v %v, want operation %s and 600 captured", got, gop, err, op.ID)
			}
		})

		t.Run("claim taken over before the reserve", func(t *testing.T) {
			k := k
			k.key = "slow-first"
			first := k.mustClaim(t)
			f.clock.Add(61 * time.Second) // the first request stalled before reserving
			second := k.mustClaim(t)
			if second.Recovering() {
				t.Fatal("a key that reserved nothing was recovered")
			}
			calls := len(f.sim.Calls())
			if _, err := f.eng.CreatePayment(engine.WithIdempotencyClaim(ctx, first), p, in); !errors.Is(err, payment.ErrIdempotencyClaimLost) {
				t.Fatalf("the stalled request reserved: %v", err)
			}
			if n := len(f.sim.Calls()); n != calls {
				t.Fatal("the stalled request called the gateway")
			}
			if pay, err := f.eng.CreatePayment(engine.WithIdempotencyClaim(ctx, second), p, in); err != nil || pay.Status != payment.StatusCaptured {
				t.Fatalf("the retry: %v %v", pay, err)
			}
		})
	})
}

// crashedPaymentUnder is crashedPayment reserved under claim c, as a
// request that died between its reserve and its settle leaves it.
func (f *fixture) crashedPaymentUnder(t *testing.T, p *payment.Principal, gw, pm string, sent bool, c *engine.IdempotencyClaim) *payment.Payment {
	t.Helper()
	return f.crashedPaymentOf(t, p, gw, pm, sent, 4200, c.ReserveMark)
}

// TestIdempotencyKeyIsNotText: a card number in the key is refused, and
// the store keeps only a keyed hash of any key.
func TestIdempotencyKeyIsNotText(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		p, _ := f.account(t, false)
		for _, key := range []string{"4000056655665556", "order-4000-0566-5566-5556", "4000 0566 5566 5556"} {
			_, err := f.eng.ClaimIdempotencyKey(context.Background(), p.Account.ID, key, "POST", "/v1/payments", nil)
			if e, ok := payment.AsError(err); !ok || e.Code != "card_number_in_text" || e.Param != "Idempotency-Key" {
				t.Errorf("key %q: %v, want 422 card_number_in_text", key, err)
			}
		}
		k := keyed{f: f, acct: p.Account.ID, key: "order-1001", path: "/v1/payments", body: "{}"}
		k.mustClaim(t)
		// The key in clear is not what the store holds: claiming it raw
		// at the store finds nothing.
		rec := &payment.IdempotencyRecord{AccountID: p.Account.ID, Key: "order-1001", Token: "t", Method: "POST", Path: "/v1/payments",
			Point: payment.RecoveryStarted, LockedUntil: f.clock.Now().Add(time.Minute), CreatedAt: f.clock.Now()}
		if existing, claimed, err := f.store.ClaimIdempotencyKey(context.Background(), rec); err != nil || !claimed {
			t.Errorf("the key was stored in clear: %+v %v %v", existing, claimed, err)
		}
	})
}

// TestClaimAtReserve: a money-moving request claims its key in its
// reservation. Two duplicates that both found no record race to reserve:
// one reserves and calls the gateway, the other is refused before any
// call. A refused request's answer is stored for replay, and a retry of a
// finished one replays it.
func TestClaimAtReserve(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		gw := f.simGateway(t, p, nil).ID
		pm := f.card(t, p, "4111111111111111", "").ID
		in := engine.PaymentInput{Amount: 1500, Currency: "EUR", PaymentMethodID: pm, GatewayID: gw}
		claim := func(key, body string) *engine.IdempotencyClaim {
			t.Helper()
			c, err := f.eng.ClaimIdempotencyKeyAtReserve(ctx, p.Account.ID, key, "POST", "/v1/payments", []byte(body))
			if err != nil {
				t.Fatalf("claim %s: %v", key, err)
			}
			return c
		}
		first, second := claim("checkout-9", "{}"), claim("checkout-9", "{}")
		calls := len(f.sim.Calls())
		pay, err := f.eng.CreatePayment(engine.WithIdempotencyClaim(ctx, first), p, in)
		if err != nil || pay.Status != payment.StatusCaptured {
			t.Fatalf("first: %v %v", pay, err)
		}
		if _, err := f.eng.CreatePayment(engine.WithIdempotencyClaim(ctx, second), p, in); !errors.Is(err, payment.ErrIdempotencyClaimLost) {
			t.Fatalf("the duplicate reserved: %v", err)
		}
		if n := len(f.sim.Calls()) - calls; n != 1 {
			t.Fatalf("%d gateway calls for one key, want 1", n)
		}
		// The refused reservation left nothing: its claim failed its
		// whole write.
		if ps, _, err := f.store.Payments(ctx, p.Account.ID, payment.PaymentFilter{}); err != nil || len(ps) != 1 {
			t.Fatalf("payments after a duplicate reservation: %d %v, want the first one only", len(ps), err)
		}
		if err := f.eng.CompleteIdempotencyKey(ctx, first, 201, []byte("paid")); err != nil {
			t.Fatal(err)
		}
		if c := claim("checkout-9", "{}"); c.Replay == nil || string(c.Replay.ResponseBody) != "paid" {
			t.Fatalf("retry: %+v, want the replay", c)
		}

		// Refused before any reservation: the answer is stored all the same.
		refused := claim("checkout-10", `{"amount":-1}`)
		if _, err := f.eng.CreatePayment(engine.WithIdempotencyClaim(ctx, refused), p, engine.PaymentInput{Amount: -1, Currency: "EUR",
			PaymentMethodID: pm, GatewayID: gw}); err == nil {
			t.Fatal("a negative amount was accepted")
		}
		if err := f.eng.CompleteIdempotencyKey(ctx, refused, 422, []byte("refused")); err != nil {
			t.Fatal(err)
		}
		if c := claim("checkout-10", `{"amount":-1}`); c.Replay == nil || c.Replay.ResponseStatus != 422 {
			t.Fatalf("retry of a refused request: %+v, want the replay of its 422", c)
		}
	})
}
