package card

// ContainsPAN reports whether free text holds what looks like a card
// number: a run of 13 to 19 digits, optionally grouped by single spaces or
// dashes, that passes Luhn and starts like a known brand. Longer runs of
// digits (order numbers, phone numbers with prefixes) do not count, as in
// common data-loss-prevention rules. It lets kassa refuse card numbers
// pasted into metadata, references and names, where they would be stored
// and shown in the clear.
func ContainsPAN(s string) bool {
	digits := make([]byte, 0, 19)
	flush := func() bool {
		n := len(digits)
		found := n >= 13 && n <= 19 && BrandOf(string(digits)) != Unknown && Luhn(string(digits))
		digits = digits[:0]
		return found
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if len(digits) < 20 {
				digits = append(digits, c)
			}
		case (c == ' ' || c == '-') && len(digits) > 0 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			// a single separator inside a group of digits
		default:
			if flush() {
				return true
			}
		}
	}
	return flush()
}
