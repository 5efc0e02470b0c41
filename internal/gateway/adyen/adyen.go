// Package adyen is kassa's adapter for Adyen's Checkout API (v71), gateway
// type "adyen", and the verification of Adyen's standard notifications
// (webhooks).
//
// Authorize and purchase are one POST /payments with the raw card data
// (which needs Adyen's permission to process raw card data). An
// authorization asks for manual capture (additionalData.manualCapture
// "true"); a purchase asks Adyen to capture at once (captureDelayHours 0),
// so a purchase is one call whose Authorised answer is final for kassa.
// Adyen still books that capture asynchronously, and a rare CAPTURE_FAILED
// notification can follow it (see NotificationItem.Outcome).
//
// Capture, void and refund are Adyen "modifications": POST
// /payments/{pspReference}/captures, /cancels and /refunds. Adyen answers
// 201 "received" and reports what became of the modification later, in a
// CAPTURE, CAPTURE_FAILED, CANCELLATION, REFUND or REFUND_FAILED
// notification. Their Result is therefore payment.OutcomePending with the
// modification's pspReference as GatewayReference: accepted, awaiting the
// notification. ParseNotification verifies a notification batch and
// NotificationItem.Outcome says how each item settles the operation.
//
// Adyen has no API to look up a payment or a modification by reference, so
// the adapter has no QueryStatus: an unknown outcome is settled by the
// notification that Adyen sends for every payment and modification it
// received (and, failing that, by hand from the Customer Area).
//
// Every request carries kassa's operation id as the Idempotency-Key header
// and as the merchant reference.
package adyen

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// Type is the gateway type.
const Type = "adyen"

// The credential and setting names.
const (
	CredAPIKey          = "api_key"
	CredMerchantAccount = "merchant_account"
	CredHMACKey         = "hmac_key"
	SettingLivePrefix   = "live_url_prefix"
	SettingBaseURL      = "base_url"
)

// TestURL is the Checkout API's test endpoint; the live one is built from
// the merchant's live URL prefix (LiveURL).
const TestURL = "https://checkout-test.adyen.com/v71"

// LiveURL returns the Checkout API's live endpoint for a live URL prefix
// ("1797a841fbb37ca7-AdyenDemo" in Adyen's example).
func LiveURL(prefix string) string {
	return "https://" + prefix + "-checkout-live.adyenpayments.com/checkout/v71"
}

// Codes the adapter puts in Result.DeclineCode beyond the refusal codes of
// refusals.
const (
	CodeInvalidCredentials   = "invalid_credentials"
	CodeInvalidRequest       = "invalid_request"
	CodeProcessingError      = "processing_error"
	CodeRateLimited          = "rate_limited"
	CodeMisconfigured        = "gateway_misconfigured"
	CodeAuthenticationNeeded = "authentication_required"
)

// Options configure an Adapter.
type Options struct {
	// HTTP configures the client; tests set its Transport and Timeout.
	HTTP gateway.HTTPOptions
}

// Adapter is the Adyen gateway type. It is safe for concurrent use and
// holds no per-gateway state: each call reads its Config.
type Adapter struct {
	http *gateway.HTTPClient
}

var (
	_ gateway.Adapter           = (*Adapter)(nil)
	_ gateway.Authorizer        = (*Adapter)(nil)
	_ gateway.Purchaser         = (*Adapter)(nil)
	_ gateway.Capturer          = (*Adapter)(nil)
	_ gateway.Voider            = (*Adapter)(nil)
	_ gateway.Refunder          = (*Adapter)(nil)
	_ gateway.CredentialChecker = (*Adapter)(nil)
	_ gateway.ConfigChecker     = (*Adapter)(nil)
)

// New returns an Adapter. Make one per process.
func New(opts Options) *Adapter {
	return &Adapter{http: gateway.NewHTTPClient(opts.HTTP)}
}

// Spec describes the Adyen gateway type.
func (a *Adapter) Spec() gateway.Spec {
	return gateway.Spec{
		Type:        Type,
		DisplayName: "Adyen",
		CredentialFields: []gateway.Field{
			{Name: CredAPIKey, Label: "API key", Kind: gateway.KindString, Required: true, Sensitive: true},
			{Name: CredMerchantAccount, Label: "Merchant account", Kind: gateway.KindString, Required: true},
			{Name: CredHMACKey, Label: "Notification HMAC key (hex)", Kind: gateway.KindString, Required: true, Sensitive: true},
		},
		SettingsFields: []gateway.Field{
			{Name: SettingLivePrefix, Label: "Live URL prefix (required for live)", Kind: gateway.KindString},
			{Name: SettingBaseURL, Label: "Base URL (overrides the endpoint)", Kind: gateway.KindString, URL: true},
		},
		Operations: []payment.OperationKind{
			payment.OpAuthorize, payment.OpPurchase, payment.OpCapture, payment.OpVoid, payment.OpRefund,
		},
		PaymentMethodTypes: []string{"card"},
		GatewaySpecificFields: []gateway.Field{
			{Name: "shopper_reference", Label: "Adyen shopperReference", Kind: gateway.KindString},
			{Name: "shopper_ip", Label: "Adyen shopperIP", Kind: gateway.KindString},
			{Name: "shopper_statement", Label: "Adyen shopperStatement", Kind: gateway.KindString},
		},
		Currencies:    []string{},
		Notifications: true,
	}
}

// Authorize reserves r.Amount on r.Card, to be captured later.
func (a *Adapter) Authorize(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return a.pay(ctx, r, false)
}

// Purchase authorizes r.Amount on r.Card and has Adyen capture it at once.
func (a *Adapter) Purchase(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return a.pay(ctx, r, true)
}

// Capture asks Adyen to capture r.Amount of the authorization
// r.PriorReference. Adyen's acceptance is OutcomePending; the CAPTURE
// notification settles it.
func (a *Adapter) Capture(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return a.modify(ctx, r, "captures", true)
}

// Void asks Adyen to cancel the authorization r.PriorReference. Adyen's
// acceptance is OutcomePending; the CANCELLATION notification settles it.
func (a *Adapter) Void(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return a.modify(ctx, r, "cancels", false)
}

// Refund asks Adyen to refund r.Amount of the payment r.PriorReference.
// Adyen's acceptance is OutcomePending; the REFUND (or REFUND_FAILED)
// notification settles it.
func (a *Adapter) Refund(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return a.modify(ctx, r, "refunds", true)
}

// CheckCredentials checks the HMAC key locally (it must be hex) and the API
// key and merchant account with POST /paymentMethods, the cheapest call
// that needs both and moves no money. A 401 means the API key is wrong; a
// 403 that the key may not act for the merchant account (or lacks the
// Checkout webservice role).
func (a *Adapter) CheckCredentials(ctx context.Context, c gateway.Config) error {
	if _, err := decodeHMACKey(c.Credentials[CredHMACKey]); err != nil {
		return &payment.Error{Kind: payment.KindInvalid, Code: CodeInvalidCredentials, Param: CredHMACKey,
			Message: "The HMAC key must be the hex-encoded key shown in Adyen's Customer Area."}
	}
	cl, res := a.newCall(c, nil)
	if res != nil {
		return &payment.Error{Kind: payment.KindInvalid, Code: CodeMisconfigured, Param: cl.param, Message: res.Message}
	}
	resp, _, err := cl.post(ctx, a.http, "/paymentMethods", "", map[string]string{"merchantAccount": cl.merchant})
	if err != nil {
		return fmt.Errorf("adyen: checking credentials: %w", err)
	}
	switch {
	case resp.Status == http.StatusOK:
		return nil
	case resp.Status == http.StatusUnauthorized:
		return &payment.Error{Kind: payment.KindInvalid, Code: CodeInvalidCredentials, Param: CredAPIKey,
			Message: "Adyen refused the API key."}
	case resp.Status == http.StatusForbidden:
		return &payment.Error{Kind: payment.KindInvalid, Code: CodeInvalidCredentials, Param: CredMerchantAccount,
			Message: "The API key may not act for this merchant account, or lacks the Checkout role."}
	case resp.Status == http.StatusUnprocessableEntity:
		e := parseError(resp.Body)
		return &payment.Error{Kind: payment.KindInvalid, Code: CodeInvalidCredentials, Param: CredMerchantAccount,
			Message: "Adyen refused the request: " + e.Message}
	}
	return fmt.Errorf("adyen: checking credentials: unexpected HTTP status %d", resp.Status)
}

// CheckConfig refuses, before anything is saved, what would otherwise
// surface only later: an HMAC key that is not hex (every notification
// would then fail its signature check) and a live gateway without its
// live URL prefix (every operation would be not-sent, as newCall says). A
// base URL stands in for the prefix, as in newCall.
func (a *Adapter) CheckConfig(c gateway.Config) error {
	if h, ok := c.Credentials[CredHMACKey]; ok {
		if _, err := decodeHMACKey(h); err != nil {
			param := "credentials." + CredHMACKey
			return payment.Invalid(payment.CodeParameterInvalid, param,
				"%s must be the hex-encoded HMAC key shown in Adyen's Customer Area.", param)
		}
	}
	if c.Sandbox {
		return nil
	}
	if base, _ := c.Settings[SettingBaseURL].(string); base != "" {
		return nil
	}
	param := "settings." + SettingLivePrefix
	prefix, _ := c.Settings[SettingLivePrefix].(string)
	if prefix == "" {
		return &payment.Error{Kind: payment.KindInvalid, Code: payment.CodeParameterMissing, Param: param,
			Message: param + " is missing: a live Adyen gateway needs its live URL prefix (Customer Area, Developers > API URLs)."}
	}
	if !livePrefixRE.MatchString(prefix) {
		return payment.Invalid(payment.CodeParameterInvalid, param,
			"%s must be the live URL prefix alone (letters, digits and hyphens), not a URL.", param)
	}
	return nil
}

// call is what one operation needs to talk to Adyen: the endpoint, the
// merchant account, the API key and the scrubber of its secrets.
type call struct {
	base     string
	apiKey   string
	merchant string
	scrub    *gateway.Scrubber
	live     bool   // the account's mode: public addresses only
	param    string // the misconfigured field, for newCall's failure
}

// livePrefixRE is what a live URL prefix may hold: it becomes part of a
// host name.
var livePrefixRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,126}[A-Za-z0-9])?$`)

// newCall reads c. If the configuration cannot make a request, it returns a
// not-sent Result saying why.
func (a *Adapter) newCall(c gateway.Config, card *gateway.Card) (*call, *gateway.Result) {
	cl := &call{
		apiKey:   c.Credentials[CredAPIKey],
		merchant: c.Credentials[CredMerchantAccount],
		live:     c.Live,
		// The merchant account is not a secret; the HMAC key never goes
		// out but is scrubbed anyway in case a response echoed it.
		scrub: gateway.NewScrubber(card, map[string]string{
			CredAPIKey: c.Credentials[CredAPIKey], CredHMACKey: c.Credentials[CredHMACKey],
		}),
	}
	misconfigured := func(param, msg string) (*call, *gateway.Result) {
		cl.param = param
		return cl, &gateway.Result{Outcome: payment.OutcomeNotSent, DeclineCode: CodeMisconfigured, Message: msg}
	}
	if cl.apiKey == "" {
		return misconfigured(CredAPIKey, "The Adyen gateway has no API key.")
	}
	if cl.merchant == "" {
		return misconfigured(CredMerchantAccount, "The Adyen gateway has no merchant account.")
	}
	if base, _ := c.Settings[SettingBaseURL].(string); base != "" {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return misconfigured(SettingBaseURL, "The base URL is not an http(s) URL.")
		}
		cl.base = strings.TrimRight(base, "/")
		return cl, nil
	}
	if c.Sandbox {
		cl.base = TestURL
		return cl, nil
	}
	prefix, _ := c.Settings[SettingLivePrefix].(string)
	if !livePrefixRE.MatchString(prefix) {
		return misconfigured(SettingLivePrefix, "A live Adyen gateway needs its live URL prefix.")
	}
	cl.base = LiveURL(prefix)
	return cl, nil
}

// post sends body as JSON to path, with idem (when set) as the
// Idempotency-Key.
func (cl *call) post(ctx context.Context, hc *gateway.HTTPClient, path, idem string, body any) (*gateway.HTTPResponse, gateway.Exchange, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, gateway.Exchange{}, fmt.Errorf("adyen: encoding request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cl.base+path, nil)
	if err != nil {
		return nil, gateway.Exchange{}, fmt.Errorf("adyen: building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-API-Key", cl.apiKey)
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	return hc.Do(ctx, cl.live, req, data, cl.scrub)
}

// amount is Adyen's Amount: the value in minor units.
type amount struct {
	Currency string `json:"currency"`
	Value    int64  `json:"value"`
}

// cardDetails is the paymentMethod of a payment with raw card data.
type cardDetails struct {
	Type        string `json:"type"`
	Number      string `json:"number"`
	ExpiryMonth string `json:"expiryMonth"`
	ExpiryYear  string `json:"expiryYear"`
	CVC         string `json:"cvc,omitempty"`
	HolderName  string `json:"holderName,omitempty"`
}

// address is Adyen's Address; every field but stateOrProvince is required
// when it is sent.
type address struct {
	Street            string `json:"street"`
	HouseNumberOrName string `json:"houseNumberOrName"`
	PostalCode        string `json:"postalCode"`
	City              string `json:"city"`
	StateOrProvince   string `json:"stateOrProvince,omitempty"`
	Country           string `json:"country"`
}

// paymentRequest is the body of POST /payments.
type paymentRequest struct {
	Amount                   amount            `json:"amount"`
	Reference                string            `json:"reference"`
	PaymentMethod            cardDetails       `json:"paymentMethod"`
	MerchantAccount          string            `json:"merchantAccount"`
	ShopperInteraction       string            `json:"shopperInteraction"`
	RecurringProcessingModel string            `json:"recurringProcessingModel,omitempty"`
	CaptureDelayHours        *int              `json:"captureDelayHours,omitempty"`
	AdditionalData           map[string]string `json:"additionalData,omitempty"`
	BillingAddress           *address          `json:"billingAddress,omitempty"`
	ShopperEmail             string            `json:"shopperEmail,omitempty"`
	ShopperReference         string            `json:"shopperReference,omitempty"`
	ShopperIP                string            `json:"shopperIP,omitempty"`
	ShopperStatement         string            `json:"shopperStatement,omitempty"`
}

// paymentResponse is what POST /payments answers (the fields kassa reads).
type paymentResponse struct {
	ResultCode        string         `json:"resultCode"`
	PSPReference      string         `json:"pspReference"`
	RefusalReason     string         `json:"refusalReason"`
	RefusalReasonCode string         `json:"refusalReasonCode"`
	MerchantReference string         `json:"merchantReference"`
	AdditionalData    map[string]any `json:"additionalData"`
}

// errorResponse is Adyen's error body (ServiceError).
type errorResponse struct {
	Status       int    `json:"status"`
	ErrorCode    string `json:"errorCode"`
	Message      string `json:"message"`
	ErrorType    string `json:"errorType"`
	PSPReference string `json:"pspReference"`
}

func parseError(body []byte) errorResponse {
	var e errorResponse
	_ = json.Unmarshal(body, &e) // a body that is not Adyen's shape leaves e empty
	return e
}

// newPaymentRequest builds the /payments body of r.
func newPaymentRequest(r *gateway.Request, merchant string, purchase bool) paymentRequest {
	c := r.Card
	p := paymentRequest{
		Amount:    amount{Currency: strings.ToUpper(r.Currency), Value: r.Amount},
		Reference: r.Reference,
		PaymentMethod: cardDetails{
			Type:        "scheme",
			Number:      c.Number,
			ExpiryMonth: fmt.Sprintf("%02d", c.ExpMonth),
			ExpiryYear:  fmt.Sprintf("%04d", fullYear(c.ExpYear)),
			CVC:         c.CVC,
			HolderName:  c.HolderName,
		},
		MerchantAccount:    merchant,
		ShopperInteraction: "Ecommerce",
		ShopperEmail:       c.Email,
	}
	if purchase {
		zero := 0
		p.CaptureDelayHours = &zero
	} else {
		p.AdditionalData = map[string]string{"manualCapture": "true"}
	}
	if sc := r.StoredCredential; sc != nil {
		if sc.Initiator == "merchant" {
			p.ShopperInteraction = "ContAuth"
		}
		switch sc.Reason {
		case "recurring":
			p.RecurringProcessingModel = "Subscription"
		case "unscheduled":
			p.RecurringProcessingModel = "UnscheduledCardOnFile"
		default:
			p.RecurringProcessingModel = "CardOnFile"
		}
	}
	if b := c.Billing; b.Country != "" {
		p.BillingAddress = &address{
			Street: b.Line1, HouseNumberOrName: b.Line2, PostalCode: b.PostalCode,
			City: b.City, StateOrProvince: b.State, Country: b.Country,
		}
	}
	p.ShopperReference = stringField(r.GatewaySpecificFields, "shopper_reference")
	p.ShopperIP = stringField(r.GatewaySpecificFields, "shopper_ip")
	p.ShopperStatement = stringField(r.GatewaySpecificFields, "shopper_statement")
	return p
}

// fullYear turns a two-digit expiry year into the four digits Adyen wants.
func fullYear(y int) int {
	if y >= 0 && y < 100 {
		return 2000 + y
	}
	return y
}

func stringField(m map[string]any, name string) string {
	s, _ := m[name].(string)
	return s
}

// pay runs POST /payments.
func (a *Adapter) pay(ctx context.Context, r *gateway.Request, purchase bool) (gateway.Result, error) {
	if r == nil || r.Card == nil {
		return gateway.Result{}, errors.New("adyen: a payment needs a card")
	}
	cl, res := a.newCall(r.Config, r.Card)
	if res != nil {
		return *res, nil
	}
	resp, ex, err := cl.post(ctx, a.http, "/payments", r.Reference, newPaymentRequest(r, cl.merchant, purchase))
	if resp == nil && ex.Method == "" {
		return gateway.Result{}, err // the request could not be built
	}
	out := gateway.Result{Transcript: &gateway.Transcript{Exchanges: []gateway.Exchange{ex}}}
	if err != nil {
		out.Outcome = gateway.ClassifyNetError(err)
		out.Message = ex.Error
		return out, nil
	}
	if resp.Status != http.StatusOK {
		return cl.scrubbed(httpFailure(out, resp)), nil
	}
	var pr paymentResponse
	if err := json.Unmarshal(resp.Body, &pr); err != nil || pr.ResultCode == "" {
		out.Outcome = payment.OutcomeUnknown
		out.Message = "Adyen's answer could not be read."
		return out, nil
	}
	return cl.scrubbed(paymentResult(out, pr)), nil
}

// scrubbed masks the call's secrets in the parts of res taken from Adyen's
// answer that are not in the (already scrubbed) transcript: an error
// message may echo what was sent.
func (cl *call) scrubbed(res gateway.Result) gateway.Result {
	res.Message = cl.scrub.String(res.Message)
	res.ResponseCode = cl.scrub.String(res.ResponseCode)
	return res
}

// paymentResult maps a /payments answer with HTTP 200.
func paymentResult(out gateway.Result, pr paymentResponse) gateway.Result {
	out.GatewayReference = pr.PSPReference
	out.ResponseCode = pr.ResultCode
	out.Message = pr.ResultCode
	ad := pr.AdditionalData
	out.AVSCode = resultCode(ad, "avsResultRaw", "avsResult")
	out.CVVCode = resultCode(ad, "cvcResultRaw", "cvcResult")
	out.NetworkTransactionID = str(ad["networkTxReference"])
	switch pr.ResultCode {
	case "Authorised":
		out.Outcome = payment.OutcomeSucceeded
	case "Refused", "Cancelled":
		out.Outcome = payment.OutcomeDeclined
		out.DeclineCode = refusalCode(pr.RefusalReasonCode, pr.RefusalReason)
		if pr.RefusalReasonCode != "" {
			out.ResponseCode = pr.RefusalReasonCode
		}
		if pr.RefusalReason != "" {
			out.Message = pr.RefusalReason
		}
	case "Error":
		out.Outcome = payment.OutcomeFailed
		out.DeclineCode = CodeProcessingError
		if pr.RefusalReasonCode != "" {
			out.ResponseCode = pr.RefusalReasonCode
		}
		if pr.RefusalReason != "" {
			out.Message = pr.RefusalReason
		}
	case "RedirectShopper", "IdentifyShopper", "ChallengeShopper", "PresentToShopper":
		// kassa's card API has no shopper to send anywhere: the payment
		// stays unfinished at Adyen and expires.
		out.Outcome = payment.OutcomeDeclined
		out.DeclineCode = CodeAuthenticationNeeded
		out.Message = "Adyen asked for shopper action (" + pr.ResultCode + "), which kassa's card API cannot take."
	case "Received", "Pending":
		// Adyen has the payment but decides later: the AUTHORISATION
		// notification settles it.
		out.Outcome = payment.OutcomePending
	default:
		// PartiallyAuthorised (never asked for) or a code this adapter does
		// not know: the payment may exist in some state.
		out.Outcome = payment.OutcomeUnknown
		out.Message = "Adyen answered with result code " + pr.ResultCode + "."
	}
	return out
}

// resultCode returns additionalData[raw] (the network's own code, sent when
// the merchant account enables raw results) or else the code part of
// additionalData[adyen] ("1" of "1 Matches").
func resultCode(ad map[string]any, raw, adyen string) string {
	if v := str(ad[raw]); v != "" {
		return v
	}
	v := str(ad[adyen])
	if i := strings.IndexByte(v, ' '); i > 0 {
		return v[:i]
	}
	return v
}

func str(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case json.Number:
		return s.String()
	case float64:
		return strconv.FormatFloat(s, 'f', -1, 64)
	}
	return ""
}

// httpFailure maps a response other than the operation's success status.
func httpFailure(out gateway.Result, resp *gateway.HTTPResponse) gateway.Result {
	e := parseError(resp.Body)
	out.ResponseCode = e.ErrorCode
	out.Message = e.Message
	if out.Message == "" {
		out.Message = fmt.Sprintf("Adyen answered HTTP %d.", resp.Status)
	}
	switch {
	case resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden:
		out.Outcome = payment.OutcomeFailed
		out.DeclineCode = CodeInvalidCredentials
	case resp.Status == http.StatusUnprocessableEntity && e.ErrorCode == "704":
		// "Request already processed or in progress": the first request
		// with this Idempotency-Key may still succeed.
		out.Outcome = payment.OutcomeUnknown
	case resp.Status == http.StatusTooManyRequests:
		out.Outcome = payment.OutcomeFailed
		out.DeclineCode = CodeRateLimited
	case resp.Status >= 400 && resp.Status < 500:
		out.Outcome = payment.OutcomeFailed
		out.DeclineCode = validationCode(e.ErrorCode)
	default:
		// 5xx, and anything else (a redirect, an unexpected 2xx): Adyen may
		// have acted before it failed.
		out.Outcome = payment.OutcomeUnknown
	}
	return out
}

// modificationRequest is the body of a capture, cancel or refund.
type modificationRequest struct {
	MerchantAccount string  `json:"merchantAccount"`
	Amount          *amount `json:"amount,omitempty"`
	Reference       string  `json:"reference"`
}

// modificationResponse is what Adyen answers a modification with (201).
type modificationResponse struct {
	PSPReference        string `json:"pspReference"`
	PaymentPSPReference string `json:"paymentPspReference"`
	Reference           string `json:"reference"`
	Status              string `json:"status"`
}

// modify runs POST /payments/{r.PriorReference}/{what}.
func (a *Adapter) modify(ctx context.Context, r *gateway.Request, what string, withAmount bool) (gateway.Result, error) {
	if r == nil || r.PriorReference == "" {
		return gateway.Result{}, fmt.Errorf("adyen: %s needs the payment's pspReference", what)
	}
	cl, res := a.newCall(r.Config, nil)
	if res != nil {
		return *res, nil
	}
	body := modificationRequest{MerchantAccount: cl.merchant, Reference: r.Reference}
	if withAmount {
		body.Amount = &amount{Currency: strings.ToUpper(r.Currency), Value: r.Amount}
	}
	resp, ex, err := cl.post(ctx, a.http, "/payments/"+url.PathEscape(r.PriorReference)+"/"+what, r.Reference, body)
	if resp == nil && ex.Method == "" {
		return gateway.Result{}, err
	}
	out := gateway.Result{Transcript: &gateway.Transcript{Exchanges: []gateway.Exchange{ex}}}
	if err != nil {
		out.Outcome = gateway.ClassifyNetError(err)
		out.Message = ex.Error
		return out, nil
	}
	if resp.Status != http.StatusCreated && resp.Status != http.StatusOK {
		return cl.scrubbed(httpFailure(out, resp)), nil
	}
	var mr modificationResponse
	if err := json.Unmarshal(resp.Body, &mr); err != nil || mr.Status != "received" || mr.PSPReference == "" {
		out.Outcome = payment.OutcomeUnknown
		out.Message = "Adyen's answer could not be read."
		return out, nil
	}
	out.Outcome = payment.OutcomePending
	out.GatewayReference = mr.PSPReference
	out.ResponseCode = mr.Status
	out.Message = "Adyen received the request; its outcome arrives by notification."
	return out, nil
}

// decodeHMACKey decodes a hex HMAC key. Its error never quotes the key.
func decodeHMACKey(h string) ([]byte, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return nil, ErrNoHMACKey
	}
	k, err := hex.DecodeString(h)
	if err != nil || len(k) == 0 {
		return nil, ErrBadHMACKey
	}
	return k, nil
}
