package card

import (
	"errors"
	"strings"
	"testing"
)

// The simulator's cards and the public test cards it is built on (see
// docs/simulator.md), plus one UnionPay and one Diners 36 card.
var testCards = []struct {
	number, brand string
}{
	{"4111111111111111", Visa},
	{"4242424242424242", Visa},
	{"4444333322221111455", Visa},
	{"4012888888881881", Visa},
	{"4917610000000000003", Visa},
	{"4000000000009995", Visa},
	{"4000000000009987", Visa},
	{"4000000000009979", Visa},
	{"4000000000000002", Visa},
	{"4100000000000001", Visa},
	{"4100000000000019", Visa},
	{"4100000000000027", Visa},
	{"4100000000000043", Visa},
	{"4100000000000076", Visa},
	{"5555555555554444", Mastercard},
	{"2223003122003222", Mastercard},
	{"5105105105105100", Mastercard},
	{"2720992720992729", Mastercard},
	{"5100000000000008", Mastercard},
	{"5100000000000016", Mastercard},
	{"5100000000000024", Mastercard},
	{"5100000000000040", Mastercard},
	{"5200000000000007", Mastercard},
	{"378282246310005", Amex},
	{"371449635398431", Amex},
	{"6011111111111117", Discover},
	{"6011000990139424", Discover},
	{"30569309025904", Diners},
	{"30207712915383", Diners},
	{"36227206271667", Diners},
	{"3569990010030400", JCB},
	{"3528327757705979", JCB},
	{"6759000000000000005", Maestro},
	// 679999 is in none of Maestro's published ranges (Maestro UK is 6759,
	// 676770 and 676774), so the brand is unknown; it still validates.
	{"6799990100000000019", Unknown},
	{"6200000000000005", UnionPay},
}

func TestValidateTestCards(t *testing.T) {
	t.Parallel()
	for _, tc := range testCards {
		for _, number := range []string{tc.number, group(tc.number, " "), group(tc.number, "-"), " " + tc.number + " "} {
			digits, brand, err := Validate(number)
			if err != nil {
				t.Errorf("Validate(%q): %v", number, err)
				continue
			}
			if digits != tc.number || brand != tc.brand {
				t.Errorf("Validate(%q) = %q, %q; want %q, %q", number, digits, brand, tc.number, tc.brand)
			}
		}
	}
}

// group writes digits in groups of four joined by sep, as printed on cards.
func group(digits, sep string) string {
	var parts []string
	for len(digits) > 4 {
		parts = append(parts, digits[:4])
		digits = digits[4:]
	}
	return strings.Join(append(parts, digits), sep)
}

func TestValidateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, number string
		want         error
	}{
		{"empty", "", ErrNotDigits},
		{"only separators", " - -  ", ErrNotDigits},
		{"letters", "4111a11111111111", ErrNotDigits},
		{"letter O for zero", "4111111111111O11", ErrNotDigits},
		{"tab", "4111\t1111111111111", ErrNotDigits},
		{"dot", "4111.1111.1111.1111", ErrNotDigits},
		{"plus", "+4111111111111111", ErrNotDigits},
		{"newline", "4111111111111111\n", ErrNotDigits},
		{"non-breaking space", "4111\u00a01111111111111", ErrNotDigits},
		{"fullwidth digits", "４１１１１１１１１１１１１１１１", ErrNotDigits},
		{"arabic-indic digits", "٤١١١١١١١١١١١١١١١", ErrNotDigits},
		{"invalid utf-8", "4111\xff111111111111", ErrNotDigits},
		{"too short", "4111", ErrLength},
		{"too short for unknown", "99999999999", ErrLength},
		{"too long", "41111111111111111111", ErrLength},
		{"too long for unknown", "99999999999999999999", ErrLength},
		{"visa 15", "411111111111116", ErrLength},
		{"visa 17", "41111111111111110", ErrLength},
		{"mastercard 19", "5555555555554444000", ErrLength},
		{"amex 16", "3782822463100005", ErrLength},
		{"diners 13", "3056930902590", ErrLength},
		{"unionpay 15", "620000000000005", ErrLength},
		{"bad check digit", "4111111111111112", ErrChecksum},
		{"transposed digits", "4111111111111141", ErrChecksum},
		{"bad check digit amex", "378282246310006", ErrChecksum},
		{"bad check digit unknown", "6799990100000000018", ErrChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			digits, brand, err := Validate(tt.number)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if digits != "" || brand != "" {
				t.Errorf("got %q, %q with the error; want empty", digits, brand)
			}
			if strings.ContainsAny(err.Error(), "0123456789") {
				t.Errorf("error %q holds digits", err)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		err      error
	}{
		{"4111111111111111", "4111111111111111", nil},
		{"4111 1111 1111 1111", "4111111111111111", nil},
		{"4111-1111-1111-1111", "4111111111111111", nil},
		{" -4111 - 1111--1111  1111- ", "4111111111111111", nil},
		{"0", "0", nil},
		{"", "", ErrNotDigits},
		{" ", "", ErrNotDigits},
		{"-", "", ErrNotDigits},
		{"4111_1111", "", ErrNotDigits},
		{"4111/1111", "", ErrNotDigits},
		{"4111\r\n1111", "", ErrNotDigits},
		{"4111\u20091111", "", ErrNotDigits}, // thin space
		{"4111\u20131111", "", ErrNotDigits}, // en dash
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestLuhn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		digits string
		want   bool
	}{
		{"79927398713", true},
		{"79927398710", false},
		{"79927398714", false},
		{"4111111111111111", true},
		{"4111111111111112", false},
		{"0", true},
		{"00", true},
		{"18", true},
		{"59", true},
		{"5", false},
		{"", false},
		{"a", false},
		{"4111 1111 1111 1111", false},
		{"-0", false},
	}
	for _, tt := range tests {
		if got := Luhn(tt.digits); got != tt.want {
			t.Errorf("Luhn(%q) = %v, want %v", tt.digits, got, tt.want)
		}
	}
	for _, tc := range testCards {
		if !Luhn(tc.number) {
			t.Errorf("Luhn(%q) = false, want true", tc.number)
		}
	}
}

// UnionPay numbers are not held to Luhn; every other brand is.
func TestValidateUnionPaySkipsLuhn(t *testing.T) {
	t.Parallel()
	for _, number := range []string{"6200000000000006", "6221260000000001", "6229250000000000009", "8171000000000000"} {
		if Luhn(number) {
			t.Fatalf("test number %q passes Luhn", number)
		}
		digits, brand, err := Validate(number)
		if err != nil || digits != number || brand != UnionPay {
			t.Errorf("Validate(%q) = %q, %q, %v; want %q, %q, nil", number, digits, brand, err, number, UnionPay)
		}
	}
	for _, number := range []string{"4111111111111112", "6011111111111118", "6759000000000000006", "6499990000000000"} {
		if _, _, err := Validate(number); !errors.Is(err, ErrChecksum) {
			t.Errorf("Validate(%q) err = %v, want ErrChecksum", number, err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	numbers := []string{"4111111111111111", "4111 1111 1111 1111", "378282246310005", "6200000000000005", "4111111111111112"}
	b.ReportAllocs()
	for b.Loop() {
		for _, n := range numbers {
			_, _, _ = Validate(n)
		}
	}
}
