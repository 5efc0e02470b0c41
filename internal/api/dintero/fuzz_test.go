package dintero

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// FuzzDecode: the request decoder never panics, refuses with Dintero's 400
// only, and never repeats a long run of the body's digits (a card number)
// or a name longer than any field's (a secret key sent as one).
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"grant_type":"client_credentials","audience":"https://x/v1/accounts/T12345678"}`,
		`{"grant_type":"client_credentials","scope":"read:checkout read:accounts"}`,
		`{"grant_type":1}`, `{"4111111111111111":1}`, `{"sk_test_aaaaaaaabbbbbbbbccccccccdddddddd":1}`,
		`{"a":{"b":[1,2]}}`, `[]`, `null`, `{`, `{"grant_type":"x","grant_type":"y"}`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in tokenRequest
		err := decodeBody(body, &in)
		if err == nil {
			return
		}
		var de *Error
		if !errors.As(err, &de) || de.Status != http.StatusBadRequest || de.Code != CodeBadRequest {
			t.Fatalf("error %v", err)
		}
		text := de.Message
		for _, fe := range de.Errors {
			text += " " + fe.Path + " " + fe.Message
		}
		if longName(text) || longDigits(text) {
			t.Fatalf("the error repeats the body: %q", text)
		}
	})
}

// longName reports a run of more than maxFieldName characters that may
// make up a field name.
func longName(s string) bool {
	return slices.ContainsFunc(strings.FieldsFunc(s, func(c rune) bool {
		return !(c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
	}), func(w string) bool { return len(w) > maxFieldName })
}

// longDigits reports a run of 12 or more digits.
func longDigits(s string) bool {
	n := 0
	for _, c := range s {
		if c >= '0' && c <= '9' {
			n++
			if n >= 12 {
				return true
			}
		} else {
			n = 0
		}
	}
	return false
}

// FuzzDecodeCredential: the admin credential body, decoded for collector
// and for the other types and flattened, never panics, refuses with 400
// only, and never repeats a card number or an overlong name from the body.
func FuzzDecodeCredential(f *testing.F) {
	for _, s := range []string{
		seedBody,
		`{"name":"a","data":{"url":"https://c","username":"u","password":"p","store_id":1,"country":"SE"},"promote":[{"gateway_id":"gw_1"}]}`,
		`{"name":"a","data":{"store_id":"1"}}`, `{"name":"a","data":{"store_id":1.5}}`, `{"name":"a","data":{"options":{"customer_client":null}}}`,
		`{"name":"a","data":{"login":"x","4111111111111111":"y"}}`, `{"data":null}`, `{"promote":[1]}`, `{}`, `[]`, `{`,
	} {
		f.Add([]byte(s))
	}
	check := func(t *testing.T, err error) {
		if err == nil {
			return
		}
		var de *Error
		if !errors.As(err, &de) || de.Status != http.StatusBadRequest || de.Code != CodeBadRequest {
			t.Fatalf("error %v", err)
		}
		text := de.Message
		for _, fe := range de.Errors {
			text += " " + fe.Path + " " + fe.Message
		}
		if longName(text) || longDigits(text) {
			t.Fatalf("the error repeats the body: %q", text)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var c credentialRequest[*collectorData]
		err := decodeBody(body, &c)
		if err == nil {
			_, err = c.Data.credentials()
		}
		check(t, err)
		var g credentialRequest[map[string]any]
		check(t, decodeBody(body, &g))
	})
}
