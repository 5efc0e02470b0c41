package ixopay

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/kassapay/kassa/internal/payment"
)

func TestDebitAndStatus(t *testing.T) {
	f := setup(t)
	c := f.connector(t, f.merchant(t), connector{})
	m := wantResult(t, f.tx(t, c, "debit", cardBody("order-1", "9.99", "EUR", visa)), true, ReturnFinished)
	uuid, _ := m["uuid"].(string)
	if !strings.HasPrefix(uuid, "op_") || !strings.HasPrefix(m["purchaseId"].(string), "pay_") || m["paymentMethod"] != "Creditcard" {
		t.Fatalf("debit result: %v", m)
	}
	rd := m["returnData"].(map[string]any)
	if rd["_TYPE"] != "cardData" || rd["type"] != "visa" || rd["lastFourDigits"] != "1111" || rd["firstSixDigits"] != "411111" ||
		rd["expiryMonth"] != "12" || rd["expiryYear"] != "2031" || rd["cardHolder"] != "Kari Nordmann" {
		t.Errorf("returnData: %v", rd)
	}
	pay, err := f.eng.Payment(context.Background(), c.m.id, m["purchaseId"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if pay.Amount != 999 || pay.AmountCaptured != 999 || pay.Currency != "EUR" || pay.Reference != "order-1" ||
		pay.Metadata[mdAdditionalID1] != "add-1" || pay.StoredCredential != nil {
		t.Errorf("payment: %+v", pay)
	}
	for _, by := range []struct{ path, id string }{{"getByUuid", uuid}, {"getByMerchantTransactionId", "order-1"}} {
		res := f.status(t, c, by.path, by.id)
		if res.status != http.StatusOK {
			t.Fatalf("%s: %d %s", by.path, res.status, res.body)
		}
		s := res.json(t)
		if s["success"] != true || s["transactionStatus"] != StatusSuccess || s["uuid"] != uuid || s["merchantTransactionId"] != "order-1" ||
			s["transactionType"] != TypeDebit || s["amount"] != "9.99" || s["currency"] != "EUR" || s["merchantMetaData"] != "meta-1" {
			t.Errorf("%s: %s", by.path, res.body)
		}
		if ed, _ := s["extraData"].(map[string]any); ed["order"] != "A-17" {
			t.Errorf("%s: extraData %v", by.path, s["extraData"])
		}
	}
	wantNoTransaction(t, f.status(t, c, "getByUuid", "op_nothere"), "op_nothere")
	wantNoTransaction(t, f.status(t, c, "getByMerchantTransactionId", "order-2"), "order-2")
}

func TestPreauthorizeCaptureRefundVoid(t *testing.T) {
	f := setup(t)
	c := f.connector(t, f.merchant(t), connector{})
	auth := wantResult(t, f.tx(t, c, "preauthorize", cardBody("auth-1", "10.00", "EUR", visa)), true, ReturnFinished)
	authID := auth["uuid"].(string)
	capture := wantResult(t, f.tx(t, c, "capture", refBody("cap-1", authID, "6", "EUR")), true, ReturnFinished)
	if capture["purchaseId"] != auth["purchaseId"] || capture["uuid"] == authID {
		t.Fatalf("capture: %v", capture)
	}
	refund := wantResult(t, f.tx(t, c, "refund", refBody("ref-1", capture["uuid"].(string), "2.50", "EUR")), true, ReturnFinished)
	pay, err := f.eng.Payment(context.Background(), c.m.id, auth["purchaseId"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if pay.AmountAuthorized != 1000 || pay.AmountCaptured != 600 || pay.AmountRefunded != 250 || pay.Status != payment.StatusPartiallyCapturedRefunded {
		t.Errorf("payment after partial capture and refund: %s %d/%d/%d", pay.Status, pay.AmountAuthorized, pay.AmountCaptured, pay.AmountRefunded)
	}
	s := f.status(t, c, "getByUuid", refund["uuid"].(string)).json(t)
	if s["transactionType"] != TypeRefund || s["amount"] != "2.50" || s["merchantTransactionId"] != "ref-1" || s["transactionStatus"] != StatusSuccess {
		t.Errorf("refund status: %v", s)
	}
	// A refund must name a debit or capture; a capture a preauthorize.
	wantEnvelope(t, f.tx(t, c, "refund", refBody("ref-2", authID, "1", "EUR")), http.StatusUnprocessableEntity, CodeValueNotAllowed, "referenceUuid")
	wantEnvelope(t, f.tx(t, c, "capture", refBody("cap-2", authID, "1", "USD")), http.StatusUnprocessableEntity, CodeValueNotAllowed, "currency")
	wantEnvelope(t, f.tx(t, c, "capture", refBody("cap-3", "op_unknown", "1", "EUR")), http.StatusNotFound, CodeNoSuchEntity, "referenceUuid")
	wantEnvelope(t, f.tx(t, c, "capture", refBody("cap-4", authID, "", "")), http.StatusUnprocessableEntity, CodeInvalidRequestData, "currency")

	// Void of another authorization.
	auth2 := wantResult(t, f.tx(t, c, "preauthorize", cardBody("auth-2", "5.00", "EUR", visa)), true, ReturnFinished)
	wantResult(t, f.tx(t, c, "void", refBody("void-1", auth2["uuid"].(string), "", "")), true, ReturnFinished)
	pay2, _ := f.eng.Payment(context.Background(), c.m.id, auth2["purchaseId"].(string))
	if pay2.Status != payment.StatusAuthorizationVoided {
		t.Errorf("voided payment: %s", pay2.Status)
	}
	// Capturing more than is left is the engine's refusal, named.
	wantEnvelope(t, f.tx(t, c, "capture", refBody("cap-5", authID, "5", "EUR")), http.StatusUnprocessableEntity, CodeValueNotAllowed, "amount")
}

func TestDeclinesAndPending(t *testing.T) {
	f := setup(t)
	c := f.connector(t, f.merchant(t), connector{})
	for i, tc := range []struct {
		pan  string
		code int
	}{{visaDecline, CodeDeclined}, {insufficient, CodeInsufficientFunds}, {lostCard, CodeLostCard}} {
		res := f.tx(t, c, "debit", cardBody(fmt.Sprint("declined-", i), "9.99", "EUR", tc.pan))
		wantErrorCode(t, res, tc.code)
		m := res.json(t)
		e := m["errors"].([]any)[0].(map[string]any)
		if m["uuid"] == "" || e["adapterCode"] == "" {
			t.Errorf("a decline names its transaction and the adapter's code: %s", res.body)
		}
		s := f.status(t, c, "getByMerchantTransactionId", fmt.Sprint("declined-", i)).json(t)
		if s["transactionStatus"] != StatusError {
			t.Errorf("declined status: %v", s)
		}
	}
	// A soft decline by amount (.05) is a 2003 too.
	wantErrorCode(t, f.tx(t, c, "debit", cardBody("soft", "10.05", "EUR", visa)), CodeDeclined)
	// Not sent (.13) is the gateway being unavailable.
	wantErrorCode(t, f.tx(t, c, "debit", cardBody("notsent", "10.13", "EUR", visa)), CodeUnavailable)

	m := wantResult(t, f.tx(t, c, "debit", cardBody("lost", "9.99", "EUR", lostResponse)), true, ReturnPending)
	s := f.status(t, c, "getByUuid", m["uuid"].(string)).json(t)
	if s["transactionStatus"] != StatusPending {
		t.Errorf("a lost response's status: %v", s)
	}
}

func TestAmountsAndValidation(t *testing.T) {
	f := setup(t)
	c := f.connector(t, f.merchant(t), connector{})
	for _, tc := range []struct {
		name, body  string
		status      int
		code        int
		field       string
		nothingMade string // merchantTransactionId that must not exist after
	}{
		{"excess precision", cardBody("a1", "9.999", "EUR", visa), 422, CodeInvalidRequestData, "amount", "a1"},
		{"JPY decimals", cardBody("a2", "1.5", "JPY", visa), 422, CodeInvalidRequestData, "amount", "a2"},
		{"negative", cardBody("a3", "-1", "EUR", visa), 422, CodeInvalidRequestData, "amount", "a3"},
		{"no amount", cardBody("a4", "", "", visa), 422, CodeInvalidRequestData, "currency", "a4"},
		{"unknown currency", cardBody("a5", "1", "XXY", visa), 422, CodeInvalidRequestData, "currency", "a5"},
		{"zero", cardBody("a6", "0.00", "EUR", visa), 422, CodeInvalidRequestData, "amount", "a6"},
		{"no merchantTransactionId", cardBody("", "1", "EUR", visa), 422, CodeInvalidRequestData, "merchantTransactionId", ""},
		{"long merchantTransactionId", cardBody(strings.Repeat("x", 51), "1", "EUR", visa), 422, CodeInvalidRequestData, "merchantTransactionId", ""},
		{"card number in merchantTransactionId", cardBody("order "+visa, "1", "EUR", visa), 422, CodeInvalidRequestData, "merchantTransactionId", ""},
		{"bad card number", cardBody("a7", "1", "EUR", "4111111111111112"), 422, CodeInvalidRequestData, "cardData.pan", "a7"},
		{"no card", `{"merchantTransactionId":"a8","amount":"1","currency":"EUR"}`, 422, CodeInvalidRequestData, "cardData", "a8"},
		{"bad indicator", `{"merchantTransactionId":"a9","amount":"1","currency":"EUR","transactionIndicator":"SOMETIMES"}`, 422, CodeInvalidRequestData, "transactionIndicator", "a9"},
		{"not JSON", `{"merchantTransactionId":`, 400, CodeInvalidRequest, "JSON", ""},
		{"amount of a wrong type", `{"merchantTransactionId":"a10","amount":true}`, 422, CodeInvalidRequestData, "amount: must be a decimal string", "a10"},
		{"description of a wrong type", `{"merchantTransactionId":"a11","description":5}`, 422, CodeInvalidRequestData, "description", "a11"},
		{"card number in description", strings.Replace(cardBody("a12", "1", "EUR", visa), "Two bikes", "card "+visa, 1), 422, CodeInvalidRequestData, "description", "a12"},
		{"card number in additionalId1", strings.Replace(cardBody("a13", "1", "EUR", visa), "add-1", visa, 1), 422, CodeInvalidRequestData, "additionalId1", "a13"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.tx(t, c, "debit", tc.body)
			wantEnvelope(t, res, tc.status, tc.code, tc.field)
			if bytes.Contains(res.body, []byte(visa)) || bytes.Contains(res.body, []byte(cvc)) {
				t.Errorf("the refusal repeats the card: %s", res.body)
			}
			if tc.nothingMade != "" {
				if res := f.status(t, c, "getByMerchantTransactionId", tc.nothingMade); !noTransaction(res) {
					t.Errorf("a refused request left a transaction: %s", res.body)
				}
			}
		})
	}
	// A bare JSON number is taken by its text, never through a float.
	m := wantResult(t, f.tx(t, c, "debit", strings.Replace(cardBody("n1", "x", "EUR", visa), `"amount":"x"`, `"amount":19.99`, 1)), true, ReturnFinished)
	pay, _ := f.eng.Payment(context.Background(), c.m.id, m["purchaseId"].(string))
	if pay.Amount != 1999 {
		t.Errorf("amount 19.99 read as %d", pay.Amount)
	}
	wantResult(t, f.tx(t, c, "debit", cardBody("jpy", "1500", "JPY", visa)), true, ReturnFinished)
	// Incremental authorization: no adapter of kassa's can.
	wantErrorCode(t, f.tx(t, c, "incrementalAuthorization", refBody("inc-1", "op_x", "1", "EUR")), CodeNotAllowed)
}

func TestDuplicateMerchantTransactionID(t *testing.T) {
	f := setup(t)
	c := f.connector(t, f.merchant(t), connector{})
	first := wantResult(t, f.tx(t, c, "debit", cardBody("dup-1", "9.99", "EUR", visa)), true, ReturnFinished)
	auth := wantResult(t, f.tx(t, c, "preauthorize", cardBody("dup-auth", "5.00", "EUR", visa)), true, ReturnFinished)
	reg := wantResult(t, f.tx(t, c, "register", cardBody("dup-reg", "", "", visa)), true, ReturnFinished)
	// Every type answers a name already taken (by any type) with
	// IXOPAY's system error, HTTP 400 and 3004, and does nothing.
	for _, tc := range []struct{ kind, body string }{
		{"debit", cardBody("dup-1", "9.99", "EUR", visa)},
		{"preauthorize", cardBody("dup-1", "1.00", "EUR", visa)},
		{"capture", refBody("dup-1", auth["uuid"].(string), "1.00", "EUR")},
		{"void", refBody("dup-1", auth["uuid"].(string), "", "")},
		{"refund", refBody("dup-1", first["uuid"].(string), "1.00", "EUR")},
		{"register", cardBody("dup-1", "", "", visa)},
		{"deregister", refBody("dup-1", reg["uuid"].(string), "", "")},
		{"payout", cardBody("dup-1", "1.00", "EUR", visa)},
	} {
		res := f.tx(t, c, tc.kind, tc.body)
		wantEnvelope(t, res, http.StatusBadRequest, CodeDuplicateID, "merchantTransactionId")
		if m := res.json(t); m["uuid"] != nil || m["errors"] != nil {
			t.Errorf("%s: a duplicate is no transaction result: %s", tc.kind, res.body)
		}
	}
	if s := f.status(t, c, "getByMerchantTransactionId", "dup-1").json(t); s["uuid"] != first["uuid"] {
		t.Errorf("the duplicate replaced the first: %v", s)
	}
	pay, err := f.eng.Payment(context.Background(), c.m.id, auth["purchaseId"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if pay.Status != payment.StatusAuthorized || len(pay.Operations) != 1 {
		t.Errorf("a duplicate capture or void touched the authorization: %s, %d operations", pay.Status, len(pay.Operations))
	}
	// The same id on another connector of the merchant is another
	// transaction.
	other := f.connector(t, c.m, connector{})
	wantResult(t, f.tx(t, other, "debit", cardBody("dup-1", "9.99", "EUR", visa)), true, ReturnFinished)

	// Concurrent duplicates: exactly one runs, whatever the race.
	const n = 12
	var wg sync.WaitGroup
	results := make([]response, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = f.tx(t, c, "debit", cardBody("race-1", "1.00", "EUR", visa))
		}()
	}
	wg.Wait()
	ran := 0
	for _, res := range results {
		m := res.json(t)
		if res.status == http.StatusOK && m["success"] == true {
			ran++
			continue
		}
		if res.status != http.StatusBadRequest || m["errorCode"] != float64(CodeDuplicateID) {
			t.Errorf("a concurrent duplicate: %d %s", res.status, res.body)
		}
	}
	if ran != 1 {
		t.Errorf("%d of %d concurrent requests with one merchantTransactionId ran, want 1", ran, n)
	}
	pays, _, err := f.eng.Payments(context.Background(), c.m.id, payment.PaymentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, p := range pays {
		if p.Reference == "race-1" {
			count++
		}
	}
	if count != 1 {
		t.Errorf("%d payments for one merchantTransactionId", count)
	}
}

func TestDisabledTransactionTypes(t *testing.T) {
	f := setup(t)
	m := f.merchant(t)
	open := f.connector(t, m, connector{})
	seq := 0
	id := func() string { seq++; return fmt.Sprint("dt-", seq) }
	for _, tc := range []struct {
		disabled string
		blocked  func(c connector) response
		allowed  func(c connector) response
	}{
		{disabledInitialDebit,
			func(c connector) response { return f.tx(t, c, "debit", cardBody(id(), "1", "EUR", visa)) },
			func(c connector) response { return f.tx(t, c, "preauthorize", cardBody(id(), "1", "EUR", visa)) }},
		{disabledInitialPreauthorize,
			func(c connector) response { return f.tx(t, c, "preauthorize", cardBody(id(), "1", "EUR", visa)) },
			func(c connector) response { return f.tx(t, c, "debit", cardBody(id(), "1", "EUR", visa)) }},
		{disabledRecurringDebit,
			func(c connector) response {
				reg := f.tx(t, c, "register", cardBody(id(), "", "", visa)).json(t)
				return f.tx(t, c, "debit", refBody(id(), reg["uuid"].(string), "1", "EUR"))
			},
			func(c connector) response { return f.tx(t, c, "debit", cardBody(id(), "1", "EUR", visa)) }},
		{disabledRecurringPreauthorize,
			func(c connector) response {
				reg := f.tx(t, c, "register", cardBody(id(), "", "", visa)).json(t)
				return f.tx(t, c, "preauthorize", refBody(id(), reg["uuid"].(string), "1", "EUR"))
			},
			func(c connector) response { return f.tx(t, c, "preauthorize", cardBody(id(), "1", "EUR", visa)) }},
		{disabledCapture,
			func(c connector) response {
				a := f.tx(t, c, "preauthorize", cardBody(id(), "10", "EUR", visa)).json(t)
				return f.tx(t, c, "capture", refBody(id(), a["uuid"].(string), "10", "EUR"))
			},
			func(c connector) response {
				a := f.tx(t, c, "preauthorize", cardBody(id(), "10", "EUR", visa)).json(t)
				return f.tx(t, c, "capture", refBody(id(), a["uuid"].(string), "4", "EUR"))
			}},
		{disabledPartialCapture,
			func(c connector) response {
				a := f.tx(t, c, "preauthorize", cardBody(id(), "10", "EUR", visa)).json(t)
				return f.tx(t, c, "capture", refBody(id(), a["uuid"].(string), "4", "EUR"))
			},
			func(c connector) response {
				a := f.tx(t, c, "preauthorize", cardBody(id(), "10", "EUR", visa)).json(t)
				return f.tx(t, c, "capture", refBody(id(), a["uuid"].(string), "10", "EUR"))
			}},
		{disabledRefund,
			func(c connector) response {
				d := f.tx(t, c, "debit", cardBody(id(), "10", "EUR", visa)).json(t)
				return f.tx(t, c, "refund", refBody(id(), d["uuid"].(string), "10", "EUR"))
			},
			func(c connector) response {
				d := f.tx(t, c, "debit", cardBody(id(), "10", "EUR", visa)).json(t)
				return f.tx(t, c, "refund", refBody(id(), d["uuid"].(string), "3", "EUR"))
			}},
		{disabledPartialRefund,
			func(c connector) response {
				d := f.tx(t, c, "debit", cardBody(id(), "10", "EUR", visa)).json(t)
				return f.tx(t, c, "refund", refBody(id(), d["uuid"].(string), "3", "EUR"))
			},
			func(c connector) response {
				d := f.tx(t, c, "debit", cardBody(id(), "10", "EUR", visa)).json(t)
				return f.tx(t, c, "refund", refBody(id(), d["uuid"].(string), "10", "EUR"))
			}},
		{disabledRegister,
			func(c connector) response { return f.tx(t, c, "register", cardBody(id(), "", "", visa)) },
			func(c connector) response { return f.tx(t, c, "debit", cardBody(id(), "1", "EUR", visa)) }},
		{disabledDeregister,
			func(c connector) response {
				reg := f.tx(t, c, "register", cardBody(id(), "", "", visa)).json(t)
				return f.tx(t, c, "deregister", refBody(id(), reg["uuid"].(string), "", ""))
			},
			func(c connector) response { return f.tx(t, c, "register", cardBody(id(), "", "", visa)) }},
		{disabledPayout,
			func(c connector) response { return f.tx(t, c, "payout", cardBody(id(), "5", "EUR", visa)) },
			func(c connector) response { return f.tx(t, c, "debit", cardBody(id(), "5", "EUR", visa)) }},
	} {
		t.Run(tc.disabled, func(t *testing.T) {
			c := f.connector(t, m, connector{disabledTypes: []string{tc.disabled}})
			res := tc.blocked(c)
			wantErrorCode(t, res, CodeNotAllowed)
			if !strings.Contains(string(res.body), tc.disabled) {
				t.Errorf("the refusal does not name %s: %s", tc.disabled, res.body)
			}
			wantResult(t, tc.allowed(c), true, ReturnFinished)
			// The same on a connector without it.
			wantResult(t, tc.blocked(open), true, ReturnFinished)
		})
	}
}

func TestRegisterDebitDeregisterPayout(t *testing.T) {
	f := setup(t)
	c := f.connector(t, f.merchant(t), connector{})
	reg := wantResult(t, f.tx(t, c, "register", cardBody("reg-1", "", "", visa)), true, ReturnFinished)
	regID := reg["uuid"].(string)
	body := `{"merchantTransactionId":"rec-1","referenceUuid":"` + regID + `","amount":"4.20","currency":"EUR","transactionIndicator":"RECURRING"}`
	d := wantResult(t, f.tx(t, c, "debit", body), true, ReturnFinished)
	pay, _ := f.eng.Payment(context.Background(), c.m.id, d["purchaseId"].(string))
	if pay.StoredCredential == nil || *pay.StoredCredential != (payment.StoredCredential{Initiator: "merchant", Reason: "recurring"}) {
		t.Errorf("RECURRING became %+v", pay.StoredCredential)
	}
	if d["returnData"].(map[string]any)["lastFourDigits"] != "1111" {
		t.Errorf("a debit of a stored card: %v", d)
	}
	s := f.status(t, c, "getByUuid", regID).json(t)
	if s["transactionType"] != TypeRegister || s["transactionStatus"] != StatusSuccess {
		t.Errorf("register status: %v", s)
	}
	dereg := wantResult(t, f.tx(t, c, "deregister", refBody("dereg-1", regID, "", "")), true, ReturnFinished)
	if s := f.status(t, c, "getByUuid", dereg["uuid"].(string)).json(t); s["transactionType"] != TypeDeregister || s["transactionStatus"] != StatusSuccess {
		t.Errorf("deregister status: %v", s)
	}
	// The card is gone: a debit of it fails, and nothing is charged.
	res := f.tx(t, c, "debit", `{"merchantTransactionId":"rec-2","referenceUuid":"`+regID+`","amount":"1","currency":"EUR"}`)
	if res.status == http.StatusOK && res.json(t)["success"] == true {
		t.Errorf("a debit of a deregistered card: %s", res.body)
	}

	p := wantResult(t, f.tx(t, c, "payout", cardBody("payout-1", "25.00", "EUR", visa)), true, ReturnFinished)
	if s := f.status(t, c, "getByMerchantTransactionId", "payout-1").json(t); s["transactionType"] != TypePayout || s["amount"] != "25.00" || s["uuid"] != p["uuid"] {
		t.Errorf("payout status: %v", s)
	}

	// A transactionToken is a vaulted payment method of the merchant.
	pm := wantResult(t, f.tx(t, c, "register", cardBody("reg-2", "", "", visa)), true, ReturnFinished)
	ref, err := f.eng.TransactionReferenceByOperation(context.Background(), c.m.p, c.guid, pm["uuid"].(string))
	if err != nil {
		t.Fatal(err)
	}
	wantResult(t, f.tx(t, c, "debit", `{"merchantTransactionId":"tok-1","transactionToken":"`+ref.PaymentMethodID+`","amount":"1","currency":"EUR"}`), true, ReturnFinished)
	wantEnvelope(t, f.tx(t, c, "debit", `{"merchantTransactionId":"tok-2","transactionToken":"pm_nothere","amount":"1","currency":"EUR"}`), http.StatusNotFound, CodeNoSuchEntity, "transactionToken")
}

func TestSignatures(t *testing.T) {
	f := setup(t)
	c := f.connector(t, f.merchant(t), connector{signatureReqd: true})
	path := "/api/v3/transaction/" + c.apiKey + "/debit"
	stale := f.clk.Now().Add(-6*60e9).Format("Mon, 02 Jan 2006 15:04:05") + " GMT"
	for _, tc := range []struct {
		name string
		sign *signing
		ok   bool
	}{
		{"sha512", &signing{hash: "sha512", secret: c.sharedSecret}, true},
		{"md5 as the PHP client", &signing{hash: "md5", secret: c.sharedSecret}, true},
		{"wrong secret", &signing{hash: "sha512", secret: "not-the-secret"}, false},
		{"body changed after signing", &signing{hash: "md5", secret: c.sharedSecret, bodyAfter: cardBody("%s", "99.99", "EUR", visa)}, false},
		{"stale Date", &signing{hash: "sha512", secret: c.sharedSecret, date: stale}, false},
		{"no X-Signature", &signing{hash: "sha512", secret: c.sharedSecret, drop: "X-Signature"}, false},
		{"no Date", &signing{hash: "sha512", secret: c.sharedSecret, drop: "Date"}, false},
		{"unsigned", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mtid := "sig-" + strings.ReplaceAll(tc.name, " ", "-")
			if tc.sign != nil && tc.sign.bodyAfter != "" {
				tc.sign.bodyAfter = fmt.Sprintf(tc.sign.bodyAfter, mtid)
			}
			res := f.do(t, req{method: "POST", path: path, body: cardBody(mtid, "9.99", "EUR", visa), m: &c.m, sign: tc.sign})
			if tc.ok {
				wantResult(t, res, true, ReturnFinished)
				return
			}
			wantEnvelope(t, res, http.StatusUnauthorized, errSignature.code, "signature")
			if r := f.status(t, c, "getByMerchantTransactionId", mtid); !noTransaction(r) {
				t.Errorf("a refused signature left a transaction: %s", r.body)
			}
		})
	}
	// The status API is signed too (over the empty body).
	res := f.do(t, req{method: "GET", path: "/api/v3/status/" + c.apiKey + "/getByMerchantTransactionId/sig-sha512", m: &c.m})
	wantEnvelope(t, res, http.StatusUnauthorized, errSignature.code, "signature")
	if r := f.status(t, c, "getByMerchantTransactionId", "sig-sha512"); r.status != http.StatusOK {
		t.Errorf("a signed status request: %s", r.body)
	}
	// A connector without the requirement ignores signatures, as IXOPAY's
	// client always sends one.
	plain := f.connector(t, c.m, connector{})
	res = f.do(t, req{method: "POST", path: "/api/v3/transaction/" + plain.apiKey + "/debit", body: cardBody("p-1", "1", "EUR", visa),
		m: &plain.m, sign: &signing{hash: "md5", secret: "whatever"}})
	wantResult(t, res, true, ReturnFinished)
}

func TestTenantIsolationAndConnectorState(t *testing.T) {
	f := setup(t)
	a, b := f.merchant(t), f.merchant(t)
	ca := f.connector(t, a, connector{})
	cb := f.connector(t, b, connector{})
	d := wantResult(t, f.tx(t, ca, "debit", cardBody("iso-1", "9.99", "EUR", visa)), true, ReturnFinished)
	// b with a's apiKey: the connector does not exist for b.
	stolen := ca
	stolen.m = b
	wantEnvelope(t, f.tx(t, stolen, "debit", cardBody("iso-2", "1", "EUR", visa)), http.StatusNotFound, CodeNoSuchEntity, "connector")
	// The status API has no other answer than 200 (and 429): an apiKey
	// b does not have is a connector without transactions, the same
	// answer as for one that exists nowhere.
	wantNoTransaction(t, f.status(t, stolen, "getByUuid", d["uuid"].(string)), d["uuid"].(string))
	wantNoTransaction(t, f.status(t, stolen, "getByMerchantTransactionId", "iso-1"), "iso-1")
	nowhere := stolen
	nowhere.apiKey = "no-such-key"
	if theirs, none := f.status(t, stolen, "getByMerchantTransactionId", "iso-1"), f.status(t, nowhere, "getByMerchantTransactionId", "iso-1"); string(theirs.body) != string(none.body) {
		t.Errorf("another merchant's apiKey answers otherwise than an unknown one:\n%s\n%s", theirs.body, none.body)
	}
	// A card number in the path is refused, not repeated, whatever the key.
	res := f.status(t, nowhere, "getByMerchantTransactionId", "x"+visa)
	wantEnvelope(t, res, http.StatusUnprocessableEntity, CodeInvalidRequestData, "merchantTransactionId")
	if bytes.Contains(res.body, []byte(visa)) {
		t.Errorf("the card number came back: %s", res.body)
	}
	// b's own connector does not see a's transactions, by either id.
	wantNoTransaction(t, f.status(t, cb, "getByUuid", d["uuid"].(string)), "uuid")
	wantNoTransaction(t, f.status(t, cb, "getByMerchantTransactionId", "iso-1"), "iso-1")
	wantEnvelope(t, f.tx(t, cb, "refund", refBody("iso-3", d["uuid"].(string), "1", "EUR")), http.StatusNotFound, CodeNoSuchEntity, "referenceUuid")
	// Nor does a's other connector.
	ca2 := f.connector(t, a, connector{})
	wantEnvelope(t, f.tx(t, ca2, "refund", refBody("iso-4", d["uuid"].(string), "1", "EUR")), http.StatusNotFound, CodeNoSuchEntity, "referenceUuid")
	// Wrong credentials are IXOPAY's 401.
	wrong := ca
	wrong.m.secret = b.secret
	wantEnvelope(t, f.tx(t, wrong, "debit", cardBody("iso-5", "1", "EUR", visa)), http.StatusUnauthorized, CodeRequestFailed, "")

	for _, st := range []connector{{archived: true}, {gone: true}} {
		c := f.connector(t, a, st)
		wantEnvelope(t, f.tx(t, c, "debit", cardBody("arch-1", "1", "EUR", visa)), http.StatusUnprocessableEntity, CodeValueNotAllowed, "connector")
		// Its status API still answers: nothing was made.
		wantNoTransaction(t, f.status(t, c, "getByMerchantTransactionId", "arch-1"), "arch-1")
	}
}

// TestConcurrentRefunds: 50 refunds at once over HTTP never refund more
// than was captured.
func TestConcurrentRefunds(t *testing.T) {
	testConcurrentRefunds(t, setup(t))
}

func TestConcurrentRefundsPostgres(t *testing.T) {
	testConcurrentRefunds(t, setupPostgres(t))
}

func testConcurrentRefunds(t *testing.T, f *fixture) {
	c := f.connector(t, f.merchant(t), connector{})
	d := wantResult(t, f.tx(t, c, "debit", cardBody("big", "10.00", "EUR", visa)), true, ReturnFinished)
	const n = 50
	var wg sync.WaitGroup
	results := make([]response, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = f.tx(t, c, "refund", refBody(fmt.Sprint("r-", i), d["uuid"].(string), "0.30", "EUR"))
		}()
	}
	wg.Wait()
	ok := 0
	for _, res := range results {
		if res.status == http.StatusOK && res.json(t)["success"] == true {
			ok++
		}
	}
	pay, err := f.eng.Payment(context.Background(), c.m.id, d["purchaseId"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if pay.AmountRefunded > pay.AmountCaptured || int64(ok)*30 != pay.AmountRefunded || ok != 33 {
		t.Errorf("%d refunds succeeded; refunded %d of %d captured", ok, pay.AmountRefunded, pay.AmountCaptured)
	}
}

// TestPostgres runs the core flow on PostgreSQL.
func TestPostgres(t *testing.T) {
	f := setupPostgres(t)
	c := f.connector(t, f.merchant(t), connector{signatureReqd: true})
	auth := wantResult(t, f.tx(t, c, "preauthorize", cardBody("pg-1", "10.00", "EUR", visa)), true, ReturnFinished)
	cp := wantResult(t, f.tx(t, c, "capture", refBody("pg-2", auth["uuid"].(string), "7", "EUR")), true, ReturnFinished)
	wantResult(t, f.tx(t, c, "refund", refBody("pg-3", cp["uuid"].(string), "7", "EUR")), true, ReturnFinished)
	wantEnvelope(t, f.tx(t, c, "debit", cardBody("pg-1", "1", "EUR", visa)), http.StatusBadRequest, CodeDuplicateID, "merchantTransactionId")
	if s := f.status(t, c, "getByMerchantTransactionId", "pg-3").json(t); s["transactionType"] != TypeRefund || s["transactionStatus"] != StatusSuccess {
		t.Errorf("refund status: %v", s)
	}
}

// TestNoCardDataInResponsesOrLogs: after every test flow, neither the
// card numbers nor the CVC appear anywhere the client or the log sees.
func TestNoCardDataInResponsesOrLogs(t *testing.T) {
	f := setup(t)
	c := f.connector(t, f.merchant(t), connector{signatureReqd: true})
	for i, pan := range []string{visa, visaDecline, lostResponse, "4111111111111112"} {
		f.tx(t, c, "debit", cardBody(fmt.Sprint("leak-", i), "9.99", "EUR", pan))
		f.tx(t, c, "register", cardBody(fmt.Sprint("leak-reg-", i), "", "", pan))
		f.tx(t, c, "payout", cardBody(fmt.Sprint("leak-pay-", i), "1", "EUR", pan))
	}
	f.tx(t, c, "debit", cardBody("leak-x", "9.999", "EUR", visa))
	f.tx(t, c, "debit", `{"merchantTransactionId":"`+visa+`","cardData":{"pan":"`+visa+`","cvv":"`+cvc+`"}}`)
	f.status(t, c, "getByMerchantTransactionId", visa)
	f.do(t, req{method: "POST", path: "/api/v3/transaction/" + c.apiKey + "/debit", body: cardBody("leak-sig", "1", "EUR", visa), m: &c.m,
		sign: &signing{hash: "md5", secret: "wrong"}})
	all := strings.Join(f.responses, "\n") + f.logs.String()
	for _, secret := range []string{visa, visaDecline, lostResponse, "4111111111111112", `"` + cvc + `"`, c.sharedSecret} {
		if strings.Contains(all, secret) {
			t.Errorf("%q appears in a response or the log", secret)
		}
	}
}

// onBothStores runs fn over the dialect on SQLite and on PostgreSQL (the
// latter skipped without a server).
func onBothStores(t *testing.T, fn func(t *testing.T, f *fixture)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, setup(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, setupPostgres(t)) })
}

// TestFollowUpsKeepTheirFields: every follow-up keeps its own
// additionalId1/2, description (where IXOPAY takes one), extraData and
// merchantMetaData with its transaction, and the status API shows what
// IXOPAY's shows of them (extraData, merchantMetaData, referenceUuid).
func TestFollowUpsKeepTheirFields(t *testing.T) {
	onBothStores(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		c := f.connector(t, f.merchant(t), connector{})
		auth := wantResult(t, f.tx(t, c, "preauthorize", cardBody("k-auth", "10.00", "EUR", visa)), true, ReturnFinished)
		capture := wantResult(t, f.tx(t, c, "capture", keptBody("k-capture", auth["uuid"].(string), "6", "EUR")), true, ReturnFinished)
		refund := wantResult(t, f.tx(t, c, "refund", keptBody("k-refund", capture["uuid"].(string), "1", "EUR")), true, ReturnFinished)
		void := wantResult(t, f.tx(t, c, "void", keptBody("k-void", auth["uuid"].(string), "", "")), true, ReturnFinished)
		reg := wantResult(t, f.tx(t, c, "register", cardBody("k-register", "", "", visa)), true, ReturnFinished)
		dereg := wantResult(t, f.tx(t, c, "deregister", keptBody("k-deregister", reg["uuid"].(string), "", "")), true, ReturnFinished)
		payout := wantResult(t, f.tx(t, c, "payout", strings.Replace(cardBody("k-payout", "2.00", "EUR", visa),
			`"description":"Two bikes"`, `"description":"Follow-up k-payout"`, 1)), true, ReturnFinished)
		for _, tc := range []struct {
			mtid, uuid, refers string
			described          bool
		}{
			{"k-capture", capture["uuid"].(string), auth["uuid"].(string), true},
			{"k-refund", refund["uuid"].(string), capture["uuid"].(string), true},
			{"k-void", void["uuid"].(string), auth["uuid"].(string), false},
			{"k-deregister", dereg["uuid"].(string), reg["uuid"].(string), false},
		} {
			for _, by := range []struct{ path, id string }{{"getByUuid", tc.uuid}, {"getByMerchantTransactionId", tc.mtid}} {
				s := f.status(t, c, by.path, by.id).json(t)
				ed, _ := s["extraData"].(map[string]any)
				if s["merchantMetaData"] != "meta-"+tc.mtid || ed["z"] != "last" || ed["a"] != "first" || ed["note"] != `før "x"` ||
					s["referenceUuid"] != tc.refers || s["uuid"] != tc.uuid {
					t.Errorf("%s %s: %v", tc.mtid, by.path, s)
				}
				for _, hidden := range []string{"additionalId1", "additionalId2", "description"} {
					if _, ok := s[hidden]; ok {
						t.Errorf("%s %s shows %s, which IXOPAY's status does not", tc.mtid, by.path, hidden)
					}
				}
			}
			ref, err := f.eng.TransactionReference(ctx, c.m.p, c.guid, tc.mtid)
			if err != nil {
				t.Fatal(err)
			}
			k := keptIn(ref.Attributes)
			if k.AdditionalID1 != "a1-"+tc.mtid || k.AdditionalID2 != "a2-"+tc.mtid || (k.Description == "Follow-up "+tc.mtid) != tc.described {
				t.Errorf("%s keeps %s", tc.mtid, ref.Attributes)
			}
		}
		// A payout keeps its description; a debit the fields it always had.
		if ref, err := f.eng.TransactionReference(ctx, c.m.p, c.guid, "k-payout"); err != nil || keptIn(ref.Attributes).Description != "Follow-up k-payout" {
			t.Errorf("the payout keeps %v (%v)", ref, err)
		}
		if s := f.status(t, c, "getByUuid", payout["uuid"].(string)).json(t); s["merchantMetaData"] != "meta-1" {
			t.Errorf("payout status: %v", s)
		}
	})
}

// TestKeptFieldsValidation: a kept field that is too long, not printable
// or holds a card number is refused with IXOPAY's 422 / 1002 naming it,
// and nothing happens: no transaction, no name taken.
func TestKeptFieldsValidation(t *testing.T) {
	f := setup(t)
	c := f.connector(t, f.merchant(t), connector{})
	auth := wantResult(t, f.tx(t, c, "preauthorize", cardBody("v-auth", "10.00", "EUR", visa)), true, ReturnFinished)
	base := keptBody("v-capture", auth["uuid"].(string), "1", "EUR")
	for _, tc := range []struct {
		name, from, to, field string
	}{
		{"additionalId2 too long", `"additionalId2":"`, `"additionalId2":"` + strings.Repeat("y", 51), "additionalId2"},
		{"merchantMetaData too long", `"merchantMetaData":"`, `"merchantMetaData":"` + strings.Repeat("m", 256), "merchantMetaData"},
		{"description too long", `"description":"`, `"description":"` + strings.Repeat("d", 256), "description"},
		{"description with a card", `"description":"`, `"description":"card ` + visa + ` `, "description"},
		{"additionalId1 with a control character", `"additionalId1":"`, `"additionalId1":"\u0007`, "additionalId1"},
		{"extraData with a card", `"z":"last"`, `"z":"` + visa + `"`, "extraData"},
		{"extraData too long", `"z":"last"`, `"z":"` + strings.Repeat("e", 500) + `"`, "extraData"},
		{"extraData with a long name", `"z":"last"`, `"` + strings.Repeat("k", 65) + `":"v"`, "extraData"},
		{"extraData not an object", `"extraData":{"z":"last","a":"first","note":"f\u00f8r \"x\""}`, `"extraData":["x"]`, "extraData"},
	} {
		body := strings.Replace(base, tc.from, tc.to, 1)
		if body == base {
			t.Fatalf("%s: the body did not change", tc.name)
		}
		res := f.tx(t, c, "capture", body)
		wantEnvelope(t, res, http.StatusUnprocessableEntity, CodeInvalidRequestData, tc.field)
		if strings.Contains(string(res.body), visa) {
			t.Errorf("%s: the error repeats the card number", tc.name)
		}
	}
	// Nothing happened: the name is free and the payment untouched.
	wantNoTransaction(t, f.status(t, c, "getByMerchantTransactionId", "v-capture"), "v-capture")
	if pay, _ := f.eng.Payment(context.Background(), c.m.id, auth["purchaseId"].(string)); len(pay.Operations) != 1 {
		t.Errorf("refused captures made %d operations", len(pay.Operations)-1)
	}
	wantResult(t, f.tx(t, c, "capture", base), true, ReturnFinished)
	// A void takes no description: one sent is ignored, not kept.
	auth2 := wantResult(t, f.tx(t, c, "preauthorize", cardBody("v-auth-2", "10.00", "EUR", visa)), true, ReturnFinished)
	wantResult(t, f.tx(t, c, "void", strings.Replace(keptBody("v-void", auth2["uuid"].(string), "", ""),
		`"description":"`, `"description":"`+strings.Repeat("d", 300), 1)), true, ReturnFinished)
}
