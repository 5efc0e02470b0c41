package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// newVerification returns a pending verify operation outside any payment.
func newVerification(accountID string, created time.Time) *payment.Operation {
	return &payment.Operation{
		ID:                payment.NewID(payment.PrefixOperation),
		AccountID:         accountID,
		PaymentMethodID:   payment.NewID(payment.PrefixPaymentMethod),
		GatewayID:         payment.NewID(payment.PrefixGateway),
		CredentialVersion: 1,
		Kind:              payment.OpVerify,
		Currency:          "USD",
		Outcome:           payment.OutcomePending,
		CreatedAt:         created,
		UpdatedAt:         created,
	}
}

func createVerification(t *testing.T, s payment.Store, op *payment.Operation) *payment.Event {
	t.Helper()
	ev := newEvent(op.AccountID, "operation.created", op.ID, op.CreatedAt)
	if err := s.CreateOperation(context.Background(), op, ev, nil); err != nil {
		t.Fatalf("CreateOperation: %v", err)
	}
	return ev
}

func getOp(t *testing.T, s payment.Store, accountID, id string) *payment.Operation {
	t.Helper()
	op, err := s.Operation(context.Background(), accountID, id)
	if err != nil {
		t.Fatalf("Operation(%s): %v", id, err)
	}
	return op
}

func opID(op *payment.Operation) string { return op.ID }

func testVerificationOperations(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)

	op := newVerification(a.ID, t0)
	created := createVerification(t, s, op)
	equal(t, "Operation after create", getOp(t, s, a.ID, op.ID), op)
	equal(t, "events after create", allEvents(t, s, a.ID), []*payment.Event{created})

	full := answered(newVerification(a.ID, t0))
	full.Outcome, full.DeclineCode = payment.OutcomeDeclined, "do_not_honor"
	full.ReconcileAttempts, full.NextReconcileAt = 2, ptr(t0.Add(time.Minute))
	full.UpdatedAt = t0.Add(time.Second)
	if err := s.CreateOperation(ctx, full, nil, nil); err != nil {
		t.Fatalf("CreateOperation without event: %v", err)
	}
	equal(t, "Operation with every field", getOp(t, s, a.ID, full.ID), full)

	now := t0.Add(time.Minute)
	var settledEv *payment.Event
	got, err := s.UpdateOperation(ctx, a.ID, op.ID, nil, func(o *payment.Operation) (*payment.Event, error) {
		equal(t, "operation given to fn", o, op)
		o.Outcome = payment.OutcomeSucceeded
		o.ResponseCode, o.Message, o.AVSCode, o.CVVCode = "85", "No reason to decline", "M", "M"
		o.GatewayReference, o.NetworkTransactionID = "ver_1", "ntid_1"
		o.Transcript = []byte(`{"ok":true}`)
		o.ReconcileAttempts = 1
		o.UpdatedAt = now
		settledEv = newEvent(a.ID, "operation.succeeded", o.ID, now)
		return settledEv, nil
	})
	if err != nil {
		t.Fatalf("UpdateOperation: %v", err)
	}
	want := *op
	want.Outcome = payment.OutcomeSucceeded
	want.ResponseCode, want.Message, want.AVSCode, want.CVVCode = "85", "No reason to decline", "M", "M"
	want.GatewayReference, want.NetworkTransactionID = "ver_1", "ntid_1"
	want.Transcript = []byte(`{"ok":true}`)
	want.ReconcileAttempts = 1
	want.UpdatedAt = now
	equal(t, "UpdateOperation result", got, &want)
	equal(t, "stored after update", getOp(t, s, a.ID, op.ID), &want)
	equal(t, "events after update", allEvents(t, s, a.ID), []*payment.Event{settledEv, created})

	nothingWritten := func(t *testing.T) {
		t.Helper()
		equal(t, "operation after a failed update", getOp(t, s, a.ID, op.ID), &want)
		if n := len(allEvents(t, s, a.ID)); n != 2 {
			t.Errorf("%d events after a failed update, want 2", n)
		}
	}
	errNo := errors.New("no")
	for _, tc := range []struct {
		name string
		fn   func(o *payment.Operation) (*payment.Event, error)
	}{
		{"fn error", func(o *payment.Operation) (*payment.Event, error) {
			o.Outcome = payment.OutcomeFailed
			return newEvent(a.ID, "operation.failed", o.ID, now), errNo
		}},
		{"immutable field changed", func(o *payment.Operation) (*payment.Event, error) {
			o.Amount = 100
			return nil, nil
		}},
		{"moved into a payment", func(o *payment.Operation) (*payment.Event, error) {
			o.PaymentID = "pay_x"
			return nil, nil
		}},
		{"event of another account", func(o *payment.Operation) (*payment.Event, error) {
			o.Outcome = payment.OutcomeFailed
			return newEvent(b.ID, "operation.failed", o.ID, now), nil
		}},
		{"taken event id", func(o *payment.Operation) (*payment.Event, error) {
			o.Outcome = payment.OutcomeFailed
			ev := newEvent(a.ID, "operation.failed", o.ID, now)
			ev.ID = created.ID
			return ev, nil
		}},
		{"outcome not allowed", func(o *payment.Operation) (*payment.Event, error) {
			o.Outcome = "maybe"
			return nil, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.UpdateOperation(ctx, a.ID, op.ID, nil, tc.fn)
			if err == nil {
				t.Error("UpdateOperation succeeded")
			}
			if tc.name == "fn error" && err != errNo {
				t.Errorf("err = %v, want fn's error itself", err)
			}
			nothingWritten(t)
		})
	}

	t.Run("conflicts and bad operations", func(t *testing.T) {
		dup := newVerification(a.ID, t0)
		dup.ID = op.ID
		wantConflict(t, "CreateOperation with a taken id", s.CreateOperation(ctx, dup, nil, nil))
		inPayment := newVerification(a.ID, t0)
		inPayment.PaymentID = "pay_x"
		if err := s.CreateOperation(ctx, inPayment, nil, nil); err == nil {
			t.Error("CreateOperation accepted an operation of a payment")
		}
		badEv := newVerification(a.ID, t0)
		if err := s.CreateOperation(ctx, badEv, newEvent(b.ID, "operation.created", badEv.ID, t0), nil); err == nil {
			t.Error("CreateOperation accepted an event of another account")
		}
		for _, o := range []*payment.Operation{inPayment, badEv} {
			_, err := s.Operation(ctx, a.ID, o.ID)
			wantNotFound(t, "operation whose creation failed", err)
		}
		nothingWritten(t)
		ghost := newVerification("T00000000", t0)
		wantNotFound(t, "CreateOperation for an unknown account", s.CreateOperation(ctx, ghost, nil, nil))
	})

	t.Run("isolation", func(t *testing.T) {
		_, err := s.Operation(ctx, b.ID, op.ID)
		wantNotFound(t, "Operation of another account's id", err)
		called := false
		_, err = s.UpdateOperation(ctx, b.ID, op.ID, nil, func(o *payment.Operation) (*payment.Event, error) {
			called = true
			o.Outcome = payment.OutcomeFailed
			return nil, nil
		})
		wantNotFound(t, "UpdateOperation of another account's id", err)
		if called {
			t.Error("UpdateOperation called fn for another account's operation")
		}
		_, err = s.UpdateOperation(ctx, a.ID, "op_unknown", nil, func(o *payment.Operation) (*payment.Event, error) {
			called = true
			return nil, nil
		})
		wantNotFound(t, "UpdateOperation of an unknown id", err)
		if called {
			t.Error("fn called for an unknown operation")
		}
		nothingWritten(t)
	})

	// Last: it writes a payment and its event.
	t.Run("operation of a payment", func(t *testing.T) {
		p := newPayment(a.ID, t0)
		createPayment(t, s, p)
		called := false
		_, err := s.UpdateOperation(ctx, a.ID, p.Operations[0].ID, nil, func(o *payment.Operation) (*payment.Event, error) {
			called = true
			return nil, nil
		})
		if err == nil || called {
			t.Errorf("UpdateOperation of a payment's operation = %v, fn called %v; want an error before fn", err, called)
		}
		equal(t, "payment after UpdateOperation of its operation", getPayment(t, s, a.ID, p.ID), p)
	})
}

func testClaimUnsettledOperations(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	now := t0.Add(24 * time.Hour)
	staleBefore := now.Add(-5 * time.Minute)
	lease := now.Add(time.Minute)
	const maxAttempts = 5

	p := newPayment(a.ID, t0)
	mk := func(outcome payment.Outcome, created time.Time, mod func(op *payment.Operation)) *payment.Operation {
		op := newOp(p, payment.OpCapture, 10, outcome, created)
		if mod != nil {
			mod(op)
		}
		p.Operations = append(p.Operations, op)
		return op
	}
	var (
		unknownOld   = mk(payment.OutcomeUnknown, t0, nil)
		unknownYoung = mk(payment.OutcomeUnknown, now.Add(-time.Second), func(op *payment.Operation) { op.ReconcileAttempts = maxAttempts - 1 })
		pendingOld   = mk(payment.OutcomePending, staleBefore.Add(-time.Second), nil)
		pendingEdge  = mk(payment.OutcomePending, staleBefore, nil)
		pendingYoung = mk(payment.OutcomePending, staleBefore.Add(time.Microsecond), nil)
		succeeded    = mk(payment.OutcomeSucceeded, t0, nil)
		declined     = mk(payment.OutcomeDeclined, t0, nil)
		notSent      = mk(payment.OutcomeNotSent, t0, nil)
		leased       = mk(payment.OutcomeUnknown, t0, func(op *payment.Operation) { op.NextReconcileAt = ptr(now.Add(time.Second)) })
		due          = mk(payment.OutcomeUnknown, t0.Add(time.Second), func(op *payment.Operation) { op.NextReconcileAt = ptr(now) })
		exhausted    = mk(payment.OutcomeUnknown, t0, func(op *payment.Operation) { op.ReconcileAttempts = maxAttempts })
	)
	createPayment(t, s, p)
	// Another account's verification, found too: claims span accounts.
	verification := newVerification(b.ID, t0.Add(2*time.Second))
	verification.Outcome = payment.OutcomeUnknown
	createVerification(t, s, verification)

	// claim claims at now, leasing for a minute.
	claim := func(t *testing.T, now time.Time, limit int) []*payment.Operation {
		t.Helper()
		ops, err := s.ClaimUnsettledOperations(ctx, now, staleBefore, now.Add(time.Minute), maxAttempts, limit)
		if err != nil {
			t.Fatalf("ClaimUnsettledOperations: %v", err)
		}
		return ops
	}
	leasedCopy := func(ops ...*payment.Operation) []*payment.Operation {
		out := []*payment.Operation{}
		for _, op := range ops {
			c := *op
			c.NextReconcileAt = ptr(lease)
			out = append(out, &c)
		}
		return out
	}

	// Oldest first: by creation time.
	want := leasedCopy(unknownOld, due, verification, pendingOld, pendingEdge, unknownYoung)
	got := claim(t, now, 100)
	equal(t, "claimed operations (as they were, leased)", got, want)
	for _, w := range want {
		equal(t, "stored claimed operation", getOp(t, s, w.AccountID, w.ID), w)
	}
	for _, op := range []*payment.Operation{pendingYoung, succeeded, declined, notSent, leased, exhausted} {
		equal(t, "operation not claimed", getOp(t, s, a.ID, op.ID), op)
	}

	if got := claim(t, now, 100); len(got) != 0 {
		t.Errorf("second claim before the lease passed = %v, want none", ids(got, opID))
	}
	if got := claim(t, lease.Add(-time.Microsecond), 100); len(got) != 1 || got[0].ID != leased.ID {
		t.Errorf("claim just before the lease passed = %v, want only the operation leased until earlier", ids(got, opID))
	}
	// Once the lease has passed, the claims are released (but not the one
	// just leased again).
	if got := claim(t, lease, 2); !slices.Equal(ids(got, opID), []string{unknownOld.ID, due.ID}) {
		t.Errorf("claim of 2 when the lease has passed = %v, want the 2 oldest", ids(got, opID))
	}
	if got := claim(t, lease, 0); len(got) != 0 {
		t.Errorf("claim of 0 = %v", ids(got, opID))
	}
	got = claim(t, lease, 100)
	equal(t, "the rest once the lease passed", ids(got, opID), []string{verification.ID, pendingOld.ID, pendingEdge.ID, unknownYoung.ID})

	// Reconciliation settles or counts attempts through the payment.
	if _, err := s.UpdatePayment(ctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
		var ch payment.PaymentChange
		for _, op := range q.Operations {
			switch op.ID {
			case unknownOld.ID:
				op.Outcome = payment.OutcomeSucceeded
				ch.Operations = append(ch.Operations, op)
			case unknownYoung.ID:
				op.ReconcileAttempts++
				ch.Operations = append(ch.Operations, op)
			}
		}
		return &ch, nil
	}); err != nil {
		t.Fatal(err)
	}
	later := lease.Add(time.Hour)
	if got := claim(t, later, 100); !slices.Equal(ids(got, opID), []string{leased.ID, due.ID, verification.ID, pendingOld.ID, pendingEdge.ID}) {
		t.Errorf("claim after settling one and exhausting another = %v", ids(got, opID))
	}
	// A claim that finds nothing returns an empty list.
	if got := claim(t, later, 100); got == nil || len(got) != 0 {
		t.Errorf("empty claim = %#v, want an empty list", got)
	}
}

// testClaimConcurrent runs two claimers at once over 20 unknown
// operations: their claims must be disjoint and cover all 20.
func testClaimConcurrent(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	now := t0.Add(time.Hour)
	all := map[string]bool{}
	for i := range 4 {
		p := newPayment(a.ID, t0)
		for j := range 4 {
			op := newOp(p, payment.OpRefund, 1, payment.OutcomeUnknown, t0.Add(time.Duration(i*4+j)*time.Millisecond))
			p.Operations = append(p.Operations, op)
			all[op.ID] = true
		}
		createPayment(t, s, p)
	}
	for range 4 {
		op := newVerification(a.ID, t0)
		op.Outcome = payment.OutcomeUnknown
		createVerification(t, s, op)
		all[op.ID] = true
	}

	var mu sync.Mutex
	claimedBy := map[string]int{}
	var wg sync.WaitGroup
	for c := range 2 {
		wg.Go(func() {
			for {
				ops, err := s.ClaimUnsettledOperations(ctx, now, now, now.Add(time.Minute), 10, 3)
				if err != nil {
					t.Errorf("claimer %d: %v", c, err)
					return
				}
				if len(ops) == 0 {
					return
				}
				mu.Lock()
				for _, op := range ops {
					if prev, ok := claimedBy[op.ID]; ok {
						t.Errorf("operation %s claimed by claimers %d and %d", op.ID, prev, c)
					}
					claimedBy[op.ID] = c
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var missing []string
	for id := range all {
		if _, ok := claimedBy[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(all) != 20 || len(claimedBy) != 20 || len(missing) != 0 {
		t.Errorf("%d of %d operations claimed; missing %s", len(claimedBy), len(all), strings.Join(missing, ", "))
	}
}

// testUnsettledOperations counts the reconciler's backlog across accounts.
func testUnsettledOperations(t *testing.T, s payment.Store) {
	ctx := context.Background()
	if n, oldest, err := s.UnsettledOperations(ctx); err != nil || n != 0 || !oldest.IsZero() {
		t.Fatalf("UnsettledOperations of an empty store = %d, %v, %v", n, oldest, err)
	}
	a, b := newAccount(t, s), newAccount(t, s)
	p := newPayment(a.ID, t0)
	p.Operations = append(p.Operations,
		newOp(p, payment.OpCapture, 100, payment.OutcomePending, t0.Add(time.Minute)),
		newOp(p, payment.OpRefund, 100, payment.OutcomeUnknown, t0.Add(2*time.Minute)))
	createPayment(t, s, p)
	q := newPayment(b.ID, t0)
	q.Operations = append(q.Operations, newOp(q, payment.OpCapture, 100, payment.OutcomeUnknown, t0.Add(3*time.Minute)))
	createPayment(t, s, q)
	n, oldest, err := s.UnsettledOperations(ctx)
	if err != nil || n != 3 || !oldest.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("UnsettledOperations = %d, %v, %v; want 3 and the oldest unknown at t0+2m", n, oldest, err)
	}
}
