package payment

import (
	"crypto/rand"
	"fmt"
	"math/big"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Id prefixes of kassa's objects.
const (
	PrefixPaymentMethod = "pm"
	PrefixAPIKey        = "key"
	PrefixEvent         = "evt"
	PrefixGateway       = "gw"
	PrefixPayment       = "pay"
	PrefixOperation     = "op"
)

// NewID returns prefix + "_" + 24 random base62 characters (~143 bits).
func NewID(prefix string) string {
	return prefix + "_" + RandomString(24)
}

// RandomString returns n characters drawn uniformly from [0-9A-Za-z] with a
// cryptographic generator.
func RandomString(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(base62)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("payment: crypto/rand failed: " + err.Error())
		}
		b[i] = base62[v.Int64()]
	}
	return string(b)
}

// NewAccountID returns a fresh account id: "T" (test) or "P" (live, "production")
// followed by 8 random digits, as Dintero numbers its accounts. Callers retry
// on a collision (the store reports ErrConflict).
func NewAccountID(live bool) string {
	v, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		panic("payment: crypto/rand failed: " + err.Error())
	}
	p := "T"
	if live {
		p = "P"
	}
	return fmt.Sprintf("%s%08d", p, v.Int64())
}

// ValidAccountID reports whether s has the shape of an account id.
func ValidAccountID(s string) bool {
	if len(s) != 9 || (s[0] != 'T' && s[0] != 'P') {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
