package card

import (
	"errors"
	"testing"
	"time"
)

func TestCheckExpiry(t *testing.T) {
	t.Parallel()
	utc := func(y int, m time.Month, d, h, min, s, ns int) time.Time {
		return time.Date(y, m, d, h, min, s, ns, time.UTC)
	}
	tokyo := time.FixedZone("JST", 9*3600)
	honolulu := time.FixedZone("HST", -10*3600)
	now := utc(2026, time.March, 15, 12, 0, 0, 0)
	tests := []struct {
		name        string
		month, year int
		now         time.Time
		want        error
	}{
		{"future", 12, 2030, now, nil},
		{"this month", 3, 2026, now, nil},
		{"last month", 2, 2026, now, ErrExpired},
		{"last year", 12, 2025, now, ErrExpired},
		{"month 0", 0, 2030, now, ErrExpiryMonth},
		{"month 13", 13, 2030, now, ErrExpiryMonth},
		{"month -1", -1, 2030, now, ErrExpiryMonth},
		{"month checked before year", 13, 99, now, ErrExpiryMonth},
		{"two-digit year", 12, 99, now, ErrExpiryYear},
		{"two-digit year of this century", 12, 30, now, ErrExpiryYear},
		{"year 0", 12, 0, now, ErrExpiryYear},
		{"negative year", 12, -2030, now, ErrExpiryYear},
		{"year 1999", 12, 1999, now, ErrExpiryYear},
		{"year 2000", 1, 2000, now, ErrExpired},
		{"50 years ahead", 12, 2076, now, nil},
		{"51 years ahead", 1, 2077, now, ErrExpiryYear},
		{"five-digit year", 1, 20300, now, ErrExpiryYear},
		{"last nanosecond of the month", 2, 2026, utc(2026, time.February, 28, 23, 59, 59, 999999999), nil},
		{"first instant of the next month", 2, 2026, utc(2026, time.March, 1, 0, 0, 0, 0), ErrExpired},
		{"leap day", 2, 2028, utc(2028, time.February, 29, 23, 59, 59, 0), nil},
		{"day after leap day", 2, 2028, utc(2028, time.March, 1, 0, 0, 0, 0), ErrExpired},
		{"last day of december", 12, 2026, utc(2026, time.December, 31, 23, 59, 59, 0), nil},
		{"new year", 12, 2026, utc(2027, time.January, 1, 0, 0, 0, 0), ErrExpired},
		{"next month in Tokyo, still this month in UTC", 2, 2026, time.Date(2026, time.March, 1, 8, 0, 0, 0, tokyo), nil},
		{"this month in Honolulu, next month in UTC", 2, 2026, time.Date(2026, time.February, 28, 14, 0, 0, 0, honolulu), ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckExpiry(tt.month, tt.year, tt.now)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Errorf("CheckExpiry(%d, %d, %v) = %v, want %v", tt.month, tt.year, tt.now, err, tt.want)
			}
		})
	}
}

func TestValidCVC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cvc, brand string
		want       bool
	}{
		{"123", Visa, true},
		{"000", Mastercard, true},
		{"999", UnionPay, true},
		{"123", Unknown, true},
		{"1234", Amex, true},
		{"0000", Amex, true},
		{"123", Amex, false},
		{"12345", Amex, false},
		{"1234", Visa, false},
		{"12", Visa, false},
		{"", Visa, false},
		{"", Amex, false},
		{"12a", Visa, false},
		{"12 3", Amex, false},
		{" 123", Visa, false},
		{"-12", Visa, false},
		{"١٢٣", Visa, false},
		{"123", "", true},
	}
	for _, tt := range tests {
		if got := ValidCVC(tt.cvc, tt.brand); got != tt.want {
			t.Errorf("ValidCVC(%q, %q) = %v, want %v", tt.cvc, tt.brand, got, tt.want)
		}
	}
}
