package engine

import "testing"

func TestPrintableID(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"pm_8Fq2k7Lm1n3P5r7T9v2X4z6B", "pm_8Fq2k7Lm1n3P5r7T9v2X4z6B"}, // a real id, digits scattered
		{"simulate_decline", "simulate_decline"},
		{"4242424242424242", "*"},                         // a card number
		{"pm_12345678", "*"},                              // 8 digits in a row
		{"sk_test_abcdefghijklmnopqrstuvwxyz012345", "*"}, // an API key's length
		{"a b", "*"},
		{"", "*"},
	} {
		if got := printableID(c.in); got != c.want {
			t.Errorf("printableID(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPrintableName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"simulate_decline", "simulate_decline"},
		{"api_key2", "api_key2"},
		{"pw-8r2mv9tq-41x77-secret", "*"}, // too many digits for a name
		{"login name", "*"},
	} {
		if got := printableName(c.in); got != c.want {
			t.Errorf("printableName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
