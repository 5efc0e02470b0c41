package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

type routedTrace struct {
	Router   string `json:"router"`
	Kind     string `json:"kind"`
	Reason   string `json:"reason"`
	Attempts []struct {
		Gateway     string `json:"gateway"`
		Skipped     bool   `json:"skipped"`
		Reason      string `json:"reason"`
		Operation   string `json:"operation"`
		Outcome     string `json:"outcome"`
		DeclineCode string `json:"decline_code"`
	} `json:"attempts"`
}

func traceOf(t *testing.T, p *payment.Payment) routedTrace {
	t.Helper()
	var tr routedTrace
	if err := json.Unmarshal(p.RoutingTrace, &tr); err != nil {
		t.Fatalf("routing trace %q: %v", p.RoutingTrace, err)
	}
	return tr
}

func (f *fixture) router(t *testing.T, p *payment.Principal, settings map[string]any) *engine.GatewayDetail {
	t.Helper()
	r, err := f.eng.CreateGateway(context.Background(), p, engine.GatewayInput{Type: engine.RouterType, Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func cascade(cascadeOn []any, gws ...string) map[string]any {
	list := make([]any, len(gws))
	for i, g := range gws {
		list[i] = g
	}
	s := map[string]any{"default": map[string]any{"cascade": list}}
	if cascadeOn != nil {
		s["cascade_on"] = cascadeOn
	}
	return s
}

// TestCascade: [A in outage, B] succeeds on B with two operations and a
// trace that says why; follow-ups go to B.
func TestCascade(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		a := f.simGateway(t, p, map[string]any{"outage": true}).ID
		b := f.simGateway(t, p, nil).ID
		r := f.router(t, p, cascade(nil, a, b))
		pm := f.card(t, p, "4111111111111111", "").ID
		pay := f.pay(t, p, pm, r.ID, 1000, false)
		if pay.Status != payment.StatusAuthorized || pay.GatewayID != b || pay.RouterID != r.ID || len(pay.Operations) != 2 {
			t.Fatalf("cascaded payment: %s on %s, %d operations", pay.Status, pay.GatewayID, len(pay.Operations))
		}
		if pay.Operations[0].GatewayID != a || pay.Operations[0].Outcome != payment.OutcomeNotSent || pay.Operations[1].GatewayID != b {
			t.Fatalf("operations: %+v / %+v", pay.Operations[0], pay.Operations[1])
		}
		tr := traceOf(t, pay)
		if tr.Kind != "cascade" || len(tr.Attempts) != 2 || tr.Attempts[0].Outcome != "not_sent" ||
			!strings.Contains(tr.Attempts[0].Reason, "not sent") || tr.Attempts[1].Outcome != "succeeded" {
			t.Fatalf("trace: %s", pay.RoutingTrace)
		}
		c, _, err := f.eng.Capture(ctx, p, pay.ID, nil)
		if err != nil || c.Status != payment.StatusCaptured || c.Operations[2].GatewayID != b {
			t.Fatalf("capture after a cascade: %v %v", c, err)
		}
		// Between attempts the payment never showed a terminal status: the
		// first attempt's result was settled with the second's reservation.
		evs, _, _ := f.eng.Events(ctx, p.Account.ID, payment.ListParams{Limit: 100})
		attempts := 0
		for _, ev := range evs {
			if ev.ObjectID != pay.ID {
				continue
			}
			if ev.Type == "payment.status_changed" && strings.Contains(string(ev.Data), `"to":"FAILED"`) {
				t.Errorf("the cascade published FAILED mid-route: %s", ev.Data)
			}
			if ev.Type == "payment.attempt.not_sent" {
				attempts++
			}
		}
		if attempts != 1 {
			t.Fatalf("%d payment.attempt.not_sent events, want 1", attempts)
		}

		// When every later candidate is skipped, the payment ends on the
		// attempt it moved on from.
		if _, err := f.eng.RedactGateway(ctx, p.Account.ID, b); err != nil {
			t.Fatal(err)
		}
		pay = f.pay(t, p, pm, r.ID, 1000, true)
		tr = traceOf(t, pay)
		if pay.Status != payment.StatusFailed || len(pay.Operations) != 1 || len(tr.Attempts) != 2 || !tr.Attempts[1].Skipped {
			t.Fatalf("cascade with nothing left: %s, %d operations, trace %s", pay.Status, len(pay.Operations), pay.RoutingTrace)
		}
	})
}

// TestCascadeOnlyWhereAllowed: a soft decline moves on only when listed; an
// unknown outcome never does.
func TestCascadeOnlyWhereAllowed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		p, _ := f.account(t, false)
		a, b := f.simGateway(t, p, nil).ID, f.simGateway(t, p, nil).ID
		pm := f.card(t, p, "4111111111111111", "").ID
		listed := f.router(t, p, cascade([]any{"do_not_honor"}, a, b))
		unlisted := f.router(t, p, cascade([]any{"insufficient_funds"}, a, b))
		// 1005 is declined do_not_honor by every simulator.
		if pay := f.pay(t, p, pm, listed.ID, 1005, true); len(pay.Operations) != 2 || pay.Status != payment.StatusDeclined {
			t.Fatalf("listed soft decline: %d operations, %s", len(pay.Operations), pay.Status)
		}
		if pay := f.pay(t, p, pm, unlisted.ID, 1005, true); len(pay.Operations) != 1 || pay.Status != payment.StatusDeclined {
			t.Fatalf("unlisted soft decline: %d operations, %s", len(pay.Operations), pay.Status)
		}
		// A hard decline never moves on, whatever is listed.
		hard := f.card(t, p, "4000000000009987", "").ID // lost_card
		if pay := f.pay(t, p, hard, listed.ID, 1000, true); len(pay.Operations) != 1 {
			t.Fatalf("hard decline cascaded: %d operations", len(pay.Operations))
		}
		// The lost-response card: unknown, so the cascade must stop.
		lost := f.card(t, p, "4100000000000001", "").ID
		pay := f.pay(t, p, lost, listed.ID, 1000, true)
		if len(pay.Operations) != 1 || pay.Status != payment.StatusUnknown || pay.GatewayID != a {
			t.Fatalf("unknown outcome: %d operations, %s on %s", len(pay.Operations), pay.Status, pay.GatewayID)
		}
	})
}

// TestCircuitBreaker: consecutive not-sent outcomes open A's breaker, A is
// then skipped (not called), and after the rest one trial half-opens it.
func TestCircuitBreaker(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		a := f.simGateway(t, p, map[string]any{"outage": true}).ID
		b := f.simGateway(t, p, nil).ID
		r := f.router(t, p, cascade(nil, a, b))
		pm := f.card(t, p, "4111111111111111", "").ID
		callsOn := func(gw string) int {
			n := 0
			for _, c := range f.sim.Calls() {
				if c.Config.GatewayID == gw {
					n++
				}
			}
			return n
		}
		for range 3 { // the fixture's threshold
			f.pay(t, p, pm, r.ID, 1000, true)
		}
		if st := f.eng.BreakerStatus(a); st.State != "open" || st.ConsecutiveFailures != 3 {
			t.Fatalf("after 3 failures: %+v", st)
		}
		if d, _ := f.eng.Gateway(ctx, p.Account.ID, a); d.Health.State != "open" {
			t.Fatalf("gateway shows health %+v", d.Health)
		}
		before := callsOn(a)
		pay := f.pay(t, p, pm, r.ID, 1000, true)
		if callsOn(a) != before || len(pay.Operations) != 1 || pay.GatewayID != b {
			t.Fatalf("open breaker: A called %d more times, %d operations", callsOn(a)-before, len(pay.Operations))
		}
		if tr := traceOf(t, pay); !tr.Attempts[0].Skipped || !strings.Contains(tr.Attempts[0].Reason, "circuit breaker") {
			t.Fatalf("trace of a skipped gateway: %s", pay.RoutingTrace)
		}
		// Rested: one trial. A is healthy again, so the trial closes it.
		if _, err := f.eng.UpdateGateway(ctx, p, a, engine.GatewayUpdate{Settings: map[string]any{}}); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(31 * time.Second)
		pay = f.pay(t, p, pm, r.ID, 1000, true)
		if callsOn(a) != before+1 || pay.GatewayID != a {
			t.Fatalf("half-open trial: A called %d times, payment on %s", callsOn(a)-before, pay.GatewayID)
		}
		if st := f.eng.BreakerStatus(a); st.State != "closed" {
			t.Fatalf("after a good trial: %+v", st)
		}
	})
}

// TestSplitAndPinning: a split uses both gateways; with pin_recurring a
// merchant-initiated payment goes where the first cardholder-initiated
// payment on the card went.
func TestSplitAndPinning(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		a, b := f.simGateway(t, p, nil).ID, f.simGateway(t, p, nil).ID
		r := f.router(t, p, map[string]any{"pin_recurring": true,
			"default": map[string]any{"split": []any{map[string]any{"gateway": a, "weight": 50}, map[string]any{"gateway": b, "weight": 50}}}})
		pm := f.card(t, p, "4111111111111111", "").ID
		seen := map[string]int{}
		for range 40 {
			seen[f.pay(t, p, pm, r.ID, 100, true).GatewayID]++
		}
		if seen[a] == 0 || seen[b] == 0 {
			t.Fatalf("a 50/50 split used %v", seen)
		}
		card := f.card(t, p, "5555555555554444", "").ID
		// A cardholder-initiated payment that authorized nothing (an
		// amount ending in 13 is not sent) pins nothing; the first that
		// did is the one. Tried until the two went to different gateways,
		// so that pinning to the wrong one would show.
		var cit *payment.Payment
		for range 30 {
			card = f.card(t, p, "5555555555554444", "").ID
			failed, err := f.eng.CreatePayment(ctx, p, engine.PaymentInput{Amount: 113, Currency: "EUR", PaymentMethodID: card, GatewayID: r.ID,
				StoredCredential: &payment.StoredCredential{Initiator: "cardholder", Reason: "recurring"}})
			if err != nil || failed.AmountAuthorized != 0 {
				t.Fatalf("a purchase of 113: %v %v", failed, err)
			}
			cit, err = f.eng.CreatePayment(ctx, p, engine.PaymentInput{Amount: 100, Currency: "EUR", PaymentMethodID: card, GatewayID: r.ID,
				StoredCredential: &payment.StoredCredential{Initiator: "cardholder", Reason: "recurring"}})
			if err != nil {
				t.Fatal(err)
			}
			if cit.GatewayID != failed.GatewayID {
				break
			}
		}
		for range 10 {
			mit, err := f.eng.CreatePayment(ctx, p, engine.PaymentInput{Amount: 100, Currency: "EUR", PaymentMethodID: card, GatewayID: r.ID,
				StoredCredential: &payment.StoredCredential{Initiator: "merchant", Reason: "recurring"}})
			if err != nil {
				t.Fatal(err)
			}
			if mit.GatewayID != cit.GatewayID || traceOf(t, mit).Kind != "pinned" {
				t.Fatalf("merchant-initiated payment on %s, first cardholder one on %s", mit.GatewayID, cit.GatewayID)
			}
		}
	})
}

// TestRouterValidation: a router's settings are checked when saved.
func TestRouterValidation(t *testing.T) {
	f := newFixture(t, openSQLite(t))
	ctx := context.Background()
	p, _ := f.account(t, false)
	other, _ := f.account(t, false)
	a := f.simGateway(t, p, nil).ID
	foreign := f.simGateway(t, other, nil).ID
	r := f.router(t, p, cascade(nil, a))
	for _, c := range []struct {
		name     string
		settings map[string]any
		param    string
	}{
		{"unknown gateway", map[string]any{"rules": []any{map[string]any{"when": map[string]any{"currency": []any{"EUR"}}, "then": map[string]any{"gateway": "gw_nope"}}}}, "settings.rules[0].then.gateway"},
		{"another account's gateway", cascade(nil, a, foreign), "settings.default.cascade[1]"},
		{"router in a router", cascade(nil, r.ID), "settings.default.cascade[0]"},
	} {
		_, err := f.eng.CreateGateway(ctx, p, engine.GatewayInput{Type: engine.RouterType, Settings: c.settings})
		if e, ok := payment.AsError(err); !ok || e.Kind != payment.KindInvalid || e.Param != c.param {
			t.Errorf("%s: %v, want 422 on %s", c.name, err, c.param)
		}
	}
	if _, err := f.eng.SetGatewayCredentials(ctx, p, r.ID, map[string]any{"login": "x"}, "", false); errCode(err) != payment.CodeParameterUnknown {
		t.Fatalf("credentials on a router: %v", err)
	}
	if _, err := f.eng.UpdateGateway(ctx, p, r.ID, engine.GatewayUpdate{Settings: cascade(nil, "gw_nope")}); err == nil {
		t.Fatal("an update to an unknown gateway was accepted")
	}
	if _, err := f.eng.StandaloneOperation(ctx, p, engine.StandaloneInput{Kind: payment.OpVerify,
		PaymentMethodID: f.card(t, p, "4111111111111111", "").ID, GatewayID: r.ID}); errCode(err) != "operation_not_supported" {
		t.Fatalf("verify on a router: %v", err)
	}
}
