package dintero

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// authorizeOnly makes a session body's payment authorized only
// (configuration.kassa.capture false) and its callback url cb.
func authorizeOnly(body, gateway, cb string) string {
	body = strings.Replace(body, `"kassa":{"gateway":"`+gateway+`"}`, `"kassa":{"gateway":"`+gateway+`","capture":false}`, 1)
	return strings.Replace(body, "https://shop.example/cb", cb, 1)
}

func pageCard(n string) engine.CardInput {
	return engine.CardInput{Number: n, ExpMonth: 12, ExpYear: 2030, CVC: "737", HolderName: "Kari"}
}

// TestCancelPaidSession: Dintero's cancel of a session whose transaction
// is authorized voids the transaction and cancels the session (200, the
// session with its transaction_id and cancelled_at); the callback_url
// that asked for VOID events hears of the void, signed; a second cancel,
// or the cancel of a captured session, is a 409 in Dintero's shape and
// changes nothing; another account's session is a 404 and voids nothing.
func TestCancelPaidSession(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			f := setupOn(t, st.open(t), newKeyFile(t), nil)
			s, other := f.txShop(t), f.txShop(t)
			shop := newCallbackShop(t)
			secret := newSignatureSecret(t, f, s.secret)
			f.runCallbacks(t)
			ctx := context.Background()

			body := authorizeOnly(sessionBody(s.gateway, ""), s.gateway, shop.URL+"/cb?report_event=VOID")
			id := expect(t, f.do(t, req{method: "POST", path: "/v1/sessions", bearer: s.tok, body: body}), 200)["id"].(string)
			_, csID, _ := payment.ParseDinteroID(id, payment.PrefixCheckoutSession)
			v, err := f.eng.PayCheckoutPage(ctx, csID, 1, pageCard("4242424242424242"))
			if err != nil || v.Session.Status != payment.CheckoutPaid || v.Payment.Status != payment.StatusAuthorized {
				t.Fatalf("pay: %v %+v", err, v)
			}
			txID := transactionID(s.id, v.Payment.ID)
			cancel := func(tok string) response {
				return f.do(t, req{method: "POST", path: "/v1/sessions/" + id + "/cancel", bearer: tok})
			}
			txStatus := func() string {
				return expect(t, f.do(t, req{method: "GET", path: "/v1/transactions/" + txID, bearer: s.tok}), 200)["status"].(string)
			}

			wantDinteroError(t, cancel(other.tok), 404, "")
			if st := txStatus(); st != "AUTHORIZED" {
				t.Fatalf("another account's cancel left the transaction %s", st)
			}
			c := expect(t, cancel(s.tok), 200)
			if c["status"] != "cancelled" || c["transaction_id"] != txID || c["cancelled_at"] == nil {
				t.Errorf("cancelled session %v", c)
			}
			if st := txStatus(); st != "AUTHORIZATION_VOIDED" {
				t.Errorf("transaction after the cancel: %s", st)
			}
			if got := expect(t, f.do(t, req{method: "GET", path: "/v1/sessions/" + id, bearer: s.tok}), 200); got["status"] != "cancelled" {
				t.Errorf("session after the cancel %v", got)
			}
			wantDinteroError(t, cancel(s.tok), 409, "")

			// The callback of the payment and, as report_event asked, of the void.
			f.waitUntil(t, "the VOID callback", func() bool { return len(shop.requests()) >= 2 })
			var events []string
			for _, r := range shop.requests() {
				q := r.URL.Query()
				u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
				if err := VerifySignature(r.Header.Get(SignatureHeader), secret, s.id, r.Method, u, f.clk.Now()); err != nil {
					t.Errorf("callback %s: %v", u, err)
				}
				if q.Get("transaction_id") != txID || q.Get("session_id") != id {
					t.Errorf("callback query %s", r.URL.RawQuery)
				}
				events = append(events, q.Get("event"))
			}
			// Delivery is at least once: a slow run may see one twice.
			slices.Sort(events)
			if events = slices.Compact(events); !slices.Equal(events, []string{"", "VOID"}) {
				t.Errorf("callback events %q, want the payment's then VOID", events)
			}

			// A captured session is not cancelled and its transaction stays.
			capturedBody := strings.Replace(sessionBody(s.gateway, ""), "https://shop.example/cb", shop.URL+"/cb", 1)
			id2 := expect(t, f.do(t, req{method: "POST", path: "/v1/sessions", bearer: s.tok, body: capturedBody}), 200)["id"].(string)
			_, csID2, _ := payment.ParseDinteroID(id2, payment.PrefixCheckoutSession)
			v2, err := f.eng.PayCheckoutPage(ctx, csID2, 1, pageCard("4242424242424242"))
			if err != nil || v2.Payment.Status != payment.StatusCaptured {
				t.Fatalf("captured: %v %+v", err, v2)
			}
			wantDinteroError(t, f.do(t, req{method: "POST", path: "/v1/sessions/" + id2 + "/cancel", bearer: s.tok}), 409, "")
			got := expect(t, f.do(t, req{method: "GET", path: "/v1/sessions/" + id2, bearer: s.tok}), 200)
			tx := expect(t, f.do(t, req{method: "GET", path: "/v1/transactions/" + transactionID(s.id, v2.Payment.ID), bearer: s.tok}), 200)
			if got["status"] != "paid" || tx["status"] != "CAPTURED" {
				t.Errorf("captured session after a refused cancel: %v, %v", got["status"], tx["status"])
			}

			// configuration.kassa.capture must be a boolean.
			bad := strings.Replace(body, `"capture":false`, `"capture":"no"`, 1)
			wantDinteroError(t, f.do(t, req{method: "POST", path: "/v1/sessions", bearer: s.tok, body: bad}), 400, "configuration.kassa")

			// Neither the card nor the signature secret shows in an answer,
			// a callback or the log.
			var seen string
			f.mu.Lock()
			for _, r := range f.responses {
				if !strings.Contains(r, `"type":"v0-hmac-sha256"`) { // but the secret's own answer, once
					seen += r
				}
			}
			f.mu.Unlock()
			shop.mu.Lock()
			seen += strings.Join(shop.bodies, " ") + fmt.Sprint(shop.got) + f.logs.String()
			shop.mu.Unlock()
			if strings.Contains(seen, "4242424242424242") || strings.Contains(seen, secret) {
				t.Fatal("a card number or the signature secret in an answer, a callback or the log")
			}
		})
	}
}

// TestGoldenSessionCancelPaid pins the answers of a cancel that voids and
// of one refused for a captured transaction.
func TestGoldenSessionCancelPaid(t *testing.T) {
	f := setup(t)
	s := f.txShop(t)
	ctx := context.Background()
	paid := func(body string) string {
		id := expect(t, f.do(t, req{method: "POST", path: "/v1/sessions", bearer: s.tok, body: body}), 200)["id"].(string)
		_, csID, _ := payment.ParseDinteroID(id, payment.PrefixCheckoutSession)
		if _, err := f.eng.PayCheckoutPage(ctx, csID, 1, pageCard("4242424242424242")); err != nil {
			t.Fatal(err)
		}
		return id
	}
	authorized := paid(authorizeOnly(sessionBody(s.gateway, `,"expires_at":"2026-11-23T10:00:00Z"`), s.gateway, "https://shop.example/cb"))
	captured := paid(sessionBody(s.gateway, `,"expires_at":"2026-11-23T10:00:00Z"`))
	f.clk.Add(time.Minute)
	seen := map[string]string{}
	for _, step := range []struct{ name, id string }{{"session_cancel_paid", authorized}, {"error_session_cancel_captured", captured}} {
		res := f.do(t, req{method: "POST", path: "/v1/sessions/" + step.id + "/cancel", bearer: s.tok})
		body := kassaIDParts.ReplaceAll(res.body, []byte("$1.<id>"))
		golden(t, step.name, append([]byte(fmt.Sprintf("HTTP %d\n", res.status)), normalize(body, seen)...))
	}
}

// verifyDinteroSignature checks a Dintero-Signature as a merchant's
// receiver would, written from Dintero's description rather than with
// this package's Sign: HMAC-SHA256 under the secret of "t, account id,
// method, hostname, path and the query with its parameters sorted by
// name", one per line.
func verifyDinteroSignature(t *testing.T, r *http.Request, secret, accountID string, now time.Time) {
	t.Helper()
	var ts, sig string
	for _, part := range strings.Split(r.Header.Get("Dintero-Signature"), ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v0-hmac-sha256":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		t.Fatalf("no t or signature in %q", r.Header.Get("Dintero-Signature"))
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		t.Errorf("signature time %d is %v from now", sec, d)
	}
	pairs := strings.Split(r.URL.RawQuery, "&")
	slices.SortStableFunc(pairs, func(a, b string) int {
		ka, _, _ := strings.Cut(a, "=")
		kb, _, _ := strings.Cut(b, "=")
		return strings.Compare(ka, kb)
	})
	host := r.Host
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%s\n%s\n%s\n%s\n%s\n%s", ts, accountID, r.Method, host, r.URL.EscapedPath(), strings.Join(pairs, "&"))
	if want := hex.EncodeToString(m.Sum(nil)); !hmac.Equal([]byte(sig), []byte(want)) {
		t.Errorf("signature %s of %s %s does not verify", sig, r.Method, r.URL)
	}
}

// TestPaymentTokenSessionCallback: a completed payment-token session calls
// its callback_url once, as Dintero calls a session back — GET with
// session_id, merchant_reference and time, and no transaction_id, since
// none exists — signed with the account's secret; with method=POST the
// session, its card_token_id included, is the body. A declined card calls
// nothing back, and no card number is sent.
func TestPaymentTokenSessionCallback(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			f := setupOn(t, st.open(t), newKeyFile(t), nil)
			s := f.txShop(t)
			secret := newSignatureSecret(t, f, s.secret)
			f.runCallbacks(t)
			ctx := context.Background()
			save := func(cb string) (string, string) {
				body := strings.Replace(tokenSessionBody("kari-1", ""), "https://shop.example/cb", cb, 1)
				id := expect(t, f.do(t, req{method: "POST", path: "/v1/sessions/payment-token", bearer: s.tok, body: body}), 200)["id"].(string)
				_, csID, _ := payment.ParseDinteroID(id, payment.PrefixCheckoutSession)
				if v, err := f.eng.PayCheckoutPage(ctx, csID, 1, pageCard("4000000000009995")); err != nil || v.Session.Status != payment.CheckoutOpen {
					t.Fatalf("declined card: %v %+v", err, v)
				}
				v, err := f.eng.PayCheckoutPage(ctx, csID, 2, pageCard("4242424242424242"))
				if err != nil || v.Session.Status != payment.CheckoutPaid {
					t.Fatalf("good card: %v %+v", err, v)
				}
				return id, cardTokenID(s.id, v.Session.CardTokenID)
			}

			shop := newCallbackShop(t)
			id, tok := save(shop.URL + "/cb?order=9")
			f.waitUntil(t, "the token session's callback", func() bool { return len(shop.requests()) >= 1 })
			verifyDinteroSignature(t, shop.requests()[0], secret, s.id, f.clk.Now())
			// Give a second delivery (one promised twice would be due at
			// once) every chance to show up, moving the engine's clock on
			// less than a delivery's lease: past it, the webhook engine's
			// at-least-once redelivery of an attempt not yet recorded would
			// be a second callback too.
			for range 15 {
				f.clk.Add(2 * time.Second)
				time.Sleep(20 * time.Millisecond)
			}
			reqs := shop.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d callbacks, want 1", len(reqs))
			}
			r := reqs[0]
			q := r.URL.Query()
			if r.Method != "GET" || q.Get("session_id") != id || q.Get("merchant_reference") != "save-1" || q.Get("order") != "9" ||
				q.Get("time") == "" || q.Has("transaction_id") || q.Has("error") {
				t.Errorf("callback %s %s", r.Method, r.URL)
			}

			post := newCallbackShop(t)
			id2, tok2 := save(post.URL + "/cb?method=POST")
			f.waitUntil(t, "the POST callback", func() bool { return len(post.requests()) == 1 })
			r = post.requests()[0]
			post.mu.Lock()
			body := post.bodies[0]
			post.mu.Unlock()
			if r.Method != "POST" || r.URL.Query().Get("session_id") != id2 || !strings.Contains(body, `"id":"`+id2+`"`) ||
				!strings.Contains(body, `"card_token_id":"`+tok2+`"`) || !strings.Contains(body, `"status":"paid"`) {
				t.Errorf("POST callback %s %s: %s", r.Method, r.URL, body)
			}
			verifyDinteroSignature(t, r, secret, s.id, f.clk.Now())
			if tok == tok2 {
				t.Errorf("two sessions saved one card token %s", tok)
			}
			shop.mu.Lock()
			all := strings.Join(append(shop.bodies, body, fmt.Sprint(reqs), f.logs.String()), " ")
			shop.mu.Unlock()
			if strings.Contains(all, "4242424242424242") || strings.Contains(all, "4000000000009995") || strings.Contains(all, secret) {
				t.Fatal("a card number or the signature secret in a callback or the log")
			}
		})
	}
}

// newSignatureSecret sets a new callback signature secret with POST
// /v1/admin/signature and returns it.
func newSignatureSecret(t *testing.T, f *fixture, apiKey string) string {
	t.Helper()
	sig, _ := expect(t, f.do(t, req{method: "POST", path: "/v1/admin/signature", apiKey: apiKey}), 200)["signature"].(map[string]any)
	secret, _ := sig["secret"].(string)
	if secret == "" {
		t.Fatalf("no signature secret in %v", sig)
	}
	return secret
}
