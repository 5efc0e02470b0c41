package card

import "testing"

func TestMask(t *testing.T) {
	t.Parallel()
	tests := []struct {
		digits, want string
	}{
		{"4111111111111111", "411111******1111"},
		{"4444333322221111455", "444433*********1455"},
		{"378282246310005", "378282*****0005"},
		{"30569309025904", "305693****5904"},
		{"4222222222222", "*************"}, // 13 digits: too few hidden
		{"675900000000", "************"},
		{"1234567890", "**********"},
		{"1", "*"},
		{"", ""},
		{"4111 1111 1111 1111", "*******************"},
		{"4111-1111-1111-1111", "*******************"},
		{"41111111111111x1", "****************"},
	}
	for _, tt := range tests {
		if got := Mask(tt.digits); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.digits, got, tt.want)
		}
	}
}

func TestFirst6Last4(t *testing.T) {
	t.Parallel()
	tests := []struct {
		digits, first6, last4 string
	}{
		{"4111111111111111", "411111", "1111"},
		{"4444333322221111455", "444433", "1455"},
		{"378282246310005", "378282", "0005"},
		{"30569309025904", "305693", "5904"},
		{"4222222222222", "", "2222"},
		{"675900000000", "", "0000"},
		{"67590000000", "", ""},
		{"1234", "", ""},
		{"", "", ""},
		{"4111 1111 1111 1111", "", ""},
		{"41111111111111x1", "", ""},
	}
	for _, tt := range tests {
		if got := First6(tt.digits); got != tt.first6 {
			t.Errorf("First6(%q) = %q, want %q", tt.digits, got, tt.first6)
		}
		if got := Last4(tt.digits); got != tt.last4 {
			t.Errorf("Last4(%q) = %q, want %q", tt.digits, got, tt.last4)
		}
	}
}
