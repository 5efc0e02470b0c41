package stripe

import (
	"encoding/json"
	"net/http"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// The parts of Stripe's objects the adapter reads (API version APIVersion).

type paymentMethod struct {
	ID string `json:"id"`
}

type paymentIntent struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Status           string            `json:"status"`
	Amount           int64             `json:"amount"`
	AmountReceived   int64             `json:"amount_received"`
	Metadata         map[string]string `json:"metadata"`
	LatestCharge     *charge           `json:"latest_charge"`
	LastPaymentError *apiError         `json:"last_payment_error"`
	Created          int64             `json:"created"`
}

// UnmarshalJSON accepts an unexpanded PaymentIntent (its id), as an error
// object may carry one.
func (pi *paymentIntent) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &pi.ID)
	}
	type plain paymentIntent
	return json.Unmarshal(b, (*plain)(pi))
}

// charge is a Charge, expanded from latest_charge; unexpanded it is only
// an id, which UnmarshalJSON accepts.
type charge struct {
	ID                   string `json:"id"`
	Status               string `json:"status"`
	PaymentMethodDetails struct {
		Card *cardDetails `json:"card"`
	} `json:"payment_method_details"`
	Outcome *struct {
		NetworkStatus string `json:"network_status"`
		Reason        string `json:"reason"`
		SellerMessage string `json:"seller_message"`
		Type          string `json:"type"`
	} `json:"outcome"`
}

func (c *charge) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &c.ID)
	}
	type plain charge
	return json.Unmarshal(b, (*plain)(c))
}

type cardDetails struct {
	Checks *struct {
		AddressLine1Check      string `json:"address_line1_check"`
		AddressPostalCodeCheck string `json:"address_postal_code_check"`
		CVCCheck               string `json:"cvc_check"`
	} `json:"checks"`
	NetworkTransactionID string `json:"network_transaction_id"`
}

type setupIntent struct {
	ID             string            `json:"id"`
	Status         string            `json:"status"`
	Metadata       map[string]string `json:"metadata"`
	LastSetupError *apiError         `json:"last_setup_error"`
	LatestAttempt  *setupAttempt     `json:"latest_attempt"`
}

type setupAttempt struct {
	ID                   string `json:"id"`
	PaymentMethodDetails struct {
		Card *cardDetails `json:"card"`
	} `json:"payment_method_details"`
}

func (s *setupAttempt) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &s.ID)
	}
	type plain setupAttempt
	return json.Unmarshal(b, (*plain)(s))
}

type refund struct {
	ID            string            `json:"id"`
	Status        string            `json:"status"`
	Amount        int64             `json:"amount"`
	PaymentIntent string            `json:"payment_intent"`
	Metadata      map[string]string `json:"metadata"`
	FailureReason string            `json:"failure_reason"`
}

type list[T any] struct {
	Data     []T    `json:"data"`
	HasMore  bool   `json:"has_more"`
	NextPage string `json:"next_page"`
}

// apiError is Stripe's error object, the value of "error" in an error
// answer and of last_payment_error / last_setup_error.
type apiError struct {
	Type          string          `json:"type"`
	Code          string          `json:"code"`
	DeclineCode   string          `json:"decline_code"`
	Message       string          `json:"message"`
	Param         string          `json:"param"`
	PaymentIntent *paymentIntent  `json:"payment_intent"`
	SetupIntent   json.RawMessage `json:"setup_intent"`
}

func decode[T any](body []byte) (T, bool) {
	var v T
	err := json.Unmarshal(body, &v)
	return v, err == nil
}

// result maps a PaymentIntent after an authorize or purchase.
func (pi *paymentIntent) result() gateway.Result {
	out := gateway.Result{GatewayReference: pi.ID, ResponseCode: pi.Status}
	if ch := pi.LatestCharge; ch != nil {
		applyCard(&out, ch.PaymentMethodDetails.Card)
	}
	switch pi.Status {
	case "succeeded", "requires_capture":
		out.Outcome, out.Message = payment.OutcomeSucceeded, "Approved."
	case "requires_action":
		out.Outcome, out.DeclineCode = payment.OutcomeDeclined, DeclineAuthenticationRequired
		out.Message = "The issuer requires cardholder authentication (3-D Secure)."
	case "requires_payment_method":
		out.Outcome, out.DeclineCode, out.Message = payment.OutcomeDeclined, DeclineCardDeclined, "The card was declined."
		if e := pi.LastPaymentError; e != nil {
			out.Outcome, out.DeclineCode = cardErrorOutcome(e)
			out.ResponseCode = stripeCode(e)
			if e.Message != "" {
				out.Message = e.Message
			}
		}
	case "processing":
		out.Outcome, out.Message = payment.OutcomeUnknown, "Stripe is still processing the payment."
	default: // canceled, requires_confirmation
		out.Outcome, out.DeclineCode = payment.OutcomeFailed, CodeInvalidState
		out.Message = "Stripe left the PaymentIntent " + pi.Status + "."
	}
	return out
}

// result maps a SetupIntent after a verify.
func (si *setupIntent) result() gateway.Result {
	out := gateway.Result{GatewayReference: si.ID, ResponseCode: si.Status}
	if at := si.LatestAttempt; at != nil {
		applyCard(&out, at.PaymentMethodDetails.Card)
	}
	switch si.Status {
	case "succeeded":
		out.Outcome, out.Message = payment.OutcomeSucceeded, "The card was verified."
	case "requires_action":
		out.Outcome, out.DeclineCode = payment.OutcomeDeclined, DeclineAuthenticationRequired
		out.Message = "The issuer requires cardholder authentication (3-D Secure)."
	case "requires_payment_method":
		out.Outcome, out.DeclineCode, out.Message = payment.OutcomeDeclined, DeclineCardDeclined, "The card was declined."
		if e := si.LastSetupError; e != nil {
			out.Outcome, out.DeclineCode = cardErrorOutcome(e)
			out.ResponseCode = stripeCode(e)
			if e.Message != "" {
				out.Message = e.Message
			}
		}
	case "processing":
		out.Outcome, out.Message = payment.OutcomeUnknown, "Stripe is still verifying the card."
	default:
		out.Outcome, out.DeclineCode = payment.OutcomeFailed, CodeInvalidState
		out.Message = "Stripe left the SetupIntent " + si.Status + "."
	}
	return out
}

// result maps a Refund.
func (rf *refund) result() gateway.Result {
	out := gateway.Result{GatewayReference: rf.ID, ResponseCode: rf.Status}
	switch rf.Status {
	case "succeeded":
		out.Outcome, out.Message = payment.OutcomeSucceeded, "Refunded."
	case "failed", "canceled":
		out.Outcome, out.DeclineCode = payment.OutcomeFailed, CodeRefundFailed
		out.Message = "The refund " + rf.Status + "."
		if rf.FailureReason != "" {
			out.ResponseCode = rf.FailureReason
			out.Message += " (" + rf.FailureReason + ")"
		}
	default: // pending, requires_action: settled later, found by a status query
		out.Outcome = payment.OutcomeUnknown
		out.Message = "Stripe has not finished the refund (" + rf.Status + ")."
	}
	return out
}

// applyCard copies the card checks and network transaction id. AVS is
// reported in the usual one-letter codes (Y both match, A address only, Z
// postal code only, N neither, U not checked), CVC as M match, N no match,
// U unavailable, P not processed.
func applyCard(out *gateway.Result, c *cardDetails) {
	if c == nil {
		return
	}
	out.NetworkTransactionID = c.NetworkTransactionID
	if c.Checks == nil {
		return
	}
	out.AVSCode = avsCode(c.Checks.AddressLine1Check, c.Checks.AddressPostalCodeCheck)
	switch c.Checks.CVCCheck {
	case "pass":
		out.CVVCode = "M"
	case "fail":
		out.CVVCode = "N"
	case "unavailable":
		out.CVVCode = "U"
	case "unchecked":
		out.CVVCode = "P"
	}
}

func avsCode(line1, postal string) string {
	if line1 == "" && postal == "" {
		return ""
	}
	switch {
	case line1 == "pass" && postal == "pass":
		return "Y"
	case line1 == "pass":
		return "A"
	case postal == "pass":
		return "Z"
	case line1 == "fail" || postal == "fail":
		return "N"
	}
	return "U"
}

// errorResult maps a non-2xx answer. moves says whether the call moves
// money, for which an answer kassa cannot place is unknown.
func errorResult(status int, body []byte, moves bool) gateway.Result {
	env, ok := decode[struct {
		Error *apiError `json:"error"`
	}](body)
	e := env.Error
	if !ok || e == nil {
		e = &apiError{}
	}
	out := gateway.Result{ResponseCode: stripeCode(e), Message: e.Message}
	if e.PaymentIntent != nil {
		out.GatewayReference = e.PaymentIntent.ID
		if ch := e.PaymentIntent.LatestCharge; ch != nil {
			applyCard(&out, ch.PaymentMethodDetails.Card)
		}
	}
	switch {
	case status == http.StatusPaymentRequired:
		out.Outcome, out.DeclineCode = cardErrorOutcome(e)
		if out.Message == "" {
			out.Message = "The card was declined."
		}
	case status == http.StatusTooManyRequests:
		// Stripe does not act on a request it rate-limits (or that lost
		// the race for a lock): nothing happened.
		out.Outcome = payment.OutcomeNotSent
		if out.Message == "" {
			out.Message = "Stripe rate-limited the request."
		}
	case status == http.StatusConflict:
		// Another request with this Idempotency-Key is in flight; its
		// outcome is this operation's.
		out.Outcome = payment.OutcomeUnknown
		if out.Message == "" {
			out.Message = "Another request with the same idempotency key is in progress at Stripe."
		}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		out.Outcome, out.DeclineCode = payment.OutcomeFailed, CodeInvalidCredentials
		if out.Message == "" {
			out.Message = "Stripe refused the secret key."
		}
	case status == http.StatusNotFound:
		out.Outcome, out.DeclineCode = payment.OutcomeFailed, CodeInvalidReference
		if out.Message == "" {
			out.Message = "Stripe has no such object."
		}
	case status >= 400 && status < 500 && ok:
		out.Outcome, out.DeclineCode = payment.OutcomeFailed, requestErrorCode(e)
		if out.Message == "" {
			out.Message = "Stripe refused the request."
		}
	default:
		// 5xx: Stripe may have acted before it failed; the Idempotency-Key
		// makes a later resend safe. An unreadable 4xx is placed the same
		// way for a money-moving call.
		out.Outcome = payment.OutcomeUnknown
		if !moves && status >= 400 && status < 500 {
			out.Outcome = payment.OutcomeFailed
		}
		out.Message = "Stripe answered HTTP " + http.StatusText(status) + "; the operation may have happened."
		if e.Message != "" {
			out.Message += " " + e.Message
		}
	}
	return out
}

// requestErrorCode is the DeclineCode of a 400.
func requestErrorCode(e *apiError) string {
	switch {
	case e.Type == "idempotency_error":
		return payment.CodeIdempotencyMismatch
	case e.Type == "card_error":
		_, code := cardErrorOutcome(e)
		return code
	case e.Code == "payment_intent_unexpected_state", e.Code == "charge_already_captured",
		e.Code == "charge_already_refunded", e.Code == "setup_intent_unexpected_state":
		return CodeInvalidState
	case e.Code == "amount_too_large", e.Code == "amount_too_small", e.Code == "parameter_invalid_integer":
		return "invalid_amount"
	case e.Code == "resource_missing":
		return CodeInvalidReference
	}
	return CodeInvalidRequest
}

// stripeCode is Stripe's own code of an error: the decline code when the
// issuer gave one, else the error code.
func stripeCode(e *apiError) string {
	if e.DeclineCode != "" {
		return e.DeclineCode
	}
	return e.Code
}

// cardErrorOutcome normalises a card error: declined with kassa's code, or
// failed for card data Stripe finds malformed.
func cardErrorOutcome(e *apiError) (payment.Outcome, string) {
	for _, c := range []string{e.DeclineCode, e.Code} {
		switch c {
		case "incorrect_number", "invalid_number":
			return payment.OutcomeFailed, payment.CodeInvalidNumber
		case "invalid_expiry_month":
			return payment.OutcomeFailed, payment.CodeInvalidExpiryMonth
		case "invalid_expiry_year":
			return payment.OutcomeFailed, payment.CodeInvalidExpiryYear
		}
		if code, ok := declineCodes[c]; ok {
			return payment.OutcomeDeclined, code
		}
	}
	return payment.OutcomeDeclined, DeclineCardDeclined
}

// declineCodes maps Stripe's decline codes and card error codes to kassa's.
// Those not listed ("generic_decline", "fraudulent", "pickup_card", …) are
// card_declined: a fraud suspicion is not told to the payer.
var declineCodes = map[string]string{
	"insufficient_funds":              DeclineInsufficientFunds,
	"card_velocity_exceeded":          DeclineInsufficientFunds,
	"withdrawal_count_limit_exceeded": DeclineInsufficientFunds,
	"lost_card":                       DeclineLostCard,
	"stolen_card":                     DeclineStolenCard,
	"expired_card":                    DeclineExpiredCard,
	"incorrect_cvc":                   payment.CodeInvalidCVC,
	"invalid_cvc":                     payment.CodeInvalidCVC,
	"do_not_honor":                    DeclineDoNotHonor,
	"authentication_required":         DeclineAuthenticationRequired,
	"authentication_not_handled":      DeclineAuthenticationRequired,
	"processing_error":                CodeProcessingError,
	"issuer_not_available":            CodeProcessingError,
	"try_again_later":                 CodeProcessingError,
	"reenter_transaction":             CodeProcessingError,
	"incorrect_zip":                   DeclineCardDeclined,
}
