package card

import "slices"

// Brands as BrandOf and Validate return them.
const (
	Visa       = "visa"
	Mastercard = "mastercard"
	Amex       = "american_express"
	Discover   = "discover"
	Diners     = "diners_club"
	JCB        = "jcb"
	Maestro    = "maestro"
	UnionPay   = "unionpay"
	Unknown    = "unknown" // no BIN range matched
)

// binRange is an inclusive range of the first width digits of a number.
type binRange struct {
	width  int
	lo, hi int
	brand  string
}

// binRanges are the networks' published IIN ranges. The first range that
// matches wins, so a range must come before every wider range it overlaps:
// longest prefixes first (TestBinRangeOrder enforces this).
//
// 622126–622925 is UnionPay here, not Discover: those cards are issued by
// UnionPay members and carry UnionPay's rules (no Luhn guarantee, 16–19
// digits); Discover only accepts them on its network under the two networks'
// reciprocal agreement. Braintree's card type table decides the same way.
// The range therefore falls under 62 and needs no entry of its own.
var binRanges = []binRange{
	{4, 2221, 2720, Mastercard},
	{4, 3095, 3095, Diners},
	{4, 3528, 3589, JCB},
	{4, 5018, 5018, Maestro},
	{4, 5020, 5020, Maestro},
	{4, 5038, 5038, Maestro},
	{4, 5893, 5893, Maestro},
	{4, 6011, 6011, Discover},
	{4, 6304, 6304, Maestro},
	{4, 6759, 6759, Maestro},
	{4, 6761, 6763, Maestro},
	{4, 8100, 8171, UnionPay}, // UnionPay's newer range beside 62
	{3, 300, 305, Diners},
	{3, 644, 649, Discover},
	{2, 34, 34, Amex},
	{2, 36, 36, Diners},
	{2, 37, 37, Amex},
	{2, 38, 39, Diners},
	{2, 51, 55, Mastercard},
	{2, 62, 62, UnionPay},
	{2, 65, 65, Discover},
	{1, 4, 4, Visa},
}

// binWidth is the number of leading digits that decides every brand exactly.
const binWidth = 6

// BrandOf returns the brand of a number from its leading ASCII digits, or
// Unknown if no range matches. It needs the first six digits to be exact;
// given fewer it matches only the ranges they decide, and anything after the
// first non-digit is ignored.
func BrandOf(digits string) string {
	var prefix [binWidth + 1]int // prefix[w] is the number made of the first w digits
	n := 0
	for n < binWidth && n < len(digits) && '0' <= digits[n] && digits[n] <= '9' {
		prefix[n+1] = prefix[n]*10 + int(digits[n]-'0')
		n++
	}
	for _, r := range binRanges {
		if r.width <= n && r.lo <= prefix[r.width] && prefix[r.width] <= r.hi {
			return r.brand
		}
	}
	return Unknown
}

// minLength is the shortest PAN under ISO/IEC 7812.
const minLength = 12

// brandLengths holds the PAN lengths per brand; Unknown gets all of ISO/IEC
// 7812's 12 to 19.
var brandLengths = map[string][]int{
	Visa:       {13, 16, 19},
	Mastercard: {16},
	Amex:       {15},
	Discover:   {16, 17, 18, 19},
	Diners:     {14, 15, 16, 17, 18, 19},
	JCB:        {16, 17, 18, 19},
	Maestro:    {12, 13, 14, 15, 16, 17, 18, 19},
	UnionPay:   {16, 17, 18, 19},
	Unknown:    {12, 13, 14, 15, 16, 17, 18, 19},
}

// ValidLengths returns the PAN lengths brand issues, shortest first, or nil
// if brand is not one of this package's brands. The slice is the caller's.
func ValidLengths(brand string) []int {
	return slices.Clone(brandLengths[brand])
}
