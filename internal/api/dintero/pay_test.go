package dintero

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func payBody(token, operation, extra string) string {
	return `{"session":{"url":{"callback_url":"https://shop.example/cb"},` +
		`"customer":{"email":"kari@example.com","tokens":{"dintero_psp.creditcard":{"payment_token":"` + token + `"}}},` +
		`"order":{"amount":29990,"currency":"NOK","merchant_reference":"order-mit",` +
		`"items":[{"line_id":"1","description":"Stablestol","quantity":1,"amount":29990,"vat_amount":6000,"vat":25}]}` + extra + `},` +
		`"payment":{"payment_product_type":"dintero_psp.creditcard","operation":"` + operation + `"}}`
}

// TestSessionsPay: a merchant-initiated payment with a stored card token
// is a session and its transaction, 200 when it succeeds and when it is
// declined; a retry with the same Idempotency-Key charges once; another
// account's token is 404; scopes and field errors are Dintero's; no card
// number is in an answer or the log.
func TestSessionsPay(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			f := setupOn(t, st.open(t), newKeyFile(t), nil)
			s, other := f.txShop(t), f.txShop(t)
			good := cardTokenID(s.id, f.txCard(t, s, "4242424242424242"))
			bad := cardTokenID(s.id, f.txCard(t, s, "4000000000009995"))
			pay := func(tok, body, key string) response {
				q := req{method: "POST", path: "/v1/sessions/pay", bearer: tok, body: body}
				if key == "" {
					return f.do(t, q)
				}
				return f.doHeader(t, q, "Idempotency-Key", key)
			}
			res := expect(t, pay(s.tok, payBody(good, "unscheduled_purchase", ""), "mit-1"), 200)
			tx, _ := res["transaction"].(map[string]any)
			sess, _ := res["session"].(map[string]any)
			if tx == nil || tx["status"] != "CAPTURED" || tx["amount"] != 29990.0 || tx["session_id"] != res["id"] ||
				sess["status"] != "paid" || sess["transaction_id"] != tx["id"] || res["transaction_id"] != tx["id"] {
				t.Fatalf("paid %v", res)
			}
			pid, _ := paymentIDOf(s.id, tx["id"].(string))
			p, err := f.eng.Payment(t.Context(), s.id, pid)
			if err != nil || p.StoredCredential == nil || p.StoredCredential.Initiator != "merchant" || p.StoredCredential.Reason != "unscheduled" {
				t.Fatalf("stored credential %+v, %v", p, err)
			}
			// The same key again: the first answer, no second charge.
			again := pay(s.tok, payBody(good, "unscheduled_purchase", ""), "mit-1")
			if again.status != 200 || !strings.Contains(string(again.body), tx["id"].(string)) {
				t.Fatalf("retry %d %s", again.status, again.body)
			}
			list := f.do(t, req{method: "GET", path: "/v1/transactions?session_id=" + res["id"].(string), bearer: s.tok})
			if strings.Count(string(list.body), `"id":"`+s.id+".") != 1 {
				t.Errorf("transactions of the session %s", list.body)
			}
			all := f.do(t, req{method: "GET", path: "/v1/transactions?limit=100", bearer: s.tok})
			if n := strings.Count(string(all.body), `"merchant_reference":"order-mit"`); n != 1 {
				t.Errorf("%d transactions of order-mit after a retry, want 1", n)
			}

			// A decline is 200 with the declined transaction; the session
			// stays open.
			res = expect(t, pay(s.tok, payBody(bad, "recurring_purchase", ""), ""), 200)
			tx, _ = res["transaction"].(map[string]any)
			if tx == nil || (tx["status"] != "DECLINED" && tx["status"] != "FAILED") || res["session"].(map[string]any)["status"] != "open" {
				t.Fatalf("declined %v", res)
			}

			// Another account's token is not found, by its id or by ours.
			wantDinteroError(t, pay(other.tok, payBody(good, "unscheduled_purchase", ""), ""), 404, "")
			wantDinteroError(t, pay(s.tok, payBody(other.id+".x", "unscheduled_purchase", ""), ""), 404, "")
			wantDinteroError(t, pay(f.tokenScoped(t, s.merchant, "read:checkout"), payBody(good, "unscheduled_purchase", ""), ""), 403, "")
			wantDinteroError(t, pay("", payBody(good, "unscheduled_purchase", ""), ""), 401, "")
			for _, tc := range []struct{ body, field string }{
				{`{"payment":{"payment_product_type":"x","operation":"unscheduled_purchase"}}`, "session"},
				{`{"session":{}}`, "payment"},
				{payBody(good, "purchase", ""), "payment.operation"},
				{strings.Replace(payBody(good, "unscheduled_purchase", ""), `"payment_product_type":"dintero_psp.creditcard"`, `"payment_product_type":"payex.creditcard"`, 1), "session.customer.tokens"},
				{strings.Replace(payBody(good, "unscheduled_purchase", ""), `"amount":29990,"currency"`, `"amount":1,"currency"`, 1), "session.order.amount"},
				{strings.Replace(payBody(good, "unscheduled_purchase", ""), `"NOK"`, `"XYZ"`, 1), "session.order.currency"},
				{payBody(good, "unscheduled_purchase", `,"configuration":{"kassa":{"gateway":"gw_nope"}}`), "session.configuration.kassa.gateway"},
				{strings.Replace(payBody(good, "unscheduled_purchase", ""), `"payment_token"`, `"card_number"`, 1), "session.customer.tokens"},
				{payBody("4242424242424242", "unscheduled_purchase", ""), ""},
			} {
				res := pay(s.tok, tc.body, "")
				wantDinteroError(t, res, 0, tc.field)
				if strings.Contains(string(res.body), "4242424242424242") {
					t.Errorf("a card number in the answer %s", res.body)
				}
			}
			if strings.Contains(f.logs.String(), "4242424242424242") || strings.Contains(f.logs.String(), "4000000000009995") {
				t.Error("a card number in the log")
			}
		})
	}
}

// TestGoldenPay pins the answers of POST /v1/sessions/pay.
func TestGoldenPay(t *testing.T) {
	f := setup(t)
	s := f.txShop(t)
	good := cardTokenID(s.id, f.txCard(t, s, "4242424242424242"))
	bad := cardTokenID(s.id, f.txCard(t, s, "4000000000009995"))
	steps := []struct {
		name string
		q    req
	}{
		{"session_pay", req{method: "POST", path: "/v1/sessions/pay", body: payBody(good, "unscheduled_purchase", "")}},
		{"session_pay_declined", req{method: "POST", path: "/v1/sessions/pay", body: payBody(bad, "unscheduled_purchase", "")}},
		{"error_session_pay_operation", req{method: "POST", path: "/v1/sessions/pay", body: payBody(good, "purchase", "")}},
		{"error_session_pay_token", req{method: "POST", path: "/v1/sessions/pay", body: payBody(s.id+".nope", "unscheduled_purchase", "")}},
	}
	seen := map[string]string{}
	for _, st := range steps {
		st.q.bearer = s.tok
		res := f.do(t, st.q)
		body := kassaIDParts.ReplaceAll(res.body, []byte("$1.<id>"))
		body = opIDs.ReplaceAll(body, []byte("op_<id>"))
		body = gatewayIDs.ReplaceAll(body, []byte("gw_<id>"))
		body = sessionIDs.ReplaceAll(body, []byte("cs_<id>"))
		golden(t, st.name, append([]byte(fmt.Sprintf("HTTP %d\n", res.status)), normalize(body, seen)...))
	}
}

var sessionIDs = regexp.MustCompile(`cs_[0-9A-Za-z]{24}`)

// FuzzPayRequest: a pay body is decoded and checked without a panic,
// refused with Dintero's 400 only, never repeating a card number.
func FuzzPayRequest(f *testing.F) {
	for _, s := range []string{payBody("T12345678.x", "unscheduled_purchase", ""), `{"session":{"customer":{"tokens":[]}},"payment":{}}`,
		`{"session":{"customer":{"tokens":{"a":{"payment_token":"4111111111111111"}}}},"payment":{"payment_product_type":"a","operation":"recurring_purchase"}}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Add([]byte(tokenSessionBody("k", "")))
	f.Fuzz(func(t *testing.T, body []byte) {
		var tr paymentTokenRequest
		if err := decodeBody(body, &tr); err == nil {
			checkFuzzError(t, tr.check())
		} else {
			checkFuzzError(t, err)
		}
		var req payRequest
		err := decodeBody(body, &req)
		if err == nil {
			_, _, err = req.token()
		}
		checkFuzzError(t, err)
	})
}

// checkFuzzError: err is nil or Dintero's 400, repeating no long run of
// the body's digits or names.
func checkFuzzError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var de *Error
	if !errors.As(err, &de) || de.Status != http.StatusBadRequest || de.Code != CodeBadRequest {
		t.Fatalf("error %v", err)
	}
	text := de.Message
	for _, fe := range de.Errors {
		text += " " + fe.Path + " " + fe.Message
	}
	if longName(text) || longDigits(text) {
		t.Fatalf("the error repeats the body: %q", text)
	}
}

var customerIDs = regexp.MustCompile(`cus_[0-9A-Za-z]{24}`)
