package spreedly

import (
	"context"
	"net/http"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
)

// TestPurchaseThroughRouter: a Spreedly client that purchases through a
// router's token gets routed — here past a gateway that is down.
func TestPurchaseThroughRouter(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	down, up := f.createTestGateway(t, a), f.createTestGateway(t, a)
	ctx := context.Background()
	p, err := f.eng.Authenticate(ctx, a.secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.UpdateGateway(ctx, p, down, engine.GatewayUpdate{Settings: map[string]any{"outage": true}}); err != nil {
		t.Fatal(err)
	}
	r, err := f.eng.CreateGateway(ctx, p, engine.GatewayInput{Type: engine.RouterType,
		Settings: map[string]any{"default": map[string]any{"cascade": []any{down, up}}}})
	if err != nil {
		t.Fatal(err)
	}
	card := f.createCard(t, a, "4111111111111111")
	res := f.post(t, a, "/v1/gateways/"+r.ID+"/purchase.json",
		`{"transaction":{"payment_method_token":"`+card+`","amount":1000,"currency_code":"USD"}}`)
	if res.status != http.StatusOK {
		t.Fatalf("purchase through a router: %d %s", res.status, res.body)
	}
	txn := res.obj(t, "transaction")
	if txn["succeeded"] != true || txn["gateway_token"] != up {
		t.Fatalf("routed purchase: succeeded %v on %v, want true on %s", txn["succeeded"], txn["gateway_token"], up)
	}
	// The capture-less purchase is now on the healthy gateway: a credit
	// (refund) follows it there.
	res = f.post(t, a, "/v1/transactions/"+txn["token"].(string)+"/credit.json", "")
	if res.status != http.StatusOK || res.obj(t, "transaction")["gateway_token"] != up {
		t.Fatalf("credit after a routed purchase: %d %s", res.status, res.body)
	}
}
