package ixopay

import (
	"errors"
	"regexp"
	"testing"
)

var longDigits = regexp.MustCompile(`[0-9]{12,}`)

// FuzzDecodeTx: the transaction decoder never panics, answers every
// refusal with IXOPAY's error, never repeats a card number of the body in
// it, and reads amounts only as their text.
func FuzzDecodeTx(f *testing.F) {
	f.Add([]byte(cardBody("order-1", "9.99", "EUR", visa)))
	f.Add([]byte(`{"merchantTransactionId":"x","amount":19.99,"cardData":{"expirationMonth":"01","expirationYear":"2031"}}`))
	f.Add([]byte(`{"amount":true}`))
	f.Add([]byte(`{"cardData":{"expirationMonth":"4111111111111111"}}`))
	f.Add([]byte(`{"extraData":[1],"customer":"x"}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(`{"description":4111111111111111}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeTx(body)
		if err != nil {
			var ie *ixError
			if !errors.As(err, &ie) {
				t.Fatalf("not IXOPAY's error: %v", err)
			}
			if d := longDigits.FindString(ie.message); d != "" {
				t.Fatalf("the error repeats digits of the body: %q", ie.message)
			}
			return
		}
		if req.Amount.set {
			if _, err := ParseAmount(req.Amount.text, 2); err == nil && req.Amount.text == "" {
				t.Fatalf("an empty amount parsed")
			}
		}
	})
}
