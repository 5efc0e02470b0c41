package ixopay

import (
	"strconv"
	"testing"
)

func TestParseAmount(t *testing.T) {
	ok := []struct {
		s    string
		exp  int
		want int64
	}{
		{"9.99", 2, 999}, {"5", 2, 500}, {"1.5", 2, 150}, {"0.01", 2, 1}, {"9.990", 2, 999},
		{"1500", 0, 1500}, {"1500.0", 0, 1500}, {"1.234", 3, 1234}, {"0", 2, 0}, {"007.50", 2, 750},
		{"92233720368547758.07", 2, 9223372036854775807},
	}
	for _, c := range ok {
		got, err := ParseAmount(c.s, c.exp)
		if err != nil || got != c.want {
			t.Errorf("ParseAmount(%q, %d) = %d, %v; want %d", c.s, c.exp, got, err, c.want)
		}
	}
	for _, c := range []struct {
		s   string
		exp int
	}{
		{"9.999", 2}, {"1.5", 0}, {"", 2}, {".5", 2}, {"5.", 2}, {"-1", 2}, {"+1", 2}, {"1e3", 2}, {"1,50", 2},
		{" 1", 2}, {"1.2.3", 2}, {"0x10", 2}, {"92233720368547758.08", 2}, {"NaN", 2}, {"١", 2},
	} {
		if v, err := ParseAmount(c.s, c.exp); err == nil {
			t.Errorf("ParseAmount(%q, %d) = %d, want a format error", c.s, c.exp, v)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	for _, c := range []struct {
		v    int64
		exp  int
		want string
	}{{999, 2, "9.99"}, {500, 2, "5.00"}, {1, 2, "0.01"}, {0, 2, "0.00"}, {1500, 0, "1500"}, {1234, 3, "1.234"}, {-5, 2, "-0.05"}} {
		if got := FormatAmount(c.v, c.exp); got != c.want {
			t.Errorf("FormatAmount(%d, %d) = %q, want %q", c.v, c.exp, got, c.want)
		}
	}
}

// FuzzAmount: what parses formats back to an equal amount, and what is
// formatted parses back to itself.
func FuzzAmount(f *testing.F) {
	for _, s := range []string{"9.99", "5", "1.5", "9.999", "0.001", "18446744073709551616", "1.50"} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, s string, exp int) {
		exp = ((exp % 4) + 4) % 4
		v, err := ParseAmount(s, exp)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("ParseAmount(%q) = %d, negative", s, v)
		}
		out := FormatAmount(v, exp)
		back, err := ParseAmount(out, exp)
		if err != nil || back != v {
			t.Fatalf("%q → %d → %q → %d, %v", s, v, out, back, err)
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && v < 1<<50 {
			scale := 1.0
			for range exp {
				scale *= 10
			}
			if d := f*scale - float64(v); d > 0.5 || d < -0.5 {
				t.Fatalf("%q read as %d minor units (exponent %d)", s, v, exp)
			}
		}
	})
}
