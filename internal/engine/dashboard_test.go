package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/routing"
)

// TestPaymentSearch: the dashboard finds payments by card (last four and
// fingerprint, as the vault computed them), amount and time, within the
// account only, and refuses a search that makes no sense with a 4xx naming
// its field.
func TestPaymentSearch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		other, _ := f.account(t, false)
		gw := f.simGateway(t, p, nil).ID
		visa := f.card(t, p, "4111111111111111", "")
		mc := f.card(t, p, "5555555555554444", "")
		v1 := f.pay(t, p, visa.ID, gw, 1000, true)
		f.clock.Add(time.Hour)
		m1 := f.pay(t, p, mc.ID, gw, 2500, true)
		v2 := f.pay(t, p, visa.ID, gw, 4000, false)
		// The other account pays with the same card number.
		og := f.simGateway(t, other, nil).ID
		ov := f.card(t, other, "4111111111111111", "")
		f.pay(t, other, ov.ID, og, 1000, true)

		search := func(f2 payment.PaymentFilter) []string {
			t.Helper()
			ps, _, err := f.eng.Payments(ctx, p.Account.ID, f2)
			if err != nil {
				t.Fatalf("Payments(%+v): %v", f2, err)
			}
			return ids(ps)
		}
		for _, tc := range []struct {
			name string
			f    payment.PaymentFilter
			want []string
		}{
			{"last four", payment.PaymentFilter{CardLast4: "1111"}, []string{v2.ID, v1.ID}},
			{"fingerprint", payment.PaymentFilter{CardFingerprint: mc.Card.Fingerprint}, []string{m1.ID}},
			{"another account's fingerprint", payment.PaymentFilter{CardFingerprint: ov.Card.Fingerprint}, nil},
			{"amount range", payment.PaymentFilter{AmountMin: 2000, AmountMax: 4000}, []string{v2.ID, m1.ID}},
			{"exact amount", payment.PaymentFilter{AmountMin: 1000, AmountMax: 1000}, []string{v1.ID}},
			{"since an hour ago", payment.PaymentFilter{CreatedFrom: f.clock.Now()}, []string{v2.ID, m1.ID}},
			{"card and time", payment.PaymentFilter{CardLast4: "1111", CreatedBefore: f.clock.Now()}, []string{v1.ID}},
			{"id", payment.PaymentFilter{ID: m1.ID}, []string{m1.ID}},
		} {
			if got := search(tc.f); !equalStrings(got, tc.want) {
				t.Errorf("%s: %v; want %v", tc.name, got, tc.want)
			}
		}
		if ov.Card.Fingerprint == visa.Card.Fingerprint {
			t.Error("the same card has the same fingerprint in two accounts")
		}

		for _, tc := range []struct {
			f     payment.PaymentFilter
			param string
		}{
			{payment.PaymentFilter{CardLast4: "11a1"}, "card_last4"},
			{payment.PaymentFilter{CardLast4: "4111111111111111"}, "card_last4"},
			{payment.PaymentFilter{AmountMin: -1}, "amount_min"},
			{payment.PaymentFilter{AmountMax: -5}, "amount_max"},
			{payment.PaymentFilter{AmountMin: 500, AmountMax: 100}, "amount_max"},
			{payment.PaymentFilter{CreatedFrom: f.clock.Now(), CreatedBefore: f.clock.Now()}, "created_before"},
			{payment.PaymentFilter{Status: "PAID"}, "status"},
		} {
			_, _, err := f.eng.Payments(ctx, p.Account.ID, tc.f)
			if errCode(err) != payment.CodeParameterInvalid || errParam(err) != tc.param {
				t.Errorf("Payments(%+v) = %v; want %s naming %s", tc.f, err, payment.CodeParameterInvalid, tc.param)
			}
			// The card number itself is never echoed.
			if err != nil && containsDigits(err.Error(), "4111111111111111") {
				t.Errorf("error echoes a card number: %v", err)
			}
		}
	})
}

func ids(ps []*payment.Payment) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func containsDigits(s, digits string) bool {
	for i := 0; i+len(digits) <= len(s); i++ {
		if s[i:i+len(digits)] == digits {
			return true
		}
	}
	return false
}

// TestOverview: today's and the month's overview count the account's
// approved and declined attempts per gateway, its volume per currency,
// the series bucket of each payment and the backlog; another account's
// overview sees none of it.
func TestOverview(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		other, _ := f.account(t, false)
		gw := f.simGateway(t, p, nil).ID
		ok := f.card(t, p, "4111111111111111", "").ID
		f.pay(t, p, ok, gw, 1000, true)
		f.pay(t, p, ok, gw, 2000, false)
		f.pay(t, p, f.card(t, p, "4012888888881881", "").ID, gw, 3000, true) // declined
		f.pay(t, p, f.card(t, p, "4100000000000001", "").ID, gw, 500, true)  // unknown

		o, err := f.eng.Overview(ctx, p.Account.ID, engine.OverviewToday)
		if err != nil {
			t.Fatal(err)
		}
		now := f.clock.Now()
		if !o.From.Equal(now.Truncate(24*time.Hour)) || o.To.Sub(o.From) != 24*time.Hour || len(o.Series) != 24 {
			t.Fatalf("today: [%s, %s) in %d buckets", o.From, o.To, len(o.Series))
		}
		if len(o.Volume) != 1 || o.Volume[0] != (payment.CurrencyVolume{Currency: "EUR", Count: 2, Amount: 3000}) {
			t.Errorf("volume = %+v; want 2 EUR payments of 3000 in all", o.Volume)
		}
		if len(o.Gateways) != 1 || o.Gateways[0].GatewayID != gw || o.Gateways[0].Succeeded != 2 || o.Gateways[0].Declined != 1 ||
			o.Gateways[0].Unknown != 1 {
			t.Errorf("gateways = %+v", o.Gateways)
		}
		if b := o.Series[now.Hour()]; b.Payments != 4 || b.Authorized != 2 {
			t.Errorf("bucket of %d h = %+v; want 4 payments, 2 authorized", now.Hour(), b)
		}
		if o.Unknown != 1 || o.Review != 0 {
			t.Errorf("backlog = %d unknown, %d review", o.Unknown, o.Review)
		}

		f.clock.Add(48 * time.Hour)
		m, err := f.eng.Overview(ctx, p.Account.ID, engine.OverviewMonth)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Series) != 30 || m.Series[27].Payments != 4 || m.Series[29].Payments != 0 {
			t.Errorf("month series: %d buckets, %+v", len(m.Series), m.Series[27:])
		}
		today, err := f.eng.Overview(ctx, p.Account.ID, engine.OverviewToday)
		if err != nil || len(today.Volume) != 0 || today.Unknown != 1 {
			t.Errorf("two days later, today = %+v, %v; want no volume and the backlog", today, err)
		}

		o2, err := f.eng.Overview(ctx, other.Account.ID, engine.OverviewMonth)
		if err != nil || len(o2.Volume) != 0 || len(o2.Gateways) != 0 || o2.Unknown != 0 {
			t.Errorf("another account's overview = %+v, %v; want nothing", o2, err)
		}
		if _, err := f.eng.Overview(ctx, p.Account.ID, "week"); errParam(err) != "range" {
			t.Errorf("Overview(week) = %v; want an error naming range", err)
		}
	})
}

// TestGatewaysHealth: every gateway of the account with its breaker and
// its attempts of the last hour; an outage opens the breaker and shows as
// not-sent attempts; another account's gateways are not listed.
func TestGatewaysHealth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		other, _ := f.account(t, false)
		f.simGateway(t, other, nil)
		good := f.simGateway(t, p, nil).ID
		down := f.simGateway(t, p, map[string]any{"outage": true}).ID
		pm := f.card(t, p, "4111111111111111", "").ID
		f.pay(t, p, pm, good, 1000, true)
		f.clock.Add(2 * time.Hour) // the first payment leaves the window
		f.pay(t, p, pm, good, 1000, true)
		for range 3 {
			if _, err := f.eng.CreatePayment(ctx, p, engine.PaymentInput{Amount: 1000, Currency: "EUR", PaymentMethodID: pm, GatewayID: down}); err != nil {
				t.Fatal(err)
			}
		}
		hs, err := f.eng.GatewaysHealth(ctx, p.Account.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(hs) != 2 || hs[0].Detail.ID != down || hs[1].Detail.ID != good {
			t.Fatalf("health of %d gateways", len(hs))
		}
		if h := hs[1]; h.Detail.Health.State != routing.BreakerClosed || h.Recent.Succeeded != 1 || h.Recent.ApprovalRate() != 1 {
			t.Errorf("good gateway: %+v, %+v", h.Detail.Health, h.Recent)
		}
		if h := hs[0]; h.Detail.Health.State != routing.BreakerOpen || h.Recent.NotSent != 3 || h.Recent.Succeeded != 0 {
			t.Errorf("gateway in an outage: %+v, %+v", h.Detail.Health, h.Recent)
		}
	})
}

// TestReviewQueueAndTrail: a payment the reconciler gave up on is in the
// review queue with its attempts, and its audit trail tells the story;
// neither shows to another account, and resolving it empties the queue.
func TestReviewQueueAndTrail(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		other, _ := f.account(t, false)
		g := f.simGateway(t, p, nil)
		f.pay(t, p, f.card(t, p, "4111111111111111", "").ID, g.ID, 1000, true)
		pay := f.pay(t, p, f.card(t, p, "4100000000000001", "").ID, g.ID, 1000, true)
		if _, err := f.eng.UpdateGateway(ctx, p, g.ID, engine.GatewayUpdate{Settings: map[string]any{"outage": true}}); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(3 * time.Minute)
		for range 3 {
			f.eng.Reconcile(ctx)
			f.clock.Add(time.Hour)
		}
		q, more, err := f.eng.ReviewQueue(ctx, p.Account.ID, payment.ListParams{})
		if err != nil || more || len(q) != 1 || q[0].ID != pay.ID {
			t.Fatalf("review queue = %v, %v, %v; want the payment", ids(q), more, err)
		}
		if op := q[0].Operations[0]; op.ReconcileAttempts != 3 || op.Outcome != payment.OutcomeUnknown {
			t.Errorf("queued operation: %d attempts, %s", op.ReconcileAttempts, op.Outcome)
		}
		if q, _, err := f.eng.ReviewQueue(ctx, other.Account.ID, payment.ListParams{}); err != nil || len(q) != 0 {
			t.Errorf("another account's review queue = %v, %v", ids(q), err)
		}

		trail, _, err := f.eng.ObjectEvents(ctx, p.Account.ID, pay.ID, payment.ListParams{})
		if err != nil || len(trail) == 0 || trail[0].Type != "payment.requires_review" {
			t.Fatalf("trail = %d events, %v; want payment.requires_review first", len(trail), err)
		}
		for _, ev := range trail {
			if ev.ObjectID != pay.ID {
				t.Errorf("event %s about %s in the payment's trail", ev.Type, ev.ObjectID)
			}
		}
		if tr, _, err := f.eng.ObjectEvents(ctx, other.Account.ID, pay.ID, payment.ListParams{}); err != nil || len(tr) != 0 {
			t.Errorf("another account's trail of the payment = %d events, %v", len(tr), err)
		}
		if _, _, err := f.eng.ObjectEvents(ctx, other.Account.ID, pay.ID, payment.ListParams{StartingAfter: trail[0].ID}); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("another account's trail after the payment's event: %v; want not found", err)
		}

		if _, err := f.eng.ResolveOperation(ctx, p, pay.Operations[0].ID, payment.OutcomeSucceeded, "", "checked"); err != nil {
			t.Fatal(err)
		}
		if q, _, err := f.eng.ReviewQueue(ctx, p.Account.ID, payment.ListParams{}); err != nil || len(q) != 0 {
			t.Errorf("after resolving, review queue = %v, %v", ids(q), err)
		}
	})
}
