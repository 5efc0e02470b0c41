package card

import (
	"errors"
	"time"
)

// Errors returned by CheckExpiry.
var (
	ErrExpiryMonth = errors.New("card: expiry month must be from 1 to 12")
	ErrExpiryYear  = errors.New("card: expiry year must be a plausible four-digit year")
	ErrExpired     = errors.New("card: card has expired")
)

// maxYearsAhead is how far in the future an expiry year may lie; networks
// issue cards for a few years, so anything beyond is a typo.
const maxYearsAhead = 50

// CheckExpiry checks an expiry month and four-digit year against now. A card
// is valid through the last day of its expiry month, and that day ends at
// midnight UTC whatever now's location. It returns ErrExpiryMonth for a month
// outside 1..12, ErrExpiryYear for a year before 2000 or more than 50 years
// after now's (a two-digit year such as 29 is refused: callers expand it),
// and ErrExpired once the month has ended.
func CheckExpiry(month, year int, now time.Time) error {
	if month < 1 || month > 12 {
		return ErrExpiryMonth
	}
	if year < 2000 || year > now.UTC().Year()+maxYearsAhead {
		return ErrExpiryYear
	}
	// time.Date normalizes month 13 to January of the next year.
	end := time.Date(year, time.Month(month)+1, 1, 0, 0, 0, 0, time.UTC)
	if !now.Before(end) {
		return ErrExpired
	}
	return nil
}

// ValidCVC reports whether cvc is a well-formed security code for brand: four
// ASCII digits for American Express (its CID), three for every other brand.
func ValidCVC(cvc, brand string) bool {
	want := 3
	if brand == Amex {
		want = 4
	}
	return len(cvc) == want && isDigits(cvc)
}

// isDigits reports whether s is non-empty and only ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
