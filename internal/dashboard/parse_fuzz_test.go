package dashboard

import (
	"net/url"
	"slices"
	"testing"

	"github.com/kassapay/kassa/internal/payment"
)

func TestParseAmount(t *testing.T) {
	for _, tc := range []struct {
		in, cur string
		want    int64
	}{{"12.50", "NOK", 1250}, {"12.5", "NOK", 1250}, {"12", "NOK", 1200}, {"0.01", "EUR", 1}, {"1500", "JPY", 1500},
		{"1.234", "KWD", 1234}, {"9.990", "EUR", 999}} {
		if got, err := parseAmount(tc.in, tc.cur); err != nil || got != tc.want {
			t.Errorf("parseAmount(%q, %s) = %d, %v; want %d", tc.in, tc.cur, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "0", "0.00", "-1", "+1", "1.", ".5", "1.234", "1e3", "1,50", " 1", "12.5.0", "99999999999999999999"} {
		_, err := parseAmount(in, "NOK")
		if pe, ok := payment.AsError(err); !ok || pe.Param != "amount" {
			t.Errorf("parseAmount(%q) = %v; want an error on amount", in, err)
		}
	}
	if _, err := parseAmount("1.5", "JPY"); err == nil {
		t.Error("1.5 JPY accepted")
	}
}

// FuzzParseAmount: an amount is accepted only as an exact positive
// number of minor units that formats back to the same value; anything
// else is an error on the field, never a panic.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"12.50", "0.01", "1500", "1.", "-3", "1e3", "9.999", "123456789012345678901"} {
		f.Add(s, "NOK")
	}
	f.Add("1.5", "JPY")
	f.Add("1.234", "KWD")
	f.Add("1", "XXX")
	f.Fuzz(func(t *testing.T, s, cur string) {
		v, err := parseAmount(s, cur)
		if err != nil {
			if pe, ok := payment.AsError(err); !ok || pe.Kind != payment.KindInvalid || pe.Param != "amount" {
				t.Fatalf("%q %q: %v", s, cur, err)
			}
			return
		}
		if v <= 0 || v > payment.MaxAmount {
			t.Fatalf("%q %q: %d out of range", s, cur, v)
		}
		back, err := parseAmount(formatMajor(v, cur), cur)
		if err != nil || back != v {
			t.Fatalf("%q %q: %d formats as %q, which parses as %d, %v", s, cur, v, formatMajor(v, cur), back, err)
		}
	})
}

// FuzzSearchFilter: any search query string becomes a filter or an error
// naming one of the search's fields; never a panic.
func FuzzSearchFilter(f *testing.F) {
	f.Add("q=pay_1&status=CAPTURED&card_last4=4242&amount_min=100&amount_max=200&created_from=2026-12-01&created_to=2026-12-02")
	f.Add("amount_min=-1")
	f.Add("created_to=2026-13-40")
	f.Add("created_from=2026-12-02&created_to=2026-12-01")
	f.Add("amount_max=99999999999999999999")
	f.Fuzz(func(t *testing.T, query string) {
		in, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		pp := &paymentsPage{Query: in.Get("q"), Status: in.Get("status"), Gateway: in.Get("gateway"), Last4: in.Get("card_last4"),
			Fingerprint: in.Get("card_fingerprint"), Customer: in.Get("customer"), AmountMin: in.Get("amount_min"),
			AmountMax: in.Get("amount_max"), CreatedFrom: in.Get("created_from"), CreatedTo: in.Get("created_to")}
		fl, err := searchFilter(pp)
		if err != nil {
			pe, ok := payment.AsError(err)
			if !ok || pe.Kind != payment.KindInvalid || !slices.Contains(searchFields, pe.Param) {
				t.Fatalf("%q: %v", query, err)
			}
			return
		}
		if fl.AmountMin < 0 || fl.AmountMax < 0 || (!fl.CreatedBefore.IsZero() && !fl.CreatedFrom.IsZero() && !fl.CreatedBefore.After(fl.CreatedFrom)) {
			t.Fatalf("%q: %+v", query, fl)
		}
	})
}

// TestTranscriptWithheld: a transcript is shown indented, unless it holds
// what looks like a card number, which no page may show.
func TestTranscriptWithheld(t *testing.T) {
	v := viewOperation(&payment.Operation{Transcript: []byte(`{"request":{"card":"411111******1111"},"status":200}`)})
	if v.Withheld || v.Transcript == "" || v.Transcript[0] != '{' || len(v.Transcript) <= 50 {
		t.Errorf("scrubbed transcript: %+v", v)
	}
	v = viewOperation(&payment.Operation{Transcript: []byte(`{"request":{"card":"4111 1111 1111 1111"}}`)})
	if !v.Withheld || v.Transcript != "" {
		t.Errorf("a transcript with a card number: %+v", v)
	}
}
