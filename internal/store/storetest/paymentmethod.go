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

func testPaymentMethodRoundTrip(t *testing.T, s payment.Store) {
	a := newAccount(t, s)

	full := newPM(a.ID, t0)
	full.RedactedAt = ptr(t0.Add(time.Minute)) // not a real state, but every field must survive
	full.Metadata = map[string]string{"a": "1", "b": "", "ключ": "значение"}

	minimal := &payment.PaymentMethod{
		ID:           payment.NewID(payment.PrefixPaymentMethod),
		AccountID:    a.ID,
		Type:         payment.PaymentMethodTypeCard,
		StorageState: payment.StorageRetained,
		CreatedAt:    t0.Add(time.Second),
		UpdatedAt:    t0.Add(2 * time.Second),
	}
	emptyMetadata := newPM(a.ID, t0.Add(3*time.Second))
	emptyMetadata.Metadata = map[string]string{}
	emptyMetadata.CVCSealed, emptyMetadata.CVCExpiresAt = nil, nil

	var events []*payment.Event
	for _, pm := range []*payment.PaymentMethod{full, minimal, emptyMetadata} {
		events = append(events, createPM(t, s, pm))
		equal(t, "PaymentMethod after create", getPM(t, s, a.ID, pm.ID), pm)
	}
	slices.Reverse(events)
	equal(t, "events written with the payment methods", allEvents(t, s, a.ID), events)
}

// testPaymentMethodTimes checks that times come back in UTC, truncated to
// microseconds, whatever zone and precision they were given in.
func testPaymentMethodTimes(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	local := time.Date(2030, 6, 7, 8, 9, 10, 123456789, zone)
	want := local.UTC().Truncate(time.Microsecond)

	pm := newPM(a.ID, local)
	pm.CVCExpiresAt = ptr(local)
	createPM(t, s, pm)
	got := getPM(t, s, a.ID, pm.ID)
	for name, v := range map[string]time.Time{"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt, "CVCExpiresAt": *got.CVCExpiresAt} {
		if v != want { // == : the location must be UTC too
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	if evs := allEvents(t, s, a.ID); len(evs) != 1 || evs[0].CreatedAt != want {
		t.Errorf("event time = %v, want %v", evs, want)
	}

	updated, err := s.UpdatePaymentMethod(ctx, a.ID, pm.ID, func(p *payment.PaymentMethod) (*payment.Event, error) {
		p.UpdatedAt = local.Add(time.Hour)
		p.RedactedAt = ptr(local)
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if updated.UpdatedAt != want.Add(time.Hour) || *updated.RedactedAt != want {
		t.Errorf("UpdatePaymentMethod returned times %v, %v; want %v, %v", updated.UpdatedAt, *updated.RedactedAt, want.Add(time.Hour), want)
	}

	k := newKey(a.ID, local)
	k.ExpiresAt = ptr(local)
	if err := s.CreateAPIKey(ctx, k, nil); err != nil {
		t.Fatal(err)
	}
	gk, err := s.APIKeyByPrefix(ctx, k.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	if gk.CreatedAt != want || *gk.ExpiresAt != want {
		t.Errorf("key times = %v, %v; want %v", gk.CreatedAt, *gk.ExpiresAt, want)
	}
	revoked, err := s.RevokeAPIKey(ctx, a.ID, k.ID, local, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *revoked.RevokedAt != want {
		t.Errorf("RevokeAPIKey returned RevokedAt %v, want %v", *revoked.RevokedAt, want)
	}
}

func testPaymentMethodConflicts(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	pm := newPM(a.ID, t0)
	ev := createPM(t, s, pm)

	dup := newPM(a.ID, t0.Add(time.Second))
	dup.ID = pm.ID
	wantConflict(t, "CreatePaymentMethod with a taken id",
		s.CreatePaymentMethod(ctx, dup, newEvent(a.ID, "payment_method.created", dup.ID, t0)))

	other := newPM(a.ID, t0.Add(time.Second))
	dupEvent := newEvent(a.ID, "payment_method.created", other.ID, t0)
	dupEvent.ID = ev.ID
	wantConflict(t, "CreatePaymentMethod with a taken event id", s.CreatePaymentMethod(ctx, other, dupEvent))
	_, err := s.PaymentMethod(ctx, a.ID, other.ID)
	wantNotFound(t, "payment method whose event failed", err)

	equal(t, "payment method after conflicts", getPM(t, s, a.ID, pm.ID), pm)
	equal(t, "events after conflicts", allEvents(t, s, a.ID), []*payment.Event{ev})

	ghost := newPM("T00000000", t0)
	err = s.CreatePaymentMethod(ctx, ghost, newEvent(ghost.AccountID, "payment_method.created", ghost.ID, t0))
	wantNotFound(t, "CreatePaymentMethod for an unknown account", err)
}

func testPaymentMethodIsolation(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	pm := newPM(a.ID, t0)
	createPM(t, s, pm)

	_, err := s.PaymentMethod(ctx, b.ID, pm.ID)
	wantNotFound(t, "PaymentMethod of another account's id", err)

	called := false
	_, err = s.UpdatePaymentMethod(ctx, b.ID, pm.ID, func(p *payment.PaymentMethod) (*payment.Event, error) {
		called = true
		p.Card.HolderName = "Mallory"
		return nil, nil
	})
	wantNotFound(t, "UpdatePaymentMethod of another account's id", err)
	if called {
		t.Error("UpdatePaymentMethod called fn for another account's payment method")
	}
	equal(t, "payment method after another account's update", getPM(t, s, a.ID, pm.ID), pm)

	pms, more, err := s.PaymentMethods(ctx, b.ID, payment.ListParams{})
	if err != nil || len(pms) != 0 || more {
		t.Errorf("PaymentMethods of another account = %v, %v, %v; want none", pms, more, err)
	}
	evs, _, err := s.Events(ctx, b.ID, payment.ListParams{})
	if err != nil || len(evs) != 0 {
		t.Errorf("Events of another account = %v, %v; want none", evs, err)
	}
	_, _, err = s.PaymentMethods(ctx, b.ID, payment.ListParams{StartingAfter: pm.ID})
	wantCursorNotFound(t, "PaymentMethods starting after another account's id", err)
}

func testPaymentMethodPagination(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	var want []string
	for i := range 25 {
		// Interleave another account's payment methods, and give some
		// the same creation time: order is by insertion, not by clock.
		createPM(t, s, newPM(b.ID, t0))
		pm := newPM(a.ID, t0.Add(time.Duration(i/2)*time.Second))
		createPM(t, s, pm)
		want = append(want, pm.ID)
	}
	slices.Reverse(want)

	var got []string
	after := ""
	for i, wantPage := range []struct {
		n    int
		more bool
	}{{10, true}, {10, true}, {5, false}} {
		pms, more, err := s.PaymentMethods(ctx, a.ID, payment.ListParams{Limit: 10, StartingAfter: after})
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		if len(pms) != wantPage.n || more != wantPage.more {
			t.Fatalf("page %d: %d items, hasMore %v; want %d, %v", i, len(pms), more, wantPage.n, wantPage.more)
		}
		got = append(got, ids(pms, pmID)...)
		after = pms[len(pms)-1].ID
	}
	equal(t, "pages, newest first", got, want)

	pms, more, err := s.PaymentMethods(ctx, a.ID, payment.ListParams{StartingAfter: after})
	if err != nil || len(pms) != 0 || more {
		t.Errorf("page after the oldest = %d items, %v, %v; want none", len(pms), more, err)
	}
	pms, more, err = s.PaymentMethods(ctx, a.ID, payment.ListParams{})
	if err != nil || len(pms) != 10 || !more {
		t.Errorf("default page = %d items, %v, %v; want 10 and more", len(pms), more, err)
	}
	pms, more, err = s.PaymentMethods(ctx, a.ID, payment.ListParams{Limit: 24, StartingAfter: want[0]})
	if err != nil || !slices.Equal(ids(pms, pmID), want[1:]) || more {
		t.Errorf("page of 24 after the newest = %d items, %v, %v; want the 24 others", len(pms), more, err)
	}

	_, _, err = s.PaymentMethods(ctx, a.ID, payment.ListParams{StartingAfter: "pm_unknown"})
	wantCursorNotFound(t, "PaymentMethods starting after an unknown id", err)
}

// testListLimits checks the default and maximum page sizes (10 and 100).
func testListLimits(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	for range 101 {
		createPM(t, s, newPM(a.ID, t0))
	}
	for _, tc := range []struct {
		limit, want int
	}{{0, 10}, {-1, 10}, {1, 1}, {100, 100}, {101, 100}, {1000, 100}} {
		pms, more, err := s.PaymentMethods(ctx, a.ID, payment.ListParams{Limit: tc.limit})
		if err != nil || len(pms) != tc.want || !more {
			t.Errorf("PaymentMethods(limit %d) = %d items, %v, %v; want %d and more", tc.limit, len(pms), more, err, tc.want)
		}
		evs, more, err := s.Events(ctx, a.ID, payment.ListParams{Limit: tc.limit})
		if err != nil || len(evs) != tc.want || !more {
			t.Errorf("Events(limit %d) = %d items, %v, %v; want %d and more", tc.limit, len(evs), more, err, tc.want)
		}
	}
}

func testUpdatePaymentMethod(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	pm := newPM(a.ID, t0)
	created := createPM(t, s, pm)
	now := t0.Add(time.Minute)

	var retained *payment.Event
	got, err := s.UpdatePaymentMethod(ctx, a.ID, pm.ID, func(p *payment.PaymentMethod) (*payment.Event, error) {
		equal(t, "payment method given to fn", p, pm)
		p.StorageState = payment.StorageRetained
		p.Metadata = map[string]string{"retained": "yes"}
		p.Billing.City = "Bergen"
		p.Card.ExpYear = 2035
		p.Email = ""
		p.CVCSealed, p.CVCExpiresAt = nil, nil
		p.UpdatedAt = now
		retained = newEvent(a.ID, "payment_method.retained", p.ID, now)
		return retained, nil
	})
	if err != nil {
		t.Fatalf("UpdatePaymentMethod: %v", err)
	}
	want := *pm
	want.StorageState = payment.StorageRetained
	want.Metadata = map[string]string{"retained": "yes"}
	want.Billing.City = "Bergen"
	want.Card.ExpYear = 2035
	want.Email = ""
	want.CVCSealed, want.CVCExpiresAt = nil, nil
	want.UpdatedAt = now
	equal(t, "UpdatePaymentMethod result", got, &want)
	equal(t, "stored after update", getPM(t, s, a.ID, pm.ID), &want)
	equal(t, "events after update", allEvents(t, s, a.ID), []*payment.Event{retained, created})

	t.Run("no event", func(t *testing.T) {
		_, err := s.UpdatePaymentMethod(ctx, a.ID, pm.ID, func(p *payment.PaymentMethod) (*payment.Event, error) {
			p.Metadata = nil
			return nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want.Metadata = nil
		equal(t, "stored after an update without event", getPM(t, s, a.ID, pm.ID), &want)
		if n := len(allEvents(t, s, a.ID)); n != 2 {
			t.Errorf("%d events, want 2", n)
		}
	})

	before := getPM(t, s, a.ID, pm.ID)
	nothingWritten := func(t *testing.T) {
		t.Helper()
		equal(t, "payment method after a failed update", getPM(t, s, a.ID, pm.ID), before)
		if n := len(allEvents(t, s, a.ID)); n != 2 {
			t.Errorf("%d events after a failed update, want 2", n)
		}
	}

	t.Run("fn error", func(t *testing.T) {
		errDeclined := payment.Conflict(payment.CodeInvalidState, "no")
		_, err := s.UpdatePaymentMethod(ctx, a.ID, pm.ID, func(p *payment.PaymentMethod) (*payment.Event, error) {
			p.Card.HolderName = "changed"
			return newEvent(a.ID, "payment_method.updated", p.ID, now), errDeclined
		})
		if err != errDeclined {
			t.Errorf("err = %v, want fn's error itself", err)
		}
		plain := errors.New("plain")
		_, err = s.UpdatePaymentMethod(ctx, a.ID, pm.ID, func(p *payment.PaymentMethod) (*payment.Event, error) {
			p.Card.HolderName = "changed"
			return nil, plain
		})
		if !errors.Is(err, plain) {
			t.Errorf("err = %v, want fn's error", err)
		}
		nothingWritten(t)
	})

	t.Run("event conflict", func(t *testing.T) {
		_, err := s.UpdatePaymentMethod(ctx, a.ID, pm.ID, func(p *payment.PaymentMethod) (*payment.Event, error) {
			p.Card.HolderName = "changed"
			ev := newEvent(a.ID, "payment_method.updated", p.ID, now)
			ev.ID = created.ID
			return ev, nil
		})
		wantConflict(t, "UpdatePaymentMethod with a taken event id", err)
		nothingWritten(t)
	})

	t.Run("identity change", func(t *testing.T) {
		_, err := s.UpdatePaymentMethod(ctx, a.ID, pm.ID, func(p *payment.PaymentMethod) (*payment.Event, error) {
			p.ID = payment.NewID(payment.PrefixPaymentMethod)
			return nil, nil
		})
		if err == nil {
			t.Error("UpdatePaymentMethod accepted a change of id")
		}
		nothingWritten(t)
	})

	t.Run("not found", func(t *testing.T) {
		called := false
		_, err := s.UpdatePaymentMethod(ctx, a.ID, "pm_unknown", func(p *payment.PaymentMethod) (*payment.Event, error) {
			called = true
			return nil, nil
		})
		wantNotFound(t, "UpdatePaymentMethod of an unknown id", err)
		if called {
			t.Error("fn called for an unknown payment method")
		}
	})
}

// testUpdatePaymentMethodConcurrent runs concurrent read-modify-writes of
// one payment method: none may be lost.
func testUpdatePaymentMethodConcurrent(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	pm := newPM(a.ID, t0)
	pm.Card.HolderName = ""
	createPM(t, s, pm)

	const n = 20
	const letters = "abcdefghijklmnopqrstuvwxyz"
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := s.UpdatePaymentMethod(ctx, a.ID, pm.ID, func(p *payment.PaymentMethod) (*payment.Event, error) {
				p.Card.HolderName += letters[i : i+1]
				return newEvent(a.ID, "payment_method.updated", p.ID, t0), nil
			})
			if err != nil {
				t.Errorf("UpdatePaymentMethod: %v", err)
			}
		})
	}
	wg.Wait()

	got := getPM(t, s, a.ID, pm.ID).Card.HolderName
	sorted := []byte(got)
	slices.Sort(sorted)
	if string(sorted) != letters[:n] {
		t.Errorf("HolderName after %d concurrent appends = %q, want each of %q once", n, got, letters[:n])
	}
	if evs := allEvents(t, s, a.ID); len(evs) != n+1 {
		t.Errorf("%d events, want %d", len(evs), n+1)
	}
}

func testExpirePaymentMethods(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	now := t0.Add(24 * time.Hour)
	cachedBefore := now.Add(-30 * time.Minute)

	mk := func(acct string, state payment.StorageState, created time.Time, cvcExpires time.Time) *payment.PaymentMethod {
		pm := newPM(acct, created)
		pm.StorageState = state
		pm.CVCExpiresAt = ptr(cvcExpires)
		if state == payment.StorageRedacted {
			pm.PANSealed, pm.CVCSealed, pm.RedactedAt = nil, nil, ptr(created)
		}
		createPM(t, s, pm)
		return pm
	}
	later := now.Add(time.Hour)
	var (
		oldCached       = mk(a.ID, payment.StorageCached, cachedBefore.Add(-time.Second), later)
		edgeCached      = mk(a.ID, payment.StorageCached, cachedBefore, later)
		youngCached     = mk(a.ID, payment.StorageCached, cachedBefore.Add(time.Microsecond), later)
		expiredCVC      = mk(a.ID, payment.StorageRetained, t0, now)
		liveCVC         = mk(a.ID, payment.StorageRetained, t0, now.Add(time.Microsecond))
		youngExpired    = mk(a.ID, payment.StorageCached, now, now.Add(-time.Second))
		otherAccount    = mk(b.ID, payment.StorageCached, t0, later)
		alreadyRedacted = mk(a.ID, payment.StorageRedacted, t0, later)
	)

	var mu sync.Mutex
	var given []*payment.PaymentMethod
	newRedacted := func(pm *payment.PaymentMethod) *payment.Event {
		mu.Lock()
		defer mu.Unlock()
		given = append(given, pm)
		return newEvent(pm.AccountID, "payment_method.redacted", pm.ID, now)
	}
	n, err := s.ExpirePaymentMethods(ctx, now, cachedBefore, newRedacted)
	if err != nil || n != 3 {
		t.Fatalf("ExpirePaymentMethods = %d, %v; want 3", n, err)
	}

	redacted := func(pm *payment.PaymentMethod) *payment.PaymentMethod {
		r := *pm
		r.StorageState = payment.StorageRedacted
		r.RedactedAt = ptr(now)
		r.UpdatedAt = now
		r.PANSealed, r.CVCSealed, r.CVCExpiresAt = nil, nil, nil
		return &r
	}
	for _, pm := range []*payment.PaymentMethod{oldCached, edgeCached, otherAccount} {
		equal(t, "redacted payment method", getPM(t, s, pm.AccountID, pm.ID), redacted(pm))
	}
	slices.SortFunc(given, func(x, y *payment.PaymentMethod) int { return strings.Compare(x.ID, y.ID) })
	wantGiven := []*payment.PaymentMethod{redacted(oldCached), redacted(edgeCached), redacted(otherAccount)}
	slices.SortFunc(wantGiven, func(x, y *payment.PaymentMethod) int { return strings.Compare(x.ID, y.ID) })
	equal(t, "payment methods given to newEvent (already redacted)", given, wantGiven)

	for _, pm := range []*payment.PaymentMethod{youngCached, liveCVC, alreadyRedacted} {
		equal(t, "untouched payment method", getPM(t, s, a.ID, pm.ID), pm)
	}
	for _, pm := range []*payment.PaymentMethod{expiredCVC, youngExpired} {
		got := getPM(t, s, a.ID, pm.ID)
		if got.CVCSealed != nil {
			t.Errorf("%s: expired CVC kept", pm.ID)
		}
		want := *pm
		want.CVCSealed = nil
		want.UpdatedAt = got.UpdatedAt // the contract leaves it open
		equal(t, "payment method with an expired CVC", got, &want)
	}

	countType := func(acct, typ string) int {
		c := 0
		for _, ev := range allEvents(t, s, acct) {
			if ev.Type == typ {
				c++
				if ev.ObjectID != oldCached.ID && ev.ObjectID != edgeCached.ID && ev.ObjectID != otherAccount.ID {
					t.Errorf("redaction event for %s", ev.ObjectID)
				}
			}
		}
		return c
	}
	if c := countType(a.ID, "payment_method.redacted"); c != 2 {
		t.Errorf("account A has %d redaction events, want 2", c)
	}
	if c := countType(b.ID, "payment_method.redacted"); c != 1 {
		t.Errorf("account B has %d redaction events, want 1", c)
	}

	given = nil
	n, err = s.ExpirePaymentMethods(ctx, now, cachedBefore, newRedacted)
	if err != nil || n != 0 || len(given) != 0 {
		t.Errorf("second ExpirePaymentMethods = %d, %v (newEvent called %d times); want 0", n, err, len(given))
	}
}
