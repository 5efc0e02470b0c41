package engine_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/vault"
)

// liveCapable is the simulator declared as a gateway live accounts may use,
// standing in for a real provider until one exists: the engine's live-mode
// rules are what is under test, not the gateway.
type liveCapable struct{ *simulator.Simulator }

func (l liveCapable) Spec() gateway.Spec {
	s := l.Simulator.Spec()
	s.Type, s.TestOnly = "live_capable", false
	return s
}

// TestLiveAccountRules: live accounts refuse test cards and test-only
// gateways; test accounts refuse non-sandbox gateways.
func TestLiveAccountRules(t *testing.T) {
	st := openSQLite(t)
	f := newFixture(t, st)
	ring := t.TempDir() + "/master.key"
	if _, err := vault.CreateDevKeyFile(ring); err != nil {
		t.Fatal(err)
	}
	v, err := vault.New(st, vault.NewFileSource(ring), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Config{Store: st, Vault: v, Logger: slog.New(slog.DiscardHandler), Now: f.clock.Now,
		Gateways: gateway.NewRegistry(f.sim, liveCapable{simulator.New(simulator.Options{Now: f.clock.Now})})})
	ctx := context.Background()
	na, err := eng.CreateAccount(ctx, "live shop", true)
	if err != nil {
		t.Fatal(err)
	}
	live, err := eng.Authenticate(ctx, na.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.CreateGateway(ctx, live, engine.GatewayInput{Type: "simulator"}); errCode(err) != "gateway_not_allowed" {
		t.Fatalf("simulator on a live account: %v", err)
	}
	g, err := eng.CreateGateway(ctx, live, engine.GatewayInput{Type: "live_capable"})
	if err != nil || g.Sandbox {
		t.Fatalf("live gateway: %+v %v", g, err)
	}
	tokenize := func(number string) string {
		c := visa("")
		c.Number = number
		pm, err := eng.CreatePaymentMethod(ctx, live, engine.PaymentMethodInput{Type: "card", Card: c})
		if err != nil {
			t.Fatal(err)
		}
		return pm.ID
	}
	for _, test := range []string{"4242424242424242", "4111111111111111", "5555555555554444"} {
		_, err := eng.CreatePayment(ctx, live, engine.PaymentInput{Amount: 100, Currency: "EUR", PaymentMethodID: tokenize(test), GatewayID: g.ID})
		if errCode(err) != "test_card_on_live_account" {
			t.Errorf("test card %s…: %v, want test_card_on_live_account", test[:6], err)
		}
	}
	real := tokenize("4571 7360 0000 0075") // Luhn-valid, on no test-card list
	pay, err := eng.CreatePayment(ctx, live, engine.PaymentInput{Amount: 100, Currency: "EUR", PaymentMethodID: real, GatewayID: g.ID})
	if err != nil || pay.Status != payment.StatusCaptured || pay.Test {
		t.Fatalf("real card on a live account: %+v %v", pay, err)
	}
	// A test account may not point a gateway at production.
	p, _ := f.account(t, false)
	if _, err := f.eng.CreateGateway(ctx, p, engine.GatewayInput{Type: "simulator", Sandbox: ptr(false)}); errCode(err) != "gateway_not_allowed" {
		t.Fatalf("non-sandbox gateway on a test account: %v", err)
	}
}

// singleCapture is the simulator declared as a provider that captures an
// authorization once (as Stripe and Authorize.Net do).
type singleCapture struct{ *simulator.Simulator }

func (s singleCapture) Spec() gateway.Spec {
	sp := s.Simulator.Spec()
	sp.Type, sp.SingleCapture = "single_capture", true
	return sp
}

// TestSingleCaptureGateways: after a partial capture the rest is released,
// and neither a second capture nor a void is sent.
func TestSingleCaptureGateways(t *testing.T) {
	st := openSQLite(t)
	f := newFixture(t, st)
	eng := engine.New(engine.Config{Store: st, Vault: f.vault, Logger: slog.New(slog.DiscardHandler), Now: f.clock.Now,
		Gateways: gateway.NewRegistry(singleCapture{simulator.New(simulator.Options{Now: f.clock.Now})})})
	ctx := context.Background()
	na, _ := eng.CreateAccount(ctx, "shop", false)
	p, _ := eng.Authenticate(ctx, na.SecretKey)
	g, err := eng.CreateGateway(ctx, p, engine.GatewayInput{Type: "single_capture"})
	if err != nil {
		t.Fatal(err)
	}
	pm, _ := eng.CreatePaymentMethod(ctx, p, engine.PaymentMethodInput{Type: "card", Card: visa("")})
	pay, err := eng.CreatePayment(ctx, p, engine.PaymentInput{Amount: 1000, Currency: "EUR", PaymentMethodID: pm.ID, GatewayID: g.ID, Capture: ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	pay, _, err = eng.Capture(ctx, p, pay.ID, ptr(int64(400)))
	if err != nil || pay.Status != payment.StatusCaptured || pay.AmountCaptured != 400 || !pay.Voided {
		t.Fatalf("partial capture: %v %v", pay, err)
	}
	if _, _, err := eng.Capture(ctx, p, pay.ID, ptr(int64(100))); errCode(err) != payment.CodeInvalidState {
		t.Fatalf("second capture: %v", err)
	}
	if _, _, err := eng.Void(ctx, p, pay.ID); errCode(err) != payment.CodeInvalidState {
		t.Fatalf("void after the capture: %v", err)
	}
	if r, _, err := eng.Refund(ctx, p, pay.ID, nil, ""); err != nil || r.AmountRefunded != 400 || r.Status != payment.StatusRefunded {
		t.Fatalf("refund of what was captured: %v %v", r, err)
	}
}
