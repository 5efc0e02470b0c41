package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// reservedPurchase stores a payment whose purchase is reserved (pending)
// and returns it as held, and a copy settled succeeded, with its events.
func reservedPurchase(t *testing.T, s payment.Store, accountID string) (held, after *payment.Payment, change *payment.PaymentChange) {
	t.Helper()
	held = newPayment(accountID, t0)
	held.Status, held.AmountAuthorized, held.UpdatedAt = payment.StatusInitiated, 0, t0
	held.Operations = []*payment.Operation{newOp(held, payment.OpPurchase, 1000, payment.OutcomePending, t0)}
	createPayment(t, s, held)
	after = clonePayment(held)
	op := after.Operations[0]
	op.Outcome = payment.OutcomeSucceeded
	answered(op)
	later := t0.Add(time.Second)
	op.UpdatedAt = later
	after.AmountAuthorized, after.AmountCaptured = 1000, 1000
	after.Status = payment.DeriveStatus(after)
	after.UpdatedAt = later
	change = &payment.PaymentChange{Operations: []*payment.Operation{op},
		Events: []*payment.Event{newEvent(accountID, "payment.purchase.succeeded", held.ID, later)}}
	return held, after, change
}

func testSettlePayment(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)

	t.Run("as held", func(t *testing.T) {
		held, after, change := reservedPurchase(t, s, a.ID)
		before := len(allEvents(t, s, a.ID))
		got, err := s.SettlePayment(ctx, held, after, change)
		if err != nil {
			t.Fatalf("SettlePayment: %v", err)
		}
		stored := getPayment(t, s, a.ID, held.ID)
		equal(t, "SettlePayment result", got, stored)
		if stored.Status != payment.StatusCaptured || stored.AmountCaptured != 1000 || stored.Operations[0].Outcome != payment.OutcomeSucceeded {
			t.Errorf("stored %s captured %d outcome %s: the settle was not written", stored.Status, stored.AmountCaptured, stored.Operations[0].Outcome)
		}
		if n := len(allEvents(t, s, a.ID)) - before; n != 1 {
			t.Errorf("%d events written, want 1", n)
		}
		// The same settle again finds the operation settled.
		if _, err := s.SettlePayment(ctx, held, after, change); !errors.Is(err, payment.ErrStale) {
			t.Errorf("settling twice: %v, want ErrStale", err)
		}
	})

	// Whatever changed since the caller held the payment, nothing is
	// written and the answer is ErrStale.
	for _, tc := range []struct {
		name   string
		meddle func(q *payment.Payment) *payment.PaymentChange
	}{
		{"operation settled meanwhile", func(q *payment.Payment) *payment.PaymentChange {
			q.Operations[0].Outcome = payment.OutcomeDeclined
			q.Status = payment.DeriveStatus(q)
			return &payment.PaymentChange{Operations: []*payment.Operation{q.Operations[0]}}
		}},
		{"operation claimed by a reconciler", func(q *payment.Payment) *payment.PaymentChange {
			q.Operations[0].ReconcileAttempts = 1
			return &payment.PaymentChange{Operations: []*payment.Operation{q.Operations[0]}}
		}},
		{"operation leased", func(q *payment.Payment) *payment.PaymentChange {
			q.Operations[0].NextReconcileAt = ptr(t0.Add(time.Minute))
			return &payment.PaymentChange{Operations: []*payment.Operation{q.Operations[0]}}
		}},
		{"payment's amounts moved", func(q *payment.Payment) *payment.PaymentChange {
			q.AmountAuthorized = 500
			return nil
		}},
		{"payment under review", func(q *payment.Payment) *payment.PaymentChange {
			q.RequiresReview = true
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			held, after, change := reservedPurchase(t, s, a.ID)
			if _, err := s.UpdatePayment(ctx, a.ID, held.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
				return tc.meddle(q), nil
			}); err != nil {
				t.Fatal(err)
			}
			want := getPayment(t, s, a.ID, held.ID)
			events := allEvents(t, s, a.ID)
			if _, err := s.SettlePayment(ctx, held, after, change); !errors.Is(err, payment.ErrStale) {
				t.Fatalf("SettlePayment: %v, want ErrStale", err)
			}
			equal(t, "payment after a stale settle", getPayment(t, s, a.ID, held.ID), want)
			equal(t, "events after a stale settle", allEvents(t, s, a.ID), events)
		})
	}

	t.Run("operation not held", func(t *testing.T) {
		held, after, change := reservedPurchase(t, s, a.ID)
		extra := newOp(after, payment.OpCapture, 100, payment.OutcomeSucceeded, t0)
		change.Operations = append(change.Operations, extra)
		if _, err := s.SettlePayment(ctx, held, after, change); err == nil || errors.Is(err, payment.ErrStale) {
			t.Errorf("settling an operation the payment does not hold: %v, want an error other than ErrStale", err)
		}
	})

	t.Run("another account", func(t *testing.T) {
		held, after, change := reservedPurchase(t, s, a.ID)
		other := newAccount(t, s)
		h, af := clonePayment(held), clonePayment(after)
		for _, p := range []*payment.Payment{h, af} {
			p.AccountID = other.ID
			for _, op := range p.Operations {
				op.AccountID = other.ID
			}
		}
		ch := &payment.PaymentChange{Operations: []*payment.Operation{af.Operations[0]}}
		if _, err := s.SettlePayment(ctx, h, af, ch); !errors.Is(err, payment.ErrStale) {
			t.Errorf("settling another account's payment: %v, want ErrStale (no row of this account)", err)
		}
		if got := getPayment(t, s, a.ID, held.ID); got.Status != payment.StatusInitiated {
			t.Errorf("another account's settle changed the payment: %s", got.Status)
		}
		_ = change
	})
}
