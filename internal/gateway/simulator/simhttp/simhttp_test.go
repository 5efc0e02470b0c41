package simhttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/pgtest"
	"github.com/kassapay/kassa/internal/store/postgres"
	"github.com/kassapay/kassa/internal/store/sqlite"
)

// ledgers are the ledgers a server may run on: its own SQLite file, as
// `kassa simulator serve` has, PostgreSQL, and memory.
var ledgers = []struct {
	name string
	open func(t *testing.T) simulator.Ledger
}{
	{"sqlite", func(t *testing.T) simulator.Ledger {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "simulator.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
	{"postgres", func(t *testing.T) simulator.Ledger {
		url := pgtest.SchemaURL(t) // skips loudly, or fails under KASSA_REQUIRE_POSTGRES, without a server
		st, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
	{"memory", func(*testing.T) simulator.Ledger { return simulator.NewMemoryLedger(0) }},
}

// forEachLedger runs fn in a parallel subtest per ledger.
func forEachLedger(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, l := range ledgers {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			fn(t, setup(t, l.open(t)))
		})
	}
}

// Secrets of the calls: none may appear in a transcript, a result or a log.
const (
	testPAN      = "4111111111111111"
	testCVC      = "737"
	testLogin    = "merchant-login-77"
	testPassword = "s3cret-Passw0rd"
)

// fixture is a Server on a real listener and an Adapter pointed at it.
type fixture struct {
	srv    *Server
	url    string
	ad     *Adapter
	ledger simulator.Ledger
	logs   *syncBuffer
	cfg    gateway.Config
}

func setup(t *testing.T, ledger simulator.Ledger) *fixture {
	t.Helper()
	logs := &syncBuffer{}
	srv, err := NewServer(ServerOptions{
		Simulator: simulator.New(simulator.Options{Ledger: ledger}), Ledger: ledger,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &fixture{srv: srv, url: hs.URL, ad: New(Options{}), ledger: ledger, logs: logs,
		cfg: gateway.Config{GatewayID: "gw_" + strings.ReplaceAll(t.Name(), "/", "_"),
			Credentials: map[string]string{"login": testLogin, "password": testPassword},
			Settings:    map[string]any{SettingBaseURL: hs.URL}, Sandbox: true}}
}

func (f *fixture) faults(t *testing.T, fs Faults) {
	t.Helper()
	if err := f.srv.SetFaults(fs); err != nil {
		t.Fatal(err)
	}
}

var seq struct {
	sync.Mutex
	n int
}

func ref() string {
	seq.Lock()
	defer seq.Unlock()
	seq.n++
	return fmt.Sprintf("op_test_%d_%d", time.Now().UnixNano(), seq.n)
}

func (f *fixture) purchase(amount int64) *gateway.Request {
	return &gateway.Request{Config: f.cfg, Reference: ref(), Kind: payment.OpPurchase, Amount: amount, Currency: "EUR",
		Card: &gateway.Card{Number: testPAN, CVC: testCVC, ExpMonth: 12, ExpYear: time.Now().Year() + 2}}
}

// call runs r with a deadline, as the engine's call timeout sets one.
func (f *fixture) call(t *testing.T, r *gateway.Request, timeout time.Duration) gateway.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := gateway.Call(ctx, f.ad, r)
	if err != nil {
		t.Fatal(err)
	}
	f.checkSecretFree(t, res)
	return res
}

func (f *fixture) status(t *testing.T, r *gateway.Request) (gateway.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := f.ad.QueryStatus(ctx, r)
	f.checkSecretFree(t, res)
	return res, err
}

// checkSecretFree fails if the result, its transcript or the server's log
// holds the card number, the security code or a credential.
func (f *fixture) checkSecretFree(t *testing.T, res gateway.Result) {
	t.Helper()
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	basic := base64.StdEncoding.EncodeToString([]byte(testLogin + ":" + testPassword))
	for _, where := range []struct{ name, text string }{{"result", string(data)}, {"server log", f.logs.String()}} {
		for _, secret := range []string{testPAN, "4111 1111", testLogin, testPassword, basic, `"cvc":"737"`, `"cvc":737`} {
			if strings.Contains(where.text, secret) {
				t.Errorf("the %s holds the secret %q:\n%s", where.name, secret, where.text)
			}
		}
	}
}

func TestHealthyProvider(t *testing.T) {
	t.Parallel()
	forEachLedger(t, func(t *testing.T, f *fixture) {
		p := f.purchase(1000)
		res := f.call(t, p, 5*time.Second)
		if res.Outcome != payment.OutcomeSucceeded || !strings.HasPrefix(res.GatewayReference, "sim_") || res.Transcript == nil {
			t.Fatalf("purchase: %+v", res)
		}
		if ex := res.Transcript.Exchanges[0]; ex.Status != 200 || !strings.Contains(ex.URL, "/v1/accounts/"+f.cfg.GatewayID+"/purchase") {
			t.Errorf("transcript: %+v", ex)
		}
		// A repeat of the reference returns the first answer, acting once.
		again := f.call(t, p, 5*time.Second)
		if again.Outcome != payment.OutcomeSucceeded || again.GatewayReference != res.GatewayReference {
			t.Errorf("repeat: %+v, want the first answer %s", again, res.GatewayReference)
		}
		// The card table and the amount rules are the simulator's.
		decl := f.purchase(1000)
		decl.Card.Number = "4000000000009995"
		if res := f.call(t, decl, 5*time.Second); res.Outcome != payment.OutcomeDeclined || res.DeclineCode != "insufficient_funds" {
			t.Errorf("declining card: %+v", res)
		}
		if res := f.call(t, f.purchase(1005), 5*time.Second); res.Outcome != payment.OutcomeDeclined || res.DeclineCode != "do_not_honor" {
			t.Errorf("amount ending in 05: %+v", res)
		}
		if res := f.call(t, f.purchase(1013), 5*time.Second); res.Outcome != payment.OutcomeNotSent {
			t.Errorf("amount ending in 13: %+v", res)
		}
		bad := f.purchase(1000)
		bad.Card.Number = "4111111111111112"
		if res := f.call(t, bad, 5*time.Second); res.Outcome != payment.OutcomeFailed || res.DeclineCode != payment.CodeInvalidNumber {
			t.Errorf("invalid number: %+v", res)
		}
		// Follow-ups on an authorization, with the ledger's rules.
		auth := f.purchase(2000)
		auth.Kind = payment.OpAuthorize
		ar := f.call(t, auth, 5*time.Second)
		follow := func(kind payment.OperationKind, amount int64) gateway.Result {
			return f.call(t, &gateway.Request{Config: f.cfg, Reference: ref(), Kind: kind, Amount: amount, Currency: "EUR",
				PriorReference: ar.GatewayReference, PriorKind: payment.OpAuthorize}, 5*time.Second)
		}
		if res := follow(payment.OpCapture, 2500); res.Outcome != payment.OutcomeFailed || res.DeclineCode != simulator.CodeAmountExceedsAuthorized {
			t.Errorf("capture over the authorization: %+v", res)
		}
		if res := follow(payment.OpCapture, 1200); res.Outcome != payment.OutcomeSucceeded {
			t.Errorf("capture: %+v", res)
		}
		if res := follow(payment.OpRefund, 200); res.Outcome != payment.OutcomeSucceeded {
			t.Errorf("refund: %+v", res)
		}
		if res := follow(payment.OpVoid, 0); res.Outcome != payment.OutcomeSucceeded {
			t.Errorf("void after a partial capture: %+v", res)
		}
		// The status query finds what was done.
		got, err := f.status(t, p)
		if err != nil || got.Outcome != payment.OutcomeSucceeded || got.GatewayReference != res.GatewayReference {
			t.Errorf("status: %+v, %v", got, err)
		}
		ops, err := f.ledger.SimulatorOperations(context.Background(), f.cfg.GatewayID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ops) != 9 || ops[0].Calls != 2 { // 1013 was not sent: never recorded
			t.Errorf("ledger: %d operations, the first with %d calls; want 9 and 2", len(ops), ops[0].Calls)
		}
	})
}

func TestDropAfterProcessing(t *testing.T) {
	t.Parallel()
	forEachLedger(t, func(t *testing.T, f *fixture) {
		f.faults(t, Faults{DropAfterProcessing: 1})
		p := f.purchase(1000)
		res := f.call(t, p, 5*time.Second)
		if res.Outcome != payment.OutcomeUnknown || res.GatewayReference != "" {
			t.Fatalf("dropped answer: %+v, want unknown", res)
		}
		if ex := res.Transcript.Exchanges[0]; ex.Status != 0 || ex.Error == "" {
			t.Errorf("the transcript of a dropped answer: %+v", ex)
		}
		got, err := f.status(t, p)
		if err != nil || got.Outcome != payment.OutcomeSucceeded || got.GatewayReference == "" {
			t.Errorf("status after the drop: %+v, %v; want the recorded success", got, err)
		}
	})
}

func TestResetBeforeProcessing(t *testing.T) {
	t.Parallel()
	forEachLedger(t, func(t *testing.T, f *fixture) {
		f.faults(t, Faults{Reset: 1})
		p := f.purchase(1000)
		res := f.call(t, p, 5*time.Second)
		if res.Outcome != payment.OutcomeUnknown {
			t.Fatalf("reset: %+v, want unknown (the request was sent)", res)
		}
		if _, err := f.status(t, p); !errors.Is(err, gateway.ErrReferenceNotFound) {
			t.Errorf("status after the reset: %v, want ErrReferenceNotFound (so: not sent)", err)
		}
	})
}

func TestSlowBeyondTheCallTimeout(t *testing.T) {
	t.Parallel()
	forEachLedger(t, func(t *testing.T, f *fixture) {
		f.faults(t, Faults{SlowMS: 2000})
		p := f.purchase(1000)
		start := time.Now()
		res := f.call(t, p, 300*time.Millisecond)
		if res.Outcome != payment.OutcomeUnknown {
			t.Fatalf("slow answer past the deadline: %+v, want unknown", res)
		}
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Errorf("the call took %v: the deadline did not cut it", d)
		}
		// The reconciler's query finds it.
		got, err := f.status(t, p)
		if err != nil || got.Outcome != payment.OutcomeSucceeded {
			t.Errorf("status: %+v, %v; want succeeded", got, err)
		}
		// Slow within the deadline is just slow.
		f.faults(t, Faults{SlowMS: 100})
		if res := f.call(t, f.purchase(1000), 5*time.Second); res.Outcome != payment.OutcomeSucceeded {
			t.Errorf("slow within the deadline: %+v", res)
		}
	})
}

func TestOutage(t *testing.T) {
	t.Parallel()
	forEachLedger(t, func(t *testing.T, f *fixture) {
		f.faults(t, Faults{Outage: true})
		p := f.purchase(1000)
		if res := f.call(t, p, 5*time.Second); res.Outcome != payment.OutcomeNotSent {
			t.Fatalf("outage: %+v, want not_sent", res)
		}
		if res, err := f.status(t, p); err != nil || res.Outcome != payment.OutcomeUnknown {
			t.Errorf("status during the outage: %+v, %v; want unknown", res, err)
		}
		f.faults(t, Faults{})
		if _, err := f.status(t, p); !errors.Is(err, gateway.ErrReferenceNotFound) {
			t.Errorf("status after the outage: %v, want ErrReferenceNotFound", err)
		}
	})
}

func TestLatency(t *testing.T) {
	t.Parallel()
	forEachLedger(t, func(t *testing.T, f *fixture) {
		f.faults(t, Faults{LatencyMS: 200})
		start := time.Now()
		if res := f.call(t, f.purchase(1000), 5*time.Second); res.Outcome != payment.OutcomeSucceeded {
			t.Errorf("with latency: %+v", res)
		}
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Errorf("the call took %v, under the latency", d)
		}
		// A client that gives up during the latency leaves no trace.
		f.faults(t, Faults{LatencyMS: 800})
		p := f.purchase(1000)
		if res := f.call(t, p, 200*time.Millisecond); res.Outcome != payment.OutcomeUnknown {
			t.Errorf("deadline within the latency: %+v, want unknown", res)
		}
		f.faults(t, Faults{})
		time.Sleep(time.Second) // past the latency the request would have waited
		if _, err := f.status(t, p); !errors.Is(err, gateway.ErrReferenceNotFound) {
			t.Errorf("status: %v, want ErrReferenceNotFound", err)
		}
	})
}

func TestLostResponseCard(t *testing.T) {
	t.Parallel()
	forEachLedger(t, func(t *testing.T, f *fixture) {
		p := f.purchase(1000)
		p.Card.Number = "4100000000000001"
		if res := f.call(t, p, 5*time.Second); res.Outcome != payment.OutcomeUnknown {
			t.Fatalf("lost-response card: %+v, want unknown", res)
		}
		if got, err := f.status(t, p); err != nil || got.Outcome != payment.OutcomeSucceeded {
			t.Errorf("status: %+v, %v", got, err)
		}
	})
}

func TestProviderDown(t *testing.T) {
	t.Parallel()
	f := setup(t, simulator.NewMemoryLedger(0))
	hs := httptest.NewServer(http.NotFoundHandler())
	hs.Close() // nothing listens there now
	f.cfg.Settings = map[string]any{SettingBaseURL: hs.URL}
	p := f.purchase(1000)
	if res := f.call(t, p, 5*time.Second); res.Outcome != payment.OutcomeNotSent {
		t.Errorf("connection refused: %+v, want not_sent", res)
	}
	if res, err := f.status(t, p); err != nil || res.Outcome != payment.OutcomeUnknown {
		t.Errorf("status with the provider down: %+v, %v; want unknown", res, err)
	}
}

func TestBare404IsNotANotFound(t *testing.T) {
	t.Parallel()
	f := setup(t, simulator.NewMemoryLedger(0))
	other := httptest.NewServer(http.NotFoundHandler()) // base_url pointing at something else
	t.Cleanup(other.Close)
	f.cfg.Settings = map[string]any{SettingBaseURL: other.URL}
	res, err := f.status(t, f.purchase(1000))
	if err != nil || res.Outcome != payment.OutcomeUnknown {
		t.Errorf("status from a stranger's 404: %+v, %v; want unknown, never not found", res, err)
	}
	if res := f.call(t, f.purchase(1000), 5*time.Second); res.Outcome != payment.OutcomeUnknown {
		t.Errorf("purchase answered by a stranger's 404: %+v, want unknown", res)
	}
}

func TestFaultsAPI(t *testing.T) {
	t.Parallel()
	f := setup(t, simulator.NewMemoryLedger(0))
	put := func(body string) (int, Faults) {
		req, _ := http.NewRequest(http.MethodPut, f.url+"/v1/faults", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got Faults
		json.NewDecoder(resp.Body).Decode(&got)
		return resp.StatusCode, got
	}
	want := Faults{LatencyMS: 5, Outage: true, DropAfterProcessing: 0.25, Reset: 0.5, SlowMS: 30000}
	if code, got := put(`{"latency_ms":5,"outage":true,"drop_after_processing":0.25,"reset":0.5,"slow_ms":30000}`); code != 200 || got != want {
		t.Errorf("PUT: %d %+v", code, got)
	}
	resp, err := http.Get(f.url + "/v1/faults")
	if err != nil {
		t.Fatal(err)
	}
	var got Faults
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if got != want {
		t.Errorf("GET: %+v, want %+v", got, want)
	}
	for _, bad := range []string{`{"reset":1.5}`, `{"drop_after_processing":-0.1}`, `{"slow_ms":-1}`, `{"latency_ms":600001}`, `{"resets":1}`, `[]`} {
		if code, _ := put(bad); code != http.StatusBadRequest {
			t.Errorf("PUT %s: %d, want 400", bad, code)
		}
	}
	if f.srv.Faults() != want {
		t.Errorf("a refused PUT changed the faults: %+v", f.srv.Faults())
	}
}

func TestListing(t *testing.T) {
	t.Parallel()
	forEachLedger(t, func(t *testing.T, f *fixture) {
		p := f.purchase(1000)
		res := f.call(t, p, 5*time.Second)
		resp, err := http.Get(f.url + "/v1/accounts/" + f.cfg.GatewayID + "/operations")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var list OperationList
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			t.Fatal(err)
		}
		if len(list.Data) != 1 {
			t.Fatalf("listing: %+v", list)
		}
		op := list.Data[0]
		if op.Reference != p.Reference || op.Kind != payment.OpPurchase || op.Amount != 1000 || op.Calls != 1 ||
			op.Result.Status != payment.OutcomeSucceeded || op.Result.ID != res.GatewayReference {
			t.Errorf("listed operation: %+v", op)
		}
	})
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	f := setup(t, simulator.NewMemoryLedger(0))
	for _, tc := range []struct{ path, body string }{
		{"/v1/accounts/a/purchase", `{`},
		{"/v1/accounts/a/purchase", `{"reference":"x","amount":100,"currency":"EUR"}`}, // no card
		{"/v1/accounts/a/purchase", `{"reference":"","amount":100}`},
		{"/v1/accounts/a/capture", `{"reference":"x","amount":-1}`},
		{"/v1/accounts/a/capture", `{"reference":"x","surprise":1}`},
	} {
		resp, err := http.Post(f.url+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		var eb ErrorBody
		json.NewDecoder(resp.Body).Decode(&eb)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || eb.Error.Code != CodeInvalidRequest {
			t.Errorf("%s %s: %d %+v, want 400 invalid_request", tc.path, tc.body, resp.StatusCode, eb)
		}
	}
}

// TestNoSecretsOnAnyPath runs calls down every path — answered, declined,
// dropped, reset, refused, timed out — with a card and credentials, and
// checks (in call and status) that none of them reaches a result, a
// transcript or the server's log.
func TestNoSecretsOnAnyPath(t *testing.T) {
	t.Parallel()
	f := setup(t, simulator.NewMemoryLedger(0))
	run := func(fs Faults, amount int64, timeout time.Duration) {
		f.faults(t, fs)
		p := f.purchase(amount)
		p.GatewaySpecificFields = map[string]any{"note": "card " + testPAN}
		f.call(t, p, timeout)
		f.status(t, p)
	}
	run(Faults{}, 1000, 5*time.Second)
	run(Faults{}, 1005, 5*time.Second)
	run(Faults{DropAfterProcessing: 1}, 1000, 5*time.Second)
	run(Faults{Reset: 1}, 1000, 5*time.Second)
	run(Faults{SlowMS: 1000}, 1000, 200*time.Millisecond)
	run(Faults{Outage: true}, 1000, 5*time.Second)
	f.cfg.Settings = map[string]any{SettingBaseURL: "http://" + testLogin + ":" + testPassword + "@127.0.0.1:1"}
	run(Faults{}, 1000, 5*time.Second)
	if !strings.Contains(f.logs.String(), "fault: connection reset") {
		t.Errorf("the server logged no fault:\n%s", f.logs)
	}
}

func TestCheckSettings(t *testing.T) {
	t.Parallel()
	a := New(Options{})
	for _, tc := range []struct {
		url  any
		code string
	}{
		{"http://127.0.0.1:9090", ""},
		{"https://sim.example.com/base/", ""},
		{nil, payment.CodeParameterMissing},
		{"", payment.CodeParameterMissing},
		{"127.0.0.1:9090", payment.CodeParameterInvalid},
		{"ftp://127.0.0.1", payment.CodeParameterInvalid},
		{"http://", payment.CodeParameterInvalid},
		{"http://u:p@127.0.0.1:9090", payment.CodeParameterInvalid},
		{"http://127.0.0.1:9090?x=1", payment.CodeParameterInvalid},
		{"http://127.0.0.1:9090/#f", payment.CodeParameterInvalid},
		{"http://[::1", payment.CodeParameterInvalid},
	} {
		err := a.CheckSettings(map[string]any{SettingBaseURL: tc.url})
		var pe *payment.Error
		switch {
		case tc.code == "" && err != nil:
			t.Errorf("%v: %v", tc.url, err)
		case tc.code != "" && (!errors.As(err, &pe) || pe.Code != tc.code || pe.Param != "settings.base_url" || pe.Kind != payment.KindInvalid):
			t.Errorf("%v: %v, want %s on settings.base_url", tc.url, err, tc.code)
		}
	}
}

// syncBuffer is a bytes.Buffer for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSpec: the adapter describes itself as the simulator does — test
// accounts only, every operation, a grace of seconds — under its own type
// and with base_url as its one, required setting.
func TestSpec(t *testing.T) {
	spec, sim := New(Options{}).Spec(), simulator.TypeSpec()
	if spec.Type != Type || spec.Type == sim.Type {
		t.Errorf("type %q, want %q", spec.Type, Type)
	}
	if len(spec.SettingsFields) != 1 || spec.SettingsFields[0].Name != SettingBaseURL || !spec.SettingsFields[0].Required {
		t.Errorf("settings %+v, want base_url alone, required", spec.SettingsFields)
	}
	if !spec.TestOnly || spec.UnknownGrace != sim.UnknownGrace || spec.UnknownGrace <= 0 || spec.UnknownGrace > 10*time.Second {
		t.Errorf("test only %v, grace %v; want test only and the simulator's few seconds", spec.TestOnly, spec.UnknownGrace)
	}
	if !slices.Equal(spec.Operations, sim.Operations) || len(spec.CredentialFields) != len(sim.CredentialFields) {
		t.Errorf("operations %v and credentials %v differ from the simulator's", spec.Operations, spec.CredentialFields)
	}
}
