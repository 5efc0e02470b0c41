package dintero

import (
	"net/http"
	"strings"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/payment"
)

// decode reads the request's JSON body into dst strictly (api.DecodeJSON):
// one object, no unknown or repeated key, every value of its field's type.
// Its errors are Dintero's 400 (413, 415) naming the field at fault in
// "errors"; none repeats the body.
func decode(r *http.Request, dst any) error {
	if err := api.DecodeJSON(r, dst); err != nil {
		return decodeError(err)
	}
	return nil
}

// decodeBody is decode for a body already read.
func decodeBody(body []byte, dst any) error {
	if err := api.StrictUnmarshal(body, dst); err != nil {
		return decodeError(err)
	}
	return nil
}

// decodeError renders a decoding failure as Dintero's; a failure that is
// not the client's (a bad dst) stays a server fault.
func decodeError(err error) error {
	e, ok := payment.AsError(err)
	if !ok {
		return err
	}
	status := api.Status(err)
	if status >= 500 {
		return err
	}
	out := &Error{Status: status, Code: CodeBadRequest, Message: e.Message}
	switch status {
	case http.StatusRequestEntityTooLarge:
		out.Code = CodePayloadTooLarge
	case http.StatusUnsupportedMediaType:
		out.Code = CodeUnsupportedMedia
	default:
		out.Status = http.StatusBadRequest
	}
	if p := safePath(e.Param); p != "" && p != "body" {
		msg := e.Message
		if p != e.Param {
			msg = "The request body holds a field that is not allowed."
			out.Message = msg
		}
		out.Errors = []FieldError{{Path: p, Code: e.Code, Message: msg}}
	}
	return out
}

// maxFieldName bounds the field names an error repeats. Dintero's are
// short; a long "name" a client sent is more likely a value put in the
// wrong place — a secret key, say — and is shown as "*".
const maxFieldName = 32

// safePath is api.SafeParam, with overlong segments and segments holding
// a card-number-like run of digits hidden too.
func safePath(param string) string {
	segs := strings.Split(api.SafeParam(param), ".")
	for i, seg := range segs {
		if len(seg) > maxFieldName || digitRun(seg) >= 12 {
			segs[i] = "*"
		}
	}
	return strings.Join(segs, ".")
}

// required is a 400 for a missing field.
func required(path string) error {
	return fieldError(path, payment.CodeParameterMissing, "%s is required.", path)
}

// digitRun is the longest run of ASCII digits in s.
func digitRun(s string) int {
	longest, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
			longest = max(longest, n)
		} else {
			n = 0
		}
	}
	return longest
}
