package native

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/card"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// FuzzDecodePaymentMethod feeds arbitrary bytes through what
// POST /v1/payment_methods does before it vaults anything: strict decoding,
// then the engine's validation. It must not panic, and every refusal must be
// a payment.Error that names a field or says the body could not be read.
func FuzzDecodePaymentMethod(f *testing.F) {
	for _, seed := range []string{
		cardBody(pan, cvc),
		cardBody(amexPAN, amexCVC),
		`{"type":"card","card":{"number":"4242 4242 4242 4242","exp_month":"07","exp_year":"2031"}}`,
		`{"type":"card","card":{"number":4242424242424242}}`,
		`{"type":"card","card":{"number":"4242424242424242","exp_month":13,"exp_year":2031}}`,
		`{"type":"card","card":{"foo":1}}`,
		`{"type":"card","metadata":{"a":"b","a":"c"}}`,
		`{"type":"card","billing_address":{"country":"no"}}`,
		`{"type":"card","card":{"exp_month":1e9}}`,
		`{"type":"card"} trailing`,
		`{"type":"card",`,
		`[]`, `null`, `""`, ``, `{}`, `{"":""}`, `{"card":{"\u0000":1}}`,
	} {
		f.Add([]byte(seed))
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	eng := engine.New(engine.Config{Now: func() time.Time { return now }}) // no store, no vault: nothing is vaulted
	f.Fuzz(func(t *testing.T, body []byte) {
		var req createPaymentMethodRequest
		err := api.StrictUnmarshal(body, &req)
		if err == nil {
			err = eng.ValidatePaymentMethod(req.input())
		}
		if err == nil {
			return
		}
		e, ok := payment.AsError(err)
		if !ok {
			t.Fatalf("%q: error %v (%T) is not a payment.Error", body, err, err)
		}
		if e.Param == "" && e.Kind != payment.KindMalformed {
			t.Fatalf("%q: error %v names no param", body, err)
		}
		if s := api.Status(err); s < 400 || s >= 500 {
			t.Fatalf("%q: error %v has status %d", body, err, s)
		}
		if e.Message == "" {
			t.Fatalf("%q: error without a message", body)
		}
	})
}

// FuzzDecodePayment feeds arbitrary bytes through what POST /v1/payments and
// POST /v1/gateways do before the engine sees them: strict decoding of
// bodies with free-form objects, and the amount's presence check. Every
// refusal must be a 4xx payment.Error.
func FuzzDecodePayment(f *testing.F) {
	for _, seed := range []string{
		`{"amount":1000,"currency":"EUR","payment_method":"pm_1","gateway":"gw_1","capture":false,"metadata":{"a":"b"},` +
			`"stored_credential":{"initiator":"merchant","reason":"recurring"},"gateway_specific_fields":{"simulate_decline":true,"n":1e400}}`,
		`{"amount":"1000"}`, `{"amount":10.5}`, `{"amount":-1}`, `{"amount":99999999999999999999}`, `{"amount":null}`,
		`{"gateway_specific_fields":{"a":{"b":[1,2,{"c":null}]},"a":1}}`, `{"gateway_specific_fields":[]}`,
		`{"type":"simulator","credentials":{"login":"x","password":5},"settings":{"latency_ms":9007199254740993}}`,
		`{"credentials":{"` + pan + `":"x"}}`, `{"settings":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
		`{`, `[]`, `null`, ``,
	} {
		f.Add([]byte(seed))
	}
	check := func(t *testing.T, body []byte, err error) {
		e, ok := payment.AsError(err)
		if !ok {
			t.Fatalf("%q: error %v (%T) is not a payment.Error", body, err, err)
		}
		if s := api.Status(err); s < 400 || s >= 500 || e.Message == "" {
			t.Fatalf("%q: error %v has status %d", body, err, s)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var pay createPaymentRequest
		err := api.StrictUnmarshal(body, &pay)
		if err == nil {
			_, err = pay.input()
		}
		if err != nil {
			check(t, body, err)
		}
		var gw createGatewayRequest
		if err := api.StrictUnmarshal(body, &gw); err != nil {
			check(t, body, err)
		}
	})
}

// FuzzDecodeCustomer feeds arbitrary bytes through what the customer and
// token routes do before they store anything: strict decoding, then the
// engine's validation. Every refusal must be a 4xx payment.Error naming a
// field (or the body); whatever is accepted must keep Dintero's id rules
// and hold no card number.
func FuzzDecodeCustomer(f *testing.F) {
	for _, seed := range []string{
		`{"external_id":"crm-17","email":"kari@example.com","name":"Kari","phone":"+47 1","metadata":{"a":"b"}}`,
		`{"external_id":" x"}`, `{"external_id":""}`, `{"external_id":"` + strings.Repeat("ø", 256) + `"}`,
		`{"external_id":"` + pan + `"}`, `{"name":"4000 0566 5566 5556"}`, `{"external_id":"a\u00a0"}`,
		`{"type":"sha1:email","value":"5baa61e4","token_id":"t-1","metadata":{"k":"v"}}`,
		`{"type":"","value":"v"}`, `{"type":"t","value":"` + pan + `"}`, `{"token_id":null}`,
		`{"default_payment_method":"pm_1"}`, `{`, `[]`, `null`, ``,
	} {
		f.Add([]byte(seed))
	}
	check := func(t *testing.T, body []byte, err error) {
		e, ok := payment.AsError(err)
		if !ok {
			t.Fatalf("%q: error %v (%T) is not a payment.Error", body, err, err)
		}
		if e.Param == "" && e.Kind != payment.KindMalformed {
			t.Fatalf("%q: error %v names no param", body, err)
		}
		if s := api.Status(err); s < 400 || s >= 500 || e.Message == "" {
			t.Fatalf("%q: error %v has status %d", body, err, s)
		}
	}
	accepted := func(t *testing.T, body []byte, field string, v *string) {
		if v == nil {
			return
		}
		n := utf8.RuneCountInString(*v)
		first, _ := utf8.DecodeRuneInString(*v)
		last, _ := utf8.DecodeLastRuneInString(*v)
		if n < 1 || n > 255 || unicode.IsSpace(first) || unicode.IsSpace(last) || card.ContainsPAN(*v) {
			t.Fatalf("%q: %s %q accepted", body, field, *v)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var c createCustomerRequest
		if err := api.StrictUnmarshal(body, &c); err != nil {
			check(t, body, err)
		} else if err := engine.ValidateCustomer(engine.CustomerInput{ExternalID: c.ExternalID, Email: c.Email,
			Name: c.Name, Phone: c.Phone, Metadata: c.Metadata}); err != nil {
			check(t, body, err)
		} else {
			accepted(t, body, "external_id", c.ExternalID)
			for _, s := range []string{c.Email, c.Name, c.Phone} {
				if card.ContainsPAN(s) {
					t.Fatalf("%q: a card number accepted", body)
				}
			}
		}
		var tok createCustomerTokenRequest
		if err := api.StrictUnmarshal(body, &tok); err != nil {
			check(t, body, err)
		} else if err := engine.ValidateCustomerToken(engine.CustomerTokenInput{Type: tok.Type, Value: tok.Value,
			TokenID: tok.TokenID, Metadata: tok.Metadata}); err != nil {
			check(t, body, err)
		} else {
			accepted(t, body, "token_id", tok.TokenID)
			if tok.Type == "" || tok.Value == "" || card.ContainsPAN(tok.Type) || card.ContainsPAN(tok.Value) {
				t.Fatalf("%q: token accepted", body)
			}
		}
		var u updateCustomerRequest
		if err := api.StrictUnmarshal(body, &u); err != nil {
			check(t, body, err)
		}
	})
}
