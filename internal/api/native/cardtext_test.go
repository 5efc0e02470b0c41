package native

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"testing"
)

// pastedForms are the ways people paste a card number into text.
var pastedForms = []struct{ name, s string }{
	{"plain", pan},
	{"dashed", "4000-0566-5566-5556"},
	{"spaced", "4000 0566 5566 5556"},
	{"email local part", pan + "@example.com"},
	{"dashed email local part", "4000-0566-5566-5556@example.com"},
}

// quote makes s a JSON string.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestCardNumberInTextRefused pastes a card number into every free-text
// field of the native API: each is a 422 card_number_in_text naming the
// field, and stores, echoes and logs nothing — neither in the database
// file and its WAL nor in any response or log line.
func TestCardNumberInTextRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	key := f.account(t).SecretKey
	gw := f.createGateway(t, key)
	pm := f.createCard(t, key, amexPAN, amexCVC)
	pay := f.createPayment(t, key, paymentBody(pm, gw, 1000, true))["id"].(string)
	cus := f.createCustomer(t, key, `{"name":"Kari"}`)
	card := `"type":"card","card":{"number":"` + amexPAN + `","exp_month":12,"exp_year":2031}`
	payment := `"amount":100,"currency":"EUR","payment_method":"` + pm + `","gateway":"` + gw + `"`

	cases := []textCase{
		{"email", "POST", "/v1/payment_methods", "email", func(s string) string {
			return `{` + card + `,"email":` + quote(s) + `}`
		}},
		{"holder name", "POST", "/v1/payment_methods", "card.holder_name", func(s string) string {
			return `{"type":"card","card":{"number":"` + amexPAN + `","exp_month":12,"exp_year":2031,"holder_name":` + quote("Kari "+s) + `}}`
		}},
		{"billing line1", "POST", "/v1/payment_methods", "billing_address.line1", func(s string) string {
			return `{` + card + `,"billing_address":{"line1":` + quote(s) + `}}`
		}},
		{"billing state", "POST", "/v1/payment_methods", "billing_address.state", func(s string) string {
			return `{` + card + `,"billing_address":{"state":` + quote(s) + `}}`
		}},
		{"metadata value", "POST", "/v1/payment_methods", "metadata.note", func(s string) string {
			return `{` + card + `,"metadata":{"note":` + quote(s) + `}}`
		}},
		{"metadata key", "POST", "/v1/payment_methods", "metadata", func(s string) string {
			return `{` + card + `,"metadata":{` + quote("k"+s) + `:"v"}}`
		}},
		{"update email", "POST", "/v1/payment_methods/" + pm, "email", func(s string) string {
			return `{"email":` + quote(s) + `}`
		}},
		{"update holder name", "POST", "/v1/payment_methods/" + pm, "card.holder_name", func(s string) string {
			return `{"card":{"holder_name":` + quote(s) + `}}`
		}},
		{"update metadata", "POST", "/v1/payment_methods/" + pm, "metadata.note", func(s string) string {
			return `{"metadata":{"note":` + quote(s) + `}}`
		}},
		{"payment reference", "POST", "/v1/payments", "reference", func(s string) string {
			return `{` + payment + `,"reference":` + quote(s) + `}`
		}},
		{"payment description", "POST", "/v1/payments", "description", func(s string) string {
			return `{` + payment + `,"description":` + quote(s) + `}`
		}},
		{"payment metadata", "POST", "/v1/payments", "metadata.cart", func(s string) string {
			return `{` + payment + `,"metadata":{"cart":` + quote(s) + `}}`
		}},
		{"payment gateway-specific field", "POST", "/v1/payments", "gateway_specific_fields.simulate_decline", func(s string) string {
			return `{` + payment + `,"gateway_specific_fields":{"simulate_decline":` + quote(s) + `}}`
		}},
		{"refund reason", "POST", "/v1/payments/" + pay + "/refunds", "reason", func(s string) string {
			return `{"reason":` + quote(s) + `}`
		}},
		{"gateway description", "POST", "/v1/gateways", "description", func(s string) string {
			return `{"type":"simulator","description":` + quote(s) + `}`
		}},
		{"gateway merchant profile key", "POST", "/v1/gateways", "merchant_profile_key", func(s string) string {
			return `{"type":"simulator","merchant_profile_key":` + quote(s) + `}`
		}},
		{"update gateway sub-merchant key", "PATCH", "/v1/gateways/" + gw, "sub_merchant_key", func(s string) string {
			return `{"sub_merchant_key":` + quote(s) + `}`
		}},
		{"credentials description", "PUT", "/v1/gateways/" + gw + "/credentials", "description", func(s string) string {
			return `{"credentials":{"login":"l","password":"p"},"description":` + quote(s) + `}`
		}},
		{"resolve note", "POST", "/v1/operations/op_x/resolve", "note", func(s string) string {
			return `{"outcome":"succeeded","note":` + quote(s) + `}`
		}},
	}
	token := `"type":"sha1:email","value":"5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8"`
	for _, c := range []struct{ path, verb string }{{"/v1/customers", "create"}, {"/v1/customers/" + cus, "update"}} {
		for _, field := range []string{"external_id", "email", "name", "phone"} {
			cases = append(cases, textCase{"customer " + c.verb + " " + field, "POST", c.path, field,
				func(s string) string { return `{"` + field + `":` + quote(s) + `}` }})
		}
		cases = append(cases,
			textCase{"customer " + c.verb + " metadata value", "POST", c.path, "metadata.note",
				func(s string) string { return `{"metadata":{"note":` + quote(s) + `}}` }},
			textCase{"customer " + c.verb + " metadata key", "POST", c.path, "metadata",
				func(s string) string { return `{"metadata":{` + quote("k"+s) + `:"v"}}` }})
	}
	cases = append(cases, []textCase{
		{"token type", "POST", "/v1/customers/" + cus + "/tokens", "type", func(s string) string {
			return `{"type":` + quote(s) + `,"value":"v"}`
		}},
		{"token value", "POST", "/v1/customers/" + cus + "/tokens", "value", func(s string) string {
			return `{"type":"sha1:email","value":` + quote(s) + `}`
		}},
		{"token id", "POST", "/v1/customers/" + cus + "/tokens", "token_id", func(s string) string {
			return `{` + token + `,"token_id":` + quote(s) + `}`
		}},
		{"token metadata value", "POST", "/v1/customers/" + cus + "/tokens", "metadata.note", func(s string) string {
			return `{` + token + `,"metadata":{"note":` + quote(s) + `}}`
		}},
		{"token metadata key", "POST", "/v1/customers/" + cus + "/tokens", "metadata", func(s string) string {
			return `{` + token + `,"metadata":{` + quote("k"+s) + `:"v"}}`
		}},
	}...)
	count := func() map[string]int {
		m := map[string]int{}
		for _, list := range []string{"/v1/payment_methods", "/v1/payments", "/v1/gateways", "/v1/events", "/v1/customers",
			"/v1/customers/" + cus + "/tokens"} {
			res := f.get(t, list+"?limit=100", key)
			m[list] = len(listData(t, res, list))
		}
		return m
	}
	before := count()
	pmBefore := f.get(t, "/v1/payment_methods/"+pm, key).body
	cusBefore := f.get(t, "/v1/customers/"+cus, key).body
	calls := f.sim.calls.Load()
	for _, c := range cases {
		for _, form := range pastedForms {
			res := f.do(t, req{method: c.method, path: c.path, key: key, body: c.body(form.s)})
			if res.status != http.StatusUnprocessableEntity {
				t.Errorf("%s, %s: status %d, want 422: %s", c.name, form.name, res.status, res.body)
				continue
			}
			e := res.errorOf(t)
			if e["type"] != "invalid_request_error" || e["code"] != "card_number_in_text" || e["param"] != c.param {
				t.Errorf("%s, %s: %s, want card_number_in_text on %s", c.name, form.name, res.body, c.param)
			}
		}
	}
	if after := count(); !equalCounts(after, before) {
		t.Errorf("refused requests changed the lists: %v, before %v", after, before)
	}
	if after := f.get(t, "/v1/payment_methods/"+pm, key).body; !bytes.Equal(after, pmBefore) {
		t.Errorf("refused updates changed the payment method:\n%s\nbefore\n%s", after, pmBefore)
	}
	if after := f.get(t, "/v1/customers/"+cus, key).body; !bytes.Equal(after, cusBefore) {
		t.Errorf("refused updates changed the customer:\n%s\nbefore\n%s", after, cusBefore)
	}
	if n := f.sim.calls.Load() - calls; n != 0 {
		t.Errorf("refused requests made %d gateway calls", n)
	}

	// At rest: the database, its WAL and shared memory, the logs and
	// every response.
	var db []byte
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(f.dbPath + suffix)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		db = append(db, b...)
	}
	if len(db) == 0 {
		t.Fatal("no database read")
	}
	f.mu.Lock()
	responses := strings.Join(f.responses, "\n")
	f.mu.Unlock()
	for _, form := range pastedForms {
		if bytes.Contains(db, []byte(form.s)) {
			t.Errorf("the database holds %q", form.s)
		}
		if strings.Contains(responses, form.s) {
			t.Errorf("a response holds %q", form.s)
		}
		if strings.Contains(f.logs.String(), form.s) {
			t.Errorf("the logs hold %q", form.s)
		}
	}
}

// textCase is a request with a free-text field of the native API: body
// puts s in it.
type textCase struct {
	name, method, path, param string
	body                      func(s string) string
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestOrdinaryTextAccepted: text full of digits that holds no card number
// is stored as sent.
func TestOrdinaryTextAccepted(t *testing.T) {
	t.Parallel()
	f := setup(t)
	key := f.account(t).SecretKey
	values := map[string]string{
		"uuid":      "550e8400-e29b-41d4-a716-446655440000",
		"phone":     "+49 1512 3456704", // Luhn-valid and Visa-like, but a phone number
		"order":     "order-1001",
		"timestamp": "2026-11-22T10:00:00.123456Z",
		"epoch_ms":  "1732270800123",
	}
	md, _ := json.Marshal(values)
	res := f.post(t, "/v1/payment_methods", key, `{"type":"card","card":{"number":"`+pan+`","exp_month":12,"exp_year":2031,`+
		`"holder_name":"Kari Nordmann"},"email":"kari+order-1001@example.com","metadata":`+string(md)+`}`)
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	got := res.json(t)["metadata"].(map[string]any)
	for k, v := range values {
		if got[k] != v {
			t.Errorf("metadata %s = %v, want %q", k, got[k], v)
		}
	}
}
