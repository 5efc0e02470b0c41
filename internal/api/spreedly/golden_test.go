package spreedly

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenStep is one request of the golden scenario: its body is built as a
// tree and rendered in the run's format, so the JSON and the XML runs send
// the same request.
type goldenStep struct {
	name   string
	method string
	path   func(s *scenario) string // without the format suffix
	body   func(s *scenario) *node  // nil: no body
	raw    map[format]string        // a literal body per format (malformed input)
	acct   func(s *scenario) *account
	save   func(s *scenario, res response) // reads tokens from the response
	noExt  bool                            // the path takes no format suffix
}

// scenario is the state of one run.
type scenario struct {
	f                        *fixture
	t                        *testing.T
	format                   format
	a, b                     account
	testGW, keyedGW          string
	card, declinedCard, auth string
	purchase, verification   string
	authForVoid              string
}

// tokenIn returns the token of the object root, or of the object inner in
// it, of a response in the run's format.
func (s *scenario) tokenIn(res response, root, inner string) string {
	s.t.Helper()
	if s.format == formatJSON {
		m := res.obj(s.t, root)
		if inner != "" {
			m = m[inner].(map[string]any)
		}
		return m["token"].(string)
	}
	body := string(res.body)
	if inner != "" {
		body = between(body, "<"+inner+">", "</"+inner+">")
	}
	tok := between(body, "<token>", "</token>")
	if tok == "" {
		s.t.Fatalf("no token in %s", res.body)
	}
	return tok
}

func cardNode(number string) *node {
	return object("payment_method",
		object("credit_card", str("first_name", "Kari"), str("last_name", "Nordmann"), str("number", number),
			str("verification_value", cvc), str("month", "12"), integer("year", 2031), str("address1", "Storgata 1"),
			str("city", "Oslo"), str("zip", "0155"), str("country", "NO")),
		str("email", "kari@example.com"),
		object("metadata", str("order", "A-17")),
	)
}

func txnNode(pm string, amount int64) *node {
	return object("transaction", str("payment_method_token", pm), integer("amount", amount), str("currency_code", "USD"),
		str("order_id", "order-1"), str("description", "Two bikes"))
}

var goldenSteps = []goldenStep{
	{name: "gateways_options", method: "GET", path: func(*scenario) string { return "/v1/gateways_options" },
		acct: func(*scenario) *account { return nil }},
	{name: "unauthenticated", method: "GET", path: func(*scenario) string { return "/v1/gateways" },
		acct: func(s *scenario) *account { return &account{env: s.a.env, secret: "sk_test_wrong"} }},
	{name: "gateway_create_test", method: "POST", path: func(*scenario) string { return "/v1/gateways" },
		body: func(*scenario) *node { return object("gateway", str("gateway_type", "test")) },
		save: func(s *scenario, res response) { s.testGW = s.tokenIn(res, "gateway", "") }},
	{name: "gateway_create_keyed", method: "POST", path: func(*scenario) string { return "/v1/gateways" },
		body: func(*scenario) *node {
			return object("gateway", str("gateway_type", "keyed_simulator"), str("merchant_id", credMerchant),
				str("api_key", credAPIKey), str("description", "Main"), str("merchant_profile_key", "mp-1"))
		},
		save: func(s *scenario, res response) { s.keyedGW = s.tokenIn(res, "gateway", "") }},
	{name: "gateway_create_unknown_type", method: "POST", path: func(*scenario) string { return "/v1/gateways" },
		body: func(*scenario) *node { return object("gateway", str("gateway_type", "nope")) }},
	{name: "gateway_create_missing_credential", method: "POST", path: func(*scenario) string { return "/v1/gateways" },
		body: func(*scenario) *node {
			return object("gateway", str("gateway_type", "keyed_simulator"), str("merchant_id", credMerchant))
		}},
	{name: "gateway_create_malformed", method: "POST", path: func(*scenario) string { return "/v1/gateways" },
		raw: map[format]string{formatJSON: `{"gateway":{"gateway_type":"test"`, formatXML: `<gateway><gateway_type>test</gateway_type>`}},
	{name: "gateway_show", method: "GET", path: func(s *scenario) string { return "/v1/gateways/" + s.keyedGW }},
	{name: "gateway_show_unknown", method: "GET", path: func(*scenario) string { return "/v1/gateways/gw_unknown" }},
	{name: "gateway_show_other_account", method: "GET", path: func(s *scenario) string { return "/v1/gateways/" + s.keyedGW },
		acct: func(s *scenario) *account { return &s.b }},
	{name: "gateway_list", method: "GET", path: func(*scenario) string { return "/v1/gateways" }},
	{name: "gateway_update", method: "PUT", path: func(s *scenario) string { return "/v1/gateways/" + s.keyedGW },
		body: func(*scenario) *node {
			return object("gateway", str("description", "Renamed"), str("merchant_id", "merchant-2"), str("api_key", "ak-rotated-secret-0001"))
		}},
	{name: "gateway_redact", method: "PUT", path: func(s *scenario) string { return "/v1/gateways/" + s.keyedGW + "/redact" }},
	{name: "gateway_retain_redacted", method: "PUT", path: func(s *scenario) string { return "/v1/gateways/" + s.keyedGW + "/retain" }},
	{name: "gateway_retain", method: "PUT", path: func(s *scenario) string { return "/v1/gateways/" + s.testGW + "/retain" }},
	{name: "payment_method_create", method: "POST", path: func(*scenario) string { return "/v1/payment_methods" },
		body: func(*scenario) *node { return cardNode(visa) },
		save: func(s *scenario, res response) { s.card = s.tokenIn(res, "transaction", "payment_method") }},
	{name: "payment_method_create_declining", method: "POST", path: func(*scenario) string { return "/v1/payment_methods" },
		body: func(*scenario) *node { return cardNode(visaDecline) },
		save: func(s *scenario, res response) { s.declinedCard = s.tokenIn(res, "transaction", "payment_method") }},
	{name: "payment_method_create_missing_fields", method: "POST", path: func(*scenario) string { return "/v1/payment_methods" },
		body: func(*scenario) *node {
			return object("payment_method", object("credit_card", str("verification_value", cvc)))
		}},
	{name: "payment_method_create_invalid_number", method: "POST", path: func(*scenario) string { return "/v1/payment_methods" },
		body: func(*scenario) *node { return cardNode("4111111111111112") }},
	{name: "payment_method_create_expired", method: "POST", path: func(*scenario) string { return "/v1/payment_methods" },
		body: func(*scenario) *node {
			return object("payment_method", object("credit_card", str("full_name", "Kari Nordmann"), str("number", visa),
				integer("month", 1), integer("year", 2020)))
		}},
	{name: "payment_method_create_real_card", method: "POST", path: func(*scenario) string { return "/v1/payment_methods" },
		body: func(*scenario) *node { return cardNode(realCard) }},
	{name: "payment_method_create_malformed", method: "POST", path: func(*scenario) string { return "/v1/payment_methods" },
		raw: map[format]string{formatJSON: `{"payment_method":[`, formatXML: `<payment_method><credit_card>`}},
	{name: "payment_method_show", method: "GET", path: func(s *scenario) string { return "/v1/payment_methods/" + s.card }},
	{name: "payment_method_show_unknown", method: "GET", path: func(*scenario) string { return "/v1/payment_methods/pm_unknown" }},
	{name: "payment_method_update", method: "PUT", path: func(s *scenario) string { return "/v1/payment_methods/" + s.card },
		body: func(*scenario) *node {
			return object("payment_method", str("first_name", "Ola"), integer("month", 3), str("email", "ola@example.com"))
		}},
	{name: "payment_method_retain", method: "PUT", path: func(s *scenario) string { return "/v1/payment_methods/" + s.card + "/retain" }},
	{name: "payment_method_list", method: "GET", path: func(*scenario) string { return "/v1/payment_methods" }},
	{name: "purchase", method: "POST", path: func(s *scenario) string { return "/v1/gateways/" + s.testGW + "/purchase" },
		body: func(s *scenario) *node { return txnNode(s.card, 1000) },
		save: func(s *scenario, res response) { s.purchase = s.tokenIn(res, "transaction", "") }},
	{name: "purchase_declined", method: "POST", path: func(s *scenario) string { return "/v1/gateways/" + s.testGW + "/purchase" },
		body: func(s *scenario) *node { return txnNode(s.declinedCard, 1000) }},
	{name: "purchase_amount_string", method: "POST", path: func(s *scenario) string { return "/v1/gateways/" + s.testGW + "/purchase" },
		raw: map[format]string{formatJSON: `{"transaction":{"payment_method_token":"pm_x","amount":"100","currency_code":"USD"}}`,
			formatXML: `<transaction><payment_method_token>pm_x</payment_method_token><amount>one hundred</amount><currency_code>USD</currency_code></transaction>`}},
	{name: "purchase_negative_amount", method: "POST", path: func(s *scenario) string { return "/v1/gateways/" + s.testGW + "/purchase" },
		body: func(s *scenario) *node { return txnNode(s.card, -100) }},
	{name: "purchase_unknown_payment_method", method: "POST", path: func(s *scenario) string { return "/v1/gateways/" + s.testGW + "/purchase" },
		body: func(s *scenario) *node { return txnNode("pm_unknown", 100) }},
	{name: "credit", method: "POST", path: func(s *scenario) string { return "/v1/transactions/" + s.purchase + "/credit" },
		body: func(*scenario) *node { return object("transaction", integer("amount", 300)) }},
	{name: "authorize", method: "POST", path: func(s *scenario) string { return "/v1/gateways/" + s.testGW + "/authorize" },
		body: func(s *scenario) *node { return txnNode(s.card, 500) },
		save: func(s *scenario, res response) { s.auth = s.tokenIn(res, "transaction", "") }},
	{name: "capture", method: "POST", path: func(s *scenario) string { return "/v1/transactions/" + s.auth + "/capture" }},
	{name: "void_after_capture", method: "POST", path: func(s *scenario) string { return "/v1/transactions/" + s.auth + "/void" }},
	{name: "authorize_for_void", method: "POST", path: func(s *scenario) string { return "/v1/gateways/" + s.testGW + "/authorize" },
		body: func(s *scenario) *node { return txnNode(s.card, 500) },
		save: func(s *scenario, res response) { s.authForVoid = s.tokenIn(res, "transaction", "") }},
	{name: "void", method: "POST", path: func(s *scenario) string { return "/v1/transactions/" + s.authForVoid + "/void" }},
	{name: "complete_unsupported", method: "POST", path: func(s *scenario) string { return "/v1/transactions/" + s.authForVoid + "/complete" }},
	{name: "verify", method: "POST", path: func(s *scenario) string { return "/v1/gateways/" + s.testGW + "/verify" },
		body: func(s *scenario) *node { return object("transaction", str("payment_method_token", s.card)) },
		save: func(s *scenario, res response) { s.verification = s.tokenIn(res, "transaction", "") }},
	{name: "store", method: "POST", path: func(s *scenario) string { return "/v1/gateways/" + s.testGW + "/store" },
		body: func(s *scenario) *node { return object("transaction", str("payment_method_token", s.card)) }},
	{name: "general_credit", method: "POST", path: func(s *scenario) string { return "/v1/gateways/" + s.testGW + "/general_credit" },
		body: func(s *scenario) *node {
			return object("transaction", str("payment_method_token", s.card), integer("amount", 250), str("currency_code", "EUR"))
		}},
	{name: "transaction_show", method: "GET", path: func(s *scenario) string { return "/v1/transactions/" + s.purchase }},
	{name: "transaction_show_unknown", method: "GET", path: func(*scenario) string { return "/v1/transactions/op_unknown" }},
	{name: "transaction_list", method: "GET", path: func(*scenario) string { return "/v1/transactions" }},
	{name: "transaction_list_desc_since", method: "GET", path: func(s *scenario) string { return "/v1/transactions" }},
	{name: "payment_method_transactions", method: "GET", path: func(s *scenario) string { return "/v1/payment_methods/" + s.declinedCard + "/transactions" }},
	{name: "transcript", method: "GET", noExt: true, path: func(s *scenario) string { return "/v1/transactions/" + s.purchase + "/transcript" }},
	{name: "payment_method_recache", method: "PUT", path: func(s *scenario) string { return "/v1/payment_methods/" + s.card + "/recache" },
		body: func(*scenario) *node {
			return object("payment_method", object("credit_card", str("verification_value", "456")))
		}},
	{name: "payment_method_redact", method: "PUT", path: func(s *scenario) string { return "/v1/payment_methods/" + s.card + "/redact" }},
	{name: "payment_method_recache_redacted", method: "PUT", path: func(s *scenario) string { return "/v1/payment_methods/" + s.card + "/recache" },
		body: func(*scenario) *node {
			return object("payment_method", object("credit_card", str("verification_value", "456")))
		}},
	{name: "route_unknown", method: "GET", path: func(*scenario) string { return "/v1/nothing_here" }},
}

// TestGolden runs the scenario in JSON and in XML and compares every
// response, normalised, with testdata/golden/<step>.<format>.
func TestGolden(t *testing.T) {
	t.Parallel()
	for _, fm := range []format{formatJSON, formatXML} {
		ext := map[format]string{formatJSON: ".json", formatXML: ".xml"}[fm]
		t.Run(strings.TrimPrefix(ext, "."), func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			s := &scenario{f: f, t: t, format: fm, a: f.account(t), b: f.account(t)}
			for _, st := range goldenSteps {
				path := st.path(s)
				if st.name == "transaction_list_desc_since" {
					path += ext + "?order=desc&since_token=" + s.verification
				} else if !st.noExt {
					path += ext
				}
				q := req{method: st.method, path: path, acct: &s.a}
				if st.acct != nil {
					q.acct = st.acct(s)
				}
				if st.body != nil {
					if fm == formatXML {
						q.body = string(renderXML(st.body(s)))
					} else {
						q.body = string(renderJSON(st.body(s)))
					}
				}
				if st.raw != nil {
					q.body = st.raw[fm]
				}
				res := f.do(t, q)
				if st.save != nil {
					st.save(s, res)
				}
				if st.noExt && fm == formatXML {
					continue // one transcript file is enough
				}
				fileExt := ext
				if st.noExt {
					fileExt = ".txt"
				}
				checkGolden(t, filepath.Join("testdata", "golden", st.name+fileExt), res)
			}
		})
	}
}

var (
	idPattern          = regexp.MustCompile(`\b(gw|pm|op|txn|pay|evt)_[0-9A-Za-z]{24}\b`)
	accountPattern     = regexp.MustCompile(`\bT\d{8}\b`)
	timePattern        = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)
	simPattern         = regexp.MustCompile(`\bsim_[0-9a-z]+\b`)
	fingerprintPattern = regexp.MustCompile(`("fingerprint":"|<fingerprint>)[^"<]+`)
	networkIDPattern   = regexp.MustCompile(`("network_transaction_id\\?":\\?")\d+`)
	durationPattern    = regexp.MustCompile(`("duration_ms\\?":)\d+`)
)

// normalise replaces what changes from run to run with placeholders: ids
// numbered by first appearance, account ids, times, gateway references and
// fingerprints.
func normalise(body string) string {
	seen := map[string]string{}
	count := map[string]int{}
	body = idPattern.ReplaceAllStringFunc(body, func(id string) string {
		if p, ok := seen[id]; ok {
			return p
		}
		prefix := id[:strings.IndexByte(id, '_')]
		count[prefix]++
		p := fmt.Sprintf("<%s_%d>", prefix, count[prefix])
		seen[id] = p
		return p
	})
	body = accountPattern.ReplaceAllString(body, "<account>")
	body = timePattern.ReplaceAllString(body, "<time>")
	body = simPattern.ReplaceAllString(body, "<gateway_reference>")
	body = fingerprintPattern.ReplaceAllString(body, "${1}<fingerprint>")
	body = networkIDPattern.ReplaceAllString(body, "${1}<network_id>")
	body = durationPattern.ReplaceAllString(body, "${1}0")
	return body
}

func checkGolden(t *testing.T, file string, res response) {
	t.Helper()
	got := fmt.Sprintf("HTTP %d\nContent-Type: %s\n\n%s", res.status, res.header.Get("Content-Type"), normalise(string(res.body)))
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", file, got, want)
	}
}
