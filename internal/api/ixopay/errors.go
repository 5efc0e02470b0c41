package ixopay

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/payment"
)

// IXOPAY's error codes (its documentation's families; clients branch on
// them, never on the message).
const (
	CodeRequestFailed   = 1000 // the request failed
	CodeInvalidRequest  = 1001 // invalid request (malformed, unreadable)
	CodeValueNotAllowed = 1002 // a value that is not allowed
	CodeInvalidFormat   = 1003 // a value in the wrong format
	CodeInvalidChars    = 1004 // a value with characters it may not hold
	CodeMissing         = 1005 // a mandatory parameter is missing
	CodeNotApplicable   = 1006 // a parameter that does not apply
	CodeNoSuchEntity    = 1007 // the entity does not exist (in this merchant)
	CodeSystemError     = 1008 // a system error
	CodeMaintenance     = 1010 // maintenance
	CodeInternal        = 9999 // an internal error
)

// Codes of the transaction and status APIs where IXOPAY's consolidated
// table (documentation.ixopay.com/docs/reference/appendix/error-codes)
// gives 1004 and up another meaning than the provisioning API's families
// above.
const (
	CodeInvalidRequestData  = 1002 // any validation error of a transaction request
	CodeInvalidSignature    = 1004 // the request signature is wrong
	CodeTransactionNotFound = 8001 // no such transaction for this connector (status API)
)

// ixError is an error in IXOPAY's terms: the HTTP status and
// {"success":false,"errorCode","errorMessage"}.
type ixError struct {
	status  int
	code    int
	message string
	// retryAfter and limit, for a 429: the Retry-After and
	// X-RateLimit-Limit headers.
	retryAfter time.Duration
	limit      int
}

func (e *ixError) Error() string { return fmt.Sprintf("ixopay: %d %s", e.code, e.message) }

func newError(status, code int, format string, args ...any) *ixError {
	return &ixError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// invalid is a 422 about a field, named in the message.
func invalid(code int, format string, args ...any) *ixError {
	return newError(http.StatusUnprocessableEntity, code, format, args...)
}

var (
	errAccessDenied = newError(http.StatusUnauthorized, CodeRequestFailed, "Access denied: unknown merchant or wrong credentials.")
	errRouteMissing = newError(http.StatusNotFound, CodeInvalidRequest, "No such API endpoint.")
	errSignature    = newError(http.StatusUnauthorized, CodeInvalidSignature, "Invalid signature: check X-Signature and Date.")
	errInternal     = newError(http.StatusInternalServerError, CodeSystemError, "A system error occurred.")
	// errInternalProvisioning: the provisioning API documents 9999 for its
	// 500s, where the transaction API has 1008.
	errInternalProvisioning = newError(http.StatusInternalServerError, CodeInternal, "Internal system error.")
	errMethodNotAllow       = newError(http.StatusMethodNotAllowed, CodeInvalidRequest, "Method not allowed on this endpoint.")
)

// errUnknownConnector answers a transaction request whose apiKey names
// none of the caller's connectors (another merchant's included). The key
// is not echoed: it names the connector in every request. The status API
// answers it as an unknown transaction instead (status.go).
var errUnknownConnector = newError(http.StatusNotFound, CodeNoSuchEntity, "No connector with this apiKey exists.")

// errDuplicate answers a transaction whose merchantTransactionId the
// connector already has, whatever its type: IXOPAY's debit reference shows
// it as a system error, HTTP 400 with the envelope and 3004, not as a
// result. Nothing happened.
var errDuplicate = newError(http.StatusBadRequest, CodeDuplicateID, "Duplicate transaction ID: merchantTransactionId is already used on this connector.")

// transactionNotFound is the status API's answer for a transaction the
// path's connector does not have (another connector's and another
// merchant's included): HTTP 200, success false and 8001, as IXOPAY
// documents it (its status API documents only 200 and 429). An apiKey
// that names none of the caller's connectors gets the same answer: such a
// connector has no transactions, IXOPAY documents no other status there,
// and the answer does not tell which apiKeys exist.
func transactionNotFound(by, id string) *ixError {
	return newError(http.StatusOK, CodeTransactionNotFound, "Transaction not found: this connector has no transaction with %s '%s'.", by, printable(id))
}

// notFound is IXOPAY's "entity does not exist" for what, by id.
func notFound(what, id string) *ixError {
	return newError(http.StatusNotFound, CodeNoSuchEntity, "%s %q does not exist.", what, id)
}

// errorBody is IXOPAY's error envelope.
type errorBody struct {
	Success      bool   `json:"success"`
	ErrorCode    int    `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
}

// translate turns an error of the engine or the plumbing into IXOPAY's
// terms. Server faults become a generic 500 (api.Resolve logs the cause).
func (s *server) translate(r *http.Request, err error) *ixError {
	var ie *ixError
	if errors.As(err, &ie) {
		return ie
	}
	status, e := api.Resolve(s.log, r, err)
	param := api.SafeParam(e.Param)
	switch {
	case status >= 500:
		if strings.HasPrefix(r.URL.Path, "/api/provisioning/") {
			return errInternalProvisioning
		}
		return errInternal
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return errAccessDenied
	case status == http.StatusNotFound:
		if param != "" {
			return newError(http.StatusNotFound, CodeNoSuchEntity, "%s does not exist.", param)
		}
		return newError(http.StatusNotFound, CodeNoSuchEntity, "%s", e.Message)
	case status == http.StatusRequestEntityTooLarge, status == http.StatusUnsupportedMediaType, status == http.StatusBadRequest:
		return newError(status, CodeInvalidRequest, "%s", e.Message)
	case status == http.StatusConflict && e.Code == payment.CodeIdempotencyInUse:
		return newError(http.StatusConflict, CodeRequestFailed, "%s", e.Message)
	case status == http.StatusConflict:
		return newError(http.StatusUnprocessableEntity, CodeValueNotAllowed, "%s", e.Message)
	}
	code := CodeValueNotAllowed
	switch e.Code {
	case payment.CodeParameterMissing:
		code = CodeMissing
	case payment.CodeParameterUnknown:
		code = CodeNotApplicable
	case payment.CodeCardNumberInText:
		code = CodeInvalidChars
	case payment.CodeInvalidNumber, payment.CodeInvalidExpiryMonth, payment.CodeInvalidExpiryYear, payment.CodeInvalidCVC:
		code = CodeInvalidFormat
	}
	msg := e.Message
	if param != "" {
		msg = param + ": " + e.Message
	}
	return newError(http.StatusUnprocessableEntity, code, "%s", msg)
}

// render is the dialect's api.ErrorRenderer.
func (s *server) render(w http.ResponseWriter, r *http.Request, err error) {
	ie := s.translate(r, err)
	api.SetRetryAfter(w, err)
	if ie.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="IXOPAY"`)
	}
	if ie.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((ie.retryAfter+time.Second-1)/time.Second), 10))
	}
	if ie.limit > 0 {
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(ie.limit))
	}
	code := ie.code
	if ie.status == http.StatusUnprocessableEntity && transactionAPI(r) {
		code = CodeInvalidRequestData
	}
	writeJSON(w, ie.status, errorBody{Success: false, ErrorCode: code, ErrorMessage: ie.message})
}

// transactionAPI says whether r is a transaction or status request.
//
// IXOPAY's transaction API answers every validation error with 422 and
// 1002 "Invalid request data", the field named in the message
// (documentation.ixopay.com/api/pci/debit); the finer families 1003–1006
// are its provisioning API's, and there 1004 is a bad signature. The
// handlers build their 422s with the finer codes, shared with the
// provisioning API; render answers the transaction API's with 1002.
func transactionAPI(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/v3/")
}

// writeJSON writes v as IXOPAY's JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}
