// Package card checks payment card numbers and what comes with them: Luhn
// check digits, lengths per brand, the brand from the number's BIN, the
// expiry date and the security code, and masking for display.
//
// It imports only the standard library. Errors and their messages never carry
// the number or any part of it, so they may be logged and shown to clients.
package card

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Errors returned by Normalize and Validate. Callers branch on them with
// errors.Is; the messages hold no digits of the number.
var (
	// ErrNotDigits means the number is empty or holds something other than
	// digits, spaces and dashes.
	ErrNotDigits = errors.New("card: number must hold only digits, spaces and dashes")
	// ErrLength means the number has a length its brand does not issue, or,
	// for an unknown brand, a length outside the range of ISO/IEC 7812.
	ErrLength = errors.New("card: number has an invalid length")
	// ErrChecksum means the Luhn check digit is wrong.
	ErrChecksum = errors.New("card: number fails the Luhn check")
)

// Normalize strips spaces and dashes from number, and nothing else. It
// returns ErrNotDigits if anything but ASCII digits remains or if nothing
// does.
func Normalize(number string) (string, error) {
	n := 0 // digits seen
	for i := 0; i < len(number); i++ {
		switch c := number[i]; {
		case '0' <= c && c <= '9':
			n++
		case c == ' ' || c == '-':
		default:
			return "", ErrNotDigits
		}
	}
	if n == 0 {
		return "", ErrNotDigits
	}
	if n == len(number) {
		return number, nil
	}
	var b strings.Builder
	b.Grow(n)
	for i := 0; i < len(number); i++ {
		if c := number[i]; c != ' ' && c != '-' {
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// Luhn reports whether digits ends in a correct Luhn (mod 10) check digit. It
// is false for an empty string or one with anything but ASCII digits.
func Luhn(digits string) bool {
	if digits == "" {
		return false
	}
	sum := 0
	double := false // the check digit itself is not doubled
	for i := len(digits) - 1; i >= 0; i-- {
		c := digits[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// Validate normalizes number and checks its length for its brand and its Luhn
// check digit. It returns the digits and the brand (Unknown when no BIN range
// matches; such numbers still pass if their length and check digit do).
//
// UnionPay numbers skip the Luhn check: UnionPay issues cards, debit cards
// above all, whose last digit is not a Luhn check digit, and gateways accept
// them. Their length is still checked.
//
// Errors wrap ErrNotDigits, ErrLength or ErrChecksum.
func Validate(number string) (digits, brand string, err error) {
	digits, err = Normalize(number)
	if err != nil {
		return "", "", err
	}
	brand = BrandOf(digits)
	if !slices.Contains(brandLengths[brand], len(digits)) {
		return "", "", fmt.Errorf("%w for brand %s", ErrLength, brand)
	}
	if brand != UnionPay && !Luhn(digits) {
		return "", "", ErrChecksum
	}
	return digits, brand, nil
}
