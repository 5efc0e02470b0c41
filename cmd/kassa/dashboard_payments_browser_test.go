package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kassapay/kassa/client"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/sqlite"
)

// flagForReview puts the payment up for review in the running server's
// store, as the reconciler does when it gives up on an unknown operation
// (which takes it ten status queries over hours).
func flagForReview(t *testing.T, dataDir, accountID, paymentID string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dataDir, "kassa.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = st.UpdatePayment(ctx, accountID, paymentID, func(p *payment.Payment) (*payment.PaymentChange, error) {
		p.RequiresReview = true
		for _, op := range p.Operations {
			if !op.Outcome.Settled() {
				op.ReconcileAttempts, op.NextReconcileAt = 10, nil
				op.Message = "The gateway's status query failed."
			}
		}
		return &payment.PaymentChange{Operations: p.Operations, Events: []*payment.Event{{ID: payment.NewID(payment.PrefixEvent),
			AccountID: accountID, Type: "payment.requires_review", ObjectID: p.ID, Data: []byte(`{"object":"payment","id":"` + p.ID + `","status":"UNKNOWN"}`),
			CreatedAt: time.Now()}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDashboardPaymentActionsInChromium: an admin finds a payment by
// reference, partially refunds it from its page (through the confirmation
// step) and sees the new status; resolves a review item and sees the
// queue empty; a viewer sees no action and is refused when posting one;
// forms without the CSRF token are refused; another account's payment and
// operation are 404 on the page and on every action. No page and no log
// holds a card number, CVC, API key or password.
func TestDashboardPaymentActionsInChromium(t *testing.T) {
	rig := newDashRig(t, "--reconcile-interval", "1h")
	ctx := context.Background()
	const cardNumber, cvc, lostCard = "4242424242424242", "817", "4100000000000001"
	// The CVC is checked apart (checkCVC): three digits turn up in any
	// log as parts of numbers (a duration's 12.817 ms).
	rig.secrets = append(rig.secrets, cardNumber, lostCard)
	accountA := strings.SplitN(regexp.MustCompile(`(?m)^account:\s+(\S+)`).FindStringSubmatch(rig.s.Stdout.String())[1], " ", 2)[0]
	accountB, cb := rig.account(t, "Other Shop AS")
	ca := client.New(rig.s.URL, rig.s.bootstrapKey(t))
	pay := func(c *client.Client, number, ref string) *client.Payment {
		t.Helper()
		gw, err := c.CreateGateway(ctx, &client.GatewayParams{Type: "simulator", Description: "sim"})
		if err != nil {
			t.Fatal(err)
		}
		pm, err := c.CreatePaymentMethod(ctx, card(number, cvc))
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.CreatePayment(ctx, &client.PaymentParams{Amount: 125000, Currency: "NOK", PaymentMethod: pm.ID, Gateway: gw.ID, Reference: ref})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	mine := pay(ca, cardNumber, "order-2026-117")
	pay(ca, cardNumber, "order-2026-118")
	lost := pay(ca, lostCard, "order-2026-119")
	theirs := pay(cb, cardNumber, "their-order")
	theirLost := pay(cb, lostCard, "their-lost")
	if lost.Status != "UNKNOWN" || theirLost.Status != "UNKNOWN" {
		t.Fatalf("lost payments: %s, %s", lost.Status, theirLost.Status)
	}
	flagForReview(t, rig.dataDir, accountA, lost.ID)
	flagForReview(t, rig.dataDir, accountB, theirLost.ID)

	pw := rig.createUser(t, accountA, "kari@example.com", "admin", "Fjord-bikes-2026!")
	viewerPW := rig.createUser(t, accountA, "ola@example.com", "viewer", "")

	tab := rig.tab(t)
	rig.login(t, tab, "kari@example.com", pw)
	t.Run("find a payment by reference and refund part of it", func(t *testing.T) {
		link := `a[href="/dashboard/payments/` + mine.ID + `"]`
		// The list before the search shows the payment too: wait for the
		// search's answer, whose box holds the reference.
		err := chromedp.Do(tab, chromedp.SendKeys(chromedp.ID("q"), "order-2026-117"), chromedp.Click(chromedp.ID("search")),
			chromedp.WaitVisible(chromedp.CSS(`input#q[value="order-2026-117"]`)), chromedp.WaitVisible(chromedp.CSS(link)))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(text(t, tab, "payments"), "pay_"); n != 1 {
			t.Errorf("search by reference lists %d payments", n)
		}
		err = chromedp.Do(tab, chromedp.Click(chromedp.CSS(link)), chromedp.WaitVisible(chromedp.ID("refund-amount")))
		if err != nil {
			t.Fatal(err)
		}
		if tl := text(t, tab, "timeline"); !strings.Contains(tl, "CAPTURED") {
			t.Errorf("timeline %q", tl)
		}
		if tr := text(t, tab, "audit"); !strings.Contains(tr, "payment.") {
			t.Errorf("audit trail %q", tr)
		}
		rig.shot(t, tab, "h7-01-payment")
		// A bad amount is an error on the field, and nothing moves.
		err = chromedp.Do(tab, chromedp.SetValue(chromedp.ID("refund-amount"), "12,50"), chromedp.Click(chromedp.ID("refund")),
			chromedp.WaitVisible(chromedp.ID("amount-error")))
		if err != nil {
			t.Fatal(err)
		}
		rig.shot(t, tab, "h7-02-refund-bad-amount")
		err = chromedp.Do(tab, chromedp.SetValue(chromedp.ID("amount"), "400"), chromedp.Click(chromedp.ID("confirm-action")),
			chromedp.WaitVisible(chromedp.ID("payment-status")))
		if err != nil {
			t.Fatal(err)
		}
		if got := text(t, tab, "payment-status"); got != "PARTIALLY_REFUNDED" {
			t.Errorf("status after the refund %q", got)
		}
		if got := text(t, tab, "refunded"); got != "NOK\u00a0400.00" {
			t.Errorf("refunded %q", got)
		}
		if got := text(t, tab, "action-result"); !strings.Contains(got, "refund of NOK\u00a0400.00 succeeded") {
			t.Errorf("action result %q", got)
		}
		if tr := text(t, tab, "audit"); !strings.Contains(tr, "kari@example.com (you)") {
			t.Errorf("the audit trail does not name the user: %q", tr)
		}
		rig.shot(t, tab, "h7-03-refunded")
		p, err := ca.Payment(ctx, mine.ID)
		if err != nil || p.AmountRefunded != 40000 {
			t.Fatalf("refunded through the API: %v %v", p, err)
		}
	})

	t.Run("confirmation step", func(t *testing.T) {
		err := chromedp.Do(tab, chromedp.SetValue(chromedp.ID("refund-amount"), "100"), chromedp.Click(chromedp.ID("refund")),
			chromedp.WaitVisible(chromedp.ID("confirm-action")))
		if err != nil {
			t.Fatal(err)
		}
		rig.shot(t, tab, "h7-04-confirm-refund")
		if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("cancel")), chromedp.WaitVisible(chromedp.ID("payment-status"))); err != nil {
			t.Fatal(err)
		}
		if got := text(t, tab, "refunded"); got != "NOK\u00a0400.00" {
			t.Errorf("a cancelled confirmation refunded: %q", got)
		}
	})

	t.Run("resolve a review item", func(t *testing.T) {
		op := lost.Operations[0].ID
		err := chromedp.Do(tab, chromedp.Navigate(rig.s.URL+"/dashboard/review"), chromedp.WaitVisible(chromedp.ID("review-"+lost.ID)))
		if err != nil {
			t.Fatal(err)
		}
		if q := text(t, tab, "review"); strings.Contains(q, theirLost.ID) || !strings.Contains(q, "10 status queries") {
			t.Errorf("review queue %q", q)
		}
		rig.shot(t, tab, "h7-05-review")
		err = chromedp.Do(tab, chromedp.SetValue(chromedp.ID("outcome-"+op), "succeeded"),
			chromedp.SendKeys(chromedp.ID("ref-"+op), "psp-4711"), chromedp.SendKeys(chromedp.ID("note-"+op), "Paid in the PSP portal"),
			chromedp.Click(chromedp.ID("resolve-"+op)), chromedp.WaitVisible(chromedp.ID("confirm-action")))
		if err != nil {
			t.Fatal(err)
		}
		rig.shot(t, tab, "h7-06-confirm-resolve")
		if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("confirm-action")), chromedp.WaitVisible(chromedp.ID("no-review"))); err != nil {
			t.Fatal(err)
		}
		rig.shot(t, tab, "h7-07-review-empty")
		p, err := ca.Payment(ctx, lost.ID)
		if err != nil || p.Status != "CAPTURED" || p.RequiresReview {
			t.Fatalf("after resolving: %+v %v", p, err)
		}
	})

	t.Run("another account's payment is not found anywhere", func(t *testing.T) {
		c, csrf := rig.httpSession(t, "kari@example.com", pw)
		if code := getStatus(t, c, rig.s.URL+"/dashboard/payments/"+theirs.ID); code != http.StatusNotFound {
			t.Errorf("page: %d", code)
		}
		for _, a := range []string{"capture", "void", "refund"} {
			for _, confirm := range []string{"", "yes"} {
				code := postStatus(t, c, rig.s.URL+"/dashboard/payments/"+theirs.ID+"/"+a,
					url.Values{"csrf": {csrf}, "amount": {"1"}, "confirm": {confirm}, "idempotency_key": {"k" + a + confirm}})
				if code != http.StatusNotFound {
					t.Errorf("%s (confirm %q): %d", a, confirm, code)
				}
			}
		}
		if code := postStatus(t, c, rig.s.URL+"/dashboard/review/"+theirLost.Operations[0].ID+"/resolve",
			url.Values{"csrf": {csrf}, "outcome": {"succeeded"}, "note": {"x"}, "confirm": {"yes"}}); code != http.StatusNotFound {
			t.Errorf("resolve: %d", code)
		}
		// Without the token the admin is refused too.
		if code := postStatus(t, c, rig.s.URL+"/dashboard/payments/"+mine.ID+"/refund",
			url.Values{"amount": {"1"}, "confirm": {"yes"}, "idempotency_key": {"no-csrf"}}); code != http.StatusForbidden {
			t.Errorf("refund without the CSRF token: %d", code)
		}
		p, err := cb.Payment(ctx, theirs.ID)
		if err != nil || p.AmountRefunded != 0 || len(p.Operations) != 1 {
			t.Errorf("another account's payment changed: %+v %v", p, err)
		}
		if p, err := cb.Payment(ctx, theirLost.ID); err != nil || !p.RequiresReview {
			t.Errorf("another account's review item changed: %+v %v", p, err)
		}
	})

	t.Run("a viewer sees no action and cannot post one", func(t *testing.T) {
		vtab := rig.tab(t)
		err := chromedp.Do(vtab, chromedp.Navigate(rig.s.URL+"/dashboard/login"), chromedp.WaitVisible(chromedp.ID("logout")),
			chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("signin")))
		if err != nil {
			t.Fatal(err)
		}
		rig.login(t, vtab, "ola@example.com", viewerPW)
		if err := chromedp.Do(vtab, chromedp.Navigate(rig.s.URL+"/dashboard/payments/"+mine.ID), chromedp.WaitVisible(chromedp.ID("payment-status"))); err != nil {
			t.Fatal(err)
		}
		forms, err := chromedp.Run(vtab, chromedp.Evaluate[int](`document.querySelectorAll("main form").length`))
		if err != nil {
			t.Fatal(err)
		}
		if forms != 0 {
			t.Errorf("the viewer's payment page has %d forms", forms)
		}
		rig.shot(t, vtab, "h7-08-viewer-payment")
		c, csrf := rig.httpSession(t, "ola@example.com", viewerPW)
		for _, a := range []string{"capture", "void", "refund"} {
			if code := postStatus(t, c, rig.s.URL+"/dashboard/payments/"+mine.ID+"/"+a,
				url.Values{"csrf": {csrf}, "amount": {"1"}, "confirm": {"yes"}, "idempotency_key": {"v" + a}}); code != http.StatusForbidden {
				t.Errorf("viewer's %s: %d", a, code)
			}
		}
		p, err := ca.Payment(ctx, mine.ID)
		if err != nil || p.AmountRefunded != 40000 {
			t.Errorf("a viewer's post moved money: %+v %v", p, err)
		}
	})

	rig.checkNoSecrets(t)
	checkCVC(t, rig, cvc)
}

// checkCVC fails the test if a page or the log holds cvc as a value of
// its own: not as a part of a longer number or token (an id, a nonce), a
// decimal's fraction or a JSON number (a duration, a byte count).
func checkCVC(t *testing.T, rig *dashRig, cvc string) {
	t.Helper()
	re := regexp.MustCompile(`(^|[^0-9A-Za-z_.:-])` + cvc + `([^0-9A-Za-z_.-]|$)`)
	for i, html := range rig.pageHTML {
		if loc := re.FindStringIndex(html); loc != nil {
			t.Errorf("page %d holds the CVC: %q", i, html[max(loc[0]-40, 0):min(loc[1]+40, len(html))])
		}
	}
	if log := rig.s.Stderr.String(); re.MatchString(log) {
		t.Errorf("the server log holds the CVC")
	}
}

func getStatus(t *testing.T, c *http.Client, u string) int {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func postStatus(t *testing.T, c *http.Client, u string, form url.Values) int {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
