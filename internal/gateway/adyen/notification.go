package adyen

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/kassapay/kassa/internal/payment"
)

// Accepted is the body the notification endpoint answers a batch it has
// verified and stored with (HTTP 200). Adyen resends a batch answered with
// anything else, so answer it only once every item is durably applied.
const Accepted = "[accepted]"

// Errors of ParseNotification. A caller answers ErrMalformedNotification
// with 400 and the signature errors with 401; the key errors are kassa's
// configuration fault (500). None of them quotes the key or the body.
var (
	ErrNoHMACKey             = errors.New("adyen: the gateway has no notification HMAC key")
	ErrBadHMACKey            = errors.New("adyen: the notification HMAC key is not hex")
	ErrMalformedNotification = errors.New("adyen: malformed notification")
	ErrMissingSignature      = errors.New("adyen: notification item without an HMAC signature")
	ErrBadSignature          = errors.New("adyen: notification item with a wrong HMAC signature")
)

// Event codes of the standard webhook that settle kassa operations.
const (
	EventAuthorisation    = "AUTHORISATION"
	EventCapture          = "CAPTURE"
	EventCaptureFailed    = "CAPTURE_FAILED"
	EventCancellation     = "CANCELLATION"
	EventRefund           = "REFUND"
	EventRefundFailed     = "REFUND_FAILED"
	EventRefundedReversed = "REFUNDED_REVERSED"
	EventCancelOrRefund   = "CANCEL_OR_REFUND"
)

// NotificationItem is one verified NotificationRequestItem.
type NotificationItem struct {
	EventCode string
	// Success is the item's success flag: for a modification event, whether
	// the modification went through.
	Success bool
	// PSPReference is Adyen's reference of what the event is about: the
	// payment for AUTHORISATION, the modification for CAPTURE,
	// CANCELLATION, REFUND and their failures (the GatewayReference of the
	// pending kassa operation).
	PSPReference string
	// OriginalReference is the payment's pspReference for modification
	// events, empty for AUTHORISATION.
	OriginalReference string
	MerchantAccount   string
	// MerchantReference is the reference kassa sent: its operation id.
	MerchantReference string
	Amount            int64 // minor units
	Currency          string
	// Reason is Adyen's explanation of a failure or refusal (refusalReason
	// text for AUTHORISATION).
	Reason        string
	PaymentMethod string
	EventDate     string
	// Live is the batch's live flag: false for Adyen's test platform.
	Live bool
}

// rawNotification is Adyen's standard webhook body.
type rawNotification struct {
	Live              string `json:"live"`
	NotificationItems []struct {
		NotificationRequestItem *rawItem `json:"NotificationRequestItem"`
	} `json:"notificationItems"`
}

type rawItem struct {
	AdditionalData map[string]any `json:"additionalData"`
	Amount         *struct {
		Value    json.Number `json:"value"`
		Currency string      `json:"currency"`
	} `json:"amount"`
	EventCode           string `json:"eventCode"`
	EventDate           string `json:"eventDate"`
	MerchantAccountCode string `json:"merchantAccountCode"`
	MerchantReference   string `json:"merchantReference"`
	OriginalReference   string `json:"originalReference"`
	PSPReference        string `json:"pspReference"`
	PaymentMethod       string `json:"paymentMethod"`
	Reason              string `json:"reason"`
	Success             string `json:"success"`
}

// ParseNotification reads a standard webhook body and verifies the HMAC
// signature (additionalData.hmacSignature) of every item with the
// hex-encoded key hmacKeyHex. It returns the items only if every one is
// signed correctly: one missing or wrong signature refuses the whole batch
// (ErrMissingSignature, ErrBadSignature), so that nothing of a forged or
// altered batch is applied. A body that is not a batch of well-formed items
// is ErrMalformedNotification; a missing or non-hex key ErrNoHMACKey or
// ErrBadHMACKey.
//
// The signed payload is, per Adyen's "Verify HMAC signatures" page, the
// values of pspReference, originalReference, merchantAccountCode,
// merchantReference, amount.value, amount.currency, eventCode and success,
// absent ones as empty strings, joined by ':' without escaping; the
// signature is the Base64 of its HMAC-SHA256 under the hex-decoded key.
func ParseNotification(body []byte, hmacKeyHex string) ([]NotificationItem, error) {
	key, err := decodeHMACKey(hmacKeyHex)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw rawNotification
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformedNotification, jsonProblem(err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the batch", ErrMalformedNotification)
	}
	if len(raw.NotificationItems) == 0 {
		return nil, fmt.Errorf("%w: no notification items", ErrMalformedNotification)
	}
	live := raw.Live == "true"
	items := make([]NotificationItem, 0, len(raw.NotificationItems))
	for i, w := range raw.NotificationItems {
		it, err := verifyItem(w.NotificationRequestItem, key)
		if err != nil {
			return nil, fmt.Errorf("%w (item %d)", err, i)
		}
		it.Live = live
		items = append(items, it)
	}
	return items, nil
}

// verifyItem checks one item's form and signature.
func verifyItem(r *rawItem, key []byte) (NotificationItem, error) {
	if r == nil {
		return NotificationItem{}, fmt.Errorf("%w: no NotificationRequestItem", ErrMalformedNotification)
	}
	if r.EventCode == "" || r.PSPReference == "" {
		return NotificationItem{}, fmt.Errorf("%w: no eventCode or pspReference", ErrMalformedNotification)
	}
	if r.Success != "true" && r.Success != "false" {
		return NotificationItem{}, fmt.Errorf("%w: success is neither \"true\" nor \"false\"", ErrMalformedNotification)
	}
	var value int64
	var currency string
	if r.Amount != nil {
		currency = r.Amount.Currency
		if r.Amount.Value != "" {
			v, err := strconv.ParseInt(r.Amount.Value.String(), 10, 64)
			if err != nil {
				return NotificationItem{}, fmt.Errorf("%w: amount.value is not a whole number", ErrMalformedNotification)
			}
			value = v
		}
	}
	sigText, _ := r.AdditionalData["hmacSignature"].(string)
	if sigText == "" {
		return NotificationItem{}, ErrMissingSignature
	}
	sig, err := base64.StdEncoding.DecodeString(sigText)
	if err != nil {
		return NotificationItem{}, ErrBadSignature
	}
	payload := strings.Join([]string{
		r.PSPReference, r.OriginalReference, r.MerchantAccountCode, r.MerchantReference,
		strconv.FormatInt(value, 10), currency, r.EventCode, r.Success,
	}, ":")
	if !hmac.Equal(sig, sign(key, payload)) {
		return NotificationItem{}, ErrBadSignature
	}
	return NotificationItem{
		EventCode:         r.EventCode,
		Success:           r.Success == "true",
		PSPReference:      r.PSPReference,
		OriginalReference: r.OriginalReference,
		MerchantAccount:   r.MerchantAccountCode,
		MerchantReference: r.MerchantReference,
		Amount:            value,
		Currency:          currency,
		Reason:            r.Reason,
		PaymentMethod:     r.PaymentMethod,
		EventDate:         r.EventDate,
	}, nil
}

// sign returns the HMAC-SHA256 of payload under key.
func sign(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// jsonProblem describes a decoding error without quoting the body.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%s has the wrong type", te.Field)
	}
	return "invalid JSON"
}

// Kind is the kind of kassa operation the item settles, or "" for an event
// that settles none (CHARGEBACK, REPORT_AVAILABLE, …: acknowledge and
// ignore them). AUTHORISATION answers OpAuthorize; it settles an
// authorization or a purchase whose /payments answer was pending or lost.
func (n NotificationItem) Kind() payment.OperationKind {
	switch n.EventCode {
	case EventAuthorisation:
		return payment.OpAuthorize
	case EventCapture, EventCaptureFailed:
		return payment.OpCapture
	case EventCancellation:
		return payment.OpVoid
	case EventRefund, EventRefundFailed, EventRefundedReversed, EventCancelOrRefund:
		return payment.OpRefund
	}
	return ""
}

// Outcome is the final outcome of the operation the item settles, with
// kassa's decline code when it did not succeed; ("", "") when the item
// settles no operation (see Kind).
//
// CAPTURE_FAILED, REFUND_FAILED and REFUNDED_REVERSED are Adyen's word that
// a capture or refund it had reported successful failed after all (the
// scheme or bank returned it): they turn a succeeded operation failed, the
// one exception to "a settled outcome is final" the engine must allow.
func (n NotificationItem) Outcome() (payment.Outcome, string) {
	switch n.EventCode {
	case EventAuthorisation:
		if n.Success {
			return payment.OutcomeSucceeded, ""
		}
		return payment.OutcomeDeclined, refusalCode("", n.Reason)
	case EventCapture, EventCancellation, EventRefund, EventCancelOrRefund:
		if n.Success {
			return payment.OutcomeSucceeded, ""
		}
		return payment.OutcomeFailed, failedCode(n.EventCode)
	case EventCaptureFailed, EventRefundFailed, EventRefundedReversed:
		return payment.OutcomeFailed, failedCode(n.EventCode)
	}
	return "", ""
}

// Codes of failed modifications, from notifications.
const (
	CodeCaptureFailed      = "capture_failed"
	CodeCancellationFailed = "cancellation_failed"
	CodeRefundFailed       = "refund_failed"
	CodeRefundReversed     = "refund_reversed"
)

func failedCode(event string) string {
	switch event {
	case EventCapture, EventCaptureFailed:
		return CodeCaptureFailed
	case EventCancellation:
		return CodeCancellationFailed
	case EventRefundedReversed:
		return CodeRefundReversed
	}
	return CodeRefundFailed
}
