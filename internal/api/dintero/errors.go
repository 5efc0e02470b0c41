package dintero

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/kassapay/kassa/internal/api"
)

// Dintero's error codes as kassa renders them. Dintero documents `code` as
// a free string that clients branch on only loosely; kassa uses one code
// per status, and a few of OAuth 2.0's (RFC 6749 §5.2) on the token
// endpoint.
const (
	CodeBadRequest           = "BAD_REQUEST"
	CodeUnauthorized         = "UNAUTHORIZED"
	CodeForbidden            = "FORBIDDEN"
	CodeNotFound             = "NOT_FOUND"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	CodeConflict             = "CONFLICT"
	CodePayloadTooLarge      = "PAYLOAD_TOO_LARGE"
	CodeUnsupportedMedia     = "UNSUPPORTED_MEDIA_TYPE"
	CodeServerError          = "SERVER_ERROR"
	CodeUnsupportedGrantType = "unsupported_grant_type"
	CodeInvalidScope         = "invalid_scope"
)

// FieldError is one entry of an error's "errors": what is wrong at path, a
// dotted field path into the request body ("order.items[0].amount") or a
// path parameter's name.
type FieldError struct {
	Path    string `json:"path"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

// Error is an error in Dintero's terms: an HTTP status and
// {"error":{"message","code","errors"}}. Handlers return it (or engine
// errors, which render translates).
type Error struct {
	Status  int
	Code    string
	Message string
	Errors  []FieldError
}

func (e *Error) Error() string { return fmt.Sprintf("dintero: %d %s: %s", e.Status, e.Code, e.Message) }

// newError is an Error without field entries.
func newError(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// fieldError is a 400 about one field.
func fieldError(path, code, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: msg,
		Errors: []FieldError{{Path: path, Code: code, Message: msg}}}
}

var (
	errUnauthorized = newError(http.StatusUnauthorized, CodeUnauthorized,
		"Access forbidden: send a valid access token as 'Authorization: Bearer <token>'.")
	errBadToken = newError(http.StatusUnauthorized, CodeUnauthorized,
		"Access forbidden: the access token is invalid or expired.")
	errBadClient = newError(http.StatusUnauthorized, CodeUnauthorized,
		"Access forbidden: unknown client or wrong client secret for this account.")
	errBadAPIKey = newError(http.StatusUnauthorized, CodeUnauthorized,
		"Access forbidden: the x-api-key is not a valid secret key.")
	errOtherAccount = newError(http.StatusForbidden, CodeForbidden,
		"Forbidden: the credentials do not grant access to this account.")
	errScope = newError(http.StatusForbidden, CodeForbidden,
		"Forbidden: the access token lacks the scope this endpoint requires.")
	errNoAccount     = newError(http.StatusNotFound, CodeNotFound, "Account not found: an account id is P or T and 8 digits.")
	errRouteMissing  = newError(http.StatusNotFound, CodeNotFound, "No such endpoint.")
	errMethodMissing = newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "Method not allowed on this endpoint.")
	errServer        = newError(http.StatusInternalServerError, CodeServerError, "An unexpected error occurred.")
)

// errorBody is Dintero's error envelope.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Message string       `json:"message"`
	Code    string       `json:"code"`
	Errors  []FieldError `json:"errors,omitempty"`
}

// translate turns any error into Dintero's terms. Server faults become a
// generic 500 naming the request id; api.Resolve logs their cause. Field
// paths the client chose are shown only when they are identifiers
// (api.SafeParam), so a card number sent as a key is never echoed.
func (s *server) translate(r *http.Request, err error) *Error {
	var de *Error
	if errors.As(err, &de) {
		return de
	}
	status, e := api.Resolve(s.log, r, err)
	param := safePath(e.Param)
	out := &Error{Status: status, Message: e.Message}
	if param != api.SafeParam(e.Param) {
		out.Message = "The request holds a field that is not allowed."
	}
	switch {
	case status >= 500:
		c := *errServer
		c.Message = e.Message // names the request id
		return &c
	case status == http.StatusUnauthorized:
		return errUnauthorized
	case status == http.StatusForbidden:
		return errScope
	case status == http.StatusNotFound:
		out.Code = CodeNotFound
	case status == http.StatusMethodNotAllowed:
		out.Code = CodeMethodNotAllowed
	case status == http.StatusConflict:
		out.Code = CodeConflict
	case status == http.StatusRequestEntityTooLarge:
		out.Code = CodePayloadTooLarge
	case status == http.StatusUnsupportedMediaType:
		out.Code = CodeUnsupportedMedia
	default:
		// Dintero answers every invalid request with 400, malformed or
		// not.
		out.Status, out.Code = http.StatusBadRequest, CodeBadRequest
	}
	if param != "" && param != "body" {
		out.Errors = []FieldError{{Path: param, Code: e.Code, Message: e.Message}}
	}
	return out
}

// render is the dialect's api.ErrorRenderer.
func (s *server) render(w http.ResponseWriter, r *http.Request, err error) {
	de := s.translate(r, err)
	api.SetRetryAfter(w, err)
	if de.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="dintero"`)
	}
	body := errorBody{Error: errorDetail{Message: de.Message, Code: de.Code, Errors: de.Errors}}
	if err := api.JSON(w, de.Status, body); err != nil {
		s.log.Error("dintero: render error", "error", err.Error())
	}
}
