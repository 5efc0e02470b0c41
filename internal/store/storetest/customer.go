package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// newCustomer returns a customer with every field set but the default
// payment method.
func newCustomer(accountID string, created time.Time) *payment.Customer {
	return &payment.Customer{
		ID:         payment.NewID(payment.PrefixCustomer),
		AccountID:  accountID,
		ExternalID: "ext-" + payment.RandomString(8),
		Email:      "kari@example.com",
		Name:       "Kari Nordmann – ünïcode",
		Phone:      "+47 22 00 00 00",
		Metadata:   map[string]string{"tier": "gold", "ключ": "значение"},
		CreatedAt:  created,
		UpdatedAt:  created,
	}
}

func createCustomer(t *testing.T, s payment.Store, c *payment.Customer) *payment.Event {
	t.Helper()
	ev := newEvent(c.AccountID, payment.EventCustomerCreated, c.ID, c.CreatedAt)
	if err := s.CreateCustomer(context.Background(), c, ev); err != nil {
		t.Fatalf("CreateCustomer: %v", err)
	}
	return ev
}

func getCustomer(t *testing.T, s payment.Store, accountID, id string) *payment.Customer {
	t.Helper()
	c, err := s.Customer(context.Background(), accountID, id)
	if err != nil {
		t.Fatalf("Customer(%s): %v", id, err)
	}
	return c
}

func newToken(c *payment.Customer, tokenID string, created time.Time) *payment.CustomerToken {
	by := payment.NewID(payment.PrefixAPIKey)
	return &payment.CustomerToken{
		ID: payment.NewID(payment.PrefixCustomerToken), AccountID: c.AccountID, CustomerID: c.ID, TokenID: tokenID,
		Type: "sha1:email", Value: "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", Metadata: map[string]string{"source": "app"},
		CreatedAt: created, CreatedBy: by, UpdatedAt: created, UpdatedBy: by,
	}
}

func createToken(t *testing.T, s payment.Store, tok *payment.CustomerToken) *payment.Event {
	t.Helper()
	ev := newEvent(tok.AccountID, payment.EventCustomerTokenCreated, tok.ID, tok.CreatedAt)
	if err := s.CreateCustomerToken(context.Background(), tok, ev); err != nil {
		t.Fatalf("CreateCustomerToken: %v", err)
	}
	return ev
}

func customerID(c *payment.Customer) string    { return c.ID }
func tokenKey(t *payment.CustomerToken) string { return t.ID }

// deletion renders every event DeleteCustomer writes, and records them.
type deletion struct {
	payment.CustomerDeletion
	mu     sync.Mutex
	events []*payment.Event
	tokens []*payment.CustomerToken // as given to TokenEvent
}

func newDeletion(now time.Time, by string) *deletion {
	d := &deletion{}
	record := func(typ, id, accountID string) *payment.Event {
		ev := newEvent(accountID, typ, id, now)
		d.mu.Lock()
		d.events = append(d.events, ev)
		d.mu.Unlock()
		return ev
	}
	d.CustomerDeletion = payment.CustomerDeletion{Now: now, By: by,
		Event: func(c *payment.Customer) *payment.Event {
			if c.DeletedAt == nil || !c.DeletedAt.Equal(now) {
				panic("customer event rendered before the customer is deleted")
			}
			return record(payment.EventCustomerDeleted, c.ID, c.AccountID)
		},
		PaymentMethodEvent: func(pm *payment.PaymentMethod) *payment.Event {
			if pm.StorageState != payment.StorageRedacted || pm.PANSealed != nil {
				panic("payment method event rendered before it is redacted")
			}
			return record("payment_method.redacted", pm.ID, pm.AccountID)
		},
		TokenEvent: func(tok *payment.CustomerToken) *payment.Event {
			if tok.DeletedAt == nil || tok.DeletedBy != by {
				panic("token event rendered before it is deleted")
			}
			d.mu.Lock()
			d.tokens = append(d.tokens, tok)
			d.mu.Unlock()
			return record(payment.EventCustomerTokenDeleted, tok.ID, tok.AccountID)
		},
	}
	return d
}

func testCustomerRoundTrip(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	full := newCustomer(a.ID, t0)
	full.DefaultPaymentMethodID = payment.NewID(payment.PrefixPaymentMethod)
	minimal := &payment.Customer{ID: payment.NewID(payment.PrefixCustomer), AccountID: a.ID,
		CreatedAt: t0.Add(time.Second), UpdatedAt: t0.Add(time.Second)}
	var events []*payment.Event
	for _, c := range []*payment.Customer{full, minimal} {
		events = append(events, createCustomer(t, s, c))
		equal(t, "Customer after create", getCustomer(t, s, a.ID, c.ID), c)
	}

	ev := newEvent(a.ID, payment.EventCustomerUpdated, minimal.ID, t0.Add(time.Minute))
	got, err := s.UpdateCustomer(ctx, a.ID, minimal.ID, func(c *payment.Customer) (*payment.Event, error) {
		c.ExternalID, c.Email, c.Name, c.Phone = "crm-1", "ola@example.com", "Ola", "+47 1"
		c.Metadata = map[string]string{"k": "v"}
		c.DefaultPaymentMethodID = "pm_x"
		c.UpdatedAt = t0.Add(time.Minute)
		return ev, nil
	})
	if err != nil {
		t.Fatalf("UpdateCustomer: %v", err)
	}
	want := *minimal
	want.ExternalID, want.Email, want.Name, want.Phone = "crm-1", "ola@example.com", "Ola", "+47 1"
	want.Metadata, want.DefaultPaymentMethodID, want.UpdatedAt = map[string]string{"k": "v"}, "pm_x", t0.Add(time.Minute)
	equal(t, "UpdateCustomer's result", got, &want)
	equal(t, "Customer after update", getCustomer(t, s, a.ID, minimal.ID), &want)
	events = append(events, ev)

	// An update function's error writes nothing; one that changes the
	// identity or the deletion is refused.
	boom := errors.New("boom")
	if _, err := s.UpdateCustomer(ctx, a.ID, full.ID, func(c *payment.Customer) (*payment.Event, error) {
		c.Name = "changed"
		return nil, boom
	}); !errors.Is(err, boom) {
		t.Errorf("UpdateCustomer with a failing fn: %v", err)
	}
	for name, change := range map[string]func(*payment.Customer){
		"id":      func(c *payment.Customer) { c.ID = payment.NewID(payment.PrefixCustomer) },
		"account": func(c *payment.Customer) { c.AccountID = "T00000000" },
		"deleted": func(c *payment.Customer) { c.DeletedAt = ptr(t0) },
	} {
		if _, err := s.UpdateCustomer(ctx, a.ID, full.ID, func(c *payment.Customer) (*payment.Event, error) {
			change(c)
			c.Name = "changed"
			return nil, nil
		}); err == nil {
			t.Errorf("UpdateCustomer changing the %s succeeded", name)
		}
	}
	equal(t, "Customer after refused updates", getCustomer(t, s, a.ID, full.ID), full)
	slices.Reverse(events)
	equal(t, "events written with the customers", allEvents(t, s, a.ID), events)

	_, err = s.Customer(ctx, a.ID, payment.NewID(payment.PrefixCustomer))
	wantNotFound(t, "Customer of an unknown id", err)
}

func testCustomerList(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	var all []*payment.Customer
	for i := range 7 {
		createCustomer(t, s, newCustomer(b.ID, t0)) // another account's, interleaved
		c := newCustomer(a.ID, t0)
		if i%2 == 0 {
			c.Email = "even@example.com"
		}
		createCustomer(t, s, c)
		all = append(all, c)
	}
	deleted := all[3]
	if _, err := s.DeleteCustomer(ctx, a.ID, deleted.ID, newDeletion(t0, "key_x").CustomerDeletion); err != nil {
		t.Fatal(err)
	}
	live := slices.Delete(slices.Clone(all), 3, 4)
	newest := slices.Clone(live)
	slices.Reverse(newest)

	page := func(f payment.CustomerFilter) ([]string, bool) {
		t.Helper()
		cs, more, err := s.Customers(ctx, a.ID, f)
		if err != nil {
			t.Fatalf("Customers(%+v): %v", f, err)
		}
		return ids(cs, customerID), more
	}
	got, more := page(payment.CustomerFilter{})
	equal(t, "Customers, newest first, deleted left out", got, ids(newest, customerID))
	if more {
		t.Error("Customers: more after the whole list")
	}
	got, more = page(payment.CustomerFilter{ListParams: payment.ListParams{Limit: 2, StartingAfter: newest[1].ID}})
	equal(t, "Customers after a cursor", got, ids(newest[2:4], customerID))
	if !more {
		t.Error("Customers: no more before the end")
	}
	// The deleted customer still places a cursor.
	got, _ = page(payment.CustomerFilter{ListParams: payment.ListParams{StartingAfter: deleted.ID}})
	equal(t, "Customers after a deleted customer", got, ids([]*payment.Customer{all[2], all[1], all[0]}, customerID))
	got, _ = page(payment.CustomerFilter{ListParams: payment.ListParams{Ascending: true}})
	equal(t, "Customers, oldest first", got, ids(live, customerID))

	got, _ = page(payment.CustomerFilter{Email: "even@example.com"})
	equal(t, "Customers by email", got, ids([]*payment.Customer{all[6], all[4], all[2], all[0]}, customerID))
	got, _ = page(payment.CustomerFilter{Email: "even@example.com", ListParams: payment.ListParams{Limit: 1, StartingAfter: all[4].ID}})
	equal(t, "Customers by email after a cursor", got, []string{all[2].ID})
	got, _ = page(payment.CustomerFilter{ExternalID: all[5].ExternalID})
	equal(t, "Customers by external id", got, []string{all[5].ID})
	got, _ = page(payment.CustomerFilter{ExternalID: deleted.ExternalID})
	equal(t, "Customers by a deleted customer's external id", got, []string{})
	got, _ = page(payment.CustomerFilter{ExternalID: all[5].ExternalID, Email: "even@example.com"})
	equal(t, "Customers by both filters that exclude each other", got, []string{})

	_, _, err := s.Customers(ctx, a.ID, payment.CustomerFilter{ListParams: payment.ListParams{StartingAfter: payment.NewID(payment.PrefixCustomer)}})
	wantCursorNotFound(t, "Customers after an unknown id", err)
}

func testCustomerExternalID(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	first := newCustomer(a.ID, t0)
	createCustomer(t, s, first)

	dup := newCustomer(a.ID, t0)
	dup.ExternalID = first.ExternalID
	wantConflict(t, "CreateCustomer with a taken external id", s.CreateCustomer(ctx, dup, newEvent(a.ID, payment.EventCustomerCreated, dup.ID, t0)))
	if _, err := s.Customer(ctx, a.ID, dup.ID); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("the refused customer was stored: %v", err)
	}
	if evs := allEvents(t, s, a.ID); len(evs) != 1 {
		t.Errorf("%d events after a refused create, want 1", len(evs))
	}

	// Another account may use the same external id; customers without
	// one never clash.
	other := newCustomer(b.ID, t0)
	other.ExternalID = first.ExternalID
	createCustomer(t, s, other)
	for range 2 {
		none := newCustomer(a.ID, t0)
		none.ExternalID = ""
		createCustomer(t, s, none)
	}

	second := newCustomer(a.ID, t0)
	createCustomer(t, s, second)
	_, err := s.UpdateCustomer(ctx, a.ID, second.ID, func(c *payment.Customer) (*payment.Event, error) {
		c.ExternalID = first.ExternalID
		return nil, nil
	})
	wantConflict(t, "UpdateCustomer to a taken external id", err)
	equal(t, "customer after a refused update", getCustomer(t, s, a.ID, second.ID), second)

	// A deleted customer's external id is free again.
	if _, err := s.DeleteCustomer(ctx, a.ID, first.ID, newDeletion(t0, "key_x").CustomerDeletion); err != nil {
		t.Fatal(err)
	}
	again := newCustomer(a.ID, t0)
	again.ExternalID = first.ExternalID
	createCustomer(t, s, again)
}

func testCustomerIsolation(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	c := newCustomer(a.ID, t0)
	createCustomer(t, s, c)
	tok := newToken(c, "tok-1", t0)
	createToken(t, s, tok)
	pm := newPM(a.ID, t0)
	pm.CustomerID = c.ID
	createPM(t, s, pm)

	_, err := s.Customer(ctx, b.ID, c.ID)
	wantNotFound(t, "Customer of another account's id", err)
	called := false
	_, err = s.UpdateCustomer(ctx, b.ID, c.ID, func(*payment.Customer) (*payment.Event, error) { called = true; return nil, nil })
	wantNotFound(t, "UpdateCustomer of another account's id", err)
	if called {
		t.Error("UpdateCustomer called fn for another account's customer")
	}
	_, err = s.DeleteCustomer(ctx, b.ID, c.ID, newDeletion(t0, "key_x").CustomerDeletion)
	wantNotFound(t, "DeleteCustomer of another account's id", err)
	btok := newToken(c, "tok-b", t0)
	btok.AccountID = b.ID
	wantNotFound(t, "CreateCustomerToken on another account's customer",
		s.CreateCustomerToken(ctx, btok, newEvent(b.ID, payment.EventCustomerTokenCreated, btok.ID, t0)))
	_, _, err = s.CustomerTokens(ctx, b.ID, c.ID, payment.ListParams{})
	wantNotFound(t, "CustomerTokens of another account's customer", err)
	_, err = s.DeleteCustomerToken(ctx, b.ID, c.ID, tok.TokenID, t0, "key_x", nil)
	wantNotFound(t, "DeleteCustomerToken of another account's customer", err)
	bpm := newPM(b.ID, t0)
	bpm.CustomerID = c.ID
	err = s.CreatePaymentMethod(ctx, bpm, newEvent(b.ID, "payment_method.created", bpm.ID, t0))
	wantNotFound(t, "CreatePaymentMethod for another account's customer", err)
	if e, ok := payment.AsError(err); ok && e.Kind == payment.KindNotFound && e.Param != "customer" {
		t.Errorf("CreatePaymentMethod for another account's customer: param %q, want customer", e.Param)
	}
	pms, _, err := s.CustomerPaymentMethods(ctx, b.ID, c.ID, payment.ListParams{})
	if err != nil || len(pms) != 0 {
		t.Errorf("CustomerPaymentMethods of another account = %v, %v; want none", pms, err)
	}
	cs, _, err := s.Customers(ctx, b.ID, payment.CustomerFilter{ExternalID: c.ExternalID})
	if err != nil || len(cs) != 0 {
		t.Errorf("Customers of another account = %v, %v; want none", cs, err)
	}
	_, _, err = s.Customers(ctx, b.ID, payment.CustomerFilter{ListParams: payment.ListParams{StartingAfter: c.ID}})
	wantCursorNotFound(t, "Customers starting after another account's id", err)
	if evs := allEvents(t, s, b.ID); len(evs) != 0 {
		t.Errorf("another account has %d events", len(evs))
	}

	// Nothing of A's changed.
	equal(t, "A's customer", getCustomer(t, s, a.ID, c.ID), c)
	equal(t, "A's payment method", getPM(t, s, a.ID, pm.ID), pm)
	toks, _, err := s.CustomerTokens(ctx, a.ID, c.ID, payment.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "A's tokens", toks, []*payment.CustomerToken{tok})
}

func testCustomerPaymentMethods(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	c, other := newCustomer(a.ID, t0), newCustomer(a.ID, t0)
	createCustomer(t, s, c)
	createCustomer(t, s, other)
	var want []*payment.PaymentMethod
	for i := range 5 {
		pm := newPM(a.ID, t0)
		pm.CustomerID = c.ID
		createPM(t, s, pm)
		equal(t, "PaymentMethod with a customer", getPM(t, s, a.ID, pm.ID), pm)
		want = append(want, pm)
		if i%2 == 0 {
			opm := newPM(a.ID, t0)
			opm.CustomerID = other.ID
			createPM(t, s, opm)
			createPM(t, s, newPM(a.ID, t0))
		}
	}
	slices.Reverse(want)
	got, more, err := s.CustomerPaymentMethods(ctx, a.ID, c.ID, payment.ListParams{})
	if err != nil || more {
		t.Fatalf("CustomerPaymentMethods: %v, more %v", err, more)
	}
	equal(t, "CustomerPaymentMethods", got, want)
	got, more, err = s.CustomerPaymentMethods(ctx, a.ID, c.ID, payment.ListParams{Limit: 2, StartingAfter: want[0].ID})
	if err != nil || !more {
		t.Fatalf("CustomerPaymentMethods page: %v, more %v", err, more)
	}
	equal(t, "CustomerPaymentMethods after a cursor", ids(got, pmID), ids(want[1:3], pmID))

	unknown := newPM(a.ID, t0)
	unknown.CustomerID = payment.NewID(payment.PrefixCustomer)
	err = s.CreatePaymentMethod(ctx, unknown, newEvent(a.ID, "payment_method.created", unknown.ID, t0))
	if e, ok := payment.AsError(err); !ok || e.Kind != payment.KindNotFound || e.Param != "customer" {
		t.Errorf("CreatePaymentMethod for an unknown customer: %v, want not found naming customer", err)
	}

	// An update never moves a payment method to another customer.
	_, err = s.UpdatePaymentMethod(ctx, a.ID, want[0].ID, func(pm *payment.PaymentMethod) (*payment.Event, error) {
		pm.CustomerID = other.ID
		return nil, nil
	})
	if err == nil {
		t.Error("UpdatePaymentMethod moved a payment method to another customer")
	}

	// A payment keeps its customer.
	p := newPayment(a.ID, t0)
	p.CustomerID = c.ID
	createPayment(t, s, p)
	if got := getPayment(t, s, a.ID, p.ID); got.CustomerID != c.ID {
		t.Errorf("payment's customer = %q, want %q", got.CustomerID, c.ID)
	}
	ps, _, err := s.Payments(ctx, a.ID, payment.PaymentFilter{})
	if err != nil || len(ps) != 1 || ps[0].CustomerID != c.ID {
		t.Errorf("Payments: %v, %v; want the payment with its customer", ps, err)
	}
	_, err = s.UpdatePayment(ctx, a.ID, p.ID, func(p *payment.Payment) (*payment.PaymentChange, error) {
		p.CustomerID = other.ID
		return nil, nil
	})
	if err == nil {
		t.Error("UpdatePayment moved a payment to another customer")
	}
}

func testDeleteCustomer(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	c, other := newCustomer(a.ID, t0), newCustomer(a.ID, t0)
	createCustomer(t, s, c)
	createCustomer(t, s, other)

	var own []*payment.PaymentMethod
	for range 3 {
		pm := newPM(a.ID, t0)
		pm.CustomerID = c.ID
		createPM(t, s, pm)
		own = append(own, pm)
	}
	own[1].StorageState = payment.StorageRetained
	if _, err := s.UpdatePaymentMethod(ctx, a.ID, own[1].ID, func(pm *payment.PaymentMethod) (*payment.Event, error) {
		pm.StorageState = payment.StorageRetained
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	redactedBefore := newPM(a.ID, t0)
	redactedBefore.CustomerID = c.ID
	redactedBefore.StorageState, redactedBefore.RedactedAt = payment.StorageRedacted, ptr(t0)
	redactedBefore.PANSealed, redactedBefore.CVCSealed, redactedBefore.CVCExpiresAt = nil, nil, nil
	createPM(t, s, redactedBefore)
	othersPM := newPM(a.ID, t0)
	othersPM.CustomerID = other.ID
	createPM(t, s, othersPM)
	nobodysPM := newPM(a.ID, t0)
	createPM(t, s, nobodysPM)

	live := newToken(c, "live", t0)
	createToken(t, s, live)
	gone := newToken(c, "gone", t0)
	createToken(t, s, gone)
	if _, err := s.DeleteCustomerToken(ctx, a.ID, c.ID, "gone", t0.Add(time.Second), "key_early", nil); err != nil {
		t.Fatal(err)
	}
	othersTok := newToken(other, "live", t0)
	createToken(t, s, othersTok)

	p := newPayment(a.ID, t0)
	p.CustomerID, p.PaymentMethodID = c.ID, own[0].ID
	createPayment(t, s, p)
	before := allEvents(t, s, a.ID)

	now := t0.Add(time.Hour)
	d := newDeletion(now, "key_deleter")
	deleted, err := s.DeleteCustomer(ctx, a.ID, c.ID, d.CustomerDeletion)
	if err != nil {
		t.Fatalf("DeleteCustomer: %v", err)
	}
	want := *c
	want.DeletedAt, want.UpdatedAt = ptr(now), now
	equal(t, "DeleteCustomer's result", deleted, &want)

	for _, pm := range own {
		got := getPM(t, s, a.ID, pm.ID)
		if got.StorageState != payment.StorageRedacted || got.PANSealed != nil || got.CVCSealed != nil || got.CVCExpiresAt != nil ||
			got.RedactedAt == nil || !got.RedactedAt.Equal(now) || !got.UpdatedAt.Equal(now) {
			t.Errorf("payment method %s of the deleted customer is not redacted: %+v", pm.ID, got)
		}
		if got.CustomerID != c.ID || got.Card != pm.Card {
			t.Errorf("redaction changed more than the card data: %+v", got)
		}
	}
	equal(t, "payment method redacted before", getPM(t, s, a.ID, redactedBefore.ID), redactedBefore)
	equal(t, "another customer's payment method", getPM(t, s, a.ID, othersPM.ID), othersPM)
	equal(t, "a payment method without customer", getPM(t, s, a.ID, nobodysPM.ID), nobodysPM)
	equal(t, "payment of the deleted customer", getPayment(t, s, a.ID, p.ID).CustomerID, c.ID)

	// Tokens: the live one deleted by the deleter; the one deleted before
	// is not deleted again.
	liveDeleted := *live
	liveDeleted.DeletedAt, liveDeleted.DeletedBy = ptr(now), "key_deleter"
	liveDeleted.UpdatedAt, liveDeleted.UpdatedBy = now, "key_deleter"
	equal(t, "tokens deleted with the customer", d.tokens, []*payment.CustomerToken{&liveDeleted})
	_, _, err = s.CustomerTokens(ctx, a.ID, c.ID, payment.ListParams{})
	wantNotFound(t, "CustomerTokens of a deleted customer", err)

	// Events: one per payment method redacted, per token deleted, and the
	// customer's, all written.
	var wantTypes []string
	for range own {
		wantTypes = append(wantTypes, "payment_method.redacted")
	}
	wantTypes = append(wantTypes, payment.EventCustomerTokenDeleted, payment.EventCustomerDeleted)
	equal(t, "deletion's events", ids(d.events, func(e *payment.Event) string { return e.Type }), wantTypes)
	after := allEvents(t, s, a.ID)
	newEvents := after[:len(after)-len(before)]
	slices.Reverse(newEvents)
	equal(t, "events written by the deletion", newEvents, d.events)
	redactedIDs := ids(d.events[:len(own)], func(e *payment.Event) string { return e.ObjectID })
	equal(t, "payment methods redacted", redactedIDs, ids(own, pmID))
	if d.events[len(own)].ObjectID != live.ID {
		t.Errorf("token event of %s, want %s", d.events[len(own)].ObjectID, live.ID)
	}

	// The customer is gone for every method.
	_, err = s.Customer(ctx, a.ID, c.ID)
	wantNotFound(t, "Customer after delete", err)
	_, err = s.UpdateCustomer(ctx, a.ID, c.ID, func(*payment.Customer) (*payment.Event, error) { return nil, nil })
	wantNotFound(t, "UpdateCustomer after delete", err)
	_, err = s.DeleteCustomer(ctx, a.ID, c.ID, newDeletion(now, "key_x").CustomerDeletion)
	wantNotFound(t, "DeleteCustomer twice", err)
	tok := newToken(c, "late", now)
	wantNotFound(t, "CreateCustomerToken after delete", s.CreateCustomerToken(ctx, tok, newEvent(a.ID, payment.EventCustomerTokenCreated, tok.ID, now)))
	_, err = s.DeleteCustomerToken(ctx, a.ID, c.ID, "live", now, "key_x", nil)
	wantNotFound(t, "DeleteCustomerToken after delete", err)
	late := newPM(a.ID, now)
	late.CustomerID = c.ID
	wantNotFound(t, "CreatePaymentMethod after delete", s.CreatePaymentMethod(ctx, late, newEvent(a.ID, "payment_method.created", late.ID, now)))

	// The other customer and its token are untouched.
	equal(t, "other customer", getCustomer(t, s, a.ID, other.ID), other)
	toks, _, err := s.CustomerTokens(ctx, a.ID, other.ID, payment.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "other customer's tokens", toks, []*payment.CustomerToken{othersTok})
}

func testCustomerTokens(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	c, other := newCustomer(a.ID, t0), newCustomer(a.ID, t0)
	createCustomer(t, s, c)
	createCustomer(t, s, other)

	var want []*payment.CustomerToken
	for i := range 4 {
		tok := newToken(c, fmt.Sprintf("tok-%d", i), t0.Add(time.Duration(i)*time.Second))
		if i == 0 {
			tok.Metadata = nil
		}
		createToken(t, s, tok)
		want = append(want, tok)
	}
	slices.Reverse(want)
	got, more, err := s.CustomerTokens(ctx, a.ID, c.ID, payment.ListParams{})
	if err != nil || more {
		t.Fatalf("CustomerTokens: %v, more %v", err, more)
	}
	equal(t, "CustomerTokens", got, want)
	got, more, err = s.CustomerTokens(ctx, a.ID, c.ID, payment.ListParams{Limit: 2, StartingAfter: want[0].ID})
	if err != nil || !more {
		t.Fatalf("CustomerTokens page: %v, more %v", err, more)
	}
	equal(t, "CustomerTokens after a cursor", ids(got, tokenKey), ids(want[1:3], tokenKey))

	// A token_id names one live token of a customer; another customer
	// may use it.
	dup := newToken(c, "tok-1", t0)
	wantConflict(t, "CreateCustomerToken with a taken token_id",
		s.CreateCustomerToken(ctx, dup, newEvent(a.ID, payment.EventCustomerTokenCreated, dup.ID, t0)))
	createToken(t, s, newToken(other, "tok-1", t0))

	// Soft delete: kept, listed, shown deleted; the token_id is free again.
	now := t0.Add(time.Hour)
	var evTok *payment.CustomerToken
	deleted, err := s.DeleteCustomerToken(ctx, a.ID, c.ID, "tok-1", now, "key_deleter", func(tok *payment.CustomerToken) *payment.Event {
		evTok = tok
		return newEvent(a.ID, payment.EventCustomerTokenDeleted, tok.ID, now)
	})
	if err != nil {
		t.Fatalf("DeleteCustomerToken: %v", err)
	}
	wantDeleted := *want[2]
	wantDeleted.DeletedAt, wantDeleted.DeletedBy, wantDeleted.UpdatedAt, wantDeleted.UpdatedBy = ptr(now), "key_deleter", now, "key_deleter"
	equal(t, "DeleteCustomerToken's result", deleted, &wantDeleted)
	equal(t, "token given to the event", evTok, &wantDeleted)
	if evs := allEvents(t, s, a.ID); evs[0].Type != payment.EventCustomerTokenDeleted || evs[0].ObjectID != deleted.ID {
		t.Errorf("newest event %s of %s, want the token's deletion", evs[0].Type, evs[0].ObjectID)
	}
	got, _, err = s.CustomerTokens(ctx, a.ID, c.ID, payment.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	want[2] = &wantDeleted
	equal(t, "CustomerTokens after a delete", got, want)
	_, err = s.DeleteCustomerToken(ctx, a.ID, c.ID, "tok-1", now, "key_x", nil)
	wantNotFound(t, "DeleteCustomerToken of a deleted token", err)
	_, err = s.DeleteCustomerToken(ctx, a.ID, c.ID, "nope", now, "key_x", nil)
	wantNotFound(t, "DeleteCustomerToken of an unknown token", err)
	again := newToken(c, "tok-1", now)
	createToken(t, s, again)

	_, _, err = s.CustomerTokens(ctx, a.ID, payment.NewID(payment.PrefixCustomer), payment.ListParams{})
	wantNotFound(t, "CustomerTokens of an unknown customer", err)
	unknown := newToken(c, "x", t0)
	unknown.CustomerID = payment.NewID(payment.PrefixCustomer)
	wantNotFound(t, "CreateCustomerToken for an unknown customer",
		s.CreateCustomerToken(ctx, unknown, newEvent(a.ID, payment.EventCustomerTokenCreated, unknown.ID, t0)))
}

// testCustomerTokenConcurrent creates one token_id from many goroutines at
// once: exactly one wins, the others are conflicts.
func testCustomerTokenConcurrent(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	c := newCustomer(a.ID, t0)
	createCustomer(t, s, c)
	const n = 12
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := newToken(c, "same", t0)
			errs[i] = s.CreateCustomerToken(ctx, tok, newEvent(a.ID, payment.EventCustomerTokenCreated, tok.ID, t0))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, payment.ErrConflict):
			t.Errorf("a losing create: %v, want ErrConflict", err)
		}
	}
	if won != 1 {
		t.Errorf("%d creates of one token_id won, want 1", won)
	}
	toks, _, err := s.CustomerTokens(ctx, a.ID, c.ID, payment.ListParams{})
	if err != nil || len(toks) != 1 {
		t.Errorf("CustomerTokens = %d tokens, %v; want 1", len(toks), err)
	}
	if evs := allEvents(t, s, a.ID); len(evs) != 2 { // the customer's and the one token's
		t.Errorf("%d events, want 2", len(evs))
	}
}

// testDeleteCustomerConcurrent deletes a customer while payment methods
// are being added to it: each either was refused or is redacted.
func testDeleteCustomerConcurrent(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	c := newCustomer(a.ID, t0)
	createCustomer(t, s, c)
	const n = 16
	created := make([]*payment.PaymentMethod, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			pm := newPM(a.ID, t0)
			pm.CustomerID = c.ID
			if errs[i] = s.CreatePaymentMethod(ctx, pm, newEvent(a.ID, "payment_method.created", pm.ID, t0)); errs[i] == nil {
				created[i] = pm
			}
		}()
	}
	wg.Add(1)
	var delErr error
	go func() {
		defer wg.Done()
		<-start
		_, delErr = s.DeleteCustomer(ctx, a.ID, c.ID, newDeletion(t0.Add(time.Hour), "key_x").CustomerDeletion)
	}()
	close(start)
	wg.Wait()
	if delErr != nil {
		t.Fatalf("DeleteCustomer: %v", delErr)
	}
	for i, pm := range created {
		if pm == nil {
			wantNotFound(t, "CreatePaymentMethod racing the deletion", errs[i])
			continue
		}
		if got := getPM(t, s, a.ID, pm.ID); got.StorageState != payment.StorageRedacted || got.PANSealed != nil {
			t.Errorf("payment method %s added while its customer was deleted kept its card", pm.ID)
		}
	}
}
