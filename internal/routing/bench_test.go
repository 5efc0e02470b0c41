package routing

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// router50 is a router of 50 rules of which only the last matches eurVisa at
// 2500: the worst case, every rule's conditions evaluated. The rules are
// realistic: currencies, brands, amount ranges, BIN prefixes, metadata.
func router50(tb testing.TB) *Config {
	tb.Helper()
	var rules []string
	currencies := []string{"USD", "GBP", "CHF", "SEK", "JPY"}
	for i := range 49 {
		var when string
		switch i % 5 {
		case 0:
			when = fmt.Sprintf(`"currency":["%s","CAD"],"card_brand":["visa","mastercard"]`, currencies[i%5])
		case 1:
			when = fmt.Sprintf(`"amount_min":%d,"amount_max":%d,"currency":["EUR"]`, 3000+i*100, 9000+i*100)
		case 2:
			when = fmt.Sprintf(`"bin_prefix":["5%05d","41%06d","37"],"currency":["EUR","USD"]`, i, i)
		case 3:
			when = fmt.Sprintf(`"metadata":{"tier":"t%d","region":"eu"},"payment_method_type":["card"]`, i)
		case 4:
			when = `"card_brand":["american_express","discover"],"stored_credential_initiator":"merchant"`
		}
		rules = append(rules, fmt.Sprintf(`{"when":{%s},"then":{"gateway":"gw_%d"}}`, when, i))
	}
	rules = append(rules, `{"when":{"amount_min":1000,"amount_max":5000,"currency":["EUR","USD"],"card_brand":["visa"],`+
		`"bin_prefix":["4242"],"metadata":{"tier":"gold"}},"then":{"split":[{"gateway":"gw_a","weight":70},{"gateway":"gw_b","weight":30}]}}`)
	return mustParse(tb, `{"rules":[`+strings.Join(rules, ",")+`],"default":{"gateway":"gw_default"}}`)
}

func BenchmarkDecide50Rules(b *testing.B) {
	c := router50(b)
	r := rand.New(rand.NewPCG(1, 2))
	in := eurVisa
	if d, err := c.Decide(in, r); err != nil || d.Rule != 49 {
		b.Fatalf("got %+v, %v; want rule 49", d, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decide(in, r); err != nil {
			b.Fatal(err)
		}
	}
}

// The engine parses a router's settings for each payment it routes.
func BenchmarkParse50Rules(b *testing.B) {
	c := router50(b)
	settings := decode(b, js(b, c), false)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(settings); err != nil {
			b.Fatal(err)
		}
	}
}
