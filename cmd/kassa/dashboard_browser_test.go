package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kassapay/kassa/client"
)

// dashRig is a kassa server, its data directory for the CLI, and a
// browser: the harness of the dashboard's browser tests. Tests of other
// dashboard pages build on it (newDashRig, createUser, tab, login, shot,
// checkNoSecrets).
type dashRig struct {
	t       *testing.T
	s       *server
	dataDir string
	browser context.Context
	shots   string
	// pageHTML is every page shot took, for the leak check.
	pageHTML []string
	// secrets are what no page and no log may hold: card numbers, CVCs,
	// API keys, passwords. Tests add theirs.
	secrets []string
}

// newDashRig starts kassa serve on a fresh data directory and a browser.
func newDashRig(t *testing.T, extra ...string) *dashRig {
	t.Helper()
	browser := newBrowser(t)
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir, env(nil), extra...)
	return &dashRig{t: t, s: s, dataDir: dir, browser: browser, shots: artifactsDir(t), secrets: []string{s.bootstrapKey(t)}}
}

// cli runs a kassa command on the rig's data directory with stdin.
func (rig *dashRig) cli(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	var out, errOut syncBuffer
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut, Getenv: env(nil)}
	if err := m.Run(context.Background(), append(args, "--data-dir", rig.dataDir)); err != nil {
		t.Fatalf("kassa %s: %v; stderr: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

var generatedPassword = regexp.MustCompile(`(?m)^password: (\S+)$`)

// createUser runs kassa user create and returns the user's password: pw
// when given (read from stdin), else the one kassa generated and printed.
func (rig *dashRig) createUser(t *testing.T, accountID, email, role, pw string) string {
	t.Helper()
	out := rig.cli(t, pw+"\n", "user", "create", "--account", accountID, "--email", email, "--role", role)
	if pw == "" {
		m := generatedPassword.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no generated password in %q", out)
		}
		pw = m[1]
	} else if strings.Contains(out, pw) {
		t.Fatalf("kassa user create printed the password it was given: %q", out)
	}
	rig.secrets = append(rig.secrets, pw)
	return pw
}

// account creates another account with the CLI and returns its id and a
// client with its secret key.
func (rig *dashRig) account(t *testing.T, name string) (string, *client.Client) {
	t.Helper()
	var na struct {
		Account   string `json:"account"`
		SecretKey string `json:"secret_key"`
	}
	if err := json.Unmarshal([]byte(rig.cli(t, "", "account", "create", "--name", name, "--json")), &na); err != nil {
		t.Fatal(err)
	}
	rig.secrets = append(rig.secrets, na.SecretKey)
	return na.Account, client.New(rig.s.URL, na.SecretKey)
}

// tab opens a browser tab, at most 30 s long.
func (rig *dashRig) tab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(rig.browser)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	return ctx
}

// login signs in through the sign-in page and waits for the payments list.
func (rig *dashRig) login(t *testing.T, tab context.Context, email, pw string) {
	t.Helper()
	err := chromedp.Do(tab, chromedp.Navigate(rig.s.URL+"/dashboard/login"), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.ID("signin")), chromedp.WaitVisible(chromedp.ID("logout")))
	if err != nil {
		t.Fatalf("sign in as %s: %v", email, err)
	}
}

// text returns the text of the element with id.
func text(t *testing.T, tab context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("text of #%s: %v", id, err)
	}
	return s
}

// shot saves a PNG of the whole page as name.png and keeps its HTML.
func (rig *dashRig) shot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	html, err := chromedp.Run(tab, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	rig.pageHTML = append(rig.pageHTML, html)
	if err := os.WriteFile(filepath.Join(rig.shots, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkNoSecrets fails the test if a page shot took, or the server's log,
// holds any of the rig's secrets.
func (rig *dashRig) checkNoSecrets(t *testing.T) {
	t.Helper()
	log := rig.s.Stderr.String()
	for _, sec := range rig.secrets {
		for i, html := range rig.pageHTML {
			if containsNumber([]byte(html), sec) || len(sec) >= 8 && strings.Contains(html, sec) {
				t.Errorf("page %d holds a secret (%.4s…)", i, sec)
			}
		}
		if containsNumber([]byte(log), sec) || len(sec) >= 8 && strings.Contains(log, sec) {
			t.Errorf("the server log holds a secret (%.4s…)", sec)
		}
	}
}

// httpSession signs in with a plain HTTP client (no browser) and returns
// it with the session's CSRF token, for posting forms directly.
func (rig *dashRig) httpSession(t *testing.T, email, pw string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := func(resp *http.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	m := csrf.FindStringSubmatch(page(c.Get(rig.s.URL + "/dashboard/login")))
	if m == nil {
		t.Fatal("no csrf on the sign-in page")
	}
	resp, err := c.PostForm(rig.s.URL+"/dashboard/login", url.Values{"email": {email}, "password": {pw}, "csrf": {m[1]}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in over HTTP: %v %v", resp, err)
	}
	resp.Body.Close()
	if m = csrf.FindStringSubmatch(page(c.Get(rig.s.URL + "/dashboard/payments"))); m == nil {
		t.Fatal("no csrf on the payments page")
	}
	return c, m[1]
}

// TestDashboardInChromium signs in with a user made by the CLI, finds a
// payment by reference and opens it, switches account, meets another
// account's payment as a 404, has forms without the CSRF token refused,
// signs out for good, and greps every page and the log for secrets.
func TestDashboardInChromium(t *testing.T) {
	rig := newDashRig(t)
	ctx := context.Background()
	const cardNumber, cvc = "4242424242424242", "817"
	rig.secrets = append(rig.secrets, cardNumber, cvc)
	accountA := strings.SplitN(regexp.MustCompile(`(?m)^account:\s+(\S+)`).FindStringSubmatch(rig.s.Stdout.String())[1], " ", 2)[0]
	accountB, cb := rig.account(t, "Other Shop AS")
	ca := client.New(rig.s.URL, rig.s.bootstrapKey(t))
	pay := func(c *client.Client, ref string) *client.Payment {
		t.Helper()
		gw, err := c.CreateGateway(ctx, &client.GatewayParams{Type: "simulator", Description: "sim"})
		if err != nil {
			t.Fatal(err)
		}
		pm, err := c.CreatePaymentMethod(ctx, card(cardNumber, cvc))
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.CreatePayment(ctx, &client.PaymentParams{Amount: 125000, Currency: "NOK", PaymentMethod: pm.ID, Gateway: gw.ID, Reference: ref})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	var mine []*client.Payment
	for i := range 3 {
		mine = append(mine, pay(ca, fmt.Sprintf("dash-ref-%d", i)))
	}
	theirs := pay(cb, "their-ref")

	pw := rig.createUser(t, accountA, "kari@example.com", "admin", "Fjord-bikes-2026!")
	if out := rig.cli(t, "", "user", "create", "--account", accountB, "--email", "KARI@example.com", "--role", "viewer"); !strings.Contains(out, "added to account "+accountB) {
		t.Fatalf("adding the user to a second account: %q", out)
	}
	viewerPW := rig.createUser(t, accountA, "ola@example.com", "viewer", "")

	tab := rig.tab(t)
	t.Run("sign in", func(t *testing.T) {
		if err := chromedp.Do(tab, chromedp.Navigate(rig.s.URL+"/dashboard/payments"), chromedp.WaitVisible(chromedp.ID("signin"))); err != nil {
			t.Fatal(err)
		}
		rig.shot(t, tab, "01-sign-in")
		err := chromedp.Do(tab, chromedp.SendKeys(chromedp.ID("email"), "kari@example.com"),
			chromedp.SendKeys(chromedp.ID("password"), "not the password"), chromedp.Click(chromedp.ID("signin")),
			chromedp.WaitVisible(chromedp.ID("login-error")))
		if err != nil {
			t.Fatal(err)
		}
		rig.shot(t, tab, "02-sign-in-failed")
		rig.login(t, tab, "kari@example.com", pw)
		if got := text(t, tab, "account"); !strings.Contains(got, accountA) {
			t.Errorf("signed in to %q, want %s", got, accountA)
		}
		rig.shot(t, tab, "03-payments")
	})

	t.Run("find a payment by reference and open it", func(t *testing.T) {
		// The list before the search links the payment too: wait for the
		// search's answer, whose box holds the reference.
		err := chromedp.Do(tab, chromedp.SendKeys(chromedp.ID("q"), "dash-ref-1"), chromedp.Click(chromedp.ID("search")),
			chromedp.WaitVisible(chromedp.CSS(`input#q[value="dash-ref-1"]`)),
			chromedp.WaitVisible(chromedp.CSS(`a[href="/dashboard/payments/`+mine[1].ID+`"]`)))
		if err != nil {
			t.Fatal(err)
		}
		if rows := text(t, tab, "payments"); strings.Contains(rows, mine[0].ID) || strings.Contains(rows, mine[2].ID) {
			t.Errorf("search by reference lists other payments: %q", rows)
		}
		rig.shot(t, tab, "04-search")
		err = chromedp.Do(tab, chromedp.Click(chromedp.CSS(`a[href="/dashboard/payments/`+mine[1].ID+`"]`)),
			chromedp.WaitVisible(chromedp.ID("payment-id")))
		if err != nil {
			t.Fatal(err)
		}
		if got := text(t, tab, "payment-status"); got != "CAPTURED" {
			t.Errorf("status %q", got)
		}
		if got := text(t, tab, "captured"); got != "NOK\u00a01,250.00" {
			t.Errorf("captured %q", got)
		}
		if ops := text(t, tab, "operations"); !strings.Contains(ops, "purchase") || !strings.Contains(ops, "succeeded") {
			t.Errorf("operations %q", ops)
		}
		rig.shot(t, tab, "05-payment")
	})

	t.Run("switch account", func(t *testing.T) {
		err := chromedp.Do(tab, chromedp.SetValue(chromedp.ID("switch-account"), accountB), chromedp.Click(chromedp.ID("switch")),
			chromedp.WaitVisible(chromedp.CSS(`a[href="/dashboard/payments/`+theirs.ID+`"]`)))
		if err != nil {
			t.Fatal(err)
		}
		if got := text(t, tab, "account"); !strings.Contains(got, accountB) {
			t.Errorf("after the switch: %q", got)
		}
		if got := text(t, tab, "user"); !strings.Contains(got, "viewer") {
			t.Errorf("role in the second account: %q", got)
		}
		rig.shot(t, tab, "06-switched")
	})

	t.Run("another account's payment is not found", func(t *testing.T) {
		err := chromedp.Do(tab, chromedp.Navigate(rig.s.URL+"/dashboard/payments/"+mine[0].ID), chromedp.WaitVisible(chromedp.ID("error-title")))
		if err != nil {
			t.Fatal(err)
		}
		if got := text(t, tab, "error-title"); !strings.HasPrefix(got, "404") {
			t.Errorf("error page %q", got)
		}
		rig.shot(t, tab, "07-not-found")
		c, _ := rig.httpSession(t, "kari@example.com", pw) // its session is in account A
		resp, err := c.Get(rig.s.URL + "/dashboard/payments/" + theirs.ID)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("account B's payment from account A: %d, want 404", resp.StatusCode)
		}
	})

	t.Run("forms without the CSRF token are refused", func(t *testing.T) {
		c, csrf := rig.httpSession(t, "ola@example.com", viewerPW)
		for name, form := range map[string]url.Values{"none": {}, "wrong": {"csrf": {csrf + "x"}}} {
			resp, err := c.PostForm(rig.s.URL+"/dashboard/logout", form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s token: %d, want 403", name, resp.StatusCode)
			}
		}
		req, _ := http.NewRequest(http.MethodPost, rig.s.URL+"/dashboard/logout", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("another origin with the token: %d, want 403", resp.StatusCode)
		}
		resp, err = c.Get(rig.s.URL + "/dashboard/payments")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("a refused form ended the session: %d", resp.StatusCode)
		}
	})

	t.Run("sign out ends the session", func(t *testing.T) {
		if err := chromedp.Do(tab, chromedp.Navigate(rig.s.URL+"/dashboard/payments"), chromedp.WaitVisible(chromedp.ID("logout")),
			chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("signin"))); err != nil {
			t.Fatal(err)
		}
		rig.shot(t, tab, "08-signed-out")
		// Back to the list: the page is not cached (no-store), so the
		// browser asks again and is sent to sign in.
		if err := chromedp.Do(tab, chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.ID("signin"))); err != nil {
			t.Fatalf("back after signing out: %v", err)
		}
		if err := chromedp.Do(tab, chromedp.Navigate(rig.s.URL+"/dashboard/payments/"+mine[1].ID), chromedp.WaitVisible(chromedp.ID("signin"))); err != nil {
			t.Fatalf("a page after signing out: %v", err)
		}
		loc, err := chromedp.Run(tab, chromedp.Location())
		if err != nil || !strings.HasPrefix(loc, rig.s.URL+"/dashboard/login?next=") {
			t.Errorf("after signing out at %q (%v)", loc, err)
		}
	})

	rig.checkNoSecrets(t)
}
