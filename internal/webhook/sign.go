package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Signer signs one attempt of a delivery: it sets the headers the
// receiver checks. msgID is the delivery's stable message id and now the
// attempt's time; body is exactly what is sent.
type Signer interface {
	Sign(r *http.Request, msgID string, now time.Time, body []byte) error
}

// SecretPrefix begins every Standard Webhooks signing secret kassa makes.
const SecretPrefix = "whsec_"

// secretBytes is the size of a new secret's key (Standard Webhooks allows
// 24 to 64).
const secretBytes = 32

// NewSecret returns a new signing secret: "whsec_" and the base64 of 32
// random bytes.
func NewSecret() string {
	b := make([]byte, secretBytes)
	rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// SecretKey is the HMAC key of a secret: its base64 after the prefix.
func SecretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) < 24 || len(key) > 64 {
		return nil, errors.New("webhook: not a signing secret")
	}
	return key, nil
}

// Standard signs as Standard Webhooks v1 with each of its keys, the
// newest first: during a rotation the receiver accepts either.
type Standard struct {
	Keys [][]byte
}

// Sign sets webhook-id, webhook-timestamp and webhook-signature.
func (s Standard) Sign(r *http.Request, msgID string, now time.Time, body []byte) error {
	if len(s.Keys) == 0 {
		return errors.New("webhook: no signing key")
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	sigs := make([]string, len(s.Keys))
	for i, k := range s.Keys {
		sigs[i] = "v1," + StandardSignature(k, msgID, ts, body)
	}
	r.Header.Set("webhook-id", msgID)
	r.Header.Set("webhook-timestamp", ts)
	r.Header.Set("webhook-signature", strings.Join(sigs, " "))
	return nil
}

// StandardSignature is the base64 HMAC-SHA256 under key of
// msgID "." timestamp "." body.
func StandardSignature(key []byte, msgID, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msgID))
	m.Write([]byte{'.'})
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// VerifyStandard checks a Standard Webhooks signature header against key,
// as a receiver does (tolerance bounds the timestamp's distance from now).
// It is kassa's own check, used by tests and by merchants writing Go.
func VerifyStandard(key []byte, msgID, timestamp, signatures string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("webhook: bad timestamp")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhook: timestamp out of tolerance")
	}
	want := StandardSignature(key, msgID, timestamp, body)
	for _, sig := range strings.Fields(signatures) {
		v, s, ok := strings.Cut(sig, ",")
		if ok && v == "v1" && hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return errors.New("webhook: no matching signature")
}
