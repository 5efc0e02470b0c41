package engine_test

import (
	"context"
	"errors"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/kassapay/kassa/internal/payment"
)

// countingStore counts the payment updates the engine asks of a store:
// read-modify-write under the lock, and compare-and-set settles (and how
// many of those found their rows changed).
type countingStore struct {
	payment.Store
	updates, settles, stale atomic.Int64
	// meddle, if set, runs once before the next settle: another writer
	// that got there first.
	meddle func(held *payment.Payment)
}

func (s *countingStore) UpdatePayment(ctx context.Context, accountID, id string, fn func(*payment.Payment) (*payment.PaymentChange, error)) (*payment.Payment, error) {
	s.updates.Add(1)
	return s.Store.UpdatePayment(ctx, accountID, id, fn)
}

func (s *countingStore) SettlePayment(ctx context.Context, held, after *payment.Payment, change *payment.PaymentChange) (*payment.Payment, error) {
	s.settles.Add(1)
	if m := s.meddle; m != nil {
		s.meddle = nil
		m(held)
	}
	p, err := s.Store.SettlePayment(ctx, held, after, change)
	if errors.Is(err, payment.ErrStale) {
		s.stale.Add(1)
	}
	return p, err
}

// settleFixture is an engine on a counting store of backend b, with an
// account, a simulator gateway and a card.
func settleFixture(t *testing.T, b backend) (*countingStore, *fixture, *payment.Principal, string, string) {
	t.Helper()
	cs := &countingStore{Store: b.open(t)}
	f := newFixture(t, cs)
	p, _ := f.account(t, false)
	return cs, f, p, f.simGateway(t, p, nil).ID, f.card(t, p, "4111111111111111", "").ID
}

// TestSettleNeedsNoLock: a purchase and a follow-up settle by
// compare-and-set — no read of the payment under its lock, no engine
// code inside the store's transaction — and the result is what a read
// of the payment gives (TestSettleAfterTheReconciler covers the fallback).
func TestSettleNeedsNoLock(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			cs, f, p, gw, pm := settleFixture(t, b)
			ctx := context.Background()

			pay := f.pay(t, p, pm, gw, 1000, true)
			if pay.Status != payment.StatusCaptured || pay.AmountCaptured != 1000 {
				t.Fatalf("purchase: %s captured %d", pay.Status, pay.AmountCaptured)
			}
			if u, s, st := cs.updates.Load(), cs.settles.Load(), cs.stale.Load(); u != 0 || s != 1 || st != 0 {
				t.Errorf("purchase: %d locked updates, %d settles (%d stale); want 0, 1, 0", u, s, st)
			}
			stored, err := f.eng.Payment(ctx, p.Account.ID, pay.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(pay, stored) {
				t.Errorf("purchase answered %+v, stored %+v", pay, stored)
			}

			auth := f.pay(t, p, pm, gw, 2000, false)
			cs.updates.Store(0)
			cs.settles.Store(0)
			got, op, err := f.eng.Capture(ctx, p, auth.ID, ptr(int64(1500)))
			if err != nil || got.AmountCaptured != 1500 || op.Outcome != payment.OutcomeSucceeded {
				t.Fatalf("capture: %v %v %v", got, op, err)
			}
			if u, s := cs.updates.Load(), cs.settles.Load(); u != 1 || s != 1 {
				t.Errorf("capture: %d locked updates, %d settles; want 1 (the reservation), 1", u, s)
			}
			stored, err = f.eng.Payment(ctx, p.Account.ID, auth.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, stored) {
				t.Errorf("capture answered %+v, stored %+v", got, stored)
			}
		})
	}
}

// TestSettleAfterTheReconciler: the reconciler settled the operation
// while the call was out: the request's own settle finds the row moved,
// falls back to the locked path and keeps the first result — the money
// moves once.
func TestSettleAfterTheReconciler(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			cs, f, p, gw, pm := settleFixture(t, b)
			ctx := context.Background()
			cs.meddle = func(held *payment.Payment) {
				// What the reconciler writes when the gateway says the
				// purchase succeeded.
				_, err := cs.Store.UpdatePayment(ctx, held.AccountID, held.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
					op := q.Operations[0]
					op.Outcome, op.GatewayReference, op.ReconcileAttempts = payment.OutcomeSucceeded, "sim_reconciled", 1
					q.AmountAuthorized, q.AmountCaptured = op.Amount, op.Amount
					q.Status = payment.DeriveStatus(q)
					return &payment.PaymentChange{Operations: []*payment.Operation{op}}, nil
				})
				if err != nil {
					t.Error(err)
				}
			}
			pay := f.pay(t, p, pm, gw, 1000, true)
			// The reconciler's write goes around the counter: the one
			// locked update counted is the fallback's.
			if cs.stale.Load() != 1 || cs.updates.Load() != 1 {
				t.Errorf("%d stale settles, %d locked updates; want 1 and 1 (the fallback)", cs.stale.Load(), cs.updates.Load())
			}
			if pay.AmountCaptured != 1000 || pay.Status != payment.StatusCaptured || pay.Operations[0].GatewayReference != "sim_reconciled" {
				t.Errorf("after the fallback: %s captured %d reference %s; want the reconciler's result, captured once",
					pay.Status, pay.AmountCaptured, pay.Operations[0].GatewayReference)
			}
			stored, err := f.eng.Payment(ctx, p.Account.ID, pay.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(pay, stored) {
				t.Errorf("answered %+v, stored %+v", pay, stored)
			}
		})
	}
}
