package dintero

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

func tokenSessionBody(customer, extra string) string {
	return `{"session":{"order":{"currency":"NOK","merchant_reference":"save-1","merchant_reference_2":"x"},` +
		`"url":{"return_url":"https://shop.example/accept","callback_url":"https://shop.example/cb","merchant_terms_url":"https://shop.example/terms"},` +
		`"customer":{"customer_id":"` + customer + `","email":"kari@example.com","phone_number":"+4799999999"}` + extra + `},` +
		`"token_provider":{"payment_product_type":"dintero_psp.creditcard","token_types":["payment_token"]}}`
}

// TestPaymentTokenSession: a payment-token session charges nothing; on
// the page a card that fails verification leaves it open, a good one is
// verified, retained for the customer (made in the customers API when
// new) and completes the session with its card token; another account
// sees neither; errors name Dintero's fields; no card number shows.
func TestPaymentTokenSession(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			f := setupOn(t, st.open(t), newKeyFile(t), nil)
			s, other := f.txShop(t), f.txShop(t)
			create := func(tok, body string) response {
				return f.do(t, req{method: "POST", path: "/v1/sessions/payment-token", bearer: tok, body: body})
			}
			m := expect(t, create(s.tok, tokenSessionBody("kari-1", "")), 200)
			id, _ := m["id"].(string)
			if !strings.HasPrefix(id, s.id+".") || m["url"] != "http://example.com/checkout/dintero/v1/view/"+id {
				t.Fatalf("created %v", m)
			}
			got := expect(t, f.do(t, req{method: "GET", path: "/v1/sessions/" + id, bearer: s.tok}), 200)
			if got["status"] != "open" || got["order"].(map[string]any)["amount"] != 0.0 {
				t.Fatalf("session %v", got)
			}
			_, csID, _ := payment.ParseDinteroID(id, payment.PrefixCheckoutSession)
			ctx := context.Background()
			card := func(n string) engine.CardInput {
				return engine.CardInput{Number: n, ExpMonth: 12, ExpYear: 2030, CVC: "737", HolderName: "Kari"}
			}
			v, err := f.eng.PayCheckoutPage(ctx, csID, 1, card("4000000000009995"))
			if err != nil || v.Session.Status != payment.CheckoutOpen || v.Session.Attempts != 1 {
				t.Fatalf("a declined card: %v %+v", err, v)
			}
			v, err = f.eng.PayCheckoutPage(ctx, csID, 2, card("4242424242424242"))
			if err != nil || v.Session.Status != payment.CheckoutPaid || v.Session.CardTokenID == "" || v.Payment != nil {
				t.Fatalf("a good card: %v %+v", err, v)
			}
			// The same form again saves nothing more.
			if v, err := f.eng.PayCheckoutPage(ctx, csID, 2, card("4242424242424242")); err != nil || v.Session.Attempts != 2 {
				t.Fatalf("again: %v %+v", err, v)
			}
			got = expect(t, f.do(t, req{method: "GET", path: "/v1/sessions/" + id, bearer: s.tok}), 200)
			tokID, _ := got["card_token_id"].(string)
			if got["status"] != "paid" || !strings.HasPrefix(tokID, s.id+".") || got["transaction_id"] != nil {
				t.Fatalf("paid token session %v", got)
			}
			ct := expect(t, f.do(t, req{method: "GET", path: "/v1/card-tokens/" + tokID, bearer: s.tok}), 200)
			if ct["status"] != "ACTIVE" || ct["customer_id"] != "kari-1" || ct["masked_pan"] != "424242******4242" {
				t.Errorf("card token %v", ct)
			}
			list := f.do(t, req{method: "GET", path: "/v1/transactions?session_id=" + id, bearer: s.tok})
			if list.status != 200 || strings.TrimSpace(string(list.body)) != "[]" {
				t.Errorf("a token session made transactions: %s", list.body)
			}
			// The saved card pays later, merchant initiated.
			res := expect(t, f.do(t, req{method: "POST", path: "/v1/sessions/pay", bearer: s.tok, body: payBody(tokID, "unscheduled_purchase", "")}), 200)
			if res["transaction"].(map[string]any)["status"] != "CAPTURED" {
				t.Errorf("paying with the saved card %v", res)
			}
			// An existing customer is used as it is.
			expect(t, create(s.tok, tokenSessionBody("kari-1", "")), 200)

			wantDinteroError(t, f.do(t, req{method: "GET", path: "/v1/sessions/" + id, bearer: other.tok}), 404, "")
			wantDinteroError(t, f.do(t, req{method: "GET", path: "/v1/card-tokens/" + tokID, bearer: other.tok}), 404, "")
			wantDinteroError(t, create(f.tokenScoped(t, s.merchant, "read:checkout"), tokenSessionBody("kari-2", "")), 403, "")
			for _, tc := range []struct{ body, field string }{
				{`{"session":{}}`, "token_provider"},
				{`{"token_provider":{"token_types":["payment_token"]}}`, "session"},
				{strings.Replace(tokenSessionBody("k", ""), `["payment_token"]`, `[]`, 1), "token_provider.token_types"},
				{strings.Replace(tokenSessionBody("k", ""), `["payment_token"]`, `["card"]`, 1), "token_provider.token_types"},
				{strings.Replace(tokenSessionBody("k", ""), `"customer_id":"k",`, ``, 1), "session.customer.customer_id"},
				{strings.Replace(tokenSessionBody("k", ""), `"currency":"NOK"`, `"amount":100,"currency":"NOK"`, 1), "session.order.amount"},
				{strings.Replace(tokenSessionBody("k", ""), `"NOK"`, `"XYZ"`, 1), "session.order.currency"},
				{strings.Replace(tokenSessionBody("k", ""), `"return_url":"https://shop.example/accept",`, ``, 1), "session.url.return_url"},
				{tokenSessionBody(" k", ""), "session.customer.customer_id"},
				{tokenSessionBody("k", `,"surprise":1`), "session.surprise"},
			} {
				wantDinteroError(t, create(s.tok, tc.body), 400, tc.field)
			}
			for _, b := range []string{f.logs.String(), string(list.body), fmt.Sprint(got), fmt.Sprint(ct)} {
				if strings.Contains(b, "4242424242424242") || strings.Contains(b, "4000000000009995") {
					t.Fatal("a card number in an answer or the log")
				}
			}
		})
	}
}

// TestGoldenPaymentToken pins the answers of a payment-token session.
func TestGoldenPaymentToken(t *testing.T) {
	f := setup(t)
	s := f.txShop(t)
	res := expect(t, f.do(t, req{method: "POST", path: "/v1/sessions/payment-token", bearer: s.tok,
		body: tokenSessionBody("kari-1", `,"expires_at":"2026-11-23T10:00:00Z"`)}), 200)
	id := res["id"].(string)
	_, csID, _ := payment.ParseDinteroID(id, payment.PrefixCheckoutSession)
	if _, err := f.eng.PayCheckoutPage(context.Background(), csID, 1,
		engine.CardInput{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "737"}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		q    req
	}{
		{"session_payment_token_created", req{method: "POST", path: "/v1/sessions/payment-token", body: tokenSessionBody("kari-2", "")}},
		{"session_payment_token_paid", req{method: "GET", path: "/v1/sessions/" + id}},
		{"error_session_payment_token_types", req{method: "POST", path: "/v1/sessions/payment-token",
			body: strings.Replace(tokenSessionBody("k", ""), `["payment_token"]`, `["card"]`, 1)}},
	}
	seen := map[string]string{}
	for _, st := range steps {
		st.q.bearer = s.tok
		res := f.do(t, st.q)
		body := kassaIDParts.ReplaceAll(res.body, []byte("$1.<id>"))
		body = sessionIDs.ReplaceAll(body, []byte("cs_<id>"))
		body = customerIDs.ReplaceAll(body, []byte("cus_<id>"))
		golden(t, st.name, append([]byte(fmt.Sprintf("HTTP %d\n", res.status)), normalize(body, seen)...))
	}
}
