package spreedly

import (
	"strings"
	"testing"
)

func purchaseBody(pm string, amount int) string {
	return `{"transaction":{"payment_method_token":"` + pm + `","amount":` + itoa(amount) +
		`,"currency_code":"USD","order_id":"order-1","description":"Two bikes","email":"kari@example.com","ip":"192.0.2.1"}}`
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func TestPurchaseAndFollowUpsJSON(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw := f.createTestGateway(t, a)
	pm := f.createCard(t, a, visa)

	res := f.post(t, a, "/v1/gateways/"+gw+"/purchase.json", purchaseBody(pm, 1000))
	if res.status != 200 {
		t.Fatalf("purchase: %d %s", res.status, res.body)
	}
	txn := res.obj(t, "transaction")
	for k, want := range map[string]any{
		"transaction_type": "Purchase", "succeeded": true, "state": "succeeded", "amount": 1000.0, "currency_code": "USD",
		"order_id": "order-1", "description": "Two bikes", "email": "kari@example.com", "ip": "192.0.2.1", "gateway_token": gw,
		"gateway_type": "test", "on_test_gateway": true, "message_key": "messages.transaction_succeeded", "message": "Succeeded!",
	} {
		if txn[k] != want {
			t.Errorf("%s = %v, want %v", k, txn[k], want)
		}
	}
	purchase := txn["token"].(string)
	if resp := txn["response"].(map[string]any); resp["success"] != true || resp["result_unknown"] != false {
		t.Errorf("response %v", resp)
	}
	if txn["payment_method"].(map[string]any)["token"] != pm {
		t.Errorf("payment method %v", txn["payment_method"])
	}
	// Shown later, the same.
	res = f.get(t, a, "/v1/transactions/"+purchase+".json")
	if res.status != 200 || res.obj(t, "transaction")["order_id"] != "order-1" || res.obj(t, "transaction")["token"] != purchase {
		t.Fatalf("show: %d %s", res.status, res.body)
	}
	// A partial credit, then the rest.
	res = f.post(t, a, "/v1/transactions/"+purchase+"/credit.json", `{"transaction":{"amount":300}}`)
	if res.status != 200 {
		t.Fatalf("credit: %d %s", res.status, res.body)
	}
	credit := res.obj(t, "transaction")
	if credit["transaction_type"] != "Credit" || credit["amount"] != 300.0 || credit["reference_token"] != purchase || credit["succeeded"] != true {
		t.Errorf("credit %s", res.body)
	}
	res = f.post(t, a, "/v1/transactions/"+purchase+"/credit.json", "")
	if res.status != 200 || res.obj(t, "transaction")["amount"] != 700.0 {
		t.Fatalf("credit of the rest: %d %s", res.status, res.body)
	}
	// Nothing is left.
	wantErrors(t, f.post(t, a, "/v1/transactions/"+purchase+"/credit.json", ""), 422, "", keyInvalidState)

	// Authorize, capture part, void is refused after a capture.
	res = f.post(t, a, "/v1/gateways/"+gw+"/authorize.json", purchaseBody(pm, 500))
	if res.status != 200 || res.obj(t, "transaction")["transaction_type"] != "Authorization" {
		t.Fatalf("authorize: %d %s", res.status, res.body)
	}
	auth := res.obj(t, "transaction")["token"].(string)
	res = f.post(t, a, "/v1/transactions/"+auth+"/capture.json", `{"transaction":{"amount":200,"currency_code":"USD"}}`)
	if res.status != 200 || res.obj(t, "transaction")["transaction_type"] != "Capture" || res.obj(t, "transaction")["amount"] != 200.0 ||
		res.obj(t, "transaction")["reference_token"] != auth {
		t.Fatalf("capture: %d %s", res.status, res.body)
	}
	wantErrors(t, f.post(t, a, "/v1/transactions/"+auth+"/capture.json", `{"transaction":{"amount":100,"currency_code":"EUR"}}`), 422, "currency_code", keyInvalid)

	res = f.post(t, a, "/v1/gateways/"+gw+"/authorize.json", purchaseBody(pm, 500))
	auth2 := res.obj(t, "transaction")["token"].(string)
	res = f.post(t, a, "/v1/transactions/"+auth2+"/void.json", "")
	if res.status != 200 || res.obj(t, "transaction")["transaction_type"] != "Void" || res.obj(t, "transaction")["reference_token"] != auth2 {
		t.Fatalf("void: %d %s", res.status, res.body)
	}
	wantErrors(t, f.post(t, a, "/v1/transactions/"+auth2+"/capture.json", ""), 422, "", keyInvalidState)
	wantErrors(t, f.post(t, a, "/v1/transactions/op_nope/capture.json", ""), 404, "", keyTxnMissing)
	wantErrors(t, f.post(t, a, "/v1/transactions/"+auth2+"/complete.json", ""), 422, "", keyUnsupported)
	wantErrors(t, f.post(t, a, "/v1/transactions/"+auth2+"/confirm.json", ""), 422, "", keyUnsupported)
	wantErrors(t, f.post(t, a, "/v1/gateways/"+gw+"/offsite_purchase.json", ""), 422, "", keyUnsupported)
}

func TestDeclinedPurchase(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw := f.createTestGateway(t, a)
	declined := f.createCard(t, a, visaDecline)
	res := f.post(t, a, "/v1/gateways/"+gw+"/purchase.json", purchaseBody(declined, 1000))
	if res.status != 422 {
		t.Fatalf("declined purchase: %d %s", res.status, res.body)
	}
	txn := res.obj(t, "transaction")
	if txn["succeeded"] != false || txn["state"] != "gateway_processing_failed" || txn["response"].(map[string]any)["success"] != false {
		t.Errorf("declined %s", res.body)
	}
	// gateway_specific_fields of the gateway's own type are used; others
	// ignored.
	pm := f.createCard(t, a, visa)
	res = f.post(t, a, "/v1/gateways/"+gw+"/purchase.json", `{"transaction":{"payment_method_token":"`+pm+
		`","amount":100,"currency_code":"USD","gateway_specific_fields":{"test":{"simulate_decline":true,"idempotency_key":"k-1"},"stripe":{"x":1}}}}`)
	if res.status != 422 || res.obj(t, "transaction")["state"] != "gateway_processing_failed" {
		t.Fatalf("simulated decline: %d %s", res.status, res.body)
	}
	if gsf := res.obj(t, "transaction")["gateway_specific_fields"].(map[string]any); len(gsf) != 1 || gsf["test"] == nil {
		t.Errorf("gateway_specific_fields %v", gsf)
	}
}

func TestPurchaseXML(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw := f.createTestGateway(t, a)
	pm := f.createCard(t, a, visa)
	res := f.post(t, a, "/v1/gateways/"+gw+"/purchase.xml", `<transaction>
  <payment_method_token>`+pm+`</payment_method_token>
  <amount>100</amount>
  <currency_code>USD</currency_code>
  <retain_on_success>true</retain_on_success>
  <gateway_specific_fields><test><simulate_decline>false</simulate_decline></test></gateway_specific_fields>
</transaction>`)
	if res.status != 200 {
		t.Fatalf("purchase: %d %s", res.status, res.body)
	}
	res.wellFormedXML(t)
	body := string(res.body)
	for _, want := range []string{"<transaction_type>Purchase</transaction_type>", `<succeeded type="boolean">true</succeeded>`,
		`<amount type="integer">100</amount>`, `<message key="messages.transaction_succeeded">Succeeded!</message>`,
		`<retain_on_success type="boolean">true</retain_on_success>`, "<storage_state>retained</storage_state>",
		`<simulate_decline type="boolean">false</simulate_decline>`, "<response>"} {
		if !strings.Contains(body, want) {
			t.Errorf("XML lacks %s:\n%s", want, body)
		}
	}
	token := between(body, "<token>", "</token>")
	res = f.post(t, a, "/v1/transactions/"+token+"/credit.xml", `<transaction><amount type="integer">40</amount></transaction>`)
	res.wellFormedXML(t)
	if res.status != 200 || !strings.Contains(string(res.body), "<reference_token>"+token+"</reference_token>") {
		t.Errorf("credit: %d %s", res.status, res.body)
	}
	res = f.get(t, a, "/v1/transactions.xml")
	res.wellFormedXML(t)
	if strings.Count(string(res.body), "<transaction>") != 2 {
		t.Errorf("list %s", res.body)
	}
}

func TestTransactionBadInput(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw := f.createTestGateway(t, a)
	pm := f.createCard(t, a, visa)
	for _, tc := range []struct {
		path, body string
		status     int
		attr, key  string
	}{
		{"purchase.json", `{"transaction":{"payment_method_token":"` + pm + `","amount":"100","currency_code":"USD"}}`, 422, "amount", keyInvalid},
		{"purchase.json", `{"transaction":{"payment_method_token":"` + pm + `","amount":-100,"currency_code":"USD"}}`, 422, "amount", keyInvalid},
		{"purchase.json", `{"transaction":{"payment_method_token":"` + pm + `","amount":1.5,"currency_code":"USD"}}`, 422, "amount", keyInvalid},
		{"purchase.json", `{"transaction":{"payment_method_token":"` + pm + `","currency_code":"USD"}}`, 422, "amount", keyBlank},
		{"purchase.json", `{"transaction":{"payment_method_token":"` + pm + `","amount":100}}`, 422, "currency_code", keyBlank},
		{"purchase.json", `{"transaction":{"amount":100,"currency_code":"USD"}}`, 422, "payment_method_token", keyBlank},
		{"purchase.json", `{"transaction":{"payment_method_token":"` + pm + `","amount":100,"currency_code":"XXQ"}}`, 422, "currency_code", keyInvalid},
		{"purchase.json", `{"transaction":{"payment_method_token":"pm_nope","amount":100,"currency_code":"USD"}}`, 404, "", keyPMMissing},
		{"purchase.json", `{"transaction":`, 400, "", keyMalformed},
		{"authorize.json", `{"transaction":{"payment_method_token":"` + pm + `","amount":100,"currency_code":"USD","stored_credential_initiator":"robot"}}`, 422, "stored_credential_initiator", keyInvalid},
		{"general_credit.json", `{"transaction":{"payment_method_token":"` + pm + `","amount":0,"currency_code":"USD"}}`, 422, "amount", keyInvalid},
		{"purchase.xml", `<transaction><payment_method_token>` + pm + `</payment_method_token><amount>ten</amount><currency_code>USD</currency_code></transaction>`, 422, "amount", keyInvalid},
		{"purchase.xml", `<transaction><payment_method_token>` + pm + `</payment_method_token><amount>-5</amount><currency_code>USD</currency_code></transaction>`, 422, "amount", keyInvalid},
		{"purchase.xml", `<transaction><amount>`, 400, "", keyMalformed},
	} {
		res := f.post(t, a, "/v1/gateways/"+gw+"/"+tc.path, tc.body)
		if strings.HasSuffix(tc.path, ".xml") {
			res.wellFormedXML(t)
			if res.status != tc.status || !strings.Contains(string(res.body), `key="`+tc.key+`"`) ||
				(tc.attr != "" && !strings.Contains(string(res.body), `attribute="`+tc.attr+`"`)) {
				t.Errorf("%s %s: %d %s", tc.path, tc.body, res.status, res.body)
			}
			continue
		}
		t.Run(tc.path+" "+tc.body, func(t *testing.T) { wantErrors(t, res, tc.status, tc.attr, tc.key) })
	}
	// Nothing happened.
	if res := f.get(t, a, "/v1/transactions.json"); len(res.json(t)["transactions"].([]any)) != 0 {
		t.Errorf("refused requests made transactions: %s", res.body)
	}
	// A gateway that is redacted cannot be used.
	f.put(t, a, "/v1/gateways/"+gw+"/redact.json", "")
	wantErrors(t, f.post(t, a, "/v1/gateways/"+gw+"/purchase.json", purchaseBody(pm, 100)), 422, "", keyInvalidState)
}

func TestStandaloneTransactionsAndLists(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw := f.createTestGateway(t, a)
	pm := f.createCard(t, a, visa)
	other := f.createCard(t, a, "5555555555554444")

	var tokens []string
	for _, tc := range []struct{ action, body, typ string }{
		{"verify", `{"transaction":{"payment_method_token":"` + pm + `"}}`, "Verification"},
		{"store", `{"transaction":{"payment_method_token":"` + pm + `"}}`, "Store"},
		{"general_credit", `{"transaction":{"payment_method_token":"` + pm + `","amount":250,"currency_code":"EUR"}}`, "GeneralCredit"},
		{"purchase", `{"transaction":{"payment_method_token":"` + other + `","amount":100,"currency_code":"EUR"}}`, "Purchase"},
	} {
		res := f.post(t, a, "/v1/gateways/"+gw+"/"+tc.action+".json", tc.body)
		if res.status != 200 {
			t.Fatalf("%s: %d %s", tc.action, res.status, res.body)
		}
		txn := res.obj(t, "transaction")
		if txn["transaction_type"] != tc.typ || txn["succeeded"] != true {
			t.Errorf("%s: %s", tc.action, res.body)
		}
		if tc.action == "general_credit" && (txn["amount"] != 250.0 || txn["currency_code"] != "EUR") {
			t.Errorf("general credit %s", res.body)
		}
		tokens = append(tokens, txn["token"].(string))
	}
	res := f.post(t, a, "/v1/gateways/"+gw+"/verify.xml", `<transaction><payment_method_token>`+pm+`</payment_method_token></transaction>`)
	res.wellFormedXML(t)
	if res.status != 200 || !strings.Contains(string(res.body), "<transaction_type>Verification</transaction_type>") {
		t.Fatalf("verify XML: %d %s", res.status, res.body)
	}
	tokens = append(tokens, between(string(res.body), "<token>", "</token>"))

	list := func(path string) []string {
		t.Helper()
		res := f.get(t, a, path)
		if res.status != 200 {
			t.Fatalf("%s: %d %s", path, res.status, res.body)
		}
		var out []string
		for _, x := range res.json(t)["transactions"].([]any) {
			out = append(out, x.(map[string]any)["token"].(string))
		}
		return out
	}
	if got, want := strings.Join(list("/v1/transactions.json"), ","), strings.Join(tokens, ","); got != want {
		t.Errorf("list\n got %s\nwant %s", got, want)
	}
	if got := list("/v1/transactions.json?since_token=" + tokens[1]); strings.Join(got, ",") != strings.Join(tokens[2:], ",") {
		t.Errorf("since_token %v", got)
	}
	if got := list("/v1/transactions.json?order=desc"); got[0] != tokens[4] {
		t.Errorf("desc %v", got)
	}
	if got := list("/v1/payment_methods/" + other + "/transactions.json"); len(got) != 1 || got[0] != tokens[3] {
		t.Errorf("per payment method %v", got)
	}
	wantErrors(t, f.get(t, a, "/v1/transactions.json?order=sideways"), 422, "order", keyInvalid)

	// The transcript: plain text, scrubbed.
	res = f.do(t, req{method: "GET", path: "/v1/transactions/" + tokens[3] + "/transcript", acct: &a})
	if res.status != 200 || !strings.HasPrefix(res.header.Get("Content-Type"), "text/plain") || !strings.Contains(string(res.body), "-> POST ") {
		t.Fatalf("transcript: %d %q", res.status, res.body)
	}
	if strings.Contains(string(res.body), "5555555555554444") {
		t.Error("transcript holds the card number")
	}
}

// TestNoSecretsInResponsesOrLogs drives every kind of request and checks no
// card number, CVC or secret credential comes back out or is logged.
func TestNoSecretsInResponsesOrLogs(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	res := f.post(t, a, "/v1/gateways.json", `{"gateway":{"gateway_type":"keyed_simulator","merchant_id":"`+credMerchant+`","api_key":"`+credAPIKey+`"}}`)
	gw := res.obj(t, "gateway")["token"].(string)
	f.get(t, a, "/v1/gateways/"+gw+".xml")
	f.get(t, a, "/v1/gateways.json")
	pm := f.createCard(t, a, visa)
	f.get(t, a, "/v1/payment_methods/"+pm+".xml")
	res = f.post(t, a, "/v1/gateways/"+gw+"/purchase.json", purchaseBody(pm, 100))
	token := res.obj(t, "transaction")["token"].(string)
	f.get(t, a, "/v1/transactions/"+token+".xml")
	f.do(t, req{method: "GET", path: "/v1/transactions/" + token + "/transcript", acct: &a})
	f.post(t, a, "/v1/payment_methods.json", `{"payment_method":{"credit_card":{"number":"`+visa+`1","verification_value":"`+cvc+`"}}}`)
	f.post(t, a, "/v1/payment_methods.xml", `<payment_method><credit_card><number>`+visa+`</number>`)
	f.post(t, a, "/v1/payment_methods.json", `{"payment_method":{"credit_card":{"full_name":"K N","number":"`+realCard+`","month":1,"year":2031}}}`)
	all := strings.Join(f.responses, "\n")
	logs := f.logs.String()
	for _, secret := range []string{visa, realCard, credAPIKey, a.secret, `"` + cvc + `"`, ">" + cvc + "<"} {
		if strings.Contains(all, secret) {
			t.Errorf("a response holds %q", secret)
		}
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
	if !strings.Contains(all, credMerchant) {
		t.Error("the plain credential is not shown")
	}
}
