package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/kassapay/kassa/internal/payment"
)

// DecodeJSON reads the request's JSON body into dst, strictly (see
// StrictUnmarshal). The body must come as Content-Type application/json (a
// charset parameter may say utf-8); anything else is an
// unsupported_media_type error with param "Content-Type" (HTTP 415). A body
// over the limit LimitBody set is body_too_large (HTTP 413).
//
// No error message repeats any part of the body: it may hold a card number.
func DecodeJSON(r *http.Request, dst any) error {
	if err := checkJSONContentType(r); err != nil {
		return err
	}
	body, err := ReadBody(r)
	if err != nil {
		return err
	}
	return StrictUnmarshal(body, dst)
}

// ReadBody reads the whole request body; a body over the limit LimitBody set
// is a BodyTooLarge error.
func ReadBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, BodyTooLarge(tooLarge.Limit)
	case err != nil:
		return nil, &payment.Error{Kind: payment.KindMalformed, Code: payment.CodeMalformedBody, Param: "body",
			Message: "The request body could not be read.", Err: err}
	}
	return body, nil
}

func checkJSONContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && mt == "application/json" {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return nil
		}
	}
	return &payment.Error{Kind: payment.KindMalformed, Code: payment.CodeUnsupportedMediaType, Param: "Content-Type",
		Message: "The request body must be JSON sent with 'Content-Type: application/json' (UTF-8)."}
}

// StrictUnmarshal decodes the JSON document body into dst, a pointer to a
// struct (or a map), more strictly than encoding/json:
//
//   - the document must be one JSON object and nothing after it; else, as
//     for any syntax error or an empty body, a KindMalformed error
//     malformed_body with param "body";
//   - every key must be a field of dst's type, spelled exactly (encoding/json
//     would ignore case); else parameter_unknown, with Param the dotted path
//     of the key ("card.foo");
//   - no key may appear twice in an object; else parameter_invalid;
//   - every value must have its field's type (an integer for an int, which
//     must fit); else parameter_invalid, whose Param is the dotted path and
//     whose message names the expected type. null leaves a field as it is.
//
// Fields of interface type (the values of a map[string]any) take any JSON
// value; their numbers come out as json.Number, exactly as sent.
//
// Fields whose type implements json.Unmarshaler decide for themselves; when
// they refuse a value the error is parameter_invalid at their path, and a
// type with a method DescribeJSON() string says in it what it expects ("an
// integer or a string of digits").
//
// Errors are *payment.Error whose messages never repeat the body. Object
// keys that are not identifiers ([A-Za-z_][A-Za-z0-9_-]*, at most 64) are
// written as "*" in params and messages, so a card number sent as a key is
// not echoed either.
func StrictUnmarshal(body []byte, dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("api: StrictUnmarshal needs a non-nil pointer, got %T", dst)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return malformed("The request body is empty: send a JSON object.", nil)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	w := walker{dec: dec}
	if err := w.top(rv.Type().Elem()); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return malformed("The request body must hold one JSON object and nothing after it.", err)
	}
	// UseNumber again: a free-form value (a map[string]any of gateway
	// settings, say) keeps its numbers exactly as sent, as json.Number,
	// instead of as float64, which would round integers past 2^53.
	final := json.NewDecoder(bytes.NewReader(body))
	final.UseNumber()
	if err := final.Decode(dst); err != nil {
		// The walk should have found everything encoding/json refuses;
		// what is left (nesting deeper than it allows, …) is malformed.
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return payment.Invalid(payment.CodeParameterInvalid, te.Field, "%s must be %s.", te.Field, describe(te.Type))
		}
		return malformed("The request body could not be decoded.", err)
	}
	return nil
}

func malformed(msg string, cause error) *payment.Error {
	return &payment.Error{Kind: payment.KindMalformed, Code: payment.CodeMalformedBody, Param: "body", Message: msg, Err: cause}
}

// syntaxError turns a decoder failure into a malformed_body error that says
// where, not what: the text around a syntax error is the caller's body.
func syntaxError(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return malformed(fmt.Sprintf("The request body is not valid JSON (syntax error at byte %d).", se.Offset), nil)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("The request body is not valid JSON: it ends before the document does.", nil)
	}
	return malformed("The request body is not valid JSON.", err)
}

// walker checks a JSON document token by token against a Go type, keeping
// the dotted path of where it is.
type walker struct {
	dec *json.Decoder
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	describerType   = reflect.TypeFor[interface{ DescribeJSON() string }]()
)

func (w *walker) top(t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := w.dec.Token()
	if err != nil {
		return syntaxError(err)
	}
	if tok == json.Delim('{') {
		switch t.Kind() {
		case reflect.Struct:
			return w.object(t, "")
		case reflect.Map:
			return w.mapObject(t, "")
		}
	}
	return malformed("The request body must be a JSON object.", nil)
}

// value checks the next value of the document against t.
func (w *walker) value(t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Interface {
		return w.skip()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		var raw json.RawMessage
		if err := w.dec.Decode(&raw); err != nil {
			return syntaxError(err)
		}
		if string(raw) == "null" {
			return nil
		}
		if err := reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(raw); err != nil {
			return mismatch(path, t)
		}
		return nil
	}
	tok, err := w.dec.Token()
	if err != nil {
		return syntaxError(err)
	}
	switch tok := tok.(type) {
	case nil:
		return nil
	case json.Delim:
		switch {
		case tok == '{' && t.Kind() == reflect.Struct:
			return w.object(t, path)
		case tok == '{' && t.Kind() == reflect.Map:
			return w.mapObject(t, path)
		case tok == '[' && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
			return w.array(t, path)
		}
	case string:
		if t.Kind() == reflect.String {
			return nil
		}
	case bool:
		if t.Kind() == reflect.Bool {
			return nil
		}
	case json.Number:
		s := string(tok)
		var err error
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			_, err = strconv.ParseInt(s, 10, t.Bits())
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			_, err = strconv.ParseUint(s, 10, t.Bits())
		case reflect.Float32, reflect.Float64:
			_, err = strconv.ParseFloat(s, t.Bits())
		default:
			err = errors.ErrUnsupported
		}
		if err == nil {
			return nil
		}
	}
	return mismatch(path, t)
}

// object checks the members of an object (its '{' read) against struct t.
func (w *walker) object(t reflect.Type, path string) error {
	fields := fieldsOf(t)
	seen := map[string]bool{}
	for w.dec.More() {
		key, err := w.key()
		if err != nil {
			return err
		}
		p := join(path, key)
		ft, ok := fields[key]
		if !ok {
			return &payment.Error{Kind: payment.KindInvalid, Code: payment.CodeParameterUnknown, Param: p,
				Message: fmt.Sprintf("Received unknown parameter: %s.", p)}
		}
		if seen[key] {
			return payment.Invalid(payment.CodeParameterInvalid, p, "%s is given more than once.", p)
		}
		seen[key] = true
		if err := w.value(ft, p); err != nil {
			return err
		}
	}
	return w.end()
}

// mapObject checks the members of an object (its '{' read) against map t.
func (w *walker) mapObject(t reflect.Type, path string) error {
	seen := map[string]bool{}
	for w.dec.More() {
		key, err := w.key()
		if err != nil {
			return err
		}
		p := join(path, key)
		if seen[key] {
			return payment.Invalid(payment.CodeParameterInvalid, p, "%s is given more than once.", p)
		}
		seen[key] = true
		if err := w.value(t.Elem(), p); err != nil {
			return err
		}
	}
	return w.end()
}

// array checks the elements of an array (its '[' read) against t.
func (w *walker) array(t reflect.Type, path string) error {
	for i := 0; w.dec.More(); i++ {
		if err := w.value(t.Elem(), path+"["+strconv.Itoa(i)+"]"); err != nil {
			return err
		}
	}
	return w.end()
}

func (w *walker) key() (string, error) {
	tok, err := w.dec.Token()
	if err != nil {
		return "", syntaxError(err)
	}
	key, ok := tok.(string)
	if !ok {
		return "", malformed("The request body is not valid JSON.", nil)
	}
	return key, nil
}

// end reads the '}' or ']' that closes what the walker is in.
func (w *walker) end() error {
	if _, err := w.dec.Token(); err != nil {
		return syntaxError(err)
	}
	return nil
}

// skip reads one value, whatever it holds.
func (w *walker) skip() error {
	depth := 0
	for {
		tok, err := w.dec.Token()
		if err != nil {
			return syntaxError(err)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

func mismatch(path string, t reflect.Type) error {
	if path == "" {
		return malformed("The request body must be a JSON object.", nil)
	}
	return payment.Invalid(payment.CodeParameterInvalid, path, "%s must be %s.", path, describe(t))
}

// describe names what a JSON value for t must be.
func describe(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(describerType) {
		return reflect.Zero(t).Interface().(interface{ DescribeJSON() string }).DescribeJSON()
	}
	if reflect.PointerTo(t).Implements(describerType) {
		return reflect.New(t).Interface().(interface{ DescribeJSON() string }).DescribeJSON()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "a valid value"
}

// join appends key to a dotted path; a key that is not an identifier is
// written "*" (it may be anything the client sent, a card number included).
func join(path, key string) string {
	if !identifier(key) {
		key = "*"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// identifier reports whether a key may be shown: 1 to 64 characters of
// [A-Za-z0-9_-] starting with a letter or "_", so never a card number.
func identifier(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || i > 0 && ('0' <= c && c <= '9' || c == '-')) {
			return false
		}
	}
	return true
}

// SafeParam returns param with every dotted segment that is not an
// identifier (an array index "[n]" may follow one) written "*". Params name
// fields, but a map key in one is whatever the client sent.
func SafeParam(param string) string {
	if param == "" {
		return ""
	}
	segs := strings.Split(param, ".")
	for i, seg := range segs {
		name := seg
		if j := strings.IndexByte(seg, '['); j > 0 && isIndexes(seg[j:]) {
			name = seg[:j]
		}
		if !identifier(name) && seg != "*" {
			segs[i] = "*"
		}
	}
	return strings.Join(segs, ".")
}

// isIndexes reports whether s is one or more "[n]".
func isIndexes(s string) bool {
	for s != "" {
		end := strings.IndexByte(s, ']')
		if s[0] != '[' || end < 2 {
			return false
		}
		if _, err := strconv.Atoi(s[1:end]); err != nil {
			return false
		}
		s = s[end+1:]
	}
	return true
}

// fieldsOf maps the JSON names of struct t's fields, as encoding/json
// decodes them, to their types.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	fields := map[string]reflect.Type{}
	collectFields(t, fields, 0)
	fieldCache.Store(t, fields)
	return fields
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

func collectFields(t reflect.Type, fields map[string]reflect.Type, depth int) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct && depth < 8 {
				collectFields(et, fields, depth+1) // promoted fields
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, taken := fields[name]; !taken || depth == 0 {
			fields[name] = f.Type
		}
	}
}

// DecodeOptionalJSON is DecodeJSON for requests whose body may be left out:
// an empty body leaves dst as it is; any other must be JSON as for
// DecodeJSON.
func DecodeOptionalJSON(r *http.Request, dst any) error {
	body, err := ReadBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := checkJSONContentType(r); err != nil {
		return err
	}
	return StrictUnmarshal(body, dst)
}
