package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/kassapay/kassa/client"
	"github.com/kassapay/kassa/internal/testskip"
)

// chromiumPath finds Debian's chromium. Without it the browser tests skip
// loudly, or fail when KASSA_REQUIRE_CHROMIUM is set (as in CI, which
// installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("KASSA_CHROMIUM"), "/usr/bin/chromium"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	msg := "Chromium is missing (apt-get install -y chromium): the hosted checkout page's browser tests did not run"
	if os.Getenv("KASSA_REQUIRE_CHROMIUM") != "" {
		t.Fatal("KASSA_REQUIRE_CHROMIUM is set but " + msg)
	}
	testskip.Skip(t, msg)
	return ""
}

// newBrowser starts one headless Chromium for the test, with a fresh
// profile, and returns its context; tabs are chromedp.NewContext of it.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	return bctx
}

// artifactsDir is where the test's screenshots go: $KASSA_ARTIFACTS/<test>
// when set (CI keeps them), else a temporary directory.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if base := os.Getenv("KASSA_ARTIFACTS"); base != "" {
		dir = filepath.Join(base, strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// merchant is the shop the page sends customers back to and webhooks go
// to: it records every URL it was sent to and every webhook body.
type merchant struct {
	*httptest.Server
	mu       sync.Mutex
	returns  []*url.URL
	webhooks []string
}

func newMerchant(t *testing.T) *merchant {
	m := &merchant{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if r.URL.Path == "/webhooks" {
			b, _ := io.ReadAll(r.Body)
			m.webhooks = append(m.webhooks, string(b))
			return
		}
		m.returns = append(m.returns, r.URL)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Shop</title><p id="landed">Back at the shop: %s</p>`, r.URL.Path)
	}))
	t.Cleanup(m.Close)
	return m
}

// checkoutRig is a kassa server with an account, a simulator gateway and
// a shop, and a browser.
type checkoutRig struct {
	s        *server
	c        *client.Client
	gw       string
	shop     *merchant
	browser  context.Context
	shots    string
	pageHTML []string // every page the browser showed, for the leak check
}

func (rig *checkoutRig) session(t *testing.T, ref string, mod func(*client.CheckoutSessionParams)) *client.CheckoutSession {
	t.Helper()
	p := &client.CheckoutSessionParams{Amount: 125000, Currency: "NOK", MerchantReference: ref, Gateway: rig.gw, Locale: "nb",
		ReturnURL: rig.shop.URL + "/return?shop=fjord",
		Items: []client.CheckoutItem{{Description: "Sykkel, 28 tommer", Quantity: 1, Amount: 120000},
			{Description: "Frakt", Quantity: 1, Amount: 5000}}}
	if mod != nil {
		mod(p)
	}
	cs, err := rig.c.CreateCheckoutSession(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// tab opens a browser tab for one scenario, at most 20 s long.
func (rig *checkoutRig) tab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(rig.browser)
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		cancel()
		t.Fatal(err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 20*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	return ctx
}

// shot saves a PNG of the whole page as name.png.
func (rig *checkoutRig) shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	rig.pageHTML = append(rig.pageHTML, html)
	if err := os.WriteFile(filepath.Join(rig.shots, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fillCard types a card into the form, field by field.
func fillCard(number string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.ID("number")),
		chromedp.SendKeys(chromedp.ID("number"), number),
		chromedp.SendKeys(chromedp.ID("exp"), "12 / 30"),
		chromedp.SendKeys(chromedp.ID("cvc"), "737"),
		chromedp.SendKeys(chromedp.ID("name"), "Kari Nordmann"),
	)
}

// landed waits for the shop's page and returns the URL the customer came
// back to.
func (rig *checkoutRig) landed(t *testing.T, ctx context.Context) *url.URL {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("landed"))); err != nil {
		t.Fatalf("did not land at the shop: %v", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func checkQuery(t *testing.T, u *url.URL, want map[string]string) {
	t.Helper()
	q := u.Query()
	if len(q) != len(want) {
		t.Errorf("return query %q, want exactly %v", u.RawQuery, want)
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("return query %s=%q, want %q (%s)", k, q.Get(k), v, u.RawQuery)
		}
	}
}

// TestCheckoutInChromium pays, declines, double-submits, cancels, expires,
// shrinks to 320 px and goes keyboard-only through the hosted page in
// headless Chromium, with screenshots of each state; then looks for the
// card numbers everywhere they must not be.
func TestCheckoutInChromium(t *testing.T) {
	browser := newBrowser(t)
	s := startServer(t, filepath.Join(t.TempDir(), "data"), env(nil), "--webhook-schedule", "0s,200ms,200ms")
	ctx := context.Background()
	c := client.New(s.URL, s.bootstrapKey(t))
	gw, err := c.CreateGateway(ctx, &client.GatewayParams{Type: "simulator", Description: "sim"})
	if err != nil {
		t.Fatal(err)
	}
	shop := newMerchant(t)
	if _, err := c.CreateWebhookEndpoint(ctx, &client.WebhookEndpointParams{URL: shop.URL + "/webhooks",
		EnabledEvents: []string{"checkout_session.*", "payment.*"}}); err != nil {
		t.Fatal(err)
	}
	rig := &checkoutRig{s: s, c: c, gw: gw.ID, shop: shop, browser: browser, shots: artifactsDir(t)}
	good, declined := "4242424242424242", "4000000000009995"

	t.Run("redirect", func(t *testing.T) {
		cs := rig.session(t, "order-1", nil)
		tab := rig.tab(t)
		if err := chromedp.Do(tab, chromedp.Navigate(cs.URL), chromedp.WaitVisible(chromedp.ID("pay"))); err != nil {
			t.Fatal(err)
		}
		total, err := chromedp.Run(tab, chromedp.Text(chromedp.ID("total")))
		if err != nil {
			t.Fatal(err)
		}
		if total != "1\u00a0250,00\u00a0kr" {
			t.Errorf("total %q", total)
		}
		rig.shot(t, tab, "01-form")
		if err := chromedp.Do(tab, fillCard(good)); err != nil {
			t.Fatal(err)
		}
		rig.shot(t, tab, "02-filled")
		if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("submit"))); err != nil {
			t.Fatal(err)
		}
		u := rig.landed(t, tab)
		got, err := c.CheckoutSession(ctx, cs.ID)
		if err != nil || got.Status != "paid" || got.Payment == "" {
			t.Fatalf("session after paying: %+v %v", got, err)
		}
		if u.Path != "/return" {
			t.Errorf("landed at %s", u)
		}
		checkQuery(t, u, map[string]string{"shop": "fjord", "transaction_id": got.Payment, "merchant_reference": "order-1"})
		rig.shot(t, tab, "03-returned")
		if os.Getenv("KASSA_UPDATE_DOCS") != "" { // the README's picture
			b, err := os.ReadFile(filepath.Join(rig.shots, "01-form.png"))
			if err == nil {
				err = os.WriteFile(filepath.Join("..", "..", "docs", "checkout-page.png"), b, 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("decline then another card", func(t *testing.T) {
		cs := rig.session(t, "order-2", nil)
		tab := rig.tab(t)
		err := chromedp.Do(tab, chromedp.Navigate(cs.URL), fillCard(declined), chromedp.Click(chromedp.ID("submit")),
			chromedp.WaitVisible(chromedp.ID("decline")))
		if err != nil {
			t.Fatal(err)
		}
		alert, err := chromedp.Run(tab, chromedp.Text(chromedp.ID("decline")))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(alert, "Det er ikke dekning på kortet.") {
			t.Errorf("decline message %q", alert)
		}
		if a, err := chromedp.Run(tab, chromedp.AttributeValue(chromedp.ID("number"), "aria-describedby")); err != nil || a.Value != "decline" {
			t.Errorf("card number's aria-describedby %q (%v)", a.Value, err)
		}
		rig.shot(t, tab, "04-declined")
		if err := chromedp.Do(tab, fillCard(good), chromedp.Click(chromedp.ID("submit"))); err != nil {
			t.Fatal(err)
		}
		u := rig.landed(t, tab)
		got, _ := c.CheckoutSession(ctx, cs.ID)
		if got.Status != "paid" || got.Attempts != 2 {
			t.Fatalf("after a decline and a good card: %s, %d attempts", got.Status, got.Attempts)
		}
		checkQuery(t, u, map[string]string{"shop": "fjord", "transaction_id": got.Payment, "merchant_reference": "order-2"})
	})

	t.Run("double submit", func(t *testing.T) {
		cs := rig.session(t, "order-3", nil)
		tab := rig.tab(t)
		// The form sent three times at once, past the page's own guard:
		// two fetches of the same form, then the click.
		if err := chromedp.Do(tab, chromedp.Navigate(cs.URL), fillCard(good)); err != nil {
			t.Fatal(err)
		}
		_, err := chromedp.Run(tab, chromedp.Evaluate[bool](`(function(){var f=document.getElementById("pay");
				fetch(f.action,{method:"POST",body:new URLSearchParams(new FormData(f))});
				fetch(f.action,{method:"POST",body:new URLSearchParams(new FormData(f))});
				return true})()`))
		if err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("submit"))); err != nil {
			t.Fatal(err)
		}
		rig.landed(t, tab)
		time.Sleep(300 * time.Millisecond) // the fetches finish
		pays, err := c.ListPayments(ctx, &client.PaymentListParams{Reference: "order-3"})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := c.CheckoutSession(ctx, cs.ID)
		if len(pays.Data) != 1 || got.Attempts != 1 || got.Status != "paid" {
			t.Errorf("three submits made %d payments, %d attempts (%s)", len(pays.Data), got.Attempts, got.Status)
		}
	})

	t.Run("expired", func(t *testing.T) {
		cs := rig.session(t, "order-4", func(p *client.CheckoutSessionParams) {
			exp := time.Now().Add(1500 * time.Millisecond)
			p.ExpiresAt = &exp
		})
		time.Sleep(1600 * time.Millisecond)
		tab := rig.tab(t)
		if err := chromedp.Do(tab, chromedp.Navigate(cs.URL)); err != nil {
			t.Fatal(err)
		}
		h1, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("h1")))
		if err != nil {
			t.Fatal(err)
		}
		if h1 != "Betalingslenken er utløpt" {
			t.Errorf("expired page says %q", h1)
		}
		rig.shot(t, tab, "05-expired")
		if got, _ := c.CheckoutSession(ctx, cs.ID); got.Status != "expired" {
			t.Errorf("session %s", got.Status)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		cs := rig.session(t, "order-5", func(p *client.CheckoutSessionParams) { p.Locale = "en" })
		if _, err := c.CancelCheckoutSession(ctx, cs.ID); err != nil {
			t.Fatal(err)
		}
		tab := rig.tab(t)
		if err := chromedp.Do(tab, chromedp.Navigate(cs.URL)); err != nil {
			t.Fatal(err)
		}
		h1, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("h1")))
		if err != nil {
			t.Fatal(err)
		}
		if h1 != "This payment was cancelled" {
			t.Errorf("cancelled page says %q", h1)
		}
		rig.shot(t, tab, "06-cancelled")
		// The customer's own cancel sends them back with error=cancelled.
		cs = rig.session(t, "order-6", func(p *client.CheckoutSessionParams) { p.Locale = "en" })
		tab = rig.tab(t)
		if err := chromedp.Do(tab, chromedp.Navigate(cs.URL), chromedp.Click(chromedp.ID("cancel"))); err != nil {
			t.Fatal(err)
		}
		checkQuery(t, rig.landed(t, tab), map[string]string{"shop": "fjord", "merchant_reference": "order-6", "error": "cancelled"})
	})

	t.Run("320px", func(t *testing.T) {
		cs := rig.session(t, "order-7", nil)
		tab := rig.tab(t)
		if err := chromedp.Do(tab, chromedp.EmulateViewport(320, 640), chromedp.Navigate(cs.URL), chromedp.WaitVisible(chromedp.ID("pay"))); err != nil {
			t.Fatal(err)
		}
		widths, err := chromedp.Run(tab, chromedp.Evaluate[[]int](
			`[document.documentElement.scrollWidth, document.documentElement.clientWidth, document.body.scrollWidth, window.innerWidth]`))
		if err != nil {
			t.Fatal(err)
		}
		// [scroll width, client width (the viewport less a scrollbar),
		// body's scroll width, viewport]: nothing wider than the client.
		if len(widths) != 4 || widths[3] != 320 || widths[0] > widths[1] || widths[2] > widths[1] {
			t.Errorf("at 320 px: widths %v, want no horizontal scroll", widths)
		}
		rig.shot(t, tab, "07-320px")
	})

	t.Run("keyboard only", func(t *testing.T) {
		cs := rig.session(t, "order-8", func(p *client.CheckoutSessionParams) { p.Locale = "en" })
		tab := rig.tab(t)
		keys := func(s string) chromedp.Action[chromedp.Void] { return chromedp.KeyEvent(s) }
		focused := func() string {
			id, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.activeElement.id`))
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		if err := chromedp.Do(tab, chromedp.Navigate(cs.URL), chromedp.WaitVisible(chromedp.ID("pay")), keys(kb.Tab)); err != nil {
			t.Fatal(err)
		}
		active := focused()
		if active != "number" {
			t.Fatalf("the first Tab focuses %q, want the card number", active)
		}
		err := chromedp.Do(tab, keys(good), keys(kb.Tab), keys("12/30"), keys(kb.Tab), keys("737"), keys(kb.Tab),
			keys("Kari Nordmann"))
		if active = focused(); err != nil || active != "name" {
			t.Fatalf("after tabbing through: focus on %q (%v)", active, err)
		}
		rig.shot(t, tab, "08-keyboard")
		if err := chromedp.Do(tab, chromedp.KeyEvent(kb.Enter)); err != nil {
			t.Fatal(err)
		}
		u := rig.landed(t, tab)
		got, _ := c.CheckoutSession(ctx, cs.ID)
		checkQuery(t, u, map[string]string{"shop": "fjord", "transaction_id": got.Payment, "merchant_reference": "order-8"})
	})

	// The webhooks of the sessions went out, and nothing holds a card.
	deadline := time.Now().Add(10 * time.Second)
	for {
		shop.mu.Lock()
		all := strings.Join(shop.webhooks, "\n")
		shop.mu.Unlock()
		if strings.Count(all, `"checkout_session.completed"`) >= 4 && strings.Contains(all, `"checkout_session.cancelled"`) &&
			strings.Contains(all, `"checkout_session.expired"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("checkout webhooks did not all arrive: %d completed in\n%.2000s", strings.Count(all, `"checkout_session.completed"`), all)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	secrets := []string{good, declined}
	shop.mu.Lock()
	for _, u := range shop.returns {
		for _, n := range secrets {
			if strings.Contains(u.String(), n) {
				t.Errorf("a return URL holds a card number: %s", u)
			}
		}
	}
	for _, body := range shop.webhooks {
		for _, n := range secrets {
			if containsNumber([]byte(body), n) {
				t.Errorf("a webhook holds a card number")
			}
		}
	}
	shop.mu.Unlock()
	for _, html := range rig.pageHTML {
		for _, n := range secrets {
			if containsNumber([]byte(html), n) {
				t.Errorf("a page holds a card number")
			}
		}
	}
	sessions, err := c.ListCheckoutSessions(ctx, &client.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(sessions)
	for _, n := range secrets {
		if containsNumber(b, n) {
			t.Errorf("the sessions API shows a card number")
		}
	}
	s.checkNothingAtRest(t, "after the browser flows", secrets, nil)
}
