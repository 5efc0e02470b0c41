package dashboard

import (
	"context"
	"log/slog"
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
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/password"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/vault"
)

// testClock is a clock the review tests move on, so that the reconciler
// gives up on an operation without waiting.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// setupReconciling is setup with an engine whose reconciler gives up
// after one status query, on clock: what the review queue needs.
func setupReconciling(t *testing.T, st payment.Store, clock *testClock) *fixture {
	t.Helper()
	ctx := context.Background()
	keyFile := filepath.Join(t.TempDir(), "master.key")
	if _, err := vault.CreateDevKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	v, err := vault.New(st, vault.NewFileSource(keyFile), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng := engine.New(engine.Config{Store: st, Vault: v, Logger: log, Now: clock.Now,
		Gateways:          gateway.NewRegistry(simulator.New(simulator.Options{Now: clock.Now})),
		PasswordParams:    password.Params{Memory: 64, Time: 1, Threads: 1},
		ReconcileAttempts: 1, ReconcileBackoff: time.Second})
	f := &fixture{eng: eng, logs: logs}
	opts := Options{Logger: log}
	f.srv = httptest.NewServer(New(eng, opts))
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

// payWith makes a payment of p on gw with card number, authorize-only
// unless capture.
func (f *fixture) payWith(t *testing.T, p *payment.Principal, gw, number string, capture bool) *payment.Payment {
	t.Helper()
	ctx := context.Background()
	pm, err := f.eng.CreatePaymentMethod(ctx, p, engine.PaymentMethodInput{Type: "card",
		Card: &engine.CardInput{Number: number, ExpMonth: 12, ExpYear: 2031, CVC: "737", HolderName: "Kari Nordmann"}})
	if err != nil {
		t.Fatal(err)
	}
	pay, err := f.eng.CreatePayment(ctx, p, engine.PaymentInput{Amount: 125000, Currency: "NOK", PaymentMethodID: pm.ID, GatewayID: gw,
		Reference: "order-" + number[len(number)-4:], Capture: &capture})
	if err != nil {
		t.Fatal(err)
	}
	return pay
}

var keyRE = regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`)

// confirmStep posts an action's first step and returns the confirmation
// page's idempotency key.
func confirmStep(t *testing.T, b *browser, path string, form url.Values) string {
	t.Helper()
	resp, page := b.post(path, form, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="confirm-action"`) {
		t.Fatalf("confirmation step of %s: %d %s", path, resp.StatusCode, page)
	}
	m := keyRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no idempotency key on %s", page)
	}
	return m[1]
}

func (f *fixture) payment(t *testing.T, p *payment.Principal, id string) *payment.Payment {
	t.Helper()
	pay, err := f.eng.Payment(context.Background(), p.Account.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return pay
}

// TestRefundFromPaymentPage: the payment page offers a refund of what is
// left; the first step only asks for confirmation; a bad amount is an
// error on the field and changes nothing; the confirmed refund moves the
// money once even when the form is sent twice, the page then shows the
// new status, and its audit trail names the user.
func TestRefundFromPaymentPage(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, f *fixture) {
		f.user(t, f.a.Account.ID, "admin@example.com", payment.RoleAdmin)
		pay := f.pay(t, f.a, f.gwA, "order-1")
		b := f.browser(t)
		csrf := b.signIn("admin@example.com")
		path := "/dashboard/payments/" + pay.ID

		resp, page := b.get(path)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `action="`+path+`/refund"`) ||
			!strings.Contains(page, `id="refund-amount" name="amount" inputmode="decimal" value="1250.00"`) {
			t.Fatalf("payment page without the refund form: %d %s", resp.StatusCode, page)
		}
		if strings.Contains(page, `action="`+path+`/capture"`) || strings.Contains(page, `action="`+path+`/void"`) {
			t.Error("a captured payment offers capture or void")
		}
		if !strings.Contains(page, `id="timeline"`) || !strings.Contains(page, `id="audit"`) || !strings.Contains(page, "payment.created") {
			t.Errorf("no timeline or audit trail: %s", page)
		}

		for _, tc := range []struct{ amount, want string }{
			{"abc", "amount must be a positive amount in NOK"},
			{"-5", "amount must be a positive amount in NOK"},
			{"1.234", "at most 2 decimals"},
			{"0", "amount must be a positive amount"},
			{"1250.01", "amount must be at most 1250.00"},
		} {
			for _, confirm := range []string{"", "yes"} {
				resp, page := b.post(path+"/refund", url.Values{"csrf": {csrf}, "amount": {tc.amount}, "confirm": {confirm},
					"idempotency_key": {"k-" + tc.amount}}, nil)
				if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="amount-error"`) || !strings.Contains(page, tc.want) {
					t.Errorf("amount %q (confirm %q): %d %s", tc.amount, confirm, resp.StatusCode, page)
				}
			}
		}
		key := confirmStep(t, b, path+"/refund", url.Values{"csrf": {csrf}, "amount": {"500"}})
		if got := f.payment(t, f.a, pay.ID); got.AmountRefunded != 0 || len(got.Operations) != 1 {
			t.Fatalf("before confirming: refunded %d, %d operations", got.AmountRefunded, len(got.Operations))
		}
		confirm := url.Values{"csrf": {csrf}, "amount": {"500"}, "confirm": {"yes"}, "idempotency_key": {key}}
		var loc string
		for range 2 {
			resp, _ = b.post(path+"/refund", confirm, nil)
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), path) {
				t.Fatalf("confirmed refund: %d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			loc = resp.Header.Get("Location")
		}
		if _, page := b.get(loc); !strings.Contains(page, `id="action-result" role="status">The refund of NOK`) || !strings.Contains(page, "succeeded.") {
			t.Errorf("the page after the refund does not say how it went (%s)", loc)
		}
		got := f.payment(t, f.a, pay.ID)
		if got.AmountRefunded != 50000 || len(got.Operations) != 2 || got.Status != payment.StatusPartiallyRefunded {
			t.Fatalf("after the refund sent twice: refunded %d, %d operations, %s", got.AmountRefunded, len(got.Operations), got.Status)
		}
		_, page = b.get(path)
		if !strings.Contains(page, `id="payment-status">PARTIALLY_REFUNDED<`) || !strings.Contains(page, `value="750.00"`) {
			t.Errorf("page after the refund: %s", page)
		}
		if !strings.Contains(page, `<code>payment.refund.succeeded</code></td><td class="actor">admin@example.com (you)</td>`) {
			t.Errorf("the audit trail does not name the user: %s", page)
		}
		if strings.Contains(page, "4111111111111111") || strings.Contains(f.logs.String(), "4111111111111111") {
			t.Error("the card number is on the payment page or in the log")
		}
		if !strings.Contains(page, "PARTIALLY_REFUNDED</span> <span class=\"muted\">") {
			t.Errorf("the timeline lacks the new status: %s", page)
		}
	})
}

// TestCaptureAndVoidFromPaymentPage: an authorization is partly captured
// and the rest voided, each confirmed; the page offers what the status
// allows at each step.
func TestCaptureAndVoidFromPaymentPage(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, f *fixture) {
		f.user(t, f.a.Account.ID, "admin@example.com", payment.RoleAdmin)
		pay := f.payWith(t, f.a, f.gwA, "4111111111111111", false)
		b := f.browser(t)
		csrf := b.signIn("admin@example.com")
		path := "/dashboard/payments/" + pay.ID
		_, page := b.get(path)
		if !strings.Contains(page, `action="`+path+`/capture"`) || !strings.Contains(page, `action="`+path+`/void"`) ||
			strings.Contains(page, `action="`+path+`/refund"`) {
			t.Fatalf("authorized payment's actions: %s", page)
		}
		key := confirmStep(t, b, path+"/capture", url.Values{"csrf": {csrf}, "amount": {"1000"}})
		if resp, _ := b.post(path+"/capture", url.Values{"csrf": {csrf}, "amount": {"1000"}, "confirm": {"yes"}, "idempotency_key": {key}}, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("capture: %d", resp.StatusCode)
		}
		if got := f.payment(t, f.a, pay.ID); got.AmountCaptured != 100000 || got.Status != payment.StatusPartiallyCaptured {
			t.Fatalf("after capture: %d %s", got.AmountCaptured, got.Status)
		}
		key = confirmStep(t, b, path+"/void", url.Values{"csrf": {csrf}})
		if resp, _ := b.post(path+"/void", url.Values{"csrf": {csrf}, "confirm": {"yes"}, "idempotency_key": {key}}, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("void: %d", resp.StatusCode)
		}
		got := f.payment(t, f.a, pay.ID)
		if !got.Voided || got.AmountCaptured != 100000 {
			t.Fatalf("after void: voided %v, captured %d, %s", got.Voided, got.AmountCaptured, got.Status)
		}
		_, page = b.get(path)
		if strings.Contains(page, `action="`+path+`/capture"`) || strings.Contains(page, `action="`+path+`/void"`) {
			t.Errorf("a voided payment still offers capture or void")
		}
		// Voiding again is refused on the confirmation step, not a 500.
		resp, page := b.post(path+"/void", url.Values{"csrf": {csrf}, "confirm": {"yes"}, "idempotency_key": {"again"}}, nil)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(page, `id="action-error"`) {
			t.Errorf("void of a voided payment: %d %s", resp.StatusCode, page)
		}
	})
}

// TestPaymentActionsRefused: a viewer sees no action and is refused when
// posting one; a form without the session's token is refused; another
// account's payment is not found on its page and every action. Nothing
// moves.
func TestPaymentActionsRefused(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, f *fixture) {
		f.user(t, f.a.Account.ID, "admin@example.com", payment.RoleAdmin)
		f.user(t, f.a.Account.ID, "viewer@example.com", payment.RoleViewer)
		mine := f.payWith(t, f.a, f.gwA, "4111111111111111", false)
		gB, err := f.eng.CreateGateway(context.Background(), f.b, engine.GatewayInput{Type: "simulator", Description: "sim"})
		if err != nil {
			t.Fatal(err)
		}
		theirs := f.payWith(t, f.b, gB.ID, "4111111111111111", false)

		viewer := f.browser(t)
		vcsrf := viewer.signIn("viewer@example.com")
		resp, page := viewer.get("/dashboard/payments/" + mine.ID)
		if resp.StatusCode != http.StatusOK || strings.Contains(page, `id="actions"`) || strings.Contains(page, "/capture\"") {
			t.Errorf("viewer's payment page: %d, shows actions: %v", resp.StatusCode, strings.Contains(page, `id="actions"`))
		}
		admin := f.browser(t)
		csrf := admin.signIn("admin@example.com")
		for _, a := range []string{"capture", "void", "refund"} {
			form := url.Values{"amount": {"10"}, "confirm": {"yes"}, "idempotency_key": {"k-" + a}}
			form.Set("csrf", vcsrf)
			if resp, _ := viewer.post("/dashboard/payments/"+mine.ID+"/"+a, form, nil); resp.StatusCode != http.StatusForbidden {
				t.Errorf("viewer's %s: %d, want 403", a, resp.StatusCode)
			}
			form.Del("csrf")
			if resp, _ := admin.post("/dashboard/payments/"+mine.ID+"/"+a, form, nil); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s without the token: %d, want 403", a, resp.StatusCode)
			}
			form.Set("csrf", csrf)
			for _, confirm := range []string{"", "yes"} {
				form.Set("confirm", confirm)
				if resp, _ := admin.post("/dashboard/payments/"+theirs.ID+"/"+a, form, nil); resp.StatusCode != http.StatusNotFound {
					t.Errorf("%s of another account's payment (confirm %q): %d, want 404", a, confirm, resp.StatusCode)
				}
			}
		}
		if resp, _ := admin.get("/dashboard/payments/" + theirs.ID); resp.StatusCode != http.StatusNotFound {
			t.Errorf("another account's payment page: %d", resp.StatusCode)
		}
		for _, p := range []struct {
			pr *payment.Principal
			id string
		}{{f.a, mine.ID}, {f.b, theirs.ID}} {
			if got := f.payment(t, p.pr, p.id); len(got.Operations) != 1 || got.AmountCaptured != 0 || got.Voided {
				t.Errorf("%s changed: %d operations, captured %d, voided %v", p.id, len(got.Operations), got.AmountCaptured, got.Voided)
			}
		}
	})
}

// TestReviewQueuePage: a payment the reconciler gave up on is in the
// queue with what it tried; resolving it asks for confirmation, refuses a
// missing note on the field, records the user, and empties the queue.
// Viewers see no form and are refused; another account's operation is
// not found.
func TestReviewQueuePage(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			clock := &testClock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
			f := setupReconciling(t, be.open(t), clock)
			ctx := context.Background()
			f.user(t, f.a.Account.ID, "admin@example.com", payment.RoleAdmin)
			f.user(t, f.a.Account.ID, "viewer@example.com", payment.RoleViewer)
			gB, err := f.eng.CreateGateway(ctx, f.b, engine.GatewayInput{Type: "simulator", Description: "sim"})
			if err != nil {
				t.Fatal(err)
			}
			// The response is lost (unknown); the gateway then goes down,
			// so the status query fails and the reconciler gives up.
			pay := f.payWith(t, f.a, f.gwA, "4100000000000001", true)
			theirs := f.payWith(t, f.b, gB.ID, "4100000000000001", true)
			for _, g := range []struct {
				p  *payment.Principal
				id string
			}{{f.a, f.gwA}, {f.b, gB.ID}} {
				if _, err := f.eng.UpdateGateway(ctx, g.p, g.id, engine.GatewayUpdate{Settings: map[string]any{"outage": true}}); err != nil {
					t.Fatal(err)
				}
			}
			for range 3 {
				clock.Add(time.Hour)
				if _, err := f.eng.Reconcile(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if got := f.payment(t, f.a, pay.ID); !got.RequiresReview {
				t.Fatalf("payment not flagged for review: %s, %d attempts", got.Status, got.Operations[0].ReconcileAttempts)
			}
			op := pay.Operations[0].ID

			admin := f.browser(t)
			csrf := admin.signIn("admin@example.com")
			resp, page := admin.get("/dashboard/review")
			if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="review-`+pay.ID+`"`) || !strings.Contains(page, "1 status queries") ||
				!strings.Contains(page, `action="/dashboard/review/`+op+`/resolve"`) || strings.Contains(page, theirs.ID) {
				t.Fatalf("review queue: %d %s", resp.StatusCode, page)
			}
			viewer := f.browser(t)
			vcsrf := viewer.signIn("viewer@example.com")
			if _, page := viewer.get("/dashboard/review"); !strings.Contains(page, pay.ID) || strings.Contains(page, "/resolve\"") {
				t.Errorf("viewer's review queue: %s", page)
			}
			form := url.Values{"outcome": {"succeeded"}, "gateway_reference": {"psp-778"}, "note": {"Seen as paid in the PSP's portal"}, "confirm": {"yes"}}
			form.Set("csrf", vcsrf)
			if resp, _ := viewer.post("/dashboard/review/"+op+"/resolve", form, nil); resp.StatusCode != http.StatusForbidden {
				t.Errorf("viewer's resolve: %d", resp.StatusCode)
			}
			form.Del("csrf")
			if resp, _ := admin.post("/dashboard/review/"+op+"/resolve", form, nil); resp.StatusCode != http.StatusForbidden {
				t.Errorf("resolve without the token: %d", resp.StatusCode)
			}
			form.Set("csrf", csrf)
			if resp, _ := admin.post("/dashboard/review/"+theirs.Operations[0].ID+"/resolve", form, nil); resp.StatusCode != http.StatusNotFound {
				t.Errorf("resolving another account's operation: %d", resp.StatusCode)
			}
			noNote := url.Values{"csrf": {csrf}, "outcome": {"succeeded"}, "note": {" "}, "confirm": {"yes"}}
			if resp, page := admin.post("/dashboard/review/"+op+"/resolve", noNote, nil); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="note-error"`) {
				t.Errorf("resolve without a note: %d %s", resp.StatusCode, page)
			}
			badOutcome := url.Values{"csrf": {csrf}, "outcome": {"maybe"}, "note": {"x"}}
			if resp, page := admin.post("/dashboard/review/"+op+"/resolve", badOutcome, nil); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="outcome-error"`) {
				t.Errorf("resolve with an unknown outcome: %d %s", resp.StatusCode, page)
			}
			step := url.Values{"csrf": {csrf}, "outcome": {"succeeded"}, "gateway_reference": {"psp-778"}, "note": {"Seen as paid in the PSP's portal"}}
			if resp, page := admin.post("/dashboard/review/"+op+"/resolve", step, nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="confirm-action"`) {
				t.Fatalf("resolve's confirmation step: %d %s", resp.StatusCode, page)
			}
			if got := f.payment(t, f.a, pay.ID); !got.RequiresReview || got.Operations[0].Outcome != payment.OutcomeUnknown {
				t.Fatal("the confirmation step resolved the operation")
			}
			if resp, _ := admin.post("/dashboard/review/"+op+"/resolve", form, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/review" {
				t.Fatalf("resolve: %d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			got := f.payment(t, f.a, pay.ID)
			if got.RequiresReview || got.Status != payment.StatusCaptured || got.Operations[0].GatewayReference != "psp-778" {
				t.Errorf("after resolving: review %v, %s, reference %q", got.RequiresReview, got.Status, got.Operations[0].GatewayReference)
			}
			if _, page := admin.get("/dashboard/review"); strings.Contains(page, pay.ID) || !strings.Contains(page, `id="no-review"`) {
				t.Errorf("the resolved payment is still queued: %s", page)
			}
			trail, _, err := f.eng.ObjectEvents(ctx, f.a.Account.ID, op, payment.ListParams{})
			if err != nil || len(trail) == 0 || trail[0].Type != "operation.resolved" || !strings.HasPrefix(trail[0].Actor, "user:usr_") {
				t.Errorf("resolution event: %v %v", trail, err)
			}
			if got := f.payment(t, f.b, theirs.ID); !got.RequiresReview {
				t.Error("another account's payment was resolved")
			}
		})
	}
}

// TestPaymentSearchFilters: every filter of the search form narrows the
// list, paging keeps the filters, and a bad filter is a 422 naming it.
func TestPaymentSearchFilters(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.user(t, f.a.Account.ID, "viewer@example.com", payment.RoleViewer)
		visa := f.payWith(t, f.a, f.gwA, "4111111111111111", true)
		mc := f.payWith(t, f.a, f.gwA, "5555555555554444", true)
		cus, err := f.eng.CreateCustomer(ctx, f.a, engine.CustomerInput{Email: "ola@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		pm, err := f.eng.CreatePaymentMethod(ctx, f.a, engine.PaymentMethodInput{Type: "card",
			Card: &engine.CardInput{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2031, CVC: "737"}})
		if err != nil {
			t.Fatal(err)
		}
		small, err := f.eng.CreatePayment(ctx, f.a, engine.PaymentInput{Amount: 990, Currency: "NOK", PaymentMethodID: pm.ID,
			GatewayID: f.gwA, Reference: "small", CustomerID: cus.ID})
		if err != nil {
			t.Fatal(err)
		}
		b := f.browser(t)
		b.signIn("viewer@example.com")
		today := time.Now().UTC().Format(time.DateOnly)
		for query, want := range map[string][]string{
			"card_last4=4444":                        {mc.ID},
			"card_last4=1111&status=CAPTURED":        {visa.ID},
			"customer=" + cus.ID:                     {small.ID},
			"amount_max=1000":                        {small.ID},
			"amount_min=1000&amount_max=125000":      {visa.ID, mc.ID},
			"gateway=" + f.gwA + "&amount_min=991":   {visa.ID, mc.ID},
			"q=" + mc.ID:                             {mc.ID},
			"created_from=" + today + "&q=small":     {small.ID},
			"created_to=2001-01-01":                  {},
			"card_fingerprint=nosuchfingerprint0000": {},
		} {
			resp, page := b.get("/dashboard/payments?" + query)
			if resp.StatusCode != http.StatusOK || strings.Count(page, `class="payment-link"`) != len(want) {
				t.Errorf("%s: %d, %d payments, want %v", query, resp.StatusCode, strings.Count(page, `class="payment-link"`), want)
				continue
			}
			for _, id := range want {
				if !strings.Contains(page, id) {
					t.Errorf("%s: %s missing", query, id)
				}
			}
		}
		for query, field := range map[string]string{
			"card_last4=12x4":                               "card_last4",
			"amount_min=12.50":                              "amount_min",
			"amount_max=-1":                                 "amount_max",
			"amount_min=500&amount_max=100":                 "amount_max",
			"created_from=yesterday":                        "created_from",
			"created_from=2026-12-02&created_to=2026-12-01": "created_to",
			"status=SHIPPED":                                "status",
			"card_fingerprint=" + strings.Repeat("f", 300):  "card_fingerprint",
		} {
			resp, page := b.get("/dashboard/payments?" + query)
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "<strong>"+field+"</strong>") {
				t.Errorf("%s: %d, want 422 naming %s: %s", query, resp.StatusCode, field, page)
			}
		}
		// Paging keeps the filters.
		for range 26 {
			f.payWith(t, f.a, f.gwA, "5555555555554444", true)
		}
		_, page := b.get("/dashboard/payments?card_last4=4444")
		m := regexp.MustCompile(`id="next" href="([^"]+)"`).FindStringSubmatch(page)
		if m == nil || !strings.Contains(m[1], "card_last4=4444") {
			t.Fatalf("next page link: %v", m)
		}
		_, page = b.get(strings.ReplaceAll(m[1], "&amp;", "&"))
		if n := strings.Count(page, `class="payment-link"`); n != 2 || strings.Contains(page, visa.ID) || strings.Contains(page, small.ID) {
			t.Errorf("second page: %d payments", n)
		}
		if !strings.Contains(page, `id="first" href="/dashboard/payments?card_last4=4444"`) {
			t.Errorf("the first page's link loses the filter")
		}
	})
}

// TestRoutingTraceOnPaymentPage: a payment a router cascaded shows each
// attempt, its outcome and why the router moved on, and the operations'
// transcripts.
func TestRoutingTraceOnPaymentPage(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.user(t, f.a.Account.ID, "viewer@example.com", payment.RoleViewer)
		down, err := f.eng.CreateGateway(ctx, f.a, engine.GatewayInput{Type: "simulator", Description: "down", Settings: map[string]any{"outage": true}})
		if err != nil {
			t.Fatal(err)
		}
		r, err := f.eng.CreateGateway(ctx, f.a, engine.GatewayInput{Type: engine.RouterType,
			Settings: map[string]any{"default": map[string]any{"cascade": []any{down.ID, f.gwA}}}})
		if err != nil {
			t.Fatal(err)
		}
		pay := f.payWith(t, f.a, r.ID, "4111111111111111", true)
		if len(pay.Operations) != 2 || pay.GatewayID != f.gwA {
			t.Fatalf("routed payment: %d operations on %s", len(pay.Operations), pay.GatewayID)
		}
		b := f.browser(t)
		b.signIn("viewer@example.com")
		_, page := b.get("/dashboard/payments/" + pay.ID)
		trace := regexp.MustCompile(`(?s)<ol class="trace" id="trace">(.*?)</ol>`).FindStringSubmatch(page)
		if trace == nil || !strings.Contains(page, `id="routing">Router <code>`+r.ID+`</code> (cascade`) {
			t.Fatalf("no routing trace: %s", page)
		}
		first, second := strings.Index(trace[1], down.ID), strings.Index(trace[1], f.gwA)
		if first < 0 || second < first || !strings.Contains(trace[1], "o-not_sent") || !strings.Contains(trace[1], "moving on") ||
			!strings.Contains(trace[1], "o-succeeded") {
			t.Errorf("trace: %s", trace[1])
		}
		if n := strings.Count(page, `<details class="transcript">`); n == 0 {
			t.Errorf("no transcript shown")
		}
	})
}

// TestRefundSubmittedConcurrently: the same confirmed form sent five
// times at once refunds once; every answer goes back to the payment.
func TestRefundSubmittedConcurrently(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, f *fixture) {
		f.user(t, f.a.Account.ID, "admin@example.com", payment.RoleAdmin)
		pay := f.pay(t, f.a, f.gwA, "order-1")
		b := f.browser(t)
		csrf := b.signIn("admin@example.com")
		path := "/dashboard/payments/" + pay.ID
		key := confirmStep(t, b, path+"/refund", url.Values{"csrf": {csrf}, "amount": {"100"}})
		form := url.Values{"csrf": {csrf}, "amount": {"100"}, "confirm": {"yes"}, "idempotency_key": {key}}
		var wg sync.WaitGroup
		codes := make([]int, 5)
		for i := range codes {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, f.srv.URL+path+"/refund", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := b.c.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				codes[i] = resp.StatusCode
			})
		}
		wg.Wait()
		for _, c := range codes {
			if c != http.StatusSeeOther {
				t.Errorf("answers %v, want all 303", codes)
				break
			}
		}
		got := f.payment(t, f.a, pay.ID)
		if got.AmountRefunded != 10000 || len(got.Operations) != 2 {
			t.Errorf("refunded %d in %d operations; want 10000 in one refund", got.AmountRefunded, len(got.Operations)-1)
		}
	})
}
