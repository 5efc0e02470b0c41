package ixopay

import (
	"errors"
	"regexp"
	"testing"

	"github.com/kassapay/kassa/internal/payment"
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
	f.Add([]byte(keptBody("k-1", "op_1", "1", "EUR")))
	f.Add([]byte(`{"extraData":{"a":"4111 1111 1111 1111"},"additionalId1":"\u0000"}`))
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
		// The kept fields' checks refuse in IXOPAY's terms, never
		// repeating the body; what they accept is kept as a JSON object
		// that reads back the same.
		for _, typ := range []string{TypeCapture, TypeVoid} {
			if err := checkKept(typ, req); err != nil {
				var ie *ixError
				var pe *payment.Error
				switch {
				case errors.As(err, &ie):
					if d := longDigits.FindString(ie.message); d != "" {
						t.Fatalf("the error repeats digits of the body: %q", ie.message)
					}
				case errors.As(err, &pe):
					if pe.Code != payment.CodeCardNumberInText || longDigits.MatchString(pe.Message) {
						t.Fatalf("kept fields refused as %v", err)
					}
				default:
					t.Fatalf("kept fields refused as %v", err)
				}
				continue
			}
			attrs := keptOf(typ, req)
			if attrs == nil {
				continue
			}
			k := keptIn(attrs)
			if again := keptOf(typ, &txRequest{ReferenceUUID: k.ReferenceUUID, AdditionalID1: k.AdditionalID1,
				AdditionalID2: k.AdditionalID2, Description: k.Description, ExtraData: k.ExtraData,
				MerchantMetaData: k.MerchantMetaData}); string(again) != string(attrs) {
				t.Fatalf("kept %s reads back as %s", attrs, again)
			}
		}
	})
}
