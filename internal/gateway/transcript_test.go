package gateway

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	testPAN      = "4111111111111111"
	testAmexPAN  = "378282246310005"
	testCVC      = "737"
	testLogin    = "merchant-login"
	testPassword = `p@ss w/"rd&<x>+`
	testAPIKey   = "sk_test_51Habc"
)

func testScrubber() *Scrubber {
	return NewScrubber(
		&Card{Number: testPAN, CVC: testCVC},
		map[string]string{"login": testLogin, "password": testPassword, "short": "ab"},
		testAPIKey,
	)
}

// leaks returns the secrets of testScrubber found in s.
func leaks(s string) []string {
	var found []string
	for _, secret := range []string{
		testPAN, "4111 1111 1111 1111", "4111-1111-1111-1111",
		testLogin, testPassword, url.QueryEscape(testPassword), url.PathEscape(testPassword),
		jsonEscape(testPassword, true), jsonEscape(testPassword, false),
		testAPIKey, base64.StdEncoding.EncodeToString([]byte(testLogin + ":" + testPassword)),
	} {
		if strings.Contains(s, secret) {
			found = append(found, secret)
		}
	}
	if maskStandalone(s, testCVC) != s {
		found = append(found, testCVC)
	}
	return found
}

func TestScrubberValues(t *testing.T) {
	t.Parallel()
	s := testScrubber()
	tests := []struct {
		name, in, want string
	}{
		{"pan", "card 4111111111111111 ok", "card [FILTERED] ok"},
		{"pan spaced", "card 4111 1111 1111 1111 ok", "card [FILTERED] ok"},
		{"pan dashed", "4111-1111-1111-1111", "[FILTERED]"},
		{"pan twice", "4111111111111111/4111111111111111", "[FILTERED]/[FILTERED]"},
		{"login", "user merchant-login here", "user [FILTERED] here"},
		{"password raw", `pw=` + testPassword, "pw=[FILTERED]"},
		{"password query-escaped", "x=" + url.QueryEscape(testPassword), "x=[FILTERED]"},
		{"password %20-escaped", "x=" + strings.ReplaceAll(url.QueryEscape(testPassword), "+", "%20"), "x=[FILTERED]"},
		{"password path-escaped", "/u/" + url.PathEscape(testPassword), "/u/[FILTERED]"},
		{"password json-escaped", `{"p":"` + jsonEscape(testPassword, true) + `"}`, `{"p":"[FILTERED]"}`},
		{"password json-escaped without html", `{"p":"` + jsonEscape(testPassword, false) + `"}`, `{"p":"[FILTERED]"}`},
		{"password base64", "t=" + base64.StdEncoding.EncodeToString([]byte(testPassword)), "t=[FILTERED]"},
		{"basic pair", "Basic " + base64.StdEncoding.EncodeToString([]byte(testLogin+":"+testPassword)), "Basic [FILTERED]"},
		{"extra", "key sk_test_51Habc.", "key [FILTERED]."},
		{"short secret left alone", "abc ab", "abc ab"},
		{"cvc alone", "code 737, ok", "code [FILTERED], ok"},
		{"cvc at ends", "737", "[FILTERED]"},
		{"cvc inside digits left alone", "amount 17370 and 7371 and 1737", "amount 17370 and 7371 and 1737"},
		{"cvc next to letters", "x737y", "x[FILTERED]y"},
		{"cvc adjacent occurrences", "737,737", "[FILTERED],[FILTERED]"},
		{"cvc after a longer run", "77373 737", "77373 [FILTERED]"},
		{"nothing", "hello", "hello"},
	}
	for _, tt := range tests {
		if got := s.String(tt.in); got != tt.want {
			t.Errorf("%s: String(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestScrubberAmexGrouping(t *testing.T) {
	t.Parallel()
	s := NewScrubber(&Card{Number: testAmexPAN}, nil)
	for _, in := range []string{testAmexPAN, "3782 822463 10005", "3782-822463-10005", "3782 8224 6310 005"} {
		if got := s.String("n " + in); got != "n [FILTERED]" {
			t.Errorf("String(%q) = %q", in, got)
		}
	}
}

func TestScrubberLongestFirst(t *testing.T) {
	t.Parallel()
	// One secret inside another: the longer is masked whole.
	s := NewScrubber(nil, map[string]string{"a": "secret", "b": "secret-and-more"})
	if got := s.String("x secret-and-more y secret"); got != "x [FILTERED] y [FILTERED]" {
		t.Errorf("got %q", got)
	}
}

func TestScrubberFields(t *testing.T) {
	t.Parallel()
	// A scrubber that knows no values: only names protect here.
	var s *Scrubber
	tests := []struct {
		name, in, want string
	}{
		{"json number", `{"number":"5555555555554444","exp":"12"}`, `{"number":"[FILTERED]","exp":"12"}`},
		{"json nested, spaced", `{"card": {"cardNumber" : "5555"}}`, `{"card": {"cardNumber" : "[FILTERED]"}}`},
		{"json numeric value", `{"cvc":123,"amount":100}`, `{"cvc":"[FILTERED]","amount":100}`},
		{"json escaped quote", `{"password":"a\"b","x":1}`, `{"password":"[FILTERED]","x":1}`},
		{"json case and separators", `{"Card_Number":"1","CARD-CODE":"2","securityCode":"3"}`,
			`{"Card_Number":"[FILTERED]","CARD-CODE":"[FILTERED]","securityCode":"[FILTERED]"}`},
		{"json other names kept", `{"numbers":"1","card_brand":"visa","pan_country":"NO"}`,
			`{"numbers":"1","card_brand":"visa","pan_country":"NO"}`},
		{"json every cvc name",
			`{"cvc":"1","cvv":"1","cvv2":"1","card_code":"1","cardCode":"1","securityCode":"1","cvc2":"1","verification_value":"1","cvcCode":"1"}`,
			`{"cvc":"[FILTERED]","cvv":"[FILTERED]","cvv2":"[FILTERED]","card_code":"[FILTERED]","cardCode":"[FILTERED]","securityCode":"[FILTERED]","cvc2":"[FILTERED]","verification_value":"[FILTERED]","cvcCode":"[FILTERED]"}`},
		{"json every number name",
			`{"number":"1","cardNumber":"1","card_number":"1","pan":"1","account_number":"1"}`,
			`{"number":"[FILTERED]","cardNumber":"[FILTERED]","card_number":"[FILTERED]","pan":"[FILTERED]","account_number":"[FILTERED]"}`},
		{"form", "amount=100&card[number]=4242&card[cvc]=123&currency=eur",
			"amount=100&card[number]=[FILTERED]&card[cvc]=[FILTERED]&currency=eur"},
		{"form escaped key", "card%5Bnumber%5D=4242&card%5Bexp_month%5D=12",
			"card%5Bnumber%5D=[FILTERED]&card%5Bexp_month%5D=12"},
		{"form dotted key", "creditCard.cardNumber=4242&x=1", "creditCard.cardNumber=[FILTERED]&x=1"},
		{"form empty value", "cvv=&x=1", "cvv=&x=1"},
		{"query", "https://psp.example/pay?amount=1&cvv2=123#f", "https://psp.example/pay?amount=1&cvv2=[FILTERED]#f"},
		{"xml element", "<Card><Number>4111</Number><CVV2>123</CVV2><Exp>12</Exp></Card>",
			"<Card><Number>[FILTERED]</Number><CVV2>[FILTERED]</CVV2><Exp>12</Exp></Card>"},
		{"xml namespaced with attribute", `<ns:cardNumber type="x">4111</ns:cardNumber>`,
			`<ns:cardNumber type="x">[FILTERED]</ns:cardNumber>`},
		{"xml attribute", `<card number="4111" cvc='123' brand="visa"/>`,
			`<card number="[FILTERED]" cvc='[FILTERED]' brand="visa"/>`},
		{"xml empty element", "<number></number>", "<number></number>"},
		{"url userinfo", "https://user:pw@psp.example/x", "https://[FILTERED]@psp.example/x"},
		{"url key as user", `GET "https://sk_live_x@api.example/v1"`, `GET "https://[FILTERED]@api.example/v1"`},
		{"secrets by name", `{"client_secret":"s","api_key":"k","access_token":"t"}`,
			`{"client_secret":"[FILTERED]","api_key":"[FILTERED]","access_token":"[FILTERED]"}`},
	}
	for _, tt := range tests {
		if got := s.Body(tt.in); got != tt.want {
			t.Errorf("%s:\n Body(%s)\n  = %s\n want %s", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestScrubberHeader(t *testing.T) {
	t.Parallel()
	s := testScrubber()
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("u:v")))
	h.Set("X-Api-Key", "k")
	h.Set("Api-Key", "k")
	h.Set("Ocp-Apim-Subscription-Key", "k")
	h.Set("X-Auth-Token", "k")
	h.Set("Cookie", "session=1")
	h.Set("Idempotency-Key", "op_123")
	h.Set("Content-Type", "application/json")
	h.Add("X-Note", "pan 4111111111111111")
	h.Add("X-Note", "second")
	got := s.Header(h)
	want := map[string]string{
		"Authorization":             Filtered,
		"X-Api-Key":                 Filtered,
		"Api-Key":                   Filtered,
		"Ocp-Apim-Subscription-Key": Filtered,
		"X-Auth-Token":              Filtered,
		"Cookie":                    Filtered,
		"Idempotency-Key":           "op_123",
		"Content-Type":              "application/json",
		"X-Note":                    "pan [FILTERED], second",
	}
	if len(got) != len(want) {
		t.Errorf("Header = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Header[%q] = %q, want %q", k, got[k], v)
		}
	}
	if s.Header(nil) != nil {
		t.Error("Header(nil) is not nil")
	}
}

func TestScrubberExchange(t *testing.T) {
	t.Parallel()
	s := testScrubber()
	e := s.Exchange(Exchange{
		Method:          "POST",
		URL:             "https://psp.example/charge?pan=" + testPAN + "&login=" + testLogin,
		RequestHeaders:  map[string]string{"Authorization": "Bearer x", "X-Login": testLogin},
		RequestBody:     `{"card":{"number":"4111 1111 1111 1111","cvc":"737"},"password":"` + jsonEscape(testPassword, true) + `"}`,
		Status:          200,
		ResponseHeaders: map[string]string{"Set-Cookie": "a=b"},
		ResponseBody:    `<r><pan>` + testPAN + `</pan><token>` + testAPIKey + `</token></r>`,
		Error:           `Post "https://u:p@psp.example/?cvc=737": EOF`,
		StartedAt:       time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		DurationMS:      12,
	})
	raw, err := json.Marshal(Transcript{Exchanges: []Exchange{e}})
	if err != nil {
		t.Fatal(err)
	}
	if l := leaks(string(raw)); l != nil {
		t.Errorf("transcript leaks %q: %s", l, raw)
	}
	for _, key := range []string{`"exchanges"`, `"method"`, `"url"`, `"request_headers"`, `"request_body"`,
		`"status"`, `"response_headers"`, `"response_body"`, `"error"`, `"started_at"`, `"duration_ms"`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("transcript JSON lacks %s: %s", key, raw)
		}
	}
}

func TestTranscriptBodyCap(t *testing.T) {
	t.Parallel()
	s := testScrubber()
	// A PAN straddling the cap is masked, then the body is cut.
	body := strings.Repeat("a", TranscriptBodyLimit-5) + testPAN + strings.Repeat("é", TranscriptBodyLimit)
	got := s.transcriptBody(body)
	if strings.Contains(got, "41111") {
		t.Errorf("a PAN cut by the cap left digits: %q", got[len(got)-40:])
	}
	if len(got) > TranscriptBodyLimit+len("…[truncated]") || !strings.HasSuffix(got, "…[truncated]") {
		t.Errorf("capped body is %d bytes ending %q", len(got), got[len(got)-20:])
	}
	if got := s.transcriptBody("short"); got != "short" {
		t.Errorf("short body = %q", got)
	}
	if got := capText("aé", 2); got != "a…[truncated]" {
		t.Errorf("capText cut a rune: %q", got)
	}
	if got := s.transcriptBody("a\xffb"); got != "a\uFFFDb" {
		t.Errorf("invalid UTF-8 = %q", got)
	}
}

func TestTranscriptAdd(t *testing.T) {
	t.Parallel()
	var tr Transcript
	tr.Add(Exchange{Method: "GET"})
	tr.Add(Exchange{Method: "POST"})
	if len(tr.Exchanges) != 2 || tr.Exchanges[1].Method != "POST" {
		t.Errorf("Add: %+v", tr)
	}
}

func FuzzScrubber(f *testing.F) {
	f.Add(`{"number":"4111111111111111"}`, "4111111111111111", "secret-pw")
	f.Add("card[number]=4111111111111111&pw=secret-pw", "4111111111111111", "secret-pw")
	f.Add("<pan>5555555555554444</pan>", "5555555555554444", "xyz")
	f.Fuzz(func(t *testing.T, body, pan, pw string) {
		if len(pan) < minSecretLen || len(pw) < minSecretLen || strings.Contains(Filtered, pan) || strings.Contains(Filtered, pw) {
			return
		}
		s := NewScrubber(&Card{Number: pan}, map[string]string{"password": pw})
		for _, in := range []string{body, body + pan + body, body + url.QueryEscape(pw) + body, pan + body + pw} {
			out := s.Body(in)
			// A secret may be rebuilt from text around a mask only if it
			// contains the mask's characters; otherwise no output may hold
			// it.
			if strings.Contains(out, pan) && !overlapsMask(pan) {
				t.Fatalf("Body(%q) = %q holds the PAN %q", in, out, pan)
			}
			if strings.Contains(out, pw) && !overlapsMask(pw) {
				t.Fatalf("Body(%q) = %q holds the password %q", in, out, pw)
			}
		}
	})
}

// overlapsMask reports whether s shares a character with Filtered, so that
// a mask next to text could spell s anew.
func overlapsMask(s string) bool {
	return strings.ContainsAny(s, Filtered)
}
