package card

import (
	"slices"
	"strconv"
	"testing"
)

func TestBrandOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix, want string
	}{
		{"4", Visa},
		{"400000", Visa},
		{"499999", Visa},
		{"51", Mastercard},
		{"555555", Mastercard},
		{"50", Unknown},
		{"56", Unknown},
		{"2220", Unknown},
		{"2221", Mastercard},
		{"222100", Mastercard},
		{"2720", Mastercard},
		{"272099", Mastercard},
		{"2721", Unknown},
		{"2200", Unknown}, // Mir
		{"34", Amex},
		{"37", Amex},
		{"35", Unknown},
		{"300", Diners},
		{"305", Diners},
		{"306", Unknown},
		{"3094", Unknown},
		{"3095", Diners},
		{"3096", Unknown},
		{"36", Diners},
		{"38", Diners},
		{"39", Diners},
		{"3527", Unknown},
		{"3528", JCB},
		{"3589", JCB},
		{"3590", Unknown},
		{"6010", Unknown},
		{"6011", Discover},
		{"6012", Unknown},
		{"643", Unknown},
		{"644", Discover},
		{"649", Discover},
		{"65", Discover},
		{"659999", Discover},
		{"62", UnionPay},
		{"620000", UnionPay},
		{"622125", UnionPay},
		{"622126", UnionPay}, // the Discover-accepted UnionPay range
		{"622925", UnionPay},
		{"622926", UnionPay},
		{"629999", UnionPay},
		{"8099", Unknown},
		{"8100", UnionPay},
		{"8171", UnionPay},
		{"8172", Unknown},
		{"5017", Unknown},
		{"5018", Maestro},
		{"5019", Unknown}, // Dankort
		{"5020", Maestro},
		{"5038", Maestro},
		{"5893", Maestro},
		{"6304", Maestro},
		{"6759", Maestro},
		{"6760", Unknown},
		{"6761", Maestro},
		{"6762", Maestro},
		{"6763", Maestro},
		{"6764", Unknown},
		{"6799", Unknown},
		{"0", Unknown},
		{"1", Unknown},
		{"9", Unknown},
		// Too short to decide.
		{"", Unknown},
		{"2", Unknown},
		{"3", Unknown},
		{"5", Unknown},
		{"6", Unknown},
		{"222", Unknown},
		{"601", Unknown},
		// Only leading digits count.
		{"4x", Visa},
		{"x4", Unknown},
		{"3 4", Unknown},
		{"٤", Unknown},
	}
	for _, tt := range tests {
		if got := BrandOf(tt.prefix); got != tt.want {
			t.Errorf("BrandOf(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
		// More digits after a decided prefix never change the brand.
		if len(tt.prefix) >= 1 && tt.want != Unknown {
			long := tt.prefix + "0123456789012"
			if got := BrandOf(long); got != tt.want {
				t.Errorf("BrandOf(%q) = %q, want %q", long, got, tt.want)
			}
		}
	}
}

// TestBinRangeOrder checks the table: every range is well formed, and where
// two ranges overlap the narrower (longer prefix) comes first, so that first
// match is longest match.
func TestBinRangeOrder(t *testing.T) {
	t.Parallel()
	// span returns r as an inclusive range of six-digit prefixes.
	span := func(r binRange) (lo, hi int) {
		scale := 1
		for range binWidth - r.width {
			scale *= 10
		}
		return r.lo * scale, (r.hi+1)*scale - 1
	}
	for i, r := range binRanges {
		if r.width < 1 || r.width > binWidth || r.lo > r.hi ||
			len(strconv.Itoa(r.lo)) != r.width || len(strconv.Itoa(r.hi)) != r.width {
			t.Errorf("range %d (%+v) is malformed", i, r)
		}
		if brandLengths[r.brand] == nil {
			t.Errorf("range %d (%+v) has a brand without lengths", i, r)
		}
		lo, hi := span(r)
		for j, s := range binRanges[:i] {
			slo, shi := span(s)
			if lo <= shi && slo <= hi && s.width < r.width {
				t.Errorf("range %d (%+v) overlaps the wider range %d (%+v) before it", i, r, j, s)
			}
		}
	}
}

func TestValidLengths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		brand string
		want  []int
	}{
		{Visa, []int{13, 16, 19}},
		{Mastercard, []int{16}},
		{Amex, []int{15}},
		{Discover, []int{16, 17, 18, 19}},
		{Diners, []int{14, 15, 16, 17, 18, 19}},
		{JCB, []int{16, 17, 18, 19}},
		{Maestro, []int{12, 13, 14, 15, 16, 17, 18, 19}},
		{UnionPay, []int{16, 17, 18, 19}},
		{Unknown, []int{12, 13, 14, 15, 16, 17, 18, 19}},
		{"", nil},
		{"Visa", nil},
		{"amex", nil},
	}
	for _, tt := range tests {
		if got := ValidLengths(tt.brand); !slices.Equal(got, tt.want) {
			t.Errorf("ValidLengths(%q) = %v, want %v", tt.brand, got, tt.want)
		}
	}

	got := ValidLengths(Mastercard)
	got[0] = 99
	if again := ValidLengths(Mastercard); !slices.Equal(again, []int{16}) {
		t.Errorf("changing a returned slice changed the table: ValidLengths(%q) = %v", Mastercard, again)
	}
}
