package spreedly

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strings"
	"testing"
)

// pastedPAN is a card number pasted into free text, in the forms people
// write it there.
const pastedPAN = "4000056655665556"

var pastedForms = []struct{ name, s string }{
	{"plain", pastedPAN},
	{"dashed", "4000-0566-5566-5556"},
	{"spaced", "4000 0566 5566 5556"},
	{"email local part", pastedPAN + "@example.com"},
}

// el is one member of a request body, written as JSON or XML: v is a
// string, a number or a []el.
type el struct {
	k string
	v any
}

// number is a JSON number; in XML, text like any other.
type number string

func jsonBody(root el) string {
	var b strings.Builder
	var write func(e el)
	write = func(e el) {
		k, _ := json.Marshal(e.k)
		b.Write(k)
		b.WriteByte(':')
		switch v := e.v.(type) {
		case string:
			s, _ := json.Marshal(v)
			b.Write(s)
		case number:
			b.WriteString(string(v))
		case []el:
			b.WriteByte('{')
			for i, c := range v {
				if i > 0 {
					b.WriteByte(',')
				}
				write(c)
			}
			b.WriteByte('}')
		}
	}
	b.WriteByte('{')
	write(root)
	b.WriteByte('}')
	return b.String()
}

func xmlBody(root el) string {
	var b bytes.Buffer
	var write func(e el)
	write = func(e el) {
		b.WriteString("<" + e.k + ">")
		switch v := e.v.(type) {
		case string:
			xml.EscapeText(&b, []byte(v))
		case number:
			b.WriteString(string(v))
		case []el:
			for _, c := range v {
				write(c)
			}
		}
		b.WriteString("</" + e.k + ">")
	}
	write(root)
	return b.String()
}

// errorOf reads the first entry of an errors envelope in either format.
func errorOf(t *testing.T, res response, ext string) (attribute, key, message string) {
	t.Helper()
	if ext == ".json" {
		errs, _ := res.json(t)["errors"].([]any)
		if len(errs) == 0 {
			t.Fatalf("not an errors envelope: %s", res.body)
		}
		e := errs[0].(map[string]any)
		attribute, _ = e["attribute"].(string)
		key, _ = e["key"].(string)
		message, _ = e["message"].(string)
		return
	}
	res.wellFormedXML(t)
	var env struct {
		XMLName xml.Name `xml:"errors"`
		Errors  []struct {
			Attribute string `xml:"attribute,attr"`
			Key       string `xml:"key,attr"`
			Message   string `xml:",chardata"`
		} `xml:"error"`
	}
	if err := xml.Unmarshal(res.body, &env); err != nil || len(env.Errors) == 0 {
		t.Fatalf("not an errors envelope (%v): %s", err, res.body)
	}
	return env.Errors[0].Attribute, env.Errors[0].Key, env.Errors[0].Message
}

// creditCard is a valid test card with extra members.
func creditCard(extra ...el) el {
	return el{"credit_card", append([]el{{"first_name", "Kari"}, {"last_name", "Nordmann"}, {"number", visa},
		{"verification_value", cvc}, {"month", "12"}, {"year", "2031"}}, extra...)}
}

// TestCardNumberInTextRefused pastes a card number into every free-text
// field of the dialect, in JSON and XML: each is a 422 naming the field
// that stores, echoes and logs nothing of it.
func TestCardNumberInTextRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw := f.createTestGateway(t, a)
	pm := f.createCard(t, a, visa)
	pmBody := func(members ...el) el { return el{"payment_method", members} }
	txBody := func(members ...el) el {
		return el{"transaction", append([]el{{"payment_method_token", pm}, {"amount", number("100")}, {"currency_code", "USD"}}, members...)}
	}
	cases := []struct {
		name, method, path, attribute string
		body                          func(s string) el
	}{
		{"email", "POST", "/v1/payment_methods", "email", func(s string) el {
			return pmBody(creditCard(), el{"email", s})
		}},
		{"full name", "POST", "/v1/payment_methods", "full_name", func(s string) el {
			return pmBody(creditCard(el{"full_name", "Kari " + s}))
		}},
		{"first name", "POST", "/v1/payment_methods", "first_name", func(s string) el {
			return pmBody(el{"credit_card", []el{{"first_name", s}, {"last_name", "Nordmann"}, {"number", visa},
				{"month", "12"}, {"year", "2031"}}})
		}},
		{"last name", "POST", "/v1/payment_methods", "last_name", func(s string) el {
			return pmBody(el{"credit_card", []el{{"first_name", "Kari"}, {"last_name", s}, {"number", visa},
				{"month", "12"}, {"year", "2031"}}})
		}},
		{"address1", "POST", "/v1/payment_methods", "address1", func(s string) el {
			return pmBody(creditCard(el{"address1", s}))
		}},
		{"city", "POST", "/v1/payment_methods", "city", func(s string) el {
			return pmBody(creditCard(el{"city", s}))
		}},
		{"zip", "POST", "/v1/payment_methods", "zip", func(s string) el {
			return pmBody(creditCard(el{"zip", s}))
		}},
		{"metadata value", "POST", "/v1/payment_methods", "metadata.note", func(s string) el {
			return pmBody(creditCard(), el{"metadata", []el{{"note", s}}})
		}},
		{"update email", "PUT", "/v1/payment_methods/" + pm, "email", func(s string) el {
			return pmBody(el{"email", s})
		}},
		{"update first name", "PUT", "/v1/payment_methods/" + pm, "first_name", func(s string) el {
			return pmBody(el{"first_name", s})
		}},
		{"update full name", "PUT", "/v1/payment_methods/" + pm, "full_name", func(s string) el {
			return pmBody(el{"full_name", s})
		}},
		{"update address2", "PUT", "/v1/payment_methods/" + pm, "address2", func(s string) el {
			return pmBody(el{"address2", s})
		}},
		{"update metadata", "PUT", "/v1/payment_methods/" + pm, "metadata.note", func(s string) el {
			return pmBody(el{"metadata", []el{{"note", s}}})
		}},
		{"purchase order_id", "POST", "/v1/gateways/" + gw + "/purchase", "order_id", func(s string) el {
			return txBody(el{"order_id", s})
		}},
		{"purchase description", "POST", "/v1/gateways/" + gw + "/purchase", "description", func(s string) el {
			return txBody(el{"description", s})
		}},
		{"purchase email", "POST", "/v1/gateways/" + gw + "/purchase", "email", func(s string) el {
			return txBody(el{"email", s})
		}},
		{"purchase ip", "POST", "/v1/gateways/" + gw + "/purchase", "ip", func(s string) el {
			return txBody(el{"ip", s})
		}},
		{"purchase gateway-specific field", "POST", "/v1/gateways/" + gw + "/purchase", "simulate_decline", func(s string) el {
			return txBody(el{"gateway_specific_fields", []el{{"test", []el{{"simulate_decline", s}}}}})
		}},
		{"authorize order_id", "POST", "/v1/gateways/" + gw + "/authorize", "order_id", func(s string) el {
			return txBody(el{"order_id", s})
		}},
		{"verify description", "POST", "/v1/gateways/" + gw + "/verify", "description", func(s string) el {
			return txBody(el{"description", s})
		}},
		{"store email", "POST", "/v1/gateways/" + gw + "/store", "email", func(s string) el {
			return txBody(el{"email", s})
		}},
		{"general credit description", "POST", "/v1/gateways/" + gw + "/general_credit", "description", func(s string) el {
			return txBody(el{"description", s})
		}},
		{"gateway description", "POST", "/v1/gateways", "description", func(s string) el {
			return el{"gateway", []el{{"gateway_type", "test"}, {"description", s}}}
		}},
		{"update gateway description", "PUT", "/v1/gateways/" + gw, "description", func(s string) el {
			return el{"gateway", []el{{"description", s}}}
		}},
	}
	for _, c := range cases {
		for _, ext := range []string{".json", ".xml"} {
			for _, form := range pastedForms {
				body := jsonBody(c.body(form.s))
				if ext == ".xml" {
					body = xmlBody(c.body(form.s))
				}
				res := f.do(t, req{method: c.method, path: c.path + ext, acct: &a, body: body})
				if res.status != http.StatusUnprocessableEntity {
					t.Errorf("%s%s, %s: status %d, want 422: %s", c.name, ext, form.name, res.status, res.body)
					continue
				}
				attr, key, msg := errorOf(t, res, ext)
				if attr != c.attribute || key != keyInvalid || !strings.Contains(msg, "card number") {
					t.Errorf("%s%s, %s: attribute %q key %q message %q, want %q %s", c.name, ext, form.name, attr, key, msg, c.attribute, keyInvalid)
				}
			}
		}
	}

	// Nothing was stored: one payment method, unchanged; no transaction;
	// one gateway, unchanged.
	res := f.get(t, a, "/v1/payment_methods.json")
	pms := res.json(t)["payment_methods"].([]any)
	if len(pms) != 1 {
		t.Fatalf("%d payment methods after refused requests, want 1", len(pms))
	}
	got := pms[0].(map[string]any)
	if got["email"] != "kari@example.com" || got["full_name"] != "Kari Nordmann" || got["address2"] != nil ||
		got["metadata"].(map[string]any)["order"] != "A-17" || got["metadata"].(map[string]any)["note"] != nil {
		t.Errorf("refused updates changed the payment method: %v", got)
	}
	if txns := f.get(t, a, "/v1/transactions.json").json(t)["transactions"].([]any); len(txns) != 0 {
		t.Errorf("refused requests made %d transactions", len(txns))
	}
	gws := f.get(t, a, "/v1/gateways.json").json(t)["gateways"].([]any)
	if len(gws) != 1 || gws[0].(map[string]any)["description"] != nil {
		t.Errorf("refused requests changed the gateways: %v", gws)
	}
	// Nothing echoed it or logged it.
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, body := range f.responses {
		if piece := pastedPiece(body); piece != "" {
			t.Fatalf("a response holds %q of the pasted number: %s", piece, body)
		}
	}
	if piece := pastedPiece(f.logs.String()); piece != "" {
		t.Errorf("the logs hold %q of the pasted number", piece)
	}
}

// pastedPiece returns a piece of the pasted number that s holds — a form
// it was sent in, two of its groups with their separator, or any 8 of
// its digits in a row — or "". A shorter piece (a group of four) would
// match durations and random ids by chance.
func pastedPiece(s string) string {
	for _, form := range pastedForms {
		if strings.Contains(s, form.s) {
			return form.s
		}
	}
	groups := []string{pastedPAN[0:4], pastedPAN[4:8], pastedPAN[8:12], pastedPAN[12:16]}
	for i := range len(groups) - 1 {
		for _, sep := range []string{"-", " "} {
			if p := groups[i] + sep + groups[i+1]; strings.Contains(s, p) {
				return p
			}
		}
	}
	for i := 0; i+8 <= len(pastedPAN); i++ {
		if p := pastedPAN[i : i+8]; strings.Contains(s, p) {
			return p
		}
	}
	return ""
}

// TestOrdinaryTextAccepted: digits that are no card number pass.
func TestOrdinaryTextAccepted(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	gw := f.createTestGateway(t, a)
	pm := f.createCard(t, a, visa)
	for _, ext := range []string{".json", ".xml"} {
		b := el{"transaction", []el{{"payment_method_token", pm}, {"amount", number("100")}, {"currency_code", "USD"},
			{"order_id", "order-1001"}, {"description", "550e8400-e29b-41d4-a716-446655440000"},
			{"email", "kari+1001@example.com"}, {"ip", "2001:db8::1"}}}
		body := jsonBody(b)
		if ext == ".xml" {
			body = xmlBody(b)
		}
		if res := f.post(t, a, "/v1/gateways/"+gw+"/purchase"+ext, body); res.status != http.StatusOK {
			t.Errorf("purchase%s: %d %s", ext, res.status, res.body)
		}
		b = el{"payment_method", []el{{"email", "kari.nordmann@example.com"}, {"metadata", []el{{"phone", "+49 1512 3456704"}, {"at", "2026-11-22T10:00:00Z"}}}}}
		body = jsonBody(b)
		if ext == ".xml" {
			body = xmlBody(b)
		}
		if res := f.put(t, a, "/v1/payment_methods/"+pm+ext, body); res.status != http.StatusOK {
			t.Errorf("update%s: %d %s", ext, res.status, res.body)
		}
	}
}
