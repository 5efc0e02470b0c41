package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/kassapay/kassa/client"
	"github.com/kassapay/kassa/internal/store/pgtest"
)

// dinteroSDKDir holds Dintero's web SDK from npm (npm ci --prefix
// e2e/dintero-checkout), pinned at 0.8.30.
const dinteroSDKDir = "../../e2e/dintero-checkout"

// sdkShop is a merchant's site on its own origin: a page that embeds
// kassa's checkout with Dintero's real web SDK, a return URL and a
// callback URL. It records what the SDK's callbacks, the return URL and
// the callback URL got.
type sdkShop struct {
	*httptest.Server
	mu        sync.Mutex
	returns   []*url.URL
	callbacks []*http.Request
}

// embedPage is the merchant's page: it embeds the session the query names
// and records each SDK callback's event in window.events (and every
// message the page's window sees in window.messages); validate= adds an
// onValidateSession that accepts or rejects the order, popout= the SDK's
// pop-out flow.
const embedPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>Shop checkout</title>
<script src="/sdk.js"></script></head>
<body style="margin:0;font-family:sans-serif"><h1 style="font-size:18px">Fjord Bikes — checkout</h1>
<div id="checkout" style="max-width:480px"></div>
<script>
window.events = [];
window.messages = [];
window.addEventListener("message", function (e) { window.messages.push(JSON.stringify(e.data)); });
var q = new URLSearchParams(location.search);
function record(name) {
  return function (event) { window.events.push({cb: name, event: event}); };
}
var options = {
  container: document.getElementById("checkout"),
  endpoint: q.get("endpoint"),
  sid: q.get("sid"),
  language: "no",
  onSession: record("onSession"),
  onPayment: record("onPayment"),
  onPaymentError: record("onPaymentError"),
  onSessionCancel: record("onSessionCancel"),
  onSessionLocked: record("onSessionLocked"),
  onSessionLockFailed: record("onSessionLockFailed"),
  onSessionNotFound: record("onSessionNotFound")
};
// validate=accept|reject: the shop checks the order before payment.
if (q.get("validate")) {
  options.onValidateSession = function (event, checkout, callback) {
    window.events.push({cb: "onValidateSession", event: {type: event.type, session: event.session}});
    window.setTimeout(function () {
      callback(q.get("validate") === "accept" ? {success: true} :
        {success: false, clientValidationError: "Sykkelen er dessverre utsolgt."});
    }, 200);
  };
}
if (q.get("popout")) {
  options.popOut = true;
}
dintero.embed(options).then(function (checkout) { window.checkout = checkout; });
</script></body></html>`

func newSDKShop(t *testing.T) *sdkShop {
	t.Helper()
	sdk, err := os.ReadFile(filepath.Join(dinteroSDKDir, "node_modules", "@dintero", "checkout-web-sdk", "dist",
		"dintero-checkout-web-sdk.umd.min.js"))
	if err != nil {
		requireNPM(t, "the embedded checkout browser test", dinteroSDKDir, "@dintero/checkout-web-sdk")
		t.Fatal(err)
	}
	m := &sdkShop{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sdk.js":
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(sdk)
		case "/embed":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, embedPage)
		case "/callback":
			m.mu.Lock()
			m.callbacks = append(m.callbacks, r)
			m.mu.Unlock()
		default:
			m.mu.Lock()
			m.returns = append(m.returns, r.URL)
			m.mu.Unlock()
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><title>Shop</title><p id="landed">Back at the shop: %s</p>`, r.URL.Path)
		}
	}))
	t.Cleanup(m.Close)
	return m
}

// verifyDinteroSignature checks a Dintero-Signature as a merchant does, by
// the algorithm Dintero documents: HMAC-SHA256 of "t\naccount\nMETHOD\n
// hostname\npathname\nsorted query", t within five minutes.
func verifyDinteroSignature(header, secret, account string, r *http.Request, now time.Time) error {
	var ts, sig string
	for _, p := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "t":
			ts = v
		case "v0-hmac-sha256":
			sig = v
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return fmt.Errorf("malformed signature %q", header)
	}
	if d := now.Sub(time.Unix(t, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("signature time %d is %s from now", t, d)
	}
	host, _, _ := strings.Cut(r.Host, ":")
	payload := ts + "\n" + account + "\n" + r.Method + "\n" + host + "\n" + r.URL.EscapedPath() + "\n" + r.URL.Query().Encode()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(payload))
	if !hmac.Equal([]byte(sig), []byte(hex.EncodeToString(mac.Sum(nil)))) {
		return fmt.Errorf("signature does not verify")
	}
	return nil
}

// dinteroAPI calls kassa's Dintero dialect.
func dinteroAPI(t *testing.T, method, u, body string, auth func(*http.Request)) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	auth(req)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, u, res.StatusCode, b)
	}
	return m
}

// sdkEvent is one SDK callback the merchant's page recorded.
type sdkEvent struct {
	CB    string         `json:"cb"`
	Event map[string]any `json:"event"`
}

func pageEvents(t *testing.T, tab context.Context) []sdkEvent {
	t.Helper()
	raw, err := chromedp.Run(tab, chromedp.Evaluate[string](`JSON.stringify(window.events || [])`))
	if err != nil {
		t.Fatal(err)
	}
	var evs []sdkEvent
	if err := json.Unmarshal([]byte(raw), &evs); err != nil {
		t.Fatal(err)
	}
	return evs
}

// waitEvent waits for the page's SDK callback cb and returns its event.
func waitEvent(t *testing.T, tab context.Context, cb string, n int) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		seen := 0
		for _, e := range pageEvents(t, tab) {
			if e.CB == cb {
				if seen++; seen == n {
					return e.Event
				}
			}
		}
	}
	t.Fatalf("the SDK did not call %s (%d): %+v", cb, n, pageEvents(t, tab))
	return nil
}

// inFrame runs actions on the checkout page inside the SDK's iframe.
func inFrame(t *testing.T, tab context.Context, actions func(frame chromedp.QueryOption) chromedp.Action[chromedp.Void]) {
	t.Helper()
	frames, err := chromedp.Run(tab, chromedp.Nodes(chromedp.CSS("#checkout iframe")))
	if err != nil || len(frames) != 1 {
		t.Fatalf("the SDK's iframe: %d %v", len(frames), err)
	}
	if err := chromedp.Do(tab, actions(chromedp.FromNode(frames[0]))); err != nil {
		t.Fatal(err)
	}
}

// frameText waits for sel in the SDK's iframe and returns its text. The
// iframe is looked up again on each try: a page it navigated away from
// would never show sel.
func frameText(t *testing.T, tab context.Context, sel string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		frames, err := chromedp.Run(tab, chromedp.Nodes(chromedp.CSS("#checkout iframe")))
		if err == nil && len(frames) == 1 {
			try, cancel := context.WithTimeout(tab, time.Second)
			f := chromedp.FromNode(frames[0])
			err = chromedp.Do(try, chromedp.WaitVisible(chromedp.CSS(sel), f))
			var text string
			if err == nil {
				text, err = chromedp.Run(try, chromedp.Text(chromedp.CSS(sel), f))
			}
			cancel()
			if err == nil {
				return text
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s in the SDK's iframe: %v", sel, err)
		}
	}
}

// waitCheckout waits until embed() resolved with the checkout instance.
func waitCheckout(t *testing.T, tab context.Context) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](`!!window.checkout`)); err == nil && ok {
			return
		}
	}
	t.Fatal("embed() did not resolve")
}

// iframeHeight is the height the SDK gave its iframe.
func iframeHeight(t *testing.T, tab context.Context) float64 {
	t.Helper()
	h, err := chromedp.Run(tab, chromedp.Evaluate[float64](`document.querySelector("#checkout iframe").getBoundingClientRect().height`))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestDinteroEmbeddedCheckoutInChromium drives kassa's checkout embedded
// on a merchant's page (another origin) by Dintero's real web SDK: each
// SDK callback fires with the session and the Dintero transaction id, the
// iframe is sized by HeightChanged, lockSession() resolves; and the
// redirect flow of a Dintero session lands on return_url with Dintero's
// query while the signed callback arrives; onValidateSession holds the
// payment (a refusal leaves the store without one), and popOut pays in
// the window the SDK opens. Nothing holds a card number. On both stores.
func TestDinteroEmbeddedCheckoutInChromium(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testDinteroEmbedded(t, nil) })
	t.Run("postgres", func(t *testing.T) { testDinteroEmbedded(t, []string{"--database-url", pgtest.SchemaURL(t)}) })
}

func testDinteroEmbedded(t *testing.T, dbArgs []string) {
	browser := newBrowser(t)
	shop := newSDKShop(t)
	s := startServer(t, filepath.Join(t.TempDir(), "data"), env(nil), append([]string{"--webhook-schedule", "0s,200ms,200ms"}, dbArgs...)...)
	ctx := context.Background()
	key := s.bootstrapKey(t)
	c := client.New(s.URL, key)
	acct, err := c.Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := c.CreateGateway(ctx, &client.GatewayParams{Type: "simulator", Description: "sim"})
	if err != nil {
		t.Fatal(err)
	}
	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	dintero := s.URL + "/dintero"
	endpoint := s.URL + "/checkout/dintero"
	dinteroAPI(t, "POST", s.URL+"/v1/account", `{"checkout_embed_origins":["`+shop.URL+`"]}`, bearer(key))
	tok := dinteroAPI(t, "POST", dintero+"/v1/accounts/"+acct.ID+"/auth/token",
		`{"grant_type":"client_credentials","audience":"`+dintero+`/v1/accounts/`+acct.ID+`"}`,
		func(r *http.Request) { r.SetBasicAuth(key[:16], key) })["access_token"].(string)
	sig := dinteroAPI(t, "POST", dintero+"/v1/admin/signature", "", func(r *http.Request) { r.Header.Set("X-Api-Key", key) })
	secret := sig["signature"].(map[string]any)["secret"].(string)
	session := func(ref, expires string) (string, string) {
		body := `{"url":{"return_url":"` + shop.URL + `/return?shop=fjord","callback_url":"` + shop.URL + `/callback"},` +
			`"order":{"amount":125000,"currency":"NOK","merchant_reference":"` + ref + `","items":[` +
			`{"id":"bike","line_id":"1","description":"Sykkel, 28 tommer","quantity":1,"amount":120000,"vat_amount":24000,"vat":25},` +
			`{"id":"ship","line_id":"2","description":"Frakt","quantity":1,"amount":5000,"vat_amount":1000,"vat":25}]},` +
			`"configuration":{"kassa":{"gateway":"` + gw.ID + `"}}` + expires + `}`
		m := dinteroAPI(t, "POST", dintero+"/v1/sessions", body, bearer(tok))
		return m["id"].(string), m["url"].(string)
	}
	transaction := func(id string) map[string]any {
		return dinteroAPI(t, "GET", dintero+"/v1/transactions/"+id, "", bearer(tok))
	}
	rig := &checkoutRig{s: s, c: c, gw: gw.ID, browser: browser, shots: artifactsDir(t)}
	good := "4242424242424242"
	var messages []string
	embed := func(t *testing.T, sid string, extra ...string) context.Context {
		tab := rig.tab(t)
		u := shop.URL + "/embed?endpoint=" + url.QueryEscape(endpoint) + "&sid=" + url.QueryEscape(sid) + strings.Join(extra, "")
		if err := chromedp.Do(tab, chromedp.Navigate(u)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if raw, err := chromedp.Run(tab, chromedp.Evaluate[string](`JSON.stringify(window.messages || [])`)); err == nil {
				messages = append(messages, raw)
			}
		})
		return tab
	}

	t.Run("embedded payment", func(t *testing.T) {
		sid, _ := session("order-e1", "")
		tab := embed(t, sid)
		loaded := waitEvent(t, tab, "onSession", 1)
		if sess, _ := loaded["session"].(map[string]any); loaded["type"] != "SessionLoaded" || loaded["sid"] != sid || sess["id"] != sid {
			t.Fatalf("onSession %v", loaded)
		}
		for deadline := time.Now().Add(5 * time.Second); iframeHeight(t, tab) < 100; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("iframe height %v", iframeHeight(t, tab))
			}
		}
		waitCheckout(t, tab)
		lock, err := chromedp.Run(tab, chromedp.Evaluate[map[string]any](`window.checkout.lockSession()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("lockSession: %v", err)
		}
		locked := waitEvent(t, tab, "onSessionLocked", 1)
		if lock["type"] != "SessionLocked" || lock["pay_lock_id"] == "" || locked["pay_lock_id"] != lock["pay_lock_id"] {
			t.Fatalf("lockSession resolved %v, onSessionLocked %v", lock, locked)
		}
		rig.shot(t, tab, "dintero-01-embedded-locked")
		refreshed, err := chromedp.Run(tab, chromedp.Evaluate[map[string]any](`window.checkout.refreshSession()`, chromedp.EvalAwaitPromise))
		if err != nil || refreshed["type"] != "SessionUpdated" {
			t.Fatalf("refreshSession: %v %v", refreshed, err)
		}
		inFrame(t, tab, func(f chromedp.QueryOption) chromedp.Action[chromedp.Void] {
			return chromedp.Steps(
				chromedp.WaitEnabled(chromedp.CSS("#number"), f),
				chromedp.SendKeys(chromedp.CSS("#number"), good, f),
				chromedp.SendKeys(chromedp.CSS("#exp"), "12 / 30", f),
				chromedp.SendKeys(chromedp.CSS("#cvc"), "737", f),
				chromedp.SendKeys(chromedp.CSS("#name"), "Kari Nordmann", f),
			)
		})
		rig.shot(t, tab, "dintero-02-embedded-filled")
		inFrame(t, tab, func(f chromedp.QueryOption) chromedp.Action[chromedp.Void] {
			return chromedp.Click(chromedp.CSS("#submit"), f)
		})
		paid := waitEvent(t, tab, "onPayment", 1)
		txID, _ := paid["transaction_id"].(string)
		if paid["type"] != "SessionPaymentAuthorized" || !strings.HasPrefix(txID, acct.ID+".") || paid["merchant_reference"] != "order-e1" {
			t.Fatalf("onPayment %v", paid)
		}
		href, _ := url.Parse(paid["href"].(string))
		if href.Query().Get("transaction_id") != txID || href.Query().Get("shop") != "fjord" {
			t.Errorf("href %v", href)
		}
		if tx := transaction(txID); tx["session_id"] != sid || tx["status"] != "CAPTURED" {
			t.Errorf("transaction %v", tx)
		}
		src, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector("#checkout iframe").src`))
		if err != nil ||
			!strings.HasPrefix(src, endpoint+"/embedResult/?sid="+sid) {
			t.Errorf("iframe src after payment %q (%v)", src, err)
		}
		// The SDK loaded kassa's result page into its iframe: framed, in
		// the SDK's language, sized by its own HeightChanged.
		heading := frameText(t, tab, `body[data-state="paid"]:not(:has(#next)) h1`) // the result page has no link on
		if heading != "Betalingen er fullført" {
			t.Errorf("result page heading %q", heading)
		}
		if h := iframeHeight(t, tab); h <= 0 {
			t.Errorf("embedResult iframe height %v", h)
		}
		rig.shot(t, tab, "dintero-03-embedded-paid")
	})

	t.Run("embedded cancel", func(t *testing.T) {
		sid, _ := session("order-e2", "")
		tab := embed(t, sid)
		waitEvent(t, tab, "onSession", 1)
		inFrame(t, tab, func(f chromedp.QueryOption) chromedp.Action[chromedp.Void] {
			return chromedp.Click(chromedp.CSS("#cancel"), f)
		})
		ev := waitEvent(t, tab, "onSessionCancel", 1)
		href, _ := url.Parse(fmt.Sprint(ev["href"]))
		if ev["type"] != "SessionCancel" || ev["sid"] != sid || href.Query().Get("error") != "cancelled" {
			t.Errorf("onSessionCancel %v", ev)
		}
		rig.shot(t, tab, "dintero-04-embedded-cancelled")
	})

	t.Run("embedded error and not found", func(t *testing.T) {
		sid, _ := session("order-e3", `,"expires_at":"`+time.Now().Add(1500*time.Millisecond).UTC().Format(time.RFC3339Nano)+`"`)
		time.Sleep(2 * time.Second)
		tab := embed(t, sid)
		ev := waitEvent(t, tab, "onPaymentError", 1)
		if ev["type"] != "SessionPaymentError" || ev["error"] != "failed" || !strings.Contains(fmt.Sprint(ev["href"]), "error=failed") {
			t.Errorf("onPaymentError %v", ev)
		}
		tab = embed(t, acct.ID+".doesNotExist")
		if ev := waitEvent(t, tab, "onSessionNotFound", 1); ev["type"] != "SessionNotFound" {
			t.Errorf("onSessionNotFound %v", ev)
		}
	})

	// fill types the good card into the form of ctx (the SDK's iframe
	// with f, or the pop-out window's page).
	fill := func(f ...chromedp.QueryOption) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.WaitEnabled(chromedp.CSS("#number"), f...),
			chromedp.SendKeys(chromedp.CSS("#number"), good, f...),
			chromedp.SendKeys(chromedp.CSS("#exp"), "12 / 30", f...),
			chromedp.SendKeys(chromedp.CSS("#cvc"), "737", f...),
			chromedp.SendKeys(chromedp.CSS("#name"), "Kari Nordmann", f...),
		)
	}
	// unpaid checks in the store, through the API, that the session has
	// no payment: still open, and no transaction made by it.
	unpaid := func(t *testing.T, sid string) {
		t.Helper()
		if sess := dinteroAPI(t, "GET", dintero+"/v1/sessions/"+url.PathEscape(sid), "", bearer(tok)); sess["status"] != "open" || sess["transaction_id"] != nil {
			t.Errorf("session after the rejected check: %v", sess)
		}
		req, _ := http.NewRequest("GET", dintero+"/v1/transactions?session_id="+url.QueryEscape(sid), nil)
		bearer(tok)(req)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var txs []any
		if err := json.NewDecoder(res.Body).Decode(&txs); err != nil || res.StatusCode != 200 || len(txs) != 0 {
			t.Errorf("transactions of the session: %d %v %v", res.StatusCode, txs, err)
		}
	}

	t.Run("client-side validation rejects", func(t *testing.T) {
		sid, _ := session("order-v1", "")
		tab := embed(t, sid, "&validate=reject")
		waitEvent(t, tab, "onSession", 1)
		inFrame(t, tab, func(f chromedp.QueryOption) chromedp.Action[chromedp.Void] {
			return chromedp.Steps(fill(f), chromedp.Click(chromedp.CSS("#submit"), f))
		})
		if ev := waitEvent(t, tab, "onValidateSession", 1); ev["type"] != "ValidateSession" {
			t.Errorf("onValidateSession %v", ev)
		}
		var shown string
		inFrame(t, tab, func(f chromedp.QueryOption) chromedp.Action[chromedp.Void] {
			return chromedp.Steps(chromedp.WaitVisible(chromedp.CSS("#embed-error"), f),
				func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
					var err error
					shown, err = chromedp.Text(chromedp.CSS("#embed-error"), f)(ctx, tg)
					return chromedp.Void{}, err
				},
				chromedp.WaitEnabled(chromedp.CSS("#submit"), f))
		})
		if shown != "Sykkelen er dessverre utsolgt." {
			t.Errorf("the shop's error on the page: %q", shown)
		}
		rig.shot(t, tab, "dintero-06-validation-rejected")
		time.Sleep(500 * time.Millisecond) // a payment would have been made by now
		unpaid(t, sid)
		for _, e := range pageEvents(t, tab) {
			if e.CB == "onPayment" || e.CB == "onPaymentError" {
				t.Errorf("the SDK called %s after a rejected check", e.CB)
			}
		}
	})

	t.Run("client-side validation accepts", func(t *testing.T) {
		sid, _ := session("order-v2", "")
		tab := embed(t, sid, "&validate=accept")
		waitEvent(t, tab, "onSession", 1)
		inFrame(t, tab, func(f chromedp.QueryOption) chromedp.Action[chromedp.Void] {
			return chromedp.Steps(fill(f), chromedp.Click(chromedp.CSS("#submit"), f))
		})
		waitEvent(t, tab, "onValidateSession", 1)
		paid := waitEvent(t, tab, "onPayment", 1)
		txID, _ := paid["transaction_id"].(string)
		if paid["type"] != "SessionPaymentAuthorized" || !strings.HasPrefix(txID, acct.ID+".") || paid["merchant_reference"] != "order-v2" {
			t.Fatalf("onPayment %v", paid)
		}
		if tx := transaction(txID); tx["session_id"] != sid || tx["status"] != "CAPTURED" {
			t.Errorf("transaction %v", tx)
		}
		rig.shot(t, tab, "dintero-07-validation-accepted")
	})

	// openPopOut clicks the SDK's pop-out button in tab and attaches to
	// the window it opens, whose URL must contain want.
	openPopOut := func(t *testing.T, tab context.Context, want string) context.Context {
		t.Helper()
		button := chromedp.CSS("#dintero-checkout-sdk-launch-pop-out")
		if err := chromedp.Do(tab, chromedp.WaitVisible(button)); err != nil {
			t.Fatalf("the SDK drew no pop-out button: %v", err)
		}
		var mu sync.Mutex
		var at string // the URL the window opened at (it may close before we ask it)
		opened := chromedp.WaitNewTarget(tab, func(info *target.Info) bool {
			if !strings.Contains(info.URL, "role=pop_out_payment") {
				return false
			}
			mu.Lock()
			at = info.URL
			mu.Unlock()
			return true
		})
		if err := chromedp.Do(tab, chromedp.Click(button)); err != nil {
			t.Fatal(err)
		}
		select {
		case id := <-opened:
			win, cancel := chromedp.NewContext(tab, chromedp.WithTargetID(id))
			t.Cleanup(cancel)
			mu.Lock()
			defer mu.Unlock()
			if !strings.Contains(at, want) {
				t.Errorf("pop-out window at %s, want %s", at, want)
			}
			return win
		case <-time.After(10 * time.Second):
			t.Fatal("no pop-out window opened")
		}
		return nil
	}

	// waitPopOutClosed waits until no pop-out window is left open and the
	// SDK's button is gone or enabled again.
	waitPopOutClosed := func(t *testing.T, tab context.Context, what string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			open := false
			tgs, err := chromedp.Targets(tab)
			for _, tg := range tgs {
				open = open || strings.Contains(tg.URL, "role=pop_out_payment")
			}
			if err == nil && !open {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the pop-out window is still open %s (%v)", what, err)
			}
		}
	}

	t.Run("pop-out", func(t *testing.T) {
		sid, _ := session("order-p1", "")
		tab := embed(t, sid, "&popout=1")
		waitEvent(t, tab, "onSession", 1)
		button := chromedp.CSS("#dintero-checkout-sdk-launch-pop-out")
		if err := chromedp.Do(tab, chromedp.WaitVisible(button)); err != nil {
			t.Fatalf("the SDK drew no pop-out button: %v", err)
		}
		label, err := chromedp.Run(tab, chromedp.Text(button))
		if err != nil || label != "Betal 1\u00a0250,00\u00a0kr" {
			t.Errorf("pop-out button label %q (%v)", label, err)
		}
		inFrame(t, tab, func(f chromedp.QueryOption) chromedp.Action[chromedp.Void] {
			return chromedp.WaitNotPresent(chromedp.CSS("#number"), f) // the launcher takes no card
		})
		rig.shot(t, tab, "dintero-08-pop-out-launcher")
		win := openPopOut(t, tab, "ui=fullscreen")
		if err := chromedp.Do(win, fill()); err != nil {
			t.Fatalf("the pop-out window's form: %v", err)
		}
		if loc, _ := chromedp.Run(win, chromedp.Location()); !strings.Contains(loc, "sid="+url.QueryEscape(sid)) {
			t.Errorf("pop-out window at %s", loc)
		}
		rig.shot(t, win, "dintero-09-pop-out-window")
		// The SDK saw the window's AppLoaded: it drew its backdrop and
		// told the launcher.
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			var state string
			inFrame(t, tab, func(f chromedp.QueryOption) chromedp.Action[chromedp.Void] {
				return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
					a, err := chromedp.AttributeValue(chromedp.CSS("body"), "data-pop-out", f)(ctx, tg)
					state = a.Value
					return chromedp.Void{}, err
				}
			})
			if state == "open" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the launcher was not told the window opened (%q)", state)
			}
		}
		rig.shot(t, tab, "dintero-10-pop-out-open")
		if err := chromedp.Do(win, chromedp.Click(chromedp.CSS("#submit"))); err != nil {
			t.Fatal(err)
		}
		paid := waitEvent(t, tab, "onPayment", 1)
		txID, _ := paid["transaction_id"].(string)
		if paid["type"] != "SessionPaymentAuthorized" || paid["context"] != "popOut" || !strings.HasPrefix(txID, acct.ID+".") ||
			paid["merchant_reference"] != "order-p1" {
			t.Fatalf("onPayment %v", paid)
		}
		if tx := transaction(txID); tx["session_id"] != sid || tx["status"] != "CAPTURED" {
			t.Errorf("transaction %v", tx)
		}
		// The SDK closed the window, removed its button and loaded kassa's
		// result page.
		waitPopOutClosed(t, tab, "after the payment")
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			gone, err := chromedp.Run(tab, chromedp.Evaluate[bool](`!document.getElementById("dintero-checkout-sdk-launch-pop-out")`))
			if err == nil && gone {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the SDK's button is still there after the payment (%v)", err)
			}
		}
		src, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector("#checkout iframe").src`))
		if err != nil || !strings.HasPrefix(src, endpoint+"/embedResult/?sid="+sid) {
			t.Errorf("iframe src after payment %q (%v)", src, err)
		}
		rig.shot(t, tab, "dintero-11-pop-out-paid")
	})

	t.Run("pop-out with validation", func(t *testing.T) {
		// Rejected: the SDK closes the window it opened with loader=true
		// and the launcher shows the shop's error; nothing is paid.
		sid, _ := session("order-p2", "")
		tab := embed(t, sid, "&popout=1&validate=reject")
		waitEvent(t, tab, "onSession", 1)
		openPopOut(t, tab, "loader=true") // no form there: the SDK closes it on the rejection
		waitEvent(t, tab, "onValidateSession", 1)
		if shown := frameText(t, tab, "#embed-error"); shown != "Sykkelen er dessverre utsolgt." {
			t.Errorf("the shop's error in the launcher: %q", shown)
		}
		waitPopOutClosed(t, tab, "after the rejected check")
		rig.shot(t, tab, "dintero-12-pop-out-rejected")
		unpaid(t, sid)

		// Accepted: the SDK reopens the window's page without the loader
		// and the customer pays there.
		sid, _ = session("order-p3", "")
		tab = embed(t, sid, "&popout=1&validate=accept")
		waitEvent(t, tab, "onSession", 1)
		win := openPopOut(t, tab, "loader=true")
		if err := chromedp.Do(win, fill(), chromedp.Click(chromedp.CSS("#submit"))); err != nil {
			t.Fatalf("the validated window's form: %v", err)
		}
		paid := waitEvent(t, tab, "onPayment", 1)
		if txID, _ := paid["transaction_id"].(string); paid["context"] != "popOut" || transaction(txID)["session_id"] != sid {
			t.Errorf("onPayment %v", paid)
		}
	})

	t.Run("redirect through a Dintero session", func(t *testing.T) {
		sid, u := session("order-r1", "")
		tab := rig.tab(t)
		if err := chromedp.Do(tab, chromedp.Navigate(u), fillCard(good)); err != nil {
			t.Fatal(err)
		}
		rig.shot(t, tab, "dintero-05-redirect-form")
		if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("submit"))); err != nil {
			t.Fatal(err)
		}
		landed := rig.landed(t, tab)
		q := landed.Query()
		txID := q.Get("transaction_id")
		if landed.Path != "/return" || !strings.HasPrefix(txID, acct.ID+".") || q.Get("merchant_reference") != "order-r1" || q.Get("shop") != "fjord" {
			t.Fatalf("landed at %s", landed)
		}
		if tx := transaction(txID); tx["session_id"] != sid {
			t.Errorf("transaction %v", tx)
		}
		var cb *http.Request
		for deadline := time.Now().Add(10 * time.Second); cb == nil && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			shop.mu.Lock()
			for _, r := range shop.callbacks {
				if r.URL.Query().Get("transaction_id") == txID {
					cb = r
				}
			}
			shop.mu.Unlock()
		}
		if cb == nil {
			t.Fatal("the session's callback did not arrive")
		}
		if cb.Method != "GET" || cb.URL.Query().Get("session_id") != sid || cb.URL.Query().Get("merchant_reference") != "order-r1" {
			t.Errorf("callback %s %s", cb.Method, cb.URL)
		}
		if err := verifyDinteroSignature(cb.Header.Get("Dintero-Signature"), secret, acct.ID, cb, time.Now()); err != nil {
			t.Errorf("callback signature: %v", err)
		}
	})

	secrets := []string{good}
	shop.mu.Lock()
	var seen []string
	for _, u := range shop.returns {
		seen = append(seen, u.String())
	}
	for _, r := range shop.callbacks {
		seen = append(seen, r.URL.String(), fmt.Sprint(r.Header))
	}
	shop.mu.Unlock()
	seen = append(seen, messages...)
	seen = append(seen, rig.pageHTML...)
	for _, v := range seen {
		for _, n := range secrets {
			if containsNumber([]byte(v), n) {
				t.Errorf("a card number in a return URL, callback, postMessage or page: %.300s", v)
			}
		}
	}
	if len(messages) == 0 || !strings.Contains(strings.Join(messages, ""), "HeightChanged") {
		t.Errorf("no postMessage seen by the merchant's page: %v", messages)
	}
	if dbArgs == nil {
		s.checkNothingAtRest(t, "after the Dintero browser flows", secrets, nil)
		return
	}
	// On PostgreSQL the data directory holds no store; the server's output
	// is still checked.
	s.checkOutput(t, "after the Dintero browser flows", secrets, nil)
}
