package authorizenet

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxExponent bounds the minor-unit digits the formatter handles; ISO 4217
// goes up to 4 (CLF, UYW).
const maxExponent = 4

// formatAmount writes minor units as the decimal string Authorize.Net reads:
// 1000 with exponent 2 is "10.00", 1000 JPY is "1000", 1000 KWD is "1.000".
// It works on digits, never on floats.
func formatAmount(minor int64, exp int) (string, error) {
	if exp < 0 || exp > maxExponent {
		return "", fmt.Errorf("authorizenet: currency exponent %d out of range", exp)
	}
	if minor < 0 {
		return "", fmt.Errorf("authorizenet: negative amount %d", minor)
	}
	digits := strconv.FormatInt(minor, 10)
	if exp == 0 {
		return digits, nil
	}
	if len(digits) <= exp {
		digits = strings.Repeat("0", exp-len(digits)+1) + digits
	}
	return digits[:len(digits)-exp] + "." + digits[len(digits)-exp:], nil
}

// errAmountSyntax is wrapped by parseAmount for text that is not a plain
// non-negative decimal.
var errAmountSyntax = errors.New("authorizenet: malformed amount")

// parseAmount reads a decimal string from Authorize.Net ("10.00", "10.5",
// "10") as minor units of a currency with exponent exp. It rejects signs,
// exponents, spaces and more fractional digits than exp unless the excess
// digits are zeros ("10.50" with exponent 1 is 105; "10.55" is an error: it
// cannot be said exactly).
func parseAmount(s string, exp int) (int64, error) {
	if exp < 0 || exp > maxExponent {
		return 0, fmt.Errorf("authorizenet: currency exponent %d out of range", exp)
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (hasDot && (frac == "" || !allDigits(frac))) {
		return 0, fmt.Errorf("%w: %q", errAmountSyntax, s)
	}
	if len(frac) > exp {
		if strings.Trim(frac[exp:], "0") != "" {
			return 0, fmt.Errorf("authorizenet: amount %q has more than %d decimals", s, exp)
		}
		frac = frac[:exp]
	}
	frac += strings.Repeat("0", exp-len(frac))
	whole = strings.TrimLeft(whole, "0")
	digits := strings.TrimLeft(whole+frac, "0")
	if digits == "" {
		return 0, nil
	}
	if len(digits) > 18 {
		return 0, fmt.Errorf("authorizenet: amount %q too large", s)
	}
	return strconv.ParseInt(digits, 10, 64)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
