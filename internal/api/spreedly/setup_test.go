package spreedly

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/store/sqlite"
	"github.com/kassapay/kassa/internal/vault"
)

// Test cards of the simulator; neither the number nor the CVC may ever come
// back out.
const (
	visa        = "4111111111111111"
	visaDecline = "4012888888881881"
	cvc         = "731"
	realCard    = "4539148803436467" // Luhn-valid, not a test card
)

// Credentials of the keyed test gateway: the merchant id is not secret,
// the API key is.
const (
	credMerchant = "merchant-4711"
	credAPIKey   = "ak-8r2mv9tq-41x77-secret"
)

// clock is the engine's clock: fixed, ticking a millisecond per reading.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// syncBuffer collects log output from concurrent requests.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// keyedSimulator is the simulator offered as another type with one plain
// and one secret credential, both required.
type keyedSimulator struct{ *simulator.Simulator }

func (k keyedSimulator) Spec() gateway.Spec {
	s := k.Simulator.Spec()
	s.Type, s.DisplayName = "keyed_simulator", "Simulator with an API key"
	s.CredentialFields = []gateway.Field{
		{Name: "merchant_id", Label: "Merchant id", Kind: gateway.KindString, Required: true},
		{Name: "api_key", Label: "API key", Kind: gateway.KindString, Required: true, Sensitive: true},
	}
	return s
}

type fixture struct {
	eng  *engine.Engine
	h    http.Handler
	logs *syncBuffer

	mu        sync.Mutex
	responses []string // every response body, for the leak check
}

// setup builds the dialect over a real engine, vault and SQLite store in a
// temporary directory.
func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "kassa.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keyFile := filepath.Join(dir, "master.key")
	if _, err := vault.CreateDevKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	v, err := vault.New(st, vault.NewFileSource(keyFile), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clk := &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	eng := engine.New(engine.Config{Store: st, Vault: v, Logger: log, Now: clk.Now,
		Gateways: gateway.NewRegistry(simulator.New(simulator.Options{Now: clk.Now}),
			keyedSimulator{simulator.New(simulator.Options{Now: clk.Now})})})
	h := New(eng, Options{Logger: log, Registry: prometheus.NewRegistry()})
	return &fixture{eng: eng, h: h, logs: logs}
}

// account is an account's Spreedly credentials.
type account struct{ env, secret string }

func (f *fixture) account(t *testing.T) account {
	t.Helper()
	na, err := f.eng.CreateAccount(context.Background(), "Fjord Bikes AS", false)
	if err != nil {
		t.Fatal(err)
	}
	return account{env: na.Account.ID, secret: na.SecretKey}
}

// response is one answer of the API.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d %q is not a JSON object: %v", r.status, r.body, err)
	}
	return m
}

// obj returns the object under root of a JSON response.
func (r response) obj(t *testing.T, root string) map[string]any {
	t.Helper()
	m, ok := r.json(t)[root].(map[string]any)
	if !ok {
		t.Fatalf("response %d %s has no %s object", r.status, r.body, root)
	}
	return m
}

// wellFormedXML checks an XML response parses.
func (r response) wellFormedXML(t *testing.T) {
	t.Helper()
	if !bytes.HasPrefix(r.body, []byte(xmlHeader)) {
		t.Fatalf("XML response lacks the header: %s", r.body)
	}
	dec := xml.NewDecoder(bytes.NewReader(r.body))
	for {
		if _, err := dec.Token(); err == io.EOF {
			return
		} else if err != nil {
			t.Fatalf("response is not well-formed XML: %v\n%s", err, r.body)
		}
	}
}

// req is one request; body is sent as it is with contentType.
type req struct {
	method, path string
	acct         *account
	body         string
	contentType  string
}

func (f *fixture) do(t *testing.T, q req) response {
	t.Helper()
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	r := httptest.NewRequest(q.method, q.path, body)
	if q.contentType != "" {
		r.Header.Set("Content-Type", q.contentType)
	} else if q.body != "" {
		if strings.Contains(q.path, ".xml") {
			r.Header.Set("Content-Type", "application/xml")
		} else {
			r.Header.Set("Content-Type", "application/json")
		}
	}
	if q.acct != nil {
		r.SetBasicAuth(q.acct.env, q.acct.secret)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	f.mu.Lock()
	f.responses = append(f.responses, w.Body.String())
	f.mu.Unlock()
	return response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

func (f *fixture) get(t *testing.T, a account, path string) response {
	t.Helper()
	return f.do(t, req{method: "GET", path: path, acct: &a})
}

func (f *fixture) post(t *testing.T, a account, path, body string) response {
	t.Helper()
	return f.do(t, req{method: "POST", path: path, acct: &a, body: body})
}

func (f *fixture) put(t *testing.T, a account, path, body string) response {
	t.Helper()
	return f.do(t, req{method: "PUT", path: path, acct: &a, body: body})
}

// createTestGateway creates a "test" gateway and returns its token.
func (f *fixture) createTestGateway(t *testing.T, a account) string {
	t.Helper()
	res := f.post(t, a, "/v1/gateways.json", `{"gateway":{"gateway_type":"test"}}`)
	if res.status != http.StatusCreated {
		t.Fatalf("create gateway: %d %s", res.status, res.body)
	}
	return res.obj(t, "gateway")["token"].(string)
}

func cardBody(number string) string {
	return `{"payment_method":{"credit_card":{"first_name":"Kari","last_name":"Nordmann","number":"` + number +
		`","verification_value":"` + cvc + `","month":"12","year":2031,"address1":"Storgata 1","city":"Oslo","zip":"0155","country":"NO"},` +
		`"email":"kari@example.com","metadata":{"order":"A-17","count":3,"vip":true}}}`
}

// createCard vaults a card and returns its token.
func (f *fixture) createCard(t *testing.T, a account, number string) string {
	t.Helper()
	res := f.post(t, a, "/v1/payment_methods.json", cardBody(number))
	if res.status != http.StatusCreated {
		t.Fatalf("create payment method: %d %s", res.status, res.body)
	}
	return res.obj(t, "transaction")["payment_method"].(map[string]any)["token"].(string)
}

// wantErrors checks an errors envelope in JSON: status, and the first
// entry's attribute and key.
func wantErrors(t *testing.T, res response, status int, attribute, key string) {
	t.Helper()
	if res.status != status {
		t.Fatalf("status %d, want %d: %s", res.status, status, res.body)
	}
	m := res.json(t)
	errs, ok := m["errors"].([]any)
	if !ok || len(m) != 1 || len(errs) == 0 {
		t.Fatalf("not an errors envelope: %s", res.body)
	}
	e := errs[0].(map[string]any)
	if got, _ := e["attribute"].(string); got != attribute {
		t.Errorf("attribute %q, want %q: %s", got, attribute, res.body)
	}
	if e["key"] != key {
		t.Errorf("key %v, want %s: %s", e["key"], key, res.body)
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Errorf("no message: %s", res.body)
	}
}
