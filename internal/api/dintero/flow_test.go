package dintero

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
)

// TestIntegrationFlow drives the dialect as one Dintero integration does,
// from its client credentials to money moving: an access token; a gateway
// credential through the admin API; a customer and a token of it; a payment
// (made through kassa's native API until checkout sessions exist) with the
// customer's card on the gateway the credential made; then the transaction
// read, partly captured, partly refunded and its remainder voided. Each
// step uses what the one before it made, on both stores.
func TestIntegrationFlow(t *testing.T) {
	onStores(t, func(t *testing.T, f *fixture) {
		m := f.merchant(t, false)
		tok := f.token(t, m)
		call := func(method, path, body string, want int) map[string]any {
			t.Helper()
			res := f.do(t, req{method: method, path: path, body: body, bearer: tok})
			if res.status != want {
				t.Fatalf("%s %s: HTTP %d, want %d: %s", method, path, res.status, want, res.body)
			}
			return res.json(t)
		}

		cred := call("PUT", credPath("simulator"), `{"name":"main","description":"the shop's simulator","data":{"login":"fjord"}}`,
			http.StatusCreated)
		if cred["name"] != "main" || cred["version"] != 1.0 {
			t.Fatalf("credential %v", cred)
		}
		gw := engine.NamedCredentialGatewayID(m.id, "simulator", "main")

		users := "/v1/accounts/" + m.id + "/customers/users"
		call("POST", users, `{"customer_id":"c-1","email":"kari@example.com","first_name":"Kari","last_name":"Nordmann"}`, http.StatusOK)
		tokenRes := call("POST", users+"/c-1/tokens", `{"type":"sha1:email","value":"a1b79ef1a62d94ffa86b3f3d846df0ee3993af92"}`,
			http.StatusCreated)
		if tokenRes["token_id"] == "" {
			t.Fatalf("customer token %v", tokenRes)
		}

		// The customer is kassa's: the card and the payment name it.
		customers := f.native(t, m.secret, "GET", "/v1/customers", "")["data"].([]any)
		if len(customers) != 1 || customers[0].(map[string]any)["external_id"] != "c-1" {
			t.Fatalf("native customers %v", customers)
		}
		cus := customers[0].(map[string]any)["id"].(string)
		pm := f.native(t, m.secret, "POST", "/v1/payment_methods", `{"type":"card","customer":"`+cus+`","retain":true,`+
			`"card":{"number":"4000000000000002","exp_month":9,"exp_year":2030,"cvc":"123"}}`)["id"].(string)
		pay := f.native(t, m.secret, "POST", "/v1/payments", `{"amount":10000,"currency":"NOK","capture":false,`+
			`"reference":"order-1","payment_method":"`+pm+`","gateway":"`+gw+`"}`)
		if pay["status"] != "AUTHORIZED" || pay["customer"] != cus {
			t.Fatalf("payment %v", pay)
		}

		id := transactionID(m.id, pay["id"].(string))
		tx := call("GET", txPath(id), "", http.StatusOK)
		if tx["status"] != "AUTHORIZED" || tx["amount"] != 10000.0 || tx["merchant_reference"] != "order-1" {
			t.Fatalf("transaction %v", tx)
		}
		if tx = call("POST", txPath(id, "capture"), `{"amount":6000,"capture_reference":"order-1"}`, http.StatusOK); tx["status"] != "PARTIALLY_CAPTURED" {
			t.Fatalf("after capture %v", tx)
		}
		if tx = call("POST", txPath(id, "refund"), `{"amount":1000,"reason":"returned"}`, http.StatusOK); tx["status"] != "PARTIALLY_CAPTURED_REFUNDED" {
			t.Fatalf("after refund %v", tx)
		}
		if tx = call("POST", txPath(id, "void"), "", http.StatusOK); tx["status"] != "PARTIALLY_REFUNDED" {
			t.Fatalf("after void %v", tx)
		}

		// The card is the customer's card token, and the money moved on the
		// credential's gateway, version 1.
		res := f.do(t, req{method: "GET", path: "/v1/card-tokens?customer_id=c-1", bearer: tok})
		var cards []map[string]any
		if res.status != http.StatusOK || json.Unmarshal(res.body, &cards) != nil || len(cards) != 1 ||
			cards[0]["id"] != cardTokenID(m.id, pm) || cards[0]["customer_id"] != "c-1" {
			t.Fatalf("the customer's card tokens: HTTP %d %s", res.status, res.body)
		}
		stored := f.native(t, m.secret, "GET", "/v1/payments/"+pay["id"].(string), "")
		if stored["gateway"] != gw || stored["amount_captured"] != 6000.0 || stored["amount_refunded"] != 1000.0 {
			t.Fatalf("stored payment %v", stored)
		}
		for _, op := range stored["operations"].([]any) {
			if v := op.(map[string]any)["credential_version"]; v != nil && v != 1.0 {
				t.Fatalf("operation on credential version %v: %v", v, op)
			}
		}
		f.noSecrets(t, m.id, "4000000000000002", `"123"`, m.secret)
	})
}
