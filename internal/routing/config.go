package routing

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/kassapay/kassa/internal/payment"
)

// Limits that keep a router a table a person can read, and keep parsing and
// deciding cheap whatever a request holds.
const (
	// MaxRules bounds a router's rules.
	MaxRules = 200
	// MaxCascade bounds a cascade: each gateway tried adds a gateway call
	// to the payment's latency.
	MaxCascade = 10
	// maxList bounds the values of a condition list and cascade_on.
	maxList = 1000
	// maxSplit is the most shares a split can have: each weighs at least 1
	// and they add up to 100.
	maxSplit = 100
	// Metadata conditions follow the limits of metadata itself (Stripe's).
	maxMetadataKeys   = 50
	maxMetadataKeyLen = 40
	maxMetadataValLen = 500
)

// Config is a router gateway's settings. [Parse] makes one from the API's
// JSON; its JSON encoding is the canonical form of the settings and parses
// back to the same Config.
type Config struct {
	Rules   []Rule  `json:"rules"`
	Default *Action `json:"default"`
	// CascadeOn lists what lets a cascade move on to its next gateway:
	// "not_sent" (always allowed anyway) and soft-decline codes.
	CascadeOn []string `json:"cascade_on"`
	// PinRecurring sends merchant-initiated payments on a payment method to
	// the gateway of its first cardholder-initiated payment (the engine
	// applies it; Decide does not).
	PinRecurring bool `json:"pin_recurring"`
}

// Rule routes the payments its conditions match.
type Rule struct {
	When Conditions `json:"when"`
	Then Action     `json:"then"`
}

// Conditions: every set condition must hold (AND); an empty Conditions
// matches everything. Lists match when any of their values does (OR).
type Conditions struct {
	AmountMin          *int64   `json:"amount_min,omitempty"` // inclusive, minor units
	AmountMax          *int64   `json:"amount_max,omitempty"` // inclusive
	Currencies         []string `json:"currency,omitempty"`
	CardBrands         []string `json:"card_brand,omitempty"` // kassa brand names: visa, mastercard, american_express, …
	BINPrefixes        []string `json:"bin_prefix,omitempty"` // 1–8 digits, matched against the card's first digits
	PaymentMethodTypes []string `json:"payment_method_type,omitempty"`
	// Initiator is "cardholder" or "merchant"; a payment without a stored
	// credential is cardholder-initiated.
	Initiator string            `json:"stored_credential_initiator,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"` // every key = value must match
}

// Action is what a matching rule does: exactly one of Gateway, Split and
// Cascade is set.
type Action struct {
	Gateway string     `json:"gateway,omitempty"`
	Split   []Weighted `json:"split,omitempty"`
	Cascade []string   `json:"cascade,omitempty"`
}

// Weighted is one gateway of a split and its share in percent.
type Weighted struct {
	Gateway string `json:"gateway"`
	Weight  int    `json:"weight"`
}

// Outcomes a cascade may move on after, as CascadeOn entries.
const (
	// CascadeNotSent: the attempt never reached the gateway.
	CascadeNotSent = "not_sent"
)

// softDeclines are the decline codes a cascade may be told to move on after:
// answers another acquirer, or the same issuer a moment later, may turn into
// an approval. The list is kassa's normalised codes (gateway.Result's
// DeclineCode).
var softDeclines = []string{
	"do_not_honor",       // the issuer's catch-all; often acquirer-specific risk scoring
	"insufficient_funds", // another acquirer may authorise a partial amount or route differently
	"try_again_later",    // the issuer asks for exactly that
	"processing_error",   // a fault on the way, not an answer about the card
	"issuer_unavailable", // the issuer could not be reached through this acquirer
	"card_declined",      // the generic decline, without a reason that rules out a retry
}

// hardDeclines are decline codes that are refused in cascade_on with a
// message saying why: the issuer gives every gateway the same answer, and
// retrying them elsewhere looks like card testing to the networks.
var hardDeclines = []string{
	"lost_card", "stolen_card", "pickup_card", "fraudulent", "restricted_card",
	"expired_card", "invalid_number", "incorrect_number", "invalid_cvc", "incorrect_cvc",
	"invalid_expiry_month", "invalid_expiry_year", "invalid_account", "card_not_supported",
	"currency_not_supported", "transaction_not_allowed", "revocation_of_authorization",
	"stop_payment_order", "do_not_try_again",
}

// cardBrands are kassa's brand names (internal/card's constants; a test keeps
// the two in step).
var cardBrands = []string{
	"visa", "mastercard", "american_express", "discover", "diners_club", "jcb", "maestro", "unionpay",
}

// paymentMethodTypes are the payment method types kassa knows.
var paymentMethodTypes = []string{payment.PaymentMethodTypeCard}

// Initiators of stored-credential payments.
const (
	InitiatorCardholder = "cardholder"
	InitiatorMerchant   = "merchant"
)

// Parse reads a router's settings as they arrive from the API: a JSON object
// decoded into map[string]any, numbers as json.Number, float64 or any Go
// integer type, JSON null meaning "not given". It is strict: unknown keys,
// wrong types, empty or ambiguous actions, weights that are not whole
// percentages adding up to 100, bounds the wrong way round, unknown
// currencies, brands, payment method types or initiators, malformed BIN
// prefixes, hard declines in cascade_on, more than MaxRules rules or
// MaxCascade gateways in a cascade, overlong lists and metadata, and settings
// with neither rules nor a default are refused.
//
// Errors are *payment.Error of kind KindInvalid with code parameter_invalid,
// parameter_unknown or parameter_missing, and a Param naming the exact place
// ("settings.rules[3].when.amount_min", "settings.default.cascade[2]"); the
// Message starts with the same Param.
func Parse(settings map[string]any) (*Config, error) {
	c, err := parseConfig(settings)
	if err != nil {
		e := err.(*payment.Error)
		e.Param = join("settings", e.Param)
		e.Message = e.Param + ": " + e.Message
		return nil, e
	}
	return c, nil
}

func parseConfig(m map[string]any) (*Config, error) {
	if err := unknownKey(m, "rules", "default", "cascade_on", "pin_recurring"); err != nil {
		return nil, err
	}
	c := &Config{Rules: []Rule{}, CascadeOn: []string{}}
	if v := m["rules"]; v != nil {
		list, ok := v.([]any)
		if !ok {
			return nil, invalid("rules", "must be a list of rules")
		}
		if len(list) > MaxRules {
			return nil, invalid("rules", "holds %d rules; a router holds at most %d", len(list), MaxRules)
		}
		c.Rules = make([]Rule, len(list))
		for i, v := range list {
			if err := parseRule(v, &c.Rules[i]); err != nil {
				return nil, at(err, index("rules", i))
			}
		}
	}
	if v := m["default"]; v != nil {
		c.Default = new(Action)
		if err := parseAction(v, c.Default); err != nil {
			return nil, at(err, "default")
		}
	}
	if len(c.Rules) == 0 && c.Default == nil {
		return nil, &payment.Error{Kind: payment.KindInvalid, Code: payment.CodeParameterMissing, Param: "rules",
			Message: "a router needs at least one rule or a default"}
	}
	if v := m["cascade_on"]; v != nil {
		list, err := stringList(v, "", maxList)
		if err != nil {
			return nil, at(err, "cascade_on")
		}
		for i, s := range list {
			if err := checkCascadeOn(s); err != nil {
				return nil, at(err, index("cascade_on", i))
			}
		}
		c.CascadeOn = list
	}
	if v := m["pin_recurring"]; v != nil {
		b, ok := v.(bool)
		if !ok {
			return nil, invalid("pin_recurring", "must be true or false")
		}
		c.PinRecurring = b
	}
	return c, nil
}

func checkCascadeOn(s string) error {
	switch {
	case s == CascadeNotSent || slices.Contains(softDeclines, s):
		return nil
	case slices.Contains(hardDeclines, s):
		return invalid("", "%s is a hard decline: every gateway gets the same answer, so a cascade never moves on after it (allowed: %s)", s, allowedCascadeOn())
	case s == string(payment.OutcomeUnknown):
		return invalid("", "a cascade never moves on after unknown: the gateway may have charged the customer (allowed: %s)", allowedCascadeOn())
	case s == string(payment.OutcomeFailed):
		return invalid("", "a cascade never moves on after failed: the request itself was refused (allowed: %s)", allowedCascadeOn())
	}
	return invalid("", "%q is not an outcome or soft-decline code a cascade can move on after (allowed: %s)", s, allowedCascadeOn())
}

func allowedCascadeOn() string {
	return CascadeNotSent + ", " + strings.Join(softDeclines, ", ")
}

func parseRule(v any, r *Rule) error {
	m, ok := v.(map[string]any)
	if !ok {
		return invalid("", "must be an object with when and then")
	}
	if err := unknownKey(m, "when", "then"); err != nil {
		return err
	}
	if w := m["when"]; w != nil {
		if err := parseConditions(w, &r.When); err != nil {
			return at(err, "when")
		}
	}
	t := m["then"]
	if t == nil {
		return missing("then", "a rule needs an action: gateway, split or cascade")
	}
	if err := parseAction(t, &r.Then); err != nil {
		return at(err, "then")
	}
	return nil
}

func parseConditions(v any, c *Conditions) error {
	m, ok := v.(map[string]any)
	if !ok {
		return invalid("", "must be an object of conditions")
	}
	if err := unknownKey(m, "amount_min", "amount_max", "currency", "card_brand", "bin_prefix",
		"payment_method_type", "stored_credential_initiator", "metadata"); err != nil {
		return err
	}
	var err error
	if c.AmountMin, err = amount(m, "amount_min"); err != nil {
		return err
	}
	if c.AmountMax, err = amount(m, "amount_max"); err != nil {
		return err
	}
	if c.AmountMin != nil && c.AmountMax != nil && *c.AmountMin > *c.AmountMax {
		return invalid("amount_min", "%d is above amount_max %d, so the rule could never match", *c.AmountMin, *c.AmountMax)
	}
	if c.Currencies, err = condList(m, "currency", func(s string) error {
		if len(s) != 3 || strings.IndexFunc(s, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
			return invalid("", "%q is not a currency code: three upper-case letters, such as EUR", s)
		}
		if _, ok := payment.CurrencyExponent(s); !ok {
			return invalid("", "kassa does not accept the currency %s", s)
		}
		return nil
	}); err != nil {
		return err
	}
	if c.CardBrands, err = condList(m, "card_brand", oneOf("card brand", cardBrands)); err != nil {
		return err
	}
	if c.BINPrefixes, err = condList(m, "bin_prefix", func(s string) error {
		if len(s) < 1 || len(s) > 8 || strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
			return invalid("", "%q is not a BIN prefix: 1 to 8 digits", s)
		}
		return nil
	}); err != nil {
		return err
	}
	if c.PaymentMethodTypes, err = condList(m, "payment_method_type", oneOf("payment method type", paymentMethodTypes)); err != nil {
		return err
	}
	if v := m["stored_credential_initiator"]; v != nil {
		s, ok := v.(string)
		if !ok || (s != InitiatorCardholder && s != InitiatorMerchant) {
			return invalid("stored_credential_initiator", "must be %s or %s", InitiatorCardholder, InitiatorMerchant)
		}
		c.Initiator = s
	}
	if v := m["metadata"]; v != nil {
		md, err := metadata(v)
		if err != nil {
			return at(err, "metadata")
		}
		c.Metadata = md
	}
	return nil
}

func metadata(v any) (map[string]string, error) {
	var m map[string]any
	switch t := v.(type) {
	case map[string]any:
		m = t
	case map[string]string:
		m = make(map[string]any, len(t))
		for k, s := range t {
			m[k] = s
		}
	default:
		return nil, invalid("", "must be an object of key = value pairs")
	}
	if len(m) == 0 {
		return nil, invalid("", "must not be empty; leave it out to match any metadata")
	}
	if len(m) > maxMetadataKeys {
		return nil, invalid("", "holds %d keys; metadata has at most %d", len(m), maxMetadataKeys)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // report the first bad key deterministically
	md := make(map[string]string, len(keys))
	for _, k := range keys {
		if k == "" || len(k) > maxMetadataKeyLen {
			return nil, invalid("", "keys must be 1 to %d characters", maxMetadataKeyLen)
		}
		s, ok := m[k].(string)
		if !ok || s == "" || len(s) > maxMetadataValLen {
			return nil, invalid(k, "must be a string of 1 to %d characters", maxMetadataValLen)
		}
		md[k] = s
	}
	return md, nil
}

func parseAction(v any, a *Action) error {
	m, ok := v.(map[string]any)
	if !ok {
		return invalid("", "must be an object with one of gateway, split or cascade")
	}
	if err := unknownKey(m, "gateway", "split", "cascade"); err != nil {
		return err
	}
	given := ""
	for _, k := range []string{"gateway", "split", "cascade"} {
		if m[k] == nil {
			continue
		}
		if given != "" {
			return invalid(k, "an action is exactly one of gateway, split or cascade, and %s is given already", given)
		}
		given = k
	}
	switch given {
	case "":
		return missing("", "an action needs one of gateway, split or cascade")
	case "gateway":
		id, err := gatewayID(m["gateway"])
		if err != nil {
			return at(err, "gateway")
		}
		a.Gateway = id
	case "split":
		split, err := parseSplit(m["split"])
		if err != nil {
			return at(err, "split")
		}
		a.Split = split
	case "cascade":
		list, err := stringList(m["cascade"], "gateway ids", MaxCascade)
		if err != nil {
			return at(err, "cascade")
		}
		if len(list) == 0 {
			return invalid("cascade", "must list at least one gateway")
		}
		for i, id := range list {
			if id == "" {
				return invalid(index("cascade", i), "must be a gateway id")
			}
		}
		a.Cascade = list
	}
	return nil
}

func parseSplit(v any) ([]Weighted, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, invalid("", "must be a list of {gateway, weight}")
	}
	if len(list) == 0 {
		return nil, invalid("", "must list at least one gateway")
	}
	if len(list) > maxSplit {
		return nil, invalid("", "has %d shares; weights of at least 1 that add up to 100 make at most %d", len(list), maxSplit)
	}
	split := make([]Weighted, len(list))
	total := 0
	for i, v := range list {
		w := &split[i]
		m, ok := v.(map[string]any)
		if !ok {
			return nil, invalid(index("", i), "must be an object with gateway and weight")
		}
		if err := unknownKey(m, "gateway", "weight"); err != nil {
			return nil, at(err, index("", i))
		}
		if m["gateway"] == nil {
			return nil, missing(index("", i)+".gateway", "each share of a split names its gateway")
		}
		id, err := gatewayID(m["gateway"])
		if err != nil {
			return nil, at(err, index("", i)+".gateway")
		}
		if slices.ContainsFunc(split[:i], func(o Weighted) bool { return o.Gateway == id }) {
			return nil, invalid(index("", i)+".gateway", "%s appears twice in the split", id)
		}
		w.Gateway = id
		if m["weight"] == nil {
			return nil, missing(index("", i)+".weight", "each share of a split has a weight in percent")
		}
		n, ok := integer(m["weight"])
		if !ok || n < 1 || n > 100 {
			return nil, invalid(index("", i)+".weight", "must be a whole number of percent from 1 to 100")
		}
		w.Weight = int(n)
		total += w.Weight
	}
	if total != 100 {
		return nil, invalid("", "weights add up to %d; they must add up to 100", total)
	}
	return split, nil
}

func gatewayID(v any) (string, error) {
	s, ok := v.(string)
	if !ok || s == "" {
		return "", invalid("", "must be a gateway id")
	}
	return s, nil
}

// amount reads an optional amount bound.
func amount(m map[string]any, key string) (*int64, error) {
	v := m[key]
	if v == nil {
		return nil, nil
	}
	n, ok := integer(v)
	if !ok || n < 0 || n > payment.MaxAmount {
		return nil, invalid(key, "must be a whole amount in minor units from 0 to %d", payment.MaxAmount)
	}
	return &n, nil
}

// integer reads a whole number however JSON decoding or a Go caller gave it.
func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		f, err := n.Float64() // 1e2 is a whole number too
		if err != nil {
			return 0, false
		}
		return wholeFloat(f)
	case float64:
		return wholeFloat(n)
	case float32:
		return wholeFloat(float64(n))
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint:
		return uintInteger(uint64(n))
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		return uintInteger(n)
	}
	return 0, false
}

func wholeFloat(f float64) (int64, bool) {
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 { // NaN and ±Inf fail too
		return 0, false
	}
	return int64(f), true
}

func uintInteger(n uint64) (int64, bool) {
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

// condList reads an optional list condition: non-empty, no value twice,
// every value passing check.
func condList(m map[string]any, key string, check func(string) error) ([]string, error) {
	v := m[key]
	if v == nil {
		return nil, nil
	}
	list, err := stringList(v, "", maxList)
	if err != nil {
		return nil, at(err, key)
	}
	if len(list) == 0 {
		return nil, invalid(key, "must not be empty; leave it out to match any value")
	}
	for i, s := range list {
		if err := check(s); err != nil {
			return nil, at(err, index(key, i))
		}
	}
	return list, nil
}

// stringList reads a list of at most limit strings with no value twice; what
// names the values in the message when the list is not one.
func stringList(v any, what string, limit int) ([]string, error) {
	if what == "" {
		what = "strings"
	}
	var list []string
	switch l := v.(type) {
	case []string:
		if len(l) > limit {
			return nil, tooLong(len(l), limit)
		}
		list = slices.Clone(l)
	case []any:
		if len(l) > limit {
			return nil, tooLong(len(l), limit)
		}
		list = make([]string, len(l))
		for i, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, invalid(index("", i), "must be a string")
			}
			list[i] = s
		}
	default:
		return nil, invalid("", "must be a list of %s", what)
	}
	// Short lists, the usual ones, are checked without a map.
	var seen map[string]struct{}
	if len(list) > 16 {
		seen = make(map[string]struct{}, len(list))
	}
	for i, s := range list {
		dup := false
		if seen != nil {
			_, dup = seen[s]
			seen[s] = struct{}{}
		} else {
			dup = slices.Contains(list[:i], s)
		}
		if dup {
			return nil, invalid(index("", i), "%q is listed twice", s)
		}
	}
	return list, nil
}

func tooLong(n, limit int) error {
	return invalid("", "lists %d values; at most %d are allowed", n, limit)
}

func oneOf(noun string, allowed []string) func(string) error {
	return func(s string) error {
		if !slices.Contains(allowed, s) {
			return invalid("", "%q is not a %s kassa knows (one of: %s)", s, noun, strings.Join(allowed, ", "))
		}
		return nil
	}
}

// unknownKey refuses the first key of m, in sorted order, that is not one
// of known.
func unknownKey(m map[string]any, known ...string) error {
	bad, found := "", false
	for k := range m {
		if !slices.Contains(known, k) && (!found || k < bad) {
			bad, found = k, true
		}
	}
	if !found {
		return nil
	}
	return &payment.Error{Kind: payment.KindInvalid, Code: payment.CodeParameterUnknown, Param: bad,
		Message: "unknown parameter (known here: " + strings.Join(known, ", ") + ")"}
}

// Errors are made with a Param relative to where they are found, and each
// level on the way up puts its own name in front (at); Parse finally adds
// "settings". Only failing parses pay for building the path.

func invalid(param, format string, args ...any) *payment.Error {
	return payment.Invalid(payment.CodeParameterInvalid, param, format, args...)
}

func missing(param, message string) *payment.Error {
	return &payment.Error{Kind: payment.KindInvalid, Code: payment.CodeParameterMissing, Param: param, Message: message}
}

// at puts prefix in front of err's Param.
func at(err error, prefix string) error {
	e := err.(*payment.Error)
	e.Param = join(prefix, e.Param)
	return e
}

// join joins two parts of a param: "a" and "b" make "a.b", "a" and "[1].b"
// make "a[1].b".
func join(prefix, rest string) string {
	switch {
	case rest == "":
		return prefix
	case prefix == "":
		return rest
	case rest[0] == '[':
		return prefix + rest
	}
	return prefix + "." + rest
}

func index(name string, i int) string {
	return name + "[" + strconv.Itoa(i) + "]"
}

// Gateways returns every gateway id c refers to, each once, in order of
// appearance: the rules' actions top to bottom, then the default.
func (c *Config) Gateways() []string {
	var ids []string
	add := func(id string) {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	action := func(a *Action) {
		if a.Gateway != "" {
			add(a.Gateway)
		}
		for _, w := range a.Split {
			add(w.Gateway)
		}
		for _, id := range a.Cascade {
			add(id)
		}
	}
	for i := range c.Rules {
		action(&c.Rules[i].Then)
	}
	if c.Default != nil {
		action(c.Default)
	}
	return ids
}
