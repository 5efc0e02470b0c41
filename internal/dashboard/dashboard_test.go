package dashboard

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/password"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/ratelimit"
	"github.com/kassapay/kassa/internal/store/pgtest"
	"github.com/kassapay/kassa/internal/store/postgres"
	"github.com/kassapay/kassa/internal/store/sqlite"
	"github.com/kassapay/kassa/internal/vault"
)

const testPassword = "fjord-bicycle-Tr0ll"

// lockedBuffer is the server log, written from request goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

type fixture struct {
	eng    *engine.Engine
	srv    *httptest.Server
	a, b   *payment.Principal
	gwA    string
	logs   *lockedBuffer
	probed chan string // actions the probe route ran, by user email
}

type backend struct {
	name string
	open func(t *testing.T) payment.Store
	// openShared returns a fresh store and a function opening another
	// handle on its database: another kassa process, or a restart.
	openShared func(t *testing.T) (payment.Store, func(t *testing.T) payment.Store)
}

func openSQLite(t *testing.T, path string) payment.Store {
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openPostgres(t *testing.T, dbURL string) payment.Store {
	st, err := postgres.Open(context.Background(), dbURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var backends = []backend{
	{"sqlite", func(t *testing.T) payment.Store { return openSQLite(t, filepath.Join(t.TempDir(), "kassa.db")) },
		func(t *testing.T) (payment.Store, func(t *testing.T) payment.Store) {
			path := filepath.Join(t.TempDir(), "kassa.db")
			return openSQLite(t, path), func(t *testing.T) payment.Store { return openSQLite(t, path) }
		}},
	{"postgres", func(t *testing.T) payment.Store { return pgtest.Open(t) },
		func(t *testing.T) (payment.Store, func(t *testing.T) payment.Store) {
			dbURL := pgtest.SchemaURL(t)
			return openPostgres(t, dbURL), func(t *testing.T) payment.Store { return openPostgres(t, dbURL) }
		}},
}

// forEachBackend runs fn on a fresh fixture of each store.
func forEachBackend(t *testing.T, opts Options, fn func(t *testing.T, f *fixture)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, setup(t, b.open(t), opts))
		})
	}
}

func setup(t *testing.T, st payment.Store, opts Options) *fixture {
	t.Helper()
	return setupKeys(t, st, newKeyFile(t), opts)
}

// newKeyFile writes a fresh master key file; the processes of one
// installation share theirs.
func newKeyFile(t *testing.T) string {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "master.key")
	if _, err := vault.CreateDevKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	return keyFile
}

// setupKeys is setup with the master keys of keyFile.
func setupKeys(t *testing.T, st payment.Store, keyFile string, opts Options) *fixture {
	t.Helper()
	ctx := context.Background()
	v, err := vault.New(st, vault.NewFileSource(keyFile), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng := engine.New(engine.Config{Store: st, Vault: v, Logger: log, Gateways: gateway.NewRegistry(simulator.New(simulator.Options{})),
		PasswordParams: password.Params{Memory: 64, Time: 1, Threads: 1}})
	f := &fixture{eng: eng, logs: logs, probed: make(chan string, 10)}
	opts.Logger = log
	s := newServer(eng, &opts)
	// A probe action, as the pages to come will register theirs.
	s.post("/probe", func(w http.ResponseWriter, r *http.Request, q *request) error {
		f.probed <- q.Principal().Actor()
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	f.srv = httptest.NewServer(s.handler(&opts))
	t.Cleanup(f.srv.Close)
	for i, p := range []**payment.Principal{&f.a, &f.b} {
		na, err := eng.CreateAccount(ctx, []string{"Fjord Bikes AS", "Other Shop"}[i], false)
		if err != nil {
			t.Fatal(err)
		}
		if *p, err = eng.Authenticate(ctx, na.SecretKey); err != nil {
			t.Fatal(err)
		}
	}
	g, err := eng.CreateGateway(ctx, f.a, engine.GatewayInput{Type: "simulator", Description: "sim"})
	if err != nil {
		t.Fatal(err)
	}
	f.gwA = g.ID
	return f
}

// pay makes a captured payment of principal p with reference ref.
func (f *fixture) pay(t *testing.T, p *payment.Principal, gw, ref string) *payment.Payment {
	t.Helper()
	ctx := context.Background()
	pm, err := f.eng.CreatePaymentMethod(ctx, p, engine.PaymentMethodInput{Type: "card",
		Card: &engine.CardInput{Number: "4111111111111111", ExpMonth: 12, ExpYear: 2031, CVC: "737", HolderName: "Kari Nordmann"}})
	if err != nil {
		t.Fatal(err)
	}
	pay, err := f.eng.CreatePayment(ctx, p, engine.PaymentInput{Amount: 125000, Currency: "NOK", PaymentMethodID: pm.ID, GatewayID: gw, Reference: ref})
	if err != nil {
		t.Fatal(err)
	}
	return pay
}

func (f *fixture) user(t *testing.T, accountID, email string, role payment.Role) {
	t.Helper()
	if _, err := f.eng.CreateUser(context.Background(), accountID, email, testPassword, role); err != nil {
		t.Fatal(err)
	}
}

// browser is a cookie-keeping client that does not follow redirects and
// sends what a browser sends on a same-origin form post.
type browser struct {
	t   *testing.T
	c   *http.Client
	srv *httptest.Server
}

func (f *fixture) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, srv: f.srv, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.srv.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func (b *browser) post(path string, form url.Values, header map[string]string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, html string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no csrf field in %s", html)
	}
	return m[1]
}

// login signs in and returns the session's CSRF token.
func (b *browser) login(email, pw string) (*http.Response, string) {
	b.t.Helper()
	_, page := b.get("/dashboard/login")
	return b.post("/dashboard/login", url.Values{"email": {email}, "password": {pw}, "csrf": {csrfOf(b.t, page)}},
		map[string]string{"Origin": b.srv.URL, "Sec-Fetch-Site": "same-origin"})
}

func (b *browser) signIn(email string) string {
	b.t.Helper()
	resp, body := b.login(email, testPassword)
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign in: %d %s", resp.StatusCode, body)
	}
	_, page := b.get("/dashboard/payments")
	return csrfOf(b.t, page)
}

func TestLoginSessionCookie(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, f *fixture) {
		f.user(t, f.a.Account.ID, "kari@example.com", payment.RoleAdmin)
		b := f.browser(t)
		resp, _ := b.get("/dashboard/payments?q=x")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/login?next=%2Fdashboard%2Fpayments%3Fq%3Dx" {
			t.Fatalf("signed out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, page := b.get("/dashboard/login")
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'nonce-") ||
			resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("headers %v", resp.Header)
		}
		resp, page = b.post("/dashboard/login", url.Values{"email": {"kari@example.com"}, "password": {testPassword},
			"csrf": {csrfOf(t, page)}, "next": {"/dashboard/payments?status=CAPTURED"}}, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/payments?status=CAPTURED" {
			t.Fatalf("sign in: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), page)
		}
		var sc *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == sessionCookie {
				sc = c
			}
		}
		if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/dashboard" || sc.Secure || len(sc.Value) < 64 {
			t.Fatalf("session cookie %+v", sc)
		}
		resp, page = b.get("/dashboard/payments")
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "kari@example.com") || !strings.Contains(page, f.a.Account.ID) {
			t.Fatalf("payments: %d %s", resp.StatusCode, page)
		}
	})
}

func TestSecureCookies(t *testing.T) {
	f := setup(t, backends[0].open(t), Options{SecureCookies: true})
	f.user(t, f.a.Account.ID, "kari@example.com", payment.RoleAdmin)
	resp, _ := f.browser(t).login("kari@example.com", testPassword)
	for _, c := range resp.Cookies() {
		if !c.Secure {
			t.Errorf("cookie %s not Secure behind an https public URL", c.Name)
		}
	}
}

func TestLoginFailures(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, f *fixture) {
		f.user(t, f.a.Account.ID, "kari@example.com", payment.RoleAdmin)
		b := f.browser(t)
		var msgs []string
		for _, tc := range [][2]string{{"kari@example.com", "wrong password!"}, {"nobody@example.com", testPassword}, {"", ""}} {
			resp, page := b.login(tc[0], tc[1])
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("%v: %d", tc, resp.StatusCode)
			}
			m := regexp.MustCompile(`id="login-error" role="alert">([^<]*)<`).FindStringSubmatch(page)
			if m == nil {
				t.Fatalf("no error on %s", page)
			}
			msgs = append(msgs, m[1])
			if strings.Contains(page, "wrong password!") {
				t.Error("the page echoes the password")
			}
		}
		if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
			t.Errorf("failures differ: %q", msgs)
		}
		// A sign-in form not from the sign-in page (no double-submit
		// cookie, or another site's) is refused before any password check.
		other := f.browser(t)
		resp, _ := other.post("/dashboard/login", url.Values{"email": {"kari@example.com"}, "password": {testPassword}, "csrf": {"x"}}, nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("forged sign-in: %d", resp.StatusCode)
		}
		_, page := other.get("/dashboard/login")
		resp, _ = other.post("/dashboard/login", url.Values{"email": {"kari@example.com"}, "password": {testPassword}, "csrf": {csrfOf(t, page)}},
			map[string]string{"Sec-Fetch-Site": "cross-site"})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site sign-in: %d", resp.StatusCode)
		}
		// Malformed forms are a 4xx, never a 500.
		for _, body := range []string{"email=%zz", "email=a&email=b", "password=" + strings.Repeat("x", 2000)} {
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/dashboard/login", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("%q: %d", body, resp.StatusCode)
			}
		}
		if strings.Contains(f.logs.String(), testPassword) || strings.Contains(f.logs.String(), "wrong password!") {
			t.Error("a password is in the log")
		}
	})
}

func TestLoginRateLimit(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := setup(t, backends[0].open(t), Options{Now: clock, LoginLimits: LoginLimits{
		PerEmail: ratelimit.Limit{N: 3, Window: 15 * time.Minute}, PerClient: ratelimit.Limit{N: 5, Window: 15 * time.Minute}}})
	f.user(t, f.a.Account.ID, "kari@example.com", payment.RoleAdmin)
	b := f.browser(t)
	for range 3 {
		if resp, _ := b.login("kari@example.com", "guess guess guess"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess: %d", resp.StatusCode)
		}
	}
	// The email's budget is spent: even the right password waits.
	if resp, _ := b.login("kari@example.com", testPassword); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("over the email's budget: %d", resp.StatusCode)
	}
	// Other emails from the same client draw on its budget (5; the
	// refused attempt took nothing).
	for _, e := range []string{"ola@example.com", "per@example.com"} {
		if resp, _ := b.login(e, "guess guess guess"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("another email: %d", resp.StatusCode)
		}
	}
	if resp, _ := b.login("liv@example.com", "guess guess guess"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("over the client's budget: %d", resp.StatusCode)
	}
	mu.Lock()
	now = now.Add(15 * time.Minute)
	mu.Unlock()
	if resp, _ := b.login("kari@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the window: %d", resp.StatusCode)
	}
}

// TestLoginRateLimitShared: two dashboards over one database, as two kassa
// processes, draw on one budget per email; a process started afterwards
// (a restart) still sees the attempts; a window later they are allowed
// again.
func TestLoginRateLimitShared(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
			var mu sync.Mutex
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			opts := Options{Now: clock, LoginLimits: LoginLimits{
				PerEmail: ratelimit.Limit{N: 3, Window: 15 * time.Minute}, PerClient: ratelimit.Limit{N: 30, Window: 15 * time.Minute}}}
			st, another := be.openShared(t)
			keys := newKeyFile(t)
			f1 := setupKeys(t, st, keys, opts)
			f2 := setupKeys(t, another(t), keys, opts)
			f1.user(t, f1.a.Account.ID, "kari@example.com", payment.RoleAdmin)

			b1, b2 := f1.browser(t), f2.browser(t)
			for range 2 {
				if resp, _ := b1.login("kari@example.com", "guess guess guess"); resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("guess on the first: %d", resp.StatusCode)
				}
			}
			if resp, _ := b2.login("kari@example.com", "guess guess guess"); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("guess on the second: %d", resp.StatusCode)
			}
			// 3 attempts, over two processes: the email's budget is spent
			// on both.
			for i, b := range []*browser{b2, b1} {
				if resp, _ := b.login("kari@example.com", testPassword); resp.StatusCode != http.StatusTooManyRequests {
					t.Fatalf("dashboard %d after the budget was spent on both: %d", 2-i, resp.StatusCode)
				}
			}
			f3 := setupKeys(t, another(t), keys, opts) // a restart
			b3 := f3.browser(t)
			if resp, body := b3.login("kari@example.com", testPassword); resp.StatusCode != http.StatusTooManyRequests ||
				!strings.Contains(body, "Too many sign-in attempts") {
				t.Fatalf("a restarted process: %d", resp.StatusCode)
			}
			mu.Lock()
			now = now.Add(15 * time.Minute)
			mu.Unlock()
			if resp, _ := b3.login("kari@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("after the window: %d", resp.StatusCode)
			}
		})
	}
}

// TestCSRFAndRoles: every POST needs the session's token from the same
// origin; actions need an admin; sign-out ends the session for good.
func TestCSRFAndRoles(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, f *fixture) {
		f.user(t, f.a.Account.ID, "admin@example.com", payment.RoleAdmin)
		f.user(t, f.a.Account.ID, "viewer@example.com", payment.RoleViewer)
		admin := f.browser(t)
		csrf := admin.signIn("admin@example.com")
		for name, tc := range map[string]struct {
			form   url.Values
			header map[string]string
		}{
			"no token":      {url.Values{}, nil},
			"wrong token":   {url.Values{"csrf": {csrf + "x"}}, nil},
			"cross-site":    {url.Values{"csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
			"other origin":  {url.Values{"csrf": {csrf}}, map[string]string{"Origin": "https://evil.example"}},
			"viewer's page": {url.Values{"csrf": {"not this session's"}}, nil},
		} {
			if resp, _ := admin.post("/dashboard/probe", tc.form, tc.header); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: %d, want 403", name, resp.StatusCode)
			}
		}
		select {
		case a := <-f.probed:
			t.Fatalf("a refused action ran as %s", a)
		default:
		}
		if resp, _ := admin.post("/dashboard/probe", url.Values{"csrf": {csrf}}, map[string]string{"Origin": f.srv.URL}); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("admin's action: %d", resp.StatusCode)
		}
		if actor := <-f.probed; !strings.HasPrefix(actor, "user:usr_") {
			t.Errorf("actor %q", actor)
		}

		if resp, page := admin.get("/dashboard/keys"); resp.StatusCode != http.StatusOK || !strings.Contains(page, `href="/dashboard/keys"`) {
			t.Errorf("admin's keys page: %d", resp.StatusCode)
		}
		viewer := f.browser(t)
		vcsrf := viewer.signIn("viewer@example.com")
		if resp, page := viewer.get("/dashboard/keys"); resp.StatusCode != http.StatusForbidden || strings.Contains(page, `href="/dashboard/keys"`) {
			t.Errorf("viewer's keys page: %d, want 403 without the nav entry", resp.StatusCode)
		}
		if resp, _ := viewer.post("/dashboard/probe", url.Values{"csrf": {vcsrf}}, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("viewer's action: %d, want 403", resp.StatusCode)
		}
		// Viewers may still sign out; without the token nobody can.
		if resp, _ := viewer.post("/dashboard/logout", url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("logout without token: %d", resp.StatusCode)
		}
		if resp, _ := viewer.get("/dashboard/payments"); resp.StatusCode != http.StatusOK {
			t.Fatalf("refused logout ended the session: %d", resp.StatusCode)
		}
		cookies := viewer.c.Jar.Cookies(mustURL(f.srv.URL + "/dashboard/"))
		if resp, _ := viewer.post("/dashboard/logout", url.Values{"csrf": {vcsrf}}, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		// The old cookie, replayed, opens nothing.
		replay := f.browser(t)
		replay.c.Jar.SetCookies(mustURL(f.srv.URL+"/dashboard/"), cookies)
		if resp, _ := replay.get("/dashboard/payments"); resp.StatusCode != http.StatusSeeOther ||
			!strings.HasPrefix(resp.Header.Get("Location"), "/dashboard/login") {
			t.Errorf("after logout: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

// TestPaymentsPages: search by reference, id and status, paging, the
// payment page, and another account's payment not found.
func TestPaymentsPages(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, f *fixture) {
		f.user(t, f.a.Account.ID, "kari@example.com", payment.RoleViewer)
		var pays []*payment.Payment
		for i := range 27 {
			pays = append(pays, f.pay(t, f.a, f.gwA, "order-"+string(rune('A'+i))))
		}
		gB, err := f.eng.CreateGateway(context.Background(), f.b, engine.GatewayInput{Type: "simulator", Description: "sim"})
		if err != nil {
			t.Fatal(err)
		}
		foreign := f.pay(t, f.b, gB.ID, "order-B")
		b := f.browser(t)
		b.signIn("kari@example.com")

		_, page := b.get("/dashboard/payments?q=order-C")
		if !strings.Contains(page, pays[2].ID) || strings.Count(page, `class="payment-link"`) != 1 {
			t.Errorf("search by reference: %s", page)
		}
		_, page = b.get("/dashboard/payments?q=" + pays[5].ID)
		if !strings.Contains(page, pays[5].ID) || strings.Count(page, `class="payment-link"`) != 1 {
			t.Errorf("search by id: %s", page)
		}
		for _, q := range []string{"q=" + foreign.ID, "q=order-B&status=DECLINED"} {
			if _, page = b.get("/dashboard/payments?" + q); strings.Contains(page, `class="payment-link"`) {
				t.Errorf("%s lists %s", q, page)
			}
		}
		resp, page := b.get("/dashboard/payments?status=NOPE")
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Unknown status") {
			t.Errorf("unknown status: %d", resp.StatusCode)
		}
		_, page = b.get("/dashboard/payments")
		if strings.Count(page, `class="payment-link"`) != 25 || !strings.Contains(page, pays[26].ID) {
			t.Fatalf("first page: %s", page)
		}
		next := regexp.MustCompile(`id="next" href="([^"]+)"`).FindStringSubmatch(page)
		if next == nil {
			t.Fatal("no next page link")
		}
		_, page = b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
		if strings.Count(page, `class="payment-link"`) != 2 || !strings.Contains(page, pays[0].ID) {
			t.Errorf("second page: %s", page)
		}

		resp, page = b.get("/dashboard/payments/" + pays[0].ID)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "NOK\u00a01,250.00") || !strings.Contains(page, "CAPTURED") ||
			!strings.Contains(page, "purchase") || !strings.Contains(page, "succeeded") || !strings.Contains(page, "order-A") {
			t.Errorf("payment page: %d %s", resp.StatusCode, page)
		}
		for _, id := range []string{foreign.ID, "pay_nope"} {
			if resp, _ := b.get("/dashboard/payments/" + id); resp.StatusCode != http.StatusNotFound {
				t.Errorf("payment %s: %d, want 404", id, resp.StatusCode)
			}
		}
		if resp, _ := b.get("/dashboard/payments/%00"); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("a NUL id: %d, want 400", resp.StatusCode)
		}
		// Viewers see no action forms: the only forms are sign-out and
		// search.
		if n := strings.Count(page, "<form"); n != 1 {
			t.Errorf("a viewer's payment page has %d forms", n)
		}
		// The CVC as a number of its own: timestamps' fractions of a
		// second hold "737" by chance.
		if strings.Contains(page, "4111111111111111") || regexp.MustCompile(`(^|[^0-9])737([^0-9]|$)`).MatchString(page) {
			t.Error("card data on the payment page")
		}
	})
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "/dashboard/payments",
		"/dashboard/payments/pay_1?x=1": "/dashboard/payments/pay_1?x=1",
		"https://evil.example/":         "/dashboard/payments",
		"//evil.example/dashboard/":     "/dashboard/payments",
		"/\\evil.example":               "/dashboard/payments",
		"/checkout/cs_1":                "/dashboard/payments",
		"/dashboard/login":              "/dashboard/payments",
		"/dashboard/../v1/payments":     "/dashboard/payments",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCSRFToken(t *testing.T) {
	a, b := csrfToken([]byte("secret one")), csrfToken([]byte("secret two"))
	if a == b || a != csrfToken([]byte("secret one")) || strings.Contains(a, "secret") || len(a) != 43 {
		t.Errorf("tokens %q %q", a, b)
	}
}

func FuzzParseLoginForm(f *testing.F) {
	f.Add("email=kari%40example.com&password=x&csrf=t&next=%2Fdashboard%2F")
	f.Add("email=a&email=b")
	f.Add("%zz=&next=//evil")
	f.Add(strings.Repeat("a", maxLoginForm+1))
	f.Fuzz(func(t *testing.T, body string) {
		lf, err := parseLoginForm(body)
		if err != nil {
			pe, ok := payment.AsError(err)
			if !ok || (pe.Kind != payment.KindMalformed && pe.Kind != payment.KindInvalid) {
				t.Fatalf("%q: %v", body, err)
			}
			if lf != (loginForm{}) {
				t.Fatal("a refused form returns fields")
			}
			return
		}
		if !strings.HasPrefix(lf.Next, "/dashboard/") || strings.HasPrefix(lf.Next, "//") || len(lf.Password) > password.MaxLen {
			t.Fatalf("%q: %+v", body, lf)
		}
	})
}
