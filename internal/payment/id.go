package payment

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"time"
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
	PrefixCustomer      = "cus"
	PrefixCustomerToken = "ctok"
)

// NewID returns prefix + "_" + 24 base62 characters: 8 that count the
// milliseconds since the Unix epoch, then 16 random ones (~95 bits). Ids
// made later sort after earlier ones (base62 digits are in ASCII order),
// so the stores' indexes on ids grow at their right edge, as their
// indexes on sequence numbers do: a batch of new payments dirties a few
// index pages instead of one random page per id, and the pages a settle
// touches are the ones its reservation just wrote (ADR 0011). The
// random part keeps ids unguessable; the time part tells no more than the
// object's created timestamp does.
func NewID(prefix string) string {
	return NewIDAt(prefix, time.Now())
}

// NewIDAt is NewID for an id made at t.
func NewIDAt(prefix string, t time.Time) string {
	b := make([]byte, 0, len(prefix)+1+idTimeLen+idRandomLen)
	b = append(b, prefix...)
	b = append(b, '_')
	b = appendTimePart(b, t)
	return string(appendRandom(b, idRandomLen))
}

const (
	idTimeLen   = 8  // 62^8 ms: until the year 8888
	idRandomLen = 16 // 62^16 ≈ 2^95
)

// appendTimePart appends t's milliseconds since the epoch as idTimeLen
// base62 digits, most significant first (0 before the epoch).
func appendTimePart(b []byte, t time.Time) []byte {
	ms := max(t.UnixMilli(), 0)
	var d [idTimeLen]byte
	for i := idTimeLen - 1; i >= 0; i-- {
		d[i] = base62[ms%62]
		ms /= 62
	}
	return append(b, d[:]...)
}

// RandomString returns n characters drawn uniformly from [0-9A-Za-z] with a
// cryptographic generator.
func RandomString(n int) string {
	return string(appendRandom(make([]byte, 0, n), n))
}

// appendRandom appends n characters drawn uniformly from base62: random
// bytes below 248 (4 × 62) map onto it evenly; the others are drawn again.
func appendRandom(b []byte, n int) []byte {
	var buf [64]byte
	for n > 0 {
		if _, err := rand.Read(buf[:]); err != nil {
			panic("payment: crypto/rand failed: " + err.Error())
		}
		for _, v := range buf {
			if n == 0 {
				break
			}
			if v < 248 {
				b = append(b, base62[v%62])
				n--
			}
		}
	}
	return b
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
