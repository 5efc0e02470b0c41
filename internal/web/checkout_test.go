package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/sqlite"
	"github.com/kassapay/kassa/internal/vault"
)

type fixture struct {
	eng  *engine.Engine
	srv  *httptest.Server
	p    *payment.Principal
	gw   string
	logs *strings.Builder
}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "kassa.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keyFile := filepath.Join(dir, "master.key")
	if _, err := vault.CreateDevKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	v, err := vault.New(st, vault.NewFileSource(keyFile), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &strings.Builder{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	eng := engine.New(engine.Config{Store: st, Vault: v, Logger: log, Gateways: gateway.NewRegistry(simulator.New(simulator.Options{}))})
	srv := httptest.NewServer(New(eng, Options{Logger: log}))
	t.Cleanup(srv.Close)
	na, err := eng.CreateAccount(ctx, "Fjord Bikes AS", false)
	if err != nil {
		t.Fatal(err)
	}
	p, err := eng.Authenticate(ctx, na.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	g, err := eng.CreateGateway(ctx, p, engine.GatewayInput{Type: "simulator", Description: "sim"})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{eng: eng, srv: srv, p: p, gw: g.ID, logs: logs}
}

func (f *fixture) session(t *testing.T, locale string) *payment.CheckoutSession {
	t.Helper()
	cs, err := f.eng.CreateCheckoutSession(context.Background(), f.p, engine.CheckoutInput{Amount: 125000, Currency: "NOK",
		Items:             []payment.CheckoutItem{{Description: "Sykkel <b>", Quantity: 1, Amount: 120000}, {Description: "Frakt", Quantity: 1, Amount: 5000}},
		MerchantReference: "order 7&x", ReturnURL: "https://shop.example/return?lang=nb", GatewayID: f.gw, Locale: locale})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// fetch does a request and checks the headers every response must carry.
func (f *fixture) fetch(t *testing.T, method, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r, _ := http.NewRequest(method, f.srv.URL+path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	res, err := noRedirect.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	checkHeaders(t, method+" "+path, res, string(b))
	return res, string(b)
}

var cspNonce = regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9_-]{20,})';`)

func checkHeaders(t *testing.T, what string, res *http.Response, body string) {
	t.Helper()
	csp := res.Header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'", "style-src 'self'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s: CSP %q lacks %s", what, csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-") || strings.Contains(csp, "*") || strings.Contains(csp, "http") {
		t.Errorf("%s: CSP %q is not strict", what, csp)
	}
	m := cspNonce.FindStringSubmatch(csp)
	if m == nil {
		t.Errorf("%s: CSP %q has no nonce", what, csp)
	} else if strings.Contains(body, "<script") && !strings.Contains(body, `nonce="`+m[1]+`"`) {
		t.Errorf("%s: a script without the response's nonce", what)
	}
	if !strings.HasPrefix(res.Request.URL.Path, "/checkout/assets/") && res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s: Cache-Control %q", what, res.Header.Get("Cache-Control"))
	}
	for h, want := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s: %s %q, want %q", what, h, got, want)
		}
	}
	if res.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("%s: HSTS over plain HTTP", what)
	}
}

var hidden = regexp.MustCompile(`name="(csrf|attempt)" value="([^"]*)"`)

func formOf(t *testing.T, page string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hidden.FindAllStringSubmatch(page, -1) {
		v.Set(m[1], m[2])
	}
	if v.Get("csrf") == "" || v.Get("attempt") == "" {
		t.Fatalf("the page has no form:\n%s", page)
	}
	return v
}

func withCard(v url.Values, number string) url.Values {
	c := url.Values{}
	for k := range v {
		c.Set(k, v.Get(k))
	}
	c.Set("number", number)
	c.Set("exp", "12 / 30")
	c.Set("cvc", "737")
	c.Set("name", "Kari Nordmann")
	return c
}

var bareCVC = regexp.MustCompile(`(^|[^0-9])737([^0-9]|$)`)

// TestPageFlow drives the page over HTTP: the form (Norwegian, amounts by
// locale, the order escaped), a field error naming its field, a decline,
// then a payment, each answer with its headers and without the card.
func TestPageFlow(t *testing.T) {
	f := setup(t)
	cs := f.session(t, "nb")
	path := "/checkout/" + cs.ID
	res, page := f.fetch(t, "GET", path, nil, nil)
	if res.StatusCode != 200 {
		t.Fatalf("page: %d", res.StatusCode)
	}
	for _, want := range []string{`lang="nb"`, "Fjord Bikes AS", "1\u00a0250,00\u00a0kr", "1\u00a0200,00\u00a0kr", "Sykkel &lt;b&gt;",
		`<label for="number">Kortnummer</label>`, `autocomplete="cc-number"`, "Betal 1\u00a0250,00\u00a0kr"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	form := formOf(t, page)

	// A card that fails Luhn: the form again, the error tied to its field.
	res, page = f.fetch(t, "POST", path+"/pay", withCard(form, "4242424242424241"), nil)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `aria-describedby="number-error"`) ||
		!strings.Contains(page, `id="number-error"`) {
		t.Errorf("bad number: %d\n%s", res.StatusCode, page)
	}
	// A decline: 303 to the page, which says so and offers the form again.
	res, _ = f.fetch(t, "POST", path+"/pay", withCard(form, "4000000000009995"), nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != path {
		t.Fatalf("decline: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, page = f.fetch(t, "GET", path, nil, nil)
	if !strings.Contains(page, `role="alert"`) || !strings.Contains(page, "Det er ikke dekning på kortet.") {
		t.Errorf("after a decline:\n%s", page)
	}
	form2 := formOf(t, page)
	if form2.Get("attempt") != "2" {
		t.Errorf("attempt %q after a decline", form2.Get("attempt"))
	}
	// The old form again pays nothing; the new one pays.
	f.fetch(t, "POST", path+"/pay", withCard(form, "4242424242424242"), nil)
	f.fetch(t, "POST", path+"/pay", withCard(form2, "4242424242424242"), nil)
	_, page = f.fetch(t, "GET", path, nil, nil)
	got, _ := f.eng.CheckoutSession(context.Background(), f.p.Account.ID, cs.ID)
	if got.Status != payment.CheckoutPaid || got.Attempts != 2 {
		t.Fatalf("session %s after %d attempts", got.Status, got.Attempts)
	}
	want := "https://shop.example/return?lang=nb&amp;transaction_id=" + got.PaymentID + "&amp;merchant_reference=order&#43;7%26x"
	if !strings.Contains(page, `content="0;url=`+want+`"`) || !strings.Contains(page, `href="`+want+`"`) {
		t.Errorf("paid page does not send the customer back to %s:\n%s", want, page)
	}
	// The CVC as a number of its own: log timestamps hold "737" too.
	if strings.Contains(page, "4242") || strings.Contains(f.logs.String(), "4242424242424242") || bareCVC.MatchString(f.logs.String()) {
		t.Error("card data in the page or the logs")
	}
}

// TestPageRefusesForeignForms: a form without the session's token, or
// from another origin, pays nothing.
func TestPageRefusesForeignForms(t *testing.T) {
	f := setup(t)
	cs := f.session(t, "en")
	path := "/checkout/" + cs.ID
	_, page := f.fetch(t, "GET", path, nil, nil)
	form := formOf(t, page)
	other := f.session(t, "en")
	_, otherPage := f.fetch(t, "GET", "/checkout/"+other.ID, nil, nil)
	for name, tc := range map[string]struct {
		form url.Values
		hdr  map[string]string
	}{
		"no token":             {withCard(url.Values{"attempt": {"1"}}, "4242424242424242"), nil},
		"another's token":      {withCard(formOf(t, otherPage), "4242424242424242"), nil},
		"another origin":       {withCard(form, "4242424242424242"), map[string]string{"Origin": "https://evil.example"}},
		"a cross-site request": {withCard(form, "4242424242424242"), map[string]string{"Sec-Fetch-Site": "cross-site"}},
	} {
		res, _ := f.fetch(t, "POST", path+"/pay", tc.form, tc.hdr)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, res.StatusCode)
		}
	}
	if got, _ := f.eng.CheckoutSession(context.Background(), f.p.Account.ID, cs.ID); got.Attempts != 0 {
		t.Errorf("a refused form made %d attempts", got.Attempts)
	}
	// Every other answer carries the headers too.
	f.fetch(t, "GET", "/checkout/cs_nope", nil, nil)
	f.fetch(t, "GET", "/checkout/"+cs.ID+"/status", nil, nil)
	f.fetch(t, "GET", "/checkout/assets/checkout.css", nil, nil)
	f.fetch(t, "GET", "/checkout/", nil, nil)
	if res, _ := f.fetch(t, "GET", "/checkout/cs_nope", nil, nil); res.StatusCode != 404 {
		t.Errorf("unknown session: %d", res.StatusCode)
	}
}

// TestPageCancelAndExpiry: the customer's cancel sends them back with
// error=cancelled; an expired session has its own page.
func TestPageCancelAndExpiry(t *testing.T) {
	f := setup(t)
	cs := f.session(t, "en")
	path := "/checkout/" + cs.ID
	_, page := f.fetch(t, "GET", path, nil, nil)
	res, _ := f.fetch(t, "POST", path+"/cancel", url.Values{"csrf": {formOf(t, page).Get("csrf")}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: %d", res.StatusCode)
	}
	_, page = f.fetch(t, "GET", res.Header.Get("Location"), nil, nil)
	if !strings.Contains(page, "This payment was cancelled") ||
		!strings.Contains(page, `content="0;url=https://shop.example/return?lang=nb&amp;merchant_reference=order&#43;7%26x&amp;error=cancelled"`) {
		t.Errorf("cancelled page:\n%s", page)
	}
	_, page = f.fetch(t, "GET", path, nil, nil)
	if strings.Contains(page, "refresh") {
		t.Error("a later visit of a cancelled session redirects by itself")
	}
	exp := time.Now().Add(time.Second)
	late, err := f.eng.CreateCheckoutSession(context.Background(), f.p, engine.CheckoutInput{Amount: 100, Currency: "EUR",
		MerchantReference: "r", ReturnURL: "https://shop.example/r", GatewayID: f.gw, ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	_, page = f.fetch(t, "GET", "/checkout/"+late.ID, nil, nil)
	if !strings.Contains(page, "This payment link has expired") || strings.Contains(page, `id="pay"`) {
		t.Errorf("expired page:\n%s", page)
	}
}

func TestReturnURL(t *testing.T) {
	pay := &payment.Payment{ID: "pay_1"}
	cs := &payment.CheckoutSession{ReturnURL: "https://s.example/r", MerchantReference: "a b/ø"}
	for _, tc := range []struct {
		cs   *payment.CheckoutSession
		pay  *payment.Payment
		err  string
		want string
	}{
		{cs, pay, "", "https://s.example/r?transaction_id=pay_1&merchant_reference=a+b%2F%C3%B8"},
		{cs, nil, "cancelled", "https://s.example/r?merchant_reference=a+b%2F%C3%B8&error=cancelled"},
		{cs, pay, "failed", "https://s.example/r?transaction_id=pay_1&merchant_reference=a+b%2F%C3%B8&error=failed"},
		{&payment.CheckoutSession{ReturnURL: "https://s.example/r?x=1", CancelURL: "https://s.example/c?", MerchantReference: "m"},
			nil, "cancelled", "https://s.example/c?merchant_reference=m&error=cancelled"},
		{&payment.CheckoutSession{ReturnURL: "https://s.example/r?x=1", MerchantReference: "m"},
			pay, "", "https://s.example/r?x=1&transaction_id=pay_1&merchant_reference=m"},
	} {
		if got := ReturnURL(tc.cs, tc.pay, tc.err); got != tc.want {
			t.Errorf("ReturnURL(%s) = %s, want %s", tc.err, got, tc.want)
		}
	}
}
