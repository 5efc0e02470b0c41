package adyen

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// Test values: Adyen's test Visa card and CVC, made-up credentials.
const (
	testNumber   = "4111111145551142"
	testCVC      = "737"
	testAPIKey   = "AQEyhmfxK4_test_api_key_ZXhhbXBsZQ"
	testMerchant = "KassaTestECOM"
	testHMACKey  = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
)

var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// recorded is one captured exchange of the test server.
type recorded struct {
	method, path string
	header       http.Header
	body         string
}

// fixture is an Adapter pointed at a test server that answers with
// handler and records what it was sent.
type fixture struct {
	*Adapter
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func setup(t *testing.T, timeout time.Duration, handler http.HandlerFunc) *fixture {
	t.Helper()
	f := &fixture{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{r.Method, r.URL.Path, r.Header.Clone(), string(b)})
		f.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(f.srv.Close)
	f.Adapter = New(Options{HTTP: gateway.HTTPOptions{Timeout: timeout, Now: func() time.Time { return testNow }}})
	return f
}

func (f *fixture) last(t *testing.T) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("the server received no request")
	}
	return f.reqs[len(f.reqs)-1]
}

func config(base string) gateway.Config {
	return gateway.Config{
		GatewayID: "gw_adyen",
		Credentials: map[string]string{
			CredAPIKey: testAPIKey, CredMerchantAccount: testMerchant, CredHMACKey: testHMACKey,
		},
		Settings: map[string]any{SettingBaseURL: base},
		Sandbox:  true,
	}
}

func testCard() *gateway.Card {
	return &gateway.Card{
		Number: testNumber, CVC: testCVC, ExpMonth: 3, ExpYear: 2030, HolderName: "John Smith",
		Billing: payment.Address{Line1: "Simon Carmiggeltstraat", Line2: "6-50", City: "Amsterdam",
			PostalCode: "1011DJ", Country: "NL"},
	}
}

func authorizeRequest(base string) *gateway.Request {
	return &gateway.Request{
		Config: config(base), Reference: "op_auth_1", Kind: payment.OpAuthorize,
		Amount: 1000, Currency: "EUR", Card: testCard(),
	}
}

// answer returns a handler that answers status and body.
func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// checkNoSecrets fails if the result's transcript or message holds the card
// number, the CVC, the API key or the HMAC key.
func checkNoSecrets(t *testing.T, res gateway.Result) {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	// The CVC is three digits: look for it where it stands alone, not
	// inside a port number or a timestamp.
	if regexp.MustCompile(`(^|[^0-9])` + testCVC + `([^0-9]|$)`).MatchString(s) {
		t.Errorf("the result holds the CVC: %s", s)
	}
	for name, secret := range map[string]string{
		"card number": testNumber, "API key": testAPIKey, "HMAC key": testHMACKey,
		"lower-case HMAC key": strings.ToLower(testHMACKey),
	} {
		if strings.Contains(s, secret) {
			t.Errorf("the result holds the %s: %s", name, s)
		}
	}
}

// Recorded /payments answers, in the shapes of Adyen's Checkout API v71
// reference and its refusal-reasons and error-codes pages.
const (
	authorisedBody = `{"additionalData":{"cvcResult":"1 Matches","avsResult":"4 AVS not supported for this card type",` +
		`"networkTxReference":"MCC123456789012"},"pspReference":"993617895204576J","resultCode":"Authorised",` +
		`"amount":{"currency":"EUR","value":1000},"merchantReference":"op_auth_1"}`
	authorisedRawBody = `{"additionalData":{"cvcResult":"1 Matches","cvcResultRaw":"M","avsResult":"7 Both postal code and address match",` +
		`"avsResultRaw":"Y"},"pspReference":"993617895204577K","resultCode":"Authorised","merchantReference":"op_auth_1"}`
	errorBody    = `{"pspReference":"8515131751004933","refusalReason":"Acquirer Error","resultCode":"Error","refusalReasonCode":"4","merchantReference":"op_auth_1"}`
	cancelled    = `{"pspReference":"8515131751004934","refusalReason":"Cancelled","resultCode":"Cancelled","refusalReasonCode":"15"}`
	redirectBody = `{"resultCode":"RedirectShopper","action":{"paymentMethodType":"scheme","url":"https://checkoutshopper-test.adyen.com/checkoutshopper/threeDS/redirect?MD=M2RzZXJ2ZXI","method":"GET","type":"redirect"}}`
	challenge    = `{"resultCode":"ChallengeShopper","pspReference":"8515131751004935","action":{"type":"threeDS2","subtype":"challenge","paymentMethodType":"scheme"}}`
	received     = `{"pspReference":"8515131751004936","resultCode":"Received","merchantReference":"op_auth_1"}`
	partial      = `{"pspReference":"8515131751004937","resultCode":"PartiallyAuthorised"}`
	unauthorized = `{"status":401,"errorCode":"000","message":"HTTP Status Response - Unauthorized","errorType":"security"}`
	forbidden    = `{"status":403,"errorCode":"901","message":"Invalid Merchant Account","errorType":"security"}`
	invalidCard  = `{"status":422,"errorCode":"101","message":"Invalid card number","errorType":"validation","pspReference":"F7WCWRG6JPHR8HG2"}`
	invalidCVC   = `{"status":422,"errorCode":"103","message":"CVC is not the right length","errorType":"validation"}`
	inProgress   = `{"status":422,"errorCode":"704","message":"request already processed or in progress","errorType":"validation"}`
	badRequest   = `{"status":400,"errorCode":"702","message":"Unable to parse message","errorType":"validation"}`
	internal     = `{"status":500,"errorCode":"000","message":"An internal error occurred","errorType":"internal"}`
)

func refused(code, reason string) string {
	return `{"pspReference":"8816178952380553","refusalReason":"` + reason +
		`","resultCode":"Refused","refusalReasonCode":"` + code + `","merchantReference":"op_auth_1"}`
}

func TestPaymentOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		body     string
		outcome  payment.Outcome
		decline  string
		ref      string
		respCode string
	}{
		{"authorised", 200, authorisedBody, payment.OutcomeSucceeded, "", "993617895204576J", "Authorised"},
		{"refused generic", 200, refused("2", "Refused"), payment.OutcomeDeclined, "card_declined", "8816178952380553", "2"},
		{"referral", 200, refused("3", "Referral"), payment.OutcomeDeclined, "call_issuer", "8816178952380553", "3"},
		{"blocked card", 200, refused("5", "Blocked Card"), payment.OutcomeDeclined, "pickup_card", "8816178952380553", "5"},
		{"expired card", 200, refused("6", "Expired Card"), payment.OutcomeDeclined, "expired_card", "8816178952380553", "6"},
		{"invalid amount", 200, refused("7", "Invalid Amount"), payment.OutcomeDeclined, "invalid_amount", "8816178952380553", "7"},
		{"invalid number", 200, refused("8", "Invalid Card Number"), payment.OutcomeDeclined, "invalid_number", "8816178952380553", "8"},
		{"issuer unavailable", 200, refused("9", "Issuer Unavailable"), payment.OutcomeDeclined, "issuer_not_available", "8816178952380553", "9"},
		{"3ds not authenticated", 200, refused("11", "3D Not Authenticated"), payment.OutcomeDeclined, "authentication_required", "8816178952380553", "11"},
		{"not enough balance", 200, refused("12", "Not enough balance"), payment.OutcomeDeclined, "insufficient_funds", "8816178952380553", "12"},
		{"acquirer fraud", 200, refused("14", "Acquirer Fraud"), payment.OutcomeDeclined, "fraudulent", "8816178952380553", "14"},
		{"fraud", 200, refused("20", "FRAUD"), payment.OutcomeDeclined, "fraudulent", "8816178952380553", "20"},
		{"not permitted", 200, refused("23", "Transaction Not Permitted"), payment.OutcomeDeclined, "transaction_not_allowed", "8816178952380553", "23"},
		{"cvc declined", 200, refused("24", "CVC Declined"), payment.OutcomeDeclined, "invalid_cvc", "8816178952380553", "24"},
		{"restricted card", 200, refused("25", "Restricted Card"), payment.OutcomeDeclined, "restricted_card", "8816178952380553", "25"},
		{"declined non generic", 200, refused("27", "Declined Non Generic"), payment.OutcomeDeclined, "card_declined", "8816178952380553", "27"},
		{"withdrawal amount exceeded", 200, refused("28", "Withdrawal amount exceeded"), payment.OutcomeDeclined, "card_velocity_exceeded", "8816178952380553", "28"},
		{"issuer suspected fraud", 200, refused("31", "Issuer Suspected Fraud"), payment.OutcomeDeclined, "fraudulent", "8816178952380553", "31"},
		{"avs declined", 200, refused("32", "AVS Declined"), payment.OutcomeDeclined, "incorrect_address", "8816178952380553", "32"},
		{"authentication required", 200, refused("38", "Authentication required"), payment.OutcomeDeclined, "authentication_required", "8816178952380553", "38"},
		{"unknown refusal code", 200, refused("99", "Something new"), payment.OutcomeDeclined, "card_declined", "8816178952380553", "99"},
		{"refusal text only", 200, `{"pspReference":"8816178952380553","refusalReason":"Not enough balance","resultCode":"Refused"}`, payment.OutcomeDeclined, "insufficient_funds", "8816178952380553", "Refused"},
		{"cancelled", 200, cancelled, payment.OutcomeDeclined, "card_declined", "8515131751004934", "15"},
		{"error", 200, errorBody, payment.OutcomeFailed, CodeProcessingError, "8515131751004933", "4"},
		{"redirect shopper", 200, redirectBody, payment.OutcomeDeclined, CodeAuthenticationNeeded, "", "RedirectShopper"},
		{"challenge shopper", 200, challenge, payment.OutcomeDeclined, CodeAuthenticationNeeded, "8515131751004935", "ChallengeShopper"},
		{"received", 200, received, payment.OutcomePending, "", "8515131751004936", "Received"},
		{"partially authorised", 200, partial, payment.OutcomeUnknown, "", "8515131751004937", "PartiallyAuthorised"},
		{"401", 401, unauthorized, payment.OutcomeFailed, CodeInvalidCredentials, "", "000"},
		{"403", 403, forbidden, payment.OutcomeFailed, CodeInvalidCredentials, "", "901"},
		{"422 invalid card number", 422, invalidCard, payment.OutcomeFailed, "invalid_number", "", "101"},
		{"422 cvc length", 422, invalidCVC, payment.OutcomeFailed, "invalid_cvc", "", "103"},
		{"422 in progress", 422, inProgress, payment.OutcomeUnknown, "", "", "704"},
		{"400", 400, badRequest, payment.OutcomeFailed, CodeInvalidRequest, "", "702"},
		{"429", 429, `{"status":429,"errorCode":"000","message":"Too many requests","errorType":"validation"}`, payment.OutcomeFailed, CodeRateLimited, "", "000"},
		{"401 echoing the key", 401, `{"status":401,"errorCode":"000","message":"Unauthorized key ` + testAPIKey + `","errorType":"security"}`, payment.OutcomeFailed, CodeInvalidCredentials, "", "000"},
		{"500", 500, internal, payment.OutcomeUnknown, "", "", "000"},
		{"502 html", 502, `<html><body>Bad Gateway</body></html>`, payment.OutcomeUnknown, "", "", ""},
		{"malformed body", 200, `{"resultCode":"Authorised","pspReference":`, payment.OutcomeUnknown, "", "", ""},
		{"html body", 200, `<html>maintenance</html>`, payment.OutcomeUnknown, "", "", ""},
		{"empty json", 200, `{}`, payment.OutcomeUnknown, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, 5*time.Second, answer(tt.status, tt.body))
			res, err := f.Authorize(context.Background(), authorizeRequest(f.srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tt.outcome || res.DeclineCode != tt.decline {
				t.Errorf("outcome %q/%q, want %q/%q (message %q)", res.Outcome, res.DeclineCode, tt.outcome, tt.decline, res.Message)
			}
			if res.GatewayReference != tt.ref {
				t.Errorf("gateway reference %q, want %q", res.GatewayReference, tt.ref)
			}
			if res.ResponseCode != tt.respCode {
				t.Errorf("response code %q, want %q", res.ResponseCode, tt.respCode)
			}
			if res.Transcript == nil || len(res.Transcript.Exchanges) != 1 || res.Transcript.Exchanges[0].Status != tt.status {
				t.Errorf("transcript %+v, want one exchange with status %d", res.Transcript, tt.status)
			}
			checkNoSecrets(t, res)
		})
	}
}

func TestAuthorizeSurfacesAVSCVCAndNetworkReference(t *testing.T) {
	t.Parallel()
	f := setup(t, 5*time.Second, answer(200, authorisedBody))
	res, _ := f.Authorize(context.Background(), authorizeRequest(f.srv.URL))
	if res.AVSCode != "4" || res.CVVCode != "1" || res.NetworkTransactionID != "MCC123456789012" {
		t.Errorf("AVS %q CVV %q network id %q, want 4, 1, MCC123456789012", res.AVSCode, res.CVVCode, res.NetworkTransactionID)
	}
	f = setup(t, 5*time.Second, answer(200, authorisedRawBody))
	res, _ = f.Authorize(context.Background(), authorizeRequest(f.srv.URL))
	if res.AVSCode != "Y" || res.CVVCode != "M" || res.NetworkTransactionID != "" {
		t.Errorf("AVS %q CVV %q network id %q, want the raw Y, M and none", res.AVSCode, res.CVVCode, res.NetworkTransactionID)
	}
}

func TestAuthorizeRequest(t *testing.T) {
	t.Parallel()
	f := setup(t, 5*time.Second, answer(200, authorisedBody))
	if _, err := f.Authorize(context.Background(), authorizeRequest(f.srv.URL)); err != nil {
		t.Fatal(err)
	}
	got := f.last(t)
	if got.method != "POST" || got.path != "/payments" {
		t.Errorf("%s %s, want POST /payments", got.method, got.path)
	}
	for h, want := range map[string]string{
		"X-Api-Key": testAPIKey, "Idempotency-Key": "op_auth_1", "Content-Type": "application/json",
	} {
		if v := got.header.Get(h); v != want {
			t.Errorf("header %s = %q, want %q", h, v, want)
		}
	}
	want := `{"amount":{"currency":"EUR","value":1000},"reference":"op_auth_1",` +
		`"paymentMethod":{"type":"scheme","number":"` + testNumber + `","expiryMonth":"03","expiryYear":"2030",` +
		`"cvc":"737","holderName":"John Smith"},"merchantAccount":"KassaTestECOM","shopperInteraction":"Ecommerce",` +
		`"additionalData":{"manualCapture":"true"},"billingAddress":{"street":"Simon Carmiggeltstraat",` +
		`"houseNumberOrName":"6-50","postalCode":"1011DJ","city":"Amsterdam","country":"NL"}}`
	if got.body != want {
		t.Errorf("body\n%s\nwant\n%s", got.body, want)
	}
}

func TestPurchaseRequest(t *testing.T) {
	t.Parallel()
	f := setup(t, 5*time.Second, answer(200, authorisedBody))
	r := authorizeRequest(f.srv.URL)
	r.Kind, r.Reference, r.Amount, r.Currency = payment.OpPurchase, "op_purchase_1", 123456, "jpy"
	r.Card.Billing = payment.Address{}
	r.Card.Email = "s.hopper@example.com"
	r.StoredCredential = &payment.StoredCredential{Initiator: "merchant", Reason: "recurring"}
	r.GatewaySpecificFields = map[string]any{"shopper_reference": "shopper_42", "shopper_ip": "192.0.2.1", "ignored": "x"}
	res, err := gateway.Call(context.Background(), f.Adapter, r)
	if err != nil || res.Outcome != payment.OutcomeSucceeded {
		t.Fatalf("purchase: %v %+v", err, res)
	}
	got := f.last(t)
	want := `{"amount":{"currency":"JPY","value":123456},"reference":"op_purchase_1",` +
		`"paymentMethod":{"type":"scheme","number":"` + testNumber + `","expiryMonth":"03","expiryYear":"2030",` +
		`"cvc":"737","holderName":"John Smith"},"merchantAccount":"KassaTestECOM","shopperInteraction":"ContAuth",` +
		`"recurringProcessingModel":"Subscription","captureDelayHours":0,"shopperEmail":"s.hopper@example.com",` +
		`"shopperReference":"shopper_42","shopperIP":"192.0.2.1"}`
	if got.body != want {
		t.Errorf("body\n%s\nwant\n%s", got.body, want)
	}
	if k := got.header.Get("Idempotency-Key"); k != "op_purchase_1" {
		t.Errorf("Idempotency-Key %q", k)
	}
}

func TestStoredCredentialModels(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		sc               *payment.StoredCredential
		interaction, rpm string
	}{
		{nil, "Ecommerce", ""},
		{&payment.StoredCredential{Initiator: "cardholder", Reason: "one_time"}, "Ecommerce", "CardOnFile"},
		{&payment.StoredCredential{Initiator: "merchant", Reason: "unscheduled"}, "ContAuth", "UnscheduledCardOnFile"},
		{&payment.StoredCredential{Initiator: "merchant", Reason: "recurring"}, "ContAuth", "Subscription"},
	} {
		r := authorizeRequest("http://unused")
		r.StoredCredential = tt.sc
		p := newPaymentRequest(r, testMerchant, false)
		if p.ShopperInteraction != tt.interaction || p.RecurringProcessingModel != tt.rpm {
			t.Errorf("%+v: %q/%q, want %q/%q", tt.sc, p.ShopperInteraction, p.RecurringProcessingModel, tt.interaction, tt.rpm)
		}
	}
}

func TestTimeoutAfterTheRequestWasReadIsUnknown(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f := setup(t, 200*time.Millisecond, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	res, err := f.Authorize(context.Background(), authorizeRequest(f.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != payment.OutcomeUnknown {
		t.Errorf("outcome %q, want unknown (%s)", res.Outcome, res.Message)
	}
	if res.Transcript == nil || res.Transcript.Exchanges[0].Error == "" {
		t.Errorf("transcript %+v has no error", res.Transcript)
	}
	checkNoSecrets(t, res)
	if got := f.last(t); !strings.Contains(got.body, testNumber) {
		t.Error("the server did not read the request")
	}
}

func TestRefusedConnectionIsNotSent(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	a := New(Options{HTTP: gateway.HTTPOptions{Timeout: 2 * time.Second}})
	for _, kind := range []payment.OperationKind{payment.OpAuthorize, payment.OpCapture} {
		r := authorizeRequest("http://" + addr)
		r.Kind, r.PriorReference = kind, "993617895204576J"
		res, err := gateway.Call(context.Background(), a, r)
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != payment.OutcomeNotSent {
			t.Errorf("%s: outcome %q, want not_sent (%s)", kind, res.Outcome, res.Message)
		}
		checkNoSecrets(t, res)
	}
}

// Recorded modification answers (HTTP 201), as Adyen's reference shows them.
const (
	captureReceived = `{"merchantAccount":"KassaTestECOM","paymentPspReference":"993617895204576J",` +
		`"reference":"op_capture_1","pspReference":"QJCMPCF5VQ7TX4P4","status":"received","amount":{"currency":"EUR","value":600}}`
	cancelReceived = `{"merchantAccount":"KassaTestECOM","paymentPspReference":"993617895204576J",` +
		`"reference":"op_void_1","pspReference":"ZCVQS6J5WS7TX4P4","status":"received"}`
	refundReceived = `{"merchantAccount":"KassaTestECOM","paymentPspReference":"993617895204576J",` +
		`"reference":"op_refund_1","pspReference":"KPJ8DGQ4GCX2WX65","status":"received","amount":{"currency":"EUR","value":500}}`
)

func TestModificationsArePending(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind   payment.OperationKind
		ref    string
		amount int64
		path   string
		answer string
		body   string
		psp    string
	}{
		{payment.OpCapture, "op_capture_1", 600, "/payments/993617895204576J/captures", captureReceived,
			`{"merchantAccount":"KassaTestECOM","amount":{"currency":"EUR","value":600},"reference":"op_capture_1"}`, "QJCMPCF5VQ7TX4P4"},
		{payment.OpVoid, "op_void_1", 0, "/payments/993617895204576J/cancels", cancelReceived,
			`{"merchantAccount":"KassaTestECOM","reference":"op_void_1"}`, "ZCVQS6J5WS7TX4P4"},
		{payment.OpRefund, "op_refund_1", 500, "/payments/993617895204576J/refunds", refundReceived,
			`{"merchantAccount":"KassaTestECOM","amount":{"currency":"EUR","value":500},"reference":"op_refund_1"}`, "KPJ8DGQ4GCX2WX65"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			t.Parallel()
			f := setup(t, 5*time.Second, answer(201, tt.answer))
			r := &gateway.Request{Config: config(f.srv.URL), Reference: tt.ref, Kind: tt.kind, Amount: tt.amount,
				Currency: "EUR", PriorReference: "993617895204576J", PriorKind: payment.OpAuthorize}
			res, err := gateway.Call(context.Background(), f.Adapter, r)
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != payment.OutcomePending || res.GatewayReference != tt.psp {
				t.Errorf("outcome %q ref %q, want pending %q", res.Outcome, res.GatewayReference, tt.psp)
			}
			got := f.last(t)
			if got.path != tt.path || got.body != tt.body {
				t.Errorf("sent %s %s, want %s %s", got.path, got.body, tt.path, tt.body)
			}
			if got.header.Get("Idempotency-Key") != tt.ref || got.header.Get("X-Api-Key") != testAPIKey {
				t.Errorf("headers %v", got.header)
			}
			checkNoSecrets(t, res)
		})
	}
}

func TestModificationFailures(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status  int
		body    string
		outcome payment.Outcome
	}{
		{422, `{"status":422,"errorCode":"167","message":"Original pspReference required for this operation","errorType":"validation"}`, payment.OutcomeFailed},
		{401, unauthorized, payment.OutcomeFailed},
		{500, internal, payment.OutcomeUnknown},
		{201, `{"status":"something"}`, payment.OutcomeUnknown},
		{201, `not json`, payment.OutcomeUnknown},
	} {
		f := setup(t, 5*time.Second, answer(tt.status, tt.body))
		r := &gateway.Request{Config: config(f.srv.URL), Reference: "op_c", Kind: payment.OpCapture, Amount: 100,
			Currency: "EUR", PriorReference: "993617895204576J"}
		res, err := f.Capture(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != tt.outcome {
			t.Errorf("%d %s: outcome %q, want %q", tt.status, tt.body, res.Outcome, tt.outcome)
		}
	}
	a := New(Options{})
	if _, err := a.Refund(context.Background(), &gateway.Request{Config: config("http://x"), Reference: "op"}); err == nil {
		t.Error("a refund without a prior reference did not fail")
	}
}

func TestEndpoints(t *testing.T) {
	t.Parallel()
	a := New(Options{})
	c := config("")
	c.Settings = map[string]any{}
	cl, res := a.newCall(c, nil)
	if res != nil || cl.base != "https://checkout-test.adyen.com/v71" {
		t.Errorf("sandbox: %v %+v", cl.base, res)
	}
	c.Sandbox = false
	if _, res := a.newCall(c, nil); res == nil || res.Outcome != payment.OutcomeNotSent {
		t.Errorf("live without prefix: %+v", res)
	}
	c.Settings[SettingLivePrefix] = "1797a841fbb37ca7-AdyenDemo"
	cl, res = a.newCall(c, nil)
	if res != nil || cl.base != "https://1797a841fbb37ca7-AdyenDemo-checkout-live.adyenpayments.com/checkout/v71" {
		t.Errorf("live: %v %+v", cl.base, res)
	}
	c.Settings[SettingLivePrefix] = "evil.example.com/x?"
	if _, res := a.newCall(c, nil); res == nil {
		t.Error("a prefix that is not a host label was accepted")
	}
	c.Settings[SettingBaseURL] = "http://127.0.0.1:9/v71/"
	if cl, res = a.newCall(c, nil); res != nil || cl.base != "http://127.0.0.1:9/v71" {
		t.Errorf("base_url: %v %+v", cl.base, res)
	}
	delete(c.Credentials, CredAPIKey)
	if _, res := a.newCall(c, nil); res == nil || res.DeclineCode != CodeMisconfigured {
		t.Errorf("no API key: %+v", res)
	}
}

func TestCheckCredentials(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status int
		body   string
		param  string // "" for success; "-" for an error that is not a *payment.Error
	}{
		{200, `{"paymentMethods":[{"brands":["visa","mc"],"name":"Cards","type":"scheme"}]}`, ""},
		{401, unauthorized, CredAPIKey},
		{403, forbidden, CredMerchantAccount},
		{500, internal, "-"},
	} {
		f := setup(t, 5*time.Second, answer(tt.status, tt.body))
		err := f.CheckCredentials(context.Background(), config(f.srv.URL))
		got := f.last(t)
		if got.path != "/paymentMethods" || got.body != `{"merchantAccount":"KassaTestECOM"}` {
			t.Errorf("sent %s %s", got.path, got.body)
		}
		var pe *payment.Error
		switch {
		case tt.param == "" && err != nil:
			t.Errorf("%d: %v", tt.status, err)
		case tt.param == "-" && (err == nil || errors.As(err, &pe)):
			t.Errorf("%d: %v, want an error that is not a *payment.Error", tt.status, err)
		case tt.param != "" && tt.param != "-" && (!errors.As(err, &pe) || pe.Param != tt.param):
			t.Errorf("%d: %v, want a *payment.Error on %s", tt.status, err, tt.param)
		}
		if err != nil && (strings.Contains(err.Error(), testAPIKey) || strings.Contains(err.Error(), testHMACKey)) {
			t.Errorf("error holds a secret: %v", err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	err = New(Options{}).CheckCredentials(context.Background(), config(closed))
	var pe *payment.Error
	if err == nil || errors.As(err, &pe) || strings.Contains(err.Error(), testAPIKey) {
		t.Errorf("refused connection: %v, want an error that is not a *payment.Error and holds no secret", err)
	}
	c := config(closed)
	c.Credentials[CredHMACKey] = "not-hex"
	if err := New(Options{}).CheckCredentials(context.Background(), c); !errors.As(err, &pe) || pe.Param != CredHMACKey {
		t.Errorf("bad HMAC key: %v", err)
	}
}

// TestCheckConfig: a non-hex HMAC key and a live gateway without its live
// URL prefix are refused when saved, naming the field and never quoting
// the key, instead of failing every notification or operation later.
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	const badKey = "zz-not-hex-secret-key"
	for _, tc := range []struct {
		name     string
		c        gateway.Config
		param    string // "" accepted
		code     string
		noSecret string
	}{
		{"hex key, sandbox", gateway.Config{Credentials: map[string]string{CredHMACKey: testHMACKey}, Sandbox: true}, "", "", ""},
		{"non-hex key", gateway.Config{Credentials: map[string]string{CredHMACKey: badKey}, Sandbox: true},
			"credentials." + CredHMACKey, payment.CodeParameterInvalid, badKey},
		{"odd-length key", gateway.Config{Credentials: map[string]string{CredHMACKey: "ABC"}, Sandbox: true},
			"credentials." + CredHMACKey, payment.CodeParameterInvalid, ""},
		{"credentials not changing", gateway.Config{Sandbox: true}, "", "", ""},
		{"live with prefix", gateway.Config{Settings: map[string]any{SettingLivePrefix: "1797a841fbb37ca7-AdyenDemo"}}, "", "", ""},
		{"live with base URL", gateway.Config{Settings: map[string]any{SettingBaseURL: "https://adyen.internal"}}, "", "", ""},
		{"live without prefix", gateway.Config{Settings: map[string]any{}},
			"settings." + SettingLivePrefix, payment.CodeParameterMissing, ""},
		{"live with a URL as prefix", gateway.Config{Settings: map[string]any{SettingLivePrefix: "evil.example.com/x?"}},
			"settings." + SettingLivePrefix, payment.CodeParameterInvalid, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := New(Options{}).CheckConfig(tc.c)
			if tc.param == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var pe *payment.Error
			if !errors.As(err, &pe) || pe.Kind != payment.KindInvalid || pe.Param != tc.param || pe.Code != tc.code ||
				!strings.Contains(pe.Message, tc.param) {
				t.Fatalf("got %#v, want %s on %s", err, tc.code, tc.param)
			}
			if tc.noSecret != "" && strings.Contains(pe.Error()+pe.Message, tc.noSecret) {
				t.Errorf("the refusal quotes the key: %v", pe)
			}
		})
	}
}

func TestSpec(t *testing.T) {
	t.Parallel()
	s := New(Options{}).Spec()
	if s.Type != "adyen" || !s.Notifications || s.Supports(payment.OpVerify) || !s.Supports(payment.OpRefund) {
		t.Errorf("spec %+v", s)
	}
	sensitive := map[string]bool{}
	for _, f := range s.CredentialFields {
		sensitive[f.Name] = f.Sensitive
		if !f.Required {
			t.Errorf("credential %s is not required", f.Name)
		}
	}
	if !sensitive[CredAPIKey] || !sensitive[CredHMACKey] || sensitive[CredMerchantAccount] {
		t.Errorf("sensitivity %v", sensitive)
	}
}
