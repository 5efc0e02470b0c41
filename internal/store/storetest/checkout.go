package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// newCheckoutSession returns an open session with every field set.
func newCheckoutSession(accountID string, created time.Time) *payment.CheckoutSession {
	return &payment.CheckoutSession{
		ID: payment.NewID(payment.PrefixCheckoutSession), AccountID: accountID, Status: payment.CheckoutOpen,
		Amount: 25000, Currency: "NOK",
		Items: []payment.CheckoutItem{
			{ID: "sku-1", LineID: "1", Description: "Kaffe – ünïcode", Quantity: 2, Amount: 20000, VATAmount: 4000},
			{ID: "ship", LineID: "2", Description: "Frakt", Quantity: 1, Amount: 5000},
		},
		MerchantReference: "order-" + payment.RandomString(6), ReturnURL: "https://shop.example/return?x=1",
		CancelURL: "https://shop.example/cancel", CallbackURL: "https://shop.example/cb", CustomerID: "cus_1",
		GatewayID: "gw_1", Capture: true, Locale: "nb", SaveCard: true, ExpiresAt: created.Add(time.Hour),
		CreatedAt: created, UpdatedAt: created, Dialect: payment.CheckoutDialectDintero, Kind: payment.CheckoutKindPayment,
	}
}

// reserveAttempt reserves a payment as attempt n of cs, as the engine does.
func reserveAttempt(s payment.Store, cs *payment.CheckoutSession, n int, now time.Time) (*payment.Payment, error) {
	p := newPayment(cs.AccountID, now)
	mark := &payment.IdempotencyMark{AccountID: cs.AccountID, Point: payment.RecoveryReserved, PaymentID: p.ID,
		OperationID: p.Operations[0].ID,
		Checkout:    &payment.CheckoutAttempt{AccountID: cs.AccountID, SessionID: cs.ID, Attempt: n, Now: now}}
	return p, s.CreatePayment(context.Background(), p, nil, mark)
}

// reserveAttemptWithCard is reserveAttempt with the card the attempt pays
// with, stored by the reservation (payment.CheckoutAttempt.Card).
func reserveAttemptWithCard(s payment.Store, cs *payment.CheckoutSession, n int, now time.Time, pm *payment.PaymentMethod) (
	*payment.Payment, *payment.Event, error) {
	p := newPayment(cs.AccountID, now)
	p.PaymentMethodID, p.Operations[0].PaymentMethodID = pm.ID, pm.ID
	ev := newEvent(pm.AccountID, "payment_method.created", pm.ID, now)
	mark := &payment.IdempotencyMark{AccountID: cs.AccountID, Point: payment.RecoveryReserved, PaymentID: p.ID,
		OperationID: p.Operations[0].ID,
		Checkout: &payment.CheckoutAttempt{AccountID: cs.AccountID, SessionID: cs.ID, Attempt: n, Now: now,
			Card: pm, CardEvent: ev}}
	return p, ev, s.CreatePayment(context.Background(), p, nil, mark)
}

// testCheckoutAttemptCards: the card a checkout attempt pays with is
// stored, with its event, by the reservation that claims the attempt, and
// by no other: a refused claim, a card of a customer the account does not
// have and a card of another account store nothing and reserve nothing.
func testCheckoutAttemptCards(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	cus := newCustomer(a.ID, t0)
	createCustomer(t, s, cus)
	cs := newCheckoutSession(a.ID, t0)
	cs.CustomerID = cus.ID
	if err := s.CreateCheckoutSession(ctx, cs); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Second)
	nothingStored := func(what string, p *payment.Payment, pm *payment.PaymentMethod, ev *payment.Event) {
		t.Helper()
		if _, err := s.PaymentMethod(ctx, pm.AccountID, pm.ID); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("%s stored its card: %v", what, err)
		}
		if _, err := s.Event(ctx, pm.AccountID, ev.ID); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("%s stored its card's event: %v", what, err)
		}
		if _, err := s.Payment(ctx, cs.AccountID, p.ID); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("%s stored its payment: %v", what, err)
		}
	}

	gone := newPM(a.ID, now)
	gone.CustomerID = "cus_gone"
	p, ev, err := reserveAttemptWithCard(s, cs, 1, now, gone)
	if pe, ok := payment.AsError(err); !ok || pe.Kind != payment.KindNotFound || pe.Param != "customer" {
		t.Errorf("a card of no customer: %v, want the customer not found", err)
	}
	nothingStored("a card of no customer", p, gone, ev)
	foreign := newPM(b.ID, now)
	p, ev, err = reserveAttemptWithCard(s, cs, 1, now, foreign)
	if err == nil {
		t.Error("another account's card was accepted")
	}
	nothingStored("another account's card", p, foreign, ev)
	if got, _ := s.CheckoutSession(ctx, a.ID, cs.ID); got.Attempts != 0 {
		t.Fatalf("refused cards claimed attempts: %d", got.Attempts)
	}

	pm := newPM(a.ID, now)
	pm.CustomerID = cus.ID
	p, ev, err = reserveAttemptWithCard(s, cs, 1, now, pm)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "the attempt's card", getPM(t, s, a.ID, pm.ID), pm)
	if got, err := s.Event(ctx, a.ID, ev.ID); err != nil || got.ObjectID != pm.ID {
		t.Errorf("the card's event: %+v, %v", got, err)
	}
	if got, _ := s.CheckoutSession(ctx, a.ID, cs.ID); got.Attempts != 1 || got.PaymentID != p.ID {
		t.Errorf("after attempt 1: attempts %d, payment %s", got.Attempts, got.PaymentID)
	}
	dup := newPM(a.ID, now)
	p, ev, err = reserveAttemptWithCard(s, cs, 1, now, dup)
	if !errors.Is(err, payment.ErrAttemptTaken) {
		t.Errorf("attempt 1 again: %v, want ErrAttemptTaken", err)
	}
	nothingStored("a refused claim", p, dup, ev)
}

// testCheckoutSessions: a session round-trips, is found by id alone and
// within its account only, lists newest first, and closes once, by
// compare-and-set on its attempts, with its event.
func testCheckoutSessions(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	cs := newCheckoutSession(a.ID, t0)
	if err := s.CreateCheckoutSession(ctx, cs); err != nil {
		t.Fatal(err)
	}
	got, err := s.CheckoutSession(ctx, a.ID, cs.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "session", got, cs)
	if got, err = s.CheckoutSessionByID(ctx, cs.ID); err != nil {
		t.Fatal(err)
	}
	equal(t, "session by id", got, cs)
	if _, err := s.CheckoutSession(ctx, b.ID, cs.ID); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("another account's session: %v, want ErrNotFound", err)
	}
	if _, err := s.CheckoutSessionByID(ctx, "cs_nope"); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("no such session by id: %v, want ErrNotFound", err)
	}
	noItems := newCheckoutSession(a.ID, t0.Add(time.Second))
	noItems.Items, noItems.CancelURL, noItems.CustomerID = nil, "", ""
	if err := s.CreateCheckoutSession(ctx, noItems); err != nil {
		t.Fatal(err)
	}
	if got, err = s.CheckoutSession(ctx, a.ID, noItems.ID); err != nil || len(got.Items) != 0 || got.CancelURL != "" {
		t.Errorf("session without items: %+v, %v", got, err)
	}
	if err := s.CreateCheckoutSession(ctx, newCheckoutSession("T00000000", t0)); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("session of no account: %v, want ErrNotFound", err)
	}

	list, more, err := s.CheckoutSessions(ctx, a.ID, payment.ListParams{Limit: 1})
	if err != nil || !more || len(list) != 1 || list[0].ID != noItems.ID {
		t.Fatalf("first page: %v %v %v", list, more, err)
	}
	list, more, err = s.CheckoutSessions(ctx, a.ID, payment.ListParams{Limit: 1, StartingAfter: noItems.ID})
	if err != nil || more || len(list) != 1 || list[0].ID != cs.ID {
		t.Fatalf("second page: %v %v %v", list, more, err)
	}
	if list, _, err := s.CheckoutSessions(ctx, b.ID, payment.ListParams{}); err != nil || len(list) != 0 {
		t.Errorf("another account lists %d sessions (%v)", len(list), err)
	}
	if _, _, err := s.CheckoutSessions(ctx, b.ID, payment.ListParams{StartingAfter: cs.ID}); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("another account's cursor: %v, want ErrNotFound", err)
	}

	// Closing: a stale attempt count loses, the right one wins once.
	at := t0.Add(time.Minute)
	ev := newEvent(a.ID, payment.EventCheckoutCancelled, cs.ID, at)
	if _, err := s.CloseCheckoutSession(ctx, a.ID, cs.ID, payment.CheckoutOpen, 1, payment.CheckoutCancelled, at, ev); !errors.Is(err, payment.ErrStale) {
		t.Errorf("close with a stale attempt count: %v, want ErrStale", err)
	}
	if _, err := s.CloseCheckoutSession(ctx, b.ID, cs.ID, payment.CheckoutOpen, 0, payment.CheckoutCancelled, at, nil); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("close another account's session: %v, want ErrNotFound", err)
	}
	if _, err := s.CloseCheckoutSession(ctx, a.ID, cs.ID, payment.CheckoutOpen, 0, payment.CheckoutOpen, at, nil); err == nil {
		t.Error("closing a session as open was accepted")
	}
	closed, err := s.CloseCheckoutSession(ctx, a.ID, cs.ID, payment.CheckoutOpen, 0, payment.CheckoutCancelled, at, ev)
	if err != nil {
		t.Fatal(err)
	}
	want := *cs
	want.Status, want.ClosedAt, want.UpdatedAt = payment.CheckoutCancelled, &at, at
	equal(t, "closed session", closed, &want)
	if _, err := s.CloseCheckoutSession(ctx, a.ID, cs.ID, payment.CheckoutOpen, 0, payment.CheckoutExpired, at, nil); !errors.Is(err, payment.ErrStale) {
		t.Errorf("closing a closed session: %v, want ErrStale", err)
	}
	if got, err := s.Event(ctx, a.ID, ev.ID); err != nil || got.Type != payment.EventCheckoutCancelled {
		t.Errorf("the close's event: %+v, %v", got, err)
	}
}

// testCheckoutAttempts: a payment's reservation makes it the session's next
// attempt, or reserves nothing — a repeated attempt number, a closed or
// expired session — and of concurrent reservations of one attempt exactly
// one wins.
func testCheckoutAttempts(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	cs := newCheckoutSession(a.ID, t0)
	if err := s.CreateCheckoutSession(ctx, cs); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Second)
	p1, err := reserveAttempt(s, cs, 1, now)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.CheckoutSession(ctx, a.ID, cs.ID)
	if got.Attempts != 1 || got.PaymentID != p1.ID || !got.UpdatedAt.Equal(now) {
		t.Errorf("after attempt 1: attempts %d, payment %s, updated %v", got.Attempts, got.PaymentID, got.UpdatedAt)
	}
	for _, n := range []int{1, 3} {
		dup, err := reserveAttempt(s, cs, n, now)
		if !errors.Is(err, payment.ErrAttemptTaken) {
			t.Errorf("attempt %d after 1: %v, want ErrAttemptTaken", n, err)
		}
		if _, err := s.Payment(ctx, a.ID, dup.ID); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("a refused attempt stored its payment: %v", err)
		}
	}
	// Concurrent attempt 2: one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 8 {
		wg.Go(func() {
			_, err := reserveAttempt(s, cs, 2, now)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case !errors.Is(err, payment.ErrAttemptTaken):
				t.Errorf("concurrent attempt: %v", err)
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d concurrent reservations of attempt 2 won, want 1", won)
	}
	// Past its expiry no attempt is reserved.
	if _, err := reserveAttempt(s, cs, 3, cs.ExpiresAt); !errors.Is(err, payment.ErrAttemptTaken) {
		t.Errorf("attempt at expiry: %v, want ErrAttemptTaken", err)
	}
	// Closing against a stale attempt count loses to the attempt.
	if _, err := s.CloseCheckoutSession(ctx, a.ID, cs.ID, payment.CheckoutOpen, 1, payment.CheckoutExpired, now, nil); !errors.Is(err, payment.ErrStale) {
		t.Errorf("close with attempts 1 after attempt 2: %v, want ErrStale", err)
	}
	if _, err := s.CloseCheckoutSession(ctx, a.ID, cs.ID, payment.CheckoutOpen, 2, payment.CheckoutPaid, now, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := reserveAttempt(s, cs, 3, now); !errors.Is(err, payment.ErrAttemptTaken) {
		t.Errorf("attempt on a paid session: %v, want ErrAttemptTaken", err)
	}
	testCancelPaid(t, s, a.ID, cs.ID, now)
}

// testCancelPaid: a paid session (with two attempts) moves to cancelled
// by compare-and-set from paid (a Dintero cancel once its payment is
// voided): only that move, only from paid with its attempt count, once of
// many concurrent tries, with its event written once.
func testCancelPaid(t *testing.T, s payment.Store, accountID, id string, paidAt time.Time) {
	ctx := context.Background()
	paid, err := s.CheckoutSession(ctx, accountID, id)
	if err != nil || paid.Status != payment.CheckoutPaid {
		t.Fatalf("paid session: %+v, %v", paid, err)
	}
	at := paidAt.Add(time.Minute)
	for _, to := range []payment.CheckoutStatus{payment.CheckoutExpired, payment.CheckoutPaid, payment.CheckoutOpen} {
		if _, err := s.CloseCheckoutSession(ctx, accountID, id, payment.CheckoutPaid, 2, to, at, nil); err == nil || errors.Is(err, payment.ErrStale) {
			t.Errorf("paid → %s: %v, want refused", to, err)
		}
	}
	if _, err := s.CloseCheckoutSession(ctx, accountID, id, payment.CheckoutOpen, 2, payment.CheckoutCancelled, at, nil); !errors.Is(err, payment.ErrStale) {
		t.Errorf("open → cancelled on a paid session: %v, want ErrStale", err)
	}
	if _, err := s.CloseCheckoutSession(ctx, accountID, id, payment.CheckoutPaid, 1, payment.CheckoutCancelled, at, nil); !errors.Is(err, payment.ErrStale) {
		t.Errorf("paid → cancelled with a stale attempt count: %v, want ErrStale", err)
	}
	other := newAccount(t, s)
	if _, err := s.CloseCheckoutSession(ctx, other.ID, id, payment.CheckoutPaid, 2, payment.CheckoutCancelled, at, nil); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("another account's paid session: %v, want ErrNotFound", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []*payment.Event
	for range 8 {
		wg.Go(func() {
			ev := newEvent(accountID, payment.EventCheckoutCancelled, id, at)
			_, err := s.CloseCheckoutSession(ctx, accountID, id, payment.CheckoutPaid, 2, payment.CheckoutCancelled, at, ev)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, ev)
			case !errors.Is(err, payment.ErrStale):
				t.Errorf("concurrent cancel of a paid session: %v", err)
			}
		})
	}
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("%d concurrent cancels of a paid session won, want 1", len(won))
	}
	got, err := s.CheckoutSession(ctx, accountID, id)
	want := *paid
	want.Status, want.ClosedAt, want.UpdatedAt = payment.CheckoutCancelled, &at, at
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "cancelled paid session", got, &want)
	evs, _, err := s.Events(ctx, accountID, payment.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Type == payment.EventCheckoutCancelled && ev.ObjectID == id {
			n++
			if ev.ID != won[0].ID {
				t.Errorf("a losing cancel's event %s was written", ev.ID)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d cancel events, want 1", n)
	}
}

// testExpiredCheckoutSessions: the open sessions past their expiry, of
// every account, soonest expired first; closed ones are not listed.
func testExpiredCheckoutSessions(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	var ids []string
	for i, acct := range []string{a.ID, b.ID, a.ID, a.ID} {
		cs := newCheckoutSession(acct, t0)
		cs.ExpiresAt = t0.Add(time.Duration(3-i) * time.Minute)
		if err := s.CreateCheckoutSession(ctx, cs); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, cs.ID)
	}
	// ids[3] expires at t0, ids[2] at +1m, ids[1] at +2m, ids[0] at +3m.
	if _, err := s.CloseCheckoutSession(ctx, a.ID, ids[2], payment.CheckoutOpen, 0, payment.CheckoutCancelled, t0, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.ExpiredCheckoutSessions(ctx, t0.Add(2*time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != ids[3] || got[1].ID != ids[1] {
		t.Errorf("expired sessions: %v", sessionIDs(got))
	}
	if got, _ := s.ExpiredCheckoutSessions(ctx, t0.Add(time.Hour), 1); len(got) != 1 || got[0].ID != ids[3] {
		t.Errorf("limit 1: %v", sessionIDs(got))
	}
}

func sessionIDs(cs []*payment.CheckoutSession) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}
