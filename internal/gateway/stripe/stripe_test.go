package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// Recorded Stripe answers, in the shapes of the API reference
// (docs.stripe.com/api) at APIVersion, trimmed to the fields that matter.

const pmCreated = `{"id":"pm_1QkassaTestPM","object":"payment_method","type":"card",
 "card":{"brand":"visa","checks":{"address_line1_check":null,"address_postal_code_check":null,"cvc_check":null},
  "country":"US","exp_month":12,"exp_year":2034,"funding":"credit","last4":"4242"},
 "billing_details":{"name":"Jane Payer"},"livemode":false,"metadata":{}}`

// piWith is a PaymentIntent with latest_charge expanded.
func piWith(status, captureMethod string) string {
	return `{"id":"pi_3QkassaTestPI","object":"payment_intent","amount":1999,"amount_capturable":` +
		map[bool]string{true: "1999", false: "0"}[status == "requires_capture"] +
		`,"amount_received":` + map[bool]string{true: "1999", false: "0"}[status == "succeeded"] +
		`,"capture_method":"` + captureMethod + `","client_secret":"pi_3QkassaTestPI_secret_abc","confirmation_method":"automatic",
 "created":1763780000,"currency":"usd","livemode":false,"metadata":{"kassa_operation":"op_1"},
 "payment_method":"pm_1QkassaTestPM","payment_method_types":["card"],"status":"` + status + `",
 "latest_charge":{"id":"ch_3QkassaTestCH","object":"charge","amount":1999,"captured":` +
		map[bool]string{true: "true", false: "false"}[status == "succeeded"] + `,"paid":true,"status":"succeeded",
  "outcome":{"network_status":"approved_by_network","reason":null,"risk_level":"normal","seller_message":"Payment complete.","type":"authorized"},
  "payment_method_details":{"type":"card","card":{"brand":"visa","last4":"4242","exp_month":12,"exp_year":2034,
   "checks":{"address_line1_check":"pass","address_postal_code_check":"pass","cvc_check":"pass"},
   "network":"visa","network_transaction_id":"585010041234567"}}}}`
}

const piRequiresAction = `{"id":"pi_3QkassaTestPI","object":"payment_intent","amount":1999,"currency":"usd",
 "status":"requires_action","next_action":{"type":"use_stripe_sdk","use_stripe_sdk":{}},"latest_charge":null,
 "metadata":{"kassa_operation":"op_1"}}`

// cardError is a 402 body: type card_error, the PaymentIntent it left in
// requires_payment_method.
func cardError(code, declineCode, message string) string {
	dc := ""
	if declineCode != "" {
		dc = `"decline_code":"` + declineCode + `",`
	}
	return `{"error":{"charge":"ch_3QkassaTestCH","code":"` + code + `",` + dc +
		`"doc_url":"https://stripe.com/docs/error-codes/` + strings.ReplaceAll(code, "_", "-") + `",
 "message":"` + message + `","payment_intent":{"id":"pi_3QkassaDeclined","object":"payment_intent","amount":1999,
 "currency":"usd","status":"requires_payment_method","latest_charge":"ch_3QkassaTestCH",
 "last_payment_error":{"code":"` + code + `",` + dc + `"message":"` + message + `","type":"card_error"}},
 "request_log_url":"https://dashboard.stripe.com/test/logs/req_x","type":"card_error"}}`
}

const invalidRequest = `{"error":{"code":"parameter_invalid_integer","doc_url":"https://stripe.com/docs/error-codes/parameter-invalid-integer",
 "message":"Invalid integer: abc","param":"amount","request_log_url":"https://dashboard.stripe.com/test/logs/req_x","type":"invalid_request_error"}}`

const idempotencyError = `{"error":{"message":"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'op_1' if you meant to execute a different request.","type":"idempotency_error"}}`

const unauthorized = `{"error":{"message":"Invalid API Key provided: ` + testKey + `","type":"invalid_request_error"}}`

const rateLimited = `{"error":{"code":"rate_limit","message":"Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.","type":"invalid_request_error"}}`

const apiError500 = `{"error":{"message":"An unknown error occurred","type":"api_error"}}`

const refundSucceeded = `{"id":"re_3QkassaTestRE","object":"refund","amount":500,"charge":"ch_3QkassaTestCH","currency":"usd",
 "metadata":{"kassa_operation":"op_1"},"payment_intent":"pi_3QkassaTestPI","reason":null,"status":"succeeded"}`

const setupSucceeded = `{"id":"seti_1QkassaTestSI","object":"setup_intent","status":"succeeded","usage":"off_session",
 "payment_method":"pm_1QkassaTestPM","metadata":{"kassa_operation":"op_1"},
 "latest_attempt":{"id":"setatt_1QkassaTest","object":"setup_attempt","status":"succeeded",
  "payment_method_details":{"type":"card","card":{"brand":"visa","checks":{"address_line1_check":"pass","address_postal_code_check":"fail","cvc_check":"pass"}}}}}`

// reply is one canned answer; a nil reply is 200 with the default object.
type reply struct {
	status int
	body   string
	// hang: read the request, then answer nothing until the client gives
	// up.
	hang bool
}

// fake is a Stripe stand-in: canned replies by "METHOD path", every request
// recorded.
type fake struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	replies map[string]reply
	reqs    []recorded
}

type recorded struct {
	method, path string
	header       http.Header
	form         url.Values
	query        url.Values
}

func newFake(t *testing.T, replies map[string]reply) *fake {
	f := &fake{t: t, replies: replies}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

var defaults = map[string]reply{
	"POST /v1/payment_methods":                    {200, pmCreated, false},
	"POST /v1/payment_intents":                    {200, piWith("succeeded", "automatic"), false},
	"POST /v1/payment_intents/pi_prior/capture":   {200, piWith("succeeded", "manual"), false},
	"POST /v1/payment_intents/pi_prior/cancel":    {200, `{"id":"pi_prior","object":"payment_intent","status":"canceled"}`, false},
	"POST /v1/refunds":                            {200, refundSucceeded, false},
	"POST /v1/setup_intents":                      {200, setupSucceeded, false},
	"GET /v1/payment_intents":                     {200, `{"object":"list","data":[],"has_more":false,"url":"/v1/payment_intents"}`, false},
	"GET /v1/payment_intents/search":              {200, `{"object":"search_result","data":[],"has_more":false,"next_page":null,"url":"/v1/payment_intents/search"}`, false},
	"GET /v1/refunds":                             {200, `{"object":"list","data":[],"has_more":false,"url":"/v1/refunds"}`, false},
	"GET /v1/payment_intents/pi_prior":            {200, `{"id":"pi_prior","object":"payment_intent","status":"requires_capture","metadata":{}}`, false},
	"POST /v1/payment_intents/pi_missing/capture": {404, `{"error":{"code":"resource_missing","message":"No such payment_intent: 'pi_missing'","param":"intent","type":"invalid_request_error"}}`, false},
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{r.Method, r.URL.Path, r.Header.Clone(), form, r.URL.Query()})
	key := r.Method + " " + r.URL.Path
	rep, ok := f.replies[key]
	f.mu.Unlock()
	if !ok {
		rep, ok = defaults[key]
	}
	if !ok {
		rep = reply{404, `{"error":{"code":"resource_missing","message":"Unrecognized request URL","type":"invalid_request_error"}}`, false}
	}
	if rep.hang {
		<-r.Context().Done()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_test")
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

func (f *fake) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func config(base string) gateway.Config {
	return gateway.Config{GatewayID: "gw_test", Sandbox: true,
		Credentials: map[string]string{"secret_key": testKey},
		Settings:    map[string]any{"base_url": base}}
}

func newAdapter() *Adapter {
	return New(Options{HTTP: gateway.HTTPOptions{Timeout: 10 * time.Second}})
}

// callContext bounds a call to a fake that hangs; others get time enough
// for a loaded machine.
func callContext(t *testing.T, replies map[string]reply) context.Context {
	ctx := context.Background()
	for _, r := range replies {
		if r.hang {
			c, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			t.Cleanup(cancel)
			return c
		}
	}
	return ctx
}

func request(base string, kind payment.OperationKind) *gateway.Request {
	r := &gateway.Request{Config: config(base), Kind: kind, Reference: "op_1", Amount: 1999, Currency: "USD",
		Description: "Order 42"}
	switch kind {
	case payment.OpAuthorize, payment.OpPurchase, payment.OpVerify:
		r.Card = testCard()
	default:
		r.PriorReference = "pi_prior"
	}
	if kind == payment.OpVoid {
		r.Amount = 0
	}
	return r
}

func TestOutcomes(t *testing.T) {
	t.Parallel()
	type want struct {
		outcome payment.Outcome
		code    string
		ref     string
		avs     string
		cvv     string
		ntid    string
	}
	cases := []struct {
		name    string
		kind    payment.OperationKind
		replies map[string]reply
		want    want
	}{
		{"purchase approved", payment.OpPurchase, nil,
			want{payment.OutcomeSucceeded, "", "pi_3QkassaTestPI", "Y", "M", "585010041234567"}},
		{"authorize approved", payment.OpAuthorize,
			map[string]reply{"POST /v1/payment_intents": {200, piWith("requires_capture", "manual"), false}},
			want{payment.OutcomeSucceeded, "", "pi_3QkassaTestPI", "Y", "M", "585010041234567"}},
		{"generic decline", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_intents": {402, cardError("card_declined", "generic_decline", "Your card was declined."), false}},
			want{outcome: payment.OutcomeDeclined, code: DeclineCardDeclined, ref: "pi_3QkassaDeclined"}},
		{"insufficient funds", payment.OpAuthorize,
			map[string]reply{"POST /v1/payment_intents": {402, cardError("card_declined", "insufficient_funds", "Your card has insufficient funds."), false}},
			want{outcome: payment.OutcomeDeclined, code: DeclineInsufficientFunds, ref: "pi_3QkassaDeclined"}},
		{"lost card", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_intents": {402, cardError("card_declined", "lost_card", "Your card was declined."), false}},
			want{outcome: payment.OutcomeDeclined, code: DeclineLostCard, ref: "pi_3QkassaDeclined"}},
		{"stolen card", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_intents": {402, cardError("card_declined", "stolen_card", "Your card was declined."), false}},
			want{outcome: payment.OutcomeDeclined, code: DeclineStolenCard, ref: "pi_3QkassaDeclined"}},
		{"do not honor", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_intents": {402, cardError("card_declined", "do_not_honor", "Your card was declined."), false}},
			want{outcome: payment.OutcomeDeclined, code: DeclineDoNotHonor, ref: "pi_3QkassaDeclined"}},
		{"fraudulent is told as card_declined", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_intents": {402, cardError("card_declined", "fraudulent", "Your card was declined."), false}},
			want{outcome: payment.OutcomeDeclined, code: DeclineCardDeclined, ref: "pi_3QkassaDeclined"}},
		{"expired card", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_intents": {402, cardError("expired_card", "expired_card", "Your card has expired."), false}},
			want{outcome: payment.OutcomeDeclined, code: DeclineExpiredCard, ref: "pi_3QkassaDeclined"}},
		{"incorrect cvc", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_intents": {402, cardError("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."), false}},
			want{outcome: payment.OutcomeDeclined, code: payment.CodeInvalidCVC, ref: "pi_3QkassaDeclined"}},
		{"processing error", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_intents": {402, cardError("processing_error", "", "An error occurred while processing your card. Try again in a little bit."), false}},
			want{outcome: payment.OutcomeDeclined, code: CodeProcessingError, ref: "pi_3QkassaDeclined"}},
		{"authentication required (requires_action)", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_intents": {200, piRequiresAction, false}},
			want{outcome: payment.OutcomeDeclined, code: DeclineAuthenticationRequired, ref: "pi_3QkassaTestPI"}},
		{"authentication required (decline code)", payment.OpAuthorize,
			map[string]reply{"POST /v1/payment_intents": {402, cardError("card_declined", "authentication_required", "Your card was declined. This transaction requires authentication."), false}},
			want{outcome: payment.OutcomeDeclined, code: DeclineAuthenticationRequired, ref: "pi_3QkassaDeclined"}},
		{"decline with an unexpanded payment_intent", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_intents": {402, `{"error":{"code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds.","payment_intent":"pi_3QkassaDeclined","type":"card_error"}}`, false}},
			want{outcome: payment.OutcomeDeclined, code: DeclineInsufficientFunds, ref: "pi_3QkassaDeclined"}},
		{"incorrect number at the PaymentMethod", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_methods": {402, `{"error":{"code":"incorrect_number","doc_url":"https://stripe.com/docs/error-codes/incorrect-number","message":"Your card number is incorrect.","param":"number","type":"card_error"}}`, false}},
			want{outcome: payment.OutcomeFailed, code: payment.CodeInvalidNumber}},
		{"invalid request", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_intents": {400, invalidRequest, false}},
			want{outcome: payment.OutcomeFailed, code: "invalid_amount"}},
		{"idempotency error", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_intents": {400, idempotencyError, false}},
			want{outcome: payment.OutcomeFailed, code: payment.CodeIdempotencyMismatch}},
		{"401", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_methods": {401, unauthorized, false}},
			want{outcome: payment.OutcomeFailed, code: CodeInvalidCredentials}},
		{"429", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_intents": {429, rateLimited, false}},
			want{outcome: payment.OutcomeNotSent}},
		{"409 idempotent request in flight", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_intents": {409, `{"error":{"message":"There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): op_1. Please try again later.","type":"idempotency_error"}}`, false}},
			want{outcome: payment.OutcomeUnknown}},
		{"500 on the PaymentIntent", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_intents": {500, apiError500, false}},
			want{outcome: payment.OutcomeUnknown}},
		{"500 on the PaymentMethod: nothing charged", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_methods": {500, apiError500, false}},
			want{outcome: payment.OutcomeNotSent}},
		{"timeout after the PaymentIntent was read", payment.OpAuthorize,
			map[string]reply{"POST /v1/payment_intents": {hang: true}},
			want{outcome: payment.OutcomeUnknown}},
		{"timeout on the PaymentMethod: nothing charged", payment.OpAuthorize,
			map[string]reply{"POST /v1/payment_methods": {hang: true}},
			want{outcome: payment.OutcomeNotSent}},
		{"malformed body on the PaymentIntent", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_intents": {200, `{"id":"pi_3Qkassa","object":"payment_in`, false}},
			want{outcome: payment.OutcomeUnknown}},
		{"malformed 500", payment.OpPurchase,
			map[string]reply{"POST /v1/payment_intents": {502, `<html>Bad gateway</html>`, false}},
			want{outcome: payment.OutcomeUnknown}},
		{"capture", payment.OpCapture, nil,
			want{payment.OutcomeSucceeded, "", "pi_3QkassaTestPI", "Y", "M", "585010041234567"}},
		{"capture of an unknown PaymentIntent", payment.OpCapture,
			map[string]reply{"POST /v1/payment_intents/pi_prior/capture": {404, `{"error":{"code":"resource_missing","message":"No such payment_intent: 'pi_prior'","param":"intent","type":"invalid_request_error"}}`, false}},
			want{outcome: payment.OutcomeFailed, code: CodeInvalidReference}},
		{"capture in the wrong state", payment.OpCapture,
			map[string]reply{"POST /v1/payment_intents/pi_prior/capture": {400, `{"error":{"code":"payment_intent_unexpected_state","message":"This PaymentIntent could not be captured because it has a status of canceled. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.","type":"invalid_request_error"}}`, false}},
			want{outcome: payment.OutcomeFailed, code: CodeInvalidState}},
		{"capture malformed", payment.OpCapture,
			map[string]reply{"POST /v1/payment_intents/pi_prior/capture": {200, `not json`, false}},
			want{outcome: payment.OutcomeUnknown}},
		{"capture 500", payment.OpCapture,
			map[string]reply{"POST /v1/payment_intents/pi_prior/capture": {500, apiError500, false}},
			want{outcome: payment.OutcomeUnknown}},
		{"void", payment.OpVoid, nil, want{outcome: payment.OutcomeSucceeded, ref: "pi_prior"}},
		{"refund", payment.OpRefund, nil, want{outcome: payment.OutcomeSucceeded, ref: "re_3QkassaTestRE"}},
		{"refund pending", payment.OpRefund,
			map[string]reply{"POST /v1/refunds": {200, strings.Replace(refundSucceeded, `"succeeded"`, `"pending"`, 1), false}},
			want{outcome: payment.OutcomeUnknown, ref: "re_3QkassaTestRE"}},
		{"refund failed", payment.OpRefund,
			map[string]reply{"POST /v1/refunds": {200, strings.Replace(refundSucceeded, `"succeeded"`, `"failed","failure_reason":"expired_or_canceled_card"`, 1), false}},
			want{outcome: payment.OutcomeFailed, code: CodeRefundFailed, ref: "re_3QkassaTestRE"}},
		{"refund over the charge", payment.OpRefund,
			map[string]reply{"POST /v1/refunds": {400, `{"error":{"code":"amount_too_large","message":"Refund amount ($50.00) is greater than unrefunded amount on charge ($19.99)","param":"amount","type":"invalid_request_error"}}`, false}},
			want{outcome: payment.OutcomeFailed, code: "invalid_amount"}},
		{"verify", payment.OpVerify, nil,
			want{outcome: payment.OutcomeSucceeded, ref: "seti_1QkassaTestSI", avs: "A", cvv: "M"}},
		{"verify declined", payment.OpVerify,
			map[string]reply{"POST /v1/setup_intents": {402, `{"error":{"code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds.","type":"card_error","setup_intent":{"id":"seti_1Q","status":"requires_payment_method"}}}`, false}},
			want{outcome: payment.OutcomeDeclined, code: DeclineInsufficientFunds}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tc.replies)
			res, err := gateway.Call(callContext(t, tc.replies), newAdapter(), request(f.srv.URL, tc.kind))
			if err != nil {
				t.Fatal(err)
			}
			got := want{res.Outcome, res.DeclineCode, res.GatewayReference, res.AVSCode, res.CVVCode, res.NetworkTransactionID}
			if tc.want.ref == "" {
				got.ref = ""
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v\n(message %q)", got, tc.want, res.Message)
			}
			if res.Transcript == nil || len(res.Transcript.Exchanges) == 0 {
				t.Errorf("no transcript")
			}
		})
	}
}

func TestConnectionRefusedIsNotSent(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	l.Close()
	for _, kind := range []payment.OperationKind{payment.OpPurchase, payment.OpCapture, payment.OpRefund, payment.OpVoid} {
		res, err := gateway.Call(context.Background(), newAdapter(), request(base, kind))
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != payment.OutcomeNotSent {
			t.Errorf("%s: outcome %s, want not_sent (%s)", kind, res.Outcome, res.Message)
		}
	}
}

// TestRequests checks what goes over the wire: the Idempotency-Key on every
// POST, the headers, and the form of each call.
func TestRequests(t *testing.T) {
	t.Parallel()
	f := newFake(t, nil)
	a := newAdapter()
	ctx := context.Background()
	for _, kind := range []payment.OperationKind{payment.OpAuthorize, payment.OpPurchase, payment.OpCapture,
		payment.OpVoid, payment.OpRefund, payment.OpVerify} {
		r := request(f.srv.URL, kind)
		r.Reference = "op_" + string(kind)
		r.PaymentReference = "order-42"
		r.GatewaySpecificFields = map[string]any{"statement_descriptor_suffix": "ORDER42", "receipt_email": "a@example.com",
			"unknown_field": "dropped"}
		if _, err := gateway.Call(ctx, a, r); err != nil {
			t.Fatal(err)
		}
	}
	posts := 0
	for _, rq := range f.requests() {
		if got := rq.header.Get("Authorization"); got != "Bearer "+testKey {
			t.Errorf("%s %s: Authorization %q", rq.method, rq.path, got)
		}
		if got := rq.header.Get("Stripe-Version"); got != APIVersion {
			t.Errorf("%s %s: Stripe-Version %q", rq.method, rq.path, got)
		}
		if rq.method != http.MethodPost {
			continue
		}
		posts++
		if ct := rq.header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("%s: Content-Type %q", rq.path, ct)
		}
		key := rq.header.Get("Idempotency-Key")
		op := ""
		switch rq.path {
		case "/v1/payment_methods":
			op = strings.TrimSuffix(key, "-pm")
			if !strings.HasSuffix(key, "-pm") {
				t.Errorf("PaymentMethod Idempotency-Key %q, want <op>-pm", key)
			}
			if rq.form.Get("metadata[kassa_operation]") != op {
				t.Errorf("PaymentMethod metadata %v", rq.form)
			}
		case "/v1/payment_intents/pi_prior/capture":
			op = rq.form.Get("metadata[kassa_capture]")
		case "/v1/payment_intents/pi_prior/cancel":
			op = "op_void"
		default:
			op = rq.form.Get("metadata[kassa_operation]")
		}
		if op == "" || key != op && key != op+"-pm" {
			t.Errorf("%s: Idempotency-Key %q, operation %q", rq.path, key, op)
		}
	}
	// A PaymentMethod and an intent each for authorize, purchase and
	// verify; capture, cancel and refund one each.
	if posts != 9 {
		t.Errorf("%d POSTs, want 9", posts)
	}

	byKey := map[string]url.Values{}
	for _, rq := range f.requests() {
		if rq.method == http.MethodPost {
			byKey[rq.path+" "+rq.header.Get("Idempotency-Key")] = rq.form
		}
	}
	check := func(name string, got url.Values, want map[string]string, absent ...string) {
		t.Helper()
		for k, v := range want {
			if got.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q (form %v)", name, k, got.Get(k), v, got)
			}
		}
		for _, k := range absent {
			if got.Has(k) {
				t.Errorf("%s: %s sent", name, k)
			}
		}
	}
	check("authorize PaymentIntent", byKey["/v1/payment_intents op_authorize"], map[string]string{
		"amount": "1999", "currency": "usd", "payment_method": "pm_1QkassaTestPM", "confirm": "true",
		"capture_method": "manual", "payment_method_types[]": "card", "metadata[kassa_operation]": "op_authorize",
		"metadata[kassa_payment_reference]": "order-42", "description": "Order 42",
		"statement_descriptor_suffix": "ORDER42", "receipt_email": "a@example.com", "expand[]": "latest_charge",
	}, "unknown_field")
	check("purchase PaymentIntent", byKey["/v1/payment_intents op_purchase"], map[string]string{
		"capture_method": "automatic", "confirm": "true"})
	check("PaymentMethod", byKey["/v1/payment_methods op_purchase-pm"], map[string]string{
		"type": "card", "card[number]": testPAN, "card[cvc]": testCVC, "card[exp_month]": "12", "card[exp_year]": "2034",
		"billing_details[name]": "Jane Payer", "billing_details[address][postal_code]": "12345",
		"billing_details[address][country]": "US", "billing_details[email]": "jane@example.com"})
	check("capture", byKey["/v1/payment_intents/pi_prior/capture op_capture"], map[string]string{
		"amount_to_capture": "1999"})
	check("cancel", byKey["/v1/payment_intents/pi_prior/cancel op_void"], map[string]string{
		"cancellation_reason": "requested_by_customer"})
	check("refund", byKey["/v1/refunds op_refund"], map[string]string{
		"payment_intent": "pi_prior", "amount": "1999", "metadata[kassa_operation]": "op_refund"})
	check("SetupIntent", byKey["/v1/setup_intents op_verify"], map[string]string{
		"confirm": "true", "usage": "off_session", "payment_method": "pm_1QkassaTestPM",
		"metadata[kassa_operation]": "op_verify"})
}

// TestNoSecrets runs operations whose answers quote the key and the card
// and checks that no card number, CVC or secret key reaches a transcript,
// a message or an error.
func TestNoSecrets(t *testing.T) {
	t.Parallel()
	echo := `{"error":{"message":"Invalid API Key provided: Bearer ` + testKey + ` for card ` + testPAN +
		` cvc ` + testCVC + `","type":"invalid_request_error"}}`
	scenarios := []map[string]reply{
		nil,
		{"POST /v1/payment_methods": {401, echo, false}},
		{"POST /v1/payment_intents": {401, echo, false}},
		{"POST /v1/payment_intents": {500, echo, false}},
		{"POST /v1/payment_intents": {402, strings.Replace(cardError("card_declined", "generic_decline", "x"), `"x"`, `"card `+testPAN+` `+testCVC+`"`, 1), false}},
		{"POST /v1/payment_intents": {hang: true}},
		{"POST /v1/payment_methods": {200, `{"id":"pm_1","card":{"number":"` + testPAN + `","cvc":"` + testCVC + `"}}`, false}},
	}
	var seen []string
	for i, sc := range scenarios {
		f := newFake(t, sc)
		a := newAdapter()
		for _, kind := range []payment.OperationKind{payment.OpAuthorize, payment.OpPurchase, payment.OpVerify,
			payment.OpCapture, payment.OpRefund, payment.OpVoid} {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			if sc == nil || !sc["POST /v1/payment_intents"].hang {
				cancel()
				ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
			}
			res, err := gateway.Call(ctx, a, request(f.srv.URL, kind))
			cancel()
			if err != nil {
				seen = append(seen, err.Error())
			}
			b, _ := json.Marshal(res)
			seen = append(seen, fmt.Sprintf("scenario %d %s: %s", i, kind, b))
			q, err := a.QueryStatus(context.Background(), request(f.srv.URL, kind))
			if err != nil {
				seen = append(seen, err.Error())
			}
			b, _ = json.Marshal(q)
			seen = append(seen, string(b))
		}
		cfg := config(f.srv.URL)
		if err := a.CheckCredentials(context.Background(), cfg); err != nil {
			seen = append(seen, err.Error())
		}
	}
	// A refused key of the wrong mode is named but not quoted.
	live := config("http://127.0.0.1:1")
	live.Credentials["secret_key"] = "sk_live_51KassaLiveSecret0123456789"
	if err := newAdapter().CheckCredentials(context.Background(), live); err != nil {
		seen = append(seen, err.Error())
	}
	all := strings.Join(seen, "\n")
	for _, secret := range []string{testPAN, "4242 4242 4242 4242", testKey, "sk_live_51KassaLiveSecret0123456789"} {
		if i := strings.Index(all, secret); i >= 0 {
			t.Errorf("%q leaked: …%s…", secret, all[max(0, i-200):min(len(all), i+100)])
		}
	}
	// The CVC as a value of its own: its digits inside a longer number (a
	// timestamp's nanoseconds) are not it.
	if loc := regexp.MustCompile(`(^|\D)` + testCVC + `(\D|$)`).FindStringIndex(all); loc != nil {
		t.Errorf("the CVC leaked: …%s…", all[max(0, loc[0]-200):min(len(all), loc[1]+100)])
	}
	if !strings.Contains(all, gateway.Filtered) {
		t.Errorf("nothing was filtered: the test did not exercise the scrubber")
	}
}

func TestQueryStatus(t *testing.T) {
	t.Parallel()
	found := `{"object":"list","has_more":false,"data":[` + strings.Replace(piWith("succeeded", "automatic"), `"op_1"`, `"op_q"`, 1) + `]}`
	foundSearch := `{"object":"search_result","has_more":false,"next_page":null,"data":[` + strings.Replace(piWith("requires_capture", "manual"), `"op_1"`, `"op_q"`, 1) + `]}`
	declined := `{"object":"list","has_more":false,"data":[{"id":"pi_d","object":"payment_intent","status":"requires_payment_method",
	 "metadata":{"kassa_operation":"op_q"},"last_payment_error":{"code":"card_declined","decline_code":"lost_card","type":"card_error","message":"Your card was declined."}}]}`
	moreRecent := `{"object":"list","has_more":true,"data":[{"id":"pi_other","object":"payment_intent","status":"succeeded","metadata":{}}]}`
	refunds := `{"object":"list","has_more":false,"data":[` + strings.Replace(refundSucceeded, `"op_1"`, `"op_q"`, 1) + `]}`
	cases := []struct {
		name     string
		kind     payment.OperationKind
		replies  map[string]reply
		outcome  payment.Outcome
		code     string
		notFound bool
	}{
		{"purchase found in the recent list", payment.OpPurchase,
			map[string]reply{"GET /v1/payment_intents": {200, found, false}}, payment.OutcomeSucceeded, "", false},
		{"authorize found by search", payment.OpAuthorize,
			map[string]reply{"GET /v1/payment_intents/search": {200, foundSearch, false}}, payment.OutcomeSucceeded, "", false},
		{"declined purchase", payment.OpPurchase,
			map[string]reply{"GET /v1/payment_intents": {200, declined, false}}, payment.OutcomeDeclined, DeclineLostCard, false},
		{"never seen", payment.OpPurchase, nil, "", "", true},
		{"too many recent to be sure", payment.OpPurchase,
			map[string]reply{"GET /v1/payment_intents": {200, moreRecent, false}}, payment.OutcomeUnknown, "", false},
		{"list fails", payment.OpPurchase,
			map[string]reply{"GET /v1/payment_intents": {500, apiError500, false}}, payment.OutcomeUnknown, "", false},
		{"list unreadable", payment.OpPurchase,
			map[string]reply{"GET /v1/payment_intents": {200, `{`, false}}, payment.OutcomeUnknown, "", false},
		{"capture done", payment.OpCapture,
			map[string]reply{"GET /v1/payment_intents/pi_prior": {200, `{"id":"pi_prior","status":"succeeded","metadata":{"kassa_capture":"op_q"}}`, false}},
			payment.OutcomeSucceeded, "", false},
		{"captured by someone else", payment.OpCapture,
			map[string]reply{"GET /v1/payment_intents/pi_prior": {200, `{"id":"pi_prior","status":"succeeded","metadata":{}}`, false}},
			payment.OutcomeUnknown, "", false},
		{"capture not done", payment.OpCapture, nil, "", "", true},
		{"void done", payment.OpVoid,
			map[string]reply{"GET /v1/payment_intents/pi_prior": {200, `{"id":"pi_prior","status":"canceled","metadata":{}}`, false}},
			payment.OutcomeSucceeded, "", false},
		{"void not done", payment.OpVoid, nil, "", "", true},
		{"refund found", payment.OpRefund,
			map[string]reply{"GET /v1/refunds": {200, refunds, false}}, payment.OutcomeSucceeded, "", false},
		{"refund not found", payment.OpRefund, nil, "", "", true},
		{"verify cannot be asked", payment.OpVerify, nil, payment.OutcomeUnknown, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tc.replies)
			r := request(f.srv.URL, tc.kind)
			r.Reference = "op_q"
			res, err := newAdapter().QueryStatus(context.Background(), r)
			if tc.notFound {
				if !errors.Is(err, gateway.ErrReferenceNotFound) {
					t.Fatalf("want ErrReferenceNotFound, got %v %+v", err, res)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tc.outcome || res.DeclineCode != tc.code {
				t.Errorf("got %s %q, want %s %q (%s)", res.Outcome, res.DeclineCode, tc.outcome, tc.code, res.Message)
			}
		})
	}
	t.Run("search query", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, nil)
		r := request(f.srv.URL, payment.OpPurchase)
		r.Reference = "op_it's"
		_, _ = newAdapter().QueryStatus(context.Background(), r)
		for _, rq := range f.requests() {
			if rq.path == "/v1/payment_intents/search" {
				if q := rq.query.Get("query"); q != `metadata['kassa_operation']:'op_it\'s'` {
					t.Errorf("search query %q", q)
				}
				return
			}
		}
		t.Error("no search")
	})
}

func TestKeyMode(t *testing.T) {
	t.Parallel()
	f := newFake(t, nil)
	ctx := context.Background()
	a := newAdapter()
	for _, tc := range []struct {
		key     string
		sandbox bool
		ok      bool
	}{
		{"sk_test_abc", true, true},
		{"rk_test_abc", true, true},
		{"sk_live_abc", false, true},
		{"sk_live_abc", true, false},
		{"sk_test_abc", false, false},
		{"pk_test_abc", true, false},
		{"", true, false},
	} {
		cfg := config(f.srv.URL)
		cfg.Sandbox = tc.sandbox
		cfg.Credentials["secret_key"] = tc.key
		err := a.CheckCredentials(ctx, cfg)
		if tc.ok != (err == nil) {
			t.Errorf("%q sandbox=%v: %v", tc.key, tc.sandbox, err)
		}
		if perr, ok := payment.AsError(err); err != nil && (!ok || perr.Param != "secret_key") {
			t.Errorf("%q: want a *payment.Error on secret_key, got %v", tc.key, err)
		}
		r := request(f.srv.URL, payment.OpPurchase)
		r.Config = cfg
		before := len(f.requests())
		res, err := a.Purchase(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if !tc.ok && (res.Outcome != payment.OutcomeFailed || res.DeclineCode != CodeInvalidCredentials || len(f.requests()) != before) {
			t.Errorf("%q sandbox=%v: purchase %+v, %d requests sent", tc.key, tc.sandbox, res, len(f.requests())-before)
		}
	}
	// Stripe refusing the key.
	f401 := newFake(t, map[string]reply{"GET /v1/payment_intents": {401, unauthorized, false}})
	err := a.CheckCredentials(ctx, config(f401.srv.URL))
	if perr, ok := payment.AsError(err); !ok || perr.Kind != payment.KindInvalid || perr.Param != "secret_key" {
		t.Fatalf("401: %v", err)
	}
	// Stripe down: cannot tell, not a *payment.Error.
	f500 := newFake(t, map[string]reply{"GET /v1/payment_intents": {500, apiError500, false}})
	err = a.CheckCredentials(ctx, config(f500.srv.URL))
	if _, ok := payment.AsError(err); err == nil || ok {
		t.Fatalf("500: %v", err)
	}
}

func TestSpec(t *testing.T) {
	s := newAdapter().Spec()
	if s.Type != Type || len(s.CredentialFields) != 1 || !s.CredentialFields[0].Sensitive || !s.CredentialFields[0].Required {
		t.Fatalf("spec %+v", s)
	}
	for _, k := range []payment.OperationKind{payment.OpAuthorize, payment.OpPurchase, payment.OpCapture,
		payment.OpVoid, payment.OpRefund, payment.OpVerify} {
		if !s.Supports(k) {
			t.Errorf("spec lacks %s", k)
		}
	}
}

// ISK has no minor unit in ISO 4217 (kassa) but is two-decimal at Stripe.
func TestISKAmounts(t *testing.T) {
	t.Parallel()
	f := newFake(t, nil)
	a := newAdapter()
	for _, kind := range []payment.OperationKind{payment.OpPurchase, payment.OpCapture, payment.OpRefund} {
		r := request(f.srv.URL, kind)
		r.Amount, r.Currency, r.Reference = 4000, "ISK", "op_isk_"+string(kind)
		if _, err := gateway.Call(context.Background(), a, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, rq := range f.requests() {
		for _, k := range []string{"amount", "amount_to_capture"} {
			if v := rq.form.Get(k); v != "" && v != "400000" {
				t.Errorf("%s %s = %s, want 400000", rq.path, k, v)
			}
		}
	}
}

// FuzzAnswers feeds arbitrary bodies to the answer parsers: they never
// panic, and every outcome is one an operation may end with.
func FuzzAnswers(f *testing.F) {
	for _, b := range []string{pmCreated, piWith("succeeded", "automatic"), piRequiresAction,
		cardError("card_declined", "lost_card", "x"), invalidRequest, idempotencyError, refundSucceeded,
		setupSucceeded, `{"error":{"payment_intent":"pi_1","decline_code":"insufficient_funds"}}`, `{`, ``} {
		f.Add(402, b)
		f.Add(200, b)
	}
	valid := map[payment.Outcome]bool{payment.OutcomeSucceeded: true, payment.OutcomeDeclined: true,
		payment.OutcomeFailed: true, payment.OutcomeNotSent: true, payment.OutcomeUnknown: true}
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 100 || status > 599 {
			status = 500
		}
		outs := []gateway.Result{errorResult(status, []byte(body), true), errorResult(status, []byte(body), false)}
		if pi, ok := decode[paymentIntent]([]byte(body)); ok {
			outs = append(outs, pi.result())
		}
		if si, ok := decode[setupIntent]([]byte(body)); ok {
			outs = append(outs, si.result())
		}
		if rf, ok := decode[refund]([]byte(body)); ok {
			outs = append(outs, rf.result())
		}
		for _, o := range outs {
			if !valid[o.Outcome] {
				t.Fatalf("outcome %q from %d %q", o.Outcome, status, body)
			}
		}
	})
}

// The consistent list covers the last two hours by Stripe's created time,
// page by page.
func TestQueryListsRecentWindow(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_763_780_000, 0)
	page1 := `{"object":"list","has_more":true,"data":[{"id":"pi_a","status":"succeeded","metadata":{}}]}`
	f := newFake(t, map[string]reply{"GET /v1/payment_intents": {200, page1, false}})
	a := New(Options{HTTP: gateway.HTTPOptions{Timeout: 10 * time.Second}, Now: func() time.Time { return now }})
	res, err := a.QueryStatus(context.Background(), request(f.srv.URL, payment.OpPurchase))
	if err != nil || res.Outcome != payment.OutcomeUnknown {
		t.Fatalf("got %+v %v, want unknown (the list never ended)", res, err)
	}
	lists := 0
	for _, rq := range f.requests() {
		if rq.path != "/v1/payment_intents" {
			continue
		}
		lists++
		if got := rq.query.Get("created[gte]"); got != "1763772800" {
			t.Errorf("created[gte] = %s", got)
		}
		if lists > 1 && rq.query.Get("starting_after") != "pi_a" {
			t.Errorf("page %d: starting_after %q", lists, rq.query.Get("starting_after"))
		}
	}
	if lists != listPages {
		t.Errorf("%d list pages read, want %d", lists, listPages)
	}
}
