package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// testCheckoutProfiles: a profile round-trips byte for byte, within its
// account only, lists newest first, is replaced and deleted.
func testCheckoutProfiles(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	p := &payment.CheckoutProfile{ID: payment.NewID(payment.PrefixCheckoutProfile), AccountID: a.ID, Name: "Nettbutikk – ü",
		Description: "default", URL: json.RawMessage(`{"callback_url":"https://shop.example/cb"}`),
		Configuration: json.RawMessage(`{"kassa":{"gateway":"gw_1"},"payex":{"creditcard":{"enabled":true}}}`),
		CreatedAt:     t0, UpdatedAt: t0}
	if err := s.CreateCheckoutProfile(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCheckoutProfile(ctx, p); !errors.Is(err, payment.ErrConflict) {
		t.Errorf("same id again: %v, want ErrConflict", err)
	}
	empty := &payment.CheckoutProfile{ID: payment.NewID(payment.PrefixCheckoutProfile), AccountID: a.ID, Name: "empty",
		CreatedAt: t0.Add(time.Second), UpdatedAt: t0.Add(time.Second)}
	if err := s.CreateCheckoutProfile(ctx, empty); err != nil {
		t.Fatal(err)
	}
	ghost := *p
	ghost.ID, ghost.AccountID = payment.NewID(payment.PrefixCheckoutProfile), "T00000000"
	if err := s.CreateCheckoutProfile(ctx, &ghost); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("no account: %v, want ErrNotFound", err)
	}
	got, err := s.CheckoutProfile(ctx, a.ID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "profile", got, p)
	if got, err = s.CheckoutProfile(ctx, a.ID, empty.ID); err != nil || string(got.URL) != "{}" || string(got.Configuration) != "{}" {
		t.Errorf("empty profile %+v, %v", got, err)
	}
	if _, err := s.CheckoutProfile(ctx, b.ID, p.ID); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("another account's profile: %v, want ErrNotFound", err)
	}
	list, more, err := s.CheckoutProfiles(ctx, a.ID, payment.ListParams{Limit: 1})
	if err != nil || !more || len(list) != 1 || list[0].ID != empty.ID {
		t.Errorf("first page %v %v %v", list, more, err)
	}
	list, more, err = s.CheckoutProfiles(ctx, a.ID, payment.ListParams{Limit: 1, StartingAfter: empty.ID})
	if err != nil || more || len(list) != 1 || list[0].ID != p.ID {
		t.Errorf("second page %v %v %v", list, more, err)
	}
	if list, _, err := s.CheckoutProfiles(ctx, b.ID, payment.ListParams{}); err != nil || len(list) != 0 {
		t.Errorf("another account lists %v, %v", list, err)
	}

	upd := *p
	upd.Name, upd.Description, upd.URL, upd.Configuration = "renamed", "", json.RawMessage(`{}`), json.RawMessage(`{"kassa":{}}`)
	upd.UpdatedAt = t0.Add(time.Minute)
	got, err = s.UpdateCheckoutProfile(ctx, &upd)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "updated profile", got, &upd)
	other := upd
	other.AccountID = b.ID
	if _, err := s.UpdateCheckoutProfile(ctx, &other); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("update another account's profile: %v, want ErrNotFound", err)
	}
	if err := s.DeleteCheckoutProfile(ctx, b.ID, p.ID); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("delete another account's profile: %v, want ErrNotFound", err)
	}
	if err := s.DeleteCheckoutProfile(ctx, a.ID, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckoutProfile(ctx, a.ID, p.ID); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("deleted profile: %v, want ErrNotFound", err)
	}
	if err := s.DeleteCheckoutProfile(ctx, a.ID, p.ID); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("deleted twice: %v, want ErrNotFound", err)
	}
}

// testUpdateCheckoutSessionOrder: an open session's order is replaced by
// compare-and-set on its attempts and expiry; a closed, expired or
// attempted session is stale, another account's not found.
func testUpdateCheckoutSessionOrder(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	cs := newCheckoutSession(a.ID, t0)
	if err := s.CreateCheckoutSession(ctx, cs); err != nil {
		t.Fatal(err)
	}
	upd := *cs
	upd.Amount, upd.Currency, upd.MerchantReference = 300, "SEK", "order-2"
	upd.Items = []payment.CheckoutItem{{ID: "x", Description: "X", Quantity: 3, Amount: 300}}
	upd.UpdatedAt = t0.Add(time.Minute)
	if _, err := s.UpdateCheckoutSessionOrder(ctx, &upd, 1); !errors.Is(err, payment.ErrStale) {
		t.Errorf("wrong attempts: %v, want ErrStale", err)
	}
	late := upd
	late.UpdatedAt = cs.ExpiresAt
	if _, err := s.UpdateCheckoutSessionOrder(ctx, &late, 0); !errors.Is(err, payment.ErrStale) {
		t.Errorf("at expiry: %v, want ErrStale", err)
	}
	other := upd
	other.AccountID = b.ID
	if _, err := s.UpdateCheckoutSessionOrder(ctx, &other, 0); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("another account's session: %v, want ErrNotFound", err)
	}
	got, err := s.UpdateCheckoutSessionOrder(ctx, &upd, 0)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "updated session", got, &upd)
	if _, err := reserveAttempt(s, cs, 1, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateCheckoutSessionOrder(ctx, &upd, 0); !errors.Is(err, payment.ErrStale) {
		t.Errorf("after an attempt: %v, want ErrStale", err)
	}
}

// testCheckoutTokenSessions: a token session (amount 0, no payment)
// round-trips; its attempts are claimed by compare-and-set until expiry;
// it completes once, with its card token and event; a payment session
// cannot be completed so, nor a token session with an amount stored.
func testCheckoutTokenSessions(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	cs := newCheckoutSession(a.ID, t0)
	cs.Kind, cs.Amount, cs.Items, cs.SaveCard = payment.CheckoutKindPaymentToken, 0, []payment.CheckoutItem{}, true
	if err := s.CreateCheckoutSession(ctx, cs); err != nil {
		t.Fatal(err)
	}
	got, err := s.CheckoutSession(ctx, a.ID, cs.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "token session", got, cs)
	bad := newCheckoutSession(a.ID, t0)
	bad.Kind = payment.CheckoutKindPaymentToken
	if err := s.CreateCheckoutSession(ctx, bad); err == nil {
		t.Error("a token session with an amount was stored")
	}
	zero := newCheckoutSession(a.ID, t0)
	zero.Amount, zero.Items = 0, nil
	if err := s.CreateCheckoutSession(ctx, zero); err == nil {
		t.Error("a payment session of amount 0 was stored")
	}

	if err := s.ClaimCheckoutTokenAttempt(ctx, a.ID, cs.ID, 2, t0); !errors.Is(err, payment.ErrAttemptTaken) {
		t.Errorf("attempt 2 first: %v, want ErrAttemptTaken", err)
	}
	if err := s.ClaimCheckoutTokenAttempt(ctx, a.ID, cs.ID, 1, cs.ExpiresAt); !errors.Is(err, payment.ErrAttemptTaken) {
		t.Errorf("at expiry: %v, want ErrAttemptTaken", err)
	}
	if err := s.ClaimCheckoutTokenAttempt(ctx, b.ID, cs.ID, 1, t0); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("another account's: %v, want ErrNotFound", err)
	}
	if err := s.ClaimCheckoutTokenAttempt(ctx, a.ID, cs.ID, 1, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimCheckoutTokenAttempt(ctx, a.ID, cs.ID, 1, t0.Add(time.Second)); !errors.Is(err, payment.ErrAttemptTaken) {
		t.Errorf("attempt 1 twice: %v, want ErrAttemptTaken", err)
	}
	pay := newCheckoutSession(a.ID, t0)
	if err := s.CreateCheckoutSession(ctx, pay); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimCheckoutTokenAttempt(ctx, a.ID, pay.ID, 1, t0); !errors.Is(err, payment.ErrAttemptTaken) {
		t.Errorf("token attempt on a payment session: %v, want ErrAttemptTaken", err)
	}
	at := t0.Add(time.Minute)
	if _, err := s.CompleteCheckoutTokenSession(ctx, a.ID, pay.ID, 0, "pm_x", at, nil, nil); !errors.Is(err, payment.ErrStale) {
		t.Errorf("completing a payment session: %v, want ErrStale", err)
	}
	if _, err := s.CompleteCheckoutTokenSession(ctx, a.ID, cs.ID, 0, "pm_x", at, nil, nil); !errors.Is(err, payment.ErrStale) {
		t.Errorf("stale attempts: %v, want ErrStale", err)
	}
	if _, err := s.CompleteCheckoutTokenSession(ctx, b.ID, cs.ID, 1, "pm_x", at, nil, nil); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("another account's: %v, want ErrNotFound", err)
	}
	// The session's callback is written with its close, or not at all.
	callback := func(acct string) *payment.WebhookDelivery {
		return &payment.WebhookDelivery{ID: payment.NewIDAt(payment.PrefixWebhookDelivery, at), AccountID: acct, MessageID: cs.ID,
			Signer: "test", SignerKey: "token_session", Method: "POST", URL: "https://shop.example/cb?o=1", Queue: "shop.example",
			State: payment.DeliveryPending, NextAttemptAt: at, CreatedAt: at, UpdatedAt: at}
	}
	if _, err := s.CompleteCheckoutTokenSession(ctx, a.ID, cs.ID, 1, "pm_x", at, nil, callback(b.ID)); err == nil {
		t.Error("a callback of another account was accepted")
	}
	if _, err := s.CompleteCheckoutTokenSession(ctx, a.ID, cs.ID, 0, "pm_x", at, nil, callback(a.ID)); !errors.Is(err, payment.ErrStale) {
		t.Errorf("stale attempts with a callback: %v, want ErrStale", err)
	}
	ev := newEvent(a.ID, payment.EventCheckoutCompleted, cs.ID, at)
	cb := callback(a.ID)
	done, err := s.CompleteCheckoutTokenSession(ctx, a.ID, cs.ID, 1, "pm_x", at, ev, cb)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := s.ClaimWebhookDeliveries(ctx, at, at.Add(time.Minute), nil, 100, 100)
	if err != nil {
		t.Fatal(err)
	}
	var callbacks []*payment.WebhookDelivery
	for _, d := range ds {
		if d.EndpointID == "" {
			callbacks = append(callbacks, d)
		}
	}
	if len(callbacks) != 1 || callbacks[0].ID != cb.ID || callbacks[0].URL != cb.URL || callbacks[0].MessageID != cs.ID ||
		callbacks[0].SignerKey != "token_session" || callbacks[0].AccountID != a.ID {
		t.Errorf("callbacks after the close: %+v, want the one promised", callbacks)
	}
	want := *cs
	want.Status, want.CardTokenID, want.Attempts, want.ClosedAt, want.UpdatedAt = payment.CheckoutPaid, "pm_x", 1, &at, at
	equal(t, "completed token session", done, &want)
	if _, err := s.CompleteCheckoutTokenSession(ctx, a.ID, cs.ID, 1, "pm_y", at, nil, nil); !errors.Is(err, payment.ErrStale) {
		t.Errorf("completed twice: %v, want ErrStale", err)
	}
}
