package client_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/kassapay/kassa/client"
)

// pmJSON is a payment method as the server renders it.
const pmJSON = `{
	"id": "pm_1",
	"object": "payment_method",
	"type": "card",
	"card": {"brand": "visa", "first6": "424242", "last4": "4242", "exp_month": 12, "exp_year": 2030,
		"holder_name": "Ada Lovelace", "fingerprint": "fp_abc"},
	"billing_address": {"line1": "1 Main St", "line2": "", "city": "Oslo", "postal_code": "0150", "state": "", "country": "NO"},
	"email": "ada@example.com",
	"storage_state": "retained",
	"test": true,
	"metadata": {"order": "1234"},
	"created_at": "2026-03-01T12:00:00.123456Z",
	"updated_at": "2026-03-01T12:05:00Z",
	"redacted_at": null
}`

// pmBareJSON is a payment method made without any optional field, then
// redacted.
const pmBareJSON = `{
	"id": "pm_2", "object": "payment_method", "type": "card",
	"card": {"brand": "mastercard", "first6": "555555", "last4": "4444", "exp_month": 1, "exp_year": 2031,
		"holder_name": "", "fingerprint": "fp_def"},
	"billing_address": null, "email": null, "storage_state": "redacted", "test": true, "metadata": {},
	"created_at": "2026-03-02T00:00:00Z", "updated_at": "2026-03-02T00:00:00Z", "redacted_at": "2026-03-02T01:00:00Z"
}`

var pm1 = &client.PaymentMethod{
	ID: "pm_1", Object: "payment_method", Type: "card",
	Card: client.Card{Brand: "visa", First6: "424242", Last4: "4242", ExpMonth: 12, ExpYear: 2030,
		HolderName: "Ada Lovelace", Fingerprint: "fp_abc"},
	BillingAddress: &client.Address{Line1: "1 Main St", City: "Oslo", PostalCode: "0150", Country: "NO"},
	Email:          "ada@example.com",
	StorageState:   client.StorageRetained,
	Test:           true,
	Metadata:       map[string]string{"order": "1234"},
	CreatedAt:      time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC),
	UpdatedAt:      time.Date(2026, 3, 1, 12, 5, 0, 0, time.UTC),
}

func TestCreatePaymentMethod(t *testing.T) {
	t.Parallel()
	c := newClient(t, exchange{
		method: "POST", uri: "/v1/payment_methods",
		header: map[string]string{"Idempotency-Key": "order-1234"},
		body: `{"type": "card",
			"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123", "holder_name": "Ada Lovelace"},
			"billing_address": {"line1": "1 Main St", "city": "Oslo", "postal_code": "0150", "country": "NO"},
			"email": "ada@example.com", "metadata": {"order": "1234"}, "retain": true}`,
		status:     201,
		respHeader: map[string]string{"X-Request-Id": "req_1", "Idempotent-Replayed": "false"},
		resp:       pmJSON,
	})
	var res client.Response
	got, err := c.CreatePaymentMethod(t.Context(), &client.PaymentMethodParams{
		Card: &client.CardParams{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "123",
			HolderName: "Ada Lovelace"},
		BillingAddress: &client.Address{Line1: "1 Main St", City: "Oslo", PostalCode: "0150", Country: "NO"},
		Email:          "ada@example.com",
		Metadata:       map[string]string{"order": "1234"},
		Retain:         true,
	}, client.WithIdempotencyKey("order-1234"), client.WithResponse(&res))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, pm1) {
		t.Errorf("got  %+v\nwant %+v", got, pm1)
	}
	if res.StatusCode != 201 || res.RequestID != "req_1" || res.Replayed || res.Header.Get("X-Request-Id") != "req_1" {
		t.Errorf("response = %+v", res)
	}
}

func TestCreatePaymentMethodReplayed(t *testing.T) {
	t.Parallel()
	ex := exchange{
		method: "POST", uri: "/v1/payment_methods",
		header: map[string]string{"Idempotency-Key": "k1"},
		body:   `{"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030}}`,
		status: 201,
	}
	first, replay := ex, ex
	first.resp, replay.resp = pmJSON, pmJSON
	replay.respHeader = map[string]string{"Idempotent-Replayed": "true"}
	c := newClient(t, first, replay)
	p := &client.PaymentMethodParams{Card: &client.CardParams{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030}}
	for i, want := range []bool{false, true} {
		var res client.Response
		pm, err := c.CreatePaymentMethod(t.Context(), p, client.WithIdempotencyKey("k1"), client.WithResponse(&res))
		if err != nil {
			t.Fatal(err)
		}
		if res.Replayed != want || pm.ID != "pm_1" {
			t.Errorf("call %d: Replayed = %v, want %v (pm %s)", i+1, res.Replayed, want, pm.ID)
		}
	}
	if p.Type != "" {
		t.Errorf("CreatePaymentMethod changed the caller's params: Type = %q", p.Type)
	}
}

func TestPaymentMethod(t *testing.T) {
	t.Parallel()
	c := newClient(t,
		exchange{method: "GET", uri: "/v1/payment_methods/pm_2", resp: pmBareJSON},
		exchange{method: "GET", uri: "/v1/payment_methods/pm%2F..%2Fapi_keys", status: 404,
			resp: `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such payment_method: 'pm/../api_keys'","param":"id"}}`},
	)
	pm, err := c.PaymentMethod(t.Context(), "pm_2")
	if err != nil {
		t.Fatal(err)
	}
	redacted := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	if pm.BillingAddress != nil || pm.Email != "" || pm.StorageState != client.StorageRedacted ||
		pm.RedactedAt == nil || !pm.RedactedAt.Equal(redacted) || pm.Metadata == nil {
		t.Errorf("got %+v", pm)
	}
	// An id is one path segment, whatever it holds.
	if _, err := c.PaymentMethod(t.Context(), "pm/../api_keys"); !client.IsNotFound(err) {
		t.Errorf("err = %v, want not found", err)
	}
}

func TestEmptyID(t *testing.T) {
	t.Parallel()
	c := newClient(t) // no request may arrive
	ctx := t.Context()
	for name, call := range map[string]func() error{
		"PaymentMethod":       func() error { _, err := c.PaymentMethod(ctx, ""); return err },
		"UpdatePaymentMethod": func() error { _, err := c.UpdatePaymentMethod(ctx, "", nil); return err },
		"RetainPaymentMethod": func() error { _, err := c.RetainPaymentMethod(ctx, ""); return err },
		"RedactPaymentMethod": func() error { _, err := c.RedactPaymentMethod(ctx, ""); return err },
		"RollAPIKey":          func() error { _, err := c.RollAPIKey(ctx, "", nil); return err },
		"RevokeAPIKey":        func() error { _, err := c.RevokeAPIKey(ctx, ""); return err },
		"Gateway":             func() error { _, err := c.Gateway(ctx, ""); return err },
		"UpdateGateway":       func() error { _, err := c.UpdateGateway(ctx, "", nil); return err },
		"SetGatewayCredentials": func() error {
			_, err := c.SetGatewayCredentials(ctx, "", &client.GatewayCredentialsParams{Credentials: map[string]any{}})
			return err
		},
		"GatewayCredentialHistory": func() error { _, err := c.GatewayCredentialHistory(ctx, ""); return err },
		"RetainGateway":            func() error { _, err := c.RetainGateway(ctx, ""); return err },
		"RedactGateway":            func() error { _, err := c.RedactGateway(ctx, ""); return err },
		"Payment":                  func() error { _, err := c.Payment(ctx, ""); return err },
		"CapturePayment":           func() error { _, err := c.CapturePayment(ctx, "", nil); return err },
		"VoidPayment":              func() error { _, err := c.VoidPayment(ctx, ""); return err },
		"RefundPayment":            func() error { _, err := c.RefundPayment(ctx, "", nil); return err },
		"Operation":                func() error { _, err := c.Operation(ctx, ""); return err },
		"OperationTranscript":      func() error { _, err := c.OperationTranscript(ctx, ""); return err },
	} {
		if err := call(); err == nil {
			t.Errorf("%s with an empty id: no error", name)
		}
	}
}

func TestListPaymentMethods(t *testing.T) {
	t.Parallel()
	c := newClient(t,
		exchange{method: "GET", uri: "/v1/payment_methods",
			resp: `{"object":"list","data":[` + pmJSON + `,` + pmBareJSON + `],"has_more":false,"url":"/v1/payment_methods"}`},
		exchange{method: "GET", uri: "/v1/payment_methods?limit=1&starting_after=pm_0",
			resp: `{"object":"list","data":[` + pmJSON + `],"has_more":true,"url":"/v1/payment_methods"}`},
		exchange{method: "GET", uri: "/v1/payment_methods",
			resp: `{"object":"list","data":[],"has_more":false,"url":"/v1/payment_methods"}`},
	)
	ctx := t.Context()
	l, err := c.ListPaymentMethods(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.Object != "list" || l.HasMore || l.URL != "/v1/payment_methods" || len(l.Data) != 2 ||
		!reflect.DeepEqual(l.Data[0], pm1) || l.Data[1].ID != "pm_2" {
		t.Errorf("got %+v", l)
	}
	l, err = c.ListPaymentMethods(ctx, &client.ListParams{Limit: 1, StartingAfter: "pm_0"})
	if err != nil {
		t.Fatal(err)
	}
	if !l.HasMore || len(l.Data) != 1 {
		t.Errorf("got %+v", l)
	}
	l, err = c.ListPaymentMethods(ctx, &client.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Data) != 0 {
		t.Errorf("got %+v", l)
	}
}

// pmList renders a page of minimal payment methods.
func pmList(hasMore bool, ids ...string) string {
	s := `{"object":"list","url":"/v1/payment_methods","has_more":`
	if hasMore {
		s += "true"
	} else {
		s += "false"
	}
	s += `,"data":[`
	for i, id := range ids {
		if i > 0 {
			s += ","
		}
		s += `{"id":"` + id + `","object":"payment_method","type":"card","card":{},"metadata":{},` +
			`"created_at":"2026-03-01T00:00:00Z","updated_at":"2026-03-01T00:00:00Z"}`
	}
	return s + "]}"
}

func TestAllPaymentMethods(t *testing.T) {
	t.Parallel()
	c := newClient(t,
		exchange{method: "GET", uri: "/v1/payment_methods?limit=2&starting_after=pm_9", resp: pmList(true, "pm_8", "pm_7")},
		exchange{method: "GET", uri: "/v1/payment_methods?limit=2&starting_after=pm_7", resp: pmList(true, "pm_6", "pm_5")},
		exchange{method: "GET", uri: "/v1/payment_methods?limit=2&starting_after=pm_5", resp: pmList(false, "pm_4")},
	)
	p := &client.ListParams{Limit: 2, StartingAfter: "pm_9"}
	var ids []string
	for pm, err := range c.AllPaymentMethods(t.Context(), p) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, pm.ID)
	}
	if want := []string{"pm_8", "pm_7", "pm_6", "pm_5", "pm_4"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("ids = %v, want %v", ids, want)
	}
	if *p != (client.ListParams{Limit: 2, StartingAfter: "pm_9"}) {
		t.Errorf("params changed: %+v", p)
	}
}

func TestAllPaymentMethodsStopsEarly(t *testing.T) {
	t.Parallel()
	// Only one page may be fetched: the loop breaks inside it.
	c := newClient(t, exchange{method: "GET", uri: "/v1/payment_methods", resp: pmList(true, "pm_8", "pm_7")})
	n := 0
	for _, err := range c.AllPaymentMethods(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		break
	}
	if n != 1 {
		t.Errorf("yielded %d, want 1", n)
	}
}

func TestAllPaymentMethodsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		exs  []exchange
		want int // items yielded before the error
	}{
		{"error on a later page", []exchange{
			{method: "GET", uri: "/v1/payment_methods", resp: pmList(true, "pm_8")},
			{method: "GET", uri: "/v1/payment_methods?starting_after=pm_8", status: 500,
				resp: `{"error":{"type":"api_error","code":"internal_error","message":"An internal error occurred."}}`},
		}, 1},
		{"has_more with no data", []exchange{
			{method: "GET", uri: "/v1/payment_methods", resp: pmList(true)},
		}, 0},
		{"cursor does not advance", []exchange{
			{method: "GET", uri: "/v1/payment_methods", resp: pmList(true, "pm_8")},
			{method: "GET", uri: "/v1/payment_methods?starting_after=pm_8", resp: pmList(true, "pm_8")},
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, tt.exs...)
			n, errs := 0, 0
			for pm, err := range c.AllPaymentMethods(t.Context(), nil) {
				if err != nil {
					if pm != nil {
						t.Errorf("got a payment method with the error")
					}
					errs++
					continue
				}
				n++
			}
			if n != tt.want || errs != 1 {
				t.Errorf("yielded %d items and %d errors, want %d and 1", n, errs, tt.want)
			}
		})
	}
}

func TestUpdatePaymentMethod(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    *client.UpdatePaymentMethodParams
		body string
	}{
		{"nil params", nil, `{}`},
		{"nothing set", &client.UpdatePaymentMethodParams{}, `{}`},
		{"one card field", &client.UpdatePaymentMethodParams{Card: &client.UpdateCardParams{ExpYear: new(2031)}},
			`{"card":{"exp_year":2031}}`},
		{"zero values are sent when set", &client.UpdatePaymentMethodParams{
			Card:     &client.UpdateCardParams{ExpMonth: new(1), HolderName: new("")},
			Email:    new(""),
			Metadata: map[string]string{"order": "", "note": "vip"},
		}, `{"card":{"exp_month":1,"holder_name":""},"email":"","metadata":{"order":"","note":"vip"}}`},
		{"address", &client.UpdatePaymentMethodParams{BillingAddress: &client.Address{Line1: "2 Side St", Country: "SE"}},
			`{"billing_address":{"line1":"2 Side St","country":"SE"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, exchange{method: "POST", uri: "/v1/payment_methods/pm_1",
				header: map[string]string{"Idempotency-Key": "u1"}, body: tt.body, resp: pmJSON})
			pm, err := c.UpdatePaymentMethod(t.Context(), "pm_1", tt.p, client.WithIdempotencyKey("u1"))
			if err != nil {
				t.Fatal(err)
			}
			if pm.ID != "pm_1" {
				t.Errorf("got %+v", pm)
			}
		})
	}
}

func TestRetainRedact(t *testing.T) {
	t.Parallel()
	c := newClient(t,
		exchange{method: "POST", uri: "/v1/payment_methods/pm_1/retain", body: `{}`, resp: pmJSON},
		exchange{method: "POST", uri: "/v1/payment_methods/pm_2/redact", body: `{}`,
			header: map[string]string{"Idempotency-Key": "r2"}, resp: pmBareJSON},
		exchange{method: "POST", uri: "/v1/payment_methods/pm_2/retain", body: `{}`, status: 409,
			respHeader: map[string]string{"X-Request-Id": "req_9"},
			resp:       `{"error":{"type":"invalid_request_error","code":"invalid_state","message":"The payment method is redacted."}}`},
	)
	ctx := t.Context()
	pm, err := c.RetainPaymentMethod(ctx, "pm_1")
	if err != nil || pm.StorageState != client.StorageRetained {
		t.Fatalf("retain: %+v, %v", pm, err)
	}
	pm, err = c.RedactPaymentMethod(ctx, "pm_2", client.WithIdempotencyKey("r2"))
	if err != nil || pm.StorageState != client.StorageRedacted {
		t.Fatalf("redact: %+v, %v", pm, err)
	}
	var res client.Response
	_, err = c.RetainPaymentMethod(ctx, "pm_2", client.WithResponse(&res))
	var e *client.Error
	if !errors.As(err, &e) || !client.IsConflict(err) || e.Code != client.CodeInvalidState || e.RequestID != "req_9" {
		t.Errorf("retain of a redacted payment method: %v", err)
	}
	if res.StatusCode != 409 || res.RequestID != "req_9" {
		t.Errorf("response = %+v", res)
	}
}
