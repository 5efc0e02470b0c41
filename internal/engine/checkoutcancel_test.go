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

// authorizedSession is a Dintero session of p paid on the page with card
// number, authorized only.
func authorizedSession(t *testing.T, f *fixture, p *payment.Principal, gw, number string) *engine.CheckoutView {
	t.Helper()
	ctx := context.Background()
	in := checkoutInput(gw)
	in.Capture, in.Dialect = new(false), payment.CheckoutDialectDintero
	cs, err := f.eng.CreateCheckoutSession(ctx, p, in)
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.eng.PayCheckoutPage(ctx, cs.ID, 1, cardInput(number))
	if err != nil || v.Session.Status != payment.CheckoutPaid || v.Payment.Status != payment.StatusAuthorized {
		t.Fatalf("authorized session: %+v, %v", v, err)
	}
	return v
}

// voids counts the void operations of the account's payment id.
func voids(t *testing.T, f *fixture, accountID, id string) int {
	t.Helper()
	pay, err := f.store.Payment(context.Background(), accountID, id)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, op := range pay.Operations {
		if op.Kind == payment.OpVoid {
			n++
		}
	}
	return n
}

// TestCheckoutCancelVoids: Dintero's cancel of a paid session whose
// payment is authorized voids the payment once and moves the session from
// paid to cancelled with its event; another account's session is not
// found; a second cancel is a conflict and voids nothing; the native
// cancel keeps refusing paid sessions.
func TestCheckoutCancelVoids(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		other, _ := f.account(t, false)
		gw := f.simGateway(t, p, nil).ID
		v := authorizedSession(t, f, p, gw, "4242424242424242")
		cs, pay := v.Session, v.Payment

		if _, err := f.eng.CancelCheckoutVoiding(ctx, other, cs.ID); errCode(err) != payment.CodeResourceMissing {
			t.Errorf("another account's cancel: %v, want not found", err)
		}
		if n := voids(t, f, p.Account.ID, pay.ID); n != 0 {
			t.Fatalf("another account's cancel voided (%d voids)", n)
		}
		f.clock.Add(time.Minute)
		got, err := f.eng.CancelCheckoutVoiding(ctx, p, cs.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != payment.CheckoutCancelled || got.PaymentID != pay.ID || got.ClosedAt == nil || !got.ClosedAt.After(*cs.ClosedAt) {
			t.Errorf("cancelled session %+v", got)
		}
		after, _ := f.store.Payment(ctx, p.Account.ID, pay.ID)
		if after.Status != payment.StatusAuthorizationVoided || after.AmountCaptured != 0 || voids(t, f, p.Account.ID, pay.ID) != 1 {
			t.Errorf("payment after the cancel: %s, captured %d, %d voids", after.Status, after.AmountCaptured, voids(t, f, p.Account.ID, pay.ID))
		}
		if types := eventTypes(t, f, p.Account.ID, cs.ID); !slices.Equal(types, []string{payment.EventCheckoutCompleted, payment.EventCheckoutCancelled}) {
			t.Errorf("session events %v", types)
		}
		if _, err := f.eng.CancelCheckoutVoiding(ctx, p, cs.ID); errCode(err) != payment.CodeInvalidState {
			t.Errorf("second cancel: %v, want a conflict", err)
		}
		if n := voids(t, f, p.Account.ID, pay.ID); n != 1 {
			t.Errorf("%d voids after a second cancel, want 1", n)
		}

		// The native cancel keeps Stripe's rule: open sessions only.
		v2 := authorizedSession(t, f, p, gw, "4242424242424242")
		if _, err := f.eng.CancelCheckoutSession(ctx, p.Account.ID, v2.Session.ID); errCode(err) != payment.CodeInvalidState {
			t.Errorf("native cancel of a paid session: %v, want a conflict", err)
		}
		if n := voids(t, f, p.Account.ID, v2.Payment.ID); n != 0 {
			t.Errorf("the native cancel voided (%d voids)", n)
		}
	})
}

// TestCheckoutCancelRefused: a captured session, a void the gateway
// declines and a void whose outcome is unknown each leave the session
// paid and are conflicts; once the unknown void is settled (the
// reconciler) or the gateway voids, the cancel completes. A session whose
// payment is in flight is not cancelled.
func TestCheckoutCancelRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		gw := f.simGateway(t, p, nil).ID
		stays := func(what string, cs *payment.CheckoutSession, payID string, st payment.Status) {
			t.Helper()
			got, _ := f.store.CheckoutSession(ctx, p.Account.ID, cs.ID)
			pay, _ := f.store.Payment(ctx, p.Account.ID, payID)
			if got.Status != payment.CheckoutPaid || pay.Status != st {
				t.Errorf("%s: session %s, payment %s; want paid, %s", what, got.Status, pay.Status, st)
			}
			if types := eventTypes(t, f, p.Account.ID, cs.ID); slices.Contains(types, payment.EventCheckoutCancelled) {
				t.Errorf("%s: a cancelled event was written", what)
			}
		}

		// Captured: nothing to void.
		in := checkoutInput(gw)
		in.Dialect = payment.CheckoutDialectDintero
		cs, _ := f.eng.CreateCheckoutSession(ctx, p, in)
		v, err := f.eng.PayCheckoutPage(ctx, cs.ID, 1, cardInput("4242424242424242"))
		if err != nil || v.Payment.Status != payment.StatusCaptured {
			t.Fatalf("captured session: %+v %v", v, err)
		}
		if _, err := f.eng.CancelCheckoutVoiding(ctx, p, cs.ID); errCode(err) != payment.CodeInvalidState {
			t.Errorf("cancel of a captured session: %v, want a conflict", err)
		}
		stays("captured", cs, v.Payment.ID, payment.StatusCaptured)
		if n := voids(t, f, p.Account.ID, v.Payment.ID); n != 0 {
			t.Errorf("a captured payment was voided (%d)", n)
		}

		// The gateway declines the void.
		v = authorizedSession(t, f, p, gw, "4242424242424242")
		f.sim.DeclineVoids.Store(true)
		if _, err := f.eng.CancelCheckoutVoiding(ctx, p, v.Session.ID); errCode(err) != engine.CodeVoidRefused {
			t.Errorf("cancel with a declined void: %v, want %s", err, engine.CodeVoidRefused)
		}
		stays("declined void", v.Session, v.Payment.ID, payment.StatusAuthorized)
		f.sim.DeclineVoids.Store(false)
		if got, err := f.eng.CancelCheckoutVoiding(ctx, p, v.Session.ID); err != nil || got.Status != payment.CheckoutCancelled {
			t.Errorf("cancel once the gateway voids: %+v %v", got, err)
		}

		// The void's response is lost: unknown until the reconciler asks.
		v = authorizedSession(t, f, p, gw, "4100000000000043")
		if _, err := f.eng.CancelCheckoutVoiding(ctx, p, v.Session.ID); errCode(err) != payment.CodeInvalidState {
			t.Errorf("cancel with an unknown void: %v, want a conflict", err)
		}
		stays("unknown void", v.Session, v.Payment.ID, payment.StatusUnknown)
		if _, err := f.eng.CancelCheckoutVoiding(ctx, p, v.Session.ID); errCode(err) != payment.CodeInvalidState {
			t.Errorf("cancel again while the void is unknown: %v, want a conflict", err)
		}
		if n := voids(t, f, p.Account.ID, v.Payment.ID); n != 1 {
			t.Errorf("%d voids while one is unknown, want 1", n)
		}
		f.clock.Add(3 * time.Minute)
		if _, err := f.eng.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		stays("void settled by the reconciler", v.Session, v.Payment.ID, payment.StatusAuthorizationVoided)
		if got, err := f.eng.CancelCheckoutVoiding(ctx, p, v.Session.ID); err != nil || got.Status != payment.CheckoutCancelled {
			t.Errorf("cancel once the void is known: %+v %v", got, err)
		}
		if n := voids(t, f, p.Account.ID, v.Payment.ID); n != 1 {
			t.Errorf("%d voids after the cancel completed, want 1", n)
		}

		// An open session whose payment is in flight.
		cs, _ = f.eng.CreateCheckoutSession(ctx, p, in)
		if v, err := f.eng.PayCheckoutPage(ctx, cs.ID, 1, cardInput("4100000000000001")); err != nil || v.Payment.Status != payment.StatusUnknown {
			t.Fatalf("in flight: %+v %v", v, err)
		}
		if _, err := f.eng.CancelCheckoutVoiding(ctx, p, cs.ID); errCode(err) != payment.CodeInvalidState {
			t.Errorf("cancel with a payment in flight: %v, want a conflict", err)
		}
		if got, _ := f.store.CheckoutSession(ctx, p.Account.ID, cs.ID); got.Status != payment.CheckoutOpen {
			t.Errorf("in-flight session is %s, want open", got.Status)
		}
	})
}

// TestCheckoutCancelRaces: cancels at once void once and cancel once; a
// cancel racing a full capture leaves one of them done and the other
// refused, never both: a cancelled session's payment is voided with
// nothing captured, a captured payment's session stays paid.
func TestCheckoutCancelRaces(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		gw := f.simGateway(t, p, nil).ID

		v := authorizedSession(t, f, p, gw, "4242424242424242")
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for range 6 {
			wg.Go(func() {
				_, err := f.eng.CancelCheckoutVoiding(ctx, p, v.Session.ID)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case errCode(err) != payment.CodeInvalidState:
					t.Errorf("concurrent cancel: %v", err)
				}
			})
		}
		wg.Wait()
		got, _ := f.store.CheckoutSession(ctx, p.Account.ID, v.Session.ID)
		if won != 1 || got.Status != payment.CheckoutCancelled || voids(t, f, p.Account.ID, v.Payment.ID) != 1 {
			t.Errorf("concurrent cancels: %d won, session %s, %d voids; want 1, cancelled, 1", won, got.Status,
				voids(t, f, p.Account.ID, v.Payment.ID))
		}
		if types := eventTypes(t, f, p.Account.ID, v.Session.ID); len(types) != 2 || types[1] != payment.EventCheckoutCancelled {
			t.Errorf("events %v, want completed and one cancelled", types)
		}

		for i := range 4 {
			v := authorizedSession(t, f, p, gw, "4242424242424242")
			var cancelErr, captureErr error
			var wg sync.WaitGroup
			wg.Go(func() { _, cancelErr = f.eng.CancelCheckoutVoiding(ctx, p, v.Session.ID) })
			wg.Go(func() { _, _, captureErr = f.eng.Capture(ctx, p, v.Payment.ID, nil) })
			wg.Wait()
			cs, _ := f.store.CheckoutSession(ctx, p.Account.ID, v.Session.ID)
			pay, _ := f.store.Payment(ctx, p.Account.ID, v.Payment.ID)
			if cancelErr == nil && captureErr == nil {
				t.Fatalf("round %d: both the cancel and the capture succeeded", i)
			}
			for _, err := range []error{cancelErr, captureErr} {
				if err != nil && errCode(err) != payment.CodeInvalidState {
					t.Errorf("round %d: %v, want a conflict", i, err)
				}
			}
			switch {
			case pay.AmountCaptured > pay.AmountAuthorized:
				t.Errorf("round %d: captured %d of %d", i, pay.AmountCaptured, pay.AmountAuthorized)
			case cancelErr == nil && (cs.Status != payment.CheckoutCancelled || pay.Status != payment.StatusAuthorizationVoided || pay.AmountCaptured != 0):
				t.Errorf("round %d: cancelled, but session %s, payment %s, captured %d", i, cs.Status, pay.Status, pay.AmountCaptured)
			case cancelErr != nil && cs.Status != payment.CheckoutPaid:
				t.Errorf("round %d: the cancel failed, but the session is %s", i, cs.Status)
			case captureErr == nil && pay.Status != payment.StatusCaptured:
				t.Errorf("round %d: captured, but the payment is %s", i, pay.Status)
			}
		}
	})
}
