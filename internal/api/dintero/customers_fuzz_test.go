package dintero

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/payment"
)

// FuzzCustomerRequest: decoding and checking a customer body never panics,
// fails only with a 400 naming no card number, and what it accepts is
// metadata kassa can store.
func FuzzCustomerRequest(f *testing.F) {
	for _, s := range []string{
		`{"customer_id":"c-1","first_name":"Kari","metadata":{"dob_year":1985}}`,
		`{"addresses":[{"address_line":"4111111111111111"}]}`, `{"metadata":{"4111111111111111":1}}`,
		`{"metadata":null}`, `{"company":{"a":{"b":[1,2,{"c":null}]}}}`, `{"phone_number":"+4799999999"}`,
		`{"type":"robot"}`, `{"date_of_birth":"1990-02-30"}`, `{"metadata":{"dintero:typed":"[]"}}`, `[]`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in customerRequest
		err := decodeBody(body, &in)
		if err == nil {
			_, err = customerMetadata(&in, &payment.Customer{Metadata: map[string]string{"k": "v", typedKey: `["k"]`}})
		}
		checkRefusal(t, err)
	})
}

// FuzzTokenRequest is FuzzCustomerRequest for a token body.
func FuzzTokenRequest(f *testing.F) {
	for _, s := range []string{
		seedBody, `{"type":"t","value":"v","token_id":"t1","metadata":{"exp_month":10}}`,
		`{"type":"t","value":"v","metadata":{"a":[4111111111111111]}}`, `{"type":1}`, `{"metadata":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in tokenRequestBody
		err := decodeBody(body, &in)
		if err == nil {
			_, _, err = userMetadata(in.Metadata)
		}
		checkRefusal(t, err)
	})
}

// checkRefusal: err is nil or a 400 (or a payment error the engine's
// checks give) that repeats no card number or long name.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var text string
	var de *Error
	switch {
	case errors.As(err, &de):
		if de.Status != http.StatusBadRequest || de.Code != CodeBadRequest {
			t.Fatalf("error %v", err)
		}
		text = de.Message
		for _, fe := range de.Errors {
			text += " " + safePath(fe.Path) + " " + fe.Message
		}
	default:
		e, ok := payment.AsError(err)
		if !ok || e.Kind != payment.KindInvalid {
			t.Fatalf("error %v", err)
		}
		text = e.Message
	}
	if longDigits(text) || strings.Contains(text, "4111111111111111") {
		t.Fatalf("the error repeats the body: %q", text)
	}
}
