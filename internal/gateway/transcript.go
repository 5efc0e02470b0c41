package gateway

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Transcript is the scrubbed record of what an adapter exchanged with its
// provider for one operation. It is stored with the operation as JSON, so it
// must never hold a card number, a security code or a credential: adapters
// build every Exchange through a Scrubber (HTTPClient.Do does).
type Transcript struct {
	Exchanges []Exchange `json:"exchanges"`
}

// Add appends e to t.
func (t *Transcript) Add(e Exchange) {
	t.Exchanges = append(t.Exchanges, e)
}

// Exchange is one request to a provider and what came back. Bodies are
// capped at TranscriptBodyLimit bytes.
type Exchange struct {
	Method         string            `json:"method"`
	URL            string            `json:"url"`
	RequestHeaders map[string]string `json:"request_headers,omitempty"`
	RequestBody    string            `json:"request_body,omitempty"`
	// Status is the HTTP status code, 0 when no response arrived.
	Status          int               `json:"status,omitempty"`
	ResponseHeaders map[string]string `json:"response_headers,omitempty"`
	ResponseBody    string            `json:"response_body,omitempty"`
	// Error says why the exchange failed (no response, a broken body).
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS int64     `json:"duration_ms"`
}

// Filtered is what a Scrubber writes in place of a secret.
const Filtered = "[FILTERED]"

// TranscriptBodyLimit is the most bytes of a body kept in an Exchange; the
// rest is cut off and marked.
const TranscriptBodyLimit = 64 << 10

// minSecretLen is the length below which a secret is not scrubbed as a
// substring: masking every "7" or "ab" would wipe the transcript.
const minSecretLen = 3

// Scrubber masks the secrets of one call in URLs, headers and bodies. Build
// one per call with NewScrubber; it is immutable and safe for concurrent use.
// A nil *Scrubber knows no secret values but still masks by field and
// header name.
//
// It masks in three ways:
//
//   - by value: every occurrence of the card number (as digits, and grouped
//     by spaces or dashes), of each credential and extra secret (as given,
//     URL-query-, path-, JSON-, XML- and base64-encoded) and of every
//     "a:b" pair of them (HTTP Basic credentials, plain and base64), when the
//     secret is at least 3 characters long;
//   - the security code by value only where it stands alone, not inside a
//     longer run of digits ("737" is masked in `"cvc":737` and `cvc=737` but
//     not in the amount 17370), since three or four digits occur everywhere;
//   - by name: the values of JSON keys, form and query parameters, XML
//     elements and attributes that carry card numbers, security codes or
//     secrets (number, cardNumber, card_number, pan, account_number, cvc,
//     cvv, cvv2, cvc2, card_code, securityCode, verification_value,
//     password, client_secret, api_key, …; matched case-insensitively,
//     ignoring '_' and '-', on the last segment of "card[number]" or
//     "card.number"), and the whole value of credential-bearing headers
//     (Authorization, Cookie, X-Api-Key, Api-Key, anything ending in "key"
//     but Idempotency-Key, or naming a secret, token, password, signature or
//     auth).
//
// Masking by name is what protects a short secret or a value in an
// encoding the Scrubber does not know; masking by value is what protects a
// secret under a field name it does not know. Over-masking (an amount equal
// to the CVC standing alone, a "number" field that is an invoice number) is
// the accepted price.
type Scrubber struct {
	values *strings.Replacer // nil when there is no long enough secret
	cvc    string            // masked where it stands alone; "" for none
}

// NewScrubber returns a Scrubber for the secrets of one call: the card's
// number and security code (card may be nil), every value of creds (pass
// only secret values: each occurrence of each is masked, whatever field it
// appears in) and any extra secrets (tokens obtained during the call, for
// instance).
func NewScrubber(card *Card, creds map[string]string, extra ...string) *Scrubber {
	s := &Scrubber{}
	var olds []string
	add := func(v string) {
		if len(v) >= minSecretLen {
			olds = append(olds, v)
		}
	}
	if card != nil {
		for _, v := range panForms(card.Number) {
			add(v)
		}
		if isDigits(card.CVC) {
			s.cvc = card.CVC
		} else {
			for _, v := range encodings(card.CVC) {
				add(v)
			}
		}
	}
	secrets := make([]string, 0, len(creds)+len(extra))
	for _, v := range creds {
		secrets = append(secrets, v)
	}
	secrets = append(secrets, extra...)
	secrets = slices.DeleteFunc(secrets, func(v string) bool { return v == "" })
	slices.Sort(secrets)
	secrets = slices.Compact(secrets)
	for _, v := range secrets {
		for _, e := range encodings(v) {
			add(e)
		}
	}
	// HTTP Basic credentials of any two secrets (user and password are
	// usually both credential fields).
	for _, a := range secrets {
		for _, b := range secrets {
			pair := a + ":" + b
			add(pair)
			add(base64.StdEncoding.EncodeToString([]byte(pair)))
			add(base64.RawStdEncoding.EncodeToString([]byte(pair)))
		}
	}
	if len(olds) == 0 {
		return s
	}
	// strings.Replacer tries the old strings in argument order at each
	// position: longest first, so a secret that contains another is masked
	// whole.
	slices.SortFunc(olds, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	olds = slices.Compact(olds)
	pairs := make([]string, 0, 2*len(olds))
	for _, o := range olds {
		pairs = append(pairs, o, Filtered)
	}
	s.values = strings.NewReplacer(pairs...)
	return s
}

// panForms returns a card number as digits and grouped the ways people and
// gateways print it.
func panForms(number string) []string {
	if number == "" {
		return nil
	}
	var b strings.Builder
	for i := 0; i < len(number); i++ {
		if c := number[i]; '0' <= c && c <= '9' {
			b.WriteByte(c)
		}
	}
	digits := b.String()
	forms := []string{number, digits}
	if len(digits) < minSecretLen {
		return forms
	}
	for _, sep := range []string{" ", "-"} {
		forms = append(forms, group(digits, sep, 4, 4, 4, 4, 4))
		if len(digits) == 15 { // American Express prints 4-6-5
			forms = append(forms, group(digits, sep, 4, 6, 5))
		}
	}
	return forms
}

// group joins digits cut into pieces of the given sizes (the last piece
// takes what remains) with sep.
func group(digits, sep string, sizes ...int) string {
	var parts []string
	for _, n := range sizes {
		if len(digits) <= n {
			break
		}
		parts = append(parts, digits[:n])
		digits = digits[n:]
	}
	return strings.Join(append(parts, digits), sep)
}

// encodings returns v and the forms it takes in URLs, JSON, XML and base64.
func encodings(v string) []string {
	if v == "" {
		return nil
	}
	q := url.QueryEscape(v)
	out := []string{
		v, q, strings.ReplaceAll(q, "+", "%20"), url.PathEscape(v),
		jsonEscape(v, true), jsonEscape(v, false), html.EscapeString(v),
		base64.StdEncoding.EncodeToString([]byte(v)),
		base64.RawStdEncoding.EncodeToString([]byte(v)),
		base64.URLEncoding.EncodeToString([]byte(v)),
		base64.RawURLEncoding.EncodeToString([]byte(v)),
	}
	var x strings.Builder
	if xml.EscapeText(&x, []byte(v)) == nil {
		out = append(out, x.String())
	}
	return out
}

// jsonEscape returns v as it appears inside a JSON string.
func jsonEscape(v string, escapeHTML bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	if enc.Encode(v) != nil {
		return v
	}
	s := strings.TrimSuffix(b.String(), "\n")
	return s[1 : len(s)-1]
}

// String masks the secret values in s. It does not look at field names:
// use Body, URL or Header for text with structure.
func (s *Scrubber) String(v string) string {
	if s == nil {
		return v
	}
	if s.values != nil {
		v = s.values.Replace(v)
	}
	if s.cvc != "" {
		v = maskStandalone(v, s.cvc)
	}
	return v
}

// Body masks a request or response body (JSON, form-encoded, XML or text):
// sensitive fields by name, then secret values anywhere.
func (s *Scrubber) Body(body string) string {
	if body == "" {
		return ""
	}
	return s.String(scrubFields(body))
}

// URL masks a URL: its user information, sensitive query parameters by
// name, and secret values anywhere. (It is Body under another name: a body
// may hold URLs and a URL's query is a form.)
func (s *Scrubber) URL(raw string) string {
	return s.Body(raw)
}

// Header returns h as a flat map (several values joined by ", ") with the
// values of credential-bearing headers replaced whole and secret values
// masked in the others. It returns nil for an empty h.
func (s *Scrubber) Header(h http.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for name, vals := range h {
		if sensitiveHeader(name) {
			out[name] = Filtered
			continue
		}
		out[name] = s.String(strings.Join(vals, ", "))
	}
	return out
}

// Exchange returns e with its URL, headers, bodies and error scrubbed.
// Bodies are scrubbed before they are capped, so a secret cut by the cap is
// still masked.
func (s *Scrubber) Exchange(e Exchange) Exchange {
	e.URL = s.URL(e.URL)
	e.RequestHeaders = s.flatHeader(e.RequestHeaders)
	e.ResponseHeaders = s.flatHeader(e.ResponseHeaders)
	e.RequestBody = s.transcriptBody(e.RequestBody)
	e.ResponseBody = s.transcriptBody(e.ResponseBody)
	e.Error = s.Body(e.Error)
	return e
}

func (s *Scrubber) flatHeader(h map[string]string) map[string]string {
	if h == nil {
		return nil
	}
	out := make(map[string]string, len(h))
	for name, v := range h {
		if sensitiveHeader(name) {
			out[name] = Filtered
		} else {
			out[name] = s.String(v)
		}
	}
	return out
}

// scrubMargin is how far past TranscriptBodyLimit a body is scrubbed before
// it is cut, so that a secret or field straddling the cut is still
// recognised whole; scrubbing less than the whole body keeps a 4 MiB
// response from costing more than it must.
const scrubMargin = 4 << 10

// transcriptBody scrubs a body and caps it for a transcript.
func (s *Scrubber) transcriptBody(body string) string {
	if len(body) > TranscriptBodyLimit+scrubMargin {
		body = body[:TranscriptBodyLimit+scrubMargin]
	}
	return capText(s.Body(strings.ToValidUTF8(body, "\uFFFD")), TranscriptBodyLimit)
}

// capText cuts s to at most n bytes on a rune boundary, saying so.
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…[truncated]"
}

// maskStandalone replaces every occurrence of digits in s that is not part
// of a longer run of digits.
func maskStandalone(s, digits string) string {
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, digits)
		if i < 0 {
			break
		}
		end := i + len(digits)
		before := i > 0 && isDigit(rest[i-1])
		after := end < len(rest) && isDigit(rest[end])
		if before || after {
			b.WriteString(rest[:i+1])
			rest = rest[i+1:]
			continue
		}
		b.WriteString(rest[:i])
		b.WriteString(Filtered)
		rest = rest[end:]
	}
	if b.Len() == 0 {
		return s
	}
	b.WriteString(rest)
	return b.String()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// sensitiveFields are the field names, normalised by fieldName, whose values
// are masked whatever they hold.
var sensitiveFields = map[string]bool{
	// Card numbers.
	"number": true, "cardnumber": true, "pan": true, "accountnumber": true,
	"primaryaccountnumber": true, "ccnumber": true, "creditcardnumber": true, "cardno": true,
	// Security codes.
	"cvc": true, "cvv": true, "cvv2": true, "cvc2": true, "cvn": true, "cvd": true, "csc": true,
	"cardcode": true, "securitycode": true, "verificationvalue": true, "cvccode": true,
	"cvvcode": true, "cardcvc": true, "cardcvv": true, "cardsecuritycode": true,
	// Secrets.
	"password": true, "passwd": true, "secret": true, "clientsecret": true, "apikey": true,
	"secretkey": true, "privatekey": true, "accesstoken": true, "refreshtoken": true,
	"authorization": true,
}

// fieldName normalises a field name for sensitiveFields: the last segment of
// "card[number]", "card.number" or "ns:number", lower case, without '_'
// and '-'.
func fieldName(name string) string {
	name = strings.TrimRight(name, "]")
	if i := strings.LastIndexAny(name, "[].:"); i >= 0 {
		name = name[i+1:]
	}
	return fieldSeparators.Replace(strings.ToLower(name))
}

var fieldSeparators = strings.NewReplacer("_", "", "-", "")

var (
	// formRE matches a form or query parameter: the key at the start or
	// after ? or &, and its value up to the next separator.
	formRE = regexp.MustCompile(`(?:^|[?&])([^=&?#\s"'<>]{1,128})=([^&#\s"'<>]*)`)
	// xmlElementRE matches an element's opening tag and the text after it.
	xmlElementRE = regexp.MustCompile(`<((?:[A-Za-z_][\w.\-]*:)?[A-Za-z_][\w.\-]*)(?:\s[^<>]*)?>([^<]*)`)
	// xmlAttrRE matches a quoted attribute.
	xmlAttrRE = regexp.MustCompile(`\s((?:[A-Za-z_][\w.\-]*:)?[A-Za-z_][\w.\-]*)\s*=\s*("[^"]*"|'[^']*')`)
	// userinfoRE matches the user information of a URL ("user:password@",
	// or an API key as the user name).
	userinfoRE = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.\-]*://([^/?#@\s"'<>]+)@`)
)

// scrubFields masks the values of sensitive fields in JSON, form and XML
// text, and the user information of URLs. It works on the text, not a
// parse, so it keeps the body as it was sent and copes with bodies that are
// cut off or not quite well formed.
//
// Each pattern runs only on a body holding the characters every match of
// it needs (a JSON body, say, has no '<' and often no '='): the regular
// expressions are most of a call's transcript cost, and as each check is
// a condition of any match, no match is skipped.
func scrubFields(body string) string {
	if strings.Contains(body, "://") && strings.IndexByte(body, '@') >= 0 {
		body = replaceMatches(userinfoRE, body, func(m []string) string {
			return m[0][:len(m[0])-len(m[1])-1] + Filtered + "@"
		})
	}
	if strings.IndexByte(body, '"') >= 0 && strings.IndexByte(body, ':') >= 0 {
		body = replaceJSONMembers(body, func(m []string) string {
			if !sensitiveFields[fieldName(unquoteJSON(m[1]))] {
				return m[0]
			}
			return m[0][:len(m[0])-len(m[2])] + `"` + Filtered + `"`
		})
	}
	if strings.IndexByte(body, '=') >= 0 {
		body = replaceGroup(formRE, body, 1, 2)
	}
	if strings.IndexByte(body, '<') >= 0 && strings.IndexByte(body, '>') >= 0 {
		body = replaceMatches(xmlElementRE, body, func(m []string) string {
			if m[2] == "" || !sensitiveFields[fieldName(m[1])] {
				return m[0]
			}
			return m[0][:len(m[0])-len(m[2])] + Filtered
		})
	}
	if strings.IndexByte(body, '=') >= 0 {
		body = replaceMatches(xmlAttrRE, body, func(m []string) string {
			if !sensitiveFields[fieldName(m[1])] {
				return m[0]
			}
			q := m[2][:1]
			return m[0][:len(m[0])-len(m[2])] + q + Filtered + q
		})
	}
	return body
}

// replaceGroup masks, in every match of re, group val when group key (a
// form-encoded name) is a sensitive field and val is not empty.
func replaceGroup(re *regexp.Regexp, s string, key, val int) string {
	return replaceMatches(re, s, func(m []string) string {
		if m[val] == "" {
			return m[0]
		}
		name := m[key]
		if u, err := url.QueryUnescape(name); err == nil {
			name = u
		}
		if !sensitiveFields[fieldName(name)] {
			return m[0]
		}
		// The value group ends every pattern passed here. The mask is left
		// unescaped: a transcript is read by people.
		return m[0][:len(m[0])-len(m[val])] + Filtered
	})
}

// replaceJSONMembers replaces every JSON member jsonMembers finds in s by f
// of its text, name and value, as replaceMatches does for a pattern.
func replaceJSONMembers(s string, f func(m []string) string) string {
	ms := jsonMembers(s)
	if ms == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range ms {
		b.WriteString(s[last:m.start])
		b.WriteString(f([]string{s[m.start:m.end], s[m.nameStart:m.nameEnd], s[m.valueStart:m.valueEnd]}))
		last = m.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// replaceMatches replaces every match of re in s by f of its submatches.
func replaceMatches(re *regexp.Regexp, s string, f func(m []string) string) string {
	idx := re.FindAllStringSubmatchIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, loc := range idx {
		m := make([]string, len(loc)/2)
		for i := range m {
			if loc[2*i] >= 0 {
				m[i] = s[loc[2*i]:loc[2*i+1]]
			}
		}
		b.WriteString(s[last:loc[0]])
		b.WriteString(f(m))
		last = loc[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

func unquoteJSON(s string) string {
	var out string
	if json.Unmarshal([]byte(`"`+s+`"`), &out) != nil {
		return s
	}
	return out
}

// sensitiveHeader reports whether a header carries a credential, so that
// its whole value is masked.
func sensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie", "set-cookie":
		return true
	case "idempotency-key", "x-idempotency-key":
		return false
	}
	if strings.HasSuffix(n, "key") {
		return true
	}
	for _, w := range []string{"secret", "token", "password", "signature", "auth"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
