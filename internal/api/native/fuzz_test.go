package native

import (
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/api"
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
