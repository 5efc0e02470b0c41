package routing

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/payment"
)

// FuzzParse: whatever JSON object arrives, Parse does not panic; it either
// refuses it with a *payment.Error whose Param starts with "settings", or
// returns a Config whose canonical form parses back to the same Config and
// which decides without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"default":{"gateway":"gw_a"}}`,
		`{"rules":[{"when":{"amount_min":100,"amount_max":5000,"currency":["EUR","USD"],"card_brand":["visa"],` +
			`"bin_prefix":["4","42424242"],"payment_method_type":["card"],"stored_credential_initiator":"merchant",` +
			`"metadata":{"tier":"gold"}},"then":{"split":[{"gateway":"gw_a","weight":70},{"gateway":"gw_b","weight":30}]}}],` +
			`"default":{"cascade":["gw_a","gw_b"]},"cascade_on":["not_sent","do_not_honor"],"pin_recurring":true}`,
		`{"rules":[{"when":{"amount_min":5000,"amount_max":1000},"then":{"gateway":"gw_a"}}]}`,
		`{"rules":[{"then":{"split":[{"gateway":"gw_a","weight":70.5},{"gateway":"gw_a","weight":-1}]}}]}`,
		`{"rules":[{"then":{"gateway":"gw_a","cascade":[]}}],"cascade_on":["lost_card",null,7]}`,
		`{"rules":[null,[],"x",1e999],"default":[]}`,
		`{"rules":[{"when":{"metadata":{"":"","a":null}},"then":{}}]}`,
		`{"rules":{"0":{}},"default":{"split":[[],{}]},"pin_recurring":"true"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, useNumber := range []bool{true, false} {
			dec := json.NewDecoder(strings.NewReader(s))
			if useNumber {
				dec.UseNumber()
			}
			var m map[string]any
			if dec.Decode(&m) != nil || m == nil {
				return
			}
			c, err := Parse(m)
			if err != nil {
				e, ok := payment.AsError(err)
				if !ok || e.Kind != payment.KindInvalid || !strings.HasPrefix(e.Param, "settings") {
					t.Fatalf("Parse(%s): error %#v is not an invalid *payment.Error on settings", s, err)
				}
				switch e.Code {
				case payment.CodeParameterInvalid, payment.CodeParameterMissing, payment.CodeParameterUnknown:
				default:
					t.Fatalf("Parse(%s): code %s", s, e.Code)
				}
				continue
			}
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			var again map[string]any
			if err := json.Unmarshal(b, &again); err != nil {
				t.Fatal(err)
			}
			c2, err := Parse(again)
			if err != nil {
				t.Fatalf("canonical form %s of %s does not parse: %v", b, s, err)
			}
			if !reflect.DeepEqual(c, c2) {
				t.Fatalf("canonical form %s of %s parses differently", b, s)
			}
			for _, in := range []Input{{}, eurVisa, {Amount: 100, Currency: "USD", BIN: "42424242", Initiator: "merchant"}} {
				d, err := c.Decide(in, nil)
				if err != nil && err != ErrNoRoute {
					t.Fatalf("Decide on %s: %v", b, err)
				}
				if err == nil && len(d.Candidates) == 0 {
					t.Fatalf("Decide on %s: no candidates", b)
				}
			}
		}
	})
}
