package native

import (
	"net/http"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/payment"
)

// Error types of the envelope, as Stripe names them.
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuthentication = "authentication_error"
	typePermission     = "permission_error"
	typeIdempotency    = "idempotency_error"
	typeCard           = "card_error"
	typeAPI            = "api_error"
)

// errorEnvelope is the body of every error response.
type errorEnvelope struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
}

// render is the native API's api.ErrorRenderer.
func (s *server) render(w http.ResponseWriter, r *http.Request, err error) {
	status, e := api.Resolve(s.log, r, err)
	api.SetRetryAfter(w, err)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kassa"`)
	}
	obj := errorObject{Type: errorType(status, e.Code), Code: e.Code, Message: e.Message, Param: e.Param}
	if obj.Code == "" {
		obj.Code = defaultCode(e.Kind)
	}
	if obj.Message == "" {
		obj.Message = http.StatusText(status) + "."
	}
	api.JSON(w, status, errorEnvelope{Error: obj}) // cannot fail: only strings
}

// errorType is the envelope's type of an error of status and code.
func errorType(status int, code string) string {
	switch {
	case status >= 500:
		return typeAPI
	case code == payment.CodeIdempotencyInUse || code == payment.CodeIdempotencyMismatch:
		return typeIdempotency
	case code == payment.CodeInvalidNumber || code == payment.CodeInvalidExpiryMonth ||
		code == payment.CodeInvalidExpiryYear || code == payment.CodeExpiredCard || code == payment.CodeInvalidCVC:
		return typeCard
	case status == http.StatusUnauthorized:
		return typeAuthentication
	case status == http.StatusForbidden:
		return typePermission
	}
	return typeInvalidRequest
}

// defaultCode names an error that came without a code.
func defaultCode(k payment.ErrorKind) string {
	switch k {
	case payment.KindMalformed:
		return payment.CodeMalformedBody
	case payment.KindInvalid:
		return payment.CodeParameterInvalid
	case payment.KindUnauthenticated:
		return payment.CodeInvalidAPIKey
	case payment.KindForbidden:
		return payment.CodeScopeInsufficient
	case payment.KindNotFound:
		return payment.CodeResourceMissing
	case payment.KindConflict:
		return payment.CodeInvalidState
	}
	return payment.CodeInternal
}
