// Package stripe is kassa's adapter for Stripe, gateway type "stripe". It
// speaks Stripe's REST API (form-encoded requests, JSON answers) at the
// version APIVersion, pinned in the Stripe-Version header of every call.
//
// Operations:
//
//   - authorize and purchase: the card becomes a PaymentMethod
//     (POST /v1/payment_methods, Idempotency-Key "<operation id>-pm"), then a
//     PaymentIntent is created and confirmed at once (POST /v1/payment_intents,
//     confirm=true, capture_method manual for authorize and automatic for
//     purchase, payment_method_types[]=card, metadata[kassa_operation] = the
//     operation id, Idempotency-Key = the operation id, expand[]=latest_charge
//     for the AVS and CVC checks and the network transaction id). A
//     PaymentMethod that could not be created leaves the operation not sent
//     (it moves no money, and the PaymentIntent was never asked for) unless
//     Stripe refused the card or the key, which is that refusal.
//   - capture: POST /v1/payment_intents/{id}/capture (amount_to_capture,
//     metadata[kassa_capture] = the operation id, for the status query);
//     void: POST /v1/payment_intents/{id}/cancel; refund: POST /v1/refunds
//     (payment_intent, amount, metadata[kassa_operation]).
//   - verify: a SetupIntent confirmed at once (POST /v1/setup_intents,
//     confirm=true, usage=off_session), since a PaymentIntent cannot be for
//     zero; its latest attempt carries the card checks.
//   - status query: see QueryStatus. Credential check: GET /v1/payment_intents
//     with limit=1, which every key that can take payments may read.
//
// Every POST carries the operation id as its Idempotency-Key, so a resend of
// an operation whose outcome was unknown is answered by Stripe with the first
// result instead of acting twice.
//
// Outcomes: a PaymentIntent that is succeeded or requires_capture is a
// success; requires_action (the issuer asks for 3-D Secure, which a
// server-to-server payment cannot do) is declined authentication_required;
// a 402 card_error is declined (or failed, for a card number or expiry
// Stripe finds malformed) with the decline code normalised; 400, 401, 403
// and 404 are failed; 409 (another request with the same Idempotency-Key
// in flight) is unknown; 429 is not sent (Stripe does not act on a request
// it rate-limits); 5xx, a broken body of a money-moving call and any answer
// kassa cannot read are unknown. Network failures are classified by
// gateway.HTTPClient.
//
// Sandbox or live is a property of the key in Stripe, not of the URL: a
// sandbox gateway must have a test key (sk_test_ or rk_test_) and a live one
// a live key (sk_live_ or rk_live_). A key of the wrong mode is refused by
// CheckCredentials and fails every operation before anything is sent, so a
// gateway marked sandbox can never move real money.
//
// Known limits: Stripe accepts raw card numbers only from accounts it has
// enabled for them (otherwise authorize and purchase fail with Stripe's
// answer as it comes); amounts are kassa's minor units, which are Stripe's
// but for ISK (converted, see stripeAmount), and Stripe refuses a
// three-decimal amount (KWD, JOD, …) not ending in 0; a refund Stripe
// reports pending is unknown until a status query finds it succeeded or
// failed; a verify's status cannot be queried (SetupIntents can be neither
// searched nor listed by metadata) and stays unknown; 3-D Secure is not
// driven, so a card that demands it is declined authentication_required.
package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/netguard"
	"github.com/kassapay/kassa/internal/payment"
)

// Type is the gateway type.
const Type = "stripe"

// APIVersion is the Stripe API version kassa speaks, sent as Stripe-Version
// on every call: the version of the OpenAPI spec bundled in stripe-mock
// v0.203.0, against which the adapter is tested.
const APIVersion = "2026-08-26.dahlia"

// DefaultBaseURL is Stripe's API, for test and live keys alike.
const DefaultBaseURL = "https://api.stripe.com"

// Codes the adapter puts in Result.DeclineCode beyond the decline codes.
const (
	CodeInvalidCredentials  = "invalid_credentials"
	CodeInvalidRequest      = "invalid_request"
	CodeInvalidReference    = "invalid_reference"
	CodeInvalidState        = "invalid_state"
	CodeProcessingError     = "processing_error"
	CodeUnsupportedCurrency = "unsupported_currency"
	CodeRefundFailed        = "refund_failed"
)

// Normalised decline codes.
const (
	DeclineCardDeclined           = "card_declined"
	DeclineInsufficientFunds      = "insufficient_funds"
	DeclineLostCard               = "lost_card"
	DeclineStolenCard             = "stolen_card"
	DeclineExpiredCard            = "expired_card"
	DeclineDoNotHonor             = "do_not_honor"
	DeclineAuthenticationRequired = "authentication_required"
)

// Options configure an Adapter.
type Options struct {
	// HTTP configures the shared client (timeout, transport, clock).
	HTTP gateway.HTTPOptions
	// Now is the clock of status queries; nil means time.Now.
	Now func() time.Time
}

// Adapter is the Stripe gateway type. It is safe for concurrent use.
type Adapter struct {
	client *gateway.HTTPClient
	now    func() time.Time
}

var (
	_ gateway.Adapter           = (*Adapter)(nil)
	_ gateway.Authorizer        = (*Adapter)(nil)
	_ gateway.Purchaser         = (*Adapter)(nil)
	_ gateway.Capturer          = (*Adapter)(nil)
	_ gateway.Voider            = (*Adapter)(nil)
	_ gateway.Refunder          = (*Adapter)(nil)
	_ gateway.Verifier          = (*Adapter)(nil)
	_ gateway.StatusQuerier     = (*Adapter)(nil)
	_ gateway.CredentialChecker = (*Adapter)(nil)
)

// New returns a Stripe adapter. Make one per process and keep it: it holds
// the connection pool.
func New(opts Options) *Adapter {
	a := &Adapter{client: gateway.NewHTTPClient(opts.HTTP), now: opts.Now}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// gatewaySpecificFields are passed through to the PaymentIntent (and, for
// description, the SetupIntent) under the same names.
var gatewaySpecificFields = []gateway.Field{
	{Name: "statement_descriptor_suffix", Label: "Statement descriptor suffix (card payments)", Kind: gateway.KindString},
	{Name: "receipt_email", Label: "Email address Stripe sends the receipt to", Kind: gateway.KindString},
	{Name: "customer", Label: "Stripe customer id (cus_…)", Kind: gateway.KindString},
	{Name: "description", Label: "Description (when the payment has none)", Kind: gateway.KindString},
}

// Spec describes the Stripe gateway type.
func (a *Adapter) Spec() gateway.Spec {
	return gateway.Spec{
		SingleCapture: true,
		Type:          Type,
		DisplayName:   "Stripe",
		CredentialFields: []gateway.Field{
			{Name: "secret_key", Label: "Secret key (sk_test_… / sk_live_…, or a restricted rk_ key)",
				Kind: gateway.KindString, Required: true, Sensitive: true},
		},
		SettingsFields: []gateway.Field{
			{Name: "base_url", Label: "API base URL (default " + DefaultBaseURL + ")", Kind: gateway.KindString, URL: true},
		},
		Operations: []payment.OperationKind{payment.OpAuthorize, payment.OpPurchase, payment.OpCapture,
			payment.OpVoid, payment.OpRefund, payment.OpVerify},
		PaymentMethodTypes:    []string{"card"},
		GatewaySpecificFields: append([]gateway.Field(nil), gatewaySpecificFields...),
		Currencies:            []string{},
	}
}

// Authorize reserves r.Amount on r.Card: a PaymentIntent with
// capture_method manual.
func (a *Adapter) Authorize(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return a.pay(ctx, r, "manual")
}

// Purchase charges r.Amount on r.Card: a PaymentIntent with capture_method
// automatic.
func (a *Adapter) Purchase(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return a.pay(ctx, r, "automatic")
}

// Capture captures r.Amount of the PaymentIntent r.PriorReference.
func (a *Adapter) Capture(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	c, err := a.start(r, false)
	if err != nil || c.done != nil {
		return c.result(err)
	}
	if r.PriorReference == "" {
		return gateway.Result{}, errors.New("stripe: capture needs the PaymentIntent as PriorReference")
	}
	f := url.Values{}
	if r.Amount > 0 {
		f.Set("amount_to_capture", strconv.FormatInt(stripeAmount(r.Amount, r.Currency), 10))
	}
	f.Set("metadata[kassa_capture]", r.Reference)
	f.Add("expand[]", "latest_charge")
	res := c.post(ctx, "/v1/payment_intents/"+url.PathEscape(r.PriorReference)+"/capture", r.Reference, f)
	if res.done {
		return c.finish(res.out), nil
	}
	pi, ok := decode[paymentIntent](res.body)
	if !ok {
		return c.finish(malformed()), nil
	}
	out := pi.result()
	switch pi.Status {
	case "succeeded":
		out.Outcome = payment.OutcomeSucceeded
	case "processing":
		out.Outcome = payment.OutcomeUnknown
	default:
		out = failed(CodeInvalidState, pi.Status, "Stripe left the PaymentIntent "+pi.Status+" after the capture.")
		out.GatewayReference = pi.ID
	}
	return c.finish(out), nil
}

// Void cancels the PaymentIntent r.PriorReference, releasing the
// authorization.
func (a *Adapter) Void(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	c, err := a.start(r, false)
	if err != nil || c.done != nil {
		return c.result(err)
	}
	if r.PriorReference == "" {
		return gateway.Result{}, errors.New("stripe: void needs the PaymentIntent as PriorReference")
	}
	f := url.Values{}
	f.Set("cancellation_reason", "requested_by_customer")
	res := c.post(ctx, "/v1/payment_intents/"+url.PathEscape(r.PriorReference)+"/cancel", r.Reference, f)
	if res.done {
		return c.finish(res.out), nil
	}
	pi, ok := decode[paymentIntent](res.body)
	if !ok {
		return c.finish(malformed()), nil
	}
	out := gateway.Result{GatewayReference: pi.ID, ResponseCode: pi.Status}
	if pi.Status == "canceled" {
		out.Outcome, out.Message = payment.OutcomeSucceeded, "The PaymentIntent was canceled."
	} else {
		out = failed(CodeInvalidState, pi.Status, "Stripe left the PaymentIntent "+pi.Status+" after the cancel.")
		out.GatewayReference = pi.ID
	}
	return c.finish(out), nil
}

// Refund refunds r.Amount of the PaymentIntent r.PriorReference.
func (a *Adapter) Refund(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	c, err := a.start(r, false)
	if err != nil || c.done != nil {
		return c.result(err)
	}
	if r.PriorReference == "" {
		return gateway.Result{}, errors.New("stripe: refund needs the PaymentIntent as PriorReference")
	}
	f := url.Values{}
	f.Set("payment_intent", r.PriorReference)
	if r.Amount > 0 {
		f.Set("amount", strconv.FormatInt(stripeAmount(r.Amount, r.Currency), 10))
	}
	f.Set("metadata[kassa_operation]", r.Reference)
	res := c.post(ctx, "/v1/refunds", r.Reference, f)
	if res.done {
		return c.finish(res.out), nil
	}
	rf, ok := decode[refund](res.body)
	if !ok {
		return c.finish(malformed()), nil
	}
	return c.finish(rf.result()), nil
}

// Verify checks r.Card with a SetupIntent confirmed at once.
func (a *Adapter) Verify(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	c, err := a.start(r, true)
	if err != nil || c.done != nil {
		return c.result(err)
	}
	pm, done := c.paymentMethod(ctx, r)
	if done != nil {
		return c.finish(*done), nil
	}
	f := url.Values{}
	f.Set("payment_method", pm)
	f.Set("confirm", "true")
	f.Set("usage", "off_session")
	f.Add("payment_method_types[]", "card")
	f.Set("metadata[kassa_operation]", r.Reference)
	if d := description(r); d != "" {
		f.Set("description", d)
	}
	if v := stringField(r, "customer"); v != "" {
		f.Set("customer", v)
	}
	f.Add("expand[]", "latest_attempt")
	res := c.post(ctx, "/v1/setup_intents", r.Reference, f)
	if res.done {
		return c.finish(res.out), nil
	}
	si, ok := decode[setupIntent](res.body)
	if !ok {
		// Verifying moves no money, but the card may have been checked:
		// the answer is lost either way.
		return c.finish(malformed()), nil
	}
	return c.finish(si.result()), nil
}

// pay creates and confirms a PaymentIntent for an authorize or purchase.
func (a *Adapter) pay(ctx context.Context, r *gateway.Request, captureMethod string) (gateway.Result, error) {
	c, err := a.start(r, true)
	if err != nil || c.done != nil {
		return c.result(err)
	}
	if r.Amount <= 0 {
		return c.finish(failed("invalid_amount", "", "Stripe needs a positive amount.")), nil
	}
	if r.Currency == "" {
		return c.finish(failed(CodeUnsupportedCurrency, "", "The currency is missing.")), nil
	}
	pm, done := c.paymentMethod(ctx, r)
	if done != nil {
		return c.finish(*done), nil
	}
	f := url.Values{}
	f.Set("amount", strconv.FormatInt(stripeAmount(r.Amount, r.Currency), 10))
	f.Set("currency", strings.ToLower(r.Currency))
	f.Set("payment_method", pm)
	f.Set("confirm", "true")
	f.Set("capture_method", captureMethod)
	f.Add("payment_method_types[]", "card")
	f.Set("metadata[kassa_operation]", r.Reference)
	if r.PaymentReference != "" {
		f.Set("metadata[kassa_payment_reference]", r.PaymentReference)
	}
	if d := description(r); d != "" {
		f.Set("description", d)
	}
	for _, name := range []string{"statement_descriptor_suffix", "receipt_email", "customer"} {
		if v := stringField(r, name); v != "" {
			f.Set(name, v)
		}
	}
	if sc := r.StoredCredential; sc != nil && sc.Initiator == "merchant" {
		f.Set("off_session", "true")
	}
	f.Add("expand[]", "latest_charge")
	res := c.post(ctx, "/v1/payment_intents", r.Reference, f)
	if res.done {
		return c.finish(res.out), nil
	}
	pi, ok := decode[paymentIntent](res.body)
	if !ok {
		return c.finish(malformed()), nil
	}
	return c.finish(pi.result()), nil
}

// stripeAmount converts kassa's amount (ISO 4217 minor units) to Stripe's.
// They agree but for ISK, which ISO gives no minor unit and Stripe keeps as
// a two-decimal currency whose amounts must be whole krónur (multiples of
// 100). HUF and TWD are two-decimal in both for charges; UGX zero-decimal
// in both.
func stripeAmount(amount int64, currency string) int64 {
	if strings.EqualFold(currency, "ISK") {
		return amount * 100
	}
	return amount
}

func description(r *gateway.Request) string {
	if r.Description != "" {
		return r.Description
	}
	return stringField(r, "description")
}

// stringField reads a gateway-specific field; only strings are passed on.
func stringField(r *gateway.Request, name string) string {
	v, _ := r.GatewaySpecificFields[name].(string)
	return v
}

// call is one operation in progress: its settings, scrubber and transcript.
type call struct {
	a     *Adapter
	base  string
	key   string
	live  bool // the account's mode: public addresses only
	scrub *gateway.Scrubber
	tr    gateway.Transcript
	done  *gateway.Result
}

// start checks r and opens a call. c.done is set when the operation ends
// before anything is sent (a key of the wrong mode).
func (a *Adapter) start(r *gateway.Request, needsCard bool) (*call, error) {
	if r == nil {
		return nil, errors.New("stripe: nil request")
	}
	if needsCard && r.Card == nil {
		return nil, fmt.Errorf("stripe: %s needs a card", r.Kind)
	}
	c := &call{
		a:     a,
		base:  baseURL(r.Config),
		key:   r.Config.Credentials["secret_key"],
		live:  r.Config.Live,
		scrub: gateway.NewScrubber(r.Card, r.Config.Credentials),
	}
	if err := keyMode(c.key, r.Config.Sandbox); err != nil {
		res := failed(CodeInvalidCredentials, "", err.Message)
		c.done = &res
	}
	return c, nil
}

// result returns what start decided, or its error.
func (c *call) result(err error) (gateway.Result, error) {
	if err != nil {
		return gateway.Result{}, err
	}
	return *c.done, nil
}

// finish attaches the transcript to res and scrubs its message, which may
// quote Stripe's (a 401's quotes the key it refused).
func (c *call) finish(res gateway.Result) gateway.Result {
	res.Message = c.scrub.String(res.Message)
	if len(c.tr.Exchanges) > 0 {
		tr := c.tr
		res.Transcript = &tr
	}
	return res
}

// keyMode checks that key suits a sandbox (test key) or live (live key)
// gateway; the *payment.Error names the credential.
func keyMode(key string, sandbox bool) *payment.Error {
	invalid := func(msg string) *payment.Error {
		return &payment.Error{Kind: payment.KindInvalid, Code: CodeInvalidCredentials, Param: "secret_key", Message: msg}
	}
	var live bool
	switch {
	case key == "":
		return invalid("The Stripe secret key is missing.")
	case strings.HasPrefix(key, "sk_test_"), strings.HasPrefix(key, "rk_test_"):
		live = false
	case strings.HasPrefix(key, "sk_live_"), strings.HasPrefix(key, "rk_live_"):
		live = true
	default:
		return invalid("The Stripe secret key must start with sk_test_, sk_live_, rk_test_ or rk_live_.")
	}
	if sandbox && live {
		return invalid("A sandbox gateway needs a Stripe test key (sk_test_…), not a live key.")
	}
	if !sandbox && !live {
		return invalid("A live gateway needs a Stripe live key (sk_live_…), not a test key.")
	}
	return nil
}

func baseURL(c gateway.Config) string {
	if s, ok := c.Settings["base_url"].(string); ok && s != "" {
		return strings.TrimRight(s, "/")
	}
	return DefaultBaseURL
}

// answer is one call's outcome: either done (out is the operation's result:
// a network failure, an error status) or a 2xx body to decode.
type answer struct {
	done bool
	out  gateway.Result
	body []byte
}

// post sends a form to path with idemKey as Idempotency-Key.
func (c *call) post(ctx context.Context, path, idemKey string, f url.Values) answer {
	return c.do(ctx, http.MethodPost, path, idemKey, f, true)
}

// get reads path with query q. Reads move no money: their errors are
// returned as the result to pass on (unknown unless certainly not sent).
func (c *call) get(ctx context.Context, path string, q url.Values) answer {
	return c.do(ctx, http.MethodGet, path, "", q, false)
}

func (c *call) do(ctx context.Context, method, path, idemKey string, f url.Values, moves bool) answer {
	u := c.base + path
	var body []byte
	if method == http.MethodGet {
		if len(f) > 0 {
			u += "?" + f.Encode()
		}
	} else {
		body = []byte(f.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return answer{done: true, out: gateway.Result{Outcome: payment.OutcomeNotSent,
			Message: "The Stripe base URL is invalid."}}
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Stripe-Version", APIVersion)
	req.Header.Set("Accept", "application/json")
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, ex, err := c.a.client.Do(ctx, c.live, req, body, c.scrub)
	c.tr.Add(ex)
	if err != nil {
		out := gateway.Result{Outcome: gateway.ClassifyNetError(err)}
		switch {
		case errors.Is(err, netguard.ErrNotPublic):
			// Not an outage: the gateway points inside kassa's network.
			out.Message = "Not sent: the Stripe base URL's address is not public; a live account's gateway reaches only public addresses."
		case out.Outcome == payment.OutcomeNotSent:
			out.Message = "Not sent: Stripe could not be reached."
		default:
			out.Message = "No answer from Stripe after the request was sent."
		}
		return answer{done: true, out: out}
	}
	if resp.Status >= 200 && resp.Status < 300 {
		return answer{body: resp.Body}
	}
	return answer{done: true, out: errorResult(resp.Status, resp.Body, moves)}
}

// paymentMethod creates the PaymentMethod for r.Card. On failure it returns
// the operation's result: not sent whatever happened, since no
// PaymentIntent was asked for (a PaymentMethod moves no money), except a
// card Stripe refused outright, which is that refusal.
func (c *call) paymentMethod(ctx context.Context, r *gateway.Request) (string, *gateway.Result) {
	card := r.Card
	f := url.Values{}
	f.Set("type", "card")
	f.Set("card[number]", card.Number)
	f.Set("card[exp_month]", strconv.Itoa(card.ExpMonth))
	f.Set("card[exp_year]", strconv.Itoa(card.ExpYear))
	if card.CVC != "" {
		f.Set("card[cvc]", card.CVC)
	}
	set := func(k, v string) {
		if v != "" {
			f.Set("billing_details["+k+"]", v)
		}
	}
	set("name", card.HolderName)
	set("email", card.Email)
	set("address][line1", card.Billing.Line1)
	set("address][line2", card.Billing.Line2)
	set("address][city", card.Billing.City)
	set("address][state", card.Billing.State)
	set("address][postal_code", card.Billing.PostalCode)
	set("address][country", card.Billing.Country)
	f.Set("metadata[kassa_operation]", r.Reference)
	res := c.post(ctx, "/v1/payment_methods", r.Reference+"-pm", f)
	if res.done {
		out := res.out
		switch out.Outcome {
		case payment.OutcomeDeclined, payment.OutcomeFailed:
		default:
			out.Outcome = payment.OutcomeNotSent
			out.Message = "Not sent: the card could not be registered with Stripe (" + out.Message + ")."
		}
		return "", &out
	}
	pm, ok := decode[paymentMethod](res.body)
	if !ok || pm.ID == "" {
		out := gateway.Result{Outcome: payment.OutcomeNotSent,
			Message: "Not sent: Stripe's answer to the card registration could not be read."}
		return "", &out
	}
	return pm.ID, nil
}

func failed(code, responseCode, message string) gateway.Result {
	return gateway.Result{Outcome: payment.OutcomeFailed, DeclineCode: code, ResponseCode: responseCode, Message: message}
}

// malformed is the result of a money-moving call whose 2xx answer cannot be
// read: Stripe acted, but kassa cannot tell how.
func malformed() gateway.Result {
	return gateway.Result{Outcome: payment.OutcomeUnknown,
		Message: "Stripe's answer could not be read; the operation may have happened."}
}
