package native

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

func checkoutBody(gw, extra string) string {
	return `{"amount":25000,"currency":"NOK","merchant_reference":"order-7","return_url":"https://shop.example/return",` +
		`"items":[{"description":"Kaffe","quantity":2,"amount":20000},{"description":"Frakt","quantity":1,"amount":5000}],` +
		`"gateway":"` + gw + `"` + extra + `}`
}

// TestCheckoutSessionLifecycle: create, get, list and cancel over HTTP;
// another account sees none of it; the cancel's event goes out.
func TestCheckoutSessionLifecycle(t *testing.T) {
	t.Parallel()
	f := setup(t)
	na := f.account(t)
	key := na.SecretKey
	gw := f.createGateway(t, key)
	res := f.post(t, "/v1/checkout_sessions", key, checkoutBody(gw, `,"locale":"nb","expires_at":"2026-11-22T12:00:00Z"`))
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	cs := res.json(t)
	id := cs["id"].(string)
	if !strings.HasPrefix(id, "cs_") || cs["status"] != "open" || cs["url"] != "http://example.com/checkout/"+id ||
		cs["locale"] != "nb" || cs["expires_at"] != "2026-11-22T12:00:00Z" || cs["capture"] != true || cs["payment"] != nil {
		t.Errorf("created session: %s", res.body)
	}
	if got := f.get(t, "/v1/checkout_sessions/"+id, key); got.status != http.StatusOK || got.json(t)["id"] != id {
		t.Errorf("get: %d %s", got.status, got.body)
	}
	f.post(t, "/v1/checkout_sessions", key, checkoutBody(gw, ""))
	if data := listData(t, f.get(t, "/v1/checkout_sessions?limit=1", key), "/v1/checkout_sessions"); len(data) != 1 || data[0]["id"] == id {
		t.Errorf("first page of one: %v", data)
	}

	other := f.account(t).SecretKey
	for _, r := range []response{
		f.get(t, "/v1/checkout_sessions/"+id, other),
		f.post(t, "/v1/checkout_sessions/"+id+"/cancel", other, ""),
	} {
		if r.status != http.StatusNotFound {
			t.Errorf("another account: %d %s", r.status, r.body)
		}
	}
	if data := listData(t, f.get(t, "/v1/checkout_sessions", other), "/v1/checkout_sessions"); len(data) != 0 {
		t.Errorf("another account lists %d sessions", len(data))
	}
	if r := f.post(t, "/v1/checkout_sessions", other, checkoutBody(gw, "")); r.status != http.StatusNotFound || r.errorOf(t)["param"] != "gateway" {
		t.Errorf("another account's gateway: %d %s", r.status, r.body)
	}

	res = f.post(t, "/v1/checkout_sessions/"+id+"/cancel", key, "")
	if res.status != http.StatusOK || res.json(t)["status"] != "cancelled" || res.json(t)["closed_at"] == nil {
		t.Fatalf("cancel: %d %s", res.status, res.body)
	}
	if r := f.post(t, "/v1/checkout_sessions/"+id+"/cancel", key, ""); r.status != http.StatusConflict || r.errorOf(t)["code"] != "invalid_state" {
		t.Errorf("cancel again: %d %s", r.status, r.body)
	}
	if evs := f.eventTypes(t, key); len(evs) == 0 || evs[0] != payment.EventCheckoutCancelled+" "+id {
		t.Errorf("events: %v", evs)
	}
	// Past its expiry a get shows it expired.
	res = f.post(t, "/v1/checkout_sessions", key, checkoutBody(gw, `,"expires_at":"2026-11-22T10:30:00Z"`))
	late := res.json(t)["id"].(string)
	f.clock.Add(time.Hour)
	if r := f.get(t, "/v1/checkout_sessions/"+late, key); r.json(t)["status"] != "expired" {
		t.Errorf("a session past its expiry: %s", r.body)
	}
	if evs := f.eventTypes(t, key); evs[0] != payment.EventCheckoutExpired+" "+late {
		t.Errorf("events: %v", evs)
	}
}

// TestCheckoutSessionBadInput: every refusal is a 4xx in the native error
// shape naming the field.
func TestCheckoutSessionBadInput(t *testing.T) {
	t.Parallel()
	f := setup(t)
	key := f.account(t).SecretKey
	gw := f.createGateway(t, key)
	base := func(field, value string) string {
		m := map[string]string{"amount": "25000", "currency": `"NOK"`, "merchant_reference": `"order-7"`,
			"return_url": `"https://shop.example/return"`, "gateway": `"` + gw + `"`,
			"items": `[{"description":"Kaffe","quantity":2,"amount":20000},{"description":"Frakt","quantity":1,"amount":5000}]`}
		if value == "" {
			delete(m, field)
		} else {
			m[field] = value
		}
		var parts []string
		for k, v := range m {
			parts = append(parts, fmt.Sprintf("%q:%s", k, v))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	for _, tc := range []struct {
		name, body string
		status     int
		param      string
	}{
		{"amount differs from items", base("amount", "25001"), 422, "amount"},
		{"no amount", base("amount", "0"), 422, "amount"},
		{"unknown currency", base("currency", `"XXX"`), 422, "currency"},
		{"lower-case currency", base("currency", `"nok"`), 422, "currency"},
		{"past expires_at", base("expires_at", `"2020-01-01T00:00:00Z"`), 422, "expires_at"},
		{"far expires_at", base("expires_at", `"2027-01-01T00:00:00Z"`), 422, "expires_at"},
		{"bad expires_at", base("expires_at", `"tomorrow"`), 422, "expires_at"},
		{"relative return_url", base("return_url", `"/return"`), 422, "return_url"},
		{"ftp return_url", base("return_url", `"ftp://shop.example/"`), 422, "return_url"},
		{"javascript return_url", base("return_url", `"javascript:alert(1)"`), 422, "return_url"},
		{"return_url with credentials", base("return_url", `"https://u:p@shop.example/"`), 422, "return_url"},
		{"no return_url", base("return_url", ""), 422, "return_url"},
		{"bad cancel_url", base("cancel_url", `"shop"`), 422, "cancel_url"},
		{"no gateway", base("gateway", ""), 422, "gateway"},
		{"no such gateway", base("gateway", `"gw_nope"`), 404, "gateway"},
		{"no such customer", base("customer", `"cus_nope"`), 404, "customer"},
		{"save_card without customer", base("save_card", "true"), 422, "save_card"},
		{"bad locale", base("locale", `"de"`), 422, "locale"},
		{"negative item", base("items", `[{"description":"x","quantity":1,"amount":-1}]`), 422, "items[0].amount"},
		{"item without description", base("items", `[{"quantity":1,"amount":25000}]`), 422, "items[0].description"},
		{"card number in reference", base("merchant_reference", `"4242424242424242"`), 422, "merchant_reference"},
		{"unknown field", base("foo", "1"), 422, "foo"},
		{"string amount", base("amount", `"25000"`), 422, "amount"},
		{"gateway and router", base("router", `"gw_other"`), 422, "router"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.post(t, "/v1/checkout_sessions", key, tc.body)
			if res.status != tc.status {
				t.Fatalf("%d %s, want %d", res.status, res.body, tc.status)
			}
			if p := res.errorOf(t)["param"]; p != tc.param {
				t.Errorf("param %v, want %s (%s)", p, tc.param, res.body)
			}
		})
	}
}

// FuzzDecodeCheckoutSession feeds arbitrary bytes through what POST
// /v1/checkout_sessions does before it reads the store: it must not panic,
// and every refusal is a 4xx payment.Error naming a field (or the body).
func FuzzDecodeCheckoutSession(f *testing.F) {
	for _, seed := range []string{
		checkoutBody("gw_1", ""),
		checkoutBody("gw_1", `,"expires_at":"2030-01-02T15:04:05+01:00","locale":"no","save_card":true,"customer":"cus_1"`),
		`{"amount":1,"currency":"JPY","merchant_reference":"r","return_url":"http://[::1]:8080/r?a=b","router":"gw_r"}`,
		`{"amount":9223372036854775807,"items":[{"amount":9223372036854775807,"quantity":1,"description":"x"},{"amount":9223372036854775807,"quantity":1,"description":"y"}]}`,
		`{"items":[{}]}`, `{"items":null}`, `{"return_url":"https://a/\u0000"}`, `{"expires_at":""}`,
		`[]`, `null`, ``, `{}`, `{"amount":1e3}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req createCheckoutSessionRequest
		err := api.StrictUnmarshal(body, &req)
		var in engine.CheckoutInput
		if err == nil {
			in, err = req.input()
		}
		if err == nil {
			err = engine.ValidateCheckout(in)
		}
		if err == nil {
			var sum int64
			for _, it := range in.Items {
				sum += it.Amount
			}
			if len(in.Items) > 0 && sum != in.Amount {
				t.Fatalf("%q: accepted with amount %d and items summing to %d", body, in.Amount, sum)
			}
			return
		}
		e, ok := payment.AsError(err)
		if !ok {
			t.Fatalf("%q: error %v (%T) is not a payment.Error", body, err, err)
		}
		if e.Param == "" && e.Kind != payment.KindMalformed {
			t.Fatalf("%q: error %v names no param", body, err)
		}
		if s := api.Status(err); s < 400 || s >= 500 {
			t.Fatalf("%q: error %v has status %d", body, err, s)
		}
	})
}
