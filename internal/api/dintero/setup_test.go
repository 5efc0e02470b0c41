package dintero

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
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
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/pgtest"
	"github.com/kassapay/kassa/internal/store/postgres"
	"github.com/kassapay/kassa/internal/store/sqlite"
	"github.com/kassapay/kassa/internal/vault"
)

// clock is the engine's settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
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

func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

// fixture is one kassa process: engine, vault and the dialect's handler
// over a store and key file that other fixtures may share.
type fixture struct {
	st      payment.Store
	keyFile string
	vault   *vault.Vault
	eng     *engine.Engine
	h       http.Handler
	clk     *clock
	logs    *syncBuffer

	mu        sync.Mutex
	responses []string // every response, headers and body, for the leak check
}

func openSQLite(t testing.TB) payment.Store {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kassa.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openPostgres(t testing.TB) payment.Store {
	st, err := postgres.Open(context.Background(), pgtest.SchemaURL(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// setup is a fixture on a fresh SQLite store and key file.
func setup(t testing.TB) *fixture {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "master.key")
	if _, err := vault.CreateDevKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	return setupOn(t, openSQLite(t), keyFile, nil)
}

// setupOn builds a fixture (another process) on st and keyFile, serving
// rts (nil: the dialect's routes).
func setupOn(t testing.TB, st payment.Store, keyFile string, rts []route) *fixture {
	t.Helper()
	v, err := vault.New(st, vault.NewFileSource(keyFile), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clk := &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	eng := engine.New(engine.Config{Store: st, Vault: v, Logger: log, Now: clk.Now,
		Gateways: gateway.NewRegistry(simulator.New(simulator.Options{Now: clk.Now}))})
	if rts == nil {
		rts = routes()
	}
	h := newHandler(eng, Options{Logger: log, Registry: prometheus.NewRegistry()}, rts)
	return &fixture{st: st, keyFile: keyFile, vault: v, eng: eng, h: h, clk: clk, logs: logs}
}

// merchant is an account with its client credentials.
type merchant struct {
	id, clientID, secret, publishable string
}

func (f *fixture) merchant(t testing.TB, live bool) merchant {
	t.Helper()
	na, err := f.eng.CreateAccount(context.Background(), "Fjord Shop", live)
	if err != nil {
		t.Fatal(err)
	}
	return merchant{id: na.Account.ID, clientID: na.SecretKey[:payment.KeyPrefixLen], secret: na.SecretKey,
		publishable: na.PublishableKey}
}

// req is one request of a test.
type req struct {
	method, path, body string
	basic              *[2]string // client id and secret
	bearer, apiKey     string
	contentType        string // default application/json with a body
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("HTTP %d, not JSON: %s", r.status, r.body)
	}
	return m
}

func (f *fixture) do(t testing.TB, q req) response {
	t.Helper()
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	hr := httptest.NewRequest(q.method, q.path, body)
	if q.body != "" {
		ct := q.contentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	if q.basic != nil {
		hr.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(q.basic[0]+":"+q.basic[1])))
	}
	if q.bearer != "" {
		hr.Header.Set("Authorization", "Bearer "+q.bearer)
	}
	if q.apiKey != "" {
		hr.Header.Set("X-Api-Key", q.apiKey)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, hr)
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	var dump bytes.Buffer
	rec.Header().Write(&dump)
	dump.Write(res.body)
	f.mu.Lock()
	f.responses = append(f.responses, dump.String())
	f.mu.Unlock()
	return res
}

// tokenBody is a client_credentials request for account aid.
func tokenBody(aid string) string {
	return `{"grant_type":"client_credentials","audience":"https://api.example/v1/accounts/` + aid + `"}`
}

// token mints an access token for m through the endpoint.
func (f *fixture) token(t testing.TB, m merchant) string {
	t.Helper()
	res := f.do(t, req{method: "POST", path: "/v1/accounts/" + m.id + "/auth/token",
		basic: &[2]string{m.clientID, m.secret}, body: tokenBody(m.id)})
	if res.status != http.StatusOK {
		t.Fatalf("token: HTTP %d %s", res.status, res.body)
	}
	tok, _ := res.json(t)["access_token"].(string)
	if tok == "" {
		t.Fatalf("token: %s", res.body)
	}
	return tok
}
