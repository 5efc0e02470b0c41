package payment

import (
	"errors"
	"fmt"
	"time"
)

// ErrorKind classifies an Error for the API layer, which maps each kind to a
// status code and an error type in its own dialect.
type ErrorKind string

const (
	// KindMalformed: the request could not be read (bad JSON, wrong content
	// type, body too large). HTTP 400/413/415.
	KindMalformed ErrorKind = "malformed"
	// KindInvalid: the request was read but a field is wrong. HTTP 422.
	KindInvalid ErrorKind = "invalid"
	// KindUnauthenticated: no or a bad API key. HTTP 401.
	KindUnauthenticated ErrorKind = "unauthenticated"
	// KindForbidden: the key is valid but its scope does not allow the call
	// (a publishable key on a secret-only endpoint). HTTP 403.
	KindForbidden ErrorKind = "forbidden"
	// KindNotFound: no such object in the caller's account. HTTP 404.
	KindNotFound ErrorKind = "not_found"
	// KindConflict: the object's state or a concurrent request forbids the
	// call. HTTP 409.
	KindConflict ErrorKind = "conflict"
	// KindInternal: kassa's own fault. HTTP 500; the message is never shown.
	KindInternal ErrorKind = "internal"
)

// Error codes shared by every layer. Dialects translate them into their own
// vocabularies; the native API uses them as they are (they follow Stripe's
// names where Stripe has one).
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
	CodeIdempotencyInUse     = "idempotency_key_in_use"
	CodeIdempotencyMismatch  = "idempotency_key_reused"
	CodeInvalidAPIKey        = "invalid_api_key"
	CodeScopeInsufficient    = "insufficient_scope"
	CodeMalformedBody        = "malformed_body"
	CodeBodyTooLarge         = "body_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeInternal             = "internal_error"

	// CodeCardNumberInText refuses a card number in a free-text field (a
	// name, an email, metadata), where it would be stored in the clear.
	CodeCardNumberInText = "card_number_in_text"
)

// Error is the error kassa's layers return for anything a caller did wrong or
// may branch on. Message is safe to show to the API client: it never holds
// card data, secrets or internal detail. Err, when set, is the internal cause
// and is only logged.
type Error struct {
	Kind    ErrorKind
	Code    string
	Message string
	// Param names the offending request field in the native API's dotted
	// form ("card.exp_month"), or is empty.
	Param string
	// RetryAfter, when positive, tells the client when a retry may
	// succeed (the Retry-After header of a 409 or 429).
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	s := string(e.Kind) + ": " + e.Code
	if e.Param != "" {
		s += " (" + e.Param + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) and friends match any Error of the same
// kind, so callers can branch on the kind without caring about the code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Code == "" && t.Message == "" && t.Param == "" && t.Err == nil && t.Kind == e.Kind
}

// Sentinels for errors.Is. Stores return errors that match them (wrapping
// NotFoundError etc. is fine).
var (
	ErrNotFound = &Error{Kind: KindNotFound}
	ErrConflict = &Error{Kind: KindConflict}
	ErrInvalid  = &Error{Kind: KindInvalid}
)

// ErrIdempotencyClaimLost reports that a request's Idempotency-Key was taken
// over by a retry while the request ran: the request must not reserve
// anything (the retry answers for the key). It is a conflict.
var ErrIdempotencyClaimLost = &Error{Kind: KindConflict, Code: CodeIdempotencyInUse,
	Message: "A retry with this Idempotency-Key took it over while this request ran; this request did nothing."}

// ErrStale reports a compare-and-set write (PaymentStore.SettlePayment)
// that found its rows changed since the caller read them: nothing was
// written, and the caller takes the locked path instead. It is internal:
// it never reaches a client.
var ErrStale = errors.New("payment: rows changed since they were read")

// NotFound reports that no object of the given noun and id exists in the
// caller's account.
func NotFound(noun, id string) *Error {
	return &Error{Kind: KindNotFound, Code: CodeResourceMissing, Param: "id",
		Message: fmt.Sprintf("No such %s: '%s'", noun, id)}
}

// Invalid reports a bad value of param.
func Invalid(code, param, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: code, Param: param, Message: fmt.Sprintf(format, args...)}
}

// Missing reports a required param that was not given.
func Missing(param string) *Error {
	return &Error{Kind: KindInvalid, Code: CodeParameterMissing, Param: param,
		Message: fmt.Sprintf("Missing required param: %s.", param)}
}

// Conflict reports a state or concurrency conflict.
func Conflict(code, format string, args ...any) *Error {
	return &Error{Kind: KindConflict, Code: code, Message: fmt.Sprintf(format, args...)}
}

// AsError returns err as an *Error when it is one (or wraps one).
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}
