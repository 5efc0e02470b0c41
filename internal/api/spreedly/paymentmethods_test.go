package spreedly

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
)

func TestPaymentMethodLifecycleJSON(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	res := f.post(t, a, "/v1/payment_methods.json", cardBody(visa))
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	txn := res.obj(t, "transaction")
	if txn["transaction_type"] != "AddPaymentMethod" || txn["succeeded"] != true || txn["retained"] != false ||
		txn["message_key"] != "messages.transaction_succeeded" || txn["message"] != "Succeeded!" {
		t.Errorf("transaction %s", res.body)
	}
	pm := txn["payment_method"].(map[string]any)
	token := pm["token"].(string)
	if token == txn["token"] {
		t.Error("the transaction has the payment method's token")
	}
	for k, want := range map[string]any{
		"storage_state": "cached", "test": true, "last_four_digits": "1111", "first_six_digits": "411111", "card_type": "visa",
		"first_name": "Kari", "last_name": "Nordmann", "full_name": "Kari Nordmann", "month": 12.0, "year": 2031.0,
		"address1": "Storgata 1", "city": "Oslo", "zip": "0155", "country": "NO", "email": "kari@example.com",
		"payment_method_type": "credit_card", "number": "XXXX-XXXX-XXXX-1111", "verification_value": "XXX", "address2": nil,
	} {
		if pm[k] != want {
			t.Errorf("%s = %v, want %v", k, pm[k], want)
		}
	}
	md := pm["metadata"].(map[string]any)
	if md["order"] != "A-17" || md["count"] != "3" || md["vip"] != "true" {
		t.Errorf("metadata %v", md)
	}
	if fp, _ := pm["fingerprint"].(string); fp == "" {
		t.Error("no fingerprint")
	}

	res = f.get(t, a, "/v1/payment_methods/"+token+".json")
	if res.status != 200 || res.obj(t, "payment_method")["token"] != token {
		t.Fatalf("show: %d %s", res.status, res.body)
	}
	// Update names and expiry; the rest stays.
	res = f.put(t, a, "/v1/payment_methods/"+token+".json", `{"payment_method":{"first_name":"Ola","month":3,"year":"2032","email":"ola@example.com","metadata":{"order":"B-2"}}}`)
	if res.status != 200 {
		t.Fatalf("update: %d %s", res.status, res.body)
	}
	pm = res.obj(t, "payment_method")
	if pm["full_name"] != "Ola Nordmann" || pm["month"] != 3.0 || pm["year"] != 2032.0 || pm["email"] != "ola@example.com" ||
		pm["metadata"].(map[string]any)["order"] != "B-2" || pm["city"] != "Oslo" {
		t.Errorf("updated %s", res.body)
	}
	// Retain is a PUT with no body and no Content-Type (the npm client).
	res = f.do(t, req{method: "PUT", path: "/v1/payment_methods/" + token + "/retain.json", acct: &a})
	if res.status != 200 {
		t.Fatalf("retain: %d %s", res.status, res.body)
	}
	txn = res.obj(t, "transaction")
	if txn["transaction_type"] != "RetainPaymentMethod" || txn["payment_method"].(map[string]any)["storage_state"] != "retained" {
		t.Errorf("retained %s", res.body)
	}
	// Recache: a fresh CVC for the next authorization.
	res = f.put(t, a, "/v1/payment_methods/"+token+"/recache.json", `{"payment_method":{"credit_card":{"verification_value":"456"}}}`)
	if res.status != 200 {
		t.Fatalf("recache: %d %s", res.status, res.body)
	}
	txn = res.obj(t, "transaction")
	if txn["transaction_type"] != "RecacheSensitiveData" || txn["payment_method"].(map[string]any)["verification_value"] != "XXX" {
		t.Errorf("recached %s", res.body)
	}
	if strings.Contains(string(res.body), "456") {
		t.Error("the recached CVC is in the response")
	}
	wantErrors(t, f.put(t, a, "/v1/payment_methods/"+token+"/recache.json", `{"payment_method":{"credit_card":{"verification_value":"45"}}}`), 422, "verification_value", "errors.invalid")
	res = f.put(t, a, "/v1/payment_methods/"+token+"/redact.json", "")
	if res.status != 200 || res.obj(t, "transaction")["payment_method"].(map[string]any)["storage_state"] != "redacted" {
		t.Fatalf("redact: %d %s", res.status, res.body)
	}
	wantErrors(t, f.put(t, a, "/v1/payment_methods/"+token+"/recache.json", `{"payment_method":{"credit_card":{"verification_value":"456"}}}`), 422, "", keyInvalidState)

	// Lists.
	second := f.createCard(t, a, "5555555555554444")
	res = f.get(t, a, "/v1/payment_methods.json")
	pms := res.json(t)["payment_methods"].([]any)
	if len(pms) != 2 || pms[0].(map[string]any)["token"] != token || pms[1].(map[string]any)["card_type"] != "master" {
		t.Errorf("list %s", res.body)
	}
	res = f.get(t, a, "/v1/payment_methods.json?order=desc")
	if pms := res.json(t)["payment_methods"].([]any); pms[0].(map[string]any)["token"] != second {
		t.Errorf("desc %s", res.body)
	}
	res = f.get(t, a, "/v1/payment_methods.json?since_token="+token)
	if pms := res.json(t)["payment_methods"].([]any); len(pms) != 1 || pms[0].(map[string]any)["token"] != second {
		t.Errorf("since_token %s", res.body)
	}
}

func TestPaymentMethodXML(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	res := f.post(t, a, "/v1/payment_methods.xml", `<payment_method>
  <credit_card>
    <full_name>Kari Nordmann</full_name>
    <number>`+visa+`</number>
    <verification_value>`+cvc+`</verification_value>
    <month>12</month>
    <year type="integer">2031</year>
  </credit_card>
  <email>kari@example.com</email>
  <retained type="boolean">true</retained>
  <metadata><order>A-17</order></metadata>
</payment_method>`)
	if res.status != 201 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	res.wellFormedXML(t)
	body := string(res.body)
	for _, want := range []string{"<transaction_type>AddPaymentMethod</transaction_type>", `<retained type="boolean">true</retained>`,
		`<message key="messages.transaction_succeeded">Succeeded!</message>`, "<storage_state>retained</storage_state>",
		`<month type="integer">12</month>`, "<number>XXXX-XXXX-XXXX-1111</number>", "<verification_value>XXX</verification_value>",
		"<first_name>Kari</first_name>", "<order>A-17</order>", `<address1 nil="true"/>`, "<errors/>"} {
		if !strings.Contains(body, want) {
			t.Errorf("XML lacks %s:\n%s", want, body)
		}
	}
	token := between(between(body, "<payment_method>", "</payment_method>"), "<token>", "</token>")
	res = f.do(t, req{method: "PUT", path: "/v1/payment_methods/" + token + "/redact.xml", acct: &a})
	res.wellFormedXML(t)
	if res.status != 200 || !strings.Contains(string(res.body), "<storage_state>redacted</storage_state>") {
		t.Errorf("redact: %d %s", res.status, res.body)
	}
}

func TestPaymentMethodBadInput(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	card := func(fields string) string {
		return `{"payment_method":{"credit_card":{` + fields + `}}}`
	}
	for _, tc := range []struct {
		path, body string
		status     int
		attr, key  string
	}{
		{"/v1/payment_methods.json", card(`"first_name":"K","last_name":"N","month":12,"year":2031`), 422, "number", keyBlank},
		{"/v1/payment_methods.json", card(`"number":"` + visa + `","month":12,"year":2031`), 422, "first_name", keyBlank},
		{"/v1/payment_methods.json", card(`"full_name":"K N","number":"` + visa + `","year":2031`), 422, "month", keyBlank},
		{"/v1/payment_methods.json", card(`"full_name":"K N","number":"4111111111111112","month":12,"year":2031`), 422, "number", keyInvalid},
		{"/v1/payment_methods.json", card(`"full_name":"K N","number":"` + visa + `","month":12,"year":2020`), 422, "year", keyExpired},
		{"/v1/payment_methods.json", card(`"full_name":"K N","number":"` + visa + `","month":13,"year":2031`), 422, "month", keyInvalid},
		{"/v1/payment_methods.json", card(`"full_name":"K N","number":"` + visa + `","month":"twelve","year":2031`), 422, "month", keyInvalid},
		{"/v1/payment_methods.json", card(`"full_name":"K N","number":"` + visa + `","month":12,"year":2031,"verification_value":"12345"`), 422, "verification_value", keyInvalid},
		{"/v1/payment_methods.json", card(`"full_name":"K N","number":"` + realCard + `","month":12,"year":2031`), 402, "", keyAccountInact},
		{"/v1/payment_methods.json", `{"payment_method":{}}`, 422, "credit_card", keyBlank},
		{"/v1/payment_methods.json", `{"payment_method":{"credit_card":"x"}}`, 422, "credit_card", keyInvalid},
		{"/v1/payment_methods.json", `{"payment_method":`, 400, "", keyMalformed},
		{"/v1/payment_methods.json", `[1]`, 400, "", keyMalformed},
		{"/v1/payment_methods.xml", `<payment_method><credit_card><number>` + visa + `</number></credit_card>`, 400, "", keyMalformed},
		{"/v1/payment_methods.xml", `<payment_method><credit_card><full_name>K N</full_name><number>` + visa + `</number><month>12</month></credit_card></payment_method>`, 422, "year", keyBlank},
		{"/v1/payment_methods.xml", `<payment_method><credit_card><full_name>K N</full_name><number>` + visa + `</number><month type="integer">x</month><year>2031</year></credit_card></payment_method>`, 422, "month", keyInvalid},
	} {
		res := f.post(t, a, tc.path, tc.body)
		if strings.HasSuffix(tc.path, ".xml") {
			res.wellFormedXML(t)
			if res.status != tc.status || !strings.Contains(string(res.body), `key="`+tc.key+`"`) ||
				(tc.attr != "" && !strings.Contains(string(res.body), `attribute="`+tc.attr+`"`)) {
				t.Errorf("%s %s: %d %s", tc.path, tc.body, res.status, res.body)
			}
			continue
		}
		t.Run(tc.body, func(t *testing.T) { wantErrors(t, res, tc.status, tc.attr, tc.key) })
	}
	if res := f.get(t, a, "/v1/payment_methods.json"); len(res.json(t)["payment_methods"].([]any)) != 0 {
		t.Errorf("refused requests created payment methods: %s", res.body)
	}
	wantErrors(t, f.post(t, a, "/v1/payment_methods.json", cardBody(visa)[:20]), 400, "", keyMalformed)
	res := f.do(t, req{method: "POST", path: "/v1/payment_methods.json", acct: &a, body: cardBody(visa), contentType: "text/plain"})
	wantErrors(t, res, 415, "", keyUnsupportedCT)
}

func TestAccountIsolation(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	b := f.account(t)
	gw := f.createTestGateway(t, a)
	pm := f.createCard(t, a, visa)
	res := f.post(t, a, "/v1/gateways/"+gw+"/purchase.json", `{"transaction":{"payment_method_token":"`+pm+`","amount":100,"currency_code":"USD"}}`)
	if res.status != 200 {
		t.Fatalf("purchase: %d %s", res.status, res.body)
	}
	txn := res.obj(t, "transaction")["token"].(string)
	for _, tc := range []struct {
		method, path, body, key string
	}{
		{"GET", "/v1/gateways/" + gw + ".json", "", keyGatewayMissing},
		{"PUT", "/v1/gateways/" + gw + ".json", `{"gateway":{"description":"x"}}`, keyGatewayMissing},
		{"PUT", "/v1/gateways/" + gw + "/redact.json", "", keyGatewayMissing},
		{"GET", "/v1/payment_methods/" + pm + ".json", "", keyPMMissing},
		{"PUT", "/v1/payment_methods/" + pm + ".json", `{"payment_method":{"email":"x@example.com"}}`, keyPMMissing},
		{"PUT", "/v1/payment_methods/" + pm + "/redact.json", "", keyPMMissing},
		{"GET", "/v1/payment_methods/" + pm + "/transactions.json", "", keyPMMissing},
		{"GET", "/v1/transactions/" + txn + ".json", "", keyTxnMissing},
		{"POST", "/v1/transactions/" + txn + "/credit.json", "", keyTxnMissing},
		{"GET", "/v1/transactions/" + txn + "/transcript", "", keyTxnMissing},
		{"POST", "/v1/gateways/" + gw + "/purchase.json", `{"transaction":{"payment_method_token":"` + pm + `","amount":100,"currency_code":"USD"}}`, keyGatewayMissing},
	} {
		res := f.do(t, req{method: tc.method, path: tc.path, acct: &b, body: tc.body})
		wantErrors(t, res, 404, "", tc.key)
	}
	// B's own gateway with A's card: the card is not found.
	gwB := f.createTestGateway(t, b)
	res = f.post(t, b, "/v1/gateways/"+gwB+"/purchase.json", `{"transaction":{"payment_method_token":"`+pm+`","amount":100,"currency_code":"USD"}}`)
	wantErrors(t, res, 404, "", keyPMMissing)
	if res := f.get(t, b, "/v1/transactions.json"); len(res.json(t)["transactions"].([]any)) != 0 {
		t.Errorf("B sees transactions: %s", res.body)
	}
	// A's card is untouched.
	if res := f.get(t, a, "/v1/payment_methods/"+pm+".json"); res.obj(t, "payment_method")["storage_state"] != "cached" {
		t.Errorf("A's card changed: %s", res.body)
	}
}

// Metadata set through the native API may have keys no XML element can be
// named by: the XML stays well-formed, and both formats leave them out.
func TestPaymentMethodMetadataKeys(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	ctx := context.Background()
	p, err := f.eng.Authenticate(ctx, a.secret)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := f.eng.CreatePaymentMethod(ctx, p, engine.PaymentMethodInput{Type: "card",
		Card:     &engine.CardInput{Number: visa, ExpMonth: 12, ExpYear: 2031, CVC: cvc},
		Metadata: map[string]string{"a b": "x", "1st": "y", "ok": "z", "x><injected": "w"}})
	if err != nil {
		t.Fatal(err)
	}
	res := f.get(t, a, "/v1/payment_methods/"+pm.ID+".xml")
	if res.status != 200 {
		t.Fatalf("show: %d %s", res.status, res.body)
	}
	res.wellFormedXML(t)
	md := between(string(res.body), "<metadata>", "</metadata>")
	if strings.TrimSpace(md) != "<ok>z</ok>" {
		t.Errorf("XML metadata %q, want <ok>z</ok> alone", md)
	}
	res = f.get(t, a, "/v1/payment_methods/"+pm.ID+".json")
	if got := res.obj(t, "payment_method")["metadata"]; !reflect.DeepEqual(got, map[string]any{"ok": "z"}) {
		t.Errorf("JSON metadata %v, want ok alone", got)
	}
}
