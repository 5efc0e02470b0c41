package spreedly

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/payment"
)

// Request bodies, JSON or XML as the path's suffix says, are read into one
// generic form: map[string]any of string, json.Number, bool, nil,
// map[string]any, []any — and xmlText, the text of an XML element that
// carries no type attribute, which the field readers accept for an integer
// or a boolean too (XML clients send <amount>100</amount>). A JSON string
// is never taken for a number: "amount": "100" is invalid, as in Spreedly.

// xmlText is the untyped text content of an XML element.
type xmlText string

// maxDepth bounds the nesting of a request body.
const maxDepth = 16

// readBody reads the request's body in format f and returns its members;
// an empty body is an empty map. A malformed body is a KindMalformed error
// (HTTP 400), whose message never repeats the body.
//
// The Content-Type may be application/json, application/xml, text/xml or
// none (the path's suffix decides how the body is read); an empty body is
// fine whatever it says (axios sends a body-less PUT with a form type).
func readBody(r *http.Request, f format) (map[string]any, error) {
	body, err := api.ReadBody(r)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, nil
	}
	if err := checkContentType(r); err != nil {
		return nil, err
	}
	if f == formatXML {
		return parseXML(body)
	}
	return parseJSON(body)
}

func checkContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil {
		switch mt {
		case "application/json", "application/xml", "text/xml":
			if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
				return nil
			}
		}
	}
	return &payment.Error{Kind: payment.KindMalformed, Code: payment.CodeUnsupportedMediaType, Param: "Content-Type",
		Message: "Send the request body as application/json or application/xml (UTF-8)."}
}

func malformed(msg string) error {
	return &payment.Error{Kind: payment.KindMalformed, Code: payment.CodeMalformedBody, Message: msg}
}

func parseJSON(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, malformed(fmt.Sprintf("The request body is not valid JSON (syntax error at byte %d).", se.Offset))
		}
		return nil, malformed("The request body is not valid JSON.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, malformed("The request body must hold one JSON object and nothing after it.")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, malformed("The request body must be a JSON object.")
	}
	if depth(m, 0) > maxDepth {
		return nil, malformed("The request body is nested too deeply.")
	}
	return m, nil
}

func depth(v any, d int) int {
	out := d
	switch v := v.(type) {
	case map[string]any:
		for _, c := range v {
			out = max(out, depth(c, d+1))
		}
	case []any:
		for _, c := range v {
			out = max(out, depth(c, d+1))
		}
	}
	return out
}

// parseXML reads an XML document as {root element: its value}.
func parseXML(body []byte) (map[string]any, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed("The request body is not valid XML.")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			v, err := xmlElement(dec, t, 0)
			if err != nil {
				return nil, err
			}
			for {
				tok, err := dec.Token()
				if err == io.EOF {
					return map[string]any{t.Name.Local: v}, nil
				}
				if err != nil {
					return nil, malformed("The request body is not valid XML.")
				}
				switch tt := tok.(type) {
				case xml.CharData:
					if len(bytes.TrimSpace(tt)) > 0 {
						return nil, malformed("The request body must hold one XML element and nothing after it.")
					}
				case xml.StartElement:
					return nil, malformed("The request body must hold one XML element and nothing after it.")
				}
			}
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, malformed("The request body is not valid XML.")
			}
		}
	}
}

// xmlElement reads the content of start (already read) into the generic
// form, honouring Rails' type= and nil= attributes.
func xmlElement(dec *xml.Decoder, start xml.StartElement, d int) (any, error) {
	if d > maxDepth {
		return nil, malformed("The request body is nested too deeply.")
	}
	var typ string
	isNil := false
	for _, a := range start.Attr {
		switch a.Name.Local {
		case "type":
			typ = a.Value
		case "nil":
			isNil = a.Value == "true"
		}
	}
	var text strings.Builder
	var children map[string]any
	var list []any
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed("The request body is not valid XML.")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			v, err := xmlElement(dec, t, d+1)
			if err != nil {
				return nil, err
			}
			if typ == "array" {
				list = append(list, v)
				continue
			}
			if children == nil {
				children = map[string]any{}
			}
			name := t.Name.Local
			if prev, ok := children[name]; ok {
				// A repeated element is a list.
				if l, ok := prev.([]any); ok {
					children[name] = append(l, v)
				} else {
					children[name] = []any{prev, v}
				}
			} else {
				children[name] = v
			}
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			switch {
			case isNil:
				return nil, nil
			case typ == "array":
				if list == nil {
					list = []any{}
				}
				return list, nil
			case children != nil:
				return children, nil
			}
			s := text.String()
			switch typ {
			case "integer":
				s = strings.TrimSpace(s)
				if _, err := strconv.ParseInt(s, 10, 64); err != nil {
					return nil, fieldErr(start.Name.Local, keyInvalid)
				}
				return json.Number(s), nil
			case "boolean":
				switch strings.TrimSpace(s) {
				case "true", "1":
					return true, nil
				case "false", "0":
					return false, nil
				}
				return nil, fieldErr(start.Name.Local, keyInvalid)
			case "", "string", "datetime":
				if typ == "" && strings.TrimSpace(s) == "" {
					// An empty element with no type: an empty object or
					// a blank value, as the reader asks.
					return xmlText(""), nil
				}
				return xmlText(s), nil
			}
			return xmlText(s), nil
		}
	}
}

// fields reads the members of one request object with type checks,
// collecting Spreedly validation errors.
type fields struct {
	m    map[string]any
	errs *[]errorItem
}

func newFields(m map[string]any) *fields {
	return &fields{m: m, errs: &[]errorItem{}}
}

func (f *fields) fail(attribute, key string) {
	*f.errs = append(*f.errs, errorItem{attribute: attribute, key: key, message: messageFor(attribute, key)})
}

// err returns the collected errors, or nil.
func (f *fields) err() error {
	if len(*f.errs) == 0 {
		return nil
	}
	return &spError{status: http.StatusUnprocessableEntity, items: *f.errs}
}

func (f *fields) has(key string) bool {
	v, ok := f.m[key]
	return ok && v != nil
}

// object returns the member key as an object; absent (or an empty XML
// element) it is an empty one. Another type is an error.
func (f *fields) object(key string) *fields {
	sub := &fields{m: map[string]any{}, errs: f.errs}
	switch v := f.m[key].(type) {
	case nil:
	case map[string]any:
		sub.m = v
	case xmlText:
		if strings.TrimSpace(string(v)) != "" {
			f.fail(key, keyInvalid)
		}
	default:
		f.fail(key, keyInvalid)
	}
	return sub
}

// str returns the member key as a string ("" when absent or null).
func (f *fields) str(key string) string {
	switch v := f.m[key].(type) {
	case nil:
	case string:
		return v
	case xmlText:
		return string(v)
	default:
		f.fail(key, keyInvalid)
	}
	return ""
}

// optStr is str that tells a given value from an absent one.
func (f *fields) optStr(key string) *string {
	if _, ok := f.m[key]; !ok {
		return nil
	}
	s := f.str(key)
	return &s
}

// text returns a string, number or boolean member as text (Spreedly takes
// "month": "3" and "month": 3 alike).
func (f *fields) text(key string) string {
	switch v := f.m[key].(type) {
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return f.str(key)
}

// integer returns the member key as an integer; ok is false when it is
// absent. A JSON string is invalid; XML text must be digits.
func (f *fields) integer(key string) (n int64, ok bool) {
	var s string
	switch v := f.m[key].(type) {
	case nil:
		return 0, false
	case json.Number:
		s = v.String()
	case xmlText:
		s = strings.TrimSpace(string(v))
		if s == "" {
			return 0, false
		}
	default:
		f.fail(key, keyInvalid)
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f.fail(key, keyInvalid)
		return 0, false
	}
	return n, true
}

// cardInt reads a card's month or year, which Spreedly takes as a number or
// a string of digits.
func (f *fields) cardInt(key string) int {
	s := strings.TrimSpace(f.text(key))
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 9999 {
		f.fail(key, keyInvalid)
		return 0
	}
	return n
}

// boolean returns the member key as a boolean (false when absent).
func (f *fields) boolean(key string) bool {
	b, _ := f.optBool(key)
	return b
}

func (f *fields) optBool(key string) (bool, bool) {
	switch v := f.m[key].(type) {
	case nil:
		return false, false
	case bool:
		return v, true
	case xmlText:
		switch strings.TrimSpace(string(v)) {
		case "true", "1":
			return true, true
		case "false", "0", "":
			return false, true
		}
	}
	f.fail(key, keyInvalid)
	return false, false
}

// plain returns v with XML text as a string, for free-form values
// (metadata, settings, gateway-specific fields).
func plain(v any) any {
	switch v := v.(type) {
	case xmlText:
		return string(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, c := range v {
			out[k] = plain(c)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, c := range v {
			out[i] = plain(c)
		}
		return out
	}
	return v
}
