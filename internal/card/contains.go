package card

// ContainsPAN reports whether free text holds what looks like a card
// number. It lets kassa refuse card numbers pasted into emails, names,
// metadata and references, where they would be stored and shown in the
// clear.
//
// Digits joined by single spaces, dashes or dots make a run of groups
// ("4000-0566-5566-5556", "jane.4000056655665556@example.com"); anything
// else ends a run. A run holds a card number when 13 to 19 of its digits
// pass Luhn and start like a known brand, taken either as the whole run or
// as consecutive groups of which all but the last have three or more
// digits, so that a number still counts beside an order number or a CVC
// ("order-1-4000…", "4000 0566 5566 5556 123"). A single group of more
// than 19 digits (an order or account number) does not count, as in common
// data-loss-prevention rules.
//
// Two kinds of ordinary values are kept apart from card numbers. A run
// with a dot in it counts only through its groups, never as a whole: the
// dot of a decimal ("4.444089209850006") does not join its integer part to
// its fraction. And a phone number written the E.164 way, a "+" that no
// letter or digit precedes and then at most 15 digits ("+49 1512
// 3456704"), is not a card number; a "+" after a letter is an email's
// sub-address ("jane+4000056655665556@…") and changes nothing.
func ContainsPAN(s string) bool {
	var (
		digits  []byte // the run's digits
		groups  []int  // the number of digits of each of the run's groups
		dotted  bool   // a dot joins two of the run's groups
		phone   bool   // the run follows a "+" that starts a phone number
		inGroup bool
	)
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isDigit(s[i]) {
			if len(digits) == 0 {
				groups, dotted = groups[:0], false
				phone = i > 0 && s[i-1] == '+' && (i == 1 || !isAlnum(s[i-2]))
			}
			if !inGroup {
				groups = append(groups, 0)
				inGroup = true
			}
			digits = append(digits, s[i])
			groups[len(groups)-1]++
			continue
		}
		inGroup = false
		if i+1 < len(s) && len(digits) > 0 && isDigit(s[i-1]) && isDigit(s[i+1]) {
			switch s[i] {
			case ' ', '-':
				continue
			case '.':
				dotted = true
				continue
			}
		}
		if len(digits) > 0 {
			if !(phone && len(digits) <= maxPhoneDigits) && runHoldsPAN(digits, groups, !dotted) {
				return true
			}
			digits = digits[:0]
		}
	}
	return false
}

// Card numbers have 13 to 19 digits.
const (
	minPANDigits = 13
	maxPANDigits = 19
)

// maxPhoneDigits is the most digits an E.164 phone number has, country
// code included.
const maxPhoneDigits = 15

// minGroup is the fewest digits of a group that may start or continue a
// card number inside a longer run: card numbers are printed in groups of
// four to six, and only their last group may be shorter.
const minGroup = 3

// runHoldsPAN reports whether a run of digits made of groups holds a card
// number: the whole run (when whole is set), or consecutive groups of which
// all but the last have at least minGroup digits.
func runHoldsPAN(digits []byte, groups []int, whole bool) bool {
	if whole && isPAN(digits) {
		return true
	}
	start := 0
	for i, n := range groups {
		end := start
		for j := i; j < len(groups) && end-start+groups[j] <= maxPANDigits; j++ {
			end += groups[j]
			if isPAN(digits[start:end]) {
				return true
			}
			if groups[j] < minGroup {
				break // only a number's last group may be shorter
			}
		}
		start += n
	}
	return false
}

// isPAN reports whether digits could be a card number: 13 to 19 digits of
// a known brand that pass Luhn.
func isPAN(digits []byte) bool {
	n := len(digits)
	return n >= minPANDigits && n <= maxPANDigits && BrandOf(string(digits)) != Unknown && Luhn(string(digits))
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlnum(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
