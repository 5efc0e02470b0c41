package client_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/client"
)

// opJSON renders an operation of the payment pay_1.
func opJSON(id, kind string, amount int64, outcome, declineCode string) string {
	return fmt.Sprintf(`{"id":%q,"object":"operation","kind":%q,"amount":%d,"currency":"EUR","outcome":%q,
		"decline_code":%q,"gateway_reference":"sim_%s","response_code":"00","message":"Approved","avs_code":"Y","cvv_code":"M",
		"network_transaction_id":"ntx_1","gateway":"gw_1","credential_version":1,"payment_method":"pm_1","payment":"pay_1",
		"created_at":"2026-03-01T12:00:00Z","updated_at":"2026-03-01T12:00:01Z"}`, id, kind, amount, outcome, declineCode, id)
}

// payJSON is an authorized payment, partly captured and partly refunded.
var payJSON = `{
	"id": "pay_1", "object": "payment", "status": "PARTIALLY_CAPTURED_REFUNDED",
	"amount": 1000, "currency": "EUR", "amount_authorized": 1000, "amount_captured": 600, "amount_refunded": 100,
	"capture": false, "gateway": "gw_1", "credential_version": 1, "payment_method": "pm_1",
	"reference": "order-1234", "description": "Two books", "metadata": {"cart": "c-9"},
	"stored_credential": {"initiator": "cardholder", "reason": "one_time"},
	"requires_review": false, "test": true,
	"operations": [` + opJSON("op_1", "authorize", 1000, "succeeded", "") + `,` + opJSON("op_2", "capture", 600, "succeeded", "") +
	`,` + opJSON("op_3", "refund", 100, "succeeded", "") + `],
	"created_at": "2026-03-01T12:00:00Z", "updated_at": "2026-03-01T12:10:00Z"
}`

// payDeclinedJSON is a purchase the issuer declined.
var payDeclinedJSON = `{
	"id": "pay_2", "object": "payment", "status": "DECLINED",
	"amount": 500, "currency": "EUR", "amount_authorized": 0, "amount_captured": 0, "amount_refunded": 0,
	"capture": true, "gateway": "gw_1", "credential_version": 1, "payment_method": "pm_2",
	"reference": "", "description": "", "metadata": {}, "stored_credential": null,
	"requires_review": false, "test": true,
	"operations": [` + strings.Replace(opJSON("op_4", "purchase", 500, "declined", "insufficient_funds"), `"pay_1"`, `"pay_2"`, 1) + `],
	"created_at": "2026-03-01T13:00:00Z", "updated_at": "2026-03-01T13:00:00Z"
}`

func op(id, kind string, amount int64, outcome client.Outcome) *client.Operation {
	return &client.Operation{ID: id, Object: "operation", Kind: kind, Amount: amount, Currency: "EUR", Outcome: outcome,
		GatewayReference: "sim_" + id, ResponseCode: "00", Message: "Approved", AVSCode: "Y", CVVCode: "M",
		NetworkTransactionID: "ntx_1", Gateway: "gw_1", CredentialVersion: 1, PaymentMethod: "pm_1", Payment: "pay_1",
		CreatedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC)}
}

var pay1 = &client.Payment{
	ID: "pay_1", Object: "payment", Status: client.PaymentPartiallyCapturedRefunded,
	Amount: 1000, Currency: "EUR", AmountAuthorized: 1000, AmountCaptured: 600, AmountRefunded: 100,
	Gateway: "gw_1", CredentialVersion: 1, PaymentMethod: "pm_1",
	Reference: "order-1234", Description: "Two books", Metadata: map[string]string{"cart": "c-9"},
	StoredCredential: &client.StoredCredential{Initiator: client.InitiatorCardholder, Reason: client.ReasonOneTime},
	Test:             true,
	Operations: []*client.Operation{op("op_1", client.OperationAuthorize, 1000, client.OutcomeSucceeded),
		op("op_2", client.OperationCapture, 600, client.OutcomeSucceeded), op("op_3", client.OperationRefund, 100, client.OutcomeSucceeded)},
	CreatedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	UpdatedAt: time.Date(2026, 3, 1, 12, 10, 0, 0, time.UTC),
}

func TestCreatePayment(t *testing.T) {
	t.Parallel()
	c := newClient(t,
		exchange{method: "POST", uri: "/v1/payments", header: map[string]string{"Idempotency-Key": "order-1234"},
			body: `{"amount": 1000, "currency": "EUR", "payment_method": "pm_1", "gateway": "gw_1", "capture": false,
				"reference": "order-1234", "description": "Two books", "metadata": {"cart": "c-9"},
				"stored_credential": {"initiator": "cardholder", "reason": "one_time"},
				"gateway_specific_fields": {"simulate_decline": false}}`,
			status: 201, resp: payJSON},
		// A decline is a payment, not an error.
		exchange{method: "POST", uri: "/v1/payments",
			body:   `{"amount": 500, "currency": "EUR", "payment_method": "pm_2", "gateway": "gw_1"}`,
			status: 201, resp: payDeclinedJSON},
		exchange{method: "POST", uri: "/v1/payments",
			body:   `{"amount": 0, "currency": "", "payment_method": "", "gateway": ""}`,
			status: 422, resp: `{"error":{"type":"invalid_request_error","code":"parameter_invalid","param":"amount","message":"amount must be at least 1."}}`},
	)
	ctx := t.Context()
	var res client.Response
	pay, err := c.CreatePayment(ctx, &client.PaymentParams{
		Amount: 1000, Currency: "EUR", PaymentMethod: "pm_1", Gateway: "gw_1", Capture: new(false),
		Reference: "order-1234", Description: "Two books", Metadata: map[string]string{"cart": "c-9"},
		StoredCredential:      &client.StoredCredential{Initiator: client.InitiatorCardholder, Reason: client.ReasonOneTime},
		GatewaySpecificFields: map[string]any{"simulate_decline": false},
	}, client.WithIdempotencyKey("order-1234"), client.WithResponse(&res))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pay, pay1) {
		t.Errorf("got  %+v\nwant %+v", pay, pay1)
	}
	if res.StatusCode != 201 {
		t.Errorf("status %d", res.StatusCode)
	}

	pay, err = c.CreatePayment(ctx, &client.PaymentParams{Amount: 500, Currency: "EUR", PaymentMethod: "pm_2", Gateway: "gw_1"})
	if err != nil {
		t.Fatal(err)
	}
	if pay.Status != client.PaymentDeclined || pay.StoredCredential != nil || pay.Metadata == nil || len(pay.Operations) != 1 ||
		pay.Operations[0].Outcome != client.OutcomeDeclined || pay.Operations[0].DeclineCode != "insufficient_funds" ||
		pay.Operations[0].Payment != "pay_2" {
		t.Errorf("declined payment: %+v", pay)
	}

	_, err = c.CreatePayment(ctx, nil)
	var e *client.Error
	if !errors.As(err, &e) || e.Param != "amount" || e.Code != client.CodeParameterInvalid {
		t.Errorf("err = %v", err)
	}
}

func TestPayment(t *testing.T) {
	t.Parallel()
	c := newClient(t,
		exchange{method: "GET", uri: "/v1/payments/pay_1", resp: payJSON},
		exchange{method: "GET", uri: "/v1/payments/pay_other", status: 404,
			resp: `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"id","message":"No such payment: 'pay_other'"}}`},
	)
	pay, err := c.Payment(t.Context(), "pay_1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pay, pay1) {
		t.Errorf("got  %+v\nwant %+v", pay, pay1)
	}
	if _, err := c.Payment(t.Context(), "pay_other"); !client.IsNotFound(err) {
		t.Errorf("err = %v, want not found", err)
	}
}

// payList renders a page of payments with the given ids.
func payList(hasMore bool, ids ...string) string {
	data := make([]string, len(ids))
	for i, id := range ids {
		data[i] = strings.Replace(payDeclinedJSON, `"id": "pay_2"`, `"id": "`+id+`"`, 1)
	}
	return fmt.Sprintf(`{"object":"list","url":"/v1/payments","has_more":%v,"data":[%s]}`, hasMore, strings.Join(data, ","))
}

func TestListPayments(t *testing.T) {
	t.Parallel()
	c := newClient(t,
		exchange{method: "GET", uri: "/v1/payments", resp: payList(false, "pay_2", "pay_1")},
		exchange{method: "GET", uri: "/v1/payments", resp: payList(false)},
		exchange{method: "GET", uri: "/v1/payments?gateway=gw_1&limit=10&reference=order+%26+co&starting_after=pay_0&status=DECLINED",
			resp: payList(true, "pay_2")},
		exchange{method: "GET", uri: "/v1/payments?status=BOGUS", status: 422,
			resp: `{"error":{"type":"invalid_request_error","code":"parameter_invalid","param":"status","message":"Unknown status."}}`},
	)
	ctx := t.Context()
	l, err := c.ListPayments(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.URL != "/v1/payments" || l.HasMore || len(l.Data) != 2 || l.Data[0].ID != "pay_2" || l.Data[1].ID != "pay_1" {
		t.Errorf("got %+v", l)
	}
	if l, err = c.ListPayments(ctx, &client.PaymentListParams{}); err != nil || len(l.Data) != 0 {
		t.Errorf("empty params: %+v, %v", l, err)
	}
	l, err = c.ListPayments(ctx, &client.PaymentListParams{ListParams: client.ListParams{Limit: 10, StartingAfter: "pay_0"},
		Status: client.PaymentDeclined, Reference: "order & co", Gateway: "gw_1"})
	if err != nil || !l.HasMore || len(l.Data) != 1 {
		t.Errorf("filtered: %+v, %v", l, err)
	}
	if _, err := c.ListPayments(ctx, &client.PaymentListParams{Status: "BOGUS"}); err == nil {
		t.Error("unknown status: no error")
	}
}

func TestAllPayments(t *testing.T) {
	t.Parallel()
	// The filters go with every page.
	c := newClient(t,
		exchange{method: "GET", uri: "/v1/payments?limit=2&status=DECLINED", resp: payList(true, "pay_9", "pay_8")},
		exchange{method: "GET", uri: "/v1/payments?limit=2&starting_after=pay_8&status=DECLINED", resp: payList(false, "pay_7")},
		exchange{method: "GET", uri: "/v1/payments", resp: payList(false, "pay_1")},
	)
	p := &client.PaymentListParams{ListParams: client.ListParams{Limit: 2}, Status: client.PaymentDeclined}
	var ids []string
	for pay, err := range c.AllPayments(t.Context(), p) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, pay.ID)
	}
	if want := []string{"pay_9", "pay_8", "pay_7"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("ids = %v, want %v", ids, want)
	}
	if *p != (client.PaymentListParams{ListParams: client.ListParams{Limit: 2}, Status: client.PaymentDeclined}) {
		t.Errorf("params changed: %+v", p)
	}
	n := 0
	for _, err := range c.AllPayments(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("nil params: yielded %d, want 1", n)
	}
}

func TestCaptureVoidRefund(t *testing.T) {
	t.Parallel()
	c := newClient(t,
		exchange{method: "POST", uri: "/v1/payments/pay_1/capture", body: `{}`, resp: payJSON},
		exchange{method: "POST", uri: "/v1/payments/pay_1/capture", body: `{"amount":600}`,
			header: map[string]string{"Idempotency-Key": "cap-1"}, resp: payJSON},
		exchange{method: "POST", uri: "/v1/payments/pay_1/capture", body: `{"amount":5000}`, status: 422,
			resp: `{"error":{"type":"invalid_request_error","code":"amount_exceeds_capturable","param":"amount","message":"Only 400 is left to capture."}}`},
		exchange{method: "POST", uri: "/v1/payments/pay_1/void", body: `{}`, status: 409,
			resp: `{"error":{"type":"invalid_request_error","code":"invalid_state","message":"A captured payment cannot be voided."}}`},
		exchange{method: "POST", uri: "/v1/payments/pay_3/void", body: `{}`, header: map[string]string{"Idempotency-Key": "v-1"},
			resp: strings.Replace(payDeclinedJSON, `"DECLINED"`, `"AUTHORIZATION_VOIDED"`, 1)},
		exchange{method: "POST", uri: "/v1/payments/pay_1/refunds", body: `{}`, resp: payJSON},
		exchange{method: "POST", uri: "/v1/payments/pay_1/refunds", body: `{"amount":100,"reason":"damaged"}`, resp: payJSON},
		exchange{method: "POST", uri: "/v1/payments/pay_1/refunds", body: `{"amount":1}`, status: 422,
			resp: `{"error":{"type":"invalid_request_error","code":"amount_exceeds_refundable","param":"amount","message":"Nothing is left to refund."}}`},
	)
	ctx := t.Context()
	if _, err := c.CapturePayment(ctx, "pay_1", nil); err != nil {
		t.Fatal(err)
	}
	pay, err := c.CapturePayment(ctx, "pay_1", &client.CaptureParams{Amount: new(int64(600))}, client.WithIdempotencyKey("cap-1"))
	if err != nil || pay.AmountCaptured != 600 {
		t.Fatalf("capture: %+v, %v", pay, err)
	}
	_, err = c.CapturePayment(ctx, "pay_1", &client.CaptureParams{Amount: new(int64(5000))})
	var e *client.Error
	if !errors.As(err, &e) || e.Code != client.CodeAmountExceedsCapturable || e.StatusCode != 422 {
		t.Errorf("over-capture: %v", err)
	}
	if _, err := c.VoidPayment(ctx, "pay_1"); !client.IsConflict(err) {
		t.Errorf("void of a captured payment: %v", err)
	}
	if pay, err := c.VoidPayment(ctx, "pay_3", client.WithIdempotencyKey("v-1")); err != nil || pay.Status != client.PaymentAuthorizationVoided {
		t.Errorf("void: %+v, %v", pay, err)
	}
	if _, err := c.RefundPayment(ctx, "pay_1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RefundPayment(ctx, "pay_1", &client.RefundParams{Amount: new(int64(100)), Reason: "damaged"}); err != nil {
		t.Fatal(err)
	}
	_, err = c.RefundPayment(ctx, "pay_1", &client.RefundParams{Amount: new(int64(1))})
	if !errors.As(err, &e) || e.Code != client.CodeAmountExceedsRefundable {
		t.Errorf("over-refund: %v", err)
	}
}

// verifyJSON is a verification: an operation of no payment.
const verifyJSON = `{"id":"op_9","object":"operation","kind":"verify","amount":0,"currency":"","outcome":"succeeded",
	"decline_code":"","gateway_reference":"sim_9","response_code":"00","message":"Approved","avs_code":"Y","cvv_code":"M",
	"network_transaction_id":"","gateway":"gw_1","credential_version":2,"payment_method":"pm_1","payment":null,
	"created_at":"2026-03-01T12:00:00Z","updated_at":"2026-03-01T12:00:00Z"}`

func TestVerificationAndOperations(t *testing.T) {
	t.Parallel()
	c := newClient(t,
		exchange{method: "POST", uri: "/v1/verifications", body: `{"payment_method":"pm_1","gateway":"gw_1"}`,
			header: map[string]string{"Idempotency-Key": "ver-1"}, status: 201, resp: verifyJSON},
		exchange{method: "GET", uri: "/v1/operations/op_2", resp: opJSON("op_2", "capture", 600, "succeeded", "")},
		exchange{method: "GET", uri: "/v1/operations/op_2/transcript", resp: `{"object":"transcript","operation":"op_2","exchanges":[
			{"method":"POST","url":"simulator://gw_1/capture",
			 "request_headers":{"Authorization":"[FILTERED]","Content-Type":"application/json","Idempotency-Key":"op_2"},
			 "request_body":"{\"amount\":600}","status":200,"response_body":"{\"ok\":true}",
			 "started_at":"2026-03-01T12:00:00Z","duration_ms":3},
			{"method":"POST","url":"https://psp.example/x","error":"connection reset","started_at":"2026-03-01T12:00:01Z","duration_ms":0}]}`},
		exchange{method: "GET", uri: "/v1/operations/op_1/transcript", resp: `{"object":"transcript","operation":"op_1","exchanges":[]}`},
		exchange{method: "GET", uri: "/v1/operations/op_x", status: 404,
			resp: `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"id","message":"No such operation: 'op_x'"}}`},
	)
	ctx := t.Context()
	v, err := c.CreateVerification(ctx, &client.VerificationParams{PaymentMethod: "pm_1", Gateway: "gw_1"}, client.WithIdempotencyKey("ver-1"))
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind != client.OperationVerify || v.Outcome != client.OutcomeSucceeded || v.Payment != "" || v.CredentialVersion != 2 {
		t.Errorf("verification: %+v", v)
	}
	o, err := c.Operation(ctx, "op_2")
	if err != nil {
		t.Fatal(err)
	}
	if want := op("op_2", client.OperationCapture, 600, client.OutcomeSucceeded); !reflect.DeepEqual(o, want) {
		t.Errorf("got  %+v\nwant %+v", o, want)
	}
	tr, err := c.OperationTranscript(ctx, "op_2")
	if err != nil {
		t.Fatal(err)
	}
	want := &client.Transcript{Object: "transcript", Operation: "op_2", Exchanges: []client.Exchange{
		{Method: "POST", URL: "simulator://gw_1/capture",
			RequestHeaders: map[string]string{"Authorization": "[FILTERED]", "Content-Type": "application/json", "Idempotency-Key": "op_2"},
			RequestBody:    `{"amount":600}`, Status: 200, ResponseBody: `{"ok":true}`,
			StartedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), DurationMS: 3},
		{Method: "POST", URL: "https://psp.example/x", Error: "connection reset", StartedAt: time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC)},
	}}
	if !reflect.DeepEqual(tr, want) {
		t.Errorf("got  %+v\nwant %+v", tr, want)
	}
	if tr, err := c.OperationTranscript(ctx, "op_1"); err != nil || tr.Exchanges == nil || len(tr.Exchanges) != 0 {
		t.Errorf("empty transcript: %+v, %v", tr, err)
	}
	if _, err := c.Operation(ctx, "op_x"); !client.IsNotFound(err) {
		t.Errorf("err = %v, want not found", err)
	}
}
