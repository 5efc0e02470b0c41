package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/payment"
)

type testCard struct {
	Number   string `json:"number"`
	ExpMonth int    `json:"exp_month"`
	Tags     []int  `json:"tags"`
}

type testBody struct {
	Type     string            `json:"type"`
	Card     *testCard         `json:"card"`
	Metadata map[string]string `json:"metadata"`
	Retain   bool              `json:"retain"`
	Amount   uint16            `json:"amount"`
	Extra    map[string]any    `json:"extra"`
	Ignored  string            `json:"-"`
}

func TestStrictUnmarshal(t *testing.T) {
	t.Parallel()
	const pan = "4242424242424242"
	tests := []struct {
		name  string
		body  string
		kind  payment.ErrorKind
		code  string
		param string
	}{
		{"ok", `{"type":"card","card":{"number":"1","exp_month":12,"tags":[1,2]},"metadata":{"a":"b"},"retain":true}`, "", "", ""},
		{"null fields", `{"type":null,"card":null,"metadata":null}`, "", "", ""},
		{"whitespace around", " \n{\"type\":\"card\"}\n\t", "", "", ""},
		{"empty", ``, payment.KindMalformed, payment.CodeMalformedBody, "body"},
		{"blank", "  \n", payment.KindMalformed, payment.CodeMalformedBody, "body"},
		{"syntax", `{"type":"card",}`, payment.KindMalformed, payment.CodeMalformedBody, "body"},
		{"truncated", `{"type":"card"`, payment.KindMalformed, payment.CodeMalformedBody, "body"},
		{"trailing data", `{"type":"card"} {}`, payment.KindMalformed, payment.CodeMalformedBody, "body"},
		{"trailing garbage", `{"type":"card"}x`, payment.KindMalformed, payment.CodeMalformedBody, "body"},
		{"array", `[]`, payment.KindMalformed, payment.CodeMalformedBody, "body"},
		{"string", `"card"`, payment.KindMalformed, payment.CodeMalformedBody, "body"},
		{"null document", `null`, payment.KindMalformed, payment.CodeMalformedBody, "body"},
		{"unknown top", `{"foo":1}`, payment.KindInvalid, payment.CodeParameterUnknown, "foo"},
		{"unknown nested", `{"card":{"number":"1","foo":{"x":[1]}}}`, payment.KindInvalid, payment.CodeParameterUnknown, "card.foo"},
		{"wrong case", `{"Type":"card"}`, payment.KindInvalid, payment.CodeParameterUnknown, "Type"},
		{"ignored field", `{"Ignored":"x"}`, payment.KindInvalid, payment.CodeParameterUnknown, "Ignored"},
		{"pan as key", `{"card":{"` + pan + `":1}}`, payment.KindInvalid, payment.CodeParameterUnknown, "card.*"},
		{"duplicate", `{"type":"card","type":"x"}`, payment.KindInvalid, payment.CodeParameterInvalid, "type"},
		{"duplicate map key", `{"metadata":{"a":"1","a":"2"}}`, payment.KindInvalid, payment.CodeParameterInvalid, "metadata.a"},
		{"number for string", `{"card":{"number":` + pan + `}}`, payment.KindInvalid, payment.CodeParameterInvalid, "card.number"},
		{"string for int", `{"card":{"exp_month":"12"}}`, payment.KindInvalid, payment.CodeParameterInvalid, "card.exp_month"},
		{"float for int", `{"card":{"exp_month":1.5}}`, payment.KindInvalid, payment.CodeParameterInvalid, "card.exp_month"},
		{"huge int", `{"card":{"exp_month":1e400}}`, payment.KindInvalid, payment.CodeParameterInvalid, "card.exp_month"},
		{"negative uint", `{"amount":-1}`, payment.KindInvalid, payment.CodeParameterInvalid, "amount"},
		{"uint overflow", `{"amount":70000}`, payment.KindInvalid, payment.CodeParameterInvalid, "amount"},
		{"string for bool", `{"retain":"true"}`, payment.KindInvalid, payment.CodeParameterInvalid, "retain"},
		{"string for object", `{"card":"` + pan + `"}`, payment.KindInvalid, payment.CodeParameterInvalid, "card"},
		{"object for string", `{"type":{}}`, payment.KindInvalid, payment.CodeParameterInvalid, "type"},
		{"map value type", `{"metadata":{"order":1}}`, payment.KindInvalid, payment.CodeParameterInvalid, "metadata.order"},
		{"array element", `{"card":{"tags":[1,"x"]}}`, payment.KindInvalid, payment.CodeParameterInvalid, "card.tags[1]"},
		{"free-form values", `{"extra":{"n":1,"s":"x","b":true,"o":{"k":[1,{"z":null}]},"nil":null}}`, "", "", ""},
		{"free-form duplicate key", `{"extra":{"a":1,"a":2}}`, payment.KindInvalid, payment.CodeParameterInvalid, "extra.a"},
		{"free-form not an object", `{"extra":[1]}`, payment.KindInvalid, payment.CodeParameterInvalid, "extra"},
		{"free-form unknown top", `{"extra":{},"foo":1}`, payment.KindInvalid, payment.CodeParameterUnknown, "foo"},
		{"deep nesting", `{"card":{"foo":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}}`, payment.KindInvalid, payment.CodeParameterUnknown, "card.foo"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var dst testBody
			err := StrictUnmarshal([]byte(tc.body), &dst)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			e, ok := payment.AsError(err)
			if !ok {
				t.Fatalf("err = %v (%T), want a *payment.Error", err, err)
			}
			if e.Kind != tc.kind || e.Code != tc.code || e.Param != tc.param {
				t.Fatalf("err = %v, want %s %s param %q", err, tc.kind, tc.code, tc.param)
			}
			if e.Message == "" {
				t.Error("empty message")
			}
			if strings.Contains(e.Message, pan) || strings.Contains(e.Message, "4242") {
				t.Errorf("message %q echoes the body", e.Message)
			}
		})
	}
}

func TestStrictUnmarshalDecodes(t *testing.T) {
	t.Parallel()
	var dst testBody
	err := StrictUnmarshal([]byte(`{"type":"card","card":{"number":"42","exp_month":7,"tags":[3]},"metadata":{"k":"v"},"retain":true,"amount":5}`), &dst)
	if err != nil {
		t.Fatal(err)
	}
	if dst.Type != "card" || dst.Card == nil || dst.Card.Number != "42" || dst.Card.ExpMonth != 7 ||
		len(dst.Card.Tags) != 1 || dst.Metadata["k"] != "v" || !dst.Retain || dst.Amount != 5 {
		t.Fatalf("decoded %+v", dst)
	}
}

// Free-form values keep their numbers exactly: an integer past 2^53 would
// not survive a float64.
func TestStrictUnmarshalFreeFormNumbers(t *testing.T) {
	t.Parallel()
	var dst testBody
	err := StrictUnmarshal([]byte(`{"extra":{"big":9007199254740993,"frac":1.5,"nested":{"n":7}}}`), &dst)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := dst.Extra["big"].(json.Number); !ok || got != "9007199254740993" {
		t.Errorf("big = %#v, want json.Number 9007199254740993", dst.Extra["big"])
	}
	if got, ok := dst.Extra["frac"].(json.Number); !ok || got != "1.5" {
		t.Errorf("frac = %#v", dst.Extra["frac"])
	}
	if got := dst.Extra["nested"].(map[string]any)["n"]; got != json.Number("7") {
		t.Errorf("nested.n = %#v", got)
	}
}

func TestDecodeJSONContentType(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ct     string
		status int
	}{
		{"application/json", 0},
		{"application/json; charset=utf-8", 0},
		{"Application/JSON; charset=UTF-8", 0},
		{"application/json; charset=latin1", http.StatusUnsupportedMediaType},
		{"", http.StatusUnsupportedMediaType},
		{"text/plain", http.StatusUnsupportedMediaType},
		{"application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"application/jsonx", http.StatusUnsupportedMediaType},
		{"application/json;;", http.StatusUnsupportedMediaType},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(`{"type":"card"}`))
		if tc.ct != "" {
			r.Header.Set("Content-Type", tc.ct)
		}
		var dst testBody
		err := DecodeJSON(r, &dst)
		if tc.status == 0 {
			if err != nil || dst.Type != "card" {
				t.Errorf("%q: err = %v", tc.ct, err)
			}
			continue
		}
		e, ok := payment.AsError(err)
		if !ok || Status(err) != tc.status || e.Code != payment.CodeUnsupportedMediaType || e.Param != "Content-Type" {
			t.Errorf("%q: err = %v, status %d", tc.ct, err, Status(err))
		}
	}
}

func TestDecodeJSONTooLarge(t *testing.T) {
	t.Parallel()
	body := `{"type":"` + strings.Repeat("a", 100) + `"}`
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.ContentLength = -1 // unknown, as with chunked encoding: the reader must catch it
	r.Body = http.MaxBytesReader(w, r.Body, 50)
	var dst testBody
	err := DecodeJSON(r, &dst)
	e, ok := payment.AsError(err)
	if !ok || e.Code != payment.CodeBodyTooLarge || e.Param != "body" || Status(err) != http.StatusRequestEntityTooLarge {
		t.Fatalf("err = %v", err)
	}
}

func TestDecodeOptionalJSON(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("POST", "/", nil) // no body, no Content-Type
	var dst testBody
	if err := DecodeOptionalJSON(r, &dst); err != nil {
		t.Fatal(err)
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader(`type=card`))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := DecodeOptionalJSON(r, &dst); Status(err) != http.StatusUnsupportedMediaType {
		t.Fatalf("err = %v", err)
	}
}

func TestParseList(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		query string
		limit int
		after string
		bad   bool
	}{
		{"", 10, "", false},
		{"limit=1", 1, "", false},
		{"limit=100&starting_after=pm_1", 100, "pm_1", false},
		{"limit=0", 0, "", true},
		{"limit=101", 0, "", true},
		{"limit=-5", 0, "", true},
		{"limit=abc", 0, "", true},
		{"limit=", 0, "", true},
		{"limit=5&limit=6", 0, "", true},
	} {
		p, err := ParseList(httptest.NewRequest("GET", "/?"+tc.query, nil))
		if tc.bad {
			e, ok := payment.AsError(err)
			if !ok || e.Param != "limit" || Status(err) != http.StatusUnprocessableEntity {
				t.Errorf("%q: err = %v", tc.query, err)
			}
			continue
		}
		if err != nil || p.Limit != tc.limit || p.StartingAfter != tc.after {
			t.Errorf("%q: %+v, %v", tc.query, p, err)
		}
	}
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		header []string
		token  string
		ok     bool
	}{
		{[]string{"Bearer sk_test_abc"}, "sk_test_abc", true},
		{[]string{"bearer  sk_test_abc "}, "sk_test_abc", true},
		{nil, "", false},
		{[]string{"Basic c2tfdGVzdDo="}, "", false},
		{[]string{"Bearer"}, "", false},
		{[]string{"Bearer "}, "", false},
		{[]string{"Bearer a b"}, "", false},
		{[]string{"Bearer a", "Bearer b"}, "", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		for _, h := range tc.header {
			r.Header.Add("Authorization", h)
		}
		token, ok := BearerToken(r)
		if token != tc.token || ok != tc.ok {
			t.Errorf("%q: got %q %v", tc.header, token, ok)
		}
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err    error
		status int
	}{
		{&payment.Error{Kind: payment.KindMalformed, Code: payment.CodeMalformedBody}, 400},
		{&payment.Error{Kind: payment.KindMalformed, Code: payment.CodeBodyTooLarge}, 413},
		{&payment.Error{Kind: payment.KindMalformed, Code: payment.CodeUnsupportedMediaType}, 415},
		{&payment.Error{Kind: payment.KindMalformed, Code: CodeMethodNotAllowed}, 405},
		{payment.Missing("x"), 422},
		{&payment.Error{Kind: payment.KindUnauthenticated}, 401},
		{&payment.Error{Kind: payment.KindForbidden}, 403},
		{payment.NotFound("thing", "t_1"), 404},
		{payment.Conflict(payment.CodeInvalidState, "no"), 409},
		{&payment.Error{Kind: payment.KindInternal}, 500},
		{&payment.Error{Kind: "something new"}, 500},
		{errors.New("boom"), 500},
		{ErrPanic, 500},
	} {
		if got := Status(tc.err); got != tc.status {
			t.Errorf("Status(%v) = %d, want %d", tc.err, got, tc.status)
		}
	}
}

func TestSafeParam(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                            "",
		"card.exp_month":              "card.exp_month",
		"Content-Type":                "Content-Type",
		"Idempotency-Key":             "Idempotency-Key",
		"items[0].name":               "items[0].name",
		"items[0][1]":                 "items[0][1]",
		"metadata.order-id":           "metadata.order-id",
		"metadata.4111111111111111":   "metadata.*",
		"metadata.4111 1111":          "metadata.*",
		"metadata.*":                  "metadata.*",
		"metadata.a b.c":              "metadata.*.c",
		"items[x]":                    "*",
		"metadata." + string(rune(0)): "metadata.*",
	} {
		if got := SafeParam(in); got != want {
			t.Errorf("SafeParam(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResolveHidesUnsafeParams(t *testing.T) {
	t.Parallel()
	const pan = "4111111111111111"
	err := payment.Invalid(payment.CodeParameterInvalid, "metadata."+pan, "metadata.%s must be at most 500 characters.", pan)
	status, e := Resolve(nil, httptest.NewRequest("GET", "/", nil), err)
	if status != 422 || e.Param != "metadata.*" || strings.Contains(e.Message, pan) || e.Message != "metadata.* must be at most 500 characters." {
		t.Fatalf("%d %+v", status, e)
	}
	if err.Param != "metadata."+pan {
		t.Fatal("Resolve changed the caller's error")
	}
}

func TestStrictUnmarshalMap(t *testing.T) {
	t.Parallel()
	var m map[string]int
	if err := StrictUnmarshal([]byte(`{"a":1,"b":2}`), &m); err != nil || m["b"] != 2 {
		t.Fatalf("%v %v", m, err)
	}
	e, _ := payment.AsError(StrictUnmarshal([]byte(`{"a":"x"}`), &m))
	if e == nil || e.Param != "a" {
		t.Fatalf("%v", e)
	}
}

// FuzzStrictUnmarshal checks that whatever StrictUnmarshal accepts,
// encoding/json decodes the same way, and that every refusal is a
// payment.Error that names a field or says the body is malformed.
func FuzzStrictUnmarshal(f *testing.F) {
	for _, seed := range []string{
		`{"type":"card","card":{"number":"1","exp_month":12,"tags":[1,2]},"metadata":{"a":"b"},"retain":true,"amount":3}`,
		`{"card":{"foo":1}}`, `{"type":"a","type":"b"}`, `{"Type":"x"}`, `{"amount":-1}`, `[]`, `null`, ``, `{} {}`,
		`{"metadata":{"4111111111111111":1}}`, `{"card":{"tags":[1,"x"]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var strict testBody
		err := StrictUnmarshal(body, &strict)
		if err == nil {
			var loose testBody
			if err := json.Unmarshal(body, &loose); err != nil {
				t.Fatalf("%q: accepted, but encoding/json says %v", body, err)
			}
			if !reflect.DeepEqual(strict, loose) {
				t.Fatalf("%q: decoded %+v, encoding/json %+v", body, strict, loose)
			}
			return
		}
		e, ok := payment.AsError(err)
		if !ok {
			t.Fatalf("%q: %v is not a payment.Error", body, err)
		}
		if e.Param == "" || e.Message == "" || (e.Kind != payment.KindMalformed && e.Kind != payment.KindInvalid) {
			t.Fatalf("%q: %+v", body, e)
		}
		if SafeParam(e.Param) != e.Param {
			t.Fatalf("%q: param %q is not safe to show", body, e.Param)
		}
	})
}
