package spreedly

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/payment"
)

func TestParseXMLTypes(t *testing.T) {
	t.Parallel()
	m, err := parseXML([]byte(`<?xml version="1.0"?>
<transaction>
  <amount type="integer"> 100 </amount>
  <retain type="boolean">true</retain>
  <note nil="true"/>
  <text>a &amp; b</text>
  <empty/>
  <list type="array"><item>1</item><item>2</item></list>
  <rep>x</rep><rep>y</rep>
</transaction>`))
	if err != nil {
		t.Fatal(err)
	}
	tx := m["transaction"].(map[string]any)
	if tx["amount"] != json.Number("100") || tx["retain"] != true || tx["note"] != nil || tx["text"] != xmlText("a & b") ||
		tx["empty"] != xmlText("") || len(tx["list"].([]any)) != 2 || len(tx["rep"].([]any)) != 2 {
		t.Errorf("parsed %#v", tx)
	}
	for _, bad := range []string{`<a>`, `<a></b>`, `<a/><b/>`, `text`, `<a type="integer">x</a>`, `<a type="boolean">maybe</a>`,
		strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40)} {
		if _, err := parseXML([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestBodies(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw := f.createTestGateway(t, a)
	pm := f.createCard(t, a, visa)
	// An empty body is fine whatever its Content-Type says.
	for _, ct := range []string{"", "application/x-www-form-urlencoded", "application/json", "application/xml"} {
		res := f.do(t, req{method: "PUT", path: "/v1/payment_methods/" + pm + "/retain.json", acct: &a, contentType: ct})
		if res.status != 200 {
			t.Errorf("retain with %q: %d %s", ct, res.status, res.body)
		}
	}
	// XML sent as text/xml, JSON sent without a Content-Type.
	res := f.do(t, req{method: "POST", path: "/v1/gateways/" + gw + "/authorize.xml", acct: &a, contentType: "text/xml; charset=UTF-8",
		body: `<transaction><payment_method_token>` + pm + `</payment_method_token><amount>100</amount><currency_code>usd</currency_code></transaction>`})
	if res.status != 200 {
		t.Fatalf("authorize: %d %s", res.status, res.body)
	}
	auth := between(string(res.body), "<token>", "</token>")
	res = f.do(t, req{method: "POST", path: "/v1/transactions/" + auth + "/void.json", acct: &a, contentType: "none/none", body: " "})
	if res.status != 200 {
		t.Errorf("void with a blank body: %d %s", res.status, res.body)
	}
	// Over the limit.
	big := `{"payment_method":{"email":"` + strings.Repeat("a", api.DefaultMaxBody) + `"}}`
	wantErrors(t, f.post(t, a, "/v1/payment_methods.json", big), 413, "", keyBodyTooLarge)
}

// FuzzReadBody checks that no body, JSON or XML, makes the parsers or the
// field readers panic, and that every failure is a client error.
func FuzzReadBody(f *testing.F) {
	for _, s := range []string{
		`{"transaction":{"amount":100,"currency_code":"USD"}}`,
		`<transaction><amount type="integer">100</amount></transaction>`,
		`<a type="array"><b/><b>1</b></a>`, `{"a":[1,{"b":null}]}`, `<a nil="true"/>`, `<?xml version="1.0"?><a>&lt;</a>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, parse := range []func([]byte) (map[string]any, error){parseJSON, parseXML} {
			m, err := parse([]byte(body))
			if err != nil {
				if _, ok := err.(*spError); !ok {
					if _, ok := payment.AsError(err); !ok {
						t.Fatalf("error %T %v", err, err)
					}
				}
				continue
			}
			r := newFields(m)
			tx := r.object("transaction")
			tx.integer("amount")
			tx.str("currency_code")
			tx.boolean("retain_on_success")
			tx.cardInt("month")
			metadataOf(tx)
			_ = r.err()
		}
	})
}
