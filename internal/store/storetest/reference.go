package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/kassapay/kassa/internal/payment"
)

// testTransactionReferences: a reference is claimed by the reserve that
// binds it, atomically (a taken one reserves nothing), is unique in its
// scope only, and is found by name and by operation within the account
// and scope only.
func testTransactionReferences(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	ref := func(accountID, scope, name string) *payment.TransactionReference {
		return &payment.TransactionReference{AccountID: accountID, Scope: scope, Reference: name, Type: "DEBIT",
			PaymentMethodID: "pm_1", Callback: "https://shop.example/callback?order=" + name, CreatedAt: t0}
	}
	reserve := func(r *payment.TransactionReference) (*payment.Payment, error) {
		p := newPayment(r.AccountID, t0)
		mark := &payment.IdempotencyMark{AccountID: r.AccountID, Point: payment.RecoveryReserved,
			PaymentID: p.ID, OperationID: p.Operations[0].ID, Reference: r}
		return p, s.CreatePayment(ctx, p, nil, mark)
	}
	p, err := reserve(ref(a.ID, "CO-1", "order-1"))
	if err != nil {
		t.Fatal(err)
	}
	want := ref(a.ID, "CO-1", "order-1")
	want.PaymentID, want.OperationID = p.ID, p.Operations[0].ID
	got, err := s.TransactionReference(ctx, a.ID, "CO-1", "order-1")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "reference", got, want)
	got, err = s.TransactionReferenceByOperation(ctx, a.ID, "CO-1", want.OperationID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "reference by operation", got, want)
	got, err = s.TransactionReferenceByOperation(ctx, a.ID, "", want.OperationID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "reference by operation in any scope", got, want)

	dup, err := reserve(ref(a.ID, "CO-1", "order-1"))
	if !errors.Is(err, payment.ErrReferenceTaken) {
		t.Fatalf("a taken reference: %v, want ErrReferenceTaken", err)
	}
	if _, err := s.Payment(ctx, a.ID, dup.ID); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("the reserve of a taken reference stored its payment: %v", err)
	}
	if _, err := reserve(ref(a.ID, "CO-2", "order-1")); err != nil {
		t.Errorf("the same reference in another scope: %v", err)
	}
	if _, err := reserve(ref(b.ID, "CO-1", "order-1")); err != nil {
		t.Errorf("the same reference in another account: %v", err)
	}
	for _, lookup := range []func() error{
		func() error { _, err := s.TransactionReference(ctx, b.ID, "CO-9", "order-1"); return err },
		func() error { _, err := s.TransactionReference(ctx, a.ID, "CO-3", "order-1"); return err },
		func() error {
			_, err := s.TransactionReferenceByOperation(ctx, b.ID, "CO-1", want.OperationID)
			return err
		},
		func() error {
			_, err := s.TransactionReferenceByOperation(ctx, a.ID, "CO-2", want.OperationID)
			return err
		},
	} {
		if err := lookup(); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("lookup outside the account or scope: %v, want ErrNotFound", err)
		}
	}

	// A transaction that reserves nothing writes its reference alone.
	alone := ref(a.ID, "CO-1", "deregister-1")
	alone.OperationID = payment.NewID(payment.PrefixOperation)
	if err := s.CreateTransactionReference(ctx, alone); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TransactionReferenceByOperation(ctx, a.ID, "CO-1", alone.OperationID); err != nil {
		t.Fatal(err)
	} else {
		equal(t, "reference alone", got, alone)
	}
	again := ref(a.ID, "CO-1", "deregister-1")
	again.OperationID = payment.NewID(payment.PrefixOperation)
	if err := s.CreateTransactionReference(ctx, again); !errors.Is(err, payment.ErrReferenceTaken) {
		t.Errorf("a taken reference alone: %v, want ErrReferenceTaken", err)
	}
	sameOp := ref(a.ID, "CO-1", "other")
	sameOp.OperationID = alone.OperationID
	if err := s.CreateTransactionReference(ctx, sameOp); !errors.Is(err, payment.ErrReferenceTaken) {
		t.Errorf("a second reference of one operation: %v, want ErrReferenceTaken", err)
	}
}
