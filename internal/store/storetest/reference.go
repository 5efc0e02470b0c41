package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

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
			PaymentMethodID: "pm_1", Callback: "https://shop.example/callback?order=" + name, CallbackSigner: "test",
			// Kept byte for byte: key order, escapes and all.
			Attributes: json.RawMessage(`{"extraData":{"z":"1","a":"\u00fc\/"},"merchantMetaData":"m"}`), CreatedAt: t0}
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
	alone.Attributes, alone.Callback, alone.CallbackSigner = nil, "", ""
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

// testTransactionNotices: a payment change's notices record the change on
// their references and promise their callbacks in the change's own
// transaction; a notice the store must not write fails the whole change.
func testTransactionNotices(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	reserve := func(name, callback string) (*payment.Payment, *payment.TransactionReference) {
		t.Helper()
		p := newPayment(a.ID, t0)
		r := &payment.TransactionReference{AccountID: a.ID, Scope: "CO-1", Reference: name, Type: "PREAUTHORIZE",
			PaymentMethodID: p.PaymentMethodID, Callback: callback, CallbackSigner: "test", CreatedAt: t0}
		mark := &payment.IdempotencyMark{AccountID: a.ID, Point: payment.RecoveryReserved,
			PaymentID: p.ID, OperationID: p.Operations[0].ID, Reference: r}
		if err := s.CreatePayment(ctx, p, nil, mark); err != nil {
			t.Fatal(err)
		}
		stored, err := s.TransactionReference(ctx, a.ID, "CO-1", name)
		if err != nil {
			t.Fatal(err)
		}
		return p, stored
	}
	claim := func(at time.Time) []*payment.WebhookDelivery {
		t.Helper()
		// Leased for good: each test claims each delivery once.
		ds, err := s.ClaimWebhookDeliveries(ctx, at, at.Add(1000*time.Hour), nil, 100, 100)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	p, r := reserve("order-1", "https://shop.example/cb?o=1")
	if ds := claim(t0); len(ds) != 1 || ds[0].MessageID != p.Operations[0].ID {
		t.Fatalf("the reservation's callback: %+v", ds)
	}

	// A later change of the transaction: recorded, and called back.
	later := t0.Add(time.Hour)
	ev := newEvent(a.ID, "payment.reversal_reported", p.ID, later)
	_, err := s.UpdatePayment(ctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
		q.RequiresReview = true
		return &payment.PaymentChange{Events: []*payment.Event{ev}, Notices: []*payment.TransactionNotice{
			{Reference: r, TransactionID: r.OperationID, ChangeEventID: ev.ID, At: later}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.TransactionReference(ctx, a.ID, "CO-1", "order-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ChangeEventID != ev.ID {
		t.Errorf("the reference's change: %q, want %q", got.ChangeEventID, ev.ID)
	}
	ds := claim(later)
	if len(ds) != 1 {
		t.Fatalf("%d callbacks of the change, want 1", len(ds))
	}
	d := ds[0]
	if d.MessageID != r.OperationID || d.URL != r.Callback || d.Signer != "test" || d.SignerKey != "CO-1" || d.Body != nil ||
		d.EventID != "" || d.EndpointID != "" || d.Queue != "shop.example" || !d.CreatedAt.Equal(later) {
		t.Errorf("the change's callback: %+v", d)
	}

	// A follow-up made outside the dialect: called back under its own id,
	// nothing recorded.
	followUp := payment.NewID(payment.PrefixOperation)
	_, err = s.UpdatePayment(ctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
		return &payment.PaymentChange{Notices: []*payment.TransactionNotice{{Reference: r, TransactionID: followUp, At: later}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ds := claim(later); len(ds) != 1 || ds[0].MessageID != followUp {
		t.Errorf("the follow-up's callback: %+v", ds)
	}
	if got, _ := s.TransactionReference(ctx, a.ID, "CO-1", "order-1"); got.ChangeEventID != ev.ID {
		t.Errorf("a notice without a change changed the reference: %q", got.ChangeEventID)
	}

	// A reference without a callback records its change and promises
	// nothing.
	q, quiet := reserve("order-2", "")
	ev2 := newEvent(a.ID, "payment.reversal_reported", q.ID, later)
	if _, err := s.UpdatePayment(ctx, a.ID, q.ID, func(*payment.Payment) (*payment.PaymentChange, error) {
		return &payment.PaymentChange{Events: []*payment.Event{ev2}, Notices: []*payment.TransactionNotice{
			{Reference: quiet, TransactionID: quiet.OperationID, ChangeEventID: ev2.ID, At: later}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.TransactionReference(ctx, a.ID, "CO-1", "order-2"); got.ChangeEventID != ev2.ID {
		t.Errorf("the quiet reference's change: %q", got.ChangeEventID)
	}
	if ds := claim(later); len(ds) != 0 {
		t.Errorf("a reference without a callback was called back: %+v", ds)
	}

	// Notices the store must not write fail the change: nothing of it is
	// written, not even its event.
	stray := newEvent(a.ID, "payment.reversal_reported", p.ID, later)
	before := len(allEvents(t, s, a.ID))
	for name, n := range map[string]*payment.TransactionNotice{
		"an event the change does not write": {Reference: r, TransactionID: r.OperationID, ChangeEventID: "evt_elsewhere", At: later},
		"another payment's reference":        {Reference: quiet, TransactionID: quiet.OperationID, At: later},
		"no transaction":                     {Reference: r, At: later},
		"no reference":                       {TransactionID: r.OperationID, At: later},
	} {
		_, err := s.UpdatePayment(ctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
			return &payment.PaymentChange{Events: []*payment.Event{stray}, Notices: []*payment.TransactionNotice{n}}, nil
		})
		if err == nil {
			t.Errorf("%s: written", name)
		}
	}
	if n := len(allEvents(t, s, a.ID)) - before; n != 0 {
		t.Errorf("refused changes wrote %d events", n)
	}
	if ds := claim(later); len(ds) != 0 {
		t.Errorf("refused changes promised callbacks: %+v", ds)
	}
	if got, _ := s.TransactionReference(ctx, a.ID, "CO-1", "order-1"); got.ChangeEventID != ev.ID {
		t.Errorf("a refused change moved the reference's change to %q", got.ChangeEventID)
	}

	// A settle by compare-and-set writes its notices too.
	held, after, change := reservedPurchase(t, s, a.ID)
	sr := &payment.TransactionReference{AccountID: a.ID, Scope: "CO-1", Reference: "order-3", Type: "DEBIT",
		PaymentID: held.ID, OperationID: held.Operations[0].ID, PaymentMethodID: held.PaymentMethodID,
		Callback: "https://shop.example/cb?o=3", CallbackSigner: "test", CreatedAt: t0}
	if err := s.CreateTransactionReference(ctx, sr); err != nil {
		t.Fatal(err)
	}
	claim(t0) // the reference's own promise
	change.Notices = []*payment.TransactionNotice{{Reference: sr, TransactionID: sr.OperationID,
		ChangeEventID: change.Events[0].ID, At: later}}
	if _, err := s.SettlePayment(ctx, held, after, change); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.TransactionReference(ctx, a.ID, "CO-1", "order-3"); got.ChangeEventID != change.Events[0].ID {
		t.Errorf("the settle's notice was not recorded: %q", got.ChangeEventID)
	}
	if ds := claim(later); len(ds) != 1 || ds[0].MessageID != sr.OperationID {
		t.Errorf("the settle's callback: %+v", ds)
	}
}
