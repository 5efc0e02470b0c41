package card

import "testing"

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
	} {
		if got := ContainsPAN(c.s); got != c.want {
			t.Errorf("ContainsPAN(%q) = %v, want %v", c.s, got, c.want)
		}
	}
}

func FuzzContainsPAN(f *testing.F) {
	f.Add("4242 4242 4242 4242")
	f.Add("x-1-2-3")
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
	})
}
