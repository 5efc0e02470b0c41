package card

import "strings"

// revealMin is the shortest number whose first six and last four digits may
// be shown together: at least four digits stay hidden. Below it the visible
// digits and the Luhn check digit would leave a guesser a hundred candidates
// or fewer (for a 12-digit Maestro, ten).
const revealMin = 14

// First6 returns the first six digits, the BIN, of a number. It returns ""
// for anything but ASCII digits and for numbers shorter than 14 digits, where
// the first six and last four together would give the number away.
func First6(digits string) string {
	if len(digits) < revealMin || !isDigits(digits) {
		return ""
	}
	return digits[:6]
}

// Last4 returns the last four digits of a number. It returns "" for anything
// but ASCII digits and for numbers shorter than the shortest PAN, 12 digits.
func Last4(digits string) string {
	if len(digits) < minLength || !isDigits(digits) {
		return ""
	}
	return digits[len(digits)-4:]
}

// Mask returns digits with all but the first six and last four replaced by
// asterisks ("411111******1111"), keeping its length. Numbers shorter than 14
// digits, and strings that are not all ASCII digits, come back as asterisks
// only.
func Mask(digits string) string {
	if len(digits) < revealMin || !isDigits(digits) {
		return strings.Repeat("*", len(digits))
	}
	return digits[:6] + strings.Repeat("*", len(digits)-10) + digits[len(digits)-4:]
}
