package ixopay

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// The provisioning tests' helpers carry a prov prefix: the transaction
// API's tests live in the same package.

type provFixture struct {
	eng  *engine.Engine
	h    http.Handler
	logs *syncBuffer

	mu        sync.Mutex
	responses []string // every response body, for the leak checks
}

// provSetup builds the dialect over a real engine, vault and SQLite store
// in a temporary directory (setup's), with the simulator and Stripe on
// offer.
func provSetup(t testing.TB) *provFixture {
	t.Helper()
	f := setup(t)
	return &provFixture{eng: f.eng, h: f.h, logs: f.logs}
}

// provAccount is a merchant's credentials.
type provAccount struct {
	id, secret string
	p          *payment.Principal
}

func (a provAccount) merchant() string { return MerchantGUID(a.id) }

func (f *provFixture) account(t testing.TB) provAccount {
	t.Helper()
	ctx := context.Background()
	na, err := f.eng.CreateAccount(ctx, "Fjord Bikes AS", false)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.eng.Authenticate(ctx, na.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	return provAccount{id: na.Account.ID, secret: na.SecretKey, p: p}
}

type provResponse struct {
	status int
	body   []byte
}

func (r provResponse) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d %q is not a JSON object: %v", r.status, r.body, err)
	}
	return m
}

// ok checks a success answer and returns it.
func (r provResponse) ok(t testing.TB) map[string]any {
	t.Helper()
	m := r.json(t)
	if r.status != http.StatusOK || m["success"] != true {
		t.Fatalf("want 200 success, got %d %s", r.status, r.body)
	}
	return m
}

// connector checks a success answer about one connector, IXOPAY's
// {"success":true,"connector":{…}}, and returns the connector.
func (r provResponse) connector(t testing.TB) map[string]any {
	t.Helper()
	m := r.ok(t)
	c, ok := m["connector"].(map[string]any)
	if !ok || len(m) != 2 {
		t.Fatalf("want {success, connector}, got %s", r.body)
	}
	return c
}

// fails checks an error answer: status, errorCode and, in errorMessage,
// the field named.
func (r provResponse) fails(t testing.TB, status, code int, field string) {
	t.Helper()
	m := r.json(t)
	if r.status != status || m["success"] != false || m["errorCode"] != float64(code) {
		t.Fatalf("want %d errorCode %d, got %d %s", status, code, r.status, r.body)
	}
	if msg, _ := m["errorMessage"].(string); !strings.Contains(msg, field) {
		t.Fatalf("errorMessage %q does not name %s", msg, field)
	}
}

func (f *provFixture) do(t testing.TB, method, path string, a *provAccount, body string) provResponse {
	t.Helper()
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	} else {
		rd = strings.NewReader("")
	}
	r := httptest.NewRequest(method, path, rd)
	if body != "" {
		r.Header.Set("Content-Type", ContentType)
	}
	if a != nil {
		r.SetBasicAuth(a.id, a.secret)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	f.mu.Lock()
	f.responses = append(f.responses, w.Body.String())
	f.mu.Unlock()
	return provResponse{status: w.Code, body: w.Body.Bytes()}
}

func (f *provFixture) get(t testing.TB, a provAccount, path string) provResponse {
	t.Helper()
	return f.do(t, "GET", path, &a, "")
}

func (f *provFixture) post(t testing.TB, a provAccount, path, body string) provResponse {
	t.Helper()
	return f.do(t, "POST", path, &a, body)
}

// createConnector creates a connector from body and returns its guid.
func (f *provFixture) createConnector(t testing.TB, a provAccount, body string) string {
	t.Helper()
	m := f.post(t, a, "/api/provisioning/createConnector/"+a.merchant(), body).connector(t)
	guid, _ := m["guid"].(string)
	if guid == "" {
		t.Fatalf("no guid in %v", m)
	}
	return guid
}

// events is every event of the account, as text.
func (f *provFixture) events(t testing.TB, a provAccount) string {
	t.Helper()
	evs, _, err := f.eng.Events(context.Background(), a.id, payment.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.Type)
		b.WriteByte(' ')
		b.Write(e.Data)
		b.WriteByte('\n')
	}
	return b.String()
}
