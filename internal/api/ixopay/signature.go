package ixopay

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"
)

// ContentType is the content type IXOPAY signs with and sends.
const ContentType = "application/json; charset=utf-8"

// SignatureSkew is how far a request's Date may be from kassa's clock:
// five minutes either way.
const SignatureSkew = 5 * time.Minute

// Errors of a request signature, each reported as IXOPAY's "invalid
// signature" error; the distinction is for kassa's tests and logs.
var (
	errSignatureMissing = errors.New("ixopay: X-Signature or Date missing")
	errSignatureDate    = errors.New("ixopay: Date unreadable or too far from now")
	errSignatureWrong   = errors.New("ixopay: signature does not match")
)

// signatureMessage is what IXOPAY signs: METHOD, the body hash,
// the content type, the Date header and the request URI, one per line.
func signatureMessage(method, bodyHash, contentType, date, requestURI string) string {
	return method + "\n" + bodyHash + "\n" + contentType + "\n" + date + "\n" + requestURI
}

// Sign returns the X-Signature of a request or callback: base64 of
// HMAC-SHA512 under secret, the body hashed with SHA-512 (hex).
func Sign(secret, method, contentType, date, requestURI string, body []byte) string {
	sum := sha512.Sum512(body)
	return mac(secret, signatureMessage(method, hex.EncodeToString(sum[:]), contentType, date, requestURI))
}

func mac(secret, message string) string {
	m := hmac.New(sha512.New, []byte(secret))
	m.Write([]byte(message))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// parseDate reads a Date header as IXOPAY's clients send it: RFC 1123
// with "GMT" or "UTC" as the zone.
func parseDate(v string) (time.Time, error) {
	if s, ok := strings.CutSuffix(v, " UTC"); ok {
		v = s + " GMT"
	}
	return http.ParseTime(v)
}

// VerifySignature checks a request's X-Signature against secret: the body
// hash may be hex SHA-512 or hex MD5 (the official PHP client's default),
// the date (X-Date, else Date) must be within SignatureSkew of now, and the comparison is in
// constant time. requestURI is the path and query as the client sent them.
func VerifySignature(secret string, r *http.Request, body []byte, now time.Time) error {
	sig := r.Header.Get("X-Signature")
	// IXOPAY: X-Date, for HTTP libraries that set Date themselves, takes
	// precedence over Date.
	date := r.Header.Get("X-Date")
	if date == "" {
		date = r.Header.Get("Date")
	}
	if sig == "" || date == "" {
		return errSignatureMissing
	}
	at, err := parseDate(date)
	if err != nil {
		return errSignatureDate
	}
	if d := now.Sub(at); d > SignatureSkew || d < -SignatureSkew {
		return errSignatureDate
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return errSignatureWrong
	}
	sha := sha512.Sum512(body)
	md := md5.Sum(body)
	uri := r.URL.RequestURI()
	if r.RequestURI != "" {
		uri = r.RequestURI
	}
	match := false
	for _, h := range []string{hex.EncodeToString(sha[:]), hex.EncodeToString(md[:])} {
		want, _ := base64.StdEncoding.DecodeString(mac(secret, signatureMessage(r.Method, h, r.Header.Get("Content-Type"), date, uri)))
		// Both are computed, whichever matches, so the time taken says
		// nothing about which hash was used.
		if hmac.Equal(got, want) {
			match = true
		}
	}
	if !match {
		return errSignatureWrong
	}
	return nil
}
