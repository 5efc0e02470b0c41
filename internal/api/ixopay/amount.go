package ixopay

import (
	"errors"
	"strconv"
	"strings"

	"github.com/kassapay/kassa/internal/payment"
)

// errAmountFormat: an amount that is not a decimal string the currency can
// hold exactly.
var errAmountFormat = errors.New("ixopay: amount format")

// ParseAmount converts IXOPAY's decimal string ("9.99", "5", "1.5") into
// minor units of currency, exactly: digits, at most one point, no sign, no
// exponent, and no more decimals than the currency has ("9.999" EUR and
// "1.5" JPY are format errors, never rounded). exponent is the currency's
// number of decimals.
func ParseAmount(s string, exponent int) (int64, error) {
	if s == "" || len(s) > 24 {
		return 0, errAmountFormat
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || (hasPoint && frac == "") || !digits(whole) || !digits(frac) {
		return 0, errAmountFormat
	}
	// Trailing zeros of the fraction carry no value ("9.990" is 9.99).
	frac = strings.TrimRight(frac, "0")
	if len(frac) > exponent {
		return 0, errAmountFormat
	}
	frac += strings.Repeat("0", exponent-len(frac))
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, errAmountFormat
	}
	return v, nil
}

// FormatAmount renders minor units of a currency with exponent decimals
// as IXOPAY does: "9.99", "5.00", "1500" for JPY.
func FormatAmount(v int64, exponent int) string {
	neg := v < 0
	s := strconv.FormatUint(absUint(v), 10)
	if exponent > 0 {
		if len(s) <= exponent {
			s = strings.Repeat("0", exponent-len(s)+1) + s
		}
		s = s[:len(s)-exponent] + "." + s[len(s)-exponent:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func absUint(v int64) uint64 {
	if v < 0 {
		return uint64(-(v + 1)) + 1
	}
	return uint64(v)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// currencyExponent returns the decimals of an ISO 4217 code, and false
// for a code kassa does not know.
func currencyExponent(code string) (int, bool) {
	return payment.CurrencyExponent(code)
}
