package engine_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// claimRacingStore runs first, once, just before the next claim of a
// checkout attempt (a payment's reservation or a token session's claim):
// another request that gets to the session between the page's read of it
// and its claim.
type claimRacingStore struct {
	payment.Store
	mu    sync.Mutex
	first func()
}

// race sets fn to run before the next claim.
func (s *claimRacingStore) race(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.first = fn
}

func (s *claimRacingStore) runFirst() {
	s.mu.Lock()
	fn := s.first
	s.first = nil
	s.mu.Unlock()
	if fn != nil {
		fn()
	}
}

func (s *claimRacingStore) CreatePayment(ctx context.Context, p *payment.Payment, evs []*payment.Event, mark *payment.IdempotencyMark) error {
	s.runFirst()
	return s.Store.CreatePayment(ctx, p, evs, mark)
}

func (s *claimRacingStore) ClaimCheckoutTokenAttempt(ctx context.Context, accountID, id string, attempt int, now time.Time) error {
	s.runFirst()
	return s.Store.ClaimCheckoutTokenAttempt(ctx, accountID, id, attempt, now)
}

// paymentMethodIDs lists the ids of the account's payment methods, sorted.
func paymentMethodIDs(t *testing.T, f *fixture, accountID string) []string {
	t.Helper()
	pms, _, err := f.eng.PaymentMethods(context.Background(), accountID, payment.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, pm := range pms {
		ids = append(ids, pm.ID)
	}
	slices.Sort(ids)
	return ids
}

// usedPaymentMethods lists, sorted, the payment methods of the account's
// payments.
func usedPaymentMethods(t *testing.T, f *fixture, accountID string) []string {
	t.Helper()
	pays, _, err := f.eng.Payments(context.Background(), accountID, payment.PaymentFilter{ListParams: payment.ListParams{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, p := range pays {
		ids = append(ids, p.PaymentMethodID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// TestCheckoutStoresNoCardItDoesNotUse: a card submitted on the hosted page
// is stored only with the claim of its attempt. A submit that loses the
// claim — the session paid by another submit of the same form, cancelled
// or expired after the page read it, many submits at once — leaves exactly
// the payment methods the session's payments use, and shows the session
// as it is; the claim that wins stores its card with its event.
func TestCheckoutStoresNoCardItDoesNotUse(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := &claimRacingStore{Store: b.open(t)}
			f := newFixture(t, st)
			ctx := context.Background()
			visa := cardInput("4242424242424242")
			// open makes a session of in on an account of its own.
			open := func(t *testing.T, in engine.CheckoutInput) (*payment.Principal, *payment.CheckoutSession) {
				t.Helper()
				q, _ := f.account(t, false)
				in.GatewayID = f.simGateway(t, q, nil).ID
				if in.SaveCard {
					cus, err := f.eng.CreateCustomer(ctx, q, engine.CustomerInput{})
					if err != nil {
						t.Fatal(err)
					}
					in.CustomerID = cus.ID
				}
				cs, err := f.eng.CreateCheckoutSession(ctx, q, in)
				if err != nil {
					t.Fatal(err)
				}
				return q, cs
			}
			exactlyUsed := func(t *testing.T, accountID string, want int) {
				t.Helper()
				have, used := paymentMethodIDs(t, f, accountID), usedPaymentMethods(t, f, accountID)
				if !slices.Equal(have, used) || len(have) != want {
					t.Errorf("payment methods %v, the payments use %v (want %d)", have, used, want)
				}
			}

			t.Run("paid by another submit", func(t *testing.T) {
				q, cs := open(t, checkoutInput(""))
				st.race(func() {
					if v, err := f.eng.PayCheckoutPage(ctx, cs.ID, 1, visa); err != nil || v.Session.Status != payment.CheckoutPaid {
						t.Errorf("the other submit: %+v, %v", v, err)
					}
				})
				v, err := f.eng.PayCheckoutPage(ctx, cs.ID, 1, visa)
				if err != nil || v.Session.Status != payment.CheckoutPaid || v.Session.Attempts != 1 {
					t.Fatalf("the late submit: %+v, %v", v, err)
				}
				exactlyUsed(t, q.Account.ID, 1)
				if types := eventTypes(t, f, q.Account.ID, v.Payment.PaymentMethodID); !slices.Equal(types, []string{"payment_method.created"}) {
					t.Errorf("events of the paying card: %v", types)
				}
			})
			t.Run("cancelled", func(t *testing.T) {
				q, cs := open(t, checkoutInput(""))
				st.race(func() {
					if _, err := f.eng.CancelCheckoutSession(ctx, q.Account.ID, cs.ID); err != nil {
						t.Error(err)
					}
				})
				v, err := f.eng.PayCheckoutPage(ctx, cs.ID, 1, visa)
				if err != nil || v.Session.Status != payment.CheckoutCancelled || v.Payment != nil {
					t.Fatalf("a submit as the session is cancelled: %+v, %v", v, err)
				}
				exactlyUsed(t, q.Account.ID, 0)
			})
			t.Run("expired", func(t *testing.T) {
				in := checkoutInput("")
				exp := f.clock.Now().Add(time.Hour)
				in.ExpiresAt = &exp
				q, cs := open(t, in)
				st.race(func() {
					f.clock.Add(2 * time.Hour) // past its expiry: the sweeper closes it
					if err := f.eng.Sweep(ctx); err != nil {
						t.Error(err)
					}
				})
				v, err := f.eng.PayCheckoutPage(ctx, cs.ID, 1, visa)
				if err != nil || v.Session.Status != payment.CheckoutExpired || v.Payment != nil {
					t.Fatalf("a submit as the session expires: %+v, %v", v, err)
				}
				exactlyUsed(t, q.Account.ID, 0)
			})
			t.Run("many submits at once", func(t *testing.T) {
				in := checkoutInput("")
				in.SaveCard = true
				q, cs := open(t, in)
				var wg sync.WaitGroup
				for range 6 {
					wg.Go(func() {
						if _, err := f.eng.PayCheckoutPage(ctx, cs.ID, 1, visa); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
				got, err := f.eng.CheckoutSession(ctx, q.Account.ID, cs.ID)
				if err != nil || got.Status != payment.CheckoutPaid || got.Attempts != 1 {
					t.Fatalf("after six submits: %+v, %v", got, err)
				}
				exactlyUsed(t, q.Account.ID, 1)
				pay, _ := f.eng.Payment(ctx, q.Account.ID, got.PaymentID)
				pm, err := f.eng.PaymentMethod(ctx, q.Account.ID, pay.PaymentMethodID)
				if err != nil || pm.CustomerID != cs.CustomerID || pm.StorageState != payment.StorageRetained {
					t.Errorf("the saved card: %+v, %v", pm, err)
				}
			})
			t.Run("through a router", func(t *testing.T) {
				// The cascade's second attempt is reserved by an update of
				// the payment, which finds the card the first one stored.
				q, _ := f.account(t, false)
				down := f.simGateway(t, q, map[string]any{"outage": true}).ID
				r := f.router(t, q, cascade(nil, down, f.simGateway(t, q, nil).ID))
				cs, err := f.eng.CreateCheckoutSession(ctx, q, checkoutInput(r.ID))
				if err != nil {
					t.Fatal(err)
				}
				v, err := f.eng.PayCheckoutPage(ctx, cs.ID, 1, visa)
				if err != nil || v.Session.Status != payment.CheckoutPaid || len(v.Payment.Operations) != 2 {
					t.Fatalf("a routed attempt: %+v, %v", v, err)
				}
				exactlyUsed(t, q.Account.ID, 1)
			})
			t.Run("customer deleted", func(t *testing.T) {
				in := checkoutInput("")
				in.SaveCard = true
				q, cs := open(t, in)
				st.race(func() {
					if _, err := f.eng.DeleteCustomer(ctx, q, cs.CustomerID); err != nil {
						t.Error(err)
					}
				})
				if _, err := f.eng.PayCheckoutPage(ctx, cs.ID, 1, visa); errCode(err) != payment.CodeResourceMissing {
					t.Errorf("a submit as the customer is deleted: %v, want customer not found", err)
				}
				exactlyUsed(t, q.Account.ID, 0)
				if got, _ := f.eng.CheckoutSession(ctx, q.Account.ID, cs.ID); got.Attempts != 0 {
					t.Errorf("the session counts %d attempts, want 0", got.Attempts)
				}
			})
			t.Run("token session cancelled", func(t *testing.T) {
				q, _ := f.account(t, false)
				cus, err := f.eng.CreateCustomer(ctx, q, engine.CustomerInput{})
				if err != nil {
					t.Fatal(err)
				}
				cs, err := f.eng.CreateCheckoutSession(ctx, q, engine.CheckoutInput{TokenOnly: true, Currency: "NOK",
					MerchantReference: "save-1", ReturnURL: "https://shop.example/r", GatewayID: f.simGateway(t, q, nil).ID, CustomerID: cus.ID})
				if err != nil {
					t.Fatal(err)
				}
				st.race(func() {
					if _, err := f.eng.CancelCheckoutSession(ctx, q.Account.ID, cs.ID); err != nil {
						t.Error(err)
					}
				})
				v, err := f.eng.PayCheckoutPage(ctx, cs.ID, 1, visa)
				if err != nil || v.Session.Status != payment.CheckoutCancelled || v.Session.CardTokenID != "" {
					t.Fatalf("a card saved as the session is cancelled: %+v, %v", v, err)
				}
				if ids := paymentMethodIDs(t, f, q.Account.ID); len(ids) != 0 {
					t.Errorf("payment methods %v, want none", ids)
				}
			})
		})
	}
}
