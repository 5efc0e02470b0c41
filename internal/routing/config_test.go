package routing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/card"
	"github.com/kassapay/kassa/internal/payment"
)

// decode reads a JSON object the way the API does: numbers as json.Number
// when useNumber, else as float64 (what a stored settings column gives back).
func decode(t testing.TB, s string, useNumber bool) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	if useNumber {
		dec.UseNumber()
	}
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %.200s: %v", s, err)
	}
	return m
}

func mustParse(t testing.TB, s string) *Config {
	t.Helper()
	c, err := Parse(decode(t, s, true))
	if err != nil {
		t.Fatalf("Parse(%s): %v", s, err)
	}
	return c
}

func ptr(n int64) *int64 { return &n }

func TestParseValid(t *testing.T) {
	tests := []struct {
		name, settings string
		want           *Config
	}{
		{"default only", `{"default":{"gateway":"gw_a"}}`,
			&Config{Rules: []Rule{}, Default: &Action{Gateway: "gw_a"}, CascadeOn: []string{}}},
		{"one rule, no default, empty when", `{"rules":[{"when":{},"then":{"gateway":"gw_a"}}]}`,
			&Config{Rules: []Rule{{Then: Action{Gateway: "gw_a"}}}, CascadeOn: []string{}}},
		{"when left out", `{"rules":[{"then":{"gateway":"gw_a"}}]}`,
			&Config{Rules: []Rule{{Then: Action{Gateway: "gw_a"}}}, CascadeOn: []string{}}},
		{"every condition and action", `{
			"rules":[
				{"when":{"amount_min":100,"amount_max":5000,"currency":["EUR","USD"],"card_brand":["visa","mastercard"],
					"bin_prefix":["4","424242","12345678"],"payment_method_type":["card"],
					"stored_credential_initiator":"merchant","metadata":{"tier":"gold","region":"eu"}},
				 "then":{"split":[{"gateway":"gw_a","weight":70},{"gateway":"gw_b","weight":30}]}},
				{"when":{"amount_min":0},"then":{"cascade":["gw_b","gw_c"]}},
				{"when":{"amount_max":1e3},"then":{"gateway":"gw_d"}}
			],
			"default":{"cascade":["gw_a"]},
			"cascade_on":["not_sent","do_not_honor","insufficient_funds","try_again_later","processing_error","issuer_unavailable","card_declined"],
			"pin_recurring":true}`,
			&Config{
				Rules: []Rule{
					{When: Conditions{AmountMin: ptr(100), AmountMax: ptr(5000), Currencies: []string{"EUR", "USD"},
						CardBrands: []string{"visa", "mastercard"}, BINPrefixes: []string{"4", "424242", "12345678"},
						PaymentMethodTypes: []string{"card"}, Initiator: "merchant",
						Metadata: map[string]string{"tier": "gold", "region": "eu"}},
						Then: Action{Split: []Weighted{{"gw_a", 70}, {"gw_b", 30}}}},
					{When: Conditions{AmountMin: ptr(0)}, Then: Action{Cascade: []string{"gw_b", "gw_c"}}},
					{When: Conditions{AmountMax: ptr(1000)}, Then: Action{Gateway: "gw_d"}},
				},
				Default:      &Action{Cascade: []string{"gw_a"}},
				CascadeOn:    []string{"not_sent", "do_not_honor", "insufficient_funds", "try_again_later", "processing_error", "issuer_unavailable", "card_declined"},
				PinRecurring: true,
			}},
		{"amount_min equal to amount_max", `{"rules":[{"when":{"amount_min":500,"amount_max":500},"then":{"gateway":"gw_a"}}]}`,
			&Config{Rules: []Rule{{When: Conditions{AmountMin: ptr(500), AmountMax: ptr(500)}, Then: Action{Gateway: "gw_a"}}}, CascadeOn: []string{}}},
		{"split of one", `{"default":{"split":[{"gateway":"gw_a","weight":100}]}}`,
			&Config{Rules: []Rule{}, Default: &Action{Split: []Weighted{{"gw_a", 100}}}, CascadeOn: []string{}}},
		{"nulls mean not given", `{"rules":null,"default":{"gateway":"gw_a","split":null,"cascade":null},"cascade_on":null,"pin_recurring":null}`,
			&Config{Rules: []Rule{}, Default: &Action{Gateway: "gw_a"}, CascadeOn: []string{}}},
		{"null conditions", `{"rules":[{"when":{"amount_min":null,"currency":null,"metadata":null,"stored_credential_initiator":null},"then":{"gateway":"gw_a"}}]}`,
			&Config{Rules: []Rule{{Then: Action{Gateway: "gw_a"}}}, CascadeOn: []string{}}},
		{"rules empty, default given", `{"rules":[],"default":{"gateway":"gw_a"},"cascade_on":[]}`,
			&Config{Rules: []Rule{}, Default: &Action{Gateway: "gw_a"}, CascadeOn: []string{}}},
		{"maximum amount", `{"rules":[{"when":{"amount_max":1000000000000000},"then":{"gateway":"gw_a"}}]}`,
			&Config{Rules: []Rule{{When: Conditions{AmountMax: ptr(payment.MaxAmount)}, Then: Action{Gateway: "gw_a"}}}, CascadeOn: []string{}}},
		{"weight as 70.0", `{"default":{"split":[{"gateway":"gw_a","weight":70.0},{"gateway":"gw_b","weight":3e1}]}}`,
			&Config{Rules: []Rule{}, Default: &Action{Split: []Weighted{{"gw_a", 70}, {"gw_b", 30}}}, CascadeOn: []string{}}},
	}
	for _, tt := range tests {
		for _, useNumber := range []bool{true, false} {
			got, err := Parse(decode(t, tt.settings, useNumber))
			if err != nil {
				t.Errorf("%s (UseNumber %v): %v", tt.name, useNumber, err)
				continue
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s (UseNumber %v):\n got %s\nwant %s", tt.name, useNumber, js(t, got), js(t, tt.want))
			}
			// The JSON encoding is the canonical form: it parses back to the
			// same Config, whichever way the numbers are decoded.
			for _, un := range []bool{true, false} {
				again, err := Parse(decode(t, js(t, got), un))
				if err != nil {
					t.Errorf("%s: canonical form %s does not parse: %v", tt.name, js(t, got), err)
				} else if !reflect.DeepEqual(again, got) {
					t.Errorf("%s: canonical form parses to %s", tt.name, js(t, again))
				}
			}
		}
	}
}

func js(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Go callers may hand Parse Go values rather than decoded JSON.
func TestParseGoValues(t *testing.T) {
	got, err := Parse(map[string]any{
		"rules": []any{map[string]any{
			"when": map[string]any{"amount_min": 10, "amount_max": int64(20), "currency": []string{"EUR"},
				"metadata": map[string]string{"k": "v"}},
			"then": map[string]any{"split": []any{
				map[string]any{"gateway": "gw_a", "weight": int32(60)},
				map[string]any{"gateway": "gw_b", "weight": uint8(40)}}},
		}},
		"cascade_on": []string{"not_sent"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{Rules: []Rule{{
		When: Conditions{AmountMin: ptr(10), AmountMax: ptr(20), Currencies: []string{"EUR"}, Metadata: map[string]string{"k": "v"}},
		Then: Action{Split: []Weighted{{"gw_a", 60}, {"gw_b", 40}}}}}, CascadeOn: []string{"not_sent"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %s, want %s", js(t, got), js(t, want))
	}
}

func TestParseInvalid(t *testing.T) {
	// rule wraps a conditions object and an action into settings with one
	// rule.
	rule := func(when, then string) string {
		return `{"rules":[{"when":` + when + `,"then":` + then + `}]}`
	}
	const gw = `{"gateway":"gw_a"}`
	tests := []struct {
		settings, code, param string
		message               string // a part of the message, when it matters
	}{
		// The settings object.
		{`{}`, payment.CodeParameterMissing, "settings.rules", "at least one rule or a default"},
		{`{"rules":[]}`, payment.CodeParameterMissing, "settings.rules", ""},
		{`{"rules":null,"default":null}`, payment.CodeParameterMissing, "settings.rules", ""},
		{`{"default":{"gateway":"gw_a"},"colour":"red"}`, payment.CodeParameterUnknown, "settings.colour", "known here: rules, default"},
		{`{"default":{"gateway":"gw_a"},"zeta":1,"alpha":2}`, payment.CodeParameterUnknown, "settings.alpha", ""},
		{`{"rules":{}}`, payment.CodeParameterInvalid, "settings.rules", "list of rules"},
		{`{"rules":"x"}`, payment.CodeParameterInvalid, "settings.rules", ""},
		{`{"default":"gw_a"}`, payment.CodeParameterInvalid, "settings.default", ""},
		{`{"default":{"gateway":"gw_a"},"pin_recurring":"yes"}`, payment.CodeParameterInvalid, "settings.pin_recurring", "true or false"},
		{`{"default":{"gateway":"gw_a"},"pin_recurring":1}`, payment.CodeParameterInvalid, "settings.pin_recurring", ""},

		// Rules.
		{`{"rules":[{"then":{"gateway":"gw_a"}},"x"]}`, payment.CodeParameterInvalid, "settings.rules[1]", ""},
		{`{"rules":[{"when":{}}]}`, payment.CodeParameterMissing, "settings.rules[0].then", ""},
		{`{"rules":[{"when":{},"then":null}]}`, payment.CodeParameterMissing, "settings.rules[0].then", ""},
		{`{"rules":[{"then":{"gateway":"gw_a"},"if":{}}]}`, payment.CodeParameterUnknown, "settings.rules[0].if", ""},
		{rule(`[]`, gw), payment.CodeParameterInvalid, "settings.rules[0].when", ""},
		{rule(`{"amount":5}`, gw), payment.CodeParameterUnknown, "settings.rules[0].when.amount", ""},
		{rule(`{"currencies":["EUR"]}`, gw), payment.CodeParameterUnknown, "settings.rules[0].when.currencies", ""},

		// Amounts.
		{`{"rules":[{"then":{"gateway":"gw_a"}},{"then":{"gateway":"gw_a"}},{"then":{"gateway":"gw_a"}},` +
			`{"when":{"amount_min":5000,"amount_max":1000},"then":{"gateway":"gw_a"}}]}`,
			payment.CodeParameterInvalid, "settings.rules[3].when.amount_min", "above amount_max 1000"},
		{rule(`{"amount_min":-1}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.amount_min", ""},
		{rule(`{"amount_min":1.5}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.amount_min", ""},
		{rule(`{"amount_min":"100"}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.amount_min", ""},
		{rule(`{"amount_max":true}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.amount_max", ""},
		{rule(`{"amount_max":1000000000000001}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.amount_max", ""},
		{rule(`{"amount_max":1e300}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.amount_max", ""},

		// Currencies.
		{rule(`{"currency":"EUR"}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.currency", "list"},
		{rule(`{"currency":[]}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.currency", "must not be empty"},
		{rule(`{"currency":["EUR","eur"]}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.currency[1]", "three upper-case letters"},
		{rule(`{"currency":["EURO"]}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.currency[0]", ""},
		{rule(`{"currency":["E1R"]}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.currency[0]", ""},
		{rule(`{"currency":["XYZ"]}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.currency[0]", "does not accept"},
		{rule(`{"currency":["EUR",7]}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.currency[1]", "must be a string"},
		{rule(`{"currency":["EUR","USD","EUR"]}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.currency[2]", "listed twice"},

		// Brands, BINs, payment method types, initiators.
		{rule(`{"card_brand":["visa","amex"]}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.card_brand[1]", "american_express"},
		{rule(`{"card_brand":["Visa"]}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.card_brand[0]", ""},
		{rule(`{"card_brand":["unknown"]}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.card_brand[0]", ""},
		{rule(`{"bin_prefix":["4","123456789"]}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.bin_prefix[1]", "1 to 8 digits"},
		{rule(`{"bin_prefix":[""]}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.bin_prefix[0]", ""},
		{rule(`{"bin_prefix":["42a"]}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.bin_prefix[0]", ""},
		{rule(`{"bin_prefix":[4242]}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.bin_prefix[0]", ""},
		{rule(`{"payment_method_type":["bank_account"]}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.payment_method_type[0]", ""},
		{rule(`{"stored_credential_initiator":"customer"}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.stored_credential_initiator", "cardholder or merchant"},
		{rule(`{"stored_credential_initiator":""}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.stored_credential_initiator", ""},
		{rule(`{"stored_credential_initiator":["merchant"]}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.stored_credential_initiator", ""},

		// Metadata.
		{rule(`{"metadata":"tier=gold"}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.metadata", ""},
		{rule(`{"metadata":{}}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.metadata", "must not be empty"},
		{rule(`{"metadata":{"tier":1}}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.metadata.tier", ""},
		{rule(`{"metadata":{"tier":""}}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.metadata.tier", ""},
		{rule(`{"metadata":{"b":null,"a":"x"}}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.metadata.b", ""},
		{rule(`{"metadata":{"":"x"}}`, gw), payment.CodeParameterInvalid, "settings.rules[0].when.metadata", "keys"},

		// Actions.
		{rule(`{}`, `{}`), payment.CodeParameterMissing, "settings.rules[0].then", "one of gateway, split or cascade"},
		{rule(`{}`, `{"gateway":null}`), payment.CodeParameterMissing, "settings.rules[0].then", ""},
		{rule(`{}`, `"gw_a"`), payment.CodeParameterInvalid, "settings.rules[0].then", ""},
		{rule(`{}`, `{"gateway":"gw_a","cascade":["gw_b"]}`), payment.CodeParameterInvalid, "settings.rules[0].then.cascade", "exactly one"},
		{rule(`{}`, `{"gateway":"gw_a","split":[{"gateway":"gw_b","weight":100}]}`), payment.CodeParameterInvalid, "settings.rules[0].then.split", ""},
		{rule(`{}`, `{"split":[{"gateway":"gw_b","weight":100}],"cascade":["gw_a"]}`), payment.CodeParameterInvalid, "settings.rules[0].then.cascade", ""},
		{rule(`{}`, `{"gateways":["gw_a"]}`), payment.CodeParameterUnknown, "settings.rules[0].then.gateways", ""},
		{rule(`{}`, `{"gateway":""}`), payment.CodeParameterInvalid, "settings.rules[0].then.gateway", ""},
		{rule(`{}`, `{"gateway":42}`), payment.CodeParameterInvalid, "settings.rules[0].then.gateway", ""},
		{`{"default":{}}`, payment.CodeParameterMissing, "settings.default", ""},
		{`{"default":{"router":"gw_a"}}`, payment.CodeParameterUnknown, "settings.default.router", ""},

		// Splits.
		{rule(`{}`, `{"split":[]}`), payment.CodeParameterInvalid, "settings.rules[0].then.split", "at least one"},
		{rule(`{}`, `{"split":{"gw_a":70}}`), payment.CodeParameterInvalid, "settings.rules[0].then.split", ""},
		{rule(`{}`, `{"split":["gw_a"]}`), payment.CodeParameterInvalid, "settings.rules[0].then.split[0]", ""},
		{rule(`{}`, `{"split":[{"gateway":"gw_a","weight":70},{"gateway":"gw_b","weight":0}]}`), payment.CodeParameterInvalid, "settings.rules[0].then.split[1].weight", "from 1 to 100"},
		{rule(`{}`, `{"split":[{"gateway":"gw_a","weight":70},{"gateway":"gw_b","weight":-30}]}`), payment.CodeParameterInvalid, "settings.rules[0].then.split[1].weight", ""},
		{rule(`{}`, `{"split":[{"gateway":"gw_a","weight":70},{"gateway":"gw_b","weight":29.5}]}`), payment.CodeParameterInvalid, "settings.rules[0].then.split[1].weight", ""},
		{rule(`{}`, `{"split":[{"gateway":"gw_a","weight":70},{"gateway":"gw_b","weight":"30"}]}`), payment.CodeParameterInvalid, "settings.rules[0].then.split[1].weight", ""},
		{rule(`{}`, `{"split":[{"gateway":"gw_a","weight":70},{"gateway":"gw_b","weight":130}]}`), payment.CodeParameterInvalid, "settings.rules[0].then.split[1].weight", ""},
		{rule(`{}`, `{"split":[{"gateway":"gw_a","weight":70},{"gateway":"gw_b"}]}`), payment.CodeParameterMissing, "settings.rules[0].then.split[1].weight", ""},
		{rule(`{}`, `{"split":[{"gateway":"gw_a","weight":70},{"weight":30}]}`), payment.CodeParameterMissing, "settings.rules[0].then.split[1].gateway", ""},
		{rule(`{}`, `{"split":[{"gateway":"gw_a","weight":70},{"gateway":"","weight":30}]}`), payment.CodeParameterInvalid, "settings.rules[0].then.split[1].gateway", ""},
		{rule(`{}`, `{"split":[{"gateway":"gw_a","weight":70},{"gateway":"gw_a","weight":30}]}`), payment.CodeParameterInvalid, "settings.rules[0].then.split[1].gateway", "twice"},
		{rule(`{}`, `{"split":[{"gateway":"gw_a","weight":70},{"gateway":"gw_b","weight":30,"share":1}]}`), payment.CodeParameterUnknown, "settings.rules[0].then.split[1].share", ""},
		{rule(`{}`, `{"split":[{"gateway":"gw_a","weight":70},{"gateway":"gw_b","weight":20}]}`), payment.CodeParameterInvalid, "settings.rules[0].then.split", "add up to 90"},
		{`{"default":{"split":[{"gateway":"gw_a","weight":60},{"gateway":"gw_b","weight":60}]}}`, payment.CodeParameterInvalid, "settings.default.split", "add up to 120"},

		// Cascades.
		{`{"default":{"cascade":["gw_a","gw_b",""]}}`, payment.CodeParameterInvalid, "settings.default.cascade[2]", ""},
		{`{"default":{"cascade":["gw_a","gw_b",3]}}`, payment.CodeParameterInvalid, "settings.default.cascade[2]", ""},
		{`{"default":{"cascade":["gw_a","gw_b","gw_a"]}}`, payment.CodeParameterInvalid, "settings.default.cascade[2]", "twice"},
		{`{"default":{"cascade":[]}}`, payment.CodeParameterInvalid, "settings.default.cascade", "at least one"},
		{`{"default":{"cascade":"gw_a"}}`, payment.CodeParameterInvalid, "settings.default.cascade", "list of gateway ids"},

		// cascade_on.
		{`{"default":{"gateway":"gw_a"},"cascade_on":["lost_card"]}`, payment.CodeParameterInvalid, "settings.cascade_on[0]", "lost_card is a hard decline"},
		{`{"default":{"gateway":"gw_a"},"cascade_on":["not_sent","stolen_card"]}`, payment.CodeParameterInvalid, "settings.cascade_on[1]", "hard decline"},
		{`{"default":{"gateway":"gw_a"},"cascade_on":["expired_card"]}`, payment.CodeParameterInvalid, "settings.cascade_on[0]", "hard decline"},
		{`{"default":{"gateway":"gw_a"},"cascade_on":["invalid_number"]}`, payment.CodeParameterInvalid, "settings.cascade_on[0]", "hard decline"},
		{`{"default":{"gateway":"gw_a"},"cascade_on":["unknown"]}`, payment.CodeParameterInvalid, "settings.cascade_on[0]", "may have charged"},
		{`{"default":{"gateway":"gw_a"},"cascade_on":["failed"]}`, payment.CodeParameterInvalid, "settings.cascade_on[0]", ""},
		{`{"default":{"gateway":"gw_a"},"cascade_on":["declined"]}`, payment.CodeParameterInvalid, "settings.cascade_on[0]", "allowed: not_sent, do_not_honor"},
		{`{"default":{"gateway":"gw_a"},"cascade_on":["Do_Not_Honor"]}`, payment.CodeParameterInvalid, "settings.cascade_on[0]", ""},
		{`{"default":{"gateway":"gw_a"},"cascade_on":["do_not_honor","do_not_honor"]}`, payment.CodeParameterInvalid, "settings.cascade_on[1]", "twice"},
		{`{"default":{"gateway":"gw_a"},"cascade_on":"not_sent"}`, payment.CodeParameterInvalid, "settings.cascade_on", ""},
		{`{"default":{"gateway":"gw_a"},"cascade_on":[null]}`, payment.CodeParameterInvalid, "settings.cascade_on[0]", ""},

		// The first error in document order wins: rules before default.
		{`{"rules":[{"then":{}}],"default":{}}`, payment.CodeParameterMissing, "settings.rules[0].then", ""},
	}
	for _, tt := range tests {
		for _, useNumber := range []bool{true, false} {
			_, err := Parse(decode(t, tt.settings, useNumber))
			checkErr(t, tt.settings, err, tt.code, tt.param, tt.message)
		}
	}
}

func checkErr(t *testing.T, input string, err error, code, param, message string) {
	t.Helper()
	e, ok := payment.AsError(err)
	if !ok {
		t.Errorf("%s: got %v, want a *payment.Error", input, err)
		return
	}
	if e.Kind != payment.KindInvalid || e.Code != code || e.Param != param {
		t.Errorf("%s: got %s %s %q, want invalid %s %q", input, e.Kind, e.Code, e.Param, code, param)
	}
	if !errors.Is(err, payment.ErrInvalid) {
		t.Errorf("%s: errors.Is(err, payment.ErrInvalid) is false", input)
	}
	if !strings.HasPrefix(e.Message, param+": ") {
		t.Errorf("%s: message %q does not start with the param", input, e.Message)
	}
	if !strings.Contains(e.Message, message) {
		t.Errorf("%s: message %q does not say %q", input, e.Message, message)
	}
}

func TestParseTooManyRules(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{"rules":[`)
	for i := range MaxRules + 1 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"then":{"gateway":"gw_a"}}`)
	}
	b.WriteString(`]}`)
	_, err := Parse(decode(t, b.String(), true))
	checkErr(t, "201 rules", err, payment.CodeParameterInvalid, "settings.rules", "at most 200")

	// 200 is fine.
	s := strings.Replace(b.String(), `{"then":{"gateway":"gw_a"}},`, "", 1)
	if c, err := Parse(decode(t, s, true)); err != nil || len(c.Rules) != MaxRules {
		t.Errorf("200 rules: %v", err)
	}
}

// Parse must not change the caller's settings, nor keep them: the Config
// owns its slices.
func TestParseLimits(t *testing.T) {
	list := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	quoted := func(i int) string { return fmt.Sprintf(`"%d"`, 10000000+i) }
	tests := []struct {
		settings, param, message string
	}{
		{`{"default":{"cascade":` + list(11, func(i int) string { return fmt.Sprintf(`"gw_%d"`, i) }) + `}}`, "settings.default.cascade", "at most 10"},
		{`{"rules":[{"when":{"bin_prefix":` + list(1001, quoted) + `},"then":{"gateway":"gw_a"}}]}`, "settings.rules[0].when.bin_prefix", "at most 1000"},
		{`{"default":{"gateway":"gw_a"},"cascade_on":` + list(1001, func(int) string { return `"not_sent"` }) + `}`, "settings.cascade_on", "at most 1000"},
		{`{"default":{"split":` + list(101, func(i int) string { return fmt.Sprintf(`{"gateway":"gw_%d","weight":1}`, i) }) + `}}`, "settings.default.split", "at most 100"},
		// Long lists find a value listed twice too (through a map).
		{`{"rules":[{"when":{"bin_prefix":` + strings.TrimSuffix(list(999, quoted), "]") + `,"10000500"]},"then":{"gateway":"gw_a"}}]}`,
			"settings.rules[0].when.bin_prefix[999]", "listed twice"},
		{`{"rules":[{"when":{"metadata":{` + strings.Trim(list(51, func(i int) string { return fmt.Sprintf(`"k%d":"v"`, i) }), "[]") + `}},"then":{"gateway":"gw_a"}}]}`,
			"settings.rules[0].when.metadata", "at most 50"},
		{`{"rules":[{"when":{"metadata":{"` + strings.Repeat("k", 41) + `":"v"}},"then":{"gateway":"gw_a"}}]}`, "settings.rules[0].when.metadata", "1 to 40"},
		{`{"rules":[{"when":{"metadata":{"k":"` + strings.Repeat("v", 501) + `"}},"then":{"gateway":"gw_a"}}]}`, "settings.rules[0].when.metadata.k", "1 to 500"},
	}
	for _, tt := range tests {
		_, err := Parse(decode(t, tt.settings, true))
		checkErr(t, tt.param, err, payment.CodeParameterInvalid, tt.param, tt.message)
	}

	// At the limits, all is well, and quickly: duplicates are not found by
	// comparing every pair.
	ok := []string{
		`{"default":{"cascade":` + list(10, func(i int) string { return fmt.Sprintf(`"gw_%d"`, i) }) + `}}`,
		`{"rules":[{"when":{"bin_prefix":` + list(1000, quoted) + `},"then":{"gateway":"gw_a"}}]}`,
		`{"default":{"split":` + list(100, func(i int) string { return fmt.Sprintf(`{"gateway":"gw_%d","weight":1}`, i) }) + `}}`,
		`{"rules":[{"when":{"metadata":{` + strings.Trim(list(50, func(i int) string { return fmt.Sprintf(`"k%d":"v"`, i) }), "[]") + `}},"then":{"gateway":"gw_a"}}]}`,
	}
	for _, s := range ok {
		if _, err := Parse(decode(t, s, true)); err != nil {
			t.Errorf("%.80s…: %v", s, err)
		}
	}
}

func TestParseCopies(t *testing.T) {
	currencies := []string{"EUR"}
	cascade := []string{"gw_a", "gw_b"}
	c, err := Parse(map[string]any{"rules": []any{map[string]any{
		"when": map[string]any{"currency": currencies},
		"then": map[string]any{"cascade": cascade}}}})
	if err != nil {
		t.Fatal(err)
	}
	currencies[0], cascade[0] = "USD", "gw_x"
	if c.Rules[0].When.Currencies[0] != "EUR" || c.Rules[0].Then.Cascade[0] != "gw_a" {
		t.Errorf("the Config shares the caller's slices: %s", js(t, c))
	}
}

func TestCardBrandsAreKassas(t *testing.T) {
	want := []string{card.Visa, card.Mastercard, card.Amex, card.Discover, card.Diners, card.JCB, card.Maestro, card.UnionPay}
	if !slices.Equal(cardBrands, want) {
		t.Errorf("cardBrands = %v, want internal/card's brands %v", cardBrands, want)
	}
}

func TestSoftAndHardDeclinesDisjoint(t *testing.T) {
	for _, s := range softDeclines {
		if slices.Contains(hardDeclines, s) {
			t.Errorf("%s is both a soft and a hard decline", s)
		}
	}
}

func TestGateways(t *testing.T) {
	c := mustParse(t, `{
		"rules":[
			{"when":{"currency":["EUR"]},"then":{"split":[{"gateway":"gw_b","weight":50},{"gateway":"gw_a","weight":50}]}},
			{"when":{"currency":["USD"]},"then":{"gateway":"gw_a"}},
			{"when":{"currency":["GBP"]},"then":{"cascade":["gw_c","gw_b","gw_d"]}}
		],
		"default":{"cascade":["gw_e","gw_a"]}}`)
	want := []string{"gw_b", "gw_a", "gw_c", "gw_d", "gw_e"}
	if got := c.Gateways(); !slices.Equal(got, want) {
		t.Errorf("Gateways() = %v, want %v", got, want)
	}
	if got := (&Config{}).Gateways(); len(got) != 0 {
		t.Errorf("empty config: Gateways() = %v", got)
	}
}
