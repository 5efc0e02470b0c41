package web

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// get fetches path without the redirect-page header checks (an embedded
// page may be framed).
func (f *fixture) get(t *testing.T, method, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r, _ := http.NewRequest(method, f.srv.URL+path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := noRedirect.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

var embedAttr = regexp.MustCompile(`data-embed="([^"]*)"`)

// embedDataOf reads the page's data for its embed script.
func embedDataOf(t *testing.T, page string) embedData {
	t.Helper()
	m := embedAttr.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no data-embed:\n%s", page)
	}
	var d embedData
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &d); err != nil {
		t.Fatalf("data-embed %q: %v", m[1], err)
	}
	return d
}

func (f *fixture) dinteroSession(t *testing.T) (*payment.CheckoutSession, string) {
	t.Helper()
	cs, err := f.eng.CreateCheckoutSession(context.Background(), f.p, engine.CheckoutInput{Amount: 125000, Currency: "NOK",
		Items:             []payment.CheckoutItem{{Description: "Sykkel", Quantity: 1, Amount: 120000}, {Description: "Frakt", Quantity: 1, Amount: 5000}},
		MerchantReference: "order-9", ReturnURL: "https://shop.example/return", GatewayID: f.gw, Dialect: payment.CheckoutDialectDintero})
	if err != nil {
		t.Fatal(err)
	}
	return cs, payment.DinteroID(cs.AccountID, cs.ID)
}

// TestEmbeddedPage: the SDK's iframe page is framed only by the account's
// origins, carries the session and the protocol's data for its script,
// its form comes back embedded, and the paid page names the Dintero
// transaction in its final event instead of redirecting.
func TestEmbeddedPage(t *testing.T) {
	f := setup(t)
	cs, sid := f.dinteroSession(t)
	embedPath := DinteroBase + "/?sdk=0.8.30&ui=inline&language=no&sid=" + url.QueryEscape(sid)

	// No origins yet: the browser may not frame it.
	res, _ := f.get(t, "GET", embedPath, nil)
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		res.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("without origins: %d %v", res.StatusCode, res.Header)
	}
	if _, err := f.eng.SetCheckoutEmbedOrigins(context.Background(), f.p, "origins", []string{"https://shop.example"}); err != nil {
		t.Fatal(err)
	}
	res, page := f.get(t, "GET", embedPath, nil)
	csp := res.Header.Get("Content-Security-Policy")
	if res.StatusCode != 200 || !strings.Contains(csp, "frame-ancestors https://shop.example;") || res.Header.Get("X-Frame-Options") != "" ||
		strings.Contains(csp, "unsafe-") {
		t.Fatalf("with origins: %d %v", res.StatusCode, res.Header)
	}
	nonce := cspNonce.FindStringSubmatch(csp)[1]
	if !strings.Contains(page, `<script nonce="`+nonce+`" src="/checkout/assets/embed.js"`) || !strings.Contains(page, "Kortnummer") ||
		strings.Contains(page, `http-equiv="refresh"`) {
		t.Errorf("embedded form page:\n%s", page)
	}
	d := embedDataOf(t, page)
	if d.SID != sid || len(d.Origins) != 1 || d.Origins[0] != "https://shop.example" || d.State != "form" || d.Session == nil ||
		d.Session.ID != sid || d.Session.Order.Amount != 125000 || d.Event != nil || d.SessionURL != DinteroBase+"/sessions/"+sid {
		t.Errorf("embed data %+v", d)
	}
	// The redirect flow's view of the same session is not framable.
	res, _ = f.fetch(t, "GET", DinteroBase+"/v1/view/"+sid, nil, nil)
	if res.StatusCode != 200 {
		t.Errorf("view: %d", res.StatusCode)
	}

	// Pay in the frame: the answer is the embedded page again.
	form := formOf(t, page)
	action := regexp.MustCompile(`action="([^"]*/pay[^"]*)"`).FindStringSubmatch(page)[1]
	res, _ = f.get(t, "POST", html.UnescapeString(action), withCard(form, "4242424242424242"))
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, DinteroBase+"/?") || !strings.Contains(loc, "ui=inline") {
		t.Fatalf("pay: %d %s", res.StatusCode, loc)
	}
	_, page = f.get(t, "GET", loc, nil)
	got, _ := f.eng.CheckoutSession(context.Background(), f.p.Account.ID, cs.ID)
	tx := payment.DinteroID(cs.AccountID, got.PaymentID)
	d = embedDataOf(t, page)
	if got.Status != payment.CheckoutPaid || d.Event == nil || d.Event.Type != "SessionPaymentAuthorized" || d.Event.TransactionID != tx ||
		d.Event.Href != "https://shop.example/return?transaction_id="+url.QueryEscape(tx)+"&merchant_reference=order-9" ||
		d.Session.TransactionID != tx || strings.Contains(page, `http-equiv="refresh"`) {
		t.Errorf("paid page: %+v %+v\n%s", d, d.Event, page)
	}
	// The redirect view sends the customer back with the Dintero id.
	_, page = f.fetch(t, "GET", DinteroBase+"/v1/view/"+sid, nil, nil)
	if !strings.Contains(page, "transaction_id="+url.QueryEscape(tx)) {
		t.Errorf("redirect view of the paid session:\n%s", page)
	}
	// The result page the SDK loads, and the session RefreshSession reads.
	res, page = f.get(t, "GET", DinteroBase+"/embedResult/?sid="+sid+"&transaction_id="+tx+"&language=no&sdk=0.8.30", nil)
	if d := embedDataOf(t, page); res.StatusCode != 200 || !d.Result || d.Event != nil ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors https://shop.example;") || strings.Contains(page, `id="next"`) {
		t.Errorf("embedResult: %d %+v\n%s", res.StatusCode, d, page)
	}
	res, page = f.get(t, "GET", DinteroBase+"/sessions/"+sid, nil)
	if res.StatusCode != 200 || !strings.Contains(page, `"transaction_id":"`+tx+`"`) {
		t.Errorf("session JSON: %d %s", res.StatusCode, page)
	}
	for _, p := range []string{DinteroBase + "/sessions/T00000000.x", DinteroBase + "/sessions/" + strings.Replace(sid, f.p.Account.ID, "T00000000", 1)} {
		if res, _ := f.get(t, "GET", p, nil); res.StatusCode != 404 {
			t.Errorf("%s: %d", p, res.StatusCode)
		}
	}
	if strings.Contains(f.logs.String(), "4242424242424242") {
		t.Error("a card number in the logs")
	}
}

// TestEmbeddedNotFound: an unknown session's embedded page tells any
// framing page SessionNotFound (it says nothing the URL did not); another
// account's id form of a session names nothing.
func TestEmbeddedNotFound(t *testing.T) {
	f := setup(t)
	cs, _ := f.dinteroSession(t)
	for _, sid := range []string{"T00000000.nope", payment.DinteroID("T00000000", cs.ID), "not-an-id", ""} {
		res, page := f.get(t, "GET", DinteroBase+"/?sdk=0.8.30&ui=inline&sid="+url.QueryEscape(sid), nil)
		d := embedDataOf(t, page)
		if res.StatusCode != 404 || !d.NotFound || d.SID != sid || len(d.Origins) != 1 || d.Origins[0] != "*" || d.Session != nil ||
			!strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors *;") {
			t.Errorf("%q: %d %+v", sid, res.StatusCode, d)
		}
		if res, _ := f.get(t, "GET", DinteroBase+"/v1/view/"+url.PathEscape(sid), nil); sid != "" && res.StatusCode != 404 {
			t.Errorf("view %q: %d", sid, res.StatusCode)
		}
	}
}

// TestTransactionIDByDialect: return URLs name a Dintero session's
// payment by its Dintero id, a native session's by kassa's.
func TestTransactionIDByDialect(t *testing.T) {
	pay := &payment.Payment{ID: "pay_abc"}
	native := &payment.CheckoutSession{ID: "cs_1", AccountID: "T12345678", ReturnURL: "https://s.example/r", MerchantReference: "o"}
	dintero := *native
	dintero.Dialect = payment.CheckoutDialectDintero
	if got := ReturnURL(native, pay, ""); got != "https://s.example/r?transaction_id=pay_abc&merchant_reference=o" {
		t.Errorf("native %s", got)
	}
	if got := ReturnURL(&dintero, pay, ""); got != "https://s.example/r?transaction_id=T12345678.abc&merchant_reference=o" {
		t.Errorf("dintero %s", got)
	}
}

// TestEmbeddedPageAfterCancelVoid: a session paid (authorized only) and
// then cancelled by the Dintero API, which voids its transaction, shows
// the SDK a cancelled session: SessionCancel with error=cancelled, the
// session cancelled and naming the voided transaction, never a payment.
func TestEmbeddedPageAfterCancelVoid(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	cs, err := f.eng.CreateCheckoutSession(ctx, f.p, engine.CheckoutInput{Amount: 125000, Currency: "NOK", MerchantReference: "order-9",
		ReturnURL: "https://shop.example/return", GatewayID: f.gw, Dialect: payment.CheckoutDialectDintero, Capture: new(false)})
	if err != nil {
		t.Fatal(err)
	}
	sid := payment.DinteroID(cs.AccountID, cs.ID)
	v, err := f.eng.PayCheckoutPage(ctx, cs.ID, 1, engine.CardInput{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "123"})
	if err != nil || v.Payment.Status != payment.StatusAuthorized {
		t.Fatalf("pay: %+v %v", v, err)
	}
	if got, err := f.eng.CancelCheckoutVoiding(ctx, f.p, cs.ID); err != nil || got.Status != payment.CheckoutCancelled {
		t.Fatalf("cancel: %+v %v", got, err)
	}
	tx := payment.DinteroID(cs.AccountID, v.Payment.ID)
	_, page := f.get(t, "GET", DinteroBase+"/?sdk=0.8.30&ui=inline&sid="+url.QueryEscape(sid), nil)
	d := embedDataOf(t, page)
	if d.State != "cancelled" || d.Event == nil || d.Event.Type != "SessionCancel" || d.Event.Error != "cancelled" ||
		d.Event.TransactionID != "" || d.Session.Status != "cancelled" || d.Session.TransactionID != tx {
		t.Errorf("page of a session cancelled after payment: %+v %+v", d, d.Event)
	}
	if res, page := f.get(t, "GET", DinteroBase+"/sessions/"+sid, nil); res.StatusCode != 200 ||
		!strings.Contains(page, `"status":"cancelled"`) || !strings.Contains(page, `"transaction_id":"`+tx+`"`) {
		t.Errorf("session JSON: %d %s", res.StatusCode, page)
	}
}

// TestEmbeddedPopOut: Dintero's pop-out flow. The launcher iframe shows
// the order and a slot for the SDK's button, no card form; the pop-out
// window is not framable, keeps its opener (COOP unsafe-none, every other
// page same-origin), talks in context "popOut", and its forms come back
// to the window; the loader window shows no form until the merchant's
// check is done. Another account's session id is not found in every role.
func TestEmbeddedPopOut(t *testing.T) {
	f := setup(t)
	cs, sid := f.dinteroSession(t)
	if _, err := f.eng.SetCheckoutEmbedOrigins(context.Background(), f.p, "origins", []string{"https://shop.example"}); err != nil {
		t.Fatal(err)
	}
	base := DinteroBase + "/?sdk=0.8.30&sid=" + url.QueryEscape(sid)

	res, page := f.get(t, "GET", base+"&ui=inline&language=no&client_side_validation=true&role=pop_out_launcher", nil)
	d := embedDataOf(t, page)
	if res.StatusCode != 200 || d.Role != "launcher" || d.Context != "" || d.ValidateMS != 0 || d.Language != "no" ||
		d.Texts["open"] != "Betal 1\u00a0250,00\u00a0kr" || strings.Contains(page, `id="pay"`) || strings.Contains(page, `name="number"`) ||
		!strings.Contains(page, `id="popout-slot"`) || !strings.Contains(page, `id="cancel"`) ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors https://shop.example;") ||
		res.Header.Get("Cross-Origin-Opener-Policy") != "same-origin" {
		t.Fatalf("launcher: %d %v %+v\n%s", res.StatusCode, res.Header, d, page)
	}

	window := base + "&ui=fullscreen&role=pop_out_payment&language=no"
	res, page = f.get(t, "GET", window+"&loader=true", nil)
	d = embedDataOf(t, page)
	if res.StatusCode != 200 || d.Context != "popOut" || strings.Contains(page, `id="pay"`) || strings.Contains(page, `id="cancel"`) ||
		res.Header.Get("Cross-Origin-Opener-Policy") != "unsafe-none" || res.Header.Get("X-Frame-Options") != "DENY" ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("loader window: %d %v %+v\n%s", res.StatusCode, res.Header, d, page)
	}
	res, page = f.get(t, "GET", window, nil)
	d = embedDataOf(t, page)
	if res.StatusCode != 200 || d.Context != "popOut" || d.Role != "" || !strings.Contains(page, `id="pay"`) ||
		res.Header.Get("Cross-Origin-Opener-Policy") != "unsafe-none" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("pop-out window: %d %v %+v\n%s", res.StatusCode, res.Header, d, page)
	}
	action := html.UnescapeString(regexp.MustCompile(`action="([^"]*/pay[^"]*)"`).FindStringSubmatch(page)[1])
	if strings.Contains(action, "loader") || !strings.Contains(action, "role=pop_out_payment") {
		t.Errorf("pop-out form action %s", action)
	}
	res, _ = f.get(t, "POST", action, withCard(formOf(t, page), "4242424242424242"))
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "role=pop_out_payment") ||
		res.Header.Get("Cross-Origin-Opener-Policy") != "unsafe-none" {
		t.Fatalf("pay in the window: %d %s %v", res.StatusCode, loc, res.Header)
	}
	_, page = f.get(t, "GET", loc, nil)
	got, _ := f.eng.CheckoutSession(context.Background(), f.p.Account.ID, cs.ID)
	d = embedDataOf(t, page)
	if got.Status != payment.CheckoutPaid || d.Context != "popOut" || d.Event == nil || d.Event.Type != "SessionPaymentAuthorized" ||
		d.Event.TransactionID != payment.DinteroID(cs.AccountID, got.PaymentID) || d.Event.Href == "" {
		t.Errorf("paid window: %+v %+v", d, d.Event)
	}
	// Paid: the launcher has no slot, and says so to the SDK.
	_, page = f.get(t, "GET", base+"&ui=inline&role=pop_out_launcher", nil)
	if d := embedDataOf(t, page); strings.Contains(page, `id="popout-slot"`) || d.Event == nil {
		t.Errorf("paid launcher: %+v\n%s", d, page)
	}

	// Only the embedded window drops COOP same-origin, whatever a URL asks.
	if res, _ := f.get(t, "GET", "/checkout/"+cs.ID+"?role=pop_out_payment", nil); res.Header.Get("Cross-Origin-Opener-Policy") != "same-origin" {
		t.Errorf("a page not embedded with role=pop_out_payment: COOP %q", res.Header.Get("Cross-Origin-Opener-Policy"))
	}

	other := url.QueryEscape(strings.Replace(sid, f.p.Account.ID, "T00000000", 1))
	for _, q := range []string{"&ui=inline&role=pop_out_launcher", "&ui=fullscreen&role=pop_out_payment", "&ui=fullscreen&role=pop_out_payment&loader=true"} {
		res, page := f.get(t, "GET", DinteroBase+"/?sdk=0.8.30&sid="+other+q, nil)
		if d := embedDataOf(t, page); res.StatusCode != 404 || !d.NotFound || d.Session != nil {
			t.Errorf("another account's session %s: %d %+v", q, res.StatusCode, d)
		}
	}
}

// TestEmbeddedClientValidation: client_side_validation=true makes the
// script wait for the merchant's check (validate_ms) and the form keeps
// the parameter; without it the script pays at once. The server takes no
// word for the check: a form without its token pays nothing.
func TestEmbeddedClientValidation(t *testing.T) {
	f := setup(t)
	cs, sid := f.dinteroSession(t)
	if _, err := f.eng.SetCheckoutEmbedOrigins(context.Background(), f.p, "origins", []string{"https://shop.example"}); err != nil {
		t.Fatal(err)
	}
	path := DinteroBase + "/?sdk=0.8.30&ui=inline&client_side_validation=true&hide_test_message=true&sid=" + url.QueryEscape(sid)
	_, page := f.get(t, "GET", path, nil)
	d := embedDataOf(t, page)
	if d.ValidateMS != validationTimeout.Milliseconds() || d.Texts["validating"] == "" || d.Texts["validation_timeout"] == "" ||
		!strings.Contains(page, `aria-describedby="embed-error"`) || !strings.Contains(page, `id="embed-error"`) ||
		strings.Contains(page, `class="test"`) {
		t.Fatalf("validating page: %+v\n%s", d, page)
	}
	action := html.UnescapeString(regexp.MustCompile(`action="([^"]*/pay[^"]*)"`).FindStringSubmatch(page)[1])
	if !strings.Contains(action, "client_side_validation=true") {
		t.Errorf("form action %s", action)
	}
	_, plain := f.get(t, "GET", DinteroBase+"/?sdk=0.8.30&ui=inline&sid="+url.QueryEscape(sid), nil)
	if d := embedDataOf(t, plain); d.ValidateMS != 0 || !strings.Contains(plain, `class="test"`) {
		t.Errorf("page without validation: %+v", d)
	}
	form := withCard(formOf(t, page), "4242424242424242")
	form.Del("csrf")
	if res, _ := f.get(t, "POST", action, form); res.StatusCode != http.StatusForbidden {
		t.Errorf("pay without the form's token: %d", res.StatusCode)
	}
	if got, _ := f.eng.CheckoutSession(context.Background(), f.p.Account.ID, cs.ID); got.Status != payment.CheckoutOpen || got.PaymentID != "" {
		t.Errorf("session after a refused form: %+v", got)
	}
}
