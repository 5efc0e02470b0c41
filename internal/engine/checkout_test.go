package engine_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

func checkoutInput(gw string) engine.CheckoutInput {
	return engine.CheckoutInput{Amount: 25000, Currency: "NOK", MerchantReference: "order-7",
		Items:     []payment.CheckoutItem{{Description: "Kaffe", Quantity: 2, Amount: 20000}, {Description: "Frakt", Quantity: 1, Amount: 5000}},
		ReturnURL: "https://shop.example/return", GatewayID: gw, Locale: "nb"}
}

func cardInput(number string) engine.CardInput {
	return engine.CardInput{Number: number, ExpMonth: 12, ExpYear: 2030, CVC: "123", HolderName: "Kari Nordmann"}
}

// eventTypes lists the types of the account's events about objectID, oldest
// first.
func eventTypes(t *testing.T, f *fixture, accountID, objectID string) []string {
	t.Helper()
	evs, _, err := f.eng.Events(context.Background(), accountID, payment.ListParams{Limit: 100, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range evs {
		if ev.ObjectID == objectID {
			types = append(types, ev.Type)
		}
	}
	return types
}

// TestCheckoutPaysOnce: a declined card leaves the session open for
// another; the same attempt sent again (a double click), even many times
// at once, pays once; the session is then paid, with its event, and pays
// nothing more.
func TestCheckoutPaysOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		gw := f.simGateway(t, p, nil).ID
		cs, err := f.eng.CreateCheckoutSession(ctx, p, checkoutInput(gw))
		if err != nil {
			t.Fatal(err)
		}
		v, err := f.eng.PayCheckoutPage(ctx, cs.ID, 1, cardInput("4000000000009995"))
		if err != nil {
			t.Fatal(err)
		}
		if v.Session.Status != payment.CheckoutOpen || v.Payment.Status != payment.StatusDeclined || v.Session.Attempts != 1 {
			t.Fatalf("after a decline: %s, %s, attempts %d", v.Session.Status, v.Payment.Status, v.Session.Attempts)
		}
		// The declined form sent again pays nothing.
		if v, err = f.eng.PayCheckoutPage(ctx, cs.ID, 1, cardInput("4242424242424242")); err != nil || v.Session.Attempts != 1 {
			t.Fatalf("attempt 1 again: %v, %v", v, err)
		}
		calls := len(f.sim.Calls())
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				if _, err := f.eng.PayCheckoutPage(ctx, cs.ID, 2, cardInput("4242424242424242")); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := len(f.sim.Calls()) - calls; n != 1 {
			t.Errorf("six submits of attempt 2 made %d gateway calls, want 1", n)
		}
		got, err := f.eng.CheckoutSession(ctx, p.Account.ID, cs.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != payment.CheckoutPaid || got.Attempts != 2 || got.ClosedAt == nil {
			t.Fatalf("after paying: %s, attempts %d", got.Status, got.Attempts)
		}
		pay, _ := f.eng.Payment(ctx, p.Account.ID, got.PaymentID)
		if pay.Status != payment.StatusCaptured || pay.Amount != 25000 || pay.Reference != "order-7" ||
			pay.Metadata[engine.CheckoutMetadataKey] != cs.ID {
			t.Errorf("the session's payment: %+v", pay)
		}
		if v, err := f.eng.PayCheckoutPage(ctx, cs.ID, 3, cardInput("4242424242424242")); err != nil || v.Session.Attempts != 2 {
			t.Errorf("a third attempt on a paid session: %v %v", v, err)
		}
		if _, err := f.eng.CancelCheckoutSession(ctx, p.Account.ID, cs.ID); errCode(err) != payment.CodeInvalidState {
			t.Errorf("cancel a paid session: %v", err)
		}
		if types := eventTypes(t, f, p.Account.ID, cs.ID); len(types) != 1 || types[0] != payment.EventCheckoutCompleted {
			t.Errorf("session events: %v", types)
		}
	})
}

// TestCheckoutUnknownOutcome: a lost response keeps the session open and
// refuses other attempts and a cancel; the reconciler's settle pays it.
func TestCheckoutUnknownOutcome(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		cs, err := f.eng.CreateCheckoutSession(ctx, p, checkoutInput(f.simGateway(t, p, nil).ID))
		if err != nil {
			t.Fatal(err)
		}
		v, err := f.eng.PayCheckoutPage(ctx, cs.ID, 1, cardInput("4100000000000001"))
		if err != nil || v.Payment.Status != payment.StatusUnknown || v.Session.Status != payment.CheckoutOpen {
			t.Fatalf("lost response: %+v %v", v, err)
		}
		if v, _ := f.eng.PayCheckoutPage(ctx, cs.ID, 2, cardInput("4242424242424242")); v.Session.Attempts != 1 {
			t.Errorf("a second attempt while the first is unknown was made")
		}
		if _, err := f.eng.CancelCheckoutSession(ctx, p.Account.ID, cs.ID); errCode(err) != payment.CodeInvalidState {
			t.Errorf("cancel with a payment in flight: %v", err)
		}
		f.clock.Add(3 * time.Minute)
		if n, err := f.eng.Reconcile(ctx); err != nil || n != 1 {
			t.Fatalf("reconciled %d, %v", n, err)
		}
		got, _ := f.store.CheckoutSession(ctx, p.Account.ID, cs.ID)
		if got.Status != payment.CheckoutPaid {
			t.Errorf("after the reconciler: %s, want paid", got.Status)
		}
	})
}

// TestCheckoutExpiresAndCancels: the sweeper expires an unpaid session past
// its expiry, and a cancelled one takes no payment; each with its event.
func TestCheckoutExpiresAndCancels(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		gw := f.simGateway(t, p, nil).ID
		in := checkoutInput(gw)
		exp := f.clock.Now().Add(10 * time.Minute)
		in.ExpiresAt = &exp
		old, err := f.eng.CreateCheckoutSession(ctx, p, in)
		if err != nil {
			t.Fatal(err)
		}
		cancelled, err := f.eng.CreateCheckoutSession(ctx, p, checkoutInput(gw))
		if err != nil {
			t.Fatal(err)
		}
		if cs, err := f.eng.CancelCheckoutSession(ctx, p.Account.ID, cancelled.ID); err != nil || cs.Status != payment.CheckoutCancelled {
			t.Fatalf("cancel: %v %v", cs, err)
		}
		if v, err := f.eng.PayCheckoutPage(ctx, cancelled.ID, 1, cardInput("4242424242424242")); err != nil || v.Payment != nil {
			t.Errorf("paying a cancelled session: %v %v", v, err)
		}
		f.clock.Add(11 * time.Minute)
		if err := f.eng.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		got, _ := f.store.CheckoutSession(ctx, p.Account.ID, old.ID)
		if got.Status != payment.CheckoutExpired {
			t.Errorf("after its expiry and a sweep: %s", got.Status)
		}
		if types := eventTypes(t, f, p.Account.ID, old.ID); len(types) != 1 || types[0] != payment.EventCheckoutExpired {
			t.Errorf("expired session events: %v", types)
		}
		if types := eventTypes(t, f, p.Account.ID, cancelled.ID); len(types) != 1 || types[0] != payment.EventCheckoutCancelled {
			t.Errorf("cancelled session events: %v", types)
		}
		// Another account sees neither.
		q, _ := f.account(t, false)
		if _, err := f.eng.CheckoutSession(ctx, q.Account.ID, old.ID); errCode(err) != payment.CodeResourceMissing {
			t.Errorf("another account's session: %v", err)
		}
	})
}
