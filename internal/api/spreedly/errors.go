package spreedly

import (
	"net/http"
	"strings"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/payment"
)

// Spreedly's error keys.
const (
	keyBlank          = "errors.blank"
	keyInvalid        = "errors.invalid"
	keyExpired        = "errors.expired"
	keyAccessDenied   = "errors.access_denied"
	keyAccountInact   = "errors.account_inactive"
	keyUnsupported    = "errors.unsupported_operation"
	keyGatewayType    = "errors.gateway_type_not_supported"
	keyInvalidState   = "errors.invalid_state"
	keyMalformed      = "errors.malformed_body"
	keyInternal       = "errors.internal"
	keyRouteNotFound  = "errors.route_not_found"
	keyBodyTooLarge   = "errors.body_too_large"
	keyUnsupportedCT  = "errors.unsupported_media_type"
	keyGatewayMissing = "errors.gateway_not_found"
	keyPMMissing      = "errors.payment_method_not_found"
	keyTxnMissing     = "errors.transaction_not_found"
	// kassa's own, for its Idempotency-Key: a request with the key is
	// still running.
	keyIdempotencyInUse = "errors.idempotency_key_in_use"
)

const accessDeniedMessage = "Unable to authenticate using the given environment_key and access_token.  Please check your credentials."

// errorItem is one entry of Spreedly's errors envelope.
type errorItem struct {
	attribute string // the request field, or ""
	key       string
	message   string
}

// spError is an error in Spreedly's own terms: a status and its entries.
type spError struct {
	status int
	items  []errorItem
}

func (e *spError) Error() string {
	var b strings.Builder
	b.WriteString("spreedly: ")
	for i, it := range e.items {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(it.key)
		if it.attribute != "" {
			b.WriteString(" (" + it.attribute + ")")
		}
	}
	return b.String()
}

func newError(status int, key, message string) *spError {
	return &spError{status: status, items: []errorItem{{key: key, message: message}}}
}

// fieldErr is a 422 about one request field.
func fieldErr(attribute, key string) *spError {
	return &spError{status: http.StatusUnprocessableEntity,
		items: []errorItem{{attribute: attribute, key: key, message: messageFor(attribute, key)}}}
}

var (
	errAccessDenied = newError(http.StatusUnauthorized, keyAccessDenied, accessDeniedMessage)
	errRouteMissing = newError(http.StatusNotFound, keyRouteNotFound, "Unable to find the requested resource. Check the URL, and that it ends in .json or .xml.")
)

func notFound(noun string) *spError {
	switch noun {
	case "gateway":
		return newError(http.StatusNotFound, keyGatewayMissing, "Unable to find the specified gateway.")
	case "payment_method":
		return newError(http.StatusNotFound, keyPMMissing, "Unable to find the specified payment method.")
	}
	return newError(http.StatusNotFound, keyTxnMissing, "Unable to find the specified transaction.")
}

// unsupported answers what kassa does not do yet (receivers, 3-D Secure
// complete / confirm, offsite flows).
func unsupported(what string) *spError {
	return newError(http.StatusUnprocessableEntity, keyUnsupported,
		"The "+what+" operation is not supported by this server.")
}

// accountInactive is Spreedly's answer to a real card on a test account.
func accountInactive(accountID string) *spError {
	return newError(http.StatusPaymentRequired, keyAccountInact,
		"Your environment ("+accountID+") has not been activated for real transactions with real payment methods. "+
			"If you're using a Test Gateway you can *ONLY* use Test payment methods - ( https://docs.spreedly.com/test-data)")
}

// humanize writes an attribute as Rails does in a message: "first_name" is
// "First name".
func humanize(attribute string) string {
	s := strings.ReplaceAll(attribute, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func messageFor(attribute, key string) string {
	h := humanize(attribute)
	switch key {
	case keyBlank:
		return h + " can't be blank"
	case keyExpired:
		return h + " is expired"
	case keyGatewayType:
		return "The specified gateway_type is not supported"
	}
	return h + " is invalid"
}

// cardNumberMessage refuses a card number in a free-text attribute.
// Spreedly has no key of its own for it: it is errors.invalid.
func cardNumberMessage(attribute string) string {
	return humanize(attribute) + " must not contain a card number"
}

// attributeOf names an engine parameter as a Spreedly request field.
func attributeOf(param string) string {
	switch param {
	case "card.number":
		return "number"
	case "card.exp_month":
		return "month"
	case "card.exp_year":
		return "year"
	case "card.cvc":
		return "verification_value"
	case "card.holder_name":
		return "full_name"
	case "currency":
		return "currency_code"
	case "payment_method":
		return "payment_method_token"
	case "gateway":
		return "gateway_token"
	case "type":
		return "gateway_type"
	case "reference":
		return "order_id"
	case "settings":
		return "gateway_settings"
	}
	for _, p := range []struct{ from, to string }{
		{"billing_address.line1", "address1"}, {"billing_address.line2", "address2"},
		{"billing_address.postal_code", "zip"},
	} {
		if param == p.from {
			return p.to
		}
	}
	for _, prefix := range []string{"credentials.", "billing_address.", "gateway_specific_fields.", "settings.", "stored_credential."} {
		if rest, ok := strings.CutPrefix(param, prefix); ok {
			return rest
		}
	}
	return param
}

// translate turns an error of the engine or the plumbing into Spreedly's
// terms. Server faults become a generic 500 (the cause is logged by
// api.Resolve).
func (s *server) translate(r *http.Request, err error) *spError {
	if se, ok := err.(*spError); ok {
		return se
	}
	status, e := api.Resolve(s.log, r, err)
	switch {
	case status >= 500:
		return newError(http.StatusInternalServerError, keyInternal, e.Message)
	case status == http.StatusUnauthorized:
		return errAccessDenied
	case status == http.StatusNotFound:
		switch e.Param {
		case "payment_method":
			return notFound("payment_method")
		case "gateway":
			return notFound("gateway")
		}
		return newError(http.StatusNotFound, "errors.not_found", "Unable to find the specified resource.")
	case status == http.StatusRequestEntityTooLarge:
		return newError(status, keyBodyTooLarge, e.Message)
	case status == http.StatusUnsupportedMediaType:
		return newError(status, keyUnsupportedCT, e.Message)
	case status == http.StatusBadRequest:
		return newError(status, keyMalformed, e.Message)
	case status == http.StatusConflict && e.Code == payment.CodeIdempotencyInUse:
		// Not a state of the object: the same request is in flight, and
		// a retry after Retry-After may be answered.
		return newError(http.StatusConflict, keyIdempotencyInUse, e.Message)
	case status == http.StatusConflict:
		return newError(http.StatusUnprocessableEntity, keyInvalidState, e.Message)
	}
	attribute := attributeOf(api.SafeParam(e.Param))
	item := errorItem{attribute: attribute, key: keyInvalid, message: e.Message}
	switch e.Code {
	case payment.CodeParameterMissing:
		item.key = keyBlank
		item.message = messageFor(attribute, keyBlank)
	case payment.CodeExpiredCard:
		item.key = keyExpired
		item.message = messageFor(attribute, keyExpired)
	case payment.CodeInvalidNumber, payment.CodeInvalidExpiryMonth, payment.CodeInvalidExpiryYear, payment.CodeInvalidCVC:
		item.message = messageFor(attribute, keyInvalid)
	case "operation_not_supported", "operation_disabled":
		item.key = keyUnsupported
	case payment.CodeCardNumberInText:
		item.message = cardNumberMessage(attribute)
	}
	if item.message == "" {
		item.message = messageFor(attribute, item.key)
	}
	return &spError{status: http.StatusUnprocessableEntity, items: []errorItem{item}}
}

// errorsNode renders the entries as Spreedly's errors envelope.
func errorsNode(items []errorItem) *node {
	list := array("errors")
	for _, it := range items {
		n := str("error", it.message)
		if it.attribute != "" {
			n.withAttr("attribute", it.attribute)
		}
		n.withAttr("key", it.key)
		list.add(n)
	}
	return list
}

// render is the dialect's api.ErrorRenderer.
func (s *server) render(w http.ResponseWriter, r *http.Request, err error) {
	se := s.translate(r, err)
	api.SetRetryAfter(w, err)
	if se.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="Spreedly"`)
	}
	write(w, formatOfPath(r.URL.Path), se.status, errorsNode(se.items))
}
