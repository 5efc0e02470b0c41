package routing

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/kassapay/kassa/internal/payment"
)

// Input is what routing decides on.
type Input struct {
	Amount            int64
	Currency          string
	CardBrand         string
	BIN               string // first 6–8 digits, may be empty
	PaymentMethodType string
	Initiator         string // cardholder | merchant; empty counts as cardholder
	Metadata          map[string]string
}

// Decision kinds: the kind of the action that decided.
const (
	KindGateway = "gateway"
	KindSplit   = "split"
	KindCascade = "cascade"
)

// Decision is the routing outcome: the gateways to try, in order.
type Decision struct {
	Rule int    // index of the matching rule, -1 for the default
	Kind string // KindGateway | KindSplit | KindCascade
	// Candidates holds one gateway for gateway and split, the cascade's
	// gateways for cascade. A cascade's list is the Config's own: read it,
	// don't write to it (appending is safe).
	Candidates []string
	// Reason says why, for the routing trace: "rule 2 matched (currency
	// EUR, card_brand visa): split picked gw_a (weight 70)".
	Reason string
}

// CodeNoRoute is the code of ErrNoRoute.
const CodeNoRoute = "no_route"

// ErrNoRoute is returned by Decide when no rule matches and the router has no
// default. Test for it with errors.Is.
var ErrNoRoute = &payment.Error{Kind: payment.KindInvalid, Code: CodeNoRoute, Param: "gateway",
	Message: "No routing rule of the router matches the payment, and the router has no default."}

// Decide evaluates the rules top to bottom; the first match wins, else the
// default. It returns ErrNoRoute when nothing matches and there is no
// default.
//
// r supplies a split's randomness; it is not safe for concurrent use, so
// callers share one under a lock or keep one per goroutine. A nil r uses
// math/rand/v2's global source.
//
// A Config from Parse always decides. One built by hand with an empty
// action, or a split without a positive weight, gets a *payment.Error
// (KindInvalid, parameter_invalid) naming the action.
func (c *Config) Decide(in Input, r *rand.Rand) (Decision, error) {
	for i := range c.Rules {
		rule := &c.Rules[i]
		if rule.When.matches(&in) {
			return decide(i, &rule.Then, &rule.When, &in, r)
		}
	}
	if c.Default != nil {
		return decide(-1, c.Default, nil, &in, r)
	}
	return Decision{}, ErrNoRoute
}

func (w *Conditions) matches(in *Input) bool {
	if w.AmountMin != nil && in.Amount < *w.AmountMin {
		return false
	}
	if w.AmountMax != nil && in.Amount > *w.AmountMax {
		return false
	}
	if w.Currencies != nil && !slices.Contains(w.Currencies, in.Currency) {
		return false
	}
	if w.CardBrands != nil && !slices.Contains(w.CardBrands, in.CardBrand) {
		return false
	}
	if w.PaymentMethodTypes != nil && !slices.Contains(w.PaymentMethodTypes, in.PaymentMethodType) {
		return false
	}
	if w.Initiator != "" && w.Initiator != initiator(in) {
		return false
	}
	if w.BINPrefixes != nil && binPrefix(w.BINPrefixes, in.BIN) == "" {
		return false
	}
	if len(w.Metadata) > len(in.Metadata) {
		return false
	}
	for k, want := range w.Metadata {
		if got, ok := in.Metadata[k]; !ok || got != want {
			return false
		}
	}
	return true
}

func initiator(in *Input) string {
	if in.Initiator == "" {
		return InitiatorCardholder
	}
	return in.Initiator
}

// binPrefix returns the first of prefixes that bin starts with, or "".
// A prefix longer than bin never matches.
func binPrefix(prefixes []string, bin string) string {
	for _, p := range prefixes {
		if p != "" && strings.HasPrefix(bin, p) {
			return p
		}
	}
	return ""
}

// decide applies action a of rule i (-1: the default, w nil).
func decide(i int, a *Action, w *Conditions, in *Input, r *rand.Rand) (Decision, error) {
	d := Decision{Rule: i}
	// The reason is built in a buffer that stays on the stack for the usual
	// lengths; converting it is the decision's one allocation besides a
	// single-gateway Candidates.
	b := make([]byte, 0, 256)
	if i < 0 {
		b = append(b, "no rule matched: default "...)
	} else {
		b = append(b, "rule "...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, " matched ("...)
		b = w.appendMatched(b, in)
		b = append(b, "): "...)
	}
	switch {
	case a.Gateway != "":
		d.Kind, d.Candidates = KindGateway, []string{a.Gateway}
		b = append(b, "gateway "...)
		b = append(b, a.Gateway...)
	case len(a.Split) > 0:
		pick, ok := pickSplit(a.Split, r)
		if !ok {
			return Decision{}, badAction(i, "a split needs a positive weight")
		}
		d.Kind, d.Candidates = KindSplit, []string{pick.Gateway}
		b = append(b, "split picked "...)
		b = append(b, pick.Gateway...)
		b = append(b, " (weight "...)
		b = strconv.AppendInt(b, int64(pick.Weight), 10)
		b = append(b, ')')
	case len(a.Cascade) > 0:
		d.Kind, d.Candidates = KindCascade, a.Cascade[:len(a.Cascade):len(a.Cascade)]
		b = append(b, "cascade "...)
		for j, id := range a.Cascade {
			if j > 0 {
				b = append(b, ", "...)
			}
			b = append(b, id...)
		}
	default:
		return Decision{}, badAction(i, "an action needs one of gateway, split or cascade")
	}
	d.Reason = string(b)
	return d, nil
}

// pickSplit draws one share of split with probability weight/total. Shares
// without a positive weight (only in a hand-built Config) never win.
func pickSplit(split []Weighted, r *rand.Rand) (Weighted, bool) {
	total := 0
	for _, w := range split {
		if w.Weight > 0 {
			total += w.Weight
		}
	}
	if total <= 0 {
		return Weighted{}, false
	}
	var n int
	if r != nil {
		n = r.IntN(total)
	} else {
		n = rand.IntN(total)
	}
	for _, w := range split {
		if w.Weight <= 0 {
			continue
		}
		if n < w.Weight {
			return w, true
		}
		n -= w.Weight
	}
	panic("unreachable: n < total")
}

func badAction(i int, msg string) error {
	param := "settings.default"
	if i >= 0 {
		param = "settings.rules[" + strconv.Itoa(i) + "].then"
	}
	return payment.Invalid(payment.CodeParameterInvalid, param, "%s: %s.", param, msg)
}

// appendMatched describes the conditions of w that in met, with in's values:
// "currency EUR, card_brand visa".
func (w *Conditions) appendMatched(b []byte, in *Input) []byte {
	start := len(b)
	sep := func(b []byte) []byte {
		if len(b) > start {
			b = append(b, ", "...)
		}
		return b
	}
	if w.AmountMin != nil || w.AmountMax != nil {
		b = append(b, "amount "...)
		b = strconv.AppendInt(b, in.Amount, 10)
		switch {
		case w.AmountMin != nil && w.AmountMax != nil:
			b = append(b, " in "...)
			b = strconv.AppendInt(b, *w.AmountMin, 10)
			b = append(b, ".."...)
			b = strconv.AppendInt(b, *w.AmountMax, 10)
		case w.AmountMin != nil:
			b = append(b, " >= "...)
			b = strconv.AppendInt(b, *w.AmountMin, 10)
		default:
			b = append(b, " <= "...)
			b = strconv.AppendInt(b, *w.AmountMax, 10)
		}
	}
	if w.Currencies != nil {
		b = append(append(sep(b), "currency "...), in.Currency...)
	}
	if w.CardBrands != nil {
		b = append(append(sep(b), "card_brand "...), in.CardBrand...)
	}
	if w.BINPrefixes != nil {
		b = append(append(sep(b), "bin_prefix "...), binPrefix(w.BINPrefixes, in.BIN)...)
	}
	if w.PaymentMethodTypes != nil {
		b = append(append(sep(b), "payment_method_type "...), in.PaymentMethodType...)
	}
	if w.Initiator != "" {
		b = append(append(sep(b), "stored_credential_initiator "...), w.Initiator...)
	}
	if len(w.Metadata) > 0 {
		// Sorted, so that the same decision reads the same; the array keeps
		// the usual handful of keys off the heap.
		var arr [8]string
		keys := arr[:0]
		for k := range w.Metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = append(append(append(append(sep(b), "metadata "...), k...), '='), w.Metadata[k]...)
		}
	}
	if len(b) == start {
		b = append(b, "no conditions"...)
	}
	return b
}

// CascadeMovesOn reports whether a cascade may try its next gateway after an
// attempt ended with outcome (a payment.Outcome's string) and declineCode:
//
//   - not_sent: always, listed in CascadeOn or not. Nothing reached the
//     gateway, so trying another cannot charge twice.
//   - declined: when declineCode is a soft decline listed in CascadeOn.
//   - anything else (unknown, failed, succeeded, pending): never. After
//     unknown the gateway may have charged; after failed the request is wrong
//     wherever it goes.
func (c *Config) CascadeMovesOn(outcome, declineCode string) bool {
	switch payment.Outcome(outcome) {
	case payment.OutcomeNotSent:
		return true
	case payment.OutcomeDeclined:
		// A hand-built Config could list a hard decline; it still never
		// moves on.
		return declineCode != "" && slices.Contains(c.CascadeOn, declineCode) && slices.Contains(softDeclines, declineCode)
	}
	return false
}
