package ixopay

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// phpSign signs as the official PHP client does by default: the body
// hashed with MD5.
func phpSign(secret, method, contentType, date, uri string, body []byte) string {
	sum := md5.Sum(body)
	m := hmac.New(sha512.New, []byte(secret))
	m.Write([]byte(method + "\n" + hex.EncodeToString(sum[:]) + "\n" + contentType + "\n" + date + "\n" + uri))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestVerifySignature(t *testing.T) {
	now := time.Date(2026, 12, 4, 13, 20, 41, 0, time.UTC)
	body := []byte(`{"merchantTransactionId":"order-1","amount":"9.99","currency":"EUR"}`)
	const uri = "/api/v3/transaction/key-1/debit"
	const secret = "shared-secret"
	req := func(date, sig string, body []byte) error {
		r := httptest.NewRequest("POST", uri, strings.NewReader(string(body)))
		r.Header.Set("Content-Type", ContentType)
		if date != "" {
			r.Header.Set("Date", date)
		}
		if sig != "" {
			r.Header.Set("X-Signature", sig)
		}
		return VerifySignature(secret, r, body, now)
	}
	utc := "Fri, 04 Dec 2026 13:20:41 UTC"
	gmt := "Fri, 04 Dec 2026 13:20:41 GMT"
	cases := []struct {
		name string
		err  error
		date string
		sig  string
		body []byte
	}{
		{"sha512, GMT", nil, gmt, Sign(secret, "POST", ContentType, gmt, uri, body), body},
		{"md5 as the PHP client, UTC", nil, utc, phpSign(secret, "POST", ContentType, utc, uri, body), body},
		{"wrong secret", errSignatureWrong, gmt, Sign("other", "POST", ContentType, gmt, uri, body), body},
		{"body changed after signing", errSignatureWrong, gmt, Sign(secret, "POST", ContentType, gmt, uri, body), append([]byte(" "), body...)},
		{"other path signed", errSignatureWrong, gmt, Sign(secret, "POST", ContentType, gmt, uri+"x", body), body},
		{"stale date", errSignatureDate, "Fri, 04 Dec 2026 13:14:40 GMT", Sign(secret, "POST", ContentType, "Fri, 04 Dec 2026 13:14:40 GMT", uri, body), body},
		{"future date", errSignatureDate, "Fri, 04 Dec 2026 13:26:42 GMT", Sign(secret, "POST", ContentType, "Fri, 04 Dec 2026 13:26:42 GMT", uri, body), body},
		{"no signature", errSignatureMissing, gmt, "", body},
		{"no date", errSignatureMissing, "", Sign(secret, "POST", ContentType, gmt, uri, body), body},
		{"not base64", errSignatureWrong, gmt, "%%%", body},
		{"bad date", errSignatureDate, "yesterday", "abc", body},
	}
	for _, c := range cases {
		if err := req(c.date, c.sig, c.body); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}
	// The date may come as X-Date alone.
	r := httptest.NewRequest("GET", "/api/v3/status/key-1/getByUuid/abc", nil)
	r.Header.Set("Content-Type", ContentType)
	r.Header.Set("X-Date", utc)
	r.Header.Set("X-Signature", phpSign(secret, "GET", ContentType, utc, "/api/v3/status/key-1/getByUuid/abc", nil))
	if err := VerifySignature(secret, r, nil, now); err != nil {
		t.Errorf("a GET signed over the empty body: %v", err)
	}
	// With both, X-Date is the one signed (IXOPAY: it takes precedence,
	// for libraries that write Date themselves).
	other := "Fri, 04 Dec 2026 13:20:40 GMT"
	for _, c := range []struct {
		signed string
		want   error
	}{{gmt, nil}, {other, errSignatureWrong}} {
		r := httptest.NewRequest("POST", uri, strings.NewReader(string(body)))
		r.Header.Set("Content-Type", ContentType)
		r.Header.Set("Date", other)
		r.Header.Set("X-Date", gmt)
		r.Header.Set("X-Signature", Sign(secret, "POST", ContentType, c.signed, uri, body))
		if err := VerifySignature(secret, r, body, now); !errors.Is(err, c.want) {
			t.Errorf("Date %q, X-Date %q, signed over %q: %v, want %v", other, gmt, c.signed, err, c.want)
		}
	}
}

func FuzzVerifySignature(f *testing.F) {
	f.Add("Fri, 04 Dec 2026 13:20:41 GMT", "abc", []byte(`{}`))
	f.Add("Fri, 04 Dec 2026 13:20:41 UTC", "", []byte(nil))
	now := time.Date(2026, 12, 4, 13, 20, 41, 0, time.UTC)
	f.Fuzz(func(t *testing.T, date, sig string, body []byte) {
		r := httptest.NewRequest("POST", "/api/v3/transaction/k/debit", nil)
		r.Header.Set("Date", date)
		r.Header.Set("X-Signature", sig)
		if err := VerifySignature("secret", r, body, now); err == nil && sig != Sign("secret", "POST", "", date, "/api/v3/transaction/k/debit", body) {
			t.Fatalf("accepted a signature it did not make: %q", sig)
		}
	})
}
