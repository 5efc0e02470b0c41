package engine_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/vault"
)

// pastedPAN is the card number the tests paste into free text, and the
// ways people write it there.
const pastedPAN = "4000056655665556"

var pastedForms = []struct{ name, s string }{
	{"plain", pastedPAN},
	{"dashed", "4000-0566-5566-5556"},
	{"spaced", "4000 0566 5566 5556"},
	{"email local part", pastedPAN + "@example.com"},
	{"dashed email local part", "4000-0566-5566-5556@example.com"},
	{"dotted email local part", "jane.4000.0566.5566.5556@example.com"},
	{"beside an order number", "order-1001-4000-0566-5566-5556"},
}

// textySimulator is the simulator offered as a type with free-text
// settings and gateway-specific fields, as real gateways have.
type textySimulator struct{ *simulator.Simulator }

func (s textySimulator) Spec() gateway.Spec {
	sp := s.Simulator.Spec()
	sp.Type, sp.DisplayName = "texty_simulator", "Simulator with text fields"
	sp.SettingsFields = append(sp.SettingsFields, gateway.Field{Name: "statement_descriptor", Label: "Statement descriptor", Kind: gateway.KindString})
	sp.GatewaySpecificFields = append(sp.GatewaySpecificFields, gateway.Field{Name: "shopper_reference", Label: "Shopper reference", Kind: gateway.KindString})
	return sp
}

// newTextFixture is newFixture with textySimulator beside the simulator.
func newTextFixture(t *testing.T, st payment.Store) *fixture {
	t.Helper()
	f := newFixture(t, st)
	v, err := vault.New(st, vault.NewFileSource(f.ring), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.vault = v
	f.eng = engine.New(engine.Config{Store: st, Vault: v, Logger: slog.New(slog.NewJSONHandler(f.logs, nil)),
		Now: f.clock.Now, CacheTTL: 24 * time.Hour, CVCTTL: time.Hour,
		Gateways: gateway.NewRegistry(f.sim, textySimulator{simulator.New(simulator.Options{Now: f.clock.Now})})})
	return f
}

// TestCardNumberInTextRefused pastes a card number, in each of the ways
// people write one, into every free-text field the engine stores: each is
// a 422 card_number_in_text naming the field, whose message does not repeat
// the number, and changes nothing.
func TestCardNumberInTextRefused(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			testCardNumberInText(t, newTextFixture(t, b.open(t)))
		})
	}
}

func testCardNumberInText(t *testing.T, f *fixture) {
	ctx := context.Background()
	p, _ := f.account(t, false)
	acct := p.Account.ID
	gw := f.simGateway(t, p, nil)
	texty, err := f.eng.CreateGateway(ctx, p, engine.GatewayInput{Type: "texty_simulator", Description: "texty",
		Credentials: map[string]any{"login": "merchant-one", "password": "pw-version-one-secret"},
		Settings:    map[string]any{"statement_descriptor": "FJORD BIKES"}})
	if err != nil {
		t.Fatal(err)
	}
	router := f.router(t, p, cascade(nil, gw.ID))
	pm := f.card(t, p, "4111111111111111", "")
	pay := f.pay(t, p, pm.ID, gw.ID, 1000, true)
	pmIn := func(mod func(in *engine.PaymentMethodInput)) engine.PaymentMethodInput {
		in := engine.PaymentMethodInput{Type: "card", Card: visa("123")}
		mod(&in)
		return in
	}
	payIn := func(gwID string, mod func(in *engine.PaymentInput)) engine.PaymentInput {
		in := engine.PaymentInput{Amount: 100, Currency: "EUR", PaymentMethodID: pm.ID, GatewayID: gwID}
		mod(&in)
		return in
	}
	str := func(s string) *string { return &s }
	settings := func(md map[string]string) map[string]any {
		s := cascade(nil, gw.ID)
		cond := map[string]any{}
		for k, v := range md {
			cond[k] = v
		}
		s["rules"] = []any{map[string]any{"when": map[string]any{"metadata": cond}, "then": map[string]any{"gateway": gw.ID}}}
		return s
	}

	cases := []struct {
		name  string
		param string
		call  func(text string) error
	}{
		{"payment method email", "email", func(s string) error {
			_, err := f.eng.CreatePaymentMethod(ctx, p, pmIn(func(in *engine.PaymentMethodInput) { in.Email = s }))
			return err
		}},
		{"holder name", "card.holder_name", func(s string) error {
			_, err := f.eng.CreatePaymentMethod(ctx, p, pmIn(func(in *engine.PaymentMethodInput) { in.Card.HolderName = "Jane " + s }))
			return err
		}},
		{"billing line1", "billing_address.line1", func(s string) error {
			_, err := f.eng.CreatePaymentMethod(ctx, p, pmIn(func(in *engine.PaymentMethodInput) { in.Billing = &payment.Address{Line1: s} }))
			return err
		}},
		{"billing city", "billing_address.city", func(s string) error {
			_, err := f.eng.CreatePaymentMethod(ctx, p, pmIn(func(in *engine.PaymentMethodInput) { in.Billing = &payment.Address{City: s} }))
			return err
		}},
		{"billing postal code", "billing_address.postal_code", func(s string) error {
			_, err := f.eng.CreatePaymentMethod(ctx, p, pmIn(func(in *engine.PaymentMethodInput) { in.Billing = &payment.Address{PostalCode: s} }))
			return err
		}},
		{"payment method metadata value", "metadata.note", func(s string) error {
			_, err := f.eng.CreatePaymentMethod(ctx, p, pmIn(func(in *engine.PaymentMethodInput) { in.Metadata = map[string]string{"note": s} }))
			return err
		}},
		{"payment method metadata key", "metadata", func(s string) error {
			_, err := f.eng.CreatePaymentMethod(ctx, p, pmIn(func(in *engine.PaymentMethodInput) { in.Metadata = map[string]string{"k" + s: "v"} }))
			return err
		}},
		{"update email", "email", func(s string) error {
			_, err := f.eng.UpdatePaymentMethod(ctx, acct, pm.ID, engine.PaymentMethodUpdate{Email: &s})
			return err
		}},
		{"update holder name", "card.holder_name", func(s string) error {
			_, err := f.eng.UpdatePaymentMethod(ctx, acct, pm.ID, engine.PaymentMethodUpdate{HolderName: &s})
			return err
		}},
		{"update billing line2", "billing_address.line2", func(s string) error {
			_, err := f.eng.UpdatePaymentMethod(ctx, acct, pm.ID, engine.PaymentMethodUpdate{Billing: &payment.Address{Line2: s}})
			return err
		}},
		{"update metadata", "metadata.note", func(s string) error {
			_, err := f.eng.UpdatePaymentMethod(ctx, acct, pm.ID, engine.PaymentMethodUpdate{Metadata: map[string]string{"note": s}})
			return err
		}},
		{"payment reference", "reference", func(s string) error {
			_, err := f.eng.CreatePayment(ctx, p, payIn(gw.ID, func(in *engine.PaymentInput) { in.Reference = s }))
			return err
		}},
		{"payment description", "description", func(s string) error {
			_, err := f.eng.CreatePayment(ctx, p, payIn(gw.ID, func(in *engine.PaymentInput) { in.Description = s }))
			return err
		}},
		{"payment metadata", "metadata.order", func(s string) error {
			_, err := f.eng.CreatePayment(ctx, p, payIn(gw.ID, func(in *engine.PaymentInput) { in.Metadata = map[string]string{"order": s} }))
			return err
		}},
		{"payment gateway-specific field", "gateway_specific_fields.shopper_reference", func(s string) error {
			_, err := f.eng.CreatePayment(ctx, p, payIn(texty.ID, func(in *engine.PaymentInput) {
				in.GatewaySpecificFields = map[string]any{"shopper_reference": s}
			}))
			return err
		}},
		{"gateway-specific field of the wrong type", "gateway_specific_fields.simulate_decline", func(s string) error {
			_, err := f.eng.CreatePayment(ctx, p, payIn(gw.ID, func(in *engine.PaymentInput) {
				in.GatewaySpecificFields = map[string]any{"simulate_decline": s}
			}))
			return err
		}},
		{"routed payment gateway-specific field", "gateway_specific_fields.shopper_reference", func(s string) error {
			_, err := f.eng.CreatePayment(ctx, p, payIn(router.ID, func(in *engine.PaymentInput) {
				in.GatewaySpecificFields = map[string]any{"shopper_reference": s}
			}))
			return err
		}},
		{"routed payment description", "description", func(s string) error {
			_, err := f.eng.CreatePayment(ctx, p, payIn(router.ID, func(in *engine.PaymentInput) { in.Description = s }))
			return err
		}},
		{"refund reason", "reason", func(s string) error {
			_, _, err := f.eng.Refund(ctx, p, pay.ID, nil, s)
			return err
		}},
		{"verification description", "description", func(s string) error {
			_, err := f.eng.StandaloneOperation(ctx, p, engine.StandaloneInput{Kind: payment.OpVerify, PaymentMethodID: pm.ID,
				GatewayID: gw.ID, Description: s})
			return err
		}},
		{"store gateway-specific field", "gateway_specific_fields.shopper_reference", func(s string) error {
			_, err := f.eng.StandaloneOperation(ctx, p, engine.StandaloneInput{Kind: payment.OpStore, PaymentMethodID: pm.ID,
				GatewayID: texty.ID, GatewaySpecificFields: map[string]any{"shopper_reference": s}})
			return err
		}},
		{"gateway description", "description", func(s string) error {
			_, err := f.eng.CreateGateway(ctx, p, engine.GatewayInput{Type: "simulator", Description: s})
			return err
		}},
		{"gateway merchant profile key", "merchant_profile_key", func(s string) error {
			_, err := f.eng.CreateGateway(ctx, p, engine.GatewayInput{Type: "simulator", MerchantProfileKey: s})
			return err
		}},
		{"gateway setting", "settings.statement_descriptor", func(s string) error {
			_, err := f.eng.CreateGateway(ctx, p, engine.GatewayInput{Type: "texty_simulator",
				Credentials: map[string]any{"login": "l", "password": "p"}, Settings: map[string]any{"statement_descriptor": s}})
			return err
		}},
		{"update gateway description", "description", func(s string) error {
			_, err := f.eng.UpdateGateway(ctx, p, gw.ID, engine.GatewayUpdate{Description: &s})
			return err
		}},
		{"update gateway sub-merchant key", "sub_merchant_key", func(s string) error {
			_, err := f.eng.UpdateGateway(ctx, p, gw.ID, engine.GatewayUpdate{SubMerchantKey: str(s)})
			return err
		}},
		{"update gateway setting", "settings.statement_descriptor", func(s string) error {
			_, err := f.eng.UpdateGateway(ctx, p, texty.ID, engine.GatewayUpdate{Settings: map[string]any{"statement_descriptor": s}})
			return err
		}},
		{"credentials description", "description", func(s string) error {
			_, err := f.eng.SetGatewayCredentials(ctx, p, gw.ID, map[string]any{"login": "l", "password": "p"}, s, false)
			return err
		}},
		{"router description", "description", func(s string) error {
			_, err := f.eng.CreateGateway(ctx, p, engine.GatewayInput{Type: engine.RouterType, Description: s, Settings: cascade(nil, gw.ID)})
			return err
		}},
		{"router merchant profile key", "merchant_profile_key", func(s string) error {
			_, err := f.eng.CreateGateway(ctx, p, engine.GatewayInput{Type: engine.RouterType, MerchantProfileKey: s, Settings: cascade(nil, gw.ID)})
			return err
		}},
		{"router metadata condition", "settings.rules[0].when.metadata.order", func(s string) error {
			_, err := f.eng.CreateGateway(ctx, p, engine.GatewayInput{Type: engine.RouterType, Settings: settings(map[string]string{"order": s})})
			return err
		}},
		{"update router metadata condition", "settings.rules[0].when.metadata.order", func(s string) error {
			_, err := f.eng.UpdateGateway(ctx, p, router.ID, engine.GatewayUpdate{Settings: settings(map[string]string{"order": s})})
			return err
		}},
		{"resolve note", "note", func(s string) error {
			_, err := f.eng.ResolveOperation(ctx, p, pay.Operations[0].ID, payment.OutcomeSucceeded, "", s)
			return err
		}},
		{"resolve gateway reference", "gateway_reference", func(s string) error {
			_, err := f.eng.ResolveOperation(ctx, p, pay.Operations[0].ID, payment.OutcomeSucceeded, s, "checked")
			return err
		}},
		{"account name", "name", func(s string) error {
			_, err := f.eng.CreateAccount(ctx, "Shop "+s, false)
			return err
		}},
	}

	type snapshot struct {
		events, pms, pays, ops, accounts int
		pm                               *payment.PaymentMethod
		gw, texty, router                *engine.GatewayDetail
	}
	snap := func() snapshot {
		t.Helper()
		var s snapshot
		evs, _, err := f.eng.Events(ctx, acct, payment.ListParams{Limit: 100})
		pms, _, err2 := f.eng.PaymentMethods(ctx, acct, payment.ListParams{Limit: 100})
		pays, _, err3 := f.eng.Payments(ctx, acct, payment.PaymentFilter{ListParams: payment.ListParams{Limit: 100}})
		ops, _, err4 := f.eng.Operations(ctx, acct, payment.OperationFilter{ListParams: payment.ListParams{Limit: 100}})
		n, err5 := f.eng.CountAccounts(ctx)
		for _, e := range []error{err, err2, err3, err4, err5} {
			if e != nil {
				t.Fatal(e)
			}
		}
		s.events, s.pms, s.pays, s.ops, s.accounts = len(evs), len(pms), len(pays), len(ops), n
		if s.pm, err = f.eng.PaymentMethod(ctx, acct, pm.ID); err != nil {
			t.Fatal(err)
		}
		for _, g := range []struct {
			id  string
			dst **engine.GatewayDetail
		}{{gw.ID, &s.gw}, {texty.ID, &s.texty}, {router.ID, &s.router}} {
			if *g.dst, err = f.eng.Gateway(ctx, acct, g.id); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	before := snap()
	calls := len(f.sim.Calls())
	for _, c := range cases {
		for _, form := range pastedForms {
			err := c.call(form.s)
			e, ok := payment.AsError(err)
			if !ok || e.Kind != payment.KindInvalid || e.Code != payment.CodeCardNumberInText || e.Param != c.param {
				t.Errorf("%s, %s: %v, want invalid %s on %s", c.name, form.name, err, payment.CodeCardNumberInText, c.param)
				continue
			}
			if strings.Contains(e.Message, "0566") || strings.Contains(e.Message, "5556") {
				t.Errorf("%s, %s: the message repeats the number: %q", c.name, form.name, e.Message)
			}
		}
	}
	after := snap()
	if after.events != before.events || after.pms != before.pms || after.pays != before.pays || after.ops != before.ops ||
		after.accounts != before.accounts {
		t.Errorf("refused requests changed counts: events %d→%d, payment methods %d→%d, payments %d→%d, operations %d→%d, accounts %d→%d",
			before.events, after.events, before.pms, after.pms, before.pays, after.pays, before.ops, after.ops, before.accounts, after.accounts)
	}
	if after.pm.Email != before.pm.Email || after.pm.Card.HolderName != before.pm.Card.HolderName ||
		after.pm.Billing != before.pm.Billing || len(after.pm.Metadata) != len(before.pm.Metadata) || !after.pm.UpdatedAt.Equal(before.pm.UpdatedAt) {
		t.Errorf("refused updates changed the payment method: email %q, holder %q, billing %+v, metadata %v",
			after.pm.Email, after.pm.Card.HolderName, after.pm.Billing, after.pm.Metadata)
	}
	for _, g := range [][2]*engine.GatewayDetail{{before.gw, after.gw}, {before.texty, after.texty}, {before.router, after.router}} {
		if !g[1].UpdatedAt.Equal(g[0].UpdatedAt) || g[1].CredentialVersion != g[0].CredentialVersion || g[1].Description != g[0].Description {
			t.Errorf("refused updates changed gateway %s", g[0].ID)
		}
	}
	if n := len(f.sim.Calls()); n != calls {
		t.Errorf("refused requests made %d gateway calls", n-calls)
	}
	if strings.Contains(f.logs.String(), pastedPAN) || strings.Contains(f.logs.String(), "0566-5566") {
		t.Error("the engine logged the pasted card number")
	}
}

// TestOrdinaryTextAccepted: values that are full of digits but hold no
// card number pass where card numbers are refused.
func TestOrdinaryTextAccepted(t *testing.T) {
	f := newFixture(t, openSQLite(t))
	ctx := context.Background()
	p, _ := f.account(t, false)
	gw := f.simGateway(t, p, nil)
	pm := f.card(t, p, "4111111111111111", "")
	for _, s := range []string{
		"550e8400-e29b-41d4-a716-446655440000",
		"+49 1512 3456704", // Luhn-valid and Visa-like, but a phone number
		"+4915123456704",
		"order-1001",
		"ORD-2026-000123",
		"2026-11-22T10:00:00Z",
		"1732270800123",
		"4.444089209850006",
	} {
		md := map[string]string{"v": s}
		if _, err := f.eng.CreatePaymentMethod(ctx, p, engine.PaymentMethodInput{Type: "card", Card: visa(""),
			Email: "kari+1001@example.com", Metadata: md}); err != nil {
			t.Errorf("payment method with metadata %q: %v", s, err)
		}
		if _, err := f.eng.CreatePayment(ctx, p, engine.PaymentInput{Amount: 100, Currency: "EUR", PaymentMethodID: pm.ID,
			GatewayID: gw.ID, Reference: s, Description: s, Metadata: md}); err != nil {
			t.Errorf("payment with reference %q: %v", s, err)
		}
	}
	if _, err := f.eng.CreatePaymentMethod(ctx, p, engine.PaymentMethodInput{Type: "card", Card: visa(""),
		Email: "4915123456704@example.com"}); err == nil {
		// Not a phone number here: no "+" before it.
		t.Error("a Luhn-valid Visa-like number as an email's local part was accepted")
	}
}
