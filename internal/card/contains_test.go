package card

import (
	"strings"
	"testing"
)

func TestContainsPAN(t *testing.T) {
	for _, c := range []struct {
		s    string
		want bool
	}{
		{"4242424242424242", true},
		{"card 4242 4242 4242 4242 expires soon", true},
		{"4242-4242-4242-4242", true},
		{"order=378282246310005;", true},
		{"4242424242424241", false},         // fails Luhn
		{"424242424242424242424242", false}, // too long to be one card
		{"4242  4242 4242 4242", false},     // double space splits the run
		{"order 2026-11-22 10:00", false},   // dates
		{"phone +47 22 33 44 55", false},
		{"9999999999999995", false}, // Luhn-valid but no brand
		{"", false},
		{"customer-42", false},

		// In an email address, beside "@", dots, dashes, "+" and spaces.
		{"4000056655665556@example.com", true},
		{"4000-0566-5566-5556@example.com", true},
		{"4000 0566 5566 5556@example.com", true},
		{"4000.0566.5566.5556@example.com", true},
		{"jane.4000056655665556@example.com", true},
		{"jane-4000-0566-5566-5556@example.com", true},
		{"jane+4000056655665556@example.com", true},
		{"jane+378282246310005@example.com", true}, // "+" after a letter: not a phone number
		{"jane@4000056655665556.example.com", true},
		{"4000056655665557@example.com", false}, // fails Luhn
		// Beside other digits: an order number before it, a CVC or an
		// expiry after it, a fraction.
		{"order-1-4000-0566-5566-5556", true},
		{"ref 1001 4000 0566 5566 5556", true},
		{"4000 0566 5566 5556 123", true},
		{"4000056655665556 12/29", true},
		{"4000056655665556.50", true},
		{"3782 822463 10005", true}, // American Express grouping
		{"+4000056655665556", true}, // 16 digits: no phone number
		{"4 0 0 0 0 5 6 6 5 5 6 6 5 5 5 6", true},

		// Ordinary values.
		{"550e8400-e29b-41d4-a716-446655440000", false},
		{"f47ac10b-58cc-4372-a567-0e02b2c3d479", false},
		{"12345678-1234-4234-8234-123456789012", false},
		{"+49 1512 3456704", false}, // Luhn-valid and starts like Visa, but a phone number
		{"+4915123456704", false},
		{"tel:+4915123456704", false},
		{"call +49-1512-3456704", false},
		{"+1 (415) 555-2671", false},
		{"0047 22 33 44 55", false},
		{"order-1001", false},
		{"ORD-2026-000123", false},
		{"INV 2026 0001 2345", false},
		{"2026-11-22T10:00:00Z", false},
		{"2026-11-22 10:00:00.123456", false},
		{"1732270800", false},
		{"1732270800123", false},
		{"1732270800123456789", false},
		{"20261122100000", false},
		{"4.444089209850006", false}, // a decimal whose digits, joined, pass Luhn
		{"192.168.100.200", false},
		{"NO 0155 Oslo", false},
		{"kari.nordmann+orders@example.com", false},
	} {
		if got := ContainsPAN(c.s); got != c.want {
			t.Errorf("ContainsPAN(%q) = %v, want %v", c.s, got, c.want)
		}
	}
}

// TestContainsPANTestCards embeds every test card of the simulator table
// the ways people paste numbers into text.
func TestContainsPANTestCards(t *testing.T) {
	for _, tc := range testCards {
		if BrandOf(tc.number) == Unknown || !Luhn(tc.number) {
			continue // UnionPay numbers need not pass Luhn; ContainsPAN wants it
		}
		for _, s := range embeddings(tc.number) {
			if !ContainsPAN(s) {
				t.Errorf("ContainsPAN(%q) = false", s)
			}
		}
	}
}

// embeddings are ways a card number appears inside free text.
func embeddings(digits string) []string {
	return []string{
		digits,
		digits + "@example.com",
		"jane." + digits + "@example.com",
		"jane+" + digits + "@example.com",
		group(digits, "-") + "@example.com",
		"jane-" + group(digits, "-") + "@example.com",
		group(digits, ".") + "@example.com",
		"card " + group(digits, " ") + " exp 12/29",
		"order-7-" + group(digits, "-"),
		group(digits, " ") + " 123",
	}
}

func FuzzContainsPAN(f *testing.F) {
	f.Add("4242 4242 4242 4242")
	f.Add("x-1-2-3")
	f.Add("4000056655665556@example.com")
	f.Add("jane.4000.0566.5566.5556@example.com")
	f.Add("+49 1512 3456704")
	f.Add("4.444089209850006")
	f.Add("550e8400-e29b-41d4-a716-446655440000")
	f.Fuzz(func(t *testing.T, s string) {
		if ContainsPAN(s) {
			// Whatever is flagged must hold at least 13 digits.
			n := 0
			for i := 0; i < len(s); i++ {
				if s[i] >= '0' && s[i] <= '9' {
					n++
				}
			}
			if n < 13 {
				t.Fatalf("flagged %q with %d digits", s, n)
			}
		}
		// A card number is found wherever it is pasted.
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, s)
		if len(digits) > 19 {
			digits = digits[:19]
		}
		if len(digits) >= 13 && BrandOf(digits) != Unknown && Luhn(digits) {
			for _, e := range embeddings(digits) {
				if !ContainsPAN(e) {
					t.Fatalf("ContainsPAN(%q) = false", e)
				}
			}
		}
	})
}
