package native

import (
	"testing"

	"github.com/kassapay/kassa/internal/store/sqlite"
)

// TestKeyedPaymentsCostTwoWrites: over HTTP, a keyed purchase, capture or
// refund is two write transactions — the reservation (which claims the
// key) and the settle (which stores the answer) — and its replay is the
// very answer the first request got.
func TestKeyedPaymentsCostTwoWrites(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw, pm := f.createGateway(t, a.SecretKey), f.createPM(t, a.SecretKey)
	var stats interface{ Stats() sqlite.WriteStats } = f.store
	keyed := func(path, body, key string) response {
		return f.do(t, req{method: "POST", path: path, key: a.SecretKey, body: body, header: map[string]string{"Idempotency-Key": key}})
	}
	// The account's first keyed request makes its request-hash data key.
	keyed("/v1/payments", paymentBody(pm, gw, 500, false), "warm-up")

	before := stats.Stats().Units
	first := keyed("/v1/payments", paymentBody(pm, gw, 1000, false), "order-1")
	if first.status != 201 {
		t.Fatalf("authorize: %d %s", first.status, first.body)
	}
	id := first.json(t)["id"].(string)
	capture := keyed("/v1/payments/"+id+"/capture", `{"amount":400}`, "order-1-capture")
	refund := keyed("/v1/payments/"+id+"/refunds", `{"amount":100}`, "order-1-refund")
	if capture.status != 200 || refund.status != 200 {
		t.Fatalf("capture %d %s, refund %d %s", capture.status, capture.body, refund.status, refund.body)
	}
	if n := stats.Stats().Units - before; n != 6 {
		t.Errorf("%d write transactions for a keyed authorize, capture and refund, want 6", n)
	}
	for _, c := range []struct {
		path, body, key string
		first           response
	}{
		{"/v1/payments", paymentBody(pm, gw, 1000, false), "order-1", first},
		{"/v1/payments/" + id + "/capture", `{"amount":400}`, "order-1-capture", capture},
		{"/v1/payments/" + id + "/refunds", `{"amount":100}`, "order-1-refund", refund},
	} {
		again := keyed(c.path, c.body, c.key)
		if again.status != c.first.status || string(again.body) != string(c.first.body) || again.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("%s replayed %d %s, want %d %s", c.path, again.status, again.body, c.first.status, c.first.body)
		}
	}
}
