package engine_test

import (
	"context"
	"encoding/json"
	"regexp"

	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// simGateway configures a simulator gateway with versioned credentials.
func (f *fixture) simGateway(t testing.TB, p *payment.Principal, settings map[string]any) *engine.GatewayDetail {
	t.Helper()
	g, err := f.eng.CreateGateway(context.Background(), p, engine.GatewayInput{Type: "simulator", Description: "sim",
		Credentials: map[string]any{"login": "merchant-one", "password": "pw-version-one-secret"}, Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func (f *fixture) card(t testing.TB, p *payment.Principal, number, cvc string) *payment.PaymentMethod {
	t.Helper()
	c := visa(cvc)
	c.Number = number
	pm, err := f.eng.CreatePaymentMethod(context.Background(), p, engine.PaymentMethodInput{Type: "card", Card: c, Retain: true})
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

func (f *fixture) pay(t testing.TB, p *payment.Principal, pm, gw string, amount int64, capture bool) *payment.Payment {
	t.Helper()
	pay, err := f.eng.CreatePayment(context.Background(), p, engine.PaymentInput{Amount: amount, Currency: "EUR",
		PaymentMethodID: pm, GatewayID: gw, Capture: &capture, Reference: "order-1"})
	if err != nil {
		t.Fatal(err)
	}
	return pay
}

func errCode(err error) string {
	if e, ok := payment.AsError(err); ok {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return "non-payment error: " + err.Error()
}

// TestActionTable is the exhaustive table of status × action: each cell
// is allowed or the exact error.
func TestActionTable(t *testing.T) {
	allowed := map[payment.Status][]engine.Action{
		payment.StatusAuthorized:                {engine.ActionCapture, engine.ActionVoid},
		payment.StatusPartiallyCaptured:         {engine.ActionCapture, engine.ActionRefund, engine.ActionVoid},
		payment.StatusPartiallyCapturedRefunded: {engine.ActionCapture, engine.ActionRefund, engine.ActionVoid},
		payment.StatusCaptured:                  {engine.ActionRefund},
		payment.StatusPartiallyRefunded:         {engine.ActionRefund},
	}
	statuses := []payment.Status{payment.StatusInitiated, payment.StatusAuthorized, payment.StatusPartiallyCaptured,
		payment.StatusCaptured, payment.StatusPartiallyCapturedRefunded, payment.StatusPartiallyRefunded, payment.StatusRefunded,
		payment.StatusAuthorizationVoided, payment.StatusDeclined, payment.StatusFailed, payment.StatusUnknown, payment.StatusOnHold}
	for _, s := range statuses {
		for _, a := range engine.Actions {
			err := engine.CheckAction(a, s)
			want := false
			for _, ok := range allowed[s] {
				want = want || ok == a
			}
			if want {
				if err != nil {
					t.Errorf("%s on %s: %v, want allowed", a, s, err)
				}
				continue
			}
			e, ok := payment.AsError(err)
			if !ok || e.Kind != payment.KindConflict || e.Code != payment.CodeInvalidState || !strings.Contains(e.Message, string(s)) {
				t.Errorf("%s on %s: %v, want 409 invalid_state naming the status", a, s, err)
			}
		}
	}
}

// TestPaymentLifecycles drives payments into each reachable status through
// the simulator and checks amounts, statuses and the refusals on the way.
func TestPaymentLifecycles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		gw := f.simGateway(t, p, nil).ID
		pm := f.card(t, p, "4111111111111111", "123").ID
		amt := func(n int64) *int64 { return &n }
		check := func(pay *payment.Payment, _ *payment.Operation, err error) func(status payment.Status, auth, capt, ref int64) *payment.Payment {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			return func(status payment.Status, auth, capt, ref int64) *payment.Payment {
				t.Helper()
				if pay.Status != status || pay.AmountAuthorized != auth || pay.AmountCaptured != capt || pay.AmountRefunded != ref {
					t.Fatalf("payment %s %d/%d/%d, want %s %d/%d/%d", pay.Status, pay.AmountAuthorized, pay.AmountCaptured,
						pay.AmountRefunded, status, auth, capt, ref)
				}
				got, err := f.eng.Payment(ctx, p.Account.ID, pay.ID)
				if err != nil || got.Status != pay.Status || len(got.Operations) != len(pay.Operations) {
					t.Fatalf("stored payment differs: %v %v", got, err)
				}
				return pay
			}
		}
		a := f.pay(t, p, pm, gw, 1000, false)
		check(a, nil, nil)(payment.StatusAuthorized, 1000, 0, 0)
		_, _, err := f.eng.Refund(ctx, p, a.ID, nil, "")
		if errCode(err) != payment.CodeInvalidState {
			t.Fatalf("refund of an authorization: %v", err)
		}
		_, _, err = f.eng.Capture(ctx, p, a.ID, amt(1001))
		if errCode(err) != "amount_exceeds_capturable" {
			t.Fatalf("over-capture: %v", err)
		}
		a = check(f.eng.Capture(ctx, p, a.ID, amt(400)))(payment.StatusPartiallyCaptured, 1000, 400, 0)
		a = check(f.eng.Refund(ctx, p, a.ID, amt(100), "damaged"))(payment.StatusPartiallyCapturedRefunded, 1000, 400, 100)
		_, _, err = f.eng.Refund(ctx, p, a.ID, amt(301), "")
		if errCode(err) != "amount_exceeds_refundable" {
			t.Fatalf("over-refund: %v", err)
		}
		a = check(f.eng.Capture(ctx, p, a.ID, nil))(payment.StatusPartiallyRefunded, 1000, 1000, 100)
		_, _, err = f.eng.Void(ctx, p, a.ID)
		if errCode(err) != payment.CodeInvalidState {
			t.Fatalf("void after a full capture: %v", err)
		}
		a = check(f.eng.Refund(ctx, p, a.ID, nil, ""))(payment.StatusRefunded, 1000, 1000, 1000)
		if len(a.Operations) != 5 {
			t.Fatalf("%d operations, want 5", len(a.Operations))
		}

		// Partly captured and all of that refunded: the rest of the
		// authorization is still held, can be captured or released.
		h := f.pay(t, p, pm, gw, 1000, false)
		check(f.eng.Capture(ctx, p, h.ID, amt(400)))(payment.StatusPartiallyCaptured, 1000, 400, 0)
		h = check(f.eng.Refund(ctx, p, h.ID, nil, ""))(payment.StatusPartiallyCapturedRefunded, 1000, 400, 400)
		h = check(f.eng.Void(ctx, p, h.ID))(payment.StatusRefunded, 1000, 400, 400)
		if op := h.Operations[len(h.Operations)-1]; op.Kind != payment.OpVoid || op.Amount != 600 {
			t.Fatalf("void of the rest: %s of %d, want void of 600", op.Kind, op.Amount)
		}
		if _, _, err := f.eng.Capture(ctx, p, h.ID, nil); errCode(err) != payment.CodeInvalidState {
			t.Fatalf("capture after the rest was voided: %v", err)
		}

		v := f.pay(t, p, pm, gw, 500, false)
		check(f.eng.Void(ctx, p, v.ID))(payment.StatusAuthorizationVoided, 500, 0, 0)
		_, _, err = f.eng.Capture(ctx, p, v.ID, nil)
		if errCode(err) != payment.CodeInvalidState {
			t.Fatalf("capture after void: %v", err)
		}

		pur := f.pay(t, p, pm, gw, 700, true)
		check(pur, nil, nil)(payment.StatusCaptured, 700, 700, 0)

		declined := f.pay(t, p, f.card(t, p, "4000000000009995", "").ID, gw, 700, true)
		check(declined, nil, nil)(payment.StatusDeclined, 0, 0, 0)
		if op := declined.Operations[0]; op.Outcome != payment.OutcomeDeclined || op.DeclineCode != "insufficient_funds" {
			t.Fatalf("decline operation = %+v", op)
		}
		soft := f.pay(t, p, pm, gw, 1005, true)
		check(soft, nil, nil)(payment.StatusDeclined, 0, 0, 0)
		if soft.Operations[0].DeclineCode != "do_not_honor" {
			t.Fatalf(".05 amount declined with %q", soft.Operations[0].DeclineCode)
		}
		notSent := f.pay(t, p, pm, gw, 1013, true)
		check(notSent, nil, nil)(payment.StatusFailed, 0, 0, 0)
		if notSent.Operations[0].Outcome != payment.OutcomeNotSent {
			t.Fatalf(".13 amount: outcome %s", notSent.Operations[0].Outcome)
		}
		list, _, err := f.eng.Payments(ctx, p.Account.ID, payment.PaymentFilter{Status: payment.StatusDeclined})
		if err != nil || len(list) != 2 {
			t.Fatalf("DECLINED payments: %d %v", len(list), err)
		}
	})
}

// TestConcurrentRefundsAndCaptures fires 50 follow-ups of 10 at a payment
// of 100: exactly 10 succeed and the amounts end exact.
func TestConcurrentRefundsAndCaptures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		gw := f.simGateway(t, p, nil).ID
		pm := f.card(t, p, "4111111111111111", "").ID
		for _, tc := range []struct {
			name    string
			capture bool
			act     func(id string) error
			want    func(*payment.Payment) bool
			code    string
		}{
			{"refunds", true, func(id string) error {
				_, _, err := f.eng.Refund(ctx, p, id, ptr(int64(10)), "")
				return err
			}, func(p *payment.Payment) bool { return p.AmountRefunded == 100 && p.Status == payment.StatusRefunded }, "amount_exceeds_refundable"},
			{"captures", false, func(id string) error {
				_, _, err := f.eng.Capture(ctx, p, id, ptr(int64(10)))
				return err
			}, func(p *payment.Payment) bool { return p.AmountCaptured == 100 && p.Status == payment.StatusCaptured }, "amount_exceeds_capturable"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				pay := f.pay(t, p, pm, gw, 100, tc.capture)
				var wg sync.WaitGroup
				errs := make([]error, 50)
				for i := range errs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs[i] = tc.act(pay.ID)
					}()
				}
				wg.Wait()
				ok := 0
				for _, err := range errs {
					switch e, isPE := payment.AsError(err); {
					case err == nil:
						ok++
					case !isPE || (e.Kind != payment.KindInvalid && e.Kind != payment.KindConflict):
						t.Errorf("a losing request got %v, want a 4xx", err)
					case e.Code != tc.code && e.Code != payment.CodeInvalidState:
						t.Errorf("a losing request got code %s", e.Code)
					}
				}
				got, err := f.eng.Payment(ctx, p.Account.ID, pay.ID)
				if err != nil {
					t.Fatal(err)
				}
				if ok != 10 || !tc.want(got) {
					t.Fatalf("%d succeeded, payment %s captured %d refunded %d; want exactly 10 and 100", ok, got.Status, got.AmountCaptured, got.AmountRefunded)
				}
			})
		}
	})
}

func ptr[T any](v T) *T { return &v }

// TestLostResponsesAreReconciled uses the simulator's lost-response cards:
// the payment ends UNKNOWN, follow-ups are refused, and the reconciler
// settles it to what the simulator's ledger holds.
func TestLostResponsesAreReconciled(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		gw := f.simGateway(t, p, nil).ID
		auth := f.pay(t, p, f.card(t, p, "4100000000000001", "").ID, gw, 1000, false)
		purchase := f.pay(t, p, f.card(t, p, "5100000000000008", "").ID, gw, 2000, true)
		for _, pay := range []*payment.Payment{auth, purchase} {
			if pay.Status != payment.StatusUnknown || pay.Operations[0].Outcome != payment.OutcomeUnknown {
				t.Fatalf("lost response: %s / %s, want UNKNOWN", pay.Status, pay.Operations[0].Outcome)
			}
		}
		if _, _, err := f.eng.Capture(ctx, p, auth.ID, nil); errCode(err) != payment.CodeInvalidState {
			t.Fatalf("capture on an UNKNOWN authorization: %v, want invalid_state", err)
		}
		// The provider may still be working on a call that timed out: the
		// first question waits out the grace.
		if n, err := f.eng.Reconcile(ctx); err != nil || n != 0 {
			t.Fatalf("reconciled %d within the grace, %v", n, err)
		}
		f.clock.Add(3 * time.Minute)
		n, err := f.eng.Reconcile(ctx)
		if err != nil || n != 2 {
			t.Fatalf("reconciled %d, %v; want 2", n, err)
		}
		got, _ := f.eng.Payment(ctx, p.Account.ID, auth.ID)
		if got.Status != payment.StatusAuthorized || got.AmountAuthorized != 1000 || got.Operations[0].GatewayReference == "" {
			t.Fatalf("reconciled authorization: %s %d", got.Status, got.AmountAuthorized)
		}
		got, _ = f.eng.Payment(ctx, p.Account.ID, purchase.ID)
		if got.Status != payment.StatusCaptured || got.AmountCaptured != 2000 {
			t.Fatalf("reconciled purchase: %s %d", got.Status, got.AmountCaptured)
		}
		// The authorization, now known, can be captured (this card loses
		// only authorize and purchase responses).
		if c, _, err := f.eng.Capture(ctx, p, auth.ID, nil); err != nil || c.Status != payment.StatusCaptured {
			t.Fatalf("capture after reconciliation: %v %v", c, err)
		}
		// A capture whose response is lost is reconciled too.
		capLost := f.pay(t, p, f.card(t, p, "4100000000000019", "").ID, gw, 300, false)
		c, _, err := f.eng.Capture(ctx, p, capLost.ID, nil)
		if err != nil || c.Status != payment.StatusUnknown || c.AmountCaptured != 0 {
			t.Fatalf("lost capture: %v %v", c, err)
		}
		f.clock.Add(3 * time.Minute)
		if _, err := f.eng.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.eng.Payment(ctx, p.Account.ID, capLost.ID); got.Status != payment.StatusCaptured || got.AmountCaptured != 300 {
			t.Fatalf("reconciled capture: %s %d", got.Status, got.AmountCaptured)
		}
	})
}

// TestReconcilerGivesUp: while the gateway is down the reconciler backs
// off and, after the last attempt, flags the payment for review.
func TestReconcilerGivesUp(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		g := f.simGateway(t, p, nil)
		pay := f.pay(t, p, f.card(t, p, "4100000000000001", "").ID, g.ID, 1000, true)
		if _, err := f.eng.UpdateGateway(ctx, p, g.ID, engine.GatewayUpdate{Settings: map[string]any{"outage": true}}); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(3 * time.Minute) // past the grace of an unknown outcome
		for i := range 3 {
			if n, err := f.eng.Reconcile(ctx); err != nil || n != 0 {
				t.Fatalf("pass %d: settled %d, %v", i, n, err)
			}
			// Not due again until its backoff has passed.
			if ops, _ := f.eng.Reconcile(ctx); ops != 0 {
				t.Fatal("reconciled before the backoff passed")
			}
			f.clock.Add(time.Hour)
		}
		got, _ := f.eng.Payment(ctx, p.Account.ID, pay.ID)
		if !got.RequiresReview || got.Status != payment.StatusUnknown || got.Operations[0].ReconcileAttempts != 3 {
			t.Fatalf("after the last attempt: review %v status %s attempts %d", got.RequiresReview, got.Status, got.Operations[0].ReconcileAttempts)
		}
		evs, _, _ := f.eng.Events(ctx, p.Account.ID, payment.ListParams{Limit: 100})
		found := false
		for _, ev := range evs {
			found = found || ev.Type == "payment.requires_review" && ev.ObjectID == pay.ID
		}
		if !found {
			t.Fatal("no payment.requires_review event")
		}
		// The gateway back: nothing more is attempted on its own.
		if _, err := f.eng.UpdateGateway(ctx, p, g.ID, engine.GatewayUpdate{Settings: map[string]any{}}); err != nil {
			t.Fatal(err)
		}
		if n, _ := f.eng.Reconcile(ctx); n != 0 {
			t.Fatal("the reconciler went on after giving up")
		}
	})
}

// TestCredentialPinningAndRedaction rotates credentials between authorize
// and capture (the capture uses version 1), then redacts the gateway.
func TestCredentialPinningAndRedaction(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		g := f.simGateway(t, p, nil)
		pm := f.card(t, p, "4111111111111111", "").ID
		pay := f.pay(t, p, pm, g.ID, 1000, false)
		rot, err := f.eng.SetGatewayCredentials(ctx, p, g.ID, map[string]any{"login": "merchant-two", "password": "pw-version-two-secret"}, "rotated", true)
		if err != nil || rot.CredentialVersion != 2 || rot.Credentials.Version != 2 {
			t.Fatalf("rotation: %+v %v", rot, err)
		}
		// Both simulator fields are sensitive: shown masked, never whole.
		if pw := rot.Credentials.Public["password"]; pw != "••••"+"cret" || rot.Credentials.Public["login"] != "••••" {
			t.Fatalf("credentials shown as %v", rot.Credentials.Public)
		}
		c, _, err := f.eng.Capture(ctx, p, pay.ID, nil)
		if err != nil || c.Status != payment.StatusCaptured || c.Operations[1].CredentialVersion != 1 {
			t.Fatalf("capture after rotation: %v %v", c, err)
		}
		calls := f.sim.Calls()
		if last := calls[len(calls)-1]; last.Kind != payment.OpCapture || last.Config.Credentials["login"] != "merchant-one" {
			t.Fatalf("the capture reached the gateway with %q, want version 1's merchant-one", last.Config.Credentials["login"])
		}
		newPay := f.pay(t, p, pm, g.ID, 1000, true)
		if newPay.CredentialVersion != 2 || f.sim.Calls()[len(f.sim.Calls())-1].Config.Credentials["login"] != "merchant-two" {
			t.Fatalf("a new payment used version %d", newPay.CredentialVersion)
		}
		// A failed check saves nothing.
		if _, err := f.eng.SetGatewayCredentials(ctx, p, g.ID, map[string]any{"login": "invalid"}, "", true); errCode(err) != "invalid_credentials" {
			t.Fatalf("invalid credentials: %v", err)
		}
		if hist, _ := f.eng.GatewayCredentialHistory(ctx, p.Account.ID, g.ID); len(hist) != 2 || hist[0].Version != 2 {
			t.Fatalf("history after a failed check: %d versions", len(hist))
		}

		red, err := f.eng.RedactGateway(ctx, p.Account.ID, g.ID)
		if err != nil || red.State != payment.GatewayRedacted {
			t.Fatalf("redact: %v", err)
		}
		if _, err := f.eng.CreatePayment(ctx, p, engine.PaymentInput{Amount: 100, Currency: "EUR", PaymentMethodID: pm, GatewayID: g.ID}); errCode(err) != "gateway_redacted" {
			t.Fatalf("payment on a redacted gateway: %v", err)
		}
		if _, _, err := f.eng.Refund(ctx, p, newPay.ID, nil, ""); errCode(err) != "gateway_redacted" {
			t.Fatalf("refund on a redacted gateway: %v", err)
		}
		if got, err := f.eng.Payment(ctx, p.Account.ID, pay.ID); err != nil || got.Status != payment.StatusCaptured {
			t.Fatalf("existing payment after redaction: %v", err)
		}
		hist, err := f.eng.GatewayCredentialHistory(ctx, p.Account.ID, g.ID)
		if err != nil || len(hist) != 2 || hist[0].Sealed != nil || hist[1].Sealed != nil {
			t.Fatalf("credentials after redaction: %v", err)
		}
		// New credentials make it usable again.
		back, err := f.eng.SetGatewayCredentials(ctx, p, g.ID, map[string]any{"login": "merchant-three"}, "", false)
		if err != nil || back.State != payment.GatewayRetained || back.CredentialVersion != 3 {
			t.Fatalf("credentials on a redacted gateway: %+v %v", back, err)
		}
		f.pay(t, p, pm, g.ID, 100, true)
	})
}

// TestGatewayValidation: unknown, missing and mistyped credential fields are
// 422 naming the field; the modes of account and gateway are enforced.
func TestGatewayValidation(t *testing.T) {
	f := newFixture(t, openSQLite(t))
	ctx := context.Background()
	p, _ := f.account(t, false)
	cases := []struct {
		name  string
		in    engine.GatewayInput
		code  string
		param string
	}{
		{"no type", engine.GatewayInput{}, payment.CodeParameterMissing, "type"},
		{"unknown type", engine.GatewayInput{Type: "paypal"}, payment.CodeParameterInvalid, "type"},
		{"unknown credential", engine.GatewayInput{Type: "simulator", Credentials: map[string]any{"api_key": "x"}}, payment.CodeParameterUnknown, "credentials.api_key"},
		{"credential type", engine.GatewayInput{Type: "simulator", Credentials: map[string]any{"login": 5.0}}, payment.CodeParameterInvalid, "credentials.login"},
		{"setting type", engine.GatewayInput{Type: "simulator", Settings: map[string]any{"latency_ms": "fast"}}, payment.CodeParameterInvalid, "settings.latency_ms"},
		{"unknown setting", engine.GatewayInput{Type: "simulator", Settings: map[string]any{"base_url": "http://x"}}, payment.CodeParameterUnknown, "settings.base_url"},
		{"disabled op", engine.GatewayInput{Type: "simulator", DisabledOperations: []string{"steal"}}, payment.CodeParameterInvalid, "disabled_operations[0]"},
		{"live gateway on a test account", engine.GatewayInput{Type: "simulator", Sandbox: ptr(false)}, "gateway_not_allowed", "sandbox"},
	}
	for _, c := range cases {
		_, err := f.eng.CreateGateway(ctx, p, c.in)
		if e, ok := payment.AsError(err); !ok || e.Code != c.code || e.Param != c.param {
			t.Errorf("%s: %v, want %s on %s", c.name, err, c.code, c.param)
		}
	}
	if gs, _, _ := f.eng.Gateways(ctx, p.Account.ID, payment.ListParams{}); len(gs) != 0 {
		t.Fatalf("refused gateways were stored: %d", len(gs))
	}
	live, _ := f.account(t, true)
	if _, err := f.eng.CreateGateway(ctx, live, engine.GatewayInput{Type: "simulator"}); errCode(err) != "gateway_not_allowed" {
		t.Fatalf("simulator on a live account: %v", err)
	}
	// A disabled operation is refused before anything is sent.
	g, err := f.eng.CreateGateway(ctx, p, engine.GatewayInput{Type: "simulator", DisabledOperations: []string{"purchase"}})
	if err != nil {
		t.Fatal(err)
	}
	pm := f.card(t, p, "4111111111111111", "")
	before := len(f.sim.Calls())
	if _, err := f.eng.CreatePayment(ctx, p, engine.PaymentInput{Amount: 100, Currency: "EUR", PaymentMethodID: pm.ID, GatewayID: g.ID}); errCode(err) != "operation_disabled" {
		t.Fatalf("disabled purchase: %v", err)
	}
	if len(f.sim.Calls()) != before {
		t.Fatal("a refused payment reached the gateway")
	}
}

// TestPaymentInputValidation: every bad input names its field and creates
// nothing.
func TestPaymentInputValidation(t *testing.T) {
	f := newFixture(t, openSQLite(t))
	ctx := context.Background()
	p, _ := f.account(t, false)
	other, _ := f.account(t, false)
	gw := f.simGateway(t, p, nil).ID
	pm := f.card(t, p, "4111111111111111", "").ID
	otherPM := f.card(t, other, "4111111111111111", "").ID
	otherGW := f.simGateway(t, other, nil).ID
	base := func(mod func(*engine.PaymentInput)) engine.PaymentInput {
		in := engine.PaymentInput{Amount: 100, Currency: "EUR", PaymentMethodID: pm, GatewayID: gw}
		mod(&in)
		return in
	}
	cases := []struct {
		name, code, param string
		in                engine.PaymentInput
	}{
		{"zero amount", payment.CodeParameterInvalid, "amount", base(func(in *engine.PaymentInput) { in.Amount = 0 })},
		{"negative amount", payment.CodeParameterInvalid, "amount", base(func(in *engine.PaymentInput) { in.Amount = -5 })},
		{"huge amount", payment.CodeParameterInvalid, "amount", base(func(in *engine.PaymentInput) { in.Amount = payment.MaxAmount + 1 })},
		{"no currency", payment.CodeParameterMissing, "currency", base(func(in *engine.PaymentInput) { in.Currency = "" })},
		{"bad currency", payment.CodeParameterInvalid, "currency", base(func(in *engine.PaymentInput) { in.Currency = "eur" })},
		{"no payment method", payment.CodeParameterMissing, "payment_method", base(func(in *engine.PaymentInput) { in.PaymentMethodID = "" })},
		{"other account's payment method", payment.CodeResourceMissing, "payment_method", base(func(in *engine.PaymentInput) { in.PaymentMethodID = otherPM })},
		{"other account's gateway", payment.CodeResourceMissing, "gateway", base(func(in *engine.PaymentInput) { in.GatewayID = otherGW })},
		{"unknown gsf", payment.CodeParameterUnknown, "gateway_specific_fields.foo", base(func(in *engine.PaymentInput) { in.GatewaySpecificFields = map[string]any{"foo": true} })},
		{"gsf type", payment.CodeParameterInvalid, "gateway_specific_fields.simulate_decline", base(func(in *engine.PaymentInput) {
			in.GatewaySpecificFields = map[string]any{"simulate_decline": "yes"}
		})},
		{"card number in reference", "card_number_in_text", "reference", base(func(in *engine.PaymentInput) { in.Reference = "4242424242424242" })},
		{"card number in metadata", "card_number_in_text", "metadata.x", base(func(in *engine.PaymentInput) { in.Metadata = map[string]string{"x": "5555-5555-5555-4444"} })},
		{"initiator", payment.CodeParameterInvalid, "stored_credential.initiator", base(func(in *engine.PaymentInput) {
			in.StoredCredential = &payment.StoredCredential{Initiator: "robot", Reason: "one_time"}
		})},
	}
	for _, c := range cases {
		_, err := f.eng.CreatePayment(ctx, p, c.in)
		if e, ok := payment.AsError(err); !ok || e.Code != c.code || e.Param != c.param {
			t.Errorf("%s: %v, want %s on %s", c.name, err, c.code, c.param)
		}
	}
	if list, _, _ := f.eng.Payments(ctx, p.Account.ID, payment.PaymentFilter{}); len(list) != 0 {
		t.Fatalf("refused payments were stored: %d", len(list))
	}
	if len(f.sim.Calls()) != 0 {
		t.Fatalf("refused payments reached the gateway %d times", len(f.sim.Calls()))
	}
}

// TestCVCDestroyedAfterFirstAttempt: the CVC serves one authorization.
func TestCVCDestroyedAfterFirstAttempt(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		gw := f.simGateway(t, p, nil).ID
		pm := f.card(t, p, "4111111111111111", "123")
		f.pay(t, p, pm.ID, gw, 1013, true) // not sent: the CVC stays
		if got, _ := f.eng.PaymentMethod(ctx, p.Account.ID, pm.ID); got.CVCSealed == nil {
			t.Fatal("the CVC was destroyed by an attempt that never reached the gateway")
		}
		f.pay(t, p, pm.ID, gw, 1005, true) // declined: the attempt happened
		if got, _ := f.eng.PaymentMethod(ctx, p.Account.ID, pm.ID); got.CVCSealed != nil || got.CVCExpiresAt != nil {
			t.Fatal("the CVC survived an authorization attempt")
		}
	})
}

// TestNoSecretsInPaymentRecords runs payments with a distinctive card, CVC
// and credentials and looks for them in every response object, event,
// transcript and log line.
func TestNoSecretsInPaymentRecords(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		g, err := f.eng.CreateGateway(ctx, p, engine.GatewayInput{Type: "simulator",
			Credentials: map[string]any{"login": "login-zq7xk", "password": "secret-pw-8r2mv9tq"}})
		if err != nil {
			t.Fatal(err)
		}
		pm := f.card(t, p, "378282246310005", "")
		c := visa("9371")
		c.Number = "378282246310005"
		pmCVC, err := f.eng.CreatePaymentMethod(ctx, p, engine.PaymentMethodInput{Type: "card", Card: c})
		if err != nil {
			t.Fatal(err)
		}
		var blobs []string
		add := func(v any) {
			b, _ := json.Marshal(v)
			blobs = append(blobs, string(b))
		}
		for _, id := range []string{pm.ID, pmCVC.ID} {
			pay := f.pay(t, p, id, g.ID, 1000, false)
			add(engine.PaymentObjectOf(pay))
			if pay, _, err = f.eng.Capture(ctx, p, pay.ID, nil); err != nil {
				t.Fatal(err)
			}
			if pay, _, err = f.eng.Refund(ctx, p, pay.ID, nil, ""); err != nil {
				t.Fatal(err)
			}
			add(engine.PaymentObjectOf(pay))
			for _, op := range pay.Operations {
				full, err := f.eng.Operation(ctx, p.Account.ID, op.ID)
				if err != nil || len(full.Transcript) == 0 {
					t.Fatalf("operation %s has no transcript (%v)", op.ID, err)
				}
				blobs = append(blobs, string(full.Transcript))
			}
		}
		v, err := f.eng.Verify(ctx, p, pm.ID, g.ID)
		if err != nil || v.Outcome != payment.OutcomeSucceeded {
			t.Fatalf("verify: %v %v", v, err)
		}
		blobs = append(blobs, string(v.Transcript))
		add(engine.GatewayObjectOf(g))
		evs, _, _ := f.eng.Events(ctx, p.Account.ID, payment.ListParams{Limit: 100})
		if len(evs) < 10 {
			t.Fatalf("only %d events", len(evs))
		}
		for _, ev := range evs {
			blobs = append(blobs, string(ev.Data))
		}
		blobs = append(blobs, f.logs.String())
		all := strings.Join(blobs, "\n")
		// Numbers count only standing alone: the CVC's four digits may
		// occur by chance inside a longer random number (a network
		// transaction id).
		for _, secret := range []string{"378282246310005", "9371", "login-zq7xk", "secret-pw-8r2mv9tq"} {
			re := regexp.MustCompile(`(^|[^0-9])` + regexp.QuoteMeta(secret) + `([^0-9]|$)`)
			if loc := re.FindStringIndex(all); loc != nil {
				t.Errorf("%q appears in a record: …%s…", secret, all[max(0, loc[0]-80):min(len(all), loc[1]+40)])
			}
		}
	})
}

// TestRotateCredentialsInAFreshProcess: a process whose vault has nothing
// cached rotates credentials. Sealing inside the gateway's write
// transaction would deadlock SQLite's single writer on the vault's own
// write (reserving nonce uses).
func TestRotateCredentialsInAFreshProcess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p, _ := f.account(t, false)
		g := f.simGateway(t, p, nil)
		fresh := newFixtureOn(t, f.store, f.ring)
		d, err := fresh.eng.SetGatewayCredentials(ctx, p, g.ID, map[string]any{"login": "fresh-login"}, "rotated by another process", false)
		if err != nil || d.CredentialVersion != 2 {
			t.Fatalf("rotation in a fresh process: %v", err)
		}
	})
}
