package routing

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kassapay/kassa/internal/payment"
)

// eurVisa is a typical input; cases change what they test.
var eurVisa = Input{Amount: 2500, Currency: "EUR", CardBrand: "visa", BIN: "424242",
	PaymentMethodType: "card", Metadata: map[string]string{"tier": "gold", "region": "eu"}}

func with(f func(*Input)) Input {
	in := eurVisa
	in.Metadata = map[string]string{"tier": "gold", "region": "eu"}
	f(&in)
	return in
}

func TestDecide(t *testing.T) {
	// Each rule routes to a gateway named after the rule, so the matching
	// rule is visible in the candidates too.
	c := mustParse(t, `{
		"rules":[
			{"when":{"card_brand":["american_express"]},"then":{"gateway":"gw_amex"}},
			{"when":{"bin_prefix":["55555555"]},"then":{"gateway":"gw_bin8"}},
			{"when":{"bin_prefix":["411111","5105"]},"then":{"gateway":"gw_bin"}},
			{"when":{"amount_min":100000},"then":{"cascade":["gw_big","gw_big2"]}},
			{"when":{"amount_min":1000,"amount_max":2000,"currency":["EUR"]},"then":{"gateway":"gw_range"}},
			{"when":{"metadata":{"tier":"platinum"}},"then":{"gateway":"gw_platinum"}},
			{"when":{"stored_credential_initiator":"merchant"},"then":{"gateway":"gw_mit"}},
			{"when":{"currency":["USD","CAD"],"card_brand":["visa","mastercard"]},"then":{"gateway":"gw_na"}},
			{"when":{"payment_method_type":["card"],"currency":["GBP"]},"then":{"gateway":"gw_gbp"}},
			{"when":{"metadata":{"tier":"gold","region":"us"}},"then":{"gateway":"gw_gold_us"}},
			{"when":{"stored_credential_initiator":"cardholder","currency":["CHF"]},"then":{"gateway":"gw_cit_chf"}},
			{"when":{"currency":["JPY"]},"then":{"gateway":"gw_jpy"}},
			{"when":{"currency":["JPY"]},"then":{"gateway":"gw_jpy_shadowed"}}
		],
		"default":{"gateway":"gw_default"}}`)

	tests := []struct {
		name string
		in   Input
		rule int
		want []string
	}{
		{"brand", with(func(in *Input) { in.CardBrand = "american_express"; in.BIN = "378282" }), 0, []string{"gw_amex"}},
		{"brand is case-sensitive", with(func(in *Input) { in.CardBrand = "American_Express" }), -1, []string{"gw_default"}},
		{"no brand", with(func(in *Input) { in.CardBrand = "" }), -1, []string{"gw_default"}},
		{"8-digit prefix on an 8-digit BIN", with(func(in *Input) { in.BIN = "55555555" }), 1, []string{"gw_bin8"}},
		{"8-digit prefix on a 6-digit BIN", with(func(in *Input) { in.BIN = "555555" }), -1, []string{"gw_default"}},
		{"6-digit prefix", with(func(in *Input) { in.BIN = "411111" }), 2, []string{"gw_bin"}},
		{"6-digit prefix on an 8-digit BIN", with(func(in *Input) { in.BIN = "41111199" }), 2, []string{"gw_bin"}},
		{"second prefix of the list", with(func(in *Input) { in.BIN = "510510" }), 2, []string{"gw_bin"}},
		{"prefix not matching", with(func(in *Input) { in.BIN = "411112" }), -1, []string{"gw_default"}},
		{"empty BIN", with(func(in *Input) { in.BIN = "" }), -1, []string{"gw_default"}},
		{"amount at the open-ended minimum", with(func(in *Input) { in.Amount = 100000 }), 3, []string{"gw_big", "gw_big2"}},
		{"amount below the open-ended minimum", with(func(in *Input) { in.Amount = 99999 }), -1, []string{"gw_default"}},
		{"amount at the range's lower bound", with(func(in *Input) { in.Amount = 1000 }), 4, []string{"gw_range"}},
		{"amount at the range's upper bound", with(func(in *Input) { in.Amount = 2000 }), 4, []string{"gw_range"}},
		{"amount just below the range", with(func(in *Input) { in.Amount = 999 }), -1, []string{"gw_default"}},
		{"amount just above the range", with(func(in *Input) { in.Amount = 2001 }), -1, []string{"gw_default"}},
		{"amount in range, other currency", with(func(in *Input) { in.Amount = 1500; in.Currency = "SEK" }), -1, []string{"gw_default"}},
		{"metadata", with(func(in *Input) { in.Metadata["tier"] = "platinum" }), 5, []string{"gw_platinum"}},
		{"metadata, every pair", with(func(in *Input) { in.Metadata["region"] = "us" }), 9, []string{"gw_gold_us"}},
		{"metadata, one pair of two", with(func(in *Input) { in.Metadata = map[string]string{"region": "us"} }), -1, []string{"gw_default"}},
		{"metadata absent", with(func(in *Input) { in.Metadata = nil }), -1, []string{"gw_default"}},
		{"merchant-initiated", with(func(in *Input) { in.Initiator = "merchant" }), 6, []string{"gw_mit"}},
		{"cardholder-initiated", with(func(in *Input) { in.Initiator = "cardholder"; in.Currency = "CHF" }), 10, []string{"gw_cit_chf"}},
		{"no initiator counts as cardholder", with(func(in *Input) { in.Initiator = ""; in.Currency = "CHF" }), 10, []string{"gw_cit_chf"}},
		{"merchant-initiated is not cardholder", with(func(in *Input) { in.Initiator = "merchant"; in.Currency = "CHF" }), 6, []string{"gw_mit"}},
		{"currency and brand", with(func(in *Input) { in.Currency = "CAD"; in.CardBrand = "mastercard" }), 7, []string{"gw_na"}},
		{"currency without brand", with(func(in *Input) { in.Currency = "USD"; in.CardBrand = "discover" }), -1, []string{"gw_default"}},
		{"payment method type", with(func(in *Input) { in.Currency = "GBP" }), 8, []string{"gw_gbp"}},
		{"other payment method type", with(func(in *Input) { in.Currency = "GBP"; in.PaymentMethodType = "bank_account" }), -1, []string{"gw_default"}},
		{"first match wins", with(func(in *Input) { in.CardBrand = "american_express"; in.Amount = 100000 }), 0, []string{"gw_amex"}},
		{"first match wins over a later identical rule", with(func(in *Input) { in.Currency = "JPY" }), 11, []string{"gw_jpy"}},
		{"default", eurVisa, -1, []string{"gw_default"}},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, tt := range tests {
		d, err := c.Decide(tt.in, r)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if d.Rule != tt.rule || !slices.Equal(d.Candidates, tt.want) {
			t.Errorf("%s: rule %d %v (%s), want rule %d %v", tt.name, d.Rule, d.Candidates, d.Reason, tt.rule, tt.want)
		}
	}
}

func TestDecideNoRoute(t *testing.T) {
	c := mustParse(t, `{"rules":[{"when":{"currency":["USD"]},"then":{"gateway":"gw_a"}}]}`)
	d, err := c.Decide(eurVisa, nil)
	if !errors.Is(err, ErrNoRoute) {
		t.Fatalf("got %+v, %v; want ErrNoRoute", d, err)
	}
	e, ok := payment.AsError(err)
	if !ok || e.Kind != payment.KindInvalid || e.Code != "no_route" || e.Param != "gateway" {
		t.Errorf("got %#v", err)
	}
	if !errors.Is(err, payment.ErrInvalid) {
		t.Error("ErrNoRoute is not a payment.ErrInvalid")
	}
}

func TestDecideReasonAndKind(t *testing.T) {
	c := mustParse(t, `{
		"rules":[
			{"when":{"currency":["EUR"],"card_brand":["visa"],"metadata":{"z":"1","a":"2"}},"then":{"split":[{"gateway":"gw_a","weight":100}]}},
			{"when":{"amount_min":10,"amount_max":20,"bin_prefix":["4242","5"],"payment_method_type":["card"],"stored_credential_initiator":"merchant"},
			 "then":{"cascade":["gw_b","gw_c"]}},
			{"when":{"amount_max":20},"then":{"gateway":"gw_small"}},
			{"when":{"amount_min":5000},"then":{"gateway":"gw_large"}},
			{"then":{"gateway":"gw_any"}}
		],
		"default":{"gateway":"gw_never"}}`)
	tests := []struct {
		in     Input
		kind   string
		reason string
	}{
		{Input{Currency: "EUR", CardBrand: "visa", Metadata: map[string]string{"a": "2", "z": "1", "x": "9"}}, KindSplit,
			"rule 0 matched (currency EUR, card_brand visa, metadata a=2, metadata z=1): split picked gw_a (weight 100)"},
		{Input{Amount: 15, BIN: "55555555", PaymentMethodType: "card", Initiator: "merchant"}, KindCascade,
			"rule 1 matched (amount 15 in 10..20, bin_prefix 5, payment_method_type card, stored_credential_initiator merchant): cascade gw_b, gw_c"},
		{Input{Amount: 15}, KindGateway, "rule 2 matched (amount 15 <= 20): gateway gw_small"},
		{Input{Amount: 5000}, KindGateway, "rule 3 matched (amount 5000 >= 5000): gateway gw_large"},
		{Input{Amount: 100}, KindGateway, "rule 4 matched (no conditions): gateway gw_any"},
	}
	for _, tt := range tests {
		d, err := c.Decide(tt.in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.Kind != tt.kind || d.Reason != tt.reason {
			t.Errorf("got %s %q\nwant %s %q", d.Kind, d.Reason, tt.kind, tt.reason)
		}
	}

	def := mustParse(t, `{"rules":[{"when":{"currency":["USD"]},"then":{"gateway":"gw_a"}}],
		"default":{"split":[{"gateway":"gw_x","weight":60},{"gateway":"gw_y","weight":40}]}}`)
	d, err := def.Decide(eurVisa, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	if d.Rule != -1 || d.Kind != KindSplit || len(d.Candidates) != 1 ||
		d.Reason != "no rule matched: default split picked "+d.Candidates[0]+" (weight "+map[string]string{"gw_x": "60", "gw_y": "40"}[d.Candidates[0]]+")" {
		t.Errorf("default split: %+v", d)
	}
}

// A cascade's candidates are the config's list; appending to them must not
// write into the config, even where its slice has room to spare.
func TestDecideCascadeCandidatesAppendSafe(t *testing.T) {
	cascade := make([]string, 2, 8)
	copy(cascade, []string{"gw_a", "gw_b"})
	c := &Config{Default: &Action{Cascade: cascade}}
	d, err := c.Decide(eurVisa, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(d.Candidates, "gw_z")
	if spare := cascade[:3]; spare[2] == "gw_z" {
		t.Errorf("appending to Candidates wrote into the config's array")
	}
}

// A 70/30 split over 10,000 decisions lands within ±2 percentage points, and
// exactly where it did before for the same seed.
func TestDecideSplit7030(t *testing.T) {
	c := mustParse(t, `{"default":{"split":[{"gateway":"gw_a","weight":70},{"gateway":"gw_b","weight":30}]}}`)
	r := rand.New(rand.NewPCG(20240601, 42))
	counts := map[string]int{}
	const n = 10000
	for range n {
		d, err := c.Decide(eurVisa, r)
		if err != nil {
			t.Fatal(err)
		}
		counts[d.Candidates[0]]++
	}
	if counts["gw_a"]+counts["gw_b"] != n {
		t.Fatalf("counts %v", counts)
	}
	for gw, want := range map[string]float64{"gw_a": 70, "gw_b": 30} {
		if got := 100 * float64(counts[gw]) / n; math.Abs(got-want) > 2 {
			t.Errorf("%s got %.2f%%, want %.0f%% ± 2", gw, got, want)
		}
	}
	// The seed makes the counts exact; a change here means the draw changed.
	if counts["gw_a"] != wantSplitA || counts["gw_b"] != n-wantSplitA {
		t.Errorf("counts %v, want gw_a %d, gw_b %d for this seed", counts, wantSplitA, n-wantSplitA)
	}
}

const wantSplitA = 7018

func TestDecideHandBuilt(t *testing.T) {
	in := eurVisa
	tests := []struct {
		c     Config
		param string
	}{
		{Config{Rules: []Rule{{}}}, "settings.rules[0].then"},
		{Config{Default: &Action{}}, "settings.default"},
		{Config{Default: &Action{Split: []Weighted{{"gw_a", 0}, {"gw_b", -5}}}}, "settings.default"},
	}
	for _, tt := range tests {
		_, err := tt.c.Decide(in, nil)
		e, ok := payment.AsError(err)
		if !ok || e.Kind != payment.KindInvalid || e.Param != tt.param {
			t.Errorf("%+v: got %v, want invalid %s", tt.c, err, tt.param)
		}
	}
	// Non-positive shares never win; the rest still split.
	c := Config{Default: &Action{Split: []Weighted{{"gw_a", 0}, {"gw_b", 3}, {"gw_c", -1}}}}
	for range 100 {
		d, err := c.Decide(in, nil)
		if err != nil || d.Candidates[0] != "gw_b" {
			t.Fatalf("got %+v, %v", d, err)
		}
	}
}

func TestCascadeMovesOn(t *testing.T) {
	listed := mustParse(t, `{"default":{"cascade":["gw_a","gw_b"]},"cascade_on":["not_sent","do_not_honor","insufficient_funds"]}`)
	bare := mustParse(t, `{"default":{"cascade":["gw_a","gw_b"]}}`)
	// A hand-built config listing a hard decline still never moves on after it.
	hand := &Config{CascadeOn: []string{"lost_card", "do_not_honor", ""}}
	tests := []struct {
		c                    *Config
		outcome, declineCode string
		want                 bool
	}{
		{listed, "not_sent", "", true},
		{listed, "not_sent", "not_processed", true},
		{bare, "not_sent", "", true}, // not_sent needs no listing
		{listed, "declined", "do_not_honor", true},
		{listed, "declined", "insufficient_funds", true},
		{listed, "declined", "try_again_later", false}, // soft, but not listed
		{bare, "declined", "do_not_honor", false},
		{listed, "declined", "lost_card", false},
		{listed, "declined", "", false},
		{listed, "unknown", "", false},
		{listed, "unknown", "do_not_honor", false},
		{listed, "failed", "processing_error", false},
		{listed, "failed", "do_not_honor", false},
		{listed, "succeeded", "", false},
		{listed, "pending", "", false},
		{listed, "", "do_not_honor", false},
		{listed, "NOT_SENT", "", false},
		{hand, "declined", "lost_card", false},
		{hand, "declined", "do_not_honor", true},
		{hand, "declined", "", false},
	}
	for _, tt := range tests {
		if got := tt.c.CascadeMovesOn(tt.outcome, tt.declineCode); got != tt.want {
			t.Errorf("cascade_on %v: CascadeMovesOn(%q, %q) = %v, want %v", tt.c.CascadeOn, tt.outcome, tt.declineCode, got, tt.want)
		}
	}
	// Every soft decline can be listed, and then moves on.
	all := &Config{CascadeOn: softDeclines}
	for _, code := range softDeclines {
		if !all.CascadeMovesOn(string(payment.OutcomeDeclined), code) {
			t.Errorf("%s listed does not move on", code)
		}
	}
}
