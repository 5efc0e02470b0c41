package web

import "testing"

func TestFormatAmount(t *testing.T) {
	for _, tc := range []struct {
		amount        int64
		currency, loc string
		want          string
	}{
		{25000, "NOK", "en", "NOK\u00a0250.00"},
		{25000, "NOK", "nb", "250,00\u00a0kr"},
		{25000, "NOK", "no", "250,00\u00a0kr"},
		{123456789, "NOK", "nb", "1\u00a0234\u00a0567,89\u00a0kr"},
		{123456789, "EUR", "en", "€1,234,567.89"},
		{5, "EUR", "en", "€0.05"},
		{1000, "JPY", "en", "JPY\u00a01,000"},
		{1000, "JPY", "nb", "1\u00a0000\u00a0JPY"},
		{1500, "KWD", "en", "KWD\u00a01.500"},
		{1, "KWD", "nb", "0,001\u00a0KWD"},
		{999, "USD", "en", "$9.99"},
		{100000, "SEK", "nb", "1\u00a0000,00\u00a0SEK"},
	} {
		if got := FormatAmount(tc.amount, tc.currency, tc.loc); got != tc.want {
			t.Errorf("FormatAmount(%d, %s, %s) = %q, want %q", tc.amount, tc.currency, tc.loc, got, tc.want)
		}
	}
}
