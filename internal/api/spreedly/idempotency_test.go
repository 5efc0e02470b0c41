package spreedly

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// keyedPost sends a POST with an Idempotency-Key.
func (f *fixture) keyedPost(a account, path, body, key string) response {
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(api.IdempotencyKeyHeader, key)
	r.SetBasicAuth(a.env, a.secret)
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

// TestIdempotencyKey: the Spreedly dialect honours Idempotency-Key on its
// POSTs like the native API — a retry replays the first transaction, and a
// retry of a request that died after its purchase answers with that
// purchase's transaction instead of charging again.
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw := f.createTestGateway(t, a)
	pm := f.createCard(t, a, visa)
	path := "/v1/gateways/" + gw + "/purchase.json"

	first := f.keyedPost(a, path, purchaseBody(pm, 1000), "order-1-pay")
	if first.status != http.StatusOK {
		t.Fatalf("purchase: %d %s", first.status, first.body)
	}
	again := f.keyedPost(a, path, purchaseBody(pm, 1000), "order-1-pay")
	if again.status != http.StatusOK || !bytes.Equal(again.body, first.body) || again.header.Get(api.IdempotentReplayedHeader) != "true" {
		t.Fatalf("retry: %d %s, want the replay of the first", again.status, again.body)
	}
	wantErrors(t, f.keyedPost(a, path, purchaseBody(pm, 1001), "order-1-pay"), http.StatusUnprocessableEntity, "Idempotency-Key", keyInvalid)
	wantErrors(t, f.keyedPost(a, path, purchaseBody(pm, 1000), "4000056655665556"), http.StatusUnprocessableEntity, "Idempotency-Key", keyInvalid)

	// A request that purchased under its key and died before answering:
	// staged through the engine with the same claim the dialect makes.
	body := purchaseBody(pm, 2000)
	p, err := f.eng.Authenticate(context.Background(), a.secret)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.eng.ClaimIdempotencyKey(context.Background(), a.env, "order-2-pay", "POST", path, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	capture := true
	pay, err := f.eng.CreatePayment(engine.WithIdempotencyClaim(context.Background(), c), p, engine.PaymentInput{
		Amount: 2000, Currency: "USD", PaymentMethodID: pm, GatewayID: gw, Capture: &capture, Reference: "order-1"})
	if err != nil {
		t.Fatal(err)
	}
	res := f.keyedPost(a, path, body, "order-2-pay")
	if res.status != http.StatusOK {
		t.Fatalf("recovering retry: %d %s", res.status, res.body)
	}
	txn := res.obj(t, "transaction")
	if txn["token"] != pay.Operations[0].ID || txn["amount"] != 2000.0 || txn["succeeded"] != true {
		t.Errorf("recovering retry answered %s, want transaction %s", res.body, pay.Operations[0].ID)
	}
	ops, _, err := f.eng.Operations(context.Background(), a.env, payment.OperationFilter{ListParams: payment.ListParams{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	purchases := 0
	for _, op := range ops {
		if op.Kind == "purchase" && op.Amount == 2000 {
			purchases++
		}
	}
	if purchases != 1 {
		t.Errorf("%d purchases of 2000, want 1", purchases)
	}
}
