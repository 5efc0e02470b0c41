package authorizenet

import (
	"github.com/kassapay/kassa/internal/gateway"
	"strings"
	"testing"
)

func TestFormatAmount(t *testing.T) {
	tests := []struct {
		minor int64
		exp   int
		want  string
	}{
		{1000, 0, "1000"}, // JPY
		{0, 0, "0"},
		{1000, 2, "10.00"}, // USD
		{1, 2, "0.01"},
		{0, 2, "0.00"},
		{123456789, 2, "1234567.89"},
		{1000, 3, "1.000"}, // KWD
		{1, 3, "0.001"},
		{1000000000000000, 2, "10000000000000.00"},
	}
	for _, tt := range tests {
		got, err := formatAmount(tt.minor, tt.exp)
		if err != nil || got != tt.want {
			t.Errorf("formatAmount(%d, %d) = %q, %v; want %q", tt.minor, tt.exp, got, err, tt.want)
		}
	}
	for _, bad := range []struct {
		minor int64
		exp   int
	}{{-1, 2}, {1, -1}, {1, 5}} {
		if got, err := formatAmount(bad.minor, bad.exp); err == nil {
			t.Errorf("formatAmount(%d, %d) = %q, want an error", bad.minor, bad.exp, got)
		}
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		s    string
		exp  int
		want int64
	}{
		{"10.00", 2, 1000},
		{"10.5", 2, 1050},
		{"10.500", 2, 1050}, // zeros past the exponent say nothing more
		{"10", 2, 1000},
		{"0.01", 2, 1},
		{"000.00", 2, 0},
		{"1000", 0, 1000},
		{"1000.0", 0, 1000},
		{"1.000", 3, 1000},
		{"0.001", 3, 1},
	}
	for _, tt := range tests {
		got, err := parseAmount(tt.s, tt.exp)
		if err != nil || got != tt.want {
			t.Errorf("parseAmount(%q, %d) = %d, %v; want %d", tt.s, tt.exp, got, err, tt.want)
		}
	}
	for _, bad := range []struct {
		s   string
		exp int
	}{
		{"10.555", 2}, // excess precision
		{"1.5", 0},
		{"0.0001", 3},
		{"", 2}, {".5", 2}, {"5.", 2}, {"-1.00", 2}, {"+1.00", 2}, {"1e3", 2},
		{" 1.00", 2}, {"1,00", 2}, {"1.0.0", 2}, {"99999999999999999999", 2},
	} {
		if got, err := parseAmount(bad.s, bad.exp); err == nil {
			t.Errorf("parseAmount(%q, %d) = %d, want an error", bad.s, bad.exp, got)
		}
	}
}

func FuzzAmountRoundTrip(f *testing.F) {
	for _, seed := range []struct {
		minor int64
		exp   uint8
	}{{0, 0}, {1, 2}, {1000, 3}, {1e15, 2}, {123, 4}} {
		f.Add(seed.minor, seed.exp)
	}
	f.Fuzz(func(t *testing.T, minor int64, exp uint8) {
		e := int(exp % (maxExponent + 1))
		if minor < 0 {
			minor = -(minor + 1)
		}
		s, err := formatAmount(minor, e)
		if err != nil {
			t.Fatalf("formatAmount(%d, %d): %v", minor, e, err)
		}
		if strings.ContainsAny(s, "eE+-") {
			t.Fatalf("formatAmount(%d, %d) = %q", minor, e, s)
		}
		got, err := parseAmount(s, e)
		if err != nil || got != minor {
			t.Fatalf("parseAmount(formatAmount(%d, %d) = %q) = %d, %v", minor, e, s, got, err)
		}
	})
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"10.00", "0", "1.5", "1e3", "-1", "", "00.10", "999999999999999999"} {
		f.Add(s, uint8(2))
	}
	f.Fuzz(func(t *testing.T, s string, exp uint8) {
		e := int(exp % (maxExponent + 1))
		minor, err := parseAmount(s, e)
		if err != nil {
			return
		}
		if minor < 0 {
			t.Fatalf("parseAmount(%q, %d) = %d", s, e, minor)
		}
		back, err := formatAmount(minor, e)
		if err != nil {
			t.Fatalf("formatAmount(%d, %d): %v", minor, e, err)
		}
		again, err := parseAmount(back, e)
		if err != nil || again != minor {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, minor, back, again, err)
		}
	})
}

func TestLastFourPrefersTheEnginesValue(t *testing.T) {
	r := &gateway.Request{CardLast4: "1111", GatewaySpecificFields: map[string]any{"card_last4": "2222"}}
	if got := lastFour(r); got != "1111" {
		t.Fatalf("lastFour = %q, want the engine's 1111", got)
	}
	r.CardLast4 = ""
	if got := lastFour(r); got != "2222" {
		t.Fatalf("lastFour without the engine's value = %q, want 2222", got)
	}
}
