package spreedly

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestTreeRendersBothFormats(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	root := object("gateway",
		str("token", "gw_1"),
		strOrNil("description", ""),
		integer("amount", 100),
		boolean("redacted", false),
		datetime("created_at", at),
		str("message", "Succeeded!").withAttr("key", "messages.transaction_succeeded"),
		array("payment_methods", str("payment_method", "credit_card")),
		flags("characteristics", boolean("supports_purchase", true), boolean("supports_void", false)),
		object("gateway_settings"),
		str("escaped", `<&>"`),
	)
	wantJSON := `{"gateway":{"token":"gw_1","description":null,"amount":100,"redacted":false,"created_at":"2026-11-22T10:00:00Z",` +
		`"message_key":"messages.transaction_succeeded","message":"Succeeded!","payment_methods":["credit_card"],` +
		`"characteristics":["purchase"],"gateway_settings":{},"escaped":"\u003c\u0026\u003e\""}}` + "\n"
	if got := string(renderJSON(root)); got != wantJSON {
		t.Errorf("JSON\n got %s\nwant %s", got, wantJSON)
	}
	wantXML := xmlHeader + `<gateway>
  <token>gw_1</token>
  <description nil="true"/>
  <amount type="integer">100</amount>
  <redacted type="boolean">false</redacted>
  <created_at type="datetime">2026-11-22T10:00:00Z</created_at>
  <message key="messages.transaction_succeeded">Succeeded!</message>
  <payment_methods>
    <payment_method>credit_card</payment_method>
  </payment_methods>
  <characteristics>
    <supports_purchase type="boolean">true</supports_purchase>
    <supports_void type="boolean">false</supports_void>
  </characteristics>
  <gateway_settings/>
  <escaped>&lt;&amp;&gt;&quot;</escaped>
</gateway>
`
	if got := string(renderXML(root)); got != wantXML {
		t.Errorf("XML\n got %s\nwant %s", got, wantXML)
	}
	errs := errorsNode([]errorItem{{attribute: "number", key: keyBlank, message: "Number can't be blank"}, {key: keyAccessDenied, message: "no"}})
	if got, want := string(renderJSON(errs)), `{"errors":[{"attribute":"number","key":"errors.blank","message":"Number can't be blank"},{"key":"errors.access_denied","message":"no"}]}`+"\n"; got != want {
		t.Errorf("errors JSON %s", got)
	}
	if got, want := string(renderXML(errs)), xmlHeader+"<errors>\n  <error attribute=\"number\" key=\"errors.blank\">Number can't be blank</error>\n  <error key=\"errors.access_denied\">no</error>\n</errors>\n"; got != want {
		t.Errorf("errors XML %s", got)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	b := f.account(t)
	for _, q := range []req{
		{method: "GET", path: "/v1/gateways.json"},
		{method: "GET", path: "/v1/gateways.json", acct: &account{env: a.env, secret: "sk_test_nope"}},
		{method: "GET", path: "/v1/gateways.json", acct: &account{env: b.env, secret: a.secret}},
		{method: "GET", path: "/v1/gateways.json", acct: &account{env: "", secret: a.secret}},
	} {
		res := f.do(t, q)
		wantErrors(t, res, http.StatusUnauthorized, "", keyAccessDenied)
		if got := res.json(t)["errors"].([]any)[0].(map[string]any)["message"]; got != accessDeniedMessage {
			t.Errorf("message %q", got)
		}
		if h := res.header.Get("WWW-Authenticate"); h != `Basic realm="Spreedly"` {
			t.Errorf("WWW-Authenticate %q", h)
		}
	}
	res := f.do(t, req{method: "GET", path: "/v1/gateways.xml"})
	if res.status != 401 || !strings.Contains(string(res.body), `<error key="errors.access_denied">`+accessDeniedMessage+`</error>`) {
		t.Errorf("XML 401: %d %s", res.status, res.body)
	}
	res.wellFormedXML(t)
	// The catalogue needs no credentials.
	if res := f.do(t, req{method: "GET", path: "/v1/gateways_options.json"}); res.status != 200 {
		t.Errorf("gateways_options: %d %s", res.status, res.body)
	}
	// A known route without a format suffix is not found.
	wantErrors(t, f.get(t, a, "/v1/gateways"), 404, "", keyRouteNotFound)
	wantErrors(t, f.get(t, a, "/v1/gateways/abc"), 404, "", keyRouteNotFound)
}

func TestGatewaysOptions(t *testing.T) {
	t.Parallel()
	f := setup(t)
	res := f.do(t, req{method: "GET", path: "/v1/gateways_options.json"})
	gws := res.json(t)["gateways"].([]any)
	if len(gws) != 2 {
		t.Fatalf("%d gateway types: %s", len(gws), res.body)
	}
	test := gws[0].(map[string]any)
	if test["gateway_type"] != "test" || test["name"] != "Spreedly Test" {
		t.Errorf("test type %v", test)
	}
	chars := strings.Join(toStrings(test["characteristics"]), ",")
	if chars != "purchase,authorize,capture,credit,general_credit,void,verify,store" {
		t.Errorf("characteristics %s", chars)
	}
	res = f.do(t, req{method: "GET", path: "/v1/gateways_options.xml"})
	res.wellFormedXML(t)
	if !strings.Contains(string(res.body), `<supports_general_credit type="boolean">true</supports_general_credit>`) ||
		!strings.Contains(string(res.body), "<gateway_type>keyed_simulator</gateway_type>") {
		t.Errorf("XML catalogue %s", res.body)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestGatewayLifecycleJSON(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	res := f.post(t, a, "/v1/gateways.json", `{"gateway":{"gateway_type":"keyed_simulator","merchant_id":"`+credMerchant+
		`","api_key":"`+credAPIKey+`","description":"Main","merchant_profile_key":"mp-1"}}`)
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	gw := res.obj(t, "gateway")
	token := gw["token"].(string)
	want := []string{"token", "gateway_type", "description", "merchant_profile_key", "sub_merchant_key", "payment_methods", "state",
		"created_at", "updated_at", "name", "characteristics", "credentials", "gateway_settings", "gateway_specific_fields",
		"redacted", "sandbox", "mode"}
	if got := keysOf(gw); !sameSet(got, want) {
		t.Errorf("keys %v", got)
	}
	if gw["gateway_type"] != "keyed_simulator" || gw["description"] != "Main" || gw["merchant_profile_key"] != "mp-1" ||
		gw["sub_merchant_key"] != nil || gw["state"] != "retained" || gw["redacted"] != false || gw["sandbox"] != true {
		t.Errorf("created %s", res.body)
	}
	creds := gw["credentials"].([]any)
	if len(creds) != 1 || creds[0].(map[string]any)["name"] != "merchant_id" || creds[0].(map[string]any)["value"] != credMerchant {
		t.Errorf("credentials %v", creds)
	}
	if strings.Contains(string(res.body), credAPIKey) {
		t.Error("secret credential in response")
	}

	if res := f.get(t, a, "/v1/gateways/"+token+".json"); res.status != 200 || res.obj(t, "gateway")["token"] != token {
		t.Fatalf("show: %d %s", res.status, res.body)
	}
	// Update: description, and a new credential version.
	res = f.put(t, a, "/v1/gateways/"+token+".json", `{"gateway":{"description":"Renamed","merchant_id":"merchant-2","api_key":"ak-other-secret-9999"}}`)
	if res.status != 200 {
		t.Fatalf("update: %d %s", res.status, res.body)
	}
	gw = res.obj(t, "gateway")
	if gw["description"] != "Renamed" || gw["credentials"].([]any)[0].(map[string]any)["value"] != "merchant-2" {
		t.Errorf("updated %s", res.body)
	}
	// Redact, then updating its credentials retains it again.
	res = f.put(t, a, "/v1/gateways/"+token+"/redact.json", "")
	if res.status != 200 {
		t.Fatalf("redact: %d %s", res.status, res.body)
	}
	txn := res.obj(t, "transaction")
	if txn["transaction_type"] != "RedactGateway" || txn["succeeded"] != true || txn["gateway"].(map[string]any)["state"] != "redacted" ||
		txn["gateway"].(map[string]any)["redacted"] != true || txn["message_key"] != "messages.transaction_succeeded" {
		t.Errorf("redacted %s", res.body)
	}
	res = f.put(t, a, "/v1/gateways/"+token+"/retain.json", "")
	wantErrors(t, res, 422, "", keyInvalidState)
	res = f.put(t, a, "/v1/gateways/"+token+".json", `{"gateway":{"merchant_id":"merchant-3","api_key":"ak-third-secret-0000"}}`)
	if res.status != 200 || res.obj(t, "gateway")["state"] != "retained" {
		t.Fatalf("update of a redacted gateway: %d %s", res.status, res.body)
	}
	res = f.put(t, a, "/v1/gateways/"+token+"/retain.json", "")
	if res.status != 200 || res.obj(t, "transaction")["transaction_type"] != "RetainGateway" {
		t.Fatalf("retain: %d %s", res.status, res.body)
	}

	// Lists: oldest first, since_token, order=desc.
	second := f.createTestGateway(t, a)
	third := f.createTestGateway(t, a)
	list := func(q string) []string {
		t.Helper()
		res := f.get(t, a, "/v1/gateways.json"+q)
		if res.status != 200 {
			t.Fatalf("list %s: %d %s", q, res.status, res.body)
		}
		var out []string
		for _, g := range res.json(t)["gateways"].([]any) {
			out = append(out, g.(map[string]any)["token"].(string))
		}
		return out
	}
	if got := strings.Join(list(""), ","); got != token+","+second+","+third {
		t.Errorf("list %s", got)
	}
	if got := strings.Join(list("?since_token="+second), ","); got != third {
		t.Errorf("since_token %s", got)
	}
	if got := strings.Join(list("?order=desc"), ","); got != third+","+second+","+token {
		t.Errorf("desc %s", got)
	}
	wantErrors(t, f.get(t, a, "/v1/gateways.json?since_token=gw_nope"), 422, "since_token", keyInvalid)
}

func TestGatewayXML(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	res := f.post(t, a, "/v1/gateways.xml", `<gateway><gateway_type>test</gateway_type><description>Via XML</description>`+
		`<gateway_settings><latency_ms>0</latency_ms><outage>false</outage></gateway_settings></gateway>`)
	if res.status != 201 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	res.wellFormedXML(t)
	body := string(res.body)
	for _, want := range []string{"<gateway_type>test</gateway_type>", "<name>Spreedly Test</name>", "<description>Via XML</description>",
		`<supports_purchase type="boolean">true</supports_purchase>`, `<redacted type="boolean">false</redacted>`,
		`<latency_ms type="integer">0</latency_ms>`, "<merchant_profile_key nil=\"true\"/>", "<gateway_specific_field>simulate_decline</gateway_specific_field>"} {
		if !strings.Contains(body, want) {
			t.Errorf("XML lacks %s:\n%s", want, body)
		}
	}
	token := between(body, "<token>", "</token>")
	res = f.get(t, a, "/v1/gateways/"+token+".xml")
	if res.status != 200 || !strings.Contains(string(res.body), "<token>"+token+"</token>") {
		t.Fatalf("show: %d %s", res.status, res.body)
	}
	res = f.get(t, a, "/v1/gateways.xml")
	res.wellFormedXML(t)
	if !strings.HasPrefix(string(res.body), xmlHeader+"<gateways>\n  <gateway>") {
		t.Errorf("list %s", res.body)
	}
}

func TestGatewayBadInput(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	for _, tc := range []struct {
		path, body string
		status     int
		attr, key  string
	}{
		{"/v1/gateways.json", `{"gateway":{"gateway_type":"nope"}}`, 422, "gateway_type", keyGatewayType},
		{"/v1/gateways.json", `{"gateway":{"gateway_type":"simulator"}}`, 422, "gateway_type", keyGatewayType},
		{"/v1/gateways.json", `{"gateway":{}}`, 422, "gateway_type", keyBlank},
		{"/v1/gateways.json", `{"gateway":{"gateway_type":"test",`, 400, "", keyMalformed},
		{"/v1/gateways.json", `{"gateway":{"gateway_type":"keyed_simulator","merchant_id":"m"}}`, 422, "api_key", keyBlank},
		{"/v1/gateways.json", `{"gateway":{"gateway_type":"test","bogus":"x"}}`, 422, "bogus", keyInvalid},
		{"/v1/gateways.json", `{"gateway":{"gateway_type":7}}`, 422, "gateway_type", keyInvalid},
		{"/v1/gateways.xml", `<gateway><gateway_type>test</gateway_type>`, 400, "", keyMalformed},
		{"/v1/gateways.xml", `<gateway><gateway_type>nope</gateway_type></gateway>`, 422, "gateway_type", keyGatewayType},
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
		wantErrors(t, res, tc.status, tc.attr, tc.key)
	}
	// Nothing was created.
	if res := f.get(t, a, "/v1/gateways.json"); len(res.json(t)["gateways"].([]any)) != 0 {
		t.Errorf("refused requests created gateways: %s", res.body)
	}
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, x := range a {
		seen[x] = true
	}
	for _, x := range b {
		if !seen[x] {
			return false
		}
	}
	return true
}

func between(s, from, to string) string {
	_, rest, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(rest, to)
	return v
}
