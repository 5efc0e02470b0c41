package engine_test

import (
	"context"
	"slices"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

func opIDs(ops []*payment.Operation) []string {
	out := make([]string, len(ops))
	for i, op := range ops {
		out[i] = op.ID
	}
	return out
}

// TestStandaloneOperations stores, credits and verifies a card outside any
// payment through the simulator, lists the operations of the card in both
// orders, and checks which of them consumes the CVC.
func TestStandaloneOperations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		acct := p.Account.ID
		gw := f.simGateway(t, p, nil).ID
		pm := f.card(t, p, "4111111111111111", "123")
		other := f.card(t, p, "4111111111111111", "").ID
		run := func(in engine.StandaloneInput) *payment.Operation {
			t.Helper()
			in.PaymentMethodID, in.GatewayID = pm.ID, gw
			op, err := f.eng.StandaloneOperation(ctx, p, in)
			if err != nil {
				t.Fatalf("%s: %v", in.Kind, err)
			}
			if op.Outcome != payment.OutcomeSucceeded || op.Kind != in.Kind || op.PaymentID != "" ||
				op.PaymentMethodID != pm.ID || op.GatewayID != gw || op.AccountID != acct {
				t.Fatalf("%s: %+v", in.Kind, op)
			}
			return op
		}
		cvcKept := func(what string, want bool) {
			t.Helper()
			got, err := f.eng.PaymentMethod(ctx, acct, pm.ID)
			if err != nil {
				t.Fatal(err)
			}
			if (got.CVCSealed != nil) != want {
				t.Fatalf("after %s: CVC kept %v, want %v", what, got.CVCSealed != nil, want)
			}
		}

		stored := run(engine.StandaloneInput{Kind: payment.OpStore})
		if stored.Amount != 0 || stored.Currency != "" {
			t.Errorf("store has amount %d %q", stored.Amount, stored.Currency)
		}
		cvcKept("a store", true)
		f.pay(t, p, other, gw, 1000, true) // another card's operation, between
		credit := run(engine.StandaloneInput{Kind: payment.OpCredit, Amount: 2500, Currency: "EUR", Description: "payout"})
		if credit.Amount != 2500 || credit.Currency != "EUR" {
			t.Errorf("credit of %d %q, want 2500 EUR", credit.Amount, credit.Currency)
		}
		cvcKept("a credit", true)
		verify := run(engine.StandaloneInput{Kind: payment.OpVerify})
		cvcKept("a verification", false)
		if got := f.sim.CVCSent(); !slices.Equal(got, []bool{false, false, false, true}) {
			t.Errorf("CVC sent by store, purchase (CVC-less card), credit, verify = %v; want only by the verification", got)
		}
		if calls := f.sim.Calls(); calls[2].Amount != 2500 || calls[2].Currency != "EUR" || calls[2].Reference != credit.ID ||
			calls[2].Description != "payout" {
			t.Errorf("credit request = %+v", calls[2])
		}
		full, err := f.eng.Operation(ctx, acct, credit.ID)
		if err != nil || len(full.Transcript) == 0 {
			t.Fatalf("credit has no transcript: %v", err)
		}

		want := []string{stored.ID, credit.ID, verify.ID}
		for _, asc := range []bool{true, false} {
			ops, more, err := f.eng.Operations(ctx, acct, payment.OperationFilter{PaymentMethodID: pm.ID,
				ListParams: payment.ListParams{Ascending: asc}})
			if err != nil || more {
				t.Fatalf("Operations(ascending %v): %v, %v", asc, more, err)
			}
			w := slices.Clone(want)
			if !asc {
				slices.Reverse(w)
			}
			if got := opIDs(ops); !slices.Equal(got, w) {
				t.Errorf("operations of the card, ascending %v = %v, want %v", asc, got, w)
			}
			for _, op := range ops {
				if op.Transcript != nil {
					t.Errorf("listed operation %s carries its transcript", op.ID)
				}
			}
		}
		// Paged, oldest first: the cursor continues after it.
		ops, more, err := f.eng.Operations(ctx, acct, payment.OperationFilter{PaymentMethodID: pm.ID,
			ListParams: payment.ListParams{Limit: 1, StartingAfter: stored.ID, Ascending: true}})
		if err != nil || !more || !slices.Equal(opIDs(ops), []string{credit.ID}) {
			t.Errorf("page of 1 after the store = %v, %v, %v; want the credit and more", opIDs(ops), more, err)
		}
		all, _, err := f.eng.Operations(ctx, acct, payment.OperationFilter{})
		if err != nil || len(all) != 4 {
			t.Errorf("all operations = %d, %v; want 4 (with the payment's)", len(all), err)
		}

		evs, _, err := f.eng.Events(ctx, acct, payment.ListParams{Limit: 100, Ascending: true})
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, ev := range evs {
			if ev.ObjectID == stored.ID || ev.ObjectID == credit.ID || ev.ObjectID == verify.ID {
				types = append(types, ev.Type)
			}
		}
		if w := []string{"operation.store.created", "operation.store.succeeded", "operation.credit.created",
			"operation.credit.succeeded", "verification.created", "verification.succeeded"}; !slices.Equal(types, w) {
			t.Errorf("events = %v, want %v", types, w)
		}
	})
}

// TestStandaloneValidation: a credit's amount and currency are checked as
// a payment's; refused operations are neither stored nor sent; another
// account's objects are not found.
func TestStandaloneValidation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		other, _ := f.account(t, false)
		gw := f.simGateway(t, p, nil).ID
		pm := f.card(t, p, "4111111111111111", "123").ID
		otherGW := f.simGateway(t, other, nil).ID
		otherPM := f.card(t, other, "4111111111111111", "").ID
		credit := func(mod func(*engine.StandaloneInput)) engine.StandaloneInput {
			in := engine.StandaloneInput{Kind: payment.OpCredit, Amount: 100, Currency: "EUR", PaymentMethodID: pm, GatewayID: gw}
			mod(&in)
			return in
		}
		for _, c := range []struct {
			name, code, param string
			in                engine.StandaloneInput
		}{
			{"zero amount", payment.CodeParameterInvalid, "amount", credit(func(in *engine.StandaloneInput) { in.Amount = 0 })},
			{"negative amount", payment.CodeParameterInvalid, "amount", credit(func(in *engine.StandaloneInput) { in.Amount = -1 })},
			{"huge amount", payment.CodeParameterInvalid, "amount", credit(func(in *engine.StandaloneInput) { in.Amount = payment.MaxAmount + 1 })},
			{"no currency", payment.CodeParameterMissing, "currency", credit(func(in *engine.StandaloneInput) { in.Currency = "" })},
			{"bad currency", payment.CodeParameterInvalid, "currency", credit(func(in *engine.StandaloneInput) { in.Currency = "eur" })},
			{"no payment method", payment.CodeParameterMissing, "payment_method", credit(func(in *engine.StandaloneInput) { in.PaymentMethodID = "" })},
			{"no gateway", payment.CodeParameterMissing, "gateway", credit(func(in *engine.StandaloneInput) { in.GatewayID = "" })},
			{"card number in description", "card_number_in_text", "description", credit(func(in *engine.StandaloneInput) { in.Description = "4111111111111111" })},
			{"unknown gsf", payment.CodeParameterUnknown, "gateway_specific_fields.foo", credit(func(in *engine.StandaloneInput) {
				in.GatewaySpecificFields = map[string]any{"foo": true}
			})},
			{"other account's payment method", payment.CodeResourceMissing, "payment_method", credit(func(in *engine.StandaloneInput) { in.PaymentMethodID = otherPM })},
			{"other account's gateway", payment.CodeResourceMissing, "gateway", credit(func(in *engine.StandaloneInput) { in.GatewayID = otherGW })},
			{"store with other account's payment method", payment.CodeResourceMissing, "payment_method", engine.StandaloneInput{
				Kind: payment.OpStore, PaymentMethodID: otherPM, GatewayID: gw}},
			{"verify through other account's gateway", payment.CodeResourceMissing, "gateway", engine.StandaloneInput{
				Kind: payment.OpVerify, PaymentMethodID: pm, GatewayID: otherGW}},
		} {
			_, err := f.eng.StandaloneOperation(ctx, p, c.in)
			if e, ok := payment.AsError(err); !ok || e.Kind != payment.KindInvalid && e.Kind != payment.KindNotFound ||
				e.Code != c.code || e.Param != c.param {
				t.Errorf("%s: %v, want %s on %s", c.name, err, c.code, c.param)
			} else if c.param == "amount" && e.Kind != payment.KindInvalid {
				t.Errorf("%s: kind %v, want invalid (422)", c.name, e.Kind)
			}
		}
		if _, err := f.eng.StandaloneOperation(ctx, p, engine.StandaloneInput{Kind: payment.OpAuthorize, PaymentMethodID: pm, GatewayID: gw}); err == nil {
			t.Error("StandaloneOperation ran an authorize")
		}
		if ops, _, err := f.eng.Operations(ctx, p.Account.ID, payment.OperationFilter{}); err != nil || len(ops) != 0 {
			t.Fatalf("refused operations were stored: %d, %v", len(ops), err)
		}
		if n := len(f.sim.Calls()); n != 0 {
			t.Fatalf("refused operations reached the gateway %d times", n)
		}

		// Isolation of what was made.
		op, err := f.eng.StandaloneOperation(ctx, p, credit(func(*engine.StandaloneInput) {}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.eng.Operation(ctx, other.Account.ID, op.ID); !isKind(err, payment.KindNotFound, payment.CodeResourceMissing) {
			t.Errorf("another account's Operation: %v", err)
		}
		for _, fl := range []payment.OperationFilter{{}, {PaymentMethodID: pm}} {
			if ops, _, err := f.eng.Operations(ctx, other.Account.ID, fl); err != nil || len(ops) != 0 {
				t.Errorf("another account lists %d operations (%+v), %v", len(ops), fl, err)
			}
		}
		_, _, err = f.eng.Operations(ctx, other.Account.ID, payment.OperationFilter{ListParams: payment.ListParams{StartingAfter: op.ID, Ascending: true}})
		if e, ok := payment.AsError(err); !ok || e.Kind != payment.KindNotFound || e.Param != "starting_after" {
			t.Errorf("another account's cursor: %v, want not found on starting_after", err)
		}
	})
}
