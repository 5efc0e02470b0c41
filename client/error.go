package client

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// Error codes the server sends in Error.Code (they follow Stripe's names
// where Stripe has one). The list may grow; branch on the ones you handle
// and treat the rest by status.
const (
	CodeParameterMissing     = "parameter_missing"
	CodeParameterInvalid     = "parameter_invalid"
	CodeParameterUnknown     = "parameter_unknown"
	CodeInvalidNumber        = "invalid_number"
	CodeInvalidExpiryMonth   = "invalid_expiry_month"
	CodeInvalidExpiryYear    = "invalid_expiry_year"
	CodeExpiredCard          = "expired_card"
	CodeInvalidCVC           = "invalid_cvc"
	CodeResourceMissing      = "resource_missing"
	CodeInvalidState         = "invalid_state"
	CodeIdempotencyKeyInUse  = "idempotency_key_in_use"
	CodeIdempotencyKeyReused = "idempotency_key_reused"
	CodeInvalidAPIKey        = "invalid_api_key"
	CodeInsufficientScope    = "insufficient_scope"
	CodeMalformedBody        = "malformed_body"
	CodeBodyTooLarge         = "body_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeInternalError        = "internal_error"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeRouteNotFound        = "route_not_found"

	// Gateways and payments.
	CodeGatewayNotAllowed       = "gateway_not_allowed"
	CodeGatewayRedacted         = "gateway_redacted"
	CodeCredentialsUnverified   = "credentials_unverified"
	CodeOperationNotSupported   = "operation_not_supported"
	CodeOperationDisabled       = "operation_disabled"
	CodeAmountExceedsCapturable = "amount_exceeds_capturable"
	CodeAmountExceedsRefundable = "amount_exceeds_refundable"
	CodeTestCardOnLiveAccount   = "test_card_on_live_account"
)

// Error is a 4xx or 5xx answer of the server. Message is the server's, meant
// for people; Type and Code are for programs.
type Error struct {
	StatusCode int
	Type       string
	Code       string
	Message    string
	// Param names the offending request field in dotted form
	// ("card.exp_month"), or is empty.
	Param string
	// RequestID is the server's X-Request-Id, or empty.
	RequestID string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("kassa: ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Param != "" {
		b.WriteString(" (")
		b.WriteString(e.Param)
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" [request ")
		b.WriteString(e.RequestID)
		b.WriteString("]")
	}
	return b.String()
}

// IsNotFound reports whether err is (or wraps) an *Error saying that the
// object does not exist in the key's account.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsConflict reports whether err is (or wraps) an *Error saying that the
// object's state or a concurrent request forbids the call, including an
// idempotency key still in use by another request.
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

// IsUnauthorized reports whether err is (or wraps) an *Error saying the API
// key is missing, unknown, expired or revoked.
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

func hasStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == status
}

// decodeError reads an error response. A body that is not the API's error
// object (from a proxy, say) is not quoted: only its status is kept.
func decodeError(status int, requestID string, body []byte) *Error {
	var wire struct {
		Error *struct {
			Type    string `json:"type"`
			Code    string `json:"code"`
			Message string `json:"message"`
			Param   string `json:"param"`
		} `json:"error"`
	}
	e := &Error{StatusCode: status, RequestID: requestID}
	if json.Unmarshal(body, &wire) == nil && wire.Error != nil {
		e.Type = wire.Error.Type
		e.Code = wire.Error.Code
		e.Message = wire.Error.Message
		e.Param = wire.Error.Param
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}
