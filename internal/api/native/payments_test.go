package native

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// Simulator cards (see docs/simulator.md).
const (
	declinePAN = "4000000000009995" // declined, insufficient_funds
)

func paymentBody(pm, gw string, amount int, capture bool) string {
	return fmt.Sprintf(`{"amount":%d,"currency":"EUR","payment_method":%q,"gateway":%q,"capture":%t,"reference":"order-17",`+
		`"description":"Two bikes","metadata":{"cart":"c-9"}}`, amount, pm, gw, capture)
}

// createPayment makes a payment and returns it; it must be created.
func (f *fixture) createPayment(t *testing.T, key, body string) map[string]any {
	t.Helper()
	res := f.post(t, "/v1/payments", key, body)
	if res.status != http.StatusCreated {
		t.Fatalf("create payment: %d %s", res.status, res.body)
	}
	return res.json(t)
}

// wantPayment checks a payment response's status and amounts.
func wantPayment(t *testing.T, res response, status int, payStatus string, authorized, captured, refunded float64) map[string]any {
	t.Helper()
	if res.status != status {
		t.Fatalf("status %d, want %d: %s", res.status, status, res.body)
	}
	p := res.json(t)
	if p["status"] != payStatus || p["amount_authorized"] != authorized || p["amount_captured"] != captured || p["amount_refunded"] != refunded {
		t.Fatalf("payment %s, want %s %v/%v/%v", res.body, payStatus, authorized, captured, refunded)
	}
	return p
}

func operations(p map[string]any) []map[string]any {
	var out []map[string]any
	for _, o := range p["operations"].([]any) {
		out = append(out, o.(map[string]any))
	}
	return out
}

var operationKeys = []string{"id", "object", "kind", "amount", "currency", "outcome", "decline_code", "gateway_reference",
	"response_code", "message", "avs_code", "cvv_code", "network_transaction_id", "gateway", "credential_version",
	"payment_method", "payment", "created_at", "updated_at"}

func TestPurchase(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw, pm := f.createGateway(t, a.SecretKey), f.createPM(t, a.SecretKey)

	body := `{"amount":2500,"currency":"EUR","payment_method":"` + pm + `","gateway":"` + gw + `","reference":"order-17",` +
		`"description":"Two bikes","metadata":{"cart":"c-9"},"stored_credential":{"initiator":"cardholder","reason":"one_time"},` +
		`"gateway_specific_fields":{"simulate_decline":false}}`
	res := f.post(t, "/v1/payments", a.SecretKey, body)
	p := wantPayment(t, res, 201, "CAPTURED", 2500, 2500, 0)
	want := []string{"id", "object", "status", "amount", "currency", "amount_authorized", "amount_captured", "amount_refunded",
		"capture", "gateway", "credential_version", "router", "routing_trace", "payment_method", "customer", "reference", "description", "metadata", "stored_credential",
		"requires_review", "test", "operations", "created_at", "updated_at"}
	if got := keysOf(p); !sameSet(got, want) {
		t.Errorf("payment keys %v, want %v", got, want)
	}
	id := p["id"].(string)
	if !strings.HasPrefix(id, "pay_") || p["object"] != "payment" || p["amount"] != 2500.0 || p["currency"] != "EUR" ||
		p["capture"] != true || p["gateway"] != gw || p["payment_method"] != pm || p["credential_version"] != 1.0 ||
		p["reference"] != "order-17" || p["description"] != "Two bikes" || p["metadata"].(map[string]any)["cart"] != "c-9" ||
		p["requires_review"] != false || p["test"] != true {
		t.Errorf("payment %s", res.body)
	}
	if sc := p["stored_credential"].(map[string]any); sc["initiator"] != "cardholder" || sc["reason"] != "one_time" || len(sc) != 2 {
		t.Errorf("stored_credential %v", sc)
	}
	ops := operations(p)
	if len(ops) != 1 {
		t.Fatalf("%d operations", len(ops))
	}
	op := ops[0]
	if got := keysOf(op); !sameSet(got, operationKeys) {
		t.Errorf("operation keys %v, want %v", got, operationKeys)
	}
	if !strings.HasPrefix(op["id"].(string), "op_") || op["object"] != "operation" || op["kind"] != "purchase" || op["amount"] != 2500.0 ||
		op["outcome"] != "succeeded" || op["payment"] != id || op["gateway"] != gw || op["payment_method"] != pm || op["gateway_reference"] == "" {
		t.Errorf("operation %v", op)
	}

	if res := f.get(t, "/v1/payments/"+id, a.SecretKey); res.status != 200 || res.json(t)["status"] != "CAPTURED" {
		t.Fatalf("get: %d %s", res.status, res.body)
	}
	if res := f.get(t, "/v1/operations/"+op["id"].(string), a.SecretKey); res.status != 200 || res.json(t)["kind"] != "purchase" {
		t.Fatalf("get operation: %d %s", res.status, res.body)
	}
	if n := f.sim.purchases.Load(); n != 1 {
		t.Errorf("%d purchases reached the simulator", n)
	}
}

func TestAuthorizeCaptureRefundVoid(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw := f.createGateway(t, a.SecretKey)

	p := f.createPayment(t, a.SecretKey, paymentBody(f.createPM(t, a.SecretKey), gw, 1000, false))
	id := p["id"].(string)
	if p["status"] != "AUTHORIZED" || p["amount_authorized"] != 1000.0 || p["capture"] != false || operations(p)[0]["kind"] != "authorize" {
		t.Fatalf("authorized %v", p)
	}
	path := "/v1/payments/" + id
	wantPayment(t, f.post(t, path+"/capture", a.SecretKey, `{"amount":400}`), 200, "PARTIALLY_CAPTURED", 1000, 400, 0)
	wantError(t, f.post(t, path+"/capture", a.SecretKey, `{"amount":601}`), 422, "invalid_request_error", "amount_exceeds_capturable", "amount")
	wantError(t, f.post(t, path+"/refunds", a.SecretKey, `{"amount":401}`), 422, "invalid_request_error", "amount_exceeds_refundable", "amount")
	wantPayment(t, f.post(t, path+"/refunds", a.SecretKey, `{"amount":100,"reason":"one bike returned"}`), 200, "PARTIALLY_CAPTURED_REFUNDED", 1000, 400, 100)
	// An empty body captures, or refunds, all that is left.
	wantPayment(t, f.do(t, req{method: "POST", path: path + "/capture", key: a.SecretKey}), 200, "PARTIALLY_REFUNDED", 1000, 1000, 100)
	p = wantPayment(t, f.do(t, req{method: "POST", path: path + "/refunds", key: a.SecretKey}), 200, "REFUNDED", 1000, 1000, 1000)
	var kinds []string
	for _, op := range operations(p) {
		kinds = append(kinds, fmt.Sprint(op["kind"], ":", op["amount"], ":", op["outcome"]))
	}
	if got := strings.Join(kinds, " "); got != "authorize:1000:succeeded capture:400:succeeded refund:100:succeeded capture:600:succeeded refund:900:succeeded" {
		t.Errorf("operations %s", got)
	}
	wantError(t, f.post(t, path+"/refunds", a.SecretKey, `{}`), 409, "invalid_request_error", "invalid_state", "")
	wantError(t, f.do(t, req{method: "POST", path: path + "/void", key: a.SecretKey}), 409, "invalid_request_error", "invalid_state", "")

	// After a partial capture, a void releases the rest of the authorization.
	p = f.createPayment(t, a.SecretKey, paymentBody(f.createPM(t, a.SecretKey), gw, 1000, false))
	path = "/v1/payments/" + p["id"].(string)
	wantPayment(t, f.post(t, path+"/capture", a.SecretKey, `{"amount":400}`), 200, "PARTIALLY_CAPTURED", 1000, 400, 0)
	p = wantPayment(t, f.do(t, req{method: "POST", path: path + "/void", key: a.SecretKey}), 200, "CAPTURED", 1000, 400, 0)
	if ops := operations(p); ops[2]["kind"] != "void" || ops[2]["amount"] != 600.0 {
		t.Errorf("void of the rest: %v", ops[2])
	}
	wantError(t, f.post(t, path+"/capture", a.SecretKey, `{}`), 409, "invalid_request_error", "invalid_state", "")

	// Void an authorization; nothing can be captured after it.
	p = f.createPayment(t, a.SecretKey, paymentBody(f.createPM(t, a.SecretKey), gw, 700, false))
	path = "/v1/payments/" + p["id"].(string)
	wantPayment(t, f.do(t, req{method: "POST", path: path + "/void", key: a.SecretKey}), 200, "AUTHORIZATION_VOIDED", 700, 0, 0)
	wantError(t, f.post(t, path+"/capture", a.SecretKey, `{}`), 409, "invalid_request_error", "invalid_state", "")
	wantError(t, f.post(t, path+"/void", a.SecretKey, `{}`), 409, "invalid_request_error", "invalid_state", "")

	// Bodies of follow-ups are checked like any other.
	p = f.createPayment(t, a.SecretKey, paymentBody(f.createPM(t, a.SecretKey), gw, 500, false))
	path = "/v1/payments/" + p["id"].(string)
	calls := f.sim.calls.Load()
	for _, tc := range []struct {
		action, body, contentType string
		status                    int
		code, param               string
	}{
		{"capture", `{"amount":"200"}`, "", 422, "parameter_invalid", "amount"},
		{"capture", `{"amount":2.5}`, "", 422, "parameter_invalid", "amount"},
		{"capture", `{"amount":-1}`, "", 422, "parameter_invalid", "amount"},
		{"capture", `{"amount":0}`, "", 422, "parameter_invalid", "amount"},
		{"capture", `{"amount":100,"final":true}`, "", 422, "parameter_unknown", "final"},
		{"capture", `{"amount":`, "", 400, "malformed_body", "body"},
		{"capture", `{"amount":100}`, "text/plain", 415, "unsupported_media_type", "Content-Type"},
		{"void", `{"reason":"x"}`, "", 422, "parameter_unknown", "reason"},
		{"void", `[]`, "", 400, "malformed_body", "body"},
		{"refunds", `{"amount":1e2}`, "", 422, "parameter_invalid", "amount"},
		{"refunds", `{"reason":7}`, "", 422, "parameter_invalid", "reason"},
	} {
		q := req{method: "POST", path: path + "/" + tc.action, key: a.SecretKey, body: tc.body}
		if tc.contentType != "" {
			q.header = map[string]string{"Content-Type": tc.contentType}
		}
		wantError(t, f.do(t, q), tc.status, "invalid_request_error", tc.code, tc.param)
	}
	if n := f.sim.calls.Load(); n != calls {
		t.Errorf("refused follow-ups made %d simulator calls", n-calls)
	}
	wantPayment(t, f.get(t, path, a.SecretKey), 200, "AUTHORIZED", 500, 0, 0)
}

func TestDecline(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw := f.createGateway(t, a.SecretKey)
	pm := f.createCard(t, a.SecretKey, declinePAN, "123")
	// A decline is a payment, not an API error.
	p := wantPayment(t, f.post(t, "/v1/payments", a.SecretKey, paymentBody(pm, gw, 1000, true)), 201, "DECLINED", 0, 0, 0)
	op := operations(p)[0]
	if op["outcome"] != "declined" || op["decline_code"] != "insufficient_funds" {
		t.Errorf("declined operation %v", op)
	}
	wantError(t, f.post(t, "/v1/payments/"+p["id"].(string)+"/capture", a.SecretKey, `{}`), 409, "invalid_request_error", "invalid_state", "")

	// So is a decline the gateway was asked for.
	body := `{"amount":1000,"currency":"EUR","payment_method":"` + f.createPM(t, a.SecretKey) + `","gateway":"` + gw +
		`","gateway_specific_fields":{"simulate_decline":true}}`
	wantPayment(t, f.post(t, "/v1/payments", a.SecretKey, body), 201, "DECLINED", 0, 0, 0)
}

func TestPaymentList(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw1, gw2 := f.createGateway(t, a.SecretKey), f.createGateway(t, a.SecretKey)
	captured := f.createPayment(t, a.SecretKey, paymentBody(f.createPM(t, a.SecretKey), gw1, 1000, true))["id"].(string)
	f.clock.Add(time.Second)
	authorized := f.createPayment(t, a.SecretKey, strings.Replace(paymentBody(f.createPM(t, a.SecretKey), gw2, 1000, false), "order-17", "order-18", 1))["id"].(string)
	f.clock.Add(time.Second)
	declined := f.createPayment(t, a.SecretKey, paymentBody(f.createCard(t, a.SecretKey, declinePAN, "123"), gw1, 1000, true))["id"].(string)

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{declined, authorized, captured}},
		{"?status=CAPTURED", []string{captured}},
		{"?status=DECLINED", []string{declined}},
		{"?status=REFUNDED", nil},
		{"?reference=order-18", []string{authorized}},
		{"?gateway=" + gw1, []string{declined, captured}},
		{"?gateway=" + gw1 + "&status=AUTHORIZED", nil},
		{"?limit=1&starting_after=" + authorized, []string{captured}},
	} {
		var got []string
		for _, p := range listData(t, f.get(t, "/v1/payments"+tc.query, a.SecretKey), "/v1/payments") {
			got = append(got, p["id"].(string))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	wantError(t, f.get(t, "/v1/payments?status=PAID", a.SecretKey), 422, "invalid_request_error", "parameter_invalid", "status")
	wantError(t, f.get(t, "/v1/payments?status=CAPTURED&status=DECLINED", a.SecretKey), 422, "invalid_request_error", "parameter_invalid", "status")
	wantError(t, f.get(t, "/v1/payments?limit=101", a.SecretKey), 422, "invalid_request_error", "parameter_invalid", "limit")
	wantError(t, f.get(t, "/v1/payments?starting_after=pay_nope", a.SecretKey), 404, "invalid_request_error", "resource_missing", "starting_after")
}

func TestVerificationAndTranscript(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw, pm := f.createGateway(t, a.SecretKey), f.createPM(t, a.SecretKey)

	res := f.post(t, "/v1/verifications", a.SecretKey, `{"payment_method":"`+pm+`","gateway":"`+gw+`"}`)
	if res.status != 201 {
		t.Fatalf("verify: %d %s", res.status, res.body)
	}
	op := res.json(t)
	if got := keysOf(op); !sameSet(got, operationKeys) {
		t.Errorf("operation keys %v", got)
	}
	id := op["id"].(string)
	if op["object"] != "operation" || op["kind"] != "verify" || op["outcome"] != "succeeded" || op["payment"] != nil ||
		op["payment_method"] != pm || op["gateway"] != gw {
		t.Errorf("verification %s", res.body)
	}
	if res := f.get(t, "/v1/operations/"+id, a.SecretKey); res.status != 200 || res.json(t)["id"] != id {
		t.Fatalf("get operation: %d %s", res.status, res.body)
	}
	wantError(t, f.post(t, "/v1/verifications", a.SecretKey, `{"gateway":"`+gw+`"}`), 422, "invalid_request_error", "parameter_missing", "payment_method")
	wantError(t, f.post(t, "/v1/verifications", a.SecretKey, `{"payment_method":"`+pm+`"}`), 422, "invalid_request_error", "parameter_missing", "gateway")
	wantError(t, f.post(t, "/v1/verifications", a.SecretKey, `{"payment_method":"`+pm+`","gateway":"`+gw+`","amount":1}`), 422, "invalid_request_error", "parameter_unknown", "amount")

	// The transcript of the verification, and of a payment's purchase.
	p := f.createPayment(t, a.SecretKey, paymentBody(f.createCard(t, a.SecretKey, amexPAN, amexCVC), gw, 1000, true))
	for _, opID := range []string{id, operations(p)[0]["id"].(string)} {
		res := f.get(t, "/v1/operations/"+opID+"/transcript", a.SecretKey)
		if res.status != 200 {
			t.Fatalf("transcript: %d %s", res.status, res.body)
		}
		tr := res.json(t)
		if got, want := keysOf(tr), []string{"object", "operation", "exchanges"}; !sameSet(got, want) || tr["object"] != "transcript" || tr["operation"] != opID {
			t.Errorf("transcript %s", res.body)
		}
		exchanges := tr["exchanges"].([]any)
		if len(exchanges) == 0 {
			t.Fatalf("transcript of %s has no exchanges: %s", opID, res.body)
		}
		for _, e := range exchanges {
			if m := e.(map[string]any); m["method"] == nil || m["url"] == nil || m["started_at"] == nil {
				t.Errorf("exchange %v", m)
			}
		}
		for _, secret := range []string{pan, amexPAN, "3782 822463 10005", "8224631"} {
			if strings.Contains(string(res.body), secret) {
				t.Errorf("transcript holds %q: %s", secret, res.body)
			}
		}
		if digitRun(string(res.body), cvc) || digitRun(string(res.body), amexCVC) {
			t.Errorf("transcript holds a CVC: %s", res.body)
		}
	}
	wantError(t, f.get(t, "/v1/operations/op_nope/transcript", a.SecretKey), 404, "invalid_request_error", "resource_missing", "id")
}

// A gateway that cannot be reached makes a FAILED payment, not an API
// error; its operation's transcript says why nothing was sent.
func TestGatewayOutage(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw := f.createGateway(t, a.SecretKey)
	if res := f.patch(t, "/v1/gateways/"+gw, a.SecretKey, `{"settings":{"outage":true}}`); res.status != 200 {
		t.Fatalf("outage: %d %s", res.status, res.body)
	}
	p := wantPayment(t, f.post(t, "/v1/payments", a.SecretKey, paymentBody(f.createPM(t, a.SecretKey), gw, 1000, true)), 201, "FAILED", 0, 0, 0)
	op := operations(p)[0]
	if op["outcome"] != "not_sent" {
		t.Fatalf("operation %v", op)
	}
	res := f.get(t, "/v1/operations/"+op["id"].(string)+"/transcript", a.SecretKey)
	exchanges, _ := res.json(t)["exchanges"].([]any)
	if res.status != 200 || len(exchanges) != 1 || exchanges[0].(map[string]any)["error"] == nil {
		t.Errorf("transcript: %d %s", res.status, res.body)
	}
}

// An operation that exchanged nothing with its gateway (here one left
// pending by a process that died before the call) has a transcript without
// exchanges, not an error.
func TestTranscriptOfNothing(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw, pm := f.createGateway(t, a.SecretKey), f.createPM(t, a.SecretKey)
	now := f.clock.Now()
	op := &payment.Operation{ID: payment.NewID(payment.PrefixOperation), AccountID: a.Account.ID, PaymentMethodID: pm, GatewayID: gw,
		CredentialVersion: 1, Kind: payment.OpVerify, Outcome: payment.OutcomePending, CreatedAt: now, UpdatedAt: now}
	if err := f.store.CreateOperation(context.Background(), op, nil, nil); err != nil {
		t.Fatal(err)
	}
	res := f.get(t, "/v1/operations/"+op.ID+"/transcript", a.SecretKey)
	if res.status != 200 || strings.TrimSpace(string(res.body)) != `{"object":"transcript","operation":"`+op.ID+`","exchanges":[]}` {
		t.Errorf("transcript: %d %s", res.status, res.body)
	}
	if res := f.get(t, "/v1/operations/"+op.ID, a.SecretKey); res.status != 200 || res.json(t)["outcome"] != "pending" {
		t.Errorf("operation: %d %s", res.status, res.body)
	}
}

func TestPaymentBadInput(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw, pm := f.createGateway(t, a.SecretKey), f.createPM(t, a.SecretKey)
	body := func(fields string) string {
		return `{` + fields + `}`
	}
	const (
		ok   = `"currency":"EUR","payment_method":"%s","gateway":"%s"`
		with = `"amount":1000,` + ok
	)
	valid := func(format string) string { return fmt.Sprintf(format, pm, gw) }
	tests := []struct {
		name        string
		body        string
		status      int
		code, param string
	}{
		{"malformed json", `{"amount":1000,`, 400, "malformed_body", "body"},
		{"trailing data", body(valid(with)) + `{}`, 400, "malformed_body", "body"},
		{"amount as string", body(`"amount":"1000",` + valid(ok)), 422, "parameter_invalid", "amount"},
		{"negative amount", body(`"amount":-1000,` + valid(ok)), 422, "parameter_invalid", "amount"},
		{"zero amount", body(`"amount":0,` + valid(ok)), 422, "parameter_invalid", "amount"},
		{"float amount", body(`"amount":10.5,` + valid(ok)), 422, "parameter_invalid", "amount"},
		{"integral float amount", body(`"amount":1000.0,` + valid(ok)), 422, "parameter_invalid", "amount"},
		{"exponent amount", body(`"amount":1e3,` + valid(ok)), 422, "parameter_invalid", "amount"},
		{"amount past int64", body(`"amount":92233720368547758070,` + valid(ok)), 422, "parameter_invalid", "amount"},
		{"amount past the maximum", body(`"amount":1000000000000001,` + valid(ok)), 422, "parameter_invalid", "amount"},
		{"missing amount", body(valid(ok)), 422, "parameter_missing", "amount"},
		{"null amount", body(`"amount":null,` + valid(ok)), 422, "parameter_missing", "amount"},
		{"unknown currency", body(fmt.Sprintf(`"amount":1000,"currency":"XYZ","payment_method":"%s","gateway":"%s"`, pm, gw)), 422, "parameter_invalid", "currency"},
		{"lower-case currency", body(fmt.Sprintf(`"amount":1000,"currency":"eur","payment_method":"%s","gateway":"%s"`, pm, gw)), 422, "parameter_invalid", "currency"},
		{"missing currency", body(fmt.Sprintf(`"amount":1000,"payment_method":"%s","gateway":"%s"`, pm, gw)), 422, "parameter_missing", "currency"},
		{"missing payment_method", body(fmt.Sprintf(`"amount":1000,"currency":"EUR","gateway":"%s"`, gw)), 422, "parameter_missing", "payment_method"},
		{"missing gateway", body(fmt.Sprintf(`"amount":1000,"currency":"EUR","payment_method":"%s"`, pm)), 422, "parameter_missing", "gateway"},
		{"no such payment_method", body(fmt.Sprintf(`"amount":1000,"currency":"EUR","payment_method":"pm_nope","gateway":"%s"`, gw)), 404, "resource_missing", "payment_method"},
		{"no such gateway", body(fmt.Sprintf(`"amount":1000,"currency":"EUR","payment_method":"%s","gateway":"gw_nope"`, pm)), 404, "resource_missing", "gateway"},
		{"payment_method not a string", body(fmt.Sprintf(`"amount":1000,"currency":"EUR","payment_method":7,"gateway":"%s"`, gw)), 422, "parameter_invalid", "payment_method"},
		{"capture not a boolean", body(valid(with) + `,"capture":"false"`), 422, "parameter_invalid", "capture"},
		{"metadata value not a string", body(valid(with) + `,"metadata":{"n":1}`), 422, "parameter_invalid", "metadata.n"},
		{"bad initiator", body(valid(with) + `,"stored_credential":{"initiator":"robot","reason":"one_time"}`), 422, "parameter_invalid", "stored_credential.initiator"},
		{"unknown stored_credential field", body(valid(with) + `,"stored_credential":{"initiator":"merchant","reason":"recurring","network_id":"x"}`), 422, "parameter_unknown", "stored_credential.network_id"},
		{"unknown gateway-specific field", body(valid(with) + `,"gateway_specific_fields":{"foo":1}`), 422, "parameter_unknown", "gateway_specific_fields.foo"},
		{"mistyped gateway-specific field", body(valid(with) + `,"gateway_specific_fields":{"simulate_decline":"yes"}`), 422, "parameter_invalid", "gateway_specific_fields.simulate_decline"},
		{"gateway-specific fields not an object", body(valid(with) + `,"gateway_specific_fields":[]`), 422, "parameter_invalid", "gateway_specific_fields"},
		{"unknown field", body(valid(with) + `,"shopper":"cus_1"`), 422, "parameter_unknown", "shopper"},
		{"card sent inline", body(valid(with) + `,"card":{"number":"` + pan + `"}`), 422, "parameter_unknown", "card"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := f.post(t, "/v1/payments", a.SecretKey, tc.body)
			wantError(t, res, tc.status, "invalid_request_error", tc.code, tc.param)
		})
	}
	wantError(t, f.do(t, req{method: "POST", path: "/v1/payments", key: a.SecretKey, body: body(valid(with)),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}), 415, "invalid_request_error", "unsupported_media_type", "Content-Type")
	if got := listData(t, f.get(t, "/v1/payments", a.SecretKey), "/v1/payments"); len(got) != 0 {
		t.Errorf("%d payments after refused requests", len(got))
	}
	if n := f.sim.calls.Load(); n != 0 {
		t.Errorf("refused requests made %d simulator calls", n)
	}
}

// Thirty clients send one payment with one Idempotency-Key at once: one
// payment is made, and the gateway is called once.
func TestPaymentIdempotencyConcurrent(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw, pm := f.createGateway(t, a.SecretKey), f.createPM(t, a.SecretKey)
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close)

	body := paymentBody(pm, gw, 1500, true)
	send := func() (int, http.Header, []byte) {
		r, err := http.NewRequest("POST", srv.URL+"/v1/payments", strings.NewReader(body))
		if err != nil {
			t.Error(err)
			return 0, nil, nil
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+a.SecretKey)
		r.Header.Set("Idempotency-Key", "checkout-17")
		res, err := srv.Client().Do(r)
		if err != nil {
			t.Error(err)
			return 0, nil, nil
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, b
	}

	const n = 30
	type result struct {
		status int
		body   []byte
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st, _, b := send()
			results[i] = result{st, b}
		}()
	}
	close(start)
	wg.Wait()

	var id string
	codes := map[int]int{}
	for _, r := range results {
		codes[r.status]++
		switch r.status {
		case http.StatusCreated:
			var p struct{ ID, Status string }
			json.Unmarshal(r.body, &p)
			if p.Status != "CAPTURED" {
				t.Errorf("payment %s", r.body)
			}
			if id == "" {
				id = p.ID
			} else if p.ID != id {
				t.Errorf("two payments: %s and %s", id, p.ID)
			}
		case http.StatusConflict:
			var e struct{ Error struct{ Type, Code string } }
			json.Unmarshal(r.body, &e)
			if e.Error.Code != "idempotency_key_in_use" || e.Error.Type != "idempotency_error" {
				t.Errorf("409 %s", r.body)
			}
		default:
			t.Errorf("status %d: %s", r.status, r.body)
		}
	}
	t.Logf("statuses of %d concurrent requests: %v", n, codes)
	if id == "" {
		t.Fatal("no request made the payment")
	}
	if got := listData(t, f.get(t, "/v1/payments", a.SecretKey), "/v1/payments"); len(got) != 1 || got[0]["id"] != id {
		t.Fatalf("payments after %d requests with one key: %v", n, got)
	}
	if calls := f.sim.purchases.Load(); calls != 1 {
		t.Fatalf("%d purchases reached the simulator", calls)
	}

	// A retry after the fact is a replay: the same payment, no new call.
	st, h, b := send()
	var p struct{ ID string }
	json.Unmarshal(b, &p)
	if st != 201 || p.ID != id || h.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %v %s", st, h, b)
	}
	if calls := f.sim.purchases.Load(); calls != 1 {
		t.Fatalf("%d purchases after the replay", calls)
	}
}

// A follow-up with an Idempotency-Key is made once too, and PUT and PATCH
// are not subject to the protocol.
func TestFollowUpIdempotency(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw := f.createGateway(t, a.SecretKey)
	p := f.createPayment(t, a.SecretKey, paymentBody(f.createPM(t, a.SecretKey), gw, 1000, false))
	path := "/v1/payments/" + p["id"].(string) + "/capture"
	capture := req{method: "POST", path: path, key: a.SecretKey, body: `{"amount":300}`, header: map[string]string{"Idempotency-Key": "cap-1"}}
	first, again := f.do(t, capture), f.do(t, capture)
	wantPayment(t, first, 200, "PARTIALLY_CAPTURED", 1000, 300, 0)
	if again.status != 200 || string(again.body) != string(first.body) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replayed capture: %d %s", again.status, again.body)
	}
	wantPayment(t, f.get(t, "/v1/payments/"+p["id"].(string), a.SecretKey), 200, "PARTIALLY_CAPTURED", 1000, 300, 0)

	patch := req{method: "PATCH", path: "/v1/gateways/" + gw, key: a.SecretKey, body: `{"description":"one"}`, header: map[string]string{"Idempotency-Key": "k"}}
	if res := f.do(t, patch); res.status != 200 || res.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("patch: %d %s", res.status, res.body)
	}
	patch.body = `{"description":"two"}`
	if res := f.do(t, patch); res.status != 200 || res.json(t)["description"] != "two" {
		t.Fatalf("second patch with the same key: %d %s", res.status, res.body)
	}
}

func TestPaymentsAccountIsolation(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.account(t), f.account(t)
	gwA, pmA := f.createGateway(t, a.SecretKey), f.createPM(t, a.SecretKey)
	payA := f.createPayment(t, a.SecretKey, paymentBody(pmA, gwA, 1000, false))["id"].(string)
	opA := f.post(t, "/v1/verifications", a.SecretKey, `{"payment_method":"`+pmA+`","gateway":"`+gwA+`"}`).json(t)["id"].(string)
	gwB, pmB := f.createGateway(t, b.SecretKey), f.createPM(t, b.SecretKey)
	calls := f.sim.calls.Load()

	for _, q := range []req{
		{method: "GET", path: "/v1/gateways/" + gwA},
		{method: "PATCH", path: "/v1/gateways/" + gwA, body: `{"description":"stolen"}`},
		{method: "PUT", path: "/v1/gateways/" + gwA + "/credentials", body: `{"credentials":{"login":"mallory-login"}}`},
		{method: "GET", path: "/v1/gateways/" + gwA + "/credentials"},
		{method: "POST", path: "/v1/gateways/" + gwA + "/retain"},
		{method: "POST", path: "/v1/gateways/" + gwA + "/redact"},
		{method: "GET", path: "/v1/payments/" + payA},
		{method: "POST", path: "/v1/payments/" + payA + "/capture", body: `{"amount":100}`},
		{method: "POST", path: "/v1/payments/" + payA + "/capture"},
		{method: "POST", path: "/v1/payments/" + payA + "/void"},
		{method: "POST", path: "/v1/payments/" + payA + "/refunds", body: `{"amount":100}`},
		{method: "GET", path: "/v1/operations/" + opA},
		{method: "GET", path: "/v1/operations/" + opA + "/transcript"},
	} {
		q.key = b.SecretKey
		t.Run(q.method+" "+q.path, func(t *testing.T) {
			wantError(t, f.do(t, q), 404, "invalid_request_error", "resource_missing", "id")
		})
	}
	// Paying from B with A's payment method or A's gateway.
	wantError(t, f.post(t, "/v1/payments", b.SecretKey, paymentBody(pmA, gwB, 1000, true)), 404, "invalid_request_error", "resource_missing", "payment_method")
	wantError(t, f.post(t, "/v1/payments", b.SecretKey, paymentBody(pmB, gwA, 1000, true)), 404, "invalid_request_error", "resource_missing", "gateway")
	wantError(t, f.post(t, "/v1/verifications", b.SecretKey, `{"payment_method":"`+pmA+`","gateway":"`+gwB+`"}`), 404, "invalid_request_error", "resource_missing", "payment_method")
	wantError(t, f.post(t, "/v1/verifications", b.SecretKey, `{"payment_method":"`+pmB+`","gateway":"`+gwA+`"}`), 404, "invalid_request_error", "resource_missing", "gateway")
	wantError(t, f.get(t, "/v1/payments?starting_after="+payA, b.SecretKey), 404, "invalid_request_error", "resource_missing", "starting_after")
	wantError(t, f.get(t, "/v1/gateways?starting_after="+gwA, b.SecretKey), 404, "invalid_request_error", "resource_missing", "starting_after")
	if n := f.sim.calls.Load(); n != calls {
		t.Errorf("B's refused requests made %d simulator calls", n-calls)
	}

	// B's lists hold none of A's objects.
	if got := listData(t, f.get(t, "/v1/gateways", b.SecretKey), "/v1/gateways"); len(got) != 1 || got[0]["id"] != gwB {
		t.Errorf("B's gateways %v", got)
	}
	for _, path := range []string{"/v1/payments", "/v1/payments?gateway=" + gwA} {
		if got := listData(t, f.get(t, path, b.SecretKey), "/v1/payments"); len(got) != 0 {
			t.Errorf("B's %s: %v", path, got)
		}
	}
	for _, path := range []string{"/v1/gateways", "/v1/payments", "/v1/events?limit=100", "/v1/payment_methods"} {
		body := string(f.get(t, path, b.SecretKey).body)
		for _, id := range []string{gwA, pmA, payA, opA} {
			if strings.Contains(body, id) {
				t.Errorf("B's %s shows A's %s", path, id)
			}
		}
	}

	// A's objects are as they were.
	res := f.get(t, "/v1/gateways/"+gwA, a.SecretKey)
	if gw := res.json(t); gw["state"] != "retained" || gw["description"] != "Simulator EU" || gw["credentials"].(map[string]any)["version"] != 1.0 {
		t.Errorf("A's gateway changed: %s", res.body)
	}
	wantPayment(t, f.get(t, "/v1/payments/"+payA, a.SecretKey), 200, "AUTHORIZED", 1000, 0, 0)
}

// Every route that needs a secret key refuses a publishable one.
func TestPublishableKeyOnSecretRoutes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	for _, rt := range routes {
		if rt.access != secret {
			continue
		}
		path := strings.ReplaceAll(rt.path, "{id}", "x_1")
		wantError(t, f.do(t, req{method: rt.method, path: path, key: a.PublishableKey, body: `{}`}), 403, "permission_error", "insufficient_scope", "")
	}
}

// No card number, CVC or credential value reaches a response of the
// gateway and payment endpoints, or the log, on success or on failure.
func TestNoSecretsFromGatewaysAndPayments(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw := f.createGateway(t, a.SecretKey)
	pm := f.createCard(t, a.SecretKey, amexPAN, amexCVC)
	const declineCVC = "846"
	decline := f.createCard(t, a.SecretKey, declinePAN, declineCVC)

	f.get(t, "/v1/gateway_types", a.SecretKey)
	f.get(t, "/v1/gateways", a.SecretKey)
	f.get(t, "/v1/gateways/"+gw, a.SecretKey)
	f.patch(t, "/v1/gateways/"+gw, a.SecretKey, `{"description":"d","credentials":{"login":"`+credLogin+`","password":"`+credPassword+`"}}`)
	f.put(t, "/v1/gateways/"+gw+"/credentials", a.SecretKey, `{"credentials":{"login":"`+credLogin+`","password":"`+credPassword+`"}}`)
	f.put(t, "/v1/gateways/"+gw+"/credentials", a.SecretKey, `{"credentials":{"login":"`+credLogin+`","password":`+credPassword[3:11]+`}}`)
	f.put(t, "/v1/gateways/"+gw+"/credentials", a.SecretKey, `{"credentials":{"`+credPassword+`":"x"}}`)
	f.put(t, "/v1/gateways/"+gw+"/credentials", a.SecretKey, `{"credentials":{"`+amexPAN+`":"`+credPassword+`"}}`)
	f.post(t, "/v1/gateways", a.SecretKey, `{"type":"simulator","settings":{"`+amexPAN+`":"`+credPassword+`"}}`)
	f.post(t, "/v1/gateways", a.SecretKey, `{"type":"`+amexPAN+`","credentials":{"password":"`+credPassword+`"}}`)
	f.get(t, "/v1/gateways/"+gw+"/credentials", a.SecretKey)

	purchase := f.createPayment(t, a.SecretKey, paymentBody(pm, gw, 1000, true))
	auth := f.createPayment(t, a.SecretKey, paymentBody(f.createCard(t, a.SecretKey, amexPAN, amexCVC), gw, 1000, false))
	f.post(t, "/v1/payments/"+auth["id"].(string)+"/capture", a.SecretKey, `{"amount":500}`)
	f.post(t, "/v1/payments/"+auth["id"].(string)+"/refunds", a.SecretKey, `{"amount":200}`)
	f.createPayment(t, a.SecretKey, paymentBody(decline, gw, 1000, true))
	f.post(t, "/v1/verifications", a.SecretKey, `{"payment_method":"`+pm+`","gateway":"`+gw+`"}`)
	for _, p := range []map[string]any{purchase, auth} {
		f.get(t, "/v1/payments/"+p["id"].(string), a.SecretKey)
		for _, op := range operations(p) {
			f.get(t, "/v1/operations/"+op["id"].(string), a.SecretKey)
			f.get(t, "/v1/operations/"+op["id"].(string)+"/transcript", a.SecretKey)
		}
	}
	f.get(t, "/v1/payments", a.SecretKey)
	f.get(t, "/v1/events?limit=100", a.SecretKey)
	// Card data sent where it does not belong.
	f.post(t, "/v1/payments", a.SecretKey, `{"amount":1000,"currency":"EUR","payment_method":"`+amexPAN+`","gateway":"`+gw+`"}`)
	// The engine names metadata keys in its errors.
	f.post(t, "/v1/payments", a.SecretKey, `{"amount":1000,"currency":"EUR","payment_method":"`+pm+`","gateway":"`+gw+`","metadata":{"`+amexPAN+`":"`+strings.Repeat("v", 501)+`"}}`)
	f.post(t, "/v1/payments", a.SecretKey, `{"amount":1000,"currency":"EUR","payment_method":"`+pm+`","gateway":"`+gw+`","metadata":{"`+amexPAN+`":`+amexCVC+`}}`)
	f.post(t, "/v1/payments", a.SecretKey, `{"amount":1000,"currency":"EUR","payment_method":"`+pm+`","gateway":"`+gw+`","gateway_specific_fields":{"`+amexPAN+`":1}}`)
	f.post(t, "/v1/payments", a.SecretKey, `{"amount":"`+amexPAN+`","currency":"EUR","payment_method":"`+pm+`","gateway":"`+gw+`"}`)
	f.post(t, "/v1/payments", a.SecretKey, `{"amount":1000,"currency":"`+amexCVC+`","payment_method":"`+pm+`","gateway":"`+gw+`","reference":"`+amexPAN+`"}`)
	f.get(t, "/v1/payments?status="+amexPAN, a.SecretKey)
	f.get(t, "/v1/payments?starting_after="+amexPAN, a.SecretKey)
	f.get(t, "/v1/payments/"+amexPAN, a.SecretKey)
	f.get(t, "/v1/operations/"+amexPAN+"/transcript", a.SecretKey)

	f.mu.Lock()
	all := strings.Join(f.responses, "\n")
	f.mu.Unlock()
	logs := f.logs.String()
	for _, secret := range []string{amexPAN, declinePAN, "3782 822463 10005", "8224631", credLogin, credPassword, credPassword[3:11]} {
		if strings.Contains(all, secret) {
			i := strings.Index(all, secret)
			t.Errorf("a response holds %q: …%s…", secret, all[max(0, i-80):min(len(all), i+40)])
		}
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
	for _, c := range []string{amexCVC, declineCVC} {
		if digitRun(all, c) {
			t.Errorf("a response holds the CVC %s", c)
		}
		if digitRun(logs, c) {
			t.Errorf("the log holds the CVC %s", c)
		}
	}
	if !strings.Contains(all, `"status":"REFUNDED"`) && !strings.Contains(all, `"status":"PARTIALLY_CAPTURED_REFUNDED"`) {
		t.Error("the check found no payment responses to look at")
	}
}

// TestConcurrentRefundsOverHTTP: 50 concurrent refunds of 10 against a
// captured payment of 100 — exactly ten are 200, the other forty a 4xx
// (never a 5xx), and the payment ends REFUNDED with 100 refunded. The same
// for 50 captures of 10 against an authorization of 100.
func TestConcurrentRefundsOverHTTP(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw, pm := f.createGateway(t, a.SecretKey), f.createPM(t, a.SecretKey)
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		action, status, field string
		capture               bool
	}{
		{"refunds", "REFUNDED", "amount_refunded", true},
		{"capture", "CAPTURED", "amount_captured", false},
	} {
		id := f.createPayment(t, a.SecretKey, paymentBody(pm, gw, 100, tc.capture))["id"].(string)
		codes := make([]int, 50)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, _ := http.NewRequest("POST", srv.URL+"/v1/payments/"+id+"/"+tc.action, strings.NewReader(`{"amount":10}`))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("Authorization", "Bearer "+a.SecretKey)
				res, err := srv.Client().Do(r)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				codes[i] = res.StatusCode
			}()
		}
		wg.Wait()
		ok := 0
		for _, c := range codes {
			switch {
			case c == http.StatusOK:
				ok++
			case c < 400 || c >= 500:
				t.Errorf("%s: a losing request got %d, want a 4xx", tc.action, c)
			}
		}
		p := f.get(t, "/v1/payments/"+id, a.SecretKey).json(t)
		if ok != 10 || p["status"] != tc.status || p[tc.field] != float64(100) {
			t.Fatalf("%s: %d succeeded, payment %v with %s %v; want 10, %s, 100", tc.action, ok, p["status"], tc.field, p[tc.field], tc.status)
		}
	}
}
