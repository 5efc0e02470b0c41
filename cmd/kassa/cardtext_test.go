package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kassapay/kassa/client"
)

// TestNoPastedCardNumberAtRest pastes a card number into free-text fields
// of the native API and of the Spreedly dialect (JSON and XML) on a real
// server, and then looks for it, in each of the forms it was sent, in
// every file of the data directory (database, WAL, key file) and in
// everything the server logged, while it runs and after it stopped: every
// request was refused, so it must be nowhere.
func TestNoPastedCardNumberAtRest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir, env(map[string]string{"KASSA_LOG_LEVEL": "debug"}))
	ctx := context.Background()
	key := s.bootstrapKey(t)
	c := client.New(s.URL, key)
	acct, err := c.Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := c.CreateGateway(ctx, &client.GatewayParams{Type: "simulator"})
	if err != nil {
		t.Fatal(err)
	}
	pm, err := c.CreatePaymentMethod(ctx, card("378282246310005", "9371"))
	if err != nil {
		t.Fatal(err)
	}

	const pasted = "4000056655665556" // never vaulted here
	forms := []string{pasted, "4000-0566-5566-5556", "4000 0566 5566 5556", pasted + "@example.com", "4000-0566-5566-5556@example.com"}
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	x := func(s string) string {
		var b bytes.Buffer
		if err := xml.EscapeText(&b, []byte(s)); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	newCard := `"type":"card","card":{"number":"4111111111111111","exp_month":12,"exp_year":2031}`
	spCard := `"credit_card":{"first_name":"Kari","last_name":"Nordmann","number":"4111111111111111","month":12,"year":2031}`
	spCardXML := `<credit_card><first_name>Kari</first_name><last_name>Nordmann</last_name><number>4111111111111111</number>` +
		`<month>12</month><year>2031</year></credit_card>`
	type request struct {
		name, method, path, body string
		spreedly                 bool
		want                     string // what names the field in the error
		idemKey                  string // an Idempotency-Key to send instead of a plain one
	}
	var reqs []request
	for _, f := range forms {
		native := func(name, method, path, body, param string) request {
			return request{name: name, method: method, path: "/v1" + path, body: body, want: `"param":"` + param + `"`}
		}
		sp := func(name, method, path, body, attr string) request {
			want := `"attribute":"` + attr + `"`
			if strings.HasSuffix(path, ".xml") {
				want = `attribute="` + attr + `"`
			}
			return request{name: name, method: method, path: "/spreedly/v1" + path, body: body, spreedly: true, want: want}
		}
		reqs = append(reqs,
			native("email", "POST", "/payment_methods", `{`+newCard+`,"email":`+q(f)+`}`, "email"),
			native("holder name", "POST", "/payment_methods", `{"type":"card","card":{"number":"4111111111111111","exp_month":12,"exp_year":2031,"holder_name":`+q(f)+`}}`, "card.holder_name"),
			native("metadata", "POST", "/payment_methods", `{`+newCard+`,"metadata":{"note":`+q(f)+`}}`, "metadata.note"),
			native("update email", "POST", "/payment_methods/"+pm.ID, `{"email":`+q(f)+`}`, "email"),
			native("reference", "POST", "/payments", `{"amount":100,"currency":"EUR","payment_method":"`+pm.ID+`","gateway":"`+gw.ID+`","reference":`+q(f)+`}`, "reference"),
			native("description", "POST", "/payments", `{"amount":100,"currency":"EUR","payment_method":"`+pm.ID+`","gateway":"`+gw.ID+`","description":`+q(f)+`}`, "description"),
			sp("email", "POST", "/payment_methods.json", `{"payment_method":{`+spCard+`,"email":`+q(f)+`}}`, "email"),
			sp("first name", "POST", "/payment_methods.xml", `<payment_method><credit_card><first_name>`+x(f)+`</first_name><last_name>Nordmann</last_name>`+
				`<number>4111111111111111</number><month>12</month><year>2031</year></credit_card></payment_method>`, "first_name"),
			sp("email", "POST", "/payment_methods.xml", `<payment_method>`+spCardXML+`<email>`+x(f)+`</email></payment_method>`, "email"),
			sp("update email", "PUT", "/payment_methods/"+pm.ID+".json", `{"payment_method":{"email":`+q(f)+`}}`, "email"),
			sp("update last name", "PUT", "/payment_methods/"+pm.ID+".xml", `<payment_method><last_name>`+x(f)+`</last_name></payment_method>`, "last_name"),
			sp("order_id", "POST", "/gateways/"+gw.ID+"/purchase.json", `{"transaction":{"payment_method_token":"`+pm.ID+`","amount":100,"currency_code":"EUR","order_id":`+q(f)+`}}`, "order_id"),
			sp("description", "POST", "/gateways/"+gw.ID+"/authorize.xml", `<transaction><payment_method_token>`+pm.ID+`</payment_method_token>`+
				`<amount>100</amount><currency_code>EUR</currency_code><description>`+x(f)+`</description></transaction>`, "description"),
			sp("email", "POST", "/gateways/"+gw.ID+"/purchase.xml", `<transaction><payment_method_token>`+pm.ID+`</payment_method_token>`+
				`<amount>100</amount><currency_code>EUR</currency_code><email>`+x(f)+`</email></transaction>`, "email"),
		)
		// The Idempotency-Key is text too: refused, never stored.
		nk := native("idempotency key", "POST", "/payments", `{"amount":100,"currency":"EUR","payment_method":"`+pm.ID+`","gateway":"`+gw.ID+`"}`, "Idempotency-Key")
		nk.idemKey = f
		sk := sp("idempotency key", "POST", "/gateways/"+gw.ID+"/purchase.json", `{"transaction":{"payment_method_token":"`+pm.ID+`","amount":100,"currency_code":"EUR"}}`, "Idempotency-Key")
		sk.idemKey = f
		reqs = append(reqs, nk, sk)
	}
	for i, r := range reqs {
		hr, err := http.NewRequest(r.method, s.URL+r.path, strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		if r.spreedly {
			hr.SetBasicAuth(acct.ID, key)
			hr.Header.Set("Content-Type", "application/json")
			if strings.Contains(r.path, ".xml") {
				hr.Header.Set("Content-Type", "application/xml")
			}
		} else {
			hr.Header.Set("Authorization", "Bearer "+key)
			hr.Header.Set("Content-Type", "application/json")
			// Whatever the server keeps of an idempotent request's answer
			// must not hold the number either.
			hr.Header.Set("Idempotency-Key", fmt.Sprintf("pasted-%d", i))
		}
		if r.idemKey != "" {
			hr.Header.Set("Idempotency-Key", r.idemKey)
		}
		res, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), r.want) {
			t.Errorf("%s %s (%s): %d %s, want 422 with %s", r.method, r.path, r.name, res.StatusCode, body, r.want)
		}
		for _, f := range forms {
			if strings.Contains(string(body), f) {
				t.Errorf("%s %s (%s): the response echoes %q", r.method, r.path, r.name, f)
			}
		}
	}
	if l, err := c.ListPaymentMethods(ctx, nil); err != nil || len(l.Data) != 1 || l.Data[0].Email != "" {
		t.Fatalf("payment methods after refused requests: %+v %v", l, err)
	}
	if l, err := c.ListPayments(ctx, nil); err != nil || len(l.Data) != 0 {
		t.Fatalf("payments after refused requests: %+v %v", l, err)
	}

	s.checkNothingAtRest(t, "while running", []string{pasted}, forms)
	s.Stop(t)
	s.checkNothingAtRest(t, "after shutdown", []string{pasted}, forms)
}
