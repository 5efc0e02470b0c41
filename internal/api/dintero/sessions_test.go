package dintero

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/vault"
	"github.com/kassapay/kassa/internal/webhook"
)

// TestSignatureKnownAnswer: Dintero's published example of a callback
// signature, and a verifier that accepts it and nothing else.
func TestSignatureKnownAnswer(t *testing.T) {
	u, _ := url.Parse("https://example.com/callback?B=123&A=992")
	const want = "6bed2ab1b919d460ef7465a20dc6c97260dca73fab6647106ca525f0908df64a"
	if got := Sign("123", "P00000000", "GET", u, 1582236537); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	h := SignatureValue("123", "P00000000", "GET", u, 1582236537)
	if h != "t=1582236537,v0-hmac-sha256="+want {
		t.Fatalf("header %s", h)
	}
	now := time.Unix(1582236537+60, 0)
	if err := VerifySignature(h, "123", "P00000000", "GET", u, now); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		header, secret, method string
		now                    time.Time
	}{
		"wrong secret": {h, "124", "GET", now},
		"wrong method": {h, "123", "POST", now},
		"too old":      {h, "123", "GET", now.Add(5 * time.Minute)},
		"no signature": {"t=1582236537", "123", "GET", now},
	} {
		if VerifySignature(tc.header, tc.secret, "P00000000", tc.method, u, tc.now) == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

func sessionBody(gateway, extra string) string {
	return `{"url":{"return_url":"https://shop.example/return?x=1","callback_url":"https://shop.example/cb"},` +
		`"order":{"amount":12500,"currency":"NOK","merchant_reference":"order-1",` +
		`"items":[{"id":"sku-1","line_id":"1","description":"Sykkel","quantity":1,"amount":12000,"vat_amount":2400,"vat":25},` +
		`{"id":"ship","line_id":"2","description":"Frakt","quantity":1,"amount":500,"vat_amount":100,"vat":25}]},` +
		`"configuration":{"kassa":{"gateway":"` + gateway + `"},"payex":{"creditcard":{"enabled":true}}}` + extra + `}`
}

// TestSessions creates, reads and cancels sessions on both stores, with
// their validation in Dintero's error shape, scopes and tenant isolation.
func TestSessions(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			f := setupOn(t, st.open(t), newKeyFile(t), nil)
			s, other := f.txShop(t), f.txShop(t)
			res := f.do(t, req{method: "POST", path: "/v1/sessions", bearer: s.tok, body: sessionBody(s.gateway, "")})
			m := expect(t, res, 200)
			id, _ := m["id"].(string)
			if !strings.HasPrefix(id, s.id+".") || len(m) != 2 || m["url"] != "http://example.com/checkout/dintero/v1/view/"+id {
				t.Fatalf("created %s", res.body)
			}
			got := expect(t, f.do(t, req{method: "GET", path: "/v1/sessions/" + id, bearer: s.tok}), 200)
			if got["id"] != id || got["status"] != "open" || got["order"].(map[string]any)["amount"] != 12500.0 {
				t.Errorf("session %v", got)
			}
			// Another account sees nothing, by its id or by this one's.
			for _, q := range []req{{method: "GET", path: "/v1/sessions/" + id}, {method: "POST", path: "/v1/sessions/" + id + "/cancel"}} {
				q.bearer = other.tok
				wantDinteroError(t, f.do(t, q), 404, "")
			}
			// Scopes: read:checkout reads but does not write.
			ro := f.tokenScoped(t, s.merchant, "read:checkout")
			expect(t, f.do(t, req{method: "GET", path: "/v1/sessions/" + id, bearer: ro}), 200)
			wantDinteroError(t, f.do(t, req{method: "POST", path: "/v1/sessions", bearer: ro, body: sessionBody(s.gateway, "")}), 403, "")
			wantDinteroError(t, f.do(t, req{method: "POST", path: "/v1/sessions/" + id + "/cancel", bearer: ro}), 403, "")
			wantDinteroError(t, f.do(t, req{method: "GET", path: "/v1/sessions/" + id}), 401, "")

			c := expect(t, f.do(t, req{method: "POST", path: "/v1/sessions/" + id + "/cancel", bearer: s.tok}), 200)
			if c["status"] != "cancelled" || c["cancelled_at"] == nil {
				t.Errorf("cancelled %v", c)
			}
			wantDinteroError(t, f.do(t, req{method: "POST", path: "/v1/sessions/" + id + "/cancel", bearer: s.tok}), 409, "")

			past := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC).Format(time.RFC3339)
			for _, tc := range []struct{ body, path string }{
				{strings.Replace(sessionBody(s.gateway, ""), `"amount":12500`, `"amount":12400`, 1), "order.amount"},
				{strings.Replace(sessionBody(s.gateway, ""), `"NOK"`, `"XYZ"`, 1), "order.currency"},
				{sessionBody(s.gateway, `,"expires_at":"`+past+`"`), "expires_at"},
				{sessionBody(s.gateway, `,"expires_at":"tomorrow"`), "expires_at"},
				{strings.Replace(sessionBody(s.gateway, ""), `"return_url":"https://shop.example/return?x=1",`, "", 1), "url.return_url"},
				{strings.Replace(sessionBody(s.gateway, ""), `"callback_url":"https://shop.example/cb"`, `"callback_url":"ftp://x"`, 1), "url.callback_url"},
				{strings.Replace(sessionBody(s.gateway, ""), `"amount":500,`, ``, 1), "order.items[1].amount"},
				{strings.Replace(sessionBody(s.gateway, ""), `"quantity":1,"amount":500`, `"quantity":1.5,"amount":500`, 1), "order.items[1].quantity"},
				{sessionBody("gw_nope", ""), "configuration.kassa.gateway"},
				{`{"order":{"amount":1}}`, "url.return_url"},
				{`{"url":{"return_url":"https://x.example"},"order":{"amount":1,"currency":"NOK","merchant_reference":"r"},"surprise":1}`, "surprise"},
			} {
				res := f.do(t, req{method: "POST", path: "/v1/sessions", bearer: s.tok, body: tc.body})
				wantDinteroError(t, res, 0, tc.path)
			}
		})
	}
}

// TestSessionCustomerIsTheCustomersAPIs: a session's customer.customer_id
// is the merchant's own id, as in the customers API: the customer is made
// there when it is new, and the session shows that id, not kassa's.
func TestSessionCustomerIsTheCustomersAPIs(t *testing.T) {
	onStores(t, func(t *testing.T, f *fixture) {
		s := f.txShop(t)
		res := f.do(t, req{method: "POST", path: "/v1/sessions", bearer: s.tok,
			body: sessionBody(s.gateway, `,"customer":{"customer_id":"c-77","email":"kari@example.com"}`)})
		id, _ := expect(t, res, 200)["id"].(string)
		got := expect(t, f.do(t, req{method: "GET", path: "/v1/sessions/" + id, bearer: s.tok}), 200)
		if cus, _ := got["customer"].(map[string]any); cus == nil || cus["customer_id"] != "c-77" {
			t.Fatalf("session customer %v", got["customer"])
		}
		user := f.do(t, req{method: "GET", path: "/v1/accounts/" + s.id + "/customers/users/c-77", bearer: s.tok})
		if user.status != 200 {
			t.Fatalf("the session's customer in the customers API: HTTP %d %s", user.status, user.body)
		}
		// A second session of the same customer makes no second customer.
		expect(t, f.do(t, req{method: "POST", path: "/v1/sessions", bearer: s.tok,
			body: sessionBody(s.gateway, `,"customer":{"customer_id":"c-77"}`)}), 200)
		list := f.do(t, req{method: "GET", path: "/v1/accounts/" + s.id + "/customers/users", bearer: s.tok})
		var users []map[string]any
		if err := json.Unmarshal(list.body, &users); err != nil || len(users) != 1 {
			t.Fatalf("customers after two sessions: %s", list.body)
		}
	})
}

func newKeyFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master.key")
	if _, err := vault.CreateDevKeyFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// wantDinteroError checks Dintero's error envelope: status (0: 400 or
// 404) and, when path is set, the field it names.
func wantDinteroError(t *testing.T, res response, status int, path string) {
	t.Helper()
	if status != 0 && res.status != status || status == 0 && res.status != 400 && res.status != 404 {
		t.Fatalf("HTTP %d, want %d: %s", res.status, status, res.body)
	}
	e, _ := res.json(t)["error"].(map[string]any)
	if e == nil || e["message"] == "" || e["code"] == "" {
		t.Fatalf("not Dintero's error shape: %s", res.body)
	}
	if path == "" {
		return
	}
	errs, _ := e["errors"].([]any)
	if len(errs) == 0 || errs[0].(map[string]any)["path"] != path {
		t.Errorf("error names %v, want %s: %s", errs, path, res.body)
	}
}

// callbackShop receives callbacks and records each request.
type callbackShop struct {
	*httptest.Server
	mu     sync.Mutex
	got    []*http.Request
	bodies []string
}

func newCallbackShop(t *testing.T) *callbackShop {
	cs := &callbackShop{}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		cs.mu.Lock()
		cs.got = append(cs.got, r)
		cs.bodies = append(cs.bodies, string(b))
		cs.mu.Unlock()
	}))
	t.Cleanup(cs.Close)
	return cs
}

func (cs *callbackShop) requests() []*http.Request {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return append([]*http.Request(nil), cs.got...)
}

func (f *fixture) runCallbacks(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.eng.RunWebhooks(ctx, engine.WebhookOptions{Client: webhook.NewClient(true), Poll: 5 * time.Millisecond,
			Schedule: webhook.Schedule{0, 50 * time.Millisecond}, Signers: map[string]engine.CallbackSigner{payment.SignerDintero: CallbackSigner(f.eng)}})
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// waitUntil waits for cond, moving the engine's clock on meanwhile: a
// callback claimed while its payment was still in flight is put back for
// a second of the engine's time.
func (f *fixture) waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
		f.clk.Add(200 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestSessionPaymentAndCallback: a session paid on the page (declined
// once, then paid) is a transaction of the dialect found by session_id;
// its callback arrives once, as a GET with Dintero's query, signed with
// the secret from POST /v1/admin/signature; a POST callback carries the
// transaction; a second payment of the paid session pays nothing.
func TestSessionPaymentAndCallback(t *testing.T) {
	f := setup(t)
	s := f.txShop(t)
	shop := newCallbackShop(t)
	sig := expect(t, f.do(t, req{method: "POST", path: "/v1/admin/signature", apiKey: s.secret}), 200)
	sigBody, _ := sig["signature"].(map[string]any)
	secret, _ := sigBody["secret"].(string)
	if len(secret) < 32 || sigBody["type"] != "v0-hmac-sha256" {
		t.Fatalf("secret %v", sig)
	}
	f.runCallbacks(t)
	create := func(cb string) (string, string) {
		body := strings.Replace(sessionBody(s.gateway, ""), "https://shop.example/cb", cb, 1)
		id := expect(t, f.do(t, req{method: "POST", path: "/v1/sessions", bearer: s.tok, body: body}), 200)["id"].(string)
		_, csID, _ := payment.ParseDinteroID(id, payment.PrefixCheckoutSession)
		return id, csID
	}
	id, csID := create(shop.URL + "/cb?order=1")
	ctx := context.Background()
	card := func(n string) engine.CardInput {
		return engine.CardInput{Number: n, ExpMonth: 12, ExpYear: 2030, CVC: "737", HolderName: "Kari"}
	}
	if _, err := f.eng.PayCheckoutPage(ctx, csID, 1, card("4000000000009995")); err != nil {
		t.Fatal(err)
	}
	v, err := f.eng.PayCheckoutPage(ctx, csID, 2, card("4242424242424242"))
	if err != nil || v.Session.Status != payment.CheckoutPaid {
		t.Fatalf("pay: %v %+v", err, v)
	}
	txID := transactionID(s.id, v.Session.PaymentID)
	// A second payment of the paid session pays nothing.
	if v, err := f.eng.PayCheckoutPage(ctx, csID, 3, card("4242424242424242")); err != nil || v.Session.Attempts != 2 {
		t.Fatalf("second payment: %v %+v", err, v)
	}

	list := f.do(t, req{method: "GET", path: "/v1/transactions?session_id=" + id, bearer: s.tok})
	if list.status != 200 || !strings.Contains(string(list.body), `"id":"`+txID+`"`) || strings.Count(string(list.body), `"session_id":"`+id+`"`) != 1 {
		t.Fatalf("transactions of the session: %s", list.body)
	}
	got := expect(t, f.do(t, req{method: "GET", path: "/v1/sessions/" + id, bearer: s.tok}), 200)
	if got["status"] != "paid" || got["transaction_id"] != txID {
		t.Errorf("paid session %v", got)
	}

	// Two callbacks: the declined attempt's (error=failed) and the paid one's.
	f.waitUntil(t, "callbacks", func() bool { return len(shop.requests()) >= 2 })
	var paid *http.Request
	for _, r := range shop.requests() {
		u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
		if r.Method != "GET" {
			t.Errorf("method %s", r.Method)
		}
		if err := VerifySignature(r.Header.Get(SignatureHeader), secret, s.id, r.Method, u, f.clk.Now()); err != nil {
			t.Errorf("signature of %s: %v", u, err)
		}
		q := r.URL.Query()
		if q.Get("session_id") != id || q.Get("merchant_reference") != "order-1" || q.Get("order") != "1" || q.Get("time") == "" {
			t.Errorf("callback query %s", r.URL.RawQuery)
		}
		if q.Get("transaction_id") == txID && q.Get("error") == "" {
			paid = r
		}
	}
	if paid == nil {
		t.Fatalf("no callback of the paid transaction: %v", shop.requests())
	}

	// method=POST: the transaction is the body.
	post := newCallbackShop(t)
	id2, csID2 := create(post.URL + "/cb?method=POST")
	if _, err := f.eng.PayCheckoutPage(ctx, csID2, 1, card("4242424242424242")); err != nil {
		t.Fatal(err)
	}
	f.waitUntil(t, "POST callback", func() bool { return len(post.requests()) == 1 })
	r := post.requests()[0]
	post.mu.Lock()
	body := post.bodies[0]
	post.mu.Unlock()
	u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	if r.Method != "POST" || !strings.Contains(body, `"session_id":"`+id2+`"`) || !strings.Contains(body, `"status":"CAPTURED"`) {
		t.Errorf("POST callback %s %s", r.Method, body)
	}
	if err := VerifySignature(r.Header.Get(SignatureHeader), secret, s.id, "POST", u, f.clk.Now()); err != nil {
		t.Error(err)
	}
	for _, b := range append(append([]string{}, shop.bodies...), body, f.logs.String(), fmt.Sprint(shop.requests())) {
		if strings.Contains(b, "4242424242424242") || strings.Contains(b, "4000000000009995") {
			t.Fatal("a card number in a callback or log")
		}
	}
}

// signatureSecrets are the random secrets of POST /v1/admin/signature,
// clientIDs the random part of a client_id.
var (
	signatureSecrets = regexp.MustCompile(`dsec_[A-Za-z0-9]+`)
	clientIDs        = regexp.MustCompile(`\b(sk_(?:test|live)_)[A-Za-z0-9]{8}\b`)
)

// TestGoldenSessions pins the shapes of sessions and their errors, and of
// the signature secret.
func TestGoldenSessions(t *testing.T) {
	f := setup(t)
	s, other := f.txShop(t), f.txShop(t)
	id := expect(t, f.do(t, req{method: "POST", path: "/v1/sessions", bearer: s.tok,
		body: sessionBody(s.gateway, `,"expires_at":"2026-11-23T10:00:00Z","customer":{"email":"kari@example.com"}`)}), 200)["id"].(string)
	steps := []struct {
		name string
		q    req
	}{
		{"session_get", req{method: "GET", path: "/v1/sessions/" + id}},
		{"session_cancel", req{method: "POST", path: "/v1/sessions/" + id + "/cancel"}},
		{"error_session_cancel_conflict", req{method: "POST", path: "/v1/sessions/" + id + "/cancel"}},
		{"error_session_not_found", req{method: "GET", path: "/v1/sessions/" + other.id + ".x"}},
		{"error_session_amount", req{method: "POST", path: "/v1/sessions",
			body: strings.Replace(sessionBody(s.gateway, ""), `"amount":12500`, `"amount":1`, 1)}},
		{"error_session_currency", req{method: "POST", path: "/v1/sessions", body: strings.Replace(sessionBody(s.gateway, ""), `"NOK"`, `"XYZ"`, 1)}},
		{"error_session_expires_at", req{method: "POST", path: "/v1/sessions", body: sessionBody(s.gateway, `,"expires_at":"2026-11-22T09:00:00Z"`)}},
		{"admin_signature", req{method: "POST", path: "/v1/admin/signature"}},
	}
	seen := map[string]string{}
	for _, st := range steps {
		st.q.bearer = s.tok
		res := f.do(t, st.q)
		body := kassaIDParts.ReplaceAll(res.body, []byte("$1.<id>"))
		body = signatureSecrets.ReplaceAll(body, []byte("dsec_<secret>"))
		body = clientIDs.ReplaceAll(body, []byte("${1}<client>"))
		golden(t, st.name, append([]byte(fmt.Sprintf("HTTP %d\n", res.status)), normalize(body, seen)...))
	}
}

// FuzzSessionRequest: a session request is decoded and checked without a
// panic, refused with Dintero's 400 only, never repeating a card number.
func FuzzSessionRequest(f *testing.F) {
	for _, s := range []string{sessionBody("gw_1", ""), `{"order":{"amount":-1}}`, `{"url":{"return_url":"4111111111111111"}}`,
		`{"order":{"amount":1,"items":[{"amount":1,"quantity":1e300}]}}`, `{"configuration":{"kassa":[]}}`, `{"configuration":{"kassa":{"capture":"no"}}}`, `{"expires_at":"x"}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in sessionRequest
		err := decodeBody(body, &in)
		if err == nil {
			_, err = in.input()
		}
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
	})
}
