package simhttp

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecodeOperation feeds the server's request parser arbitrary bodies: it
// must never panic, and what it accepts must survive a round trip
// unchanged (what the adapter would encode from it, the server reads back).
func FuzzDecodeOperation(f *testing.F) {
	for _, seed := range []string{
		`{"reference":"op_1","amount":1000,"currency":"EUR","card":{"number":"4111111111111111","cvc":"737","exp_month":12,"exp_year":2030}}`,
		`{"reference":"op_2","amount":600,"currency":"EUR","prior_reference":"sim_abc"}`,
		`{"reference":"op_3","gateway_specific_fields":{"simulate_decline":true,"n":1.5,"s":["a"]}}`,
		`{"reference":"op_4"} {}`,
		`{"reference":"op_5","amount":9223372036854775807}`,
		`{"reference":"op\u0000","amount":1}`,
		`{"reference":"op_6","card":null,"unknown":1}`,
		`[]`, ``, `null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeOperation(body)
		if err != nil {
			if r != nil {
				t.Fatalf("a request with an error: %+v, %v", r, err)
			}
			return
		}
		if r.Reference == "" || r.Amount < 0 {
			t.Fatalf("accepted an invalid request: %+v", r)
		}
		again, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := DecodeOperation(again)
		if err != nil {
			t.Fatalf("the re-encoded request %s is refused: %v", again, err)
		}
		if !reflect.DeepEqual(r, back) {
			t.Fatalf("round trip changed the request:\n%+v\n%+v", r, back)
		}
	})
}
