package ixopay

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
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
	"github.com/kassapay/kassa/internal/gateway/stripe"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/pgtest"
	"github.com/kassapay/kassa/internal/store/postgres"
	"github.com/kassapay/kassa/internal/store/sqlite"
	"github.com/kassapay/kassa/internal/vault"
)

// Test cards of the simulator; neither the number nor the CVC may ever come
// back out.
const (
	visa         = "4111111111111111"
	visaDecline  = "4012888888881881"
	insufficient = "4000000000009995"
	lostCard     = "4000000000009987"
	lostResponse = "4100000000000001" // accepted, response lost
	cvc          = "731"
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

type fixture struct {
	eng  *engine.Engine
	st   payment.Store
	h    http.Handler
	clk  *clock
	logs *syncBuffer

	mu        sync.Mutex
	responses []string // every response body, for the leak check
}

// setup builds the dialect over a real engine, vault and SQLite store in a
// temporary directory, with the simulator, Stripe and extra on offer.
func setup(t testing.TB, extra ...gateway.Adapter) *fixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kassa.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return setupStore(t, st, extra...)
}

// setupPostgres is setup over a fresh PostgreSQL schema (skipped without
// a server).
func setupPostgres(t *testing.T, extra ...gateway.Adapter) *fixture {
	t.Helper()
	st, err := postgres.Open(context.Background(), pgtest.SchemaURL(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return setupStore(t, st, extra...)
}

func setupStore(t testing.TB, st payment.Store, extra ...gateway.Adapter) *fixture {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "master.key")
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
	adapters := append([]gateway.Adapter{simulator.New(simulator.Options{Now: clk.Now}), stripe.New(stripe.Options{Now: clk.Now})}, extra...)
	eng := engine.New(engine.Config{Store: st, Vault: v, Logger: log, Now: clk.Now, Gateways: gateway.NewRegistry(adapters...)})
	h := New(eng, Options{Logger: log, Registry: prometheus.NewRegistry()})
	return &fixture{eng: eng, st: st, h: h, clk: clk, logs: logs}
}

// merchant is an account with its Basic credentials.
type merchant struct {
	id, secret, publishable string
	p                       *payment.Principal
}

func (f *fixture) merchant(t *testing.T) merchant {
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
	return merchant{id: na.Account.ID, secret: na.SecretKey, publishable: na.PublishableKey, p: p}
}

// connector is a connector's keys as its merchant knows them.
type connector struct {
	m              merchant
	guid, apiKey   string
	sharedSecret   string
	gatewayID      string
	signatureReqd  bool
	disabledTypes  []string
	archived, gone bool
	// reporting makes its gateway a reportingSim, whose notifications
	// are signed with reportKey.
	reporting bool
}

var connectorSeq struct {
	mu sync.Mutex
	n  int
}

// connector makes a simulator gateway and a connector over it, as the
// provisioning API would, with the shared secret sealed by the engine.
func (f *fixture) connector(t *testing.T, m merchant, c connector) connector {
	t.Helper()
	ctx := context.Background()
	in := engine.GatewayInput{Type: "simulator"}
	if c.reporting {
		in = engine.GatewayInput{Type: reportingSimType, Credentials: map[string]any{"password": reportKey}}
	}
	gw, err := f.eng.CreateGateway(ctx, m.p, in)
	if err != nil {
		t.Fatal(err)
	}
	connectorSeq.mu.Lock()
	connectorSeq.n++
	n := connectorSeq.n
	connectorSeq.mu.Unlock()
	c.m = m
	c.gatewayID = gw.ID
	c.guid = fmt.Sprintf("CO-%04d-0000-0000-0000-0000-0000", n)
	c.apiKey = fmt.Sprintf("api-key-%04d", n)
	c.sharedSecret = "shared-secret-" + c.apiKey
	sealed, err := f.eng.SealConnectorSecret(ctx, m.id, c.guid, c.sharedSecret)
	if err != nil {
		t.Fatal(err)
	}
	now := f.clk.Now()
	pc := &payment.Connector{AccountID: m.id, GUID: c.guid, GatewayID: gw.ID, APIKey: c.apiKey,
		PublicIntegrationKey: m.publishable, SharedSecretSealed: sealed, SignatureRequired: c.signatureReqd,
		DisabledTransactionTypes: c.disabledTypes, Archived: c.archived, Disabled: c.gone, CreatedAt: now, UpdatedAt: now}
	ev := &payment.Event{ID: payment.NewID(payment.PrefixEvent), AccountID: m.id, Type: "connector.created", ObjectID: c.guid,
		Data: json.RawMessage(`{}`), CreatedAt: now}
	if err := f.st.CreateConnector(ctx, pc, ev); err != nil {
		t.Fatal(err)
	}
	return c
}

// signing says how the test client signs a request: the body hashed with
// SHA-512 or MD5 (the PHP client's default), under secret, with the Date
// header date (empty: the engine's clock, in the UTC form).
type signing struct {
	hash   string // "sha512" or "md5"
	secret string
	date   string
	// bodyAfter, when set, replaces the body after signing.
	bodyAfter string
	// drop removes a header after signing ("Date", "X-Signature").
	drop string
}

// req is one request of the test client.
type req struct {
	method, path, body string
	m                  *merchant // Basic credentials; nil sends none
	sign               *signing
}

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

// signRequest signs as IXOPAY's specification says: base64 of
// HMAC-SHA512(secret, METHOD\nbodyHash\ncontentType\ndate\nrequestURI).
func signRequest(secret, hash, method, contentType, date, uri string, body []byte) string {
	var bodyHash string
	if hash == "md5" {
		sum := md5.Sum(body)
		bodyHash = hex.EncodeToString(sum[:])
	} else {
		sum := sha512.Sum512(body)
		bodyHash = hex.EncodeToString(sum[:])
	}
	m := hmac.New(sha512.New, []byte(secret))
	io.WriteString(m, method+"\n"+bodyHash+"\n"+contentType+"\n"+date+"\n"+uri)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func (f *fixture) do(t *testing.T, q req) response {
	t.Helper()
	r := httptest.NewRequest(q.method, q.path, strings.NewReader(q.body))
	r.Header.Set("Content-Type", ContentType)
	if q.m != nil {
		r.SetBasicAuth(q.m.id, q.m.secret)
	}
	if s := q.sign; s != nil {
		date := s.date
		if date == "" {
			date = f.clk.Now().Format("Mon, 02 Jan 2006 15:04:05") + " UTC"
		}
		r.Header.Set("Date", date)
		r.Header.Set("X-Signature", signRequest(s.secret, s.hash, q.method, ContentType, date, q.path, []byte(q.body)))
		if s.bodyAfter != "" {
			r = httptest.NewRequest(q.method, q.path, strings.NewReader(s.bodyAfter))
			r.Header.Set("Content-Type", ContentType)
			r.Header.Set("Date", date)
			r.Header.Set("X-Signature", signRequest(s.secret, s.hash, q.method, ContentType, date, q.path, []byte(q.body)))
			r.SetBasicAuth(q.m.id, q.m.secret)
		}
		if s.drop != "" {
			r.Header.Del(s.drop)
		}
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	f.mu.Lock()
	f.responses = append(f.responses, w.Body.String())
	f.mu.Unlock()
	return response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

// tx posts a transaction of type kind ("debit", …) to c, signed with
// SHA-512 when c requires signatures.
func (f *fixture) tx(t *testing.T, c connector, kind, body string) response {
	t.Helper()
	q := req{method: "POST", path: "/api/v3/transaction/" + c.apiKey + "/" + kind, body: body, m: &c.m}
	if c.signatureReqd {
		q.sign = &signing{hash: "sha512", secret: c.sharedSecret}
	}
	return f.do(t, q)
}

// status gets c's transaction by "getByUuid" or "getByMerchantTransactionId".
func (f *fixture) status(t *testing.T, c connector, by, id string) response {
	t.Helper()
	q := req{method: "GET", path: "/api/v3/status/" + c.apiKey + "/" + by + "/" + id, m: &c.m}
	if c.signatureReqd {
		q.sign = &signing{hash: "md5", secret: c.sharedSecret}
	}
	return f.do(t, q)
}

// cardBody is a debit, preauthorize, register or payout body with card
// data; amount "" leaves the amount out.
func cardBody(mtid, amount, currency, pan string) string {
	b := `{"merchantTransactionId":"` + mtid + `"`
	if amount != "" {
		b += `,"amount":"` + amount + `","currency":"` + currency + `"`
	}
	return b + `,"description":"Two bikes","additionalId1":"add-1","merchantMetaData":"meta-1",` +
		`"extraData":{"order":"A-17","channel":"web"},"transactionIndicator":"SINGLE","withRegister":false,` +
		`"customer":{"firstName":"Kari","lastName":"Nordmann","email":"kari@example.com","billingCountry":"NO"},` +
		`"cardData":{"cardHolder":"Kari Nordmann","pan":"` + pan + `","cvv":"` + cvc + `","expirationMonth":"12","expirationYear":2031}}`
}

// refBody is a follow-up body naming uuid.
func refBody(mtid, uuid, amount, currency string) string {
	b := `{"merchantTransactionId":"` + mtid + `","referenceUuid":"` + uuid + `"`
	if amount != "" {
		b += `,"amount":"` + amount + `","currency":"` + currency + `"`
	}
	return b + `}`
}

// keptBody is a follow-up body naming uuid with every field IXOPAY's
// follow-ups take that kassa keeps: additionalId1/2, description,
// merchantMetaData and an extraData whose order, escapes and non-ASCII
// text must come back as sent.
func keptBody(mtid, uuid, amount, currency string) string {
	return strings.Replace(refBody(mtid, uuid, amount, currency), `{"merchantTransactionId"`,
		`{"additionalId1":"a1-`+mtid+`","additionalId2":"a2-`+mtid+`","description":"Follow-up `+mtid+`",`+
			`"merchantMetaData":"meta-`+mtid+`","extraData":{"z":"last","a":"first","note":"f\u00f8r \"x\""},"merchantTransactionId"`, 1)
}

// wantResult checks a transaction result: HTTP 200, success and
// returnType; it returns the result.
func wantResult(t *testing.T, res response, success bool, returnType string) map[string]any {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", res.status, res.body)
	}
	m := res.json(t)
	if m["success"] != success || m["returnType"] != returnType {
		t.Fatalf("success %v returnType %v, want %v %s: %s", m["success"], m["returnType"], success, returnType, res.body)
	}
	return m
}

// wantErrorCode checks the first entry of a result's errors.
func wantErrorCode(t *testing.T, res response, code int) {
	t.Helper()
	m := wantResult(t, res, false, ReturnError)
	errs, _ := m["errors"].([]any)
	if len(errs) == 0 {
		t.Fatalf("no errors: %s", res.body)
	}
	e := errs[0].(map[string]any)
	if e["errorCode"] != float64(code) || e["errorMessage"] == "" {
		t.Fatalf("errorCode %v, want %d: %s", e["errorCode"], code, res.body)
	}
}

// wantEnvelope checks a system error: status, errorCode, and that the
// message names field (when given).
func wantEnvelope(t *testing.T, res response, status, code int, field string) {
	t.Helper()
	if res.status != status {
		t.Fatalf("status %d, want %d: %s", res.status, status, res.body)
	}
	m := res.json(t)
	if m["success"] != false || m["errorCode"] != float64(code) {
		t.Fatalf("errorCode %v, want %d: %s", m["errorCode"], code, res.body)
	}
	if msg, _ := m["errorMessage"].(string); !strings.Contains(msg, field) || msg == "" {
		t.Fatalf("errorMessage %q does not name %q", msg, field)
	}
}
