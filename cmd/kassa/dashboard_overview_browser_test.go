package main

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kassapay/kassa/client"
)

// TestDashboardOverviewAndKeysInChromium: the overview shows the
// purchases made in the test; an admin creates an API key whose secret
// shows once and works against the API, revokes it after confirming and
// it stops working; adds a user; a viewer cannot open the keys and users
// pages nor post their forms. No page and no log holds a secret.
func TestDashboardOverviewAndKeysInChromium(t *testing.T) {
	rig := newDashRig(t)
	ctx := context.Background()
	const cardNumber, cvc = "4242424242424242", "817"
	rig.secrets = append(rig.secrets, cardNumber, cvc)
	accountA := regexp.MustCompile(`(?m)^account:\s+(\S+)`).FindStringSubmatch(rig.s.Stdout.String())[1]
	ca := client.New(rig.s.URL, rig.s.bootstrapKey(t))
	gw, err := ca.CreateGateway(ctx, &client.GatewayParams{Type: "simulator", Description: "sim"})
	if err != nil {
		t.Fatal(err)
	}
	for i, amount := range []int64{125000, 49900, 10000} {
		pm, err := ca.CreatePaymentMethod(ctx, card(cardNumber, cvc))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ca.CreatePayment(ctx, &client.PaymentParams{Amount: amount, Currency: "NOK", PaymentMethod: pm.ID,
			Gateway: gw.ID, Reference: "ov-" + string(rune('a'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	pw := rig.createUser(t, accountA, "kari@example.com", "admin", "Fjord-bikes-2026!")
	viewerPW := rig.createUser(t, accountA, "ola@example.com", "viewer", "")
	tab := rig.tab(t)
	rig.login(t, tab, "kari@example.com", pw)

	t.Run("overview shows today's purchases", func(t *testing.T) {
		if err := chromedp.Do(tab, chromedp.Navigate(rig.s.URL+"/dashboard/"), chromedp.WaitVisible(chromedp.ID("volume"))); err != nil {
			t.Fatal(err)
		}
		if got := text(t, tab, "volume"); !strings.Contains(got, "NOK\t3\tNOK\u00a01,849.00") {
			t.Errorf("volume %q, want 3 NOK payments of 1,849.00", got)
		}
		if got := text(t, tab, "gateway-stats"); !strings.Contains(got, gw.ID) || !strings.Contains(got, "100.0 %") {
			t.Errorf("gateway stats %q", got)
		}
		if got := strings.Join(strings.Fields(text(t, tab, "backlog")), " "); !strings.Contains(got, "0 unknown outcomes") || !strings.Contains(got, "0 to review") {
			t.Errorf("backlog %q", got)
		}
		bars, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll("svg.chart rect.chart-bar").length`))
		if err != nil || bars != 24 {
			t.Errorf("chart bars %d (%v), want 24 hours", bars, err)
		}
		rig.shot(t, tab, "h9-01-overview")
	})

	var secret, keyID string
	t.Run("create a key: its secret shows once and works", func(t *testing.T) {
		err := chromedp.Do(tab, chromedp.Navigate(rig.s.URL+"/dashboard/keys"), chromedp.WaitVisible(chromedp.ID("create-key")))
		if err != nil {
			t.Fatal(err)
		}
		rig.shot(t, tab, "h9-03-keys")
		err = chromedp.Do(tab, chromedp.SetValue(chromedp.ID("key-type"), "secret"), chromedp.Click(chromedp.ID("create-key")),
			chromedp.WaitVisible(chromedp.ID("key-secret")))
		if err != nil {
			t.Fatal(err)
		}
		if secret, err = chromedp.Run(tab, chromedp.Value(chromedp.ID("key-secret"))); err != nil {
			t.Fatal(err)
		}
		keyID = text(t, tab, "key-id")
		if !strings.HasPrefix(secret, "sk_test_") || !strings.HasPrefix(keyID, "key_") {
			t.Fatalf("created %q %q", keyID, secret)
		}
		// The answer page is the one page that may hold the secret: its
		// screenshot is kept, its HTML left out of the leak check.
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(rig.shots, "h9-04-key-created.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
		rig.secrets = append(rig.secrets, secret)
		if _, err := client.New(rig.s.URL, secret).APIKeys(ctx); err != nil {
			t.Fatalf("the new key against the API: %v", err)
		}
		// Reloading the list shows its prefix only.
		if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("key-page")), chromedp.WaitVisible(chromedp.ID("key-prefix"))); err != nil {
			t.Fatal(err)
		}
		if got := text(t, tab, "key-prefix"); got != secret[:16]+"…" {
			t.Errorf("prefix %q", got)
		}
		if got := text(t, tab, "audit"); !strings.Contains(got, "api_key.created") || !strings.Contains(got, "kari@example.com (you)") {
			t.Errorf("the key's audit trail %q", got)
		}
		rig.shot(t, tab, "h9-05-key")
	})

	t.Run("revoke the key after confirming: it stops working", func(t *testing.T) {
		err := chromedp.Do(tab, chromedp.Click(chromedp.ID("revoke")), chromedp.WaitVisible(chromedp.ID("revoke-confirm")))
		if err != nil {
			t.Fatal(err)
		}
		rig.shot(t, tab, "h9-06-revoke-confirm")
		if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("revoke-confirm")), chromedp.WaitVisible(chromedp.ID("key-revoked"))); err != nil {
			t.Fatal(err)
		}
		if got := text(t, tab, "key-state"); got != "revoked" {
			t.Errorf("state %q", got)
		}
		if got := text(t, tab, "audit"); !strings.Contains(got, "api_key.revoked") {
			t.Errorf("the key's audit trail %q", got)
		}
		rig.shot(t, tab, "h9-07-key-revoked")
		if _, err := client.New(rig.s.URL, secret).APIKeys(ctx); !client.IsUnauthorized(err) {
			t.Errorf("the revoked key against the API: %v, want 401", err)
		}
	})

	t.Run("add a user", func(t *testing.T) {
		const newPW = "a-new-colleague-2026"
		rig.secrets = append(rig.secrets, newPW)
		err := chromedp.Do(tab, chromedp.Navigate(rig.s.URL+"/dashboard/keys"), chromedp.WaitVisible(chromedp.ID("add-member")),
			chromedp.SendKeys(chromedp.ID("member-email"), "per@example.com"), chromedp.SetValue(chromedp.ID("member-role"), "viewer"),
			chromedp.SendKeys(chromedp.ID("member-password"), newPW), chromedp.Click(chromedp.ID("add-member")),
			chromedp.WaitVisible(chromedp.ID("member-id")))
		if err != nil {
			t.Fatal(err)
		}
		if got := text(t, tab, "member-role"); got != "viewer" {
			t.Errorf("role %q", got)
		}
		if got := text(t, tab, "audit"); !strings.Contains(got, "member.added") || !strings.Contains(got, "kari@example.com (you)") {
			t.Errorf("the member's audit trail %q", got)
		}
		rig.shot(t, tab, "h9-08-member")
		if err := chromedp.Do(tab, chromedp.Navigate(rig.s.URL+"/dashboard/keys"), chromedp.WaitVisible(chromedp.ID("members"))); err != nil {
			t.Fatal(err)
		}
		if got := text(t, tab, "members"); !strings.Contains(got, "per@example.com") || !strings.Contains(got, "ola@example.com") {
			t.Errorf("members %q", got)
		}
		rig.shot(t, tab, "h9-09-users")
	})

	t.Run("a viewer cannot open keys and users", func(t *testing.T) {
		err := chromedp.Do(tab, chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("signin")))
		if err != nil {
			t.Fatal(err)
		}
		rig.login(t, tab, "ola@example.com", viewerPW)
		navKeys, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('nav a[href="/dashboard/keys"]').length`))
		if err != nil || navKeys != 0 {
			t.Errorf("a viewer's nav links the keys page (%d, %v)", navKeys, err)
		}
		if err := chromedp.Do(tab, chromedp.Navigate(rig.s.URL+"/dashboard/keys"), chromedp.WaitVisible(chromedp.ID("error-title"))); err != nil {
			t.Fatal(err)
		}
		if got := text(t, tab, "error-title"); !strings.HasPrefix(got, "403") {
			t.Errorf("viewer's keys page %q", got)
		}
		rig.shot(t, tab, "h9-10-viewer-keys")
		c, csrf := rig.httpSession(t, "ola@example.com", viewerPW)
		for path, form := range map[string]url.Values{
			"/dashboard/keys":                      {"type": {"secret"}},
			"/dashboard/keys/" + keyID + "/roll":   {"expires_in": {"0"}},
			"/dashboard/keys/" + keyID + "/revoke": {},
			"/dashboard/users":                     {"email": {"eve@example.com"}, "role": {"admin"}, "password": {"eve's long password"}},
		} {
			form.Set("csrf", csrf)
			resp, err := c.PostForm(rig.s.URL+path, form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("viewer posting %s: %d, want 403", path, resp.StatusCode)
			}
		}
		for _, path := range []string{"/dashboard/keys", "/dashboard/keys/" + keyID} {
			resp, err := c.Get(rig.s.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("viewer opening %s: %d, want 403", path, resp.StatusCode)
			}
		}
		list, err := ca.APIKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Data) != 3 {
			t.Errorf("%d keys after the viewer's posts, want 3", len(list.Data))
		}
	})

	rig.checkNoSecrets(t)
}
