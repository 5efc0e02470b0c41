// Package simulator is kassa's test gateway, type "simulator": an in-process
// payment service provider that keeps its own ledger, so that every test,
// demo and benchmark can run authorize, capture, refund, void and the
// reconciler against something that behaves like a real gateway. Its
// behaviour is fixed by docs/simulator.md; in short:
//
// By card number (any future expiry, any CVC): the reference's table of
// succeeding and declining cards; the "lost response" cards, whose
// authorize/purchase, capture, refund or void the simulator records as
// succeeded but answers with an unknown outcome (no gateway reference), as
// if the response had been lost on the way back; any other number that
// passes card.Validate succeeds. A number that fails it is failed
// (invalid_number), an expired card declined (expired_card).
//
// By request, for every operation that carries an amount: an amount whose
// last two digits (in minor units) are 05 is declined do_not_honor, 13 is
// not sent. The gateway-specific fields simulate_decline and simulate_error
// (true, or the string "true") make any operation but store declined
// (card_declined) or failed (processing_error).
//
// By gateway settings: latency_ms is slept before every call; outage makes
// every call not sent (and QueryStatus unknown). The latency is spent
// before the simulated request "arrives": a call whose context ends during
// it is not sent and leaves no trace in the ledger. Being in-process, the
// simulator has no base_url.
//
// Ledger rules: capture ≤ authorized − captured (partial and multiple
// captures), refund ≤ captured − refunded, no capture after a void, no void
// after a full capture (a void after a partial capture releases the rest).
// A follow-up whose PriorReference is not a successful authorization or
// purchase of the same gateway fails with invalid_reference; the violations
// fail with amount_exceeds_authorized, amount_exceeds_captured,
// already_voided or already_captured. A Reference seen before returns the
// first result (for a lost response, the success it really was) without
// acting again; the same Reference with another kind, amount or prior
// reference fails with idempotency_key_reused.
//
// One Simulator holds one Ledger for every simulator gateway of the
// process, keyed by (Config.GatewayID, reference). kassa (cmd/kassa) gives
// it a ledger in kassa's own database (tables simulator_operations and
// simulator_authorizations), written in a transaction of its own at call
// time, as an outside provider would: it survives a restart, and the kassa
// processes sharing one database share it, so an authorization made by
// one can be captured by another and the reconciler learns what a crashed
// process's call did. Without Options.Ledger the ledger lives in memory
// (MemoryLedger: lost on restart, private to the process, bounded by
// Options.MaxEntries), which is what unit tests use. A call whose
// recording fails is answered unknown, a status query that cannot read the
// ledger likewise: the reconciler asks again. Each ledger entry
// counts the calls that reached it (payment.SimulatorOperation.Calls), so
// tests can check that kassa called the gateway once per operation. The
// ledger never holds card data: per operation it keeps what was asked and
// answered, per authorization the amounts, currency, the void flag and
// which follow-up (if any) loses its response.
package simulator

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/card"
	"github.com/kassapay/kassa/internal/failpoint"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// Type is the simulator's gateway type.
const Type = "simulator"

// Codes the simulator puts in Result.DeclineCode beyond the decline codes of
// its card table.
const (
	CodeProcessingError         = "processing_error"
	CodeInvalidReference        = "invalid_reference"
	CodeAmountExceedsAuthorized = "amount_exceeds_authorized"
	CodeAmountExceedsCaptured   = "amount_exceeds_captured"
	CodeAlreadyVoided           = "already_voided"
	CodeAlreadyCaptured         = "already_captured"
	CodeInvalidAmount           = "invalid_amount"
	CodeInvalidCurrency         = "invalid_currency"
	CodeCurrencyMismatch        = "currency_mismatch"
	CodeInvalidCredentials      = "invalid_credentials"
)

// Decline codes.
const (
	DeclineCardDeclined           = "card_declined"
	DeclineInsufficientFunds      = "insufficient_funds"
	DeclineLostCard               = "lost_card"
	DeclineStolenCard             = "stolen_card"
	DeclineAuthenticationRequired = "authentication_required"
	DeclineDoNotHonor             = "do_not_honor"
	DeclineExpiredCard            = "expired_card"
)

// InvalidLogin is the login with which CheckCredentials fails: the way
// tests exercise a failed credential check.
const InvalidLogin = "invalid"

// Options configure a Simulator.
type Options struct {
	// Now is the clock (expiry checks, transcripts, ledger times); nil
	// means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx ends, returning ctx's error then; nil
	// means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Ledger keeps what the simulator processed; nil means a MemoryLedger
	// of MaxEntries.
	Ledger Ledger
	// MaxEntries bounds the MemoryLedger made when Ledger is nil (see
	// NewMemoryLedger); it does not apply to a Ledger given. 0 means
	// DefaultMaxEntries.
	MaxEntries int
}

// Simulator is the simulator gateway type. It is safe for concurrent use.
type Simulator struct {
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	ledger Ledger
}

var (
	_ gateway.Adapter           = (*Simulator)(nil)
	_ gateway.Authorizer        = (*Simulator)(nil)
	_ gateway.Purchaser         = (*Simulator)(nil)
	_ gateway.Capturer          = (*Simulator)(nil)
	_ gateway.Voider            = (*Simulator)(nil)
	_ gateway.Refunder          = (*Simulator)(nil)
	_ gateway.Verifier          = (*Simulator)(nil)
	_ gateway.Crediter          = (*Simulator)(nil)
	_ gateway.Storer            = (*Simulator)(nil)
	_ gateway.StatusQuerier     = (*Simulator)(nil)
	_ gateway.CredentialChecker = (*Simulator)(nil)
)

// New returns a Simulator over opts.Ledger, or over an empty MemoryLedger.
// Make one per process and register it once: every simulator gateway
// shares it.
func New(opts Options) *Simulator {
	s := &Simulator{now: opts.Now, sleep: opts.Sleep, ledger: opts.Ledger}
	if s.ledger == nil {
		s.ledger = NewMemoryLedger(opts.MaxEntries)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.sleep == nil {
		s.sleep = sleep
	}
	return s
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Spec describes the simulator. It has no base_url setting: it runs in
// process.
func (s *Simulator) Spec() gateway.Spec { return TypeSpec() }

// TypeSpec is the in-process simulator's Spec, which the simulator over
// HTTP shares but for its type, name and settings.
func TypeSpec() gateway.Spec {
	return gateway.Spec{
		Type:        Type,
		DisplayName: "kassa simulator",
		CredentialFields: []gateway.Field{
			{Name: "login", Label: "Login", Kind: gateway.KindString, Sensitive: true},
			{Name: "password", Label: "Password", Kind: gateway.KindString, Sensitive: true},
		},
		SettingsFields: []gateway.Field{
			{Name: "latency_ms", Label: "Latency added to every call (ms)", Kind: gateway.KindInteger},
			{Name: "outage", Label: "Outage: every call is not sent", Kind: gateway.KindBoolean},
		},
		Operations:         append([]payment.OperationKind(nil), payment.OperationKinds...),
		PaymentMethodTypes: []string{"card"},
		GatewaySpecificFields: []gateway.Field{
			{Name: "simulate_decline", Label: "Decline the operation", Kind: gateway.KindBoolean},
			{Name: "simulate_error", Label: "Fail the operation with a gateway error", Kind: gateway.KindBoolean},
		},
		Currencies: []string{},
		TestOnly:   true,
		// It acts at once: a status query a moment after a lost answer
		// finds the truth, so a demo's UNKNOWN payment settles in seconds.
		UnknownGrace: 3 * time.Second,
	}
}

// Authorize reserves r.Amount on r.Card.
func (s *Simulator) Authorize(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return s.run(ctx, payment.OpAuthorize, r)
}

// Purchase authorizes and captures r.Amount on r.Card at once.
func (s *Simulator) Purchase(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return s.run(ctx, payment.OpPurchase, r)
}

// Capture captures r.Amount of the authorization r.PriorReference.
func (s *Simulator) Capture(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return s.run(ctx, payment.OpCapture, r)
}

// Void releases what is left of the authorization r.PriorReference.
func (s *Simulator) Void(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return s.run(ctx, payment.OpVoid, r)
}

// Refund refunds r.Amount of what was captured of r.PriorReference.
func (s *Simulator) Refund(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return s.run(ctx, payment.OpRefund, r)
}

// Verify checks r.Card without reserving anything.
func (s *Simulator) Verify(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return s.run(ctx, payment.OpVerify, r)
}

// Credit pays r.Amount out to r.Card; it has no ledger limit.
func (s *Simulator) Credit(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return s.run(ctx, payment.OpCredit, r)
}

// Store keeps r.Card at the gateway and returns its gateway reference.
func (s *Simulator) Store(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return s.run(ctx, payment.OpStore, r)
}

// QueryStatus returns what became of the operation r.Reference: its
// recorded result (succeeded, declined or failed; the success of a lost
// response), ErrReferenceNotFound if the simulator never processed it, or
// an unknown Result during an outage or when its ledger cannot be read.
func (s *Simulator) QueryStatus(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	if r == nil {
		return gateway.Result{}, errors.New("simulator: nil request")
	}
	set := settingsOf(r.Config.Settings)
	x := s.newExchange(r, "status", set)
	x.request = map[string]any{"reference": r.Reference}
	if err := s.wait(ctx, set.latency); err != nil {
		return x.unknown(gateway.Result{Message: "Status query timed out: " + err.Error()}, "read: "+err.Error()), nil
	}
	if set.outage {
		return x.unknown(gateway.Result{Message: "Gateway unavailable (outage)"}, "dial: connection refused"), nil
	}
	op, err := s.ledger.SimulatorOperation(ctx, r.Config.GatewayID, r.Reference)
	switch {
	case errors.Is(err, payment.ErrNotFound):
		return gateway.Result{}, fmt.Errorf("simulator: %w", gateway.ErrReferenceNotFound)
	case err != nil:
		// The gateway cannot say: the reconciler asks again later.
		return x.unknown(gateway.Result{Message: "Status query failed: the gateway could not read its ledger."},
			"ledger: "+err.Error()), nil
	}
	return x.answer(result(op.Result)), nil
}

// CheckCredentials accepts any credentials but a login of InvalidLogin.
// During an outage it cannot tell.
func (s *Simulator) CheckCredentials(ctx context.Context, c gateway.Config) error {
	set := settingsOf(c.Settings)
	if err := s.wait(ctx, set.latency); err != nil {
		return fmt.Errorf("simulator: checking credentials: %w", err)
	}
	if set.outage {
		return errors.New("simulator: checking credentials: gateway unavailable (outage)")
	}
	if c.Credentials["login"] == InvalidLogin {
		return &payment.Error{Kind: payment.KindInvalid, Code: CodeInvalidCredentials, Param: "login",
			Message: "The gateway refused the credentials."}
	}
	return nil
}

// wait spends the configured latency; it fails if ctx ends first (or has
// ended already).
func (s *Simulator) wait(ctx context.Context, d time.Duration) error {
	if d > 0 {
		if err := s.sleep(ctx, d); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// run carries out one operation: the common path of every kind.
func (s *Simulator) run(ctx context.Context, kind payment.OperationKind, r *gateway.Request) (gateway.Result, error) {
	if r == nil {
		return gateway.Result{}, errors.New("simulator: nil request")
	}
	if carriesCard(kind) && r.Card == nil {
		return gateway.Result{}, fmt.Errorf("simulator: %s needs a card", kind)
	}
	set := settingsOf(r.Config.Settings)
	x := s.newExchange(r, string(kind), set)

	// The request is on its way: until it "arrives" nothing has happened.
	if err := s.wait(ctx, set.latency); err != nil {
		return x.notSent("Not sent: "+err.Error(), "dial: "+err.Error()), nil
	}
	if set.outage {
		return x.notSent("Not sent: gateway unavailable (outage).", "dial: connection refused"), nil
	}
	if carriesAmount(kind, r) && minorPart(r.Amount) == 13 {
		return x.notSent("Not sent: connection refused (amount ending in 13).", "dial: connection refused"), nil
	}

	call := &payment.SimulatorOperation{GatewayID: r.Config.GatewayID, Reference: r.Reference,
		Kind: kind, Amount: r.Amount, PriorReference: r.PriorReference, CreatedAt: s.now()}
	var lost bool
	op, err := s.ledger.RecordSimulatorCall(ctx, call,
		func(auth *payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error) {
			var res gateway.Result
			res, lost = s.decide(kind, r, auth)
			if res.Outcome == payment.OutcomeSucceeded || res.Outcome == payment.OutcomeDeclined {
				res.GatewayReference = newReference()
			}
			var opened *payment.SimulatorAuthorization
			if res.Outcome == payment.OutcomeSucceeded && (kind == payment.OpAuthorize || kind == payment.OpPurchase) {
				opened = newAuthorization(kind, r, res.GatewayReference)
			}
			return stored(res), opened, nil
		})
	if err != nil {
		// The request arrived, and the gateway failed while acting on it:
		// whether it was recorded, a status query tells.
		return x.unknown(gateway.Result{Message: "The gateway failed while recording the request."},
			"ledger: "+err.Error()), nil
	}
	// Crash tests stop kassa here: the provider has acted, its answer has
	// not reached kassa.
	failpoint.Hit(failpoint.InCall, string(kind))
	if op.Calls > 1 {
		// A repeat of a reference the ledger knows.
		if op.Kind != kind || op.Amount != r.Amount || op.PriorReference != r.PriorReference {
			return x.answer(failed(payment.CodeIdempotencyMismatch, "12",
				"The reference was already used for another request.")), nil
		}
		return x.answer(result(op.Result)), nil
	}
	if lost {
		return x.unknown(gateway.Result{Message: "The response was lost after the gateway received the request."},
			"read: connection reset by peer"), nil
	}
	return x.answer(result(op.Result)), nil
}

// decide works out the result of a new request, applying it to auth, the
// authorization a follow-up acts on (nil if there is none). lost reports
// that the request succeeded but its response is to be lost.
func (s *Simulator) decide(kind payment.OperationKind, r *gateway.Request, auth *payment.SimulatorAuthorization) (res gateway.Result, lost bool) {
	switch kind {
	case payment.OpCapture, payment.OpVoid, payment.OpRefund:
		return followUp(kind, r, auth)
	}

	digits, _, err := card.Validate(r.Card.Number)
	if err != nil {
		return failed(payment.CodeInvalidNumber, "14", "The card number is invalid."), false
	}
	if err := card.CheckExpiry(r.Card.ExpMonth, r.Card.ExpYear, s.now()); err != nil {
		if errors.Is(err, card.ErrExpired) {
			return declined(DeclineExpiredCard), false
		}
		code := payment.CodeInvalidExpiryYear
		if errors.Is(err, card.ErrExpiryMonth) {
			code = payment.CodeInvalidExpiryMonth
		}
		return failed(code, "14", "The expiry date is invalid."), false
	}
	if kind != payment.OpVerify && kind != payment.OpStore {
		if r.Amount <= 0 || r.Amount > payment.MaxAmount {
			return failed(CodeInvalidAmount, "13", "The amount must be positive."), false
		}
		if r.Currency == "" {
			return failed(CodeInvalidCurrency, "12", "The currency is missing."), false
		}
	}
	if kind == payment.OpStore {
		// Storing a card does not ask the issuer anything.
		return succeeded(), false
	}
	if res, ok := requested(r); ok {
		return res, false
	}
	behaviour := cards[digits]
	if behaviour.decline != "" {
		res = declined(behaviour.decline)
	} else if carriesAmount(kind, r) && minorPart(r.Amount) == 5 {
		res = declined(DeclineDoNotHonor)
	} else {
		res = succeeded()
		if kind == payment.OpAuthorize || kind == payment.OpPurchase || kind == payment.OpVerify {
			res.NetworkTransactionID = networkTransactionID()
		}
	}
	if kind != payment.OpCredit {
		res.AVSCode = "Y"
		res.CVVCode = "M"
		if r.Card.CVC == "" {
			res.CVVCode = "P" // not processed: no code was sent
		}
	}
	lost = res.Outcome == payment.OutcomeSucceeded && behaviour.losesResponse == payment.OpAuthorize &&
		(kind == payment.OpAuthorize || kind == payment.OpPurchase)
	return res, lost
}

// followUp decides a capture, void or refund against a, the authorization
// r.PriorReference (nil if the ledger has none), and applies it to a.
func followUp(kind payment.OperationKind, r *gateway.Request, a *payment.SimulatorAuthorization) (gateway.Result, bool) {
	if a == nil {
		return failed(CodeInvalidReference, "12",
			"No successful authorization or purchase has this reference."), false
	}
	if kind != payment.OpVoid {
		if r.Amount <= 0 || r.Amount > payment.MaxAmount {
			return failed(CodeInvalidAmount, "13", "The amount must be positive."), false
		}
	}
	if r.Currency != "" && r.Currency != a.Currency {
		return failed(CodeCurrencyMismatch, "12", "The currency differs from the authorization's."), false
	}
	if res, ok := requested(r); ok {
		return res, false
	}
	switch kind {
	case payment.OpCapture:
		switch {
		case a.Voided:
			return failed(CodeAlreadyVoided, "12", "The authorization was voided."), false
		case a.Kind == payment.OpPurchase || a.Captured == a.Authorized:
			return failed(CodeAlreadyCaptured, "12", "The authorization is fully captured."), false
		case r.Amount > a.Authorized-a.Captured:
			return failed(CodeAmountExceedsAuthorized, "13",
				fmt.Sprintf("At most %d can be captured.", a.Authorized-a.Captured)), false
		case minorPart(r.Amount) == 5:
			return declined(DeclineDoNotHonor), false
		}
		a.Captured += r.Amount
	case payment.OpVoid:
		switch {
		case a.Voided:
			return failed(CodeAlreadyVoided, "12", "The authorization was voided."), false
		case a.Kind == payment.OpPurchase || a.Captured == a.Authorized:
			return failed(CodeAlreadyCaptured, "12", "The authorization is fully captured."), false
		}
		a.Voided = true
	case payment.OpRefund:
		switch {
		case r.Amount > a.Captured-a.Refunded:
			return failed(CodeAmountExceedsCaptured, "13",
				fmt.Sprintf("At most %d can be refunded.", a.Captured-a.Refunded)), false
		case minorPart(r.Amount) == 5:
			return declined(DeclineDoNotHonor), false
		}
		a.Refunded += r.Amount
	}
	return succeeded(), a.LosesResponse == kind
}

// newAuthorization opens the ledger of a successful authorization or
// purchase with gateway reference ref. It keeps no card data: only which
// follow-up, if any, the card makes lose its response.
func newAuthorization(kind payment.OperationKind, r *gateway.Request, ref string) *payment.SimulatorAuthorization {
	a := &payment.SimulatorAuthorization{GatewayID: r.Config.GatewayID, GatewayReference: ref,
		Kind: kind, Currency: r.Currency, Authorized: r.Amount}
	if kind == payment.OpPurchase {
		a.Captured = r.Amount
	}
	digits, _ := card.Normalize(r.Card.Number)
	if l := cards[digits].losesResponse; l != payment.OpAuthorize {
		a.LosesResponse = l
	}
	return a
}

// stored is res as the ledger keeps it: without transcript.
func stored(res gateway.Result) payment.SimulatorResult {
	return payment.SimulatorResult{Outcome: res.Outcome, GatewayReference: res.GatewayReference,
		DeclineCode: res.DeclineCode, ResponseCode: res.ResponseCode, Message: res.Message,
		AVSCode: res.AVSCode, CVVCode: res.CVVCode, NetworkTransactionID: res.NetworkTransactionID}
}

// result is the Result of a stored answer.
func result(r payment.SimulatorResult) gateway.Result {
	return gateway.Result{Outcome: r.Outcome, GatewayReference: r.GatewayReference,
		DeclineCode: r.DeclineCode, ResponseCode: r.ResponseCode, Message: r.Message,
		AVSCode: r.AVSCode, CVVCode: r.CVVCode, NetworkTransactionID: r.NetworkTransactionID}
}

// requested returns the result the gateway-specific fields ask for, if any.
func requested(r *gateway.Request) (gateway.Result, bool) {
	switch {
	case flag(r.GatewaySpecificFields["simulate_error"]):
		return failed(CodeProcessingError, "96", "The gateway failed to process the request."), true
	case flag(r.GatewaySpecificFields["simulate_decline"]):
		return declined(DeclineCardDeclined), true
	}
	return gateway.Result{}, false
}

func carriesCard(kind payment.OperationKind) bool {
	switch kind {
	case payment.OpAuthorize, payment.OpPurchase, payment.OpVerify, payment.OpCredit, payment.OpStore:
		return true
	}
	return false
}

// carriesAmount reports whether the amount rules apply: to every operation
// with an amount of its own (a verification only when it has one).
func carriesAmount(kind payment.OperationKind, r *gateway.Request) bool {
	switch kind {
	case payment.OpVoid, payment.OpStore:
		return false
	case payment.OpVerify:
		return r.Amount > 0
	}
	return true
}

// minorPart is the last two digits of an amount in minor units.
func minorPart(amount int64) int64 {
	if amount < 0 {
		amount = -amount
	}
	return amount % 100
}

// behaviour is what a card of the table does.
type behaviour struct {
	decline string
	// losesResponse is the operation kind whose response is lost:
	// OpAuthorize stands for authorize and purchase.
	losesResponse payment.OperationKind
}

// cards is the reference's card table; the succeeding cards
// need no entry.
var cards = map[string]behaviour{
	"4012888888881881":    {decline: DeclineCardDeclined},
	"4917610000000000003": {decline: DeclineCardDeclined},
	"5105105105105100":    {decline: DeclineCardDeclined},
	"2720992720992729":    {decline: DeclineCardDeclined},
	"371449635398431":     {decline: DeclineCardDeclined},
	"6011000990139424":    {decline: DeclineCardDeclined},
	"30207712915383":      {decline: DeclineCardDeclined},
	"3528327757705979":    {decline: DeclineCardDeclined},
	"6799990100000000019": {decline: DeclineCardDeclined},
	"4000000000009995":    {decline: DeclineInsufficientFunds},
	"4000000000009987":    {decline: DeclineLostCard},
	"4000000000009979":    {decline: DeclineStolenCard},
	"4100000000000076":    {decline: DeclineAuthenticationRequired},
	"4100000000000001":    {losesResponse: payment.OpAuthorize},
	"5100000000000008":    {losesResponse: payment.OpAuthorize},
	"4100000000000019":    {losesResponse: payment.OpCapture},
	"5100000000000016":    {losesResponse: payment.OpCapture},
	"4100000000000027":    {losesResponse: payment.OpRefund},
	"5100000000000024":    {losesResponse: payment.OpRefund},
	"4100000000000043":    {losesResponse: payment.OpVoid},
	"5100000000000040":    {losesResponse: payment.OpVoid},
}

// responseCodes are ISO 8583-style raw codes of the declines.
var responseCodes = map[string]string{
	DeclineCardDeclined:           "05",
	DeclineDoNotHonor:             "05",
	DeclineInsufficientFunds:      "51",
	DeclineLostCard:               "41",
	DeclineStolenCard:             "43",
	DeclineExpiredCard:            "54",
	DeclineAuthenticationRequired: "1A",
}

var declineMessages = map[string]string{
	DeclineCardDeclined:           "The card was declined.",
	DeclineDoNotHonor:             "Do not honor.",
	DeclineInsufficientFunds:      "Insufficient funds.",
	DeclineLostCard:               "The card was reported lost.",
	DeclineStolenCard:             "The card was reported stolen.",
	DeclineExpiredCard:            "The card has expired.",
	DeclineAuthenticationRequired: "The issuer requires cardholder authentication.",
}

func succeeded() gateway.Result {
	return gateway.Result{Outcome: payment.OutcomeSucceeded, ResponseCode: "00", Message: "Approved."}
}

func declined(code string) gateway.Result {
	return gateway.Result{Outcome: payment.OutcomeDeclined, DeclineCode: code,
		ResponseCode: responseCodes[code], Message: declineMessages[code]}
}

func failed(code, responseCode, message string) gateway.Result {
	return gateway.Result{Outcome: payment.OutcomeFailed, DeclineCode: code,
		ResponseCode: responseCode, Message: message}
}

// newReference returns a fresh gateway reference: the milliseconds since
// the epoch in 9 base-36 digits, then 16 random ones. References made
// later sort after earlier ones, so the ledger's index on them grows at
// its right edge (as kassa's ids do, ADR 0011).
func newReference() string {
	ms := strconv.FormatInt(max(time.Now().UnixMilli(), 0), 36)
	return "sim_" + strings.Repeat("0", max(9-len(ms), 0)) + ms + strings.ToLower(rand.Text()[:16])
}

// networkTransactionID returns a random 15-digit network transaction id,
// as Visa's are.
func networkTransactionID() string {
	n, err := rand.Int(rand.Reader, big.NewInt(9e14))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return strconv.FormatInt(n.Int64()+1e14, 10)
}

// settings are the gateway settings the simulator reads.
type settings struct {
	latency time.Duration
	outage  bool
}

func settingsOf(m map[string]any) settings {
	var s settings
	if ms, ok := integer(m["latency_ms"]); ok && ms > 0 {
		s.latency = time.Duration(ms) * time.Millisecond
	}
	s.outage = flag(m["outage"])
	return s
}

// integer reads a whole number as settings decoded from JSON or set in Go
// hold it.
func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		if n == float64(int64(n)) {
			return int64(n), true
		}
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		return i, err == nil
	}
	return 0, false
}

// flag reads a boolean as JSON, form or XML bodies carry it.
func flag(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		t, err := strconv.ParseBool(b)
		return err == nil && t
	}
	return false
}

// exchange builds the synthetic transcript of one call. The request holds
// what a real gateway's would, card and credentials included, and goes
// through a gateway.Scrubber like any adapter's.
type exchange struct {
	e       gateway.Exchange
	request map[string]any
	start   time.Time
	now     func() time.Time
	scrub   *gateway.Scrubber
}

func (s *Simulator) newExchange(r *gateway.Request, path string, set settings) *exchange {
	x := &exchange{
		start: s.now(),
		now:   s.now,
		scrub: gateway.NewScrubber(r.Card, r.Config.Credentials),
	}
	x.e = gateway.Exchange{
		Method:         "POST",
		URL:            "simulator://" + r.Config.GatewayID + "/" + path,
		RequestHeaders: map[string]string{"Content-Type": "application/json"},
		StartedAt:      x.start,
	}
	if r.Reference != "" {
		x.e.RequestHeaders["Idempotency-Key"] = r.Reference
	}
	if login, pw := r.Config.Credentials["login"], r.Config.Credentials["password"]; login != "" || pw != "" {
		x.e.RequestHeaders["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(login+":"+pw))
	}
	req := map[string]any{"reference": r.Reference}
	if r.Amount != 0 {
		req["amount"] = r.Amount
	}
	if r.Currency != "" {
		req["currency"] = r.Currency
	}
	if r.PriorReference != "" {
		req["prior_reference"] = r.PriorReference
	}
	if c := r.Card; c != nil {
		digits, _ := card.Normalize(c.Number)
		cm := map[string]any{
			"masked_number": card.First6(digits) + "…" + card.Last4(digits),
			"exp_month":     c.ExpMonth,
			"exp_year":      c.ExpYear,
		}
		if c.CVC != "" {
			cm["cvc"] = c.CVC
		}
		req["card"] = cm
	}
	if len(r.GatewaySpecificFields) > 0 {
		req["gateway_specific_fields"] = r.GatewaySpecificFields
	}
	x.request = req
	return x
}

// finish completes the exchange and wraps it in a scrubbed transcript.
func (x *exchange) finish(res gateway.Result) gateway.Result {
	body, _ := json.Marshal(x.request)
	x.e.RequestBody = string(body)
	x.e.DurationMS = x.now().Sub(x.start).Milliseconds()
	res.Transcript = &gateway.Transcript{Exchanges: []gateway.Exchange{x.scrub.Exchange(x.e)}}
	return res
}

// answer returns res as the gateway's response.
func (x *exchange) answer(res gateway.Result) gateway.Result {
	resp := map[string]any{"status": string(res.Outcome), "response_code": res.ResponseCode, "message": res.Message}
	for k, v := range map[string]string{
		"id": res.GatewayReference, "decline_code": res.DeclineCode, "avs_result": res.AVSCode,
		"cvc_result": res.CVVCode, "network_transaction_id": res.NetworkTransactionID,
	} {
		if v != "" {
			resp[k] = v
		}
	}
	for _, k := range []string{"amount", "currency", "reference"} {
		if v, ok := x.request[k]; ok {
			resp[k] = v
		}
	}
	body, _ := json.Marshal(resp)
	x.e.ResponseBody = string(body)
	x.e.ResponseHeaders = map[string]string{"Content-Type": "application/json"}
	switch res.Outcome {
	case payment.OutcomeSucceeded:
		x.e.Status = 200
	case payment.OutcomeDeclined:
		x.e.Status = 402
	default:
		x.e.Status = 422
	}
	return x.finish(res)
}

// notSent returns a not-sent Result: the connection was never made.
func (x *exchange) notSent(message, why string) gateway.Result {
	x.e.Error = why
	return x.finish(gateway.Result{Outcome: payment.OutcomeNotSent, Message: message})
}

// unknown returns res as an unknown Result: the request may have been
// acted on, but no answer came back.
func (x *exchange) unknown(res gateway.Result, why string) gateway.Result {
	res.Outcome = payment.OutcomeUnknown
	x.e.Error = why
	return x.finish(res)
}
