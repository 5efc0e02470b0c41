package dintero

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/payment"
)

// TestCardTokens: retained cards are tokens with Dintero's masked_pan and
// pan_expiry_date; DELETE redacts the card.
func TestCardTokens(t *testing.T) {
	onStores(t, func(t *testing.T, f *fixture) {
		s := f.txShop(t)
		pm := f.txCard(t, s, "4761739001010416")
		f.native(t, s.secret, "POST", "/v1/payment_methods", `{"type":"card","card":{"number":"4242424242424242","exp_month":1,"exp_year":2031}}`) // cached: no token
		id := cardTokenID(s.id, pm)
		tok := expect(t, f.do(t, req{method: "GET", path: "/v1/card-tokens/" + id, bearer: s.tok}), 200)
		if tok["masked_pan"] != "476173******0416" || tok["pan_expiry_date"] != "09/2030" || tok["status"] != "ACTIVE" ||
			tok["card_brand"] != "visa" || tok["type"] != "payment_token" {
			t.Fatalf("token %v", tok)
		}
		res := expect0(t, f.do(t, req{method: "GET", path: "/v1/card-tokens", bearer: s.tok}), 200)
		if n := strings.Count(string(res.body), `"id":`); n != 1 {
			t.Fatalf("list: %s", res.body)
		}
		expect(t, f.do(t, req{method: "DELETE", path: "/v1/card-tokens/" + id, bearer: s.tok, body: `{"reason":"x","requestor":"ROBOT"}`}), 400)
		tok = expect(t, f.do(t, req{method: "DELETE", path: "/v1/card-tokens/" + id, bearer: s.tok,
			body: `{"reason":"Profile deleted","requestor":"CARDHOLDER"}`}), 200)
		if tok["status"] != "DELETED" || tok["deleted_at"] == nil {
			t.Fatalf("deleted %v", tok)
		}
		got, err := f.eng.PaymentMethod(context.Background(), s.id, pm)
		if err != nil || got.StorageState != payment.StorageRedacted || got.PANSealed != nil {
			t.Fatalf("the card was not redacted: %v %v", got.StorageState, err)
		}
		res = expect0(t, f.do(t, req{method: "GET", path: "/v1/card-tokens", bearer: s.tok}), 200)
		if string(res.body) != "[]\n" {
			t.Fatalf("a deleted token is listed: %s", res.body)
		}
		res = expect0(t, f.do(t, req{method: "GET", path: "/v1/card-tokens?status=DELETED", bearer: s.tok}), 200)
		if !strings.Contains(string(res.body), id) {
			t.Fatalf("status=DELETED: %s", res.body)
		}
		expect(t, f.do(t, req{method: "GET", path: "/v1/card-tokens?status=GONE", bearer: s.tok}), 400)
	})
}

// TestTenantIsolation: another account's transaction and card token ids
// are 404 on every route, and change nothing.
func TestTenantIsolation(t *testing.T) {
	f := setup(t)
	s, other := f.txShop(t), f.txShop(t)
	id := f.authorize(t, s, "4242424242424242", 1000, "mine")
	pm := cardTokenID(s.id, f.txCard(t, s, "4242424242424242"))
	// The same kassa ids under the other account's aid, and as they are.
	foreignTx := transactionID(other.id, "pay_"+strings.SplitN(id, ".", 2)[1])
	for _, path := range []string{id, foreignTx} {
		for _, q := range []req{
			{method: "GET", path: txPath(path)},
			{method: "PUT", path: txPath(path), body: `{"merchant_reference_2":"x"}`},
			{method: "POST", path: txPath(path, "capture"), body: `{"amount":100}`},
			{method: "POST", path: txPath(path, "refund"), body: `{"amount":100}`},
			{method: "POST", path: txPath(path, "void")},
		} {
			q.bearer = other.tok
			if res := f.do(t, q); res.status != http.StatusNotFound {
				t.Fatalf("%s %s by another account: HTTP %d %s", q.method, q.path, res.status, res.body)
			}
		}
	}
	for _, q := range []req{
		{method: "GET", path: "/v1/card-tokens/" + pm},
		{method: "DELETE", path: "/v1/card-tokens/" + pm},
		{method: "GET", path: "/v1/card-tokens/" + other.id + "." + strings.SplitN(pm, ".", 2)[1]},
	} {
		q.bearer = other.tok
		if res := f.do(t, q); res.status != http.StatusNotFound {
			t.Fatalf("%s %s by another account: HTTP %d %s", q.method, q.path, res.status, res.body)
		}
	}
	res := expect0(t, f.do(t, req{method: "GET", path: "/v1/transactions", bearer: other.tok}), 200)
	if string(res.body) != "[]\n" {
		t.Fatalf("another account lists %s", res.body)
	}
	tx := expect(t, f.do(t, req{method: "GET", path: txPath(id), bearer: s.tok}), 200)
	if tx["status"] != "AUTHORIZED" || tx["merchant_reference_2"] != nil {
		t.Fatalf("another account changed the transaction: %v", tx)
	}
}

// TestScopes: read:checkout reads, write:checkout or admin:checkout
// moves money, card tokens need admin:checkout.
func TestScopes(t *testing.T) {
	f := setup(t)
	s := f.txShop(t)
	id := f.authorize(t, s, "4242424242424242", 1000, "scoped")
	narrow := func(scope string) string {
		res := expect(t, f.do(t, req{method: "POST", path: "/v1/accounts/" + s.id + "/auth/token", basic: &[2]string{s.clientID, s.secret},
			body: `{"grant_type":"client_credentials","audience":"https://x/v1/accounts/` + s.id + `","scope":"` + scope + `"}`}), 200)
		return res["access_token"].(string)
	}
	read, write, other := narrow("read:checkout"), narrow("write:checkout"), narrow("read:accounts admin:customers")
	for _, c := range []struct {
		tok    string
		q      req
		status int
	}{
		{read, req{method: "GET", path: txPath(id)}, 200},
		{read, req{method: "GET", path: "/v1/transactions"}, 200},
		{read, req{method: "POST", path: txPath(id, "capture"), body: `{"amount":100}`}, 403},
		{read, req{method: "PUT", path: txPath(id), body: `{}`}, 403},
		{read, req{method: "GET", path: "/v1/card-tokens"}, 403},
		{other, req{method: "GET", path: txPath(id)}, 403},
		{other, req{method: "POST", path: txPath(id, "void")}, 403},
		{write, req{method: "GET", path: txPath(id)}, 403},
		{write, req{method: "POST", path: txPath(id, "capture"), body: `{"amount":100}`}, 200},
	} {
		c.q.bearer = c.tok
		if res := f.do(t, c.q); res.status != c.status {
			t.Fatalf("%s %s: HTTP %d, want %d: %s", c.q.method, c.q.path, res.status, c.status, res.body)
		}
	}
}

// TestIdempotencyKey: a capture retried with the same Idempotency-Key
// gets the first answer and captures once; another body is refused.
func TestIdempotencyKey(t *testing.T) {
	onStores(t, func(t *testing.T, f *fixture) {
		s := f.txShop(t)
		id := f.authorize(t, s, "4242424242424242", 1000, "keyed")
		send := func(body string) response {
			return f.doHeader(t, req{method: "POST", path: txPath(id, "capture"), bearer: s.tok, body: body}, "Idempotency-Key", "cap-1")
		}
		first := expect0(t, send(`{"amount":400,"capture_reference":"c1"}`), 200)
		again := expect0(t, send(`{"amount":400,"capture_reference":"c1"}`), 200)
		if string(first.body) != string(again.body) || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay differs:\n%s\n%s", first.body, again.body)
		}
		expect(t, send(`{"amount":500}`), 400)
		tx := expect(t, f.do(t, req{method: "GET", path: txPath(id), bearer: s.tok}), 200)
		if got := eventNames(t, tx); len(got) != 2 || tx["status"] != "PARTIALLY_CAPTURED" {
			t.Fatalf("captured more than once: %v", got)
		}
	})
}

// doHeader is do with one more header.
func (f *fixture) doHeader(t testing.TB, q req, name, value string) response {
	t.Helper()
	h := f.h
	f.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set(name, value)
		h.ServeHTTP(w, r)
	})
	defer func() { f.h = h }()
	return f.do(t, q)
}

// TestBadInput: bad bodies and ids are Dintero's 400 (or 404) naming the
// field, never a 500, and change nothing.
func TestBadInput(t *testing.T) {
	f := setup(t)
	s := f.txShop(t)
	id := f.authorize(t, s, "4242424242424242", 1000, "bad")
	for _, c := range []struct {
		q      req
		status int
		path   string
	}{
		{req{method: "POST", path: txPath(id, "capture"), body: `{}`}, 400, "amount"},
		{req{method: "POST", path: txPath(id, "capture"), body: `{"amount":-1}`}, 400, "amount"},
		{req{method: "POST", path: txPath(id, "capture"), body: `{"amount":"100"}`}, 400, "amount"},
		{req{method: "POST", path: txPath(id, "capture"), body: `{"amount":1.5}`}, 400, "amount"},
		{req{method: "POST", path: txPath(id, "capture"), body: `{"amount":100,"metadata":{"note":"x"}}`}, 400, "metadata.note"},
		{req{method: "POST", path: txPath(id, "capture"), body: `{"amount":100,"items":[{"amount":100}]}`}, 400, "items[0].line_id"},
		{req{method: "POST", path: txPath(id, "capture"), body: `{"amount":100,"capture_reference":"4111111111111111"}`}, 400, "capture_reference"},
		{req{method: "POST", path: txPath(id, "capture"), body: `{"amount":100,"final_capture":true}`}, 400, "final_capture"},
		{req{method: "POST", path: txPath(id, "refund"), body: `{"amount":100,"4111111111111111":1}`}, 400, "*"},
		{req{method: "POST", path: txPath(id, "void"), body: `{"amount":1}`}, 400, "amount"},
		{req{method: "PUT", path: txPath(id), body: `{"merchant_reference_2":5}`}, 400, "merchant_reference_2"},
		{req{method: "GET", path: txPath("T1.x")}, 404, ""},
		{req{method: "GET", path: txPath(s.id + ".a-b")}, 404, ""},
		{req{method: "GET", path: "/v1/card-tokens/" + s.id}, 404, ""},
	} {
		c.q.bearer = s.tok
		res := f.do(t, c.q)
		if res.status != c.status {
			t.Fatalf("%s %s: HTTP %d, want %d: %s", c.q.method, c.q.body, res.status, c.status, res.body)
		}
		if c.path != "" && !strings.Contains(string(res.body), `"path":"`+c.path+`"`) {
			t.Fatalf("%s: the error does not name %s: %s", c.q.body, c.path, res.body)
		}
	}
	tx := expect(t, f.do(t, req{method: "GET", path: txPath(id), bearer: s.tok}), 200)
	if len(tx["events"].([]any)) != 1 || tx["status"] != "AUTHORIZED" {
		t.Fatalf("bad input changed the transaction: %v", tx)
	}
}

// TestNoCardDataLeaks: no card number or CVC appears in any response, log
// line or event of a whole flow.
func TestNoCardDataLeaks(t *testing.T) {
	f := setup(t)
	s := f.txShop(t)
	id := f.authorize(t, s, "4761739001010416", 2000, "leak")
	pm := f.txCard(t, s, "5555555555554444")
	for _, q := range []req{
		{method: "GET", path: txPath(id)},
		{method: "POST", path: txPath(id, "capture"), body: `{"amount":2000,"capture_reference":"4761739001010416"}`},
		{method: "POST", path: txPath(id, "refund"), body: `{"amount":500,"reason":"4761739001010416"}`},
		{method: "POST", path: txPath(id, "refund"), body: `{"amount":500,"metadata":{"ext_pan":"5555555555554444"}}`},
		{method: "GET", path: "/v1/transactions?merchant_reference=4761739001010416"},
		{method: "GET", path: "/v1/card-tokens"},
		{method: "DELETE", path: "/v1/card-tokens/" + cardTokenID(s.id, pm), body: `{"reason":"5555555555554444"}`},
	} {
		q.bearer = s.tok
		f.do(t, q)
	}
	evs, _, err := f.eng.Events(context.Background(), s.id, payment.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var events strings.Builder
	for _, ev := range evs {
		events.Write(ev.Data)
	}
	pan := regexp.MustCompile(`4761739001010416|5555555555554444|"cvc":"123"`)
	for where, text := range map[string]string{"responses": strings.Join(f.responses, "\n"), "logs": f.logs.String(), "events": events.String()} {
		if m := pan.FindString(text); m != "" {
			t.Errorf("card data %q in the %s", m, where)
		}
	}
	if events.Len() == 0 || !strings.Contains(strings.Join(f.responses, ""), "476173******0416") {
		t.Error("the leak check looked at nothing")
	}
}

// FuzzTransactionID: the id parser never panics, accepts only its own
// form, and round-trips.
func FuzzTransactionID(f *testing.F) {
	for _, s := range []string{"T12345678.abc", "P00000001.0", "T12345678.", ".x", "T12345678.a.b", "T12345678.ä", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		const acct = "T12345678"
		kassa, ok := paymentIDOf(acct, id)
		if !ok {
			return
		}
		if back := transactionID(acct, kassa); back != id {
			t.Fatalf("%q → %q → %q", id, kassa, back)
		}
		if _, ok := paymentIDOf("T87654321", id); ok {
			t.Fatalf("%q is also another account's", id)
		}
	})
}

// FuzzFollowUpDecode: the capture and refund decoders and checks never
// panic, refuse with Dintero's 400 only, and never repeat a card number.
func FuzzFollowUpDecode(f *testing.F) {
	for _, s := range []string{
		`{"amount":100,"capture_reference":"r","items":[{"line_id":"1","amount":100}],"metadata":{"ext_a":"b"}}`,
		`{"amount":100,"reason":"x","refund_reference":"4111111111111111"}`, `{"amount":1e3}`,
		`{"items":[{"discount_lines":[{"line_id":1}]}]}`, `{"metadata":{"4111111111111111":"x"}}`, `[]`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, dst := range []any{&captureRequest{}, &refundRequest{}, &updateTransactionRequest{}, &deleteCardTokenRequest{}} {
			err := decodeBody(body, dst)
			if err == nil {
				switch d := dst.(type) {
				case *captureRequest:
					err = errors.Join(checkItems(d.Items), checkMetadata(d.Metadata), refCheck("capture_reference", d.CaptureReference))
				case *refundRequest:
					err = errors.Join(checkItems(d.Items), checkMetadata(d.Metadata), refCheck("refund_reference", d.RefundReference))
				}
			}
			if err == nil {
				continue
			}
			var de *Error
			if !errors.As(err, &de) || de.Status != http.StatusBadRequest {
				t.Fatalf("error %v", err)
			}
			text := de.Message
			for _, fe := range de.Errors {
				text += " " + fe.Path + " " + fe.Message
			}
			if longDigits(text) {
				t.Fatalf("the error repeats the body: %q", text)
			}
		}
	})
}

func refCheck(path string, s *string) error {
	if s == nil {
		return nil
	}
	return checkReference(path, *s)
}
