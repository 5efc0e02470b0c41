package card

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func addSeeds(f *testing.F) {
	for _, tc := range testCards {
		f.Add(tc.number)
		f.Add(group(tc.number, " "))
		f.Add(group(tc.number, "-"))
	}
	for _, s := range []string{"", " ", "-", "0", "4", "62", "4111a11111111111", "4111111111111112",
		"41111111111111111111", "٤١١١", "４１１１", "4111\xff1111", "\x00", "622126" + "0000000000"} {
		f.Add(s)
	}
}

func FuzzValidate(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, number string) {
		digits, brand, err := Validate(number)
		if err != nil {
			if digits != "" || brand != "" {
				t.Fatalf("Validate(%q) = %q, %q with error %v", number, digits, brand, err)
			}
			if !errors.Is(err, ErrNotDigits) && !errors.Is(err, ErrLength) && !errors.Is(err, ErrChecksum) {
				t.Fatalf("Validate(%q): error %v wraps no sentinel", number, err)
			}
			// No digit at all, so no digit of the number.
			if strings.ContainsAny(err.Error(), "0123456789") {
				t.Fatalf("Validate(%q): error %q holds digits", number, err)
			}
			return
		}
		if !isDigits(digits) {
			t.Fatalf("Validate(%q) = %q: not all digits", number, digits)
		}
		if want := strings.NewReplacer(" ", "", "-", "").Replace(number); digits != want {
			t.Fatalf("Validate(%q) = %q, want %q", number, digits, want)
		}
		if got := BrandOf(digits); brand != got {
			t.Fatalf("Validate(%q) brand %q, BrandOf says %q", number, brand, got)
		}
		if !slices.Contains(ValidLengths(brand), len(digits)) {
			t.Fatalf("Validate(%q) = %q: length %d not allowed for %s", number, digits, len(digits), brand)
		}
		if brand != UnionPay && !Luhn(digits) {
			t.Fatalf("Validate(%q) = %q, %s: fails Luhn", number, digits, brand)
		}
		if masked := Mask(digits); len(masked) != len(digits) || strings.Count(masked, "*") < 4 {
			t.Fatalf("Mask(%q) = %q", digits, masked)
		}
		if f6, l4 := First6(digits), Last4(digits); !strings.HasPrefix(digits, f6) || !strings.HasSuffix(digits, l4) || len(digits)-len(f6)-len(l4) < 4 {
			t.Fatalf("First6, Last4 of %q = %q, %q", digits, f6, l4)
		}
	})
}

func FuzzNormalize(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, number string) {
		stripped := strings.NewReplacer(" ", "", "-", "").Replace(number)
		digits, err := Normalize(number)
		if err != nil {
			if !errors.Is(err, ErrNotDigits) || digits != "" {
				t.Fatalf("Normalize(%q) = %q, %v", number, digits, err)
			}
			if isDigits(stripped) {
				t.Fatalf("Normalize(%q) refused %q", number, stripped)
			}
			if strings.ContainsAny(err.Error(), "0123456789") {
				t.Fatalf("Normalize(%q): error %q holds digits", number, err)
			}
			return
		}
		if digits != stripped || !isDigits(digits) {
			t.Fatalf("Normalize(%q) = %q, want %q", number, digits, stripped)
		}
		if again, err := Normalize(digits); again != digits || err != nil {
			t.Fatalf("Normalize(%q) = %q, %v; not idempotent", digits, again, err)
		}
		// The other functions take what Normalize lets through, and raw input.
		for _, s := range []string{number, digits} {
			if b := BrandOf(s); brandLengths[b] == nil {
				t.Fatalf("BrandOf(%q) = %q: not a brand", s, b)
			}
			if Luhn(s) && !isDigits(s) {
				t.Fatalf("Luhn(%q) = true", s)
			}
			if f6 := First6(s); f6 != "" && (len(f6) != 6 || !strings.HasPrefix(s, f6) || len(s) < revealMin) {
				t.Fatalf("First6(%q) = %q", s, f6)
			}
			if l4 := Last4(s); l4 != "" && (len(l4) != 4 || !strings.HasSuffix(s, l4) || len(s) < minLength) {
				t.Fatalf("Last4(%q) = %q", s, l4)
			}
			if m := Mask(s); len(m) != len(s) || len(s)-strings.Count(m, "*") > 10 {
				t.Fatalf("Mask(%q) = %q", s, m)
			}
		}
	})
}
