package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/card"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

const (
	testLogin    = "sim-merchant-login"
	testPassword = "s3cr3t-pa55word"
	testCVC      = "482"
	gw           = "gw_test"
)

var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// fixture is a Simulator with a fixed clock and a Sleep that records what
// it was asked and fails when told to, over ledger l (nil: in memory).
type fixture struct {
	*Simulator
	mu       sync.Mutex
	slept    []time.Duration
	sleepErr error
}

func setup(t *testing.T, l Ledger) *fixture {
	t.Helper()
	f := &fixture{}
	f.Simulator = New(Options{
		Ledger: l,
		Now:    func() time.Time { return testNow },
		Sleep: func(ctx context.Context, d time.Duration) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.slept = append(f.slept, d)
			return f.sleepErr
		},
	})
	return f
}

func config(settings map[string]any) gateway.Config {
	return gateway.Config{
		GatewayID:   gw,
		Credentials: map[string]string{"login": testLogin, "password": testPassword},
		Settings:    settings,
	}
}

func testCard(number string) *gateway.Card {
	return &gateway.Card{Number: number, CVC: testCVC, ExpMonth: 12, ExpYear: 2030, Brand: "visa"}
}

var refSeq struct {
	sync.Mutex
	n int
}

func newRef() string {
	refSeq.Lock()
	defer refSeq.Unlock()
	refSeq.n++
	return fmt.Sprintf("op_%06d", refSeq.n)
}

// call runs kind through gateway.Call, as the engine does, and checks the
// transcript of every result.
func (f *fixture) call(t *testing.T, r *gateway.Request) gateway.Result {
	t.Helper()
	if r.Reference == "" {
		r.Reference = newRef()
	}
	if r.Config.GatewayID == "" {
		r.Config = config(r.Config.Settings)
	}
	res, err := gateway.Call(context.Background(), f, r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Kind, r.Reference, err)
	}
	checkTranscript(t, r, res)
	return res
}

func (f *fixture) authorize(t *testing.T, number string, amount int64) gateway.Result {
	t.Helper()
	return f.call(t, &gateway.Request{Kind: payment.OpAuthorize, Amount: amount, Currency: "EUR", Card: testCard(number)})
}

func (f *fixture) purchase(t *testing.T, number string, amount int64) gateway.Result {
	t.Helper()
	return f.call(t, &gateway.Request{Kind: payment.OpPurchase, Amount: amount, Currency: "EUR", Card: testCard(number)})
}

func (f *fixture) followUp(t *testing.T, kind payment.OperationKind, prior string, amount int64) gateway.Result {
	t.Helper()
	return f.call(t, &gateway.Request{Kind: kind, Amount: amount, Currency: "EUR", PriorReference: prior})
}

var cvcAlone = regexp.MustCompile(`(^|[^0-9])` + testCVC + `([^0-9]|$)`)

// checkTranscript checks that res has one synthetic exchange and that no
// card number, CVC or credential appears in it.
func checkTranscript(t *testing.T, r *gateway.Request, res gateway.Result) {
	t.Helper()
	if res.Transcript == nil || len(res.Transcript.Exchanges) != 1 {
		t.Fatalf("%s: transcript %+v", r.Kind, res.Transcript)
	}
	raw, err := json.Marshal(res.Transcript)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	secrets := []string{testLogin, testPassword}
	if r.Card != nil {
		secrets = append(secrets, r.Card.Number)
		if cvcAlone.MatchString(s) {
			t.Errorf("%s: transcript holds the CVC: %s", r.Kind, s)
		}
	}
	for _, secret := range secrets {
		if strings.Contains(s, secret) {
			t.Errorf("%s: transcript holds %q: %s", r.Kind, secret, s)
		}
	}
	ex := res.Transcript.Exchanges[0]
	if ex.Method != "POST" || !strings.HasPrefix(ex.URL, "simulator://"+r.Config.GatewayID+"/") || !ex.StartedAt.Equal(testNow) {
		t.Errorf("%s: exchange %+v", r.Kind, ex)
	}
	if ex.RequestHeaders["Authorization"] != gateway.Filtered {
		t.Errorf("%s: Authorization header %q", r.Kind, ex.RequestHeaders["Authorization"])
	}
	if r.Card == nil || strings.HasSuffix(ex.URL, "/status") {
		return
	}
	digits, _ := card.Normalize(r.Card.Number)
	if len(digits) >= 14 && !strings.Contains(ex.RequestBody, digits[:6]+"…"+digits[len(digits)-4:]) {
		t.Errorf("%s: request body lacks the masked card: %s", r.Kind, ex.RequestBody)
	}
	if r.Card.CVC != "" && !strings.Contains(ex.RequestBody, `"cvc":"[FILTERED]"`) {
		t.Errorf("%s: request body does not show the CVC masked: %s", r.Kind, ex.RequestBody)
	}
}

func want(t *testing.T, what string, res gateway.Result, outcome payment.Outcome, code string) {
	t.Helper()
	if res.Outcome != outcome || res.DeclineCode != code {
		t.Errorf("%s: outcome %q code %q (%s), want %q %q", what, res.Outcome, res.DeclineCode, res.Message, outcome, code)
	}
}

func TestSpec(t *testing.T) {
	t.Parallel()
	s := New(Options{}).Spec()
	if s.Type != "simulator" || s.DisplayName != "kassa simulator" || !s.TestOnly || s.Notifications {
		t.Errorf("spec = %+v", s)
	}
	for _, k := range payment.OperationKinds {
		if !s.Supports(k) {
			t.Errorf("spec does not list %s", k)
		}
	}
	fields := func(fs []gateway.Field) map[string]gateway.Field {
		m := map[string]gateway.Field{}
		for _, f := range fs {
			m[f.Name] = f
		}
		return m
	}
	creds := fields(s.CredentialFields)
	if len(creds) != 2 || !creds["login"].Sensitive || !creds["password"].Sensitive || creds["login"].Required || creds["password"].Required {
		t.Errorf("credential fields = %+v", s.CredentialFields)
	}
	set := fields(s.SettingsFields)
	if len(set) != 2 || set["latency_ms"].Kind != gateway.KindInteger || set["outage"].Kind != gateway.KindBoolean {
		t.Errorf("settings fields = %+v", s.SettingsFields)
	}
	gsf := fields(s.GatewaySpecificFields)
	if len(gsf) != 2 || gsf["simulate_decline"].Kind != gateway.KindBoolean || gsf["simulate_error"].Kind != gateway.KindBoolean {
		t.Errorf("gateway-specific fields = %+v", s.GatewaySpecificFields)
	}
	if len(s.PaymentMethodTypes) != 1 || s.PaymentMethodTypes[0] != "card" || s.Currencies == nil || len(s.Currencies) != 0 {
		t.Errorf("spec = %+v", s)
	}
	// The spec is the caller's to change.
	s.Operations[0] = "x"
	if New(Options{}).Spec().Operations[0] == "x" || payment.OperationKinds[0] == "x" {
		t.Error("Spec shares its operations slice")
	}
	r := gateway.NewRegistry(New(Options{}))
	if a, ok := r.Lookup("simulator"); !ok || a.Spec().Type != Type {
		t.Error("registry lookup failed")
	}
}

// The simulator reference's card table, every row.
var cardTable = []struct {
	number  string
	outcome payment.Outcome // of authorize and purchase
	code    string
}{
	{"4111111111111111", payment.OutcomeSucceeded, ""},
	{"4242424242424242", payment.OutcomeSucceeded, ""},
	{"4444333322221111455", payment.OutcomeSucceeded, ""},
	{"5555555555554444", payment.OutcomeSucceeded, ""},
	{"2223003122003222", payment.OutcomeSucceeded, ""},
	{"378282246310005", payment.OutcomeSucceeded, ""},
	{"6011111111111117", payment.OutcomeSucceeded, ""},
	{"30569309025904", payment.OutcomeSucceeded, ""},
	{"3569990010030400", payment.OutcomeSucceeded, ""},
	{"6759000000000000005", payment.OutcomeSucceeded, ""},
	{"4000000000000002", payment.OutcomeSucceeded, ""},
	{"5200000000000007", payment.OutcomeSucceeded, ""},
	{"4012888888881881", payment.OutcomeDeclined, "card_declined"},
	{"4917610000000000003", payment.OutcomeDeclined, "card_declined"},
	{"5105105105105100", payment.OutcomeDeclined, "card_declined"},
	{"2720992720992729", payment.OutcomeDeclined, "card_declined"},
	{"371449635398431", payment.OutcomeDeclined, "card_declined"},
	{"6011000990139424", payment.OutcomeDeclined, "card_declined"},
	{"30207712915383", payment.OutcomeDeclined, "card_declined"},
	{"3528327757705979", payment.OutcomeDeclined, "card_declined"},
	{"6799990100000000019", payment.OutcomeDeclined, "card_declined"},
	{"4000000000009995", payment.OutcomeDeclined, "insufficient_funds"},
	{"4000000000009987", payment.OutcomeDeclined, "lost_card"},
	{"4000000000009979", payment.OutcomeDeclined, "stolen_card"},
	{"4100000000000076", payment.OutcomeDeclined, "authentication_required"},
	{"4100000000000001", payment.OutcomeUnknown, ""},
	{"5100000000000008", payment.OutcomeUnknown, ""},
	// The follow-up cards authorize normally.
	{"4100000000000019", payment.OutcomeSucceeded, ""},
	{"5100000000000016", payment.OutcomeSucceeded, ""},
	{"4100000000000027", payment.OutcomeSucceeded, ""},
	{"5100000000000024", payment.OutcomeSucceeded, ""},
	{"4100000000000043", payment.OutcomeSucceeded, ""},
	{"5100000000000040", payment.OutcomeSucceeded, ""},
	// Any other valid number.
	{"4539148803436467", payment.OutcomeSucceeded, ""},
	{"4929000000006", payment.OutcomeSucceeded, ""},
	{"5425233430109903", payment.OutcomeSucceeded, ""},
	// Invalid numbers.
	{"4111111111111112", payment.OutcomeFailed, payment.CodeInvalidNumber},
	{"411111111111", payment.OutcomeFailed, payment.CodeInvalidNumber},
}

func TestCardTable(t *testing.T) {
	t.Parallel()
	forEachLedger(t, func(t *testing.T, open func(*testing.T) Ledger) {
		f := setup(t, open(t))
		for _, tc := range cardTable {
			for _, kind := range []payment.OperationKind{payment.OpAuthorize, payment.OpPurchase} {
				r := &gateway.Request{Kind: kind, Amount: 1000, Currency: "EUR", Card: testCard(tc.number)}
				res := f.call(t, r)
				want(t, string(kind)+" "+tc.number, res, tc.outcome, tc.code)
				switch res.Outcome {
				case payment.OutcomeSucceeded:
					if !strings.HasPrefix(res.GatewayReference, "sim_") || len(res.NetworkTransactionID) != 15 ||
						res.AVSCode != "Y" || res.CVVCode != "M" || res.ResponseCode != "00" {
						t.Errorf("%s %s: result %+v", kind, tc.number, res)
					}
				case payment.OutcomeDeclined:
					if res.GatewayReference == "" || res.NetworkTransactionID != "" || res.ResponseCode == "" || res.Message == "" {
						t.Errorf("%s %s: result %+v", kind, tc.number, res)
					}
				case payment.OutcomeUnknown:
					if res.GatewayReference != "" || res.NetworkTransactionID != "" {
						t.Errorf("%s %s: a lost response carries %+v", kind, tc.number, res)
					}
				}
			}
			// Verify and credit follow the declines; only authorize and
			// purchase lose their response.
			verifyWant, creditWant := tc.outcome, tc.outcome
			if tc.outcome == payment.OutcomeUnknown {
				verifyWant, creditWant = payment.OutcomeSucceeded, payment.OutcomeSucceeded
			}
			res := f.call(t, &gateway.Request{Kind: payment.OpVerify, Card: testCard(tc.number)})
			want(t, "verify "+tc.number, res, verifyWant, tc.code)
			res = f.call(t, &gateway.Request{Kind: payment.OpCredit, Amount: 500, Currency: "EUR", Card: testCard(tc.number)})
			want(t, "credit "+tc.number, res, creditWant, tc.code)
			// Store only checks the card.
			res = f.call(t, &gateway.Request{Kind: payment.OpStore, Card: testCard(tc.number)})
			if tc.code == payment.CodeInvalidNumber {
				want(t, "store "+tc.number, res, payment.OutcomeFailed, payment.CodeInvalidNumber)
			} else {
				want(t, "store "+tc.number, res, payment.OutcomeSucceeded, "")
				if res.GatewayReference == "" {
					t.Errorf("store %s: no gateway reference", tc.number)
				}
			}
		}
	})
}

func TestCardChecks(t *testing.T) {
	t.Parallel()
	forEachLedger(t, func(t *testing.T, open func(*testing.T) Ledger) {
		f := setup(t, open(t))
		expired := testCard("4111111111111111")
		expired.ExpMonth, expired.ExpYear = 5, 2026 // testNow is in June 2026
		res := f.call(t, &gateway.Request{Kind: payment.OpAuthorize, Amount: 1000, Currency: "EUR", Card: expired})
		want(t, "expired card", res, payment.OutcomeDeclined, "expired_card")

		bad := testCard("4111111111111111")
		bad.ExpMonth = 13
		res = f.call(t, &gateway.Request{Kind: payment.OpAuthorize, Amount: 1000, Currency: "EUR", Card: bad})
		want(t, "bad expiry month", res, payment.OutcomeFailed, payment.CodeInvalidExpiryMonth)

		noCVC := testCard("4111 1111 1111 1111")
		noCVC.CVC = ""
		res = f.call(t, &gateway.Request{Kind: payment.OpAuthorize, Amount: 1000, Currency: "EUR", Card: noCVC})
		want(t, "spaced number without CVC", res, payment.OutcomeSucceeded, "")
		if res.CVVCode != "P" {
			t.Errorf("CVV code without a CVC = %q", res.CVVCode)
		}

		res = f.call(t, &gateway.Request{Kind: payment.OpAuthorize, Amount: 0, Currency: "EUR", Card: testCard("4111111111111111")})
		want(t, "zero amount", res, payment.OutcomeFailed, "invalid_amount")
		res = f.call(t, &gateway.Request{Kind: payment.OpPurchase, Amount: 100, Card: testCard("4111111111111111")})
		want(t, "no currency", res, payment.OutcomeFailed, "invalid_currency")

		// A request without a card is a programming error.
		if _, err := f.Authorize(context.Background(), &gateway.Request{Config: config(nil), Reference: newRef(), Amount: 1}); err == nil {
			t.Error("authorize without a card: no error")
		}
	})
}

func TestByRequest(t *testing.T) {
	t.Parallel()
	forEachLedger(t, func(t *testing.T, open func(*testing.T) Ledger) {
		f := setup(t, open(t))
		tests := []struct {
			name    string
			amount  int64
			fields  map[string]any
			outcome payment.Outcome
			code    string
		}{
			{"minor part 05", 1005, nil, payment.OutcomeDeclined, "do_not_honor"},
			{"minor part 05, small", 5, nil, payment.OutcomeDeclined, "do_not_honor"},
			{"minor part 13", 1013, nil, payment.OutcomeNotSent, ""},
			{"minor part 50", 1050, nil, payment.OutcomeSucceeded, ""},
			{"simulate_decline", 1000, map[string]any{"simulate_decline": true}, payment.OutcomeDeclined, "card_declined"},
			{"simulate_decline as text", 1000, map[string]any{"simulate_decline": "true"}, payment.OutcomeDeclined, "card_declined"},
			{"simulate_decline false", 1000, map[string]any{"simulate_decline": false}, payment.OutcomeSucceeded, ""},
			{"simulate_error", 1000, map[string]any{"simulate_error": true}, payment.OutcomeFailed, "processing_error"},
			{"simulate_error wins", 1000, map[string]any{"simulate_error": "true", "simulate_decline": true}, payment.OutcomeFailed, "processing_error"},
		}
		for _, tt := range tests {
			for _, kind := range []payment.OperationKind{payment.OpAuthorize, payment.OpPurchase, payment.OpCredit} {
				r := &gateway.Request{Kind: kind, Amount: tt.amount, Currency: "EUR", Card: testCard("4111111111111111"),
					GatewaySpecificFields: tt.fields}
				res := f.call(t, r)
				want(t, tt.name+" "+string(kind), res, tt.outcome, tt.code)
				_, err := f.QueryStatus(context.Background(), r)
				if tt.outcome == payment.OutcomeNotSent {
					if !errors.Is(err, gateway.ErrReferenceNotFound) {
						t.Errorf("%s: a request not sent is known to the gateway (%v)", tt.name, err)
					}
					if res.Transcript.Exchanges[0].Error == "" || res.Transcript.Exchanges[0].Status != 0 {
						t.Errorf("%s: exchange %+v", tt.name, res.Transcript.Exchanges[0])
					}
				} else if err != nil {
					t.Errorf("%s: QueryStatus: %v", tt.name, err)
				}
			}
		}

		// The amount rules apply to follow-ups too.
		auth := f.authorize(t, "4111111111111111", 10000)
		want(t, "capture 05", f.followUp(t, payment.OpCapture, auth.GatewayReference, 1005), payment.OutcomeDeclined, "do_not_honor")
		want(t, "capture 13", f.followUp(t, payment.OpCapture, auth.GatewayReference, 1013), payment.OutcomeNotSent, "")
		want(t, "capture", f.followUp(t, payment.OpCapture, auth.GatewayReference, 5000), payment.OutcomeSucceeded, "")
		want(t, "refund 05", f.followUp(t, payment.OpRefund, auth.GatewayReference, 105), payment.OutcomeDeclined, "do_not_honor")
		want(t, "refund 13", f.followUp(t, payment.OpRefund, auth.GatewayReference, 113), payment.OutcomeNotSent, "")
		// Neither moved money: all 5000 can still be refunded.
		want(t, "refund all", f.followUp(t, payment.OpRefund, auth.GatewayReference, 5000), payment.OutcomeSucceeded, "")
		// A void has no amount of its own.
		auth = f.authorize(t, "4111111111111111", 10000)
		want(t, "void", f.followUp(t, payment.OpVoid, auth.GatewayReference, 1013), payment.OutcomeSucceeded, "")
		// A verification only when it has an amount.
		res := f.call(t, &gateway.Request{Kind: payment.OpVerify, Amount: 105, Currency: "EUR", Card: testCard("4111111111111111")})
		want(t, "verify 105", res, payment.OutcomeDeclined, "do_not_honor")
	})
}

func TestLedger(t *testing.T) {
	t.Parallel()
	const number = "4111111111111111"
	type step struct {
		kind    payment.OperationKind
		amount  int64
		outcome payment.Outcome
		code    string
	}
	cap_ := func(a int64, o payment.Outcome, code string) step { return step{payment.OpCapture, a, o, code} }
	ref := func(a int64, o payment.Outcome, code string) step { return step{payment.OpRefund, a, o, code} }
	void := func(o payment.Outcome, code string) step { return step{payment.OpVoid, 0, o, code} }
	ok := payment.OutcomeSucceeded
	fail := payment.OutcomeFailed
	tests := []struct {
		name     string
		purchase bool
		steps    []step
	}{
		{"partial and multiple captures", false, []step{
			cap_(3000, ok, ""), cap_(6000, ok, ""), cap_(1000, ok, ""), cap_(1, fail, "already_captured")}},
		{"over-capture", false, []step{
			cap_(10001, fail, "amount_exceeds_authorized"), cap_(6000, ok, ""),
			cap_(4001, fail, "amount_exceeds_authorized"), cap_(4000, ok, "")}},
		{"zero capture", false, []step{cap_(0, fail, "invalid_amount")}},
		{"refund over captured", false, []step{
			cap_(4000, ok, ""), ref(4001, fail, "amount_exceeds_captured"), ref(1500, ok, ""),
			ref(2501, fail, "amount_exceeds_captured"), ref(2500, ok, ""), ref(1, fail, "amount_exceeds_captured")}},
		{"refund before capture", false, []step{ref(100, fail, "amount_exceeds_captured")}},
		{"capture after void", false, []step{void(ok, ""), cap_(100, fail, "already_voided")}},
		{"void twice", false, []step{void(ok, ""), void(fail, "already_voided")}},
		{"void after full capture", false, []step{cap_(10000, ok, ""), void(fail, "already_captured")}},
		{"void after partial capture", false, []step{
			cap_(2500, ok, ""), void(ok, ""), cap_(100, fail, "already_voided"),
			ref(2500, ok, ""), ref(1, fail, "amount_exceeds_captured")}},
		{"purchase", true, []step{
			cap_(100, fail, "already_captured"), void(fail, "already_captured"),
			ref(6000, ok, ""), ref(4000, ok, ""), ref(1, fail, "amount_exceeds_captured")}},
	}
	forEachLedger(t, func(t *testing.T, open func(*testing.T) Ledger) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				f := setup(t, open(t))
				var auth gateway.Result
				if tt.purchase {
					auth = f.purchase(t, number, 10000)
				} else {
					auth = f.authorize(t, number, 10000)
				}
				for i, s := range tt.steps {
					res := f.followUp(t, s.kind, auth.GatewayReference, s.amount)
					want(t, fmt.Sprintf("step %d: %s %d", i, s.kind, s.amount), res, s.outcome, s.code)
					if res.Outcome == ok && (res.GatewayReference == "" || res.GatewayReference == auth.GatewayReference) {
						t.Errorf("step %d: gateway reference %q", i, res.GatewayReference)
					}
				}
			})
		}
	})
}

func TestLedgerReferences(t *testing.T) {
	t.Parallel()
	forEachLedger(t, func(t *testing.T, open func(*testing.T) Ledger) {
		f := setup(t, open(t))
		want(t, "unknown prior", f.followUp(t, payment.OpCapture, "sim_nope", 100), payment.OutcomeFailed, "invalid_reference")
		want(t, "no prior", f.followUp(t, payment.OpRefund, "", 100), payment.OutcomeFailed, "invalid_reference")

		declined := f.authorize(t, "4012888888881881", 1000)
		want(t, "capture of a decline", f.followUp(t, payment.OpCapture, declined.GatewayReference, 100), payment.OutcomeFailed, "invalid_reference")

		stored := f.call(t, &gateway.Request{Kind: payment.OpStore, Card: testCard("4111111111111111")})
		want(t, "capture of a stored card", f.followUp(t, payment.OpCapture, stored.GatewayReference, 100), payment.OutcomeFailed, "invalid_reference")

		auth := f.authorize(t, "4111111111111111", 1000)
		// Another gateway does not know this gateway's authorization.
		other := config(nil)
		other.GatewayID = "gw_other"
		res := f.call(t, &gateway.Request{Kind: payment.OpCapture, Config: other, Amount: 100, Currency: "EUR", PriorReference: auth.GatewayReference})
		want(t, "capture on another gateway", res, payment.OutcomeFailed, "invalid_reference")

		res = f.call(t, &gateway.Request{Kind: payment.OpCapture, Amount: 100, Currency: "USD", PriorReference: auth.GatewayReference})
		want(t, "capture in another currency", res, payment.OutcomeFailed, "currency_mismatch")
		// A follow-up may leave the currency out.
		res = f.call(t, &gateway.Request{Kind: payment.OpCapture, Amount: 100, PriorReference: auth.GatewayReference})
		want(t, "capture without currency", res, payment.OutcomeSucceeded, "")
	})
}

func TestIdempotentRepeat(t *testing.T) {
	t.Parallel()
	forEachLedger(t, func(t *testing.T, open func(*testing.T) Ledger) {
		f := setup(t, open(t))
		auth := &gateway.Request{Kind: payment.OpAuthorize, Reference: newRef(), Amount: 10000, Currency: "EUR", Card: testCard("4111111111111111")}
		first := f.call(t, auth)
		again := f.call(t, auth)
		if first.GatewayReference == "" || again.GatewayReference != first.GatewayReference ||
			again.NetworkTransactionID != first.NetworkTransactionID || again.Outcome != first.Outcome {
			t.Errorf("repeat = %+v, first %+v", again, first)
		}

		capture := &gateway.Request{Kind: payment.OpCapture, Reference: newRef(), Amount: 6000, Currency: "EUR", PriorReference: first.GatewayReference}
		c1 := f.call(t, capture)
		c2 := f.call(t, capture)
		want(t, "capture", c1, payment.OutcomeSucceeded, "")
		if c2.GatewayReference != c1.GatewayReference || c2.Outcome != c1.Outcome {
			t.Errorf("repeated capture = %+v, first %+v", c2, c1)
		}
		// Captured once: 4000 remain.
		want(t, "capture the rest", f.followUp(t, payment.OpCapture, first.GatewayReference, 4000), payment.OutcomeSucceeded, "")

		// A failure repeats as it was, even once the ledger would allow it.
		over := &gateway.Request{Kind: payment.OpRefund, Reference: newRef(), Amount: 10001, Currency: "EUR", PriorReference: first.GatewayReference}
		want(t, "over-refund", f.call(t, over), payment.OutcomeFailed, "amount_exceeds_captured")
		want(t, "over-refund again", f.call(t, over), payment.OutcomeFailed, "amount_exceeds_captured")

		declined := &gateway.Request{Kind: payment.OpPurchase, Reference: newRef(), Amount: 1000, Currency: "EUR", Card: testCard("4000000000009995")}
		d1, d2 := f.call(t, declined), f.call(t, declined)
		if d1.Outcome != payment.OutcomeDeclined || d2.GatewayReference != d1.GatewayReference || d2.DeclineCode != d1.DeclineCode {
			t.Errorf("repeated decline = %+v, first %+v", d2, d1)
		}

		// The same reference for another request is refused, and acts on
		// nothing.
		other := *capture
		other.Amount = 100
		want(t, "reference reused", f.call(t, &other), payment.OutcomeFailed, payment.CodeIdempotencyMismatch)
		other = *capture
		other.Kind = payment.OpRefund
		want(t, "reference reused for another kind", f.call(t, &other), payment.OutcomeFailed, payment.CodeIdempotencyMismatch)
		want(t, "first capture still stands", f.call(t, capture), payment.OutcomeSucceeded, "")
	})
}

func TestLostResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		number string
		lost   payment.OperationKind
	}{
		{"4100000000000001", payment.OpAuthorize},
		{"5100000000000008", payment.OpAuthorize},
		{"4100000000000001", payment.OpPurchase},
		{"4100000000000019", payment.OpCapture},
		{"5100000000000016", payment.OpCapture},
		{"4100000000000027", payment.OpRefund},
		{"5100000000000024", payment.OpRefund},
		{"4100000000000043", payment.OpVoid},
		{"5100000000000040", payment.OpVoid},
	}
	forEachLedger(t, func(t *testing.T, open func(*testing.T) Ledger) {
		for _, tt := range tests {
			t.Run(string(tt.lost)+" "+tt.number, func(t *testing.T) {
				t.Parallel()
				f := setup(t, open(t))
				kind := payment.OpAuthorize
				if tt.lost == payment.OpPurchase {
					kind = payment.OpPurchase
				}
				first := &gateway.Request{Kind: kind, Reference: newRef(), Amount: 10000, Currency: "EUR", Card: testCard(tt.number)}
				lost := first
				if tt.lost != payment.OpAuthorize && tt.lost != payment.OpPurchase {
					auth := f.call(t, first)
					want(t, "authorize", auth, payment.OutcomeSucceeded, "")
					if tt.lost == payment.OpRefund {
						want(t, "capture", f.followUp(t, payment.OpCapture, auth.GatewayReference, 10000), payment.OutcomeSucceeded, "")
					}
					lost = &gateway.Request{Kind: tt.lost, Reference: newRef(), Amount: 10000, Currency: "EUR", PriorReference: auth.GatewayReference}
				}

				res := f.call(t, lost)
				want(t, "lost "+string(tt.lost), res, payment.OutcomeUnknown, "")
				if res.GatewayReference != "" || res.Transcript.Exchanges[0].Status != 0 || res.Transcript.Exchanges[0].Error == "" {
					t.Errorf("lost response = %+v, exchange %+v", res, res.Transcript.Exchanges[0])
				}

				// The reconciler asks: it happened.
				q, err := f.QueryStatus(context.Background(), lost)
				if err != nil {
					t.Fatalf("QueryStatus: %v", err)
				}
				checkTranscript(t, lost, q)
				want(t, "status", q, payment.OutcomeSucceeded, "")
				if q.GatewayReference == "" {
					t.Error("status has no gateway reference")
				}
				// A repeat returns the now-known success and does not act again.
				again := f.call(t, lost)
				want(t, "repeat", again, payment.OutcomeSucceeded, "")
				if again.GatewayReference != q.GatewayReference {
					t.Errorf("repeat reference %q, status said %q", again.GatewayReference, q.GatewayReference)
				}

				// The ledger moved once.
				switch tt.lost {
				case payment.OpAuthorize:
					want(t, "capture all", f.followUp(t, payment.OpCapture, q.GatewayReference, 10000), payment.OutcomeSucceeded, "")
				case payment.OpPurchase:
					want(t, "refund all", f.followUp(t, payment.OpRefund, q.GatewayReference, 10000), payment.OutcomeSucceeded, "")
				case payment.OpCapture:
					want(t, "capture more", f.followUp(t, payment.OpCapture, lost.PriorReference, 1), payment.OutcomeFailed, "already_captured")
				case payment.OpRefund:
					want(t, "refund more", f.followUp(t, payment.OpRefund, lost.PriorReference, 1), payment.OutcomeFailed, "amount_exceeds_captured")
				case payment.OpVoid:
					want(t, "capture after void", f.followUp(t, payment.OpCapture, lost.PriorReference, 1), payment.OutcomeFailed, "already_voided")
				}
				// Every new operation of the class loses its response again.
				switch tt.lost {
				case payment.OpAuthorize, payment.OpPurchase:
					want(t, "new authorization", f.authorize(t, tt.number, 500), payment.OutcomeUnknown, "")
				case payment.OpRefund:
					auth := f.purchase(t, tt.number, 500)
					want(t, "new refund", f.followUp(t, payment.OpRefund, auth.GatewayReference, 100), payment.OutcomeUnknown, "")
					want(t, "another refund", f.followUp(t, payment.OpRefund, auth.GatewayReference, 100), payment.OutcomeUnknown, "")
				}
			})
		}
	})
}

func TestQueryStatus(t *testing.T) {
	t.Parallel()
	forEachLedger(t, func(t *testing.T, open func(*testing.T) Ledger) {
		f := setup(t, open(t))
		ok := &gateway.Request{Kind: payment.OpAuthorize, Reference: newRef(), Amount: 1000, Currency: "EUR", Card: testCard("4111111111111111")}
		res := f.call(t, ok)
		q, err := f.QueryStatus(context.Background(), ok)
		if err != nil || q.Outcome != payment.OutcomeSucceeded || q.GatewayReference != res.GatewayReference || q.NetworkTransactionID != res.NetworkTransactionID {
			t.Errorf("QueryStatus = %+v, %v; result was %+v", q, err, res)
		}
		if !strings.HasSuffix(q.Transcript.Exchanges[0].URL, "/status") {
			t.Errorf("status URL %q", q.Transcript.Exchanges[0].URL)
		}

		dec := &gateway.Request{Kind: payment.OpAuthorize, Reference: newRef(), Amount: 1000, Currency: "EUR", Card: testCard("4000000000009987")}
		f.call(t, dec)
		q, err = f.QueryStatus(context.Background(), dec)
		if err != nil {
			t.Fatal(err)
		}
		want(t, "status of a decline", q, payment.OutcomeDeclined, "lost_card")

		failed := &gateway.Request{Kind: payment.OpCapture, Reference: newRef(), Amount: 1000, Currency: "EUR", PriorReference: "sim_x"}
		f.call(t, failed)
		q, err = f.QueryStatus(context.Background(), failed)
		if err != nil {
			t.Fatal(err)
		}
		want(t, "status of a failure", q, payment.OutcomeFailed, "invalid_reference")

		_, err = f.QueryStatus(context.Background(), &gateway.Request{Config: config(nil), Reference: "op_never", Kind: payment.OpAuthorize})
		if !errors.Is(err, gateway.ErrReferenceNotFound) {
			t.Errorf("QueryStatus of an unknown reference: %v", err)
		}
		// References are per gateway.
		other := *ok
		other.Config.GatewayID = "gw_other"
		if _, err := f.QueryStatus(context.Background(), &other); !errors.Is(err, gateway.ErrReferenceNotFound) {
			t.Errorf("QueryStatus on another gateway: %v", err)
		}
	})
}

func TestOutage(t *testing.T) {
	t.Parallel()
	forEachLedger(t, func(t *testing.T, open func(*testing.T) Ledger) {
		f := setup(t, open(t))
		auth := f.authorize(t, "4111111111111111", 10000)
		down := map[string]any{"outage": true}
		reqs := []*gateway.Request{
			{Kind: payment.OpAuthorize, Amount: 1000, Currency: "EUR", Card: testCard("4111111111111111")},
			{Kind: payment.OpPurchase, Amount: 1000, Currency: "EUR", Card: testCard("4100000000000001")},
			{Kind: payment.OpVerify, Card: testCard("4111111111111111")},
			{Kind: payment.OpCredit, Amount: 1000, Currency: "EUR", Card: testCard("4111111111111111")},
			{Kind: payment.OpStore, Card: testCard("4111111111111111")},
			{Kind: payment.OpCapture, Amount: 10000, Currency: "EUR", PriorReference: auth.GatewayReference},
			{Kind: payment.OpRefund, Amount: 1, Currency: "EUR", PriorReference: auth.GatewayReference},
			{Kind: payment.OpVoid, PriorReference: auth.GatewayReference},
		}
		for _, r := range reqs {
			r.Config = config(down)
			res := f.call(t, r)
			want(t, "outage "+string(r.Kind), res, payment.OutcomeNotSent, "")
			// While it is down the gateway cannot say; once it is up, it never
			// saw the request.
			q, err := f.QueryStatus(context.Background(), r)
			if err != nil || q.Outcome != payment.OutcomeUnknown {
				t.Errorf("QueryStatus during an outage = %+v, %v", q, err)
			}
			up := *r
			up.Config = config(map[string]any{"outage": false})
			if _, err := f.QueryStatus(context.Background(), &up); !errors.Is(err, gateway.ErrReferenceNotFound) {
				t.Errorf("%s during an outage was recorded (%v)", r.Kind, err)
			}
		}
		// Nothing was captured.
		want(t, "capture after the outage", f.followUp(t, payment.OpCapture, auth.GatewayReference, 10000), payment.OutcomeSucceeded, "")

		err := f.CheckCredentials(context.Background(), config(down))
		if err == nil {
			t.Error("CheckCredentials during an outage succeeded")
		} else if _, ok := payment.AsError(err); ok {
			t.Errorf("CheckCredentials during an outage says the credentials are bad: %v", err)
		}
	})
}

func TestLatency(t *testing.T) {
	t.Parallel()
	for _, v := range []any{250, int64(250), float64(250), json.Number("250"), "250"} {
		f := setup(t, nil)
		set := map[string]any{"latency_ms": v}
		r := &gateway.Request{Kind: payment.OpAuthorize, Config: config(set), Amount: 1000, Currency: "EUR", Card: testCard("4111111111111111")}
		want(t, fmt.Sprintf("latency %T", v), f.call(t, r), payment.OutcomeSucceeded, "")
		if _, err := f.QueryStatus(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if err := f.CheckCredentials(context.Background(), config(set)); err != nil {
			t.Fatal(err)
		}
		if len(f.slept) != 3 || f.slept[0] != 250*time.Millisecond || f.slept[1] != f.slept[0] || f.slept[2] != f.slept[0] {
			t.Errorf("latency_ms %T: slept %v", v, f.slept)
		}
	}

	// No latency, no sleep.
	f := setup(t, nil)
	f.authorize(t, "4111111111111111", 1000)
	if len(f.slept) != 0 {
		t.Errorf("slept %v without latency", f.slept)
	}

	// The context ends during the latency: the request never arrived.
	f.sleepErr = context.DeadlineExceeded
	set := map[string]any{"latency_ms": 5000}
	auth := f.authorize(t, "4111111111111111", 1000)
	r := &gateway.Request{Kind: payment.OpCapture, Config: config(set), Amount: 1000, Currency: "EUR", PriorReference: auth.GatewayReference}
	want(t, "timed out capture", f.call(t, r), payment.OutcomeNotSent, "")
	q, err := f.QueryStatus(context.Background(), r)
	if err != nil || q.Outcome != payment.OutcomeUnknown {
		t.Errorf("QueryStatus timing out = %+v, %v", q, err)
	}
	if err := f.CheckCredentials(context.Background(), config(set)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("CheckCredentials timing out: %v", err)
	}
	f.sleepErr = nil
	r.Config = config(nil)
	if _, err := f.QueryStatus(context.Background(), r); !errors.Is(err, gateway.ErrReferenceNotFound) {
		t.Errorf("a capture that timed out before arriving was recorded (%v)", err)
	}
	want(t, "capture", f.followUp(t, payment.OpCapture, auth.GatewayReference, 1000), payment.OutcomeSucceeded, "")
}

func TestRealSleepHonoursContext(t *testing.T) {
	t.Parallel()
	s := New(Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := s.Authorize(ctx, &gateway.Request{Config: config(map[string]any{"latency_ms": 60_000}), Reference: newRef(),
		Amount: 1000, Currency: "EUR", Card: testCard("4111111111111111")})
	if err != nil || res.Outcome != payment.OutcomeNotSent {
		t.Errorf("Authorize = %+v, %v", res, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Authorize took %v", d)
	}
	res, err = s.Authorize(context.Background(), &gateway.Request{Config: config(map[string]any{"latency_ms": 1}), Reference: newRef(),
		Amount: 1000, Currency: "EUR", Card: testCard("4111111111111111")})
	if err != nil || res.Outcome != payment.OutcomeSucceeded {
		t.Errorf("Authorize = %+v, %v", res, err)
	}
	// A context already ended is not sent even without latency.
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	res, err = s.Authorize(done, &gateway.Request{Config: config(nil), Reference: newRef(),
		Amount: 1000, Currency: "EUR", Card: testCard("4111111111111111")})
	if err != nil || res.Outcome != payment.OutcomeNotSent {
		t.Errorf("Authorize with an ended context = %+v, %v", res, err)
	}
}

func TestCheckCredentials(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	if err := f.CheckCredentials(context.Background(), config(nil)); err != nil {
		t.Errorf("CheckCredentials: %v", err)
	}
	if err := f.CheckCredentials(context.Background(), gateway.Config{GatewayID: gw}); err != nil {
		t.Errorf("CheckCredentials without credentials: %v", err)
	}
	c := config(nil)
	c.Credentials["login"] = "invalid"
	err := f.CheckCredentials(context.Background(), c)
	pe, ok := payment.AsError(err)
	if !ok || pe.Kind != payment.KindInvalid || pe.Code != "invalid_credentials" || pe.Param != "login" || !errors.Is(err, payment.ErrInvalid) {
		t.Errorf("CheckCredentials with login invalid: %#v", err)
	}
}

func TestTranscriptNeverLeaks(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	// Every call of the other tests goes through checkTranscript; here the
	// secrets are the kind a scrubber finds hardest: short, and spelled
	// like JSON.
	c := config(nil)
	c.Credentials = map[string]string{"login": `log"in<1>`, "password": "pw&x y"}
	r := &gateway.Request{Kind: payment.OpAuthorize, Config: c, Reference: newRef(), Amount: 1000, Currency: "EUR",
		Card: &gateway.Card{Number: "4242-4242-4242-4242", CVC: "9137", ExpMonth: 1, ExpYear: 2031}}
	res, err := f.Authorize(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(res.Transcript)
	for _, secret := range []string{"4242424242424242", "4242-4242-4242-4242", "9137", `log\"in`, `log\u003cin`, "pw\\u0026x", "pw&x"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("transcript holds %q: %s", secret, raw)
		}
	}
	if !strings.Contains(string(raw), `424242…4242`) {
		t.Errorf("transcript lacks the masked card: %s", raw)
	}
}

func TestConcurrentCaptures(t *testing.T) {
	t.Parallel()
	forEachLedger(t, func(t *testing.T, open func(*testing.T) Ledger) {
		f := setup(t, open(t))
		auth := f.authorize(t, "4111111111111111", 100)
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			succeeded int
			codes     = map[string]int{}
		)
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := f.Capture(context.Background(), &gateway.Request{Config: config(nil), Reference: newRef(),
					Kind: payment.OpCapture, Amount: 10, Currency: "EUR", PriorReference: auth.GatewayReference})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Error(err)
					return
				}
				if res.Outcome == payment.OutcomeSucceeded {
					succeeded++
				} else {
					codes[res.DeclineCode]++
				}
			}()
		}
		wg.Wait()
		if succeeded != 10 {
			t.Errorf("%d captures of 10 succeeded on an authorization of 100 (failures %v)", succeeded, codes)
		}
		for code := range codes {
			if code != "already_captured" && code != "amount_exceeds_authorized" {
				t.Errorf("unexpected failure code %q", code)
			}
		}
	})
}

func TestSharedLedger(t *testing.T) {
	t.Parallel()
	forEachLedger(t, func(t *testing.T, open func(*testing.T) Ledger) {
		// Two configured gateways on one Simulator: the same kassa reference is
		// two operations, one on each.
		f := setup(t, open(t))
		a := &gateway.Request{Kind: payment.OpAuthorize, Reference: "op_same", Amount: 1000, Currency: "EUR", Card: testCard("4111111111111111")}
		a.Config = config(nil)
		b := *a
		b.Config = config(nil)
		b.Config.GatewayID = "gw_b"
		b.Amount = 2000
		ra, rb := f.call(t, a), f.call(t, &b)
		want(t, "gateway a", ra, payment.OutcomeSucceeded, "")
		want(t, "gateway b", rb, payment.OutcomeSucceeded, "")
		if ra.GatewayReference == rb.GatewayReference {
			t.Error("two gateways gave one reference")
		}
	})
}

func TestLedgerIsBounded(t *testing.T) {
	s := New(Options{MaxEntries: 3})
	ctx := context.Background()
	var refs []string
	for i := range 5 {
		res, err := s.Authorize(ctx, &gateway.Request{Config: gateway.Config{GatewayID: "gw_b"}, Reference: fmt.Sprintf("op_%d", i),
			Kind: payment.OpAuthorize, Amount: 100, Currency: "EUR", Card: &gateway.Card{Number: "4111111111111111", ExpMonth: 12, ExpYear: 2030}})
		if err != nil || res.Outcome != payment.OutcomeSucceeded {
			t.Fatal(res, err)
		}
		refs = append(refs, res.GatewayReference)
	}
	l := s.ledger.(*MemoryLedger)
	if len(l.ops) > 3 || len(l.auths) > 3 {
		t.Fatalf("ledger holds %d operations and %d authorizations, want at most 3", len(l.ops), len(l.auths))
	}
	capture := func(prior, ref string) gateway.Result {
		res, _ := s.Capture(ctx, &gateway.Request{Config: gateway.Config{GatewayID: "gw_b"}, Reference: ref, Kind: payment.OpCapture,
			Amount: 100, Currency: "EUR", PriorReference: prior, PriorKind: payment.OpAuthorize})
		return res
	}
	if res := capture(refs[0], "op_c0"); res.Outcome != payment.OutcomeFailed || res.DeclineCode != "invalid_reference" {
		t.Fatalf("capture of a forgotten authorization: %+v", res)
	}
	if res := capture(refs[4], "op_c4"); res.Outcome != payment.OutcomeSucceeded {
		t.Fatalf("capture of a recent authorization: %+v", res)
	}
}
