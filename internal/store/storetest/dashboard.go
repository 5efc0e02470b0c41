package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// testPaymentSearch checks the dashboard's search filters of Payments: by
// id, customer, card last four and fingerprint, amount, creation time and
// review flag, alone and together, in pages of 3 and of 100, never
// returning another account's payments (which share every searched
// value).
func testPaymentSearch(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	// Two cards of a; b has one with the same last four and fingerprint
	// (fingerprints never match across accounts in kassa, but a store
	// that forgot the account would find it).
	visa, mc := newPM(a.ID, t0), newPM(a.ID, t0)
	visa.Card.Last4, visa.Card.Fingerprint = "4242", "fp_same_visa"
	mc.Card.Last4, mc.Card.Fingerprint = "4444", "fp_same_mc"
	bVisa := newPM(b.ID, t0)
	bVisa.Card.Last4, bVisa.Card.Fingerprint = "4242", "fp_same_visa"
	for _, pm := range []*payment.PaymentMethod{visa, mc, bVisa} {
		createPM(t, s, pm)
	}
	const customer = "cus_dashboard_search"
	var all []*payment.Payment // newest first
	idx := map[string]int{}
	var bIDs []string
	for i := range 20 {
		at := t0.Add(time.Duration(i) * time.Hour)
		bp := newPayment(b.ID, at)
		bp.PaymentMethodID, bp.CustomerID, bp.RequiresReview = bVisa.ID, customer, true
		bp.Operations[0].PaymentMethodID = bVisa.ID
		bp.Amount = int64(100 * (i + 1))
		createPayment(t, s, bp)
		bIDs = append(bIDs, bp.ID)

		p := newPayment(a.ID, at)
		p.Amount = int64(100 * (i + 1))
		p.AmountAuthorized = p.Amount
		p.Operations[0].Amount = p.Amount
		p.PaymentMethodID = []string{visa.ID, mc.ID}[i%2]
		p.Operations[0].PaymentMethodID = p.PaymentMethodID
		if i%3 == 0 {
			p.CustomerID = customer
		}
		p.RequiresReview = i%7 == 0
		createPayment(t, s, p)
		all = append([]*payment.Payment{p}, all...)
		idx[p.ID] = i
	}

	pages := func(t *testing.T, accountID string, f payment.PaymentFilter, limit int) []*payment.Payment {
		t.Helper()
		got := []*payment.Payment{}
		f.Limit = limit
		for range 30 {
			ps, more, err := s.Payments(ctx, accountID, f)
			if err != nil {
				t.Fatalf("Payments(%+v): %v", f, err)
			}
			got = append(got, ps...)
			if !more {
				return got
			}
			f.StartingAfter = ps[len(ps)-1].ID
		}
		t.Fatal("Payments never ends")
		return nil
	}
	target := all[7] // i = 12
	for _, tc := range []struct {
		name  string
		f     payment.PaymentFilter
		match func(i int) bool
	}{
		{"id", payment.PaymentFilter{ID: target.ID}, func(i int) bool { return i == 12 }},
		{"another account's id", payment.PaymentFilter{ID: bIDs[3]}, func(int) bool { return false }},
		{"customer", payment.PaymentFilter{CustomerID: customer}, func(i int) bool { return i%3 == 0 }},
		{"last four", payment.PaymentFilter{CardLast4: "4242"}, func(i int) bool { return i%2 == 0 }},
		{"unknown last four", payment.PaymentFilter{CardLast4: "0000"}, func(int) bool { return false }},
		{"fingerprint", payment.PaymentFilter{CardFingerprint: "fp_same_mc"}, func(i int) bool { return i%2 == 1 }},
		{"exact amount", payment.PaymentFilter{AmountMin: 500, AmountMax: 500}, func(i int) bool { return i == 4 }},
		{"amount range", payment.PaymentFilter{AmountMin: 300, AmountMax: 800}, func(i int) bool { return i >= 2 && i <= 7 }},
		{"amount from", payment.PaymentFilter{AmountMin: 1500}, func(i int) bool { return i >= 14 }},
		{"amount up to", payment.PaymentFilter{AmountMax: 250}, func(i int) bool { return i <= 1 }},
		{"created range", payment.PaymentFilter{CreatedFrom: t0.Add(2 * time.Hour), CreatedBefore: t0.Add(9 * time.Hour)},
			func(i int) bool { return i >= 2 && i < 9 }},
		{"created from", payment.PaymentFilter{CreatedFrom: t0.Add(15*time.Hour + time.Microsecond)}, func(i int) bool { return i >= 16 }},
		{"requires review", payment.PaymentFilter{RequiresReview: true}, func(i int) bool { return i%7 == 0 }},
		{"card, amount and time", payment.PaymentFilter{CardLast4: "4242", AmountMin: 200, CreatedBefore: t0.Add(11 * time.Hour)},
			func(i int) bool { return i%2 == 0 && i >= 1 && i < 11 }},
		{"customer and review", payment.PaymentFilter{CustomerID: customer, RequiresReview: true},
			func(i int) bool { return i%3 == 0 && i%7 == 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := []*payment.Payment{}
			for _, p := range all {
				if tc.match(idx[p.ID]) {
					want = append(want, p)
				}
			}
			for _, limit := range []int{3, 100} {
				equal(t, fmt.Sprintf("Payments(%+v) in pages of %d", tc.f, limit), ids(pages(t, a.ID, tc.f, limit), payID), ids(want, payID))
			}
		})
	}
	t.Run("oldest first", func(t *testing.T) {
		got := pages(t, a.ID, payment.PaymentFilter{CardLast4: "4444", ListParams: payment.ListParams{Ascending: true}}, 4)
		var want []string
		for i := len(all) - 1; i >= 0; i-- {
			if idx[all[i].ID]%2 == 1 {
				want = append(want, all[i].ID)
			}
		}
		equal(t, "payments on the mastercard, oldest first", ids(got, payID), want)
	})
	t.Run("another account's cursor", func(t *testing.T) {
		_, _, err := s.Payments(ctx, a.ID, payment.PaymentFilter{CardLast4: "4242", ListParams: payment.ListParams{StartingAfter: bIDs[0]}})
		if !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("Payments after another account's payment: %v; want ErrNotFound", err)
		}
	})
	t.Run("the other account", func(t *testing.T) {
		got := pages(t, b.ID, payment.PaymentFilter{CardFingerprint: "fp_same_visa", RequiresReview: true, CustomerID: customer}, 100)
		if len(got) != 20 {
			t.Errorf("b's own payments by fingerprint, review and customer: %d; want 20", len(got))
		}
	})
}

// testPaymentStats checks PaymentStats: the volume per currency of the
// payments that authorized money, the attempts per gateway by outcome
// with nearest-rank latency percentiles, the series with its empty
// buckets, and the backlog — counting only the account's payments and,
// but for the backlog, only those of the range.
func testPaymentStats(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	gw1, gw2 := payment.NewID(payment.PrefixGateway), payment.NewID(payment.PrefixGateway)
	from := t0.Truncate(time.Hour)
	add := func(accountID, gw, currency string, at time.Time, amount int64, outcome payment.Outcome, latency time.Duration) *payment.Payment {
		t.Helper()
		p := newPayment(accountID, at)
		p.GatewayID, p.Currency, p.Amount = gw, currency, amount
		op := p.Operations[0]
		op.GatewayID, op.Currency, op.Amount, op.Outcome = gw, currency, amount, outcome
		op.UpdatedAt = at.Add(latency)
		p.AmountAuthorized = 0
		switch outcome {
		case payment.OutcomeSucceeded:
			p.AmountAuthorized, p.Status = amount, payment.StatusAuthorized
		case payment.OutcomeDeclined:
			p.Status = payment.StatusDeclined
		case payment.OutcomeUnknown:
			p.Status = payment.StatusUnknown
		case payment.OutcomePending:
			p.Status = payment.StatusInitiated
		default:
			p.Status = payment.StatusFailed
		}
		createPayment(t, s, p)
		return p
	}
	// gw1: ten answered attempts of 1..10 ms in hour 0 (eight succeeded,
	// two declined), one not sent in hour 3.
	for i := range 10 {
		outcome := payment.OutcomeSucceeded
		if i >= 8 {
			outcome = payment.OutcomeDeclined
		}
		add(a.ID, gw1, "EUR", from.Add(time.Duration(i)*time.Minute), 1000, outcome, time.Duration(i+1)*time.Millisecond)
	}
	add(a.ID, gw1, "EUR", from.Add(3*time.Hour), 1000, payment.OutcomeNotSent, time.Second)
	// gw2: NOK in hour 2: one succeeded (30 ms), one failed (10 ms), one
	// unknown, one pending.
	add(a.ID, gw2, "NOK", from.Add(2*time.Hour), 5000, payment.OutcomeSucceeded, 30*time.Millisecond)
	add(a.ID, gw2, "NOK", from.Add(2*time.Hour+time.Minute), 7000, payment.OutcomeFailed, 10*time.Millisecond)
	add(a.ID, gw2, "NOK", from.Add(2*time.Hour+2*time.Minute), 9000, payment.OutcomeUnknown, 0)
	add(a.ID, gw2, "NOK", from.Add(2*time.Hour+3*time.Minute), 9000, payment.OutcomePending, 0)
	// Outside the range (before and at its end): backlog only.
	add(a.ID, gw1, "EUR", from.Add(-time.Minute), 1000, payment.OutcomeUnknown, 0)
	review := add(a.ID, gw1, "EUR", from.Add(4*time.Hour), 1000, payment.OutcomeSucceeded, time.Millisecond)
	if _, err := s.UpdatePayment(ctx, a.ID, review.ID, func(p *payment.Payment) (*payment.PaymentChange, error) {
		p.RequiresReview = true
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	// Another account, inside the range: counts nowhere.
	for i := range 3 {
		add(b.ID, gw1, "EUR", from.Add(time.Duration(i)*time.Minute), 99, payment.OutcomeSucceeded, time.Hour)
		add(b.ID, gw1, "EUR", from, 99, payment.OutcomeUnknown, 0)
	}

	got, err := s.PaymentStats(ctx, a.ID, payment.StatsQuery{From: from, To: from.Add(4 * time.Hour), Bucket: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "volume", got.Volume, []payment.CurrencyVolume{{Currency: "EUR", Count: 8, Amount: 8000}, {Currency: "NOK", Count: 1, Amount: 5000}})
	want1 := payment.GatewayStats{GatewayID: gw1, Succeeded: 8, Declined: 2, NotSent: 1,
		LatencyP50: 5 * time.Millisecond, LatencyP95: 10 * time.Millisecond}
	want2 := payment.GatewayStats{GatewayID: gw2, Succeeded: 1, Failed: 1, Unknown: 1, Pending: 1,
		LatencyP50: 10 * time.Millisecond, LatencyP95: 30 * time.Millisecond}
	wantGW := []payment.GatewayStats{want1, want2}
	if gw2 < gw1 {
		wantGW = []payment.GatewayStats{want2, want1}
	}
	equal(t, "gateways", got.Gateways, wantGW)
	if r := want1.ApprovalRate(); r != 0.8 {
		t.Errorf("gw1 approval rate = %v; want 0.8", r)
	}
	equal(t, "series", got.Series, []payment.StatsBucket{
		{Start: from, Payments: 10, Authorized: 8},
		{Start: from.Add(time.Hour)},
		{Start: from.Add(2 * time.Hour), Payments: 4, Authorized: 1},
		{Start: from.Add(3 * time.Hour), Payments: 1},
	})
	if got.Unknown != 2 || got.Review != 1 {
		t.Errorf("backlog = %d unknown, %d review; want 2, 1", got.Unknown, got.Review)
	}

	// A range of one bucket and a half, of an account with nothing.
	empty, err := s.PaymentStats(ctx, newAccount(t, s).ID, payment.StatsQuery{From: from, To: from.Add(90 * time.Minute), Bucket: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "stats of an empty account", empty, &payment.PaymentStats{Volume: []payment.CurrencyVolume{}, Gateways: []payment.GatewayStats{},
		Series: []payment.StatsBucket{{Start: from}, {Start: from.Add(time.Hour)}}})

	for _, q := range []payment.StatsQuery{
		{From: from, To: from, Bucket: time.Hour},
		{From: from, To: from.Add(time.Hour)},
		{From: from, To: from.Add(365 * 24 * time.Hour), Bucket: time.Minute},
	} {
		if _, err := s.PaymentStats(ctx, a.ID, q); err == nil {
			t.Errorf("PaymentStats(%+v) succeeded; want an error", q)
		}
	}
}

// testObjectEvents checks an object's audit trail: its events only, of
// its account only, newest first or oldest first, paginated.
func testObjectEvents(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	p := newPayment(a.ID, t0)
	var want []string
	want = append(want, createPayment(t, s, p).ID)
	// b has events whose object id is a's payment's (no such event is
	// ever written, but a store that forgot the account would show them).
	bp := newPayment(b.ID, t0)
	createPayment(t, s, bp)
	for i := range 6 {
		if _, err := s.UpdatePayment(ctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
			ev := newEvent(a.ID, "payment.updated", p.ID, t0.Add(time.Duration(i)*time.Second))
			want = append(want, ev.ID)
			return &payment.PaymentChange{Events: []*payment.Event{ev}}, nil
		}); err != nil {
			t.Fatal(err)
		}
		createPayment(t, s, newPayment(a.ID, t0)) // someone else's event
		other := newEvent(b.ID, "payment.updated", p.ID, t0)
		if _, err := s.UpdatePayment(ctx, b.ID, bp.ID, func(*payment.Payment) (*payment.PaymentChange, error) {
			return &payment.PaymentChange{Events: []*payment.Event{other}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	newest := make([]string, len(want))
	for i, id := range want {
		newest[len(want)-1-i] = id
	}
	evID := func(ev *payment.Event) string { return ev.ID }
	for _, tc := range []struct {
		asc  bool
		want []string
	}{{false, newest}, {true, want}} {
		var got []string
		after := ""
		for range 10 {
			evs, more, err := s.ObjectEvents(ctx, a.ID, p.ID, payment.ListParams{Limit: 3, StartingAfter: after, Ascending: tc.asc})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				if ev.ObjectID != p.ID || ev.AccountID != a.ID {
					t.Fatalf("event %s of %s about %s in the trail", ev.ID, ev.AccountID, ev.ObjectID)
				}
			}
			got = append(got, ids(evs, evID)...)
			if !more {
				break
			}
			after = evs[len(evs)-1].ID
		}
		equal(t, fmt.Sprintf("trail of the payment (ascending %v)", tc.asc), got, tc.want)
	}
	evs, _, err := s.ObjectEvents(ctx, a.ID, bp.ID, payment.ListParams{})
	if err != nil || len(evs) != 0 {
		t.Errorf("trail of another account's payment = %d events, %v; want none", len(evs), err)
	}
	bEvs, _, err := s.ObjectEvents(ctx, b.ID, p.ID, payment.ListParams{})
	if err != nil || len(bEvs) != 6 {
		t.Fatalf("b's events about a's payment id = %d events, %v; want 6", len(bEvs), err)
	}
	if _, _, err := s.ObjectEvents(ctx, a.ID, p.ID, payment.ListParams{StartingAfter: bEvs[0].ID}); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("trail after another account's event: %v; want ErrNotFound", err)
	}
}
