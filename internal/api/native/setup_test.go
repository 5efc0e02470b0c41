package native

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/store/sqlite"
	"github.com/kassapay/kassa/internal/vault"
)

// Test cards. pan's CVC is cvc; neither may ever come back out.
const (
	pan      = "4000056655665556" // Visa debit
	cvc      = "731"
	amexPAN  = "378282246310005"
	amexCVC  = "7319"
	panLuhn  = "4000056655665557" // check digit off by one
	panShort = "40000566556655"   // 14 digits: no Visa length
)

// clock is the engine's clock: fixed, so that card expiries in the tests
// stay valid, ticking a millisecond per reading, so that objects made one
// after the other are ordered, and settable.
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
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
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

// countingSimulator is the real simulator, watched: it counts the calls
// that reach it and hands every one on unchanged.
type countingSimulator struct {
	*simulator.Simulator
	calls     atomic.Int64 // operations of every kind
	purchases atomic.Int64
}

func (c *countingSimulator) Authorize(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	c.calls.Add(1)
	return c.Simulator.Authorize(ctx, r)
}

func (c *countingSimulator) Purchase(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	c.calls.Add(1)
	c.purchases.Add(1)
	return c.Simulator.Purchase(ctx, r)
}

func (c *countingSimulator) Capture(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	c.calls.Add(1)
	return c.Simulator.Capture(ctx, r)
}

func (c *countingSimulator) Void(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	c.calls.Add(1)
	return c.Simulator.Void(ctx, r)
}

func (c *countingSimulator) Refund(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	c.calls.Add(1)
	return c.Simulator.Refund(ctx, r)
}

func (c *countingSimulator) Verify(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	c.calls.Add(1)
	return c.Simulator.Verify(ctx, r)
}

// keyedSimulator is the simulator offered as another type whose one
// credential, api_key, is required: the simulator itself requires none, and
// a missing credential must be refused.
type keyedSimulator struct{ *simulator.Simulator }

func (k keyedSimulator) Spec() gateway.Spec {
	s := k.Simulator.Spec()
	s.Type, s.DisplayName = "keyed_simulator", "Simulator with an API key"
	s.CredentialFields = []gateway.Field{{Name: "api_key", Label: "API key", Kind: gateway.KindString, Required: true, Sensitive: true}}
	return s
}

type fixture struct {
	eng   *engine.Engine
	store *sqlite.Store
	h     http.Handler
	logs  *syncBuffer
	clock *clock
	reg   *prometheus.Registry
	sim   *countingSimulator
	// dbPath is the SQLite database file; its -wal and -shm files lie
	// beside it.
	dbPath string

	mu        sync.Mutex
	responses []string // every response body, for the leak check
}

// setup builds the native API over a real engine, vault and SQLite store
// in a temporary directory. opts may add test-only routes.
func setup(t *testing.T, opts ...func(*Options)) *fixture {
	t.Helper()
	st, v, dbPath := openStoreAndVault(t)
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clk := &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	sim := &countingSimulator{Simulator: simulator.New(simulator.Options{Now: clk.Now})}
	eng := engine.New(engine.Config{Store: st, Vault: v, Logger: log, Now: clk.Now,
		Gateways: gateway.NewRegistry(sim, keyedSimulator{simulator.New(simulator.Options{Now: clk.Now})})})
	reg := prometheus.NewRegistry()
	o := Options{Logger: log, Registry: reg}
	for _, f := range opts {
		f(&o)
	}
	return &fixture{eng: eng, store: st, h: New(eng, o), logs: logs, clock: clk, reg: reg, sim: sim, dbPath: dbPath}
}

// openStoreAndVault opens a SQLite store in a temporary directory, closed
// when the test ends, and a vault over it with a development master key;
// it returns them and the database file's path.
func openStoreAndVault(t *testing.T) (*sqlite.Store, *vault.Vault, string) {
	t.Helper()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "kassa.db")
	st, err := sqlite.Open(context.Background(), dbPath, sqlite.Options{})
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
	return st, v, dbPath
}

// account creates an account with a secret and a publishable key.
func (f *fixture) account(t *testing.T) *engine.NewAccount {
	t.Helper()
	na, err := f.eng.CreateAccount(context.Background(), "Fjord Bikes AS", false)
	if err != nil {
		t.Fatal(err)
	}
	return na
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

// errorOf returns the error object of an error response and checks its
// shape.
func (r response) errorOf(t *testing.T) map[string]any {
	t.Helper()
	m := r.json(t)
	e, ok := m["error"].(map[string]any)
	if !ok || len(m) != 1 {
		t.Fatalf("response %d %s is not an error envelope", r.status, r.body)
	}
	for _, k := range []string{"type", "code", "message"} {
		if s, _ := e[k].(string); s == "" {
			t.Errorf("error %s has no %s", r.body, k)
		}
	}
	return e
}

// req describes a request; body is sent as it is, with Content-Type
// application/json unless header says otherwise.
type req struct {
	method, path, key string
	body              string
	header            map[string]string
}

func (f *fixture) do(t *testing.T, q req) response {
	t.Helper()
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	r := httptest.NewRequest(q.method, q.path, body)
	if q.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if q.key != "" {
		r.Header.Set("Authorization", "Bearer "+q.key)
	}
	for k, v := range q.header {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	f.record(w.Body.String())
	return response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

func (f *fixture) record(body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.responses = append(f.responses, body)
}

func (f *fixture) get(t *testing.T, path, key string) response {
	t.Helper()
	return f.do(t, req{method: "GET", path: path, key: key})
}

func (f *fixture) post(t *testing.T, path, key, body string) response {
	t.Helper()
	return f.do(t, req{method: "POST", path: path, key: key, body: body})
}

// cardBody is a create request for a valid card.
func cardBody(number, cvc string) string {
	return `{"type":"card","card":{"number":"` + number + `","exp_month":12,"exp_year":2031,"cvc":"` + cvc +
		`","holder_name":"Kari Nordmann"},"billing_address":{"line1":"Storgata 1","city":"Oslo","postal_code":"0155","country":"NO"},` +
		`"email":"kari@example.com","metadata":{"order":"A-17"}}`
}

// createPM vaults a card and returns its id.
func (f *fixture) createPM(t *testing.T, key string) string {
	t.Helper()
	return f.createCard(t, key, pan, cvc)
}

// createCard vaults the card number with the CVC and returns its id.
func (f *fixture) createCard(t *testing.T, key, number, cvc string) string {
	t.Helper()
	res := f.post(t, "/v1/payment_methods", key, cardBody(number, cvc))
	if res.status != http.StatusCreated {
		t.Fatalf("create payment method: %d %s", res.status, res.body)
	}
	return res.json(t)["id"].(string)
}

// wantError checks an error response's status, type, code and param.
func wantError(t *testing.T, res response, status int, typ, code, param string) {
	t.Helper()
	if res.status != status {
		t.Fatalf("status %d, want %d: %s", res.status, status, res.body)
	}
	e := res.errorOf(t)
	if e["type"] != typ || e["code"] != code {
		t.Errorf("error %s, want type %s code %s", res.body, typ, code)
	}
	if got, _ := e["param"].(string); got != param {
		t.Errorf("param %q, want %q (%s)", got, param, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
