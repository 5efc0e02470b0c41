package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kassapay/kassa/client"
)

// TestDashboardGatewaysWebhooksInChromium: an admin rotates a gateway's
// credentials and sees version 2 in its history, redacts another through
// its confirm step, finds a webhook delivery that failed (the receiver
// answered 500), fixes the receiver, redelivers and sees it delivered,
// recovers a window; a viewer sees no action and is refused when posting
// the forms directly; another account's gateway and endpoint are 404; no
// page and no log holds a credential value or the signing secret.
func TestDashboardGatewaysWebhooksInChromium(t *testing.T) {
	rig := newDashRig(t, "--webhook-schedule", "0s")
	ctx := context.Background()
	const cardNumber, cvc = "4242424242424242", "817"
	const (
		firstLogin, firstPassword     = "merchant-login-first-5521", "first-password-Secr3t-9931"
		rotatedLogin, rotatedPassword = "merchant-login-second-6642", "second-password-Secr3t-4417"
	)
	rig.secrets = append(rig.secrets, cardNumber, cvc, firstLogin, firstPassword, rotatedLogin, rotatedPassword)
	accountA := strings.SplitN(regexp.MustCompile(`(?m)^account:\s+(\S+)`).FindStringSubmatch(rig.s.Stdout.String())[1], " ", 2)[0]
	accountB, cb := rig.account(t, "Other Shop AS")
	ca := client.New(rig.s.URL, rig.s.bootstrapKey(t))

	var status atomic.Int32
	status.Store(http.StatusInternalServerError)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(int(status.Load()))
	}))
	t.Cleanup(receiver.Close)

	gw, err := ca.CreateGateway(ctx, &client.GatewayParams{Type: "simulator", Description: "Main acquirer",
		Credentials: map[string]any{"login": firstLogin, "password": firstPassword}})
	if err != nil {
		t.Fatal(err)
	}
	spare, err := ca.CreateGateway(ctx, &client.GatewayParams{Type: "simulator", Description: "Spare acquirer"})
	if err != nil {
		t.Fatal(err)
	}
	router, err := ca.CreateGateway(ctx, &client.GatewayParams{Type: "router", Description: "Nordic routing", Settings: map[string]any{
		"rules":   []any{map[string]any{"when": map[string]any{"currency": []any{"NOK"}}, "then": map[string]any{"cascade": []any{gw.ID, spare.ID}}}},
		"default": map[string]any{"gateway": gw.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	we, err := ca.CreateWebhookEndpoint(ctx, &client.WebhookEndpointParams{URL: receiver.URL + "/hooks", EnabledEvents: []string{"payment.created"},
		Description: "Order system"})
	if err != nil {
		t.Fatal(err)
	}
	rig.secrets = append(rig.secrets, we.Secret)
	gwB, err := cb.CreateGateway(ctx, &client.GatewayParams{Type: "simulator"})
	if err != nil {
		t.Fatal(err)
	}
	weB, err := cb.CreateWebhookEndpoint(ctx, &client.WebhookEndpointParams{URL: receiver.URL + "/b", EnabledEvents: []string{"payment.created"}})
	if err != nil {
		t.Fatal(err)
	}
	rig.secrets = append(rig.secrets, weB.Secret)
	pm, err := ca.CreatePaymentMethod(ctx, card(cardNumber, cvc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.CreatePayment(ctx, &client.PaymentParams{Amount: 49900, Currency: "NOK", PaymentMethod: pm.ID, Gateway: gw.ID, Reference: "gw-dash-1"}); err != nil {
		t.Fatal(err)
	}
	attempts := func() []*client.WebhookAttempt {
		t.Helper()
		l, err := ca.WebhookAttempts(ctx, we.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		return l.Data
	}
	waitForDash(t, "the failed delivery", func() bool { return len(attempts()) == 1 })

	pw := rig.createUser(t, accountA, "kari@example.com", "admin", "Fjord-bikes-2026!")
	viewerPW := rig.createUser(t, accountA, "ola@example.com", "viewer", "")
	tab := rig.tab(t)
	rig.login(t, tab, "kari@example.com", pw)

	t.Run("gateways list with health", func(t *testing.T) {
		if err := chromedp.Do(tab, chromedp.Navigate(rig.s.URL+"/dashboard/gateways"), chromedp.WaitVisible(chromedp.ID("gateways"))); err != nil {
			t.Fatal(err)
		}
		rows := text(t, tab, "gateways")
		for _, want := range []string{gw.ID, spare.ID, router.ID, "Main acquirer", "closed", "100.0%"} {
			if !strings.Contains(rows, want) {
				t.Errorf("the list lacks %q: %q", want, rows)
			}
		}
		rig.shot(t, tab, "gw-01-gateways")
	})

	t.Run("router rules", func(t *testing.T) {
		if err := chromedp.Do(tab, chromedp.Navigate(rig.s.URL+"/dashboard/gateways/"+router.ID), chromedp.WaitVisible(chromedp.ID("rules"))); err != nil {
			t.Fatal(err)
		}
		if got := text(t, tab, "rules"); !strings.Contains(got, "Payments with currency NOK → cascade "+gw.ID+", then "+spare.ID) ||
			!strings.Contains(got, "Otherwise → "+gw.ID) {
			t.Errorf("rules %q", got)
		}
		rig.shot(t, tab, "gw-02-router")
	})

	t.Run("rotate a credential", func(t *testing.T) {
		err := chromedp.Do(tab, chromedp.Navigate(rig.s.URL+"/dashboard/gateways"), chromedp.WaitVisible(chromedp.ID("gateways")),
			chromedp.Click(chromedp.CSS(`a[href="/dashboard/gateways/`+gw.ID+`"]`)), chromedp.WaitVisible(chromedp.ID("rotate-form")))
		if err != nil {
			t.Fatal(err)
		}
		if got := text(t, tab, "credential-versions"); !strings.Contains(got, "v1") || strings.Contains(got, "v2") {
			t.Errorf("history before: %q", got)
		}
		rig.shot(t, tab, "gw-03-gateway")
		err = chromedp.Do(tab, chromedp.SendKeys(chromedp.ID("cred_login"), rotatedLogin), chromedp.SendKeys(chromedp.ID("cred_password"), rotatedPassword),
			chromedp.SendKeys(chromedp.ID("cred-description"), "yearly rotation"), chromedp.Click(chromedp.ID("rotate-confirm")),
			chromedp.Click(chromedp.ID("rotate")), chromedp.WaitVisible(chromedp.ID("notice")))
		if err != nil {
			t.Fatal(err)
		}
		if got := text(t, tab, "credential-version"); got != "version 2" {
			t.Errorf("credentials %q", got)
		}
		hist := text(t, tab, "credential-versions")
		if !strings.Contains(hist, "v2") || !strings.Contains(hist, "yearly rotation") || !strings.Contains(hist, "••••4417") {
			t.Errorf("history after: %q", hist)
		}
		if got := text(t, tab, "audit"); !strings.Contains(got, "gateway.credentials_rotated") || !strings.Contains(got, "kari@example.com") {
			t.Errorf("audit trail %q", got)
		}
		rig.shot(t, tab, "gw-04-rotated")
		// The new credentials are the ones in use.
		if _, err := ca.CreatePayment(ctx, &client.PaymentParams{Amount: 100, Currency: "NOK", PaymentMethod: pm.ID, Gateway: gw.ID, Reference: "after-rotation"}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("redact through the confirm step", func(t *testing.T) {
		err := chromedp.Do(tab, chromedp.Navigate(rig.s.URL+"/dashboard/gateways/"+spare.ID), chromedp.Click(chromedp.ID("redact-link")),
			chromedp.WaitVisible(chromedp.ID("redact")))
		if err != nil {
			t.Fatal(err)
		}
		rig.shot(t, tab, "gw-05-redact-confirm")
		if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("redact")), chromedp.WaitVisible(chromedp.ID("notice"))); err != nil {
			t.Fatal(err)
		}
		if got := text(t, tab, "gateway-state"); got != "redacted" {
			t.Errorf("state %q", got)
		}
		rig.shot(t, tab, "gw-06-redacted")
	})

	// A tab lives 30 s: the webhooks get their own (the browser keeps the
	// session).
	tab = rig.tab(t)
	t.Run("a failed webhook, redelivered", func(t *testing.T) {
		err := chromedp.Do(tab, chromedp.Navigate(rig.s.URL+"/dashboard/webhooks"), chromedp.WaitVisible(chromedp.ID("endpoints")))
		if err != nil {
			t.Fatal(err)
		}
		rig.shot(t, tab, "wh-01-endpoints")
		err = chromedp.Do(tab, chromedp.Click(chromedp.CSS(`a[href="/dashboard/webhooks/`+we.ID+`"]`)), chromedp.WaitVisible(chromedp.ID("attempts")))
		if err != nil {
			t.Fatal(err)
		}
		if log := text(t, tab, "attempts"); !strings.Contains(log, "failed") || !strings.Contains(log, "500") || !strings.Contains(log, "payment.created") {
			t.Errorf("delivery log %q", log)
		}
		rig.shot(t, tab, "wh-02-failed")
		status.Store(http.StatusOK) // the receiver is fixed
		err = chromedp.Do(tab, chromedp.Click(chromedp.CSS(`a.redeliver-link`)), chromedp.WaitVisible(chromedp.ID("confirm")))
		if err != nil {
			t.Fatal(err)
		}
		rig.shot(t, tab, "wh-03-redeliver-confirm")
		if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("confirm")), chromedp.WaitVisible(chromedp.ID("notice"))); err != nil {
			t.Fatal(err)
		}
		if got := text(t, tab, "notice"); !strings.HasPrefix(got, "1 delivery queued") {
			t.Errorf("notice %q", got)
		}
		// The newest attempt is the one redelivered.
		waitForDash(t, "the redelivery", func() bool { a := attempts(); return len(a) > 0 && a[0].Succeeded })
		if err := chromedp.Do(tab, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("attempts"))); err != nil {
			t.Fatal(err)
		}
		if log := text(t, tab, "attempts"); !strings.Contains(log, "delivered") || !strings.Contains(log, "200") {
			t.Errorf("delivery log after %q", log)
		}
		if got := text(t, tab, "audit"); !strings.Contains(got, "webhook_endpoint.redelivered") || !strings.Contains(got, "kari@example.com") {
			t.Errorf("audit trail %q", got)
		}
		rig.shot(t, tab, "wh-04-delivered")
	})

	t.Run("recover the failed deliveries of the last day", func(t *testing.T) {
		err := chromedp.Do(tab, chromedp.Click(chromedp.ID("recover")), chromedp.WaitVisible(chromedp.ID("confirm")))
		if err != nil {
			t.Fatal(err)
		}
		rig.shot(t, tab, "wh-05-recover-confirm")
		if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("confirm")), chromedp.WaitVisible(chromedp.ID("notice"))); err != nil {
			t.Fatal(err)
		}
		// The other payment's delivery failed too and was not redelivered:
		// the recovery sends it.
		if got := text(t, tab, "notice"); !strings.HasPrefix(got, "1 delivery queued") {
			t.Errorf("notice %q", got)
		}
		waitForDash(t, "the recovered delivery", func() bool {
			n := 0
			for _, a := range attempts() {
				if a.Succeeded {
					n++
				}
			}
			return n == 2
		})
		if err := chromedp.Do(tab, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("attempts"))); err != nil {
			t.Fatal(err)
		}
		if log := text(t, tab, "attempts"); strings.Count(log, "delivered") != 2 {
			t.Errorf("delivery log after the recovery %q", log)
		}
		rig.shot(t, tab, "wh-06-recovered")
	})

	post := func(t *testing.T, c *http.Client, path string, form url.Values) int {
		t.Helper()
		resp, err := c.PostForm(rig.s.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	get := func(t *testing.T, c *http.Client, path string) (int, string) {
		t.Helper()
		resp, err := c.Get(rig.s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	actions := func(csrf string) map[string]url.Values {
		return map[string]url.Values{
			"/dashboard/gateways/" + gw.ID + "/credentials": {"csrf": {csrf}, "confirm": {"yes"}, "cred_login": {"viewer-login-x"}},
			"/dashboard/gateways/" + gw.ID + "/redact":      {"csrf": {csrf}, "confirm": {"yes"}},
			"/dashboard/webhooks/" + we.ID + "/redeliver":   {"csrf": {csrf}, "confirm": {"yes"}, "event": {"evt_x"}},
			"/dashboard/webhooks/" + we.ID + "/recover":     {"csrf": {csrf}, "confirm": {"yes"}},
		}
	}

	t.Run("another account's gateway and endpoint are not found", func(t *testing.T) {
		tab := rig.tab(t)
		err := chromedp.Do(tab, chromedp.Navigate(rig.s.URL+"/dashboard/gateways/"+gwB.ID), chromedp.WaitVisible(chromedp.ID("error-title")))
		if err != nil {
			t.Fatal(err)
		}
		if got := text(t, tab, "error-title"); !strings.HasPrefix(got, "404") {
			t.Errorf("error page %q", got)
		}
		c, csrf := rig.httpSession(t, "kari@example.com", pw)
		for _, path := range []string{"/dashboard/gateways/" + gwB.ID, "/dashboard/gateways/" + gwB.ID + "/redact",
			"/dashboard/webhooks/" + weB.ID, "/dashboard/webhooks/" + weB.ID + "/recover"} {
			if got, _ := get(t, c, path); got != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, got)
			}
		}
		for path, form := range actions(csrf) {
			path = strings.NewReplacer(gw.ID, gwB.ID, we.ID, weB.ID).Replace(path)
			if got := post(t, c, path, form); got != http.StatusNotFound {
				t.Errorf("POST %s: %d, want 404", path, got)
			}
		}
		g, err := cb.Gateway(ctx, gwB.ID)
		if err != nil || g.State == "redacted" {
			t.Errorf("account B's gateway %+v %v", g, err)
		}
		if accountB == accountA {
			t.Fatal("one account")
		}
	})

	t.Run("a viewer sees no action and may not post one", func(t *testing.T) {
		// The browser's session is the admin's: sign out, then in as the
		// viewer.
		vtab := rig.tab(t)
		err := chromedp.Do(vtab, chromedp.Navigate(rig.s.URL+"/dashboard/payments"), chromedp.WaitVisible(chromedp.ID("logout")),
			chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("signin")))
		if err != nil {
			t.Fatal(err)
		}
		rig.login(t, vtab, "ola@example.com", viewerPW)
		for _, page := range []string{"/dashboard/gateways/" + gw.ID, "/dashboard/webhooks/" + we.ID} {
			if err := chromedp.Do(vtab, chromedp.Navigate(rig.s.URL+page), chromedp.WaitVisible(chromedp.ID("audit"))); err != nil {
				t.Fatal(err)
			}
			html, err := chromedp.Run(vtab, chromedp.OuterHTML(chromedp.CSS("html")))
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(html, "<form"); n != 1 || strings.Contains(html, "/redeliver?") || strings.Contains(html, "redact-link") {
				t.Errorf("a viewer's %s has %d forms or an action link", page, n)
			}
		}
		rig.shot(t, vtab, "gw-07-viewer")
		c, csrf := rig.httpSession(t, "ola@example.com", viewerPW)
		for path, form := range actions(csrf) {
			if got := post(t, c, path, form); got != http.StatusForbidden {
				t.Errorf("viewer's POST %s: %d, want 403", path, got)
			}
		}
		for _, path := range []string{"/dashboard/gateways/" + gw.ID + "/redact", "/dashboard/webhooks/" + we.ID + "/recover"} {
			if got, _ := get(t, c, path); got != http.StatusForbidden {
				t.Errorf("viewer's GET %s: %d, want 403", path, got)
			}
		}
	})

	rig.checkNoSecrets(t)
}

// waitForDash polls cond until it holds, failing after a minute.
func waitForDash(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
	}
}
