package dintero

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/adyen"
	"github.com/kassapay/kassa/internal/gateway/authorizenet"
	"github.com/kassapay/kassa/internal/gateway/collector"
	"github.com/kassapay/kassa/internal/gateway/collector/collectortest"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/gateway/stripe"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/vault"
)

// The Collector stand-in's one credential. The secrets are long enough
// for the leak check to find them anywhere.
const (
	collectorUser   = "kassa-store"
	collectorSecret = "collector-shared-key-9f3a1c5e7b"
	collectorStore  = "4242"
	clientSecret    = "customers-client-secret-4b8d2e6f"
)

// collectorSeedBody is the request of Dintero's page admin_gateways_collector_credentials_put
// (docs.dintero.com/checkout-api/collector-gateway/), byte for byte.
const collectorSeedBody = `{
  "name": "<string>",
  "data": {
    "url": "<string>",
    "username": "<string>",
    "password": "<string>",
    "store_id": 123,
    "country": "<string>",
    "options": {
      "customer_client": {
        "customers_client_id": "<string>",
        "customers_client_secret": "<string>",
        "customers_client_audience": "<string>"
      },
      "enable_on_hold": false,
      "settlement_reference_fields": "account_id"
    }
  }
}`

// setupAdmin is a fixture on st whose engine offers kassa's gateway types
// (the simulator keeping its ledger in st).
func setupAdmin(t testing.TB, st payment.Store) *fixture {
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
	reg := gateway.NewRegistry(
		simulator.New(simulator.Options{Ledger: st.(simulator.Ledger), Now: clk.Now}),
		collector.New(collector.Options{}),
		stripe.New(stripe.Options{}),
		adyen.New(adyen.Options{}),
		authorizenet.New(authorizenet.Options{}),
	)
	eng := engine.New(engine.Config{Store: st, Vault: v, Logger: log, Now: clk.Now, Gateways: reg})
	h := newHandler(eng, Options{Logger: log, Registry: prometheus.NewRegistry()}, routes())
	return &fixture{st: st, keyFile: keyFile, vault: v, eng: eng, h: h, clk: clk, logs: logs}
}

// onStores runs fn on a fresh fixture (setupAdmin: every gateway type
// kassa offers) over each of stores.
func onStores(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) { fn(t, setupAdmin(t, st.open(t))) })
	}
}

func credPath(gw string) string { return "/v1/admin/gateways/" + gw + "/credentials" }

// collectorBody is a collector credential for the stand-in at url.
func collectorBody(name, url, password string) string {
	return fmt.Sprintf(`{"name":%q,"description":"store %s","data":{"url":%q,"username":%q,"password":%q,"store_id":%s,"country":"NO",`+
		`"options":{"customer_client":{"customers_client_id":"cc","customers_client_secret":%q,"customers_client_audience":"aud"},`+
		`"enable_on_hold":true,"settlement_reference_fields":"account_id"}}}`,
		name, collectorStore, url, collectorUser, password, collectorStore, clientSecret)
}

// versions lists m's credentials of type gw through the API.
func (f *fixture) versions(t testing.TB, m merchant, gw string) map[string]float64 {
	t.Helper()
	res := f.do(t, req{method: "GET", path: credPath(gw), apiKey: m.secret})
	if res.status != http.StatusOK {
		t.Fatalf("list: HTTP %d %s", res.status, res.body)
	}
	var list []map[string]any
	if err := json.Unmarshal(res.body, &list); err != nil {
		t.Fatalf("list %s: %v", res.body, err)
	}
	out := map[string]float64{}
	for _, c := range list {
		out[c["name"].(string)] = c["version"].(float64)
	}
	return out
}

func TestAdminCredentialsCollector(t *testing.T) {
	onStores(t, func(t *testing.T, f *fixture) {
		srv := collectortest.New(collectorUser, collectorSecret, collectorStore)
		defer srv.Close()
		m := f.merchant(t, false)
		tok := f.token(t, m)

		// Dintero's example, as documented: created, then a new version.
		// Its url is a placeholder, so it can only be saved unchecked.
		res := f.do(t, req{method: "PUT", path: credPath("collector") + "?validate_credential=false", body: collectorSeedBody, apiKey: m.secret})
		if res.status != http.StatusCreated {
			t.Fatalf("seed: HTTP %d %s", res.status, res.body)
		}
		body := res.json(t)
		if len(body) != 6 || body["name"] != "<string>" || body["version"] != float64(1) || body["created_by"] == "" ||
			body["created_at"] != body["updated_at"] {
			t.Fatalf("seed response %s", res.body)
		}
		res = f.do(t, req{method: "PUT", path: credPath("collector") + "?overwrite=true&validate_credential=false", body: collectorSeedBody, bearer: tok})
		if res.status != http.StatusOK || res.json(t)["version"] != float64(2) {
			t.Fatalf("seed overwrite: HTTP %d %s", res.status, res.body)
		}
		// Checked (the default), the placeholder url is refused.
		res = f.do(t, req{method: "PUT", path: credPath("collector") + "?overwrite=true", body: collectorSeedBody, bearer: tok})
		wantError(t, "seed validated", res, 400, CodeBadRequest, "data.url")

		// A credential the stand-in accepts, then one it refuses.
		good := collectorBody("4242", srv.URL, collectorSecret)
		res = f.do(t, req{method: "PUT", path: credPath("collector"), body: good, bearer: tok})
		if res.status != http.StatusCreated {
			t.Fatalf("good: HTTP %d %s", res.status, res.body)
		}
		asked := srv.Requests.Load()
		res = f.do(t, req{method: "PUT", path: credPath("collector"), body: good, bearer: tok})
		wantError(t, "existing name without overwrite", res, 409, CodeConflict, "")
		if srv.Requests.Load() != asked {
			t.Error("a conflict asked Collector")
		}
		bad := collectorBody("4242", srv.URL, "not-the-shared-key-5d7e9a1b3c")
		res = f.do(t, req{method: "PUT", path: credPath("collector") + "?overwrite=true", body: bad, bearer: tok})
		wantError(t, "refused password", res, 400, CodeBadRequest, "data.password")
		if !strings.Contains(string(res.body), "Collector refused") {
			t.Errorf("the refusal does not give Collector's reason: %s", res.body)
		}
		res = f.do(t, req{method: "PUT", path: credPath("collector"), body: collectorBody("new", srv.URL, "not-the-shared-key-5d7e9a1b3c"), bearer: tok})
		wantError(t, "refused new credential", res, 400, CodeBadRequest, "data.password")
		otherStore := strings.Replace(good, `"store_id":4242`, `"store_id":17`, 1)
		res = f.do(t, req{method: "PUT", path: credPath("collector") + "?overwrite=true", body: otherStore, bearer: tok})
		wantError(t, "refused store", res, 400, CodeBadRequest, "data.store_id")
		if got := f.versions(t, m, "collector"); len(got) != 2 || got["<string>"] != 2 || got["4242"] != 1 {
			t.Fatalf("after refusals and a conflict: %v", got)
		}
		res = f.do(t, req{method: "PUT", path: credPath("collector") + "?overwrite=true", body: good, bearer: tok})
		if res.status != http.StatusOK || res.json(t)["version"] != float64(2) {
			t.Fatalf("overwrite: HTTP %d %s", res.status, res.body)
		}

		// Collector makes no payments: a clear refusal, nothing sent.
		p, err := f.eng.Authenticate(context.Background(), m.secret)
		if err != nil {
			t.Fatal(err)
		}
		pm := f.card(t, p)
		_, err = f.eng.CreatePayment(context.Background(), p, engine.PaymentInput{Amount: 1000, Currency: "NOK",
			PaymentMethodID: pm, GatewayID: engine.NamedCredentialGatewayID(m.id, "collector", "4242")})
		if pe, ok := payment.AsError(err); !ok || pe.Code != "operation_not_supported" {
			t.Fatalf("payment through collector: %v", err)
		}
		f.noSecrets(t, m.id, collectorSecret, clientSecret, "not-the-shared-key-5d7e9a1b3c")
	})
}

// card vaults a test card for p and returns its id.
func (f *fixture) card(t testing.TB, p *payment.Principal) string {
	t.Helper()
	pm, err := f.eng.CreatePaymentMethod(context.Background(), p, engine.PaymentMethodInput{Type: "card", Retain: true,
		Card: &engine.CardInput{Number: "4000000000000002", ExpMonth: 12, ExpYear: 2030, CVC: "123", HolderName: "Kari Nordmann"}})
	if err != nil {
		t.Fatal(err)
	}
	return pm.ID
}

// noSecrets fails if any response, log line or event of account holds
// one of secrets.
func (f *fixture) noSecrets(t testing.TB, account string, secrets ...string) {
	t.Helper()
	texts := append([]string{f.logs.String()}, f.responses...)
	evs, _, err := f.st.Events(context.Background(), account, payment.ListParams{Limit: 1000})
	if err != nil || len(evs) == 0 {
		t.Fatalf("events of %s: %v (%d)", account, err, len(evs))
	}
	for _, ev := range evs {
		texts = append(texts, ev.Type+" "+string(ev.Data))
	}
	for _, s := range secrets {
		for _, text := range texts {
			if strings.Contains(text, s) {
				t.Errorf("a response, log line or event holds the secret %q", s)
				break
			}
		}
	}
}

// TestAdminCredentialsRace: requests creating one name at once make one
// credential; the others are conflicts, never a 500.
func TestAdminCredentialsRace(t *testing.T) {
	onStores(t, func(t *testing.T, f *fixture) {
		m := f.merchant(t, false)
		const n = 6
		statuses := make(chan int, n)
		for range n {
			go func() {
				res := f.do(t, req{method: "PUT", path: credPath("simulator"), apiKey: m.secret, body: `{"name":"race","data":{"login":"a"}}`})
				statuses <- res.status
			}()
		}
		count := map[int]int{}
		for range n {
			count[<-statuses]++
		}
		if count[http.StatusCreated] != 1 || count[http.StatusConflict] != n-1 {
			t.Fatalf("statuses %v", count)
		}
		if got := f.versions(t, m, "simulator"); len(got) != 1 || got["race"] != 1 {
			t.Fatalf("list %v", got)
		}
	})
}

// TestAdminCredentialsPromote: a new version (and a promoted gateway's new
// version) serves new payments; payments made before keep their version.
func TestAdminCredentialsPromote(t *testing.T) {
	onStores(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		m := f.merchant(t, false)
		p, err := f.eng.Authenticate(ctx, m.secret)
		if err != nil {
			t.Fatal(err)
		}
		res := f.do(t, req{method: "PUT", path: credPath("simulator"), apiKey: m.secret,
			body: `{"name":"main","data":{"login":"merchant-1","password":"simulator-password-one"}}`})
		if res.status != http.StatusCreated {
			t.Fatalf("create: HTTP %d %s", res.status, res.body)
		}
		named := engine.NamedCredentialGatewayID(m.id, "simulator", "main")
		native, err := f.eng.CreateGateway(ctx, p, engine.GatewayInput{Type: "simulator", Description: "native",
			Credentials: map[string]any{"login": "native-1", "password": "native-password-one"}})
		if err != nil {
			t.Fatal(err)
		}
		pm := f.card(t, p)
		authorize := func(gw string) *payment.Payment {
			t.Helper()
			pay, err := f.eng.CreatePayment(ctx, p, engine.PaymentInput{Amount: 2500, Currency: "NOK", PaymentMethodID: pm,
				GatewayID: gw, Capture: new(false)})
			if err != nil || pay.Status != payment.StatusAuthorized {
				t.Fatalf("authorize on %s: %v %+v", gw, err, pay)
			}
			return pay
		}
		oldNamed, oldNative := authorize(named), authorize(native.ID)
		if oldNamed.CredentialVersion != 1 || oldNative.CredentialVersion != 1 {
			t.Fatalf("versions %d %d", oldNamed.CredentialVersion, oldNative.CredentialVersion)
		}

		res = f.do(t, req{method: "PUT", path: credPath("simulator") + "?overwrite=true", apiKey: m.secret,
			body: `{"name":"main","description":"rotated","data":{"login":"merchant-2","password":"simulator-password-two"},` +
				`"promote":[{"gateway_id":"` + native.ID + `"}]}`})
		if res.status != http.StatusOK || res.json(t)["version"] != float64(2) {
			t.Fatalf("overwrite: HTTP %d %s", res.status, res.body)
		}
		for _, c := range []struct {
			gw  string
			old *payment.Payment
		}{{named, oldNamed}, {native.ID, oldNative}} {
			_, op, err := f.eng.Capture(ctx, p, c.old.ID, nil)
			if err != nil || op.CredentialVersion != 1 {
				t.Errorf("%s: capture of the old payment: %v, version %v", c.gw, err, op)
			}
			if now := authorize(c.gw); now.CredentialVersion != 2 {
				t.Errorf("%s: a new payment uses version %d", c.gw, now.CredentialVersion)
			}
		}
		hist, err := f.eng.GatewayCredentialHistory(ctx, m.id, native.ID)
		if err != nil || len(hist) != 2 || hist[0].Description != "rotated" {
			t.Fatalf("promoted gateway's history: %v %+v", err, hist)
		}
		f.noSecrets(t, m.id, "simulator-password-one", "simulator-password-two", "native-password-one")
	})
}

// TestAdminCredentialsErrors: Dintero's error shape with the field's path,
// never a 500; nothing saved.
func TestAdminCredentialsErrors(t *testing.T) {
	onStores(t, func(t *testing.T, f *fixture) {
		m := f.merchant(t, false)
		other := f.merchant(t, false)
		ctx := context.Background()
		po, err := f.eng.Authenticate(ctx, other.secret)
		if err != nil {
			t.Fatal(err)
		}
		otherGw, err := f.eng.CreateGateway(ctx, po, engine.GatewayInput{Type: "simulator",
			Credentials: map[string]any{"login": "x"}})
		if err != nil {
			t.Fatal(err)
		}
		noCheck := "?validate_credential=false"
		col := func(data string) string { return `{"name":"s1","data":` + data + `}` }
		full := `"url":"https://c.example","username":"u","password":"p","country":"SE"`
		readOnly := f.tokenScoped(t, m, "read:checkout write:checkout")
		cases := []struct {
			name        string
			q           req
			status      int
			code, fpath string
		}{
			{"store_id a string", req{method: "PUT", path: credPath("collector") + noCheck, body: col(`{` + full + `,"store_id":"123"}`)}, 400, CodeBadRequest, "data.store_id"},
			{"store_id not positive", req{method: "PUT", path: credPath("collector") + noCheck, body: col(`{` + full + `,"store_id":0}`)}, 400, CodeBadRequest, "data.store_id"},
			{"store_id missing", req{method: "PUT", path: credPath("collector") + noCheck, body: col(`{` + full + `}`)}, 400, CodeBadRequest, "data.store_id"},
			{"password missing", req{method: "PUT", path: credPath("collector") + noCheck, body: col(`{"url":"https://c.example","username":"u","store_id":1,"country":"SE"}`)}, 400, CodeBadRequest, "data.password"},
			{"unknown option", req{method: "PUT", path: credPath("collector") + noCheck, body: col(`{` + full + `,"store_id":1,"options":{"foo":1}}`)}, 400, CodeBadRequest, "data.options.foo"},
			{"enable_on_hold a string", req{method: "PUT", path: credPath("collector") + noCheck, body: col(`{` + full + `,"store_id":1,"options":{"enable_on_hold":"yes"}}`)}, 400, CodeBadRequest, "data.options.enable_on_hold"},
			{"secret not a string", req{method: "PUT", path: credPath("collector") + noCheck, body: col(`{` + full + `,"store_id":1,"options":{"customer_client":{"customers_client_secret":5}}}`)}, 400, CodeBadRequest, "data.options.customer_client.customers_client_secret"},
			{"data missing", req{method: "PUT", path: credPath("collector"), body: `{"name":"s1"}`}, 400, CodeBadRequest, "data"},
			{"name missing", req{method: "PUT", path: credPath("simulator"), body: `{"data":{"login":"a"}}`}, 400, CodeBadRequest, "name"},
			{"unknown credential field", req{method: "PUT", path: credPath("simulator"), body: `{"name":"a","data":{"user":"a"}}`}, 400, CodeBadRequest, "data.user"},
			{"credential not a string", req{method: "PUT", path: credPath("simulator"), body: `{"name":"a","data":{"login":1}}`}, 400, CodeBadRequest, "data.login"},
			{"stripe key missing", req{method: "PUT", path: credPath("stripe") + noCheck, body: `{"name":"a","data":{}}`}, 400, CodeBadRequest, "data.secret_key"},
			{"simulator refuses", req{method: "PUT", path: credPath("simulator"), body: `{"name":"a","data":{"login":"invalid"}}`}, 400, CodeBadRequest, "data.login"},
			{"unknown top field", req{method: "PUT", path: credPath("simulator"), body: `{"name":"a","data":{},"secret":"x"}`}, 400, CodeBadRequest, "secret"},
			{"overwrite not a bool", req{method: "PUT", path: credPath("simulator") + "?overwrite=maybe", body: `{"name":"a","data":{}}`}, 400, CodeBadRequest, "overwrite"},
			{"promote without id", req{method: "PUT", path: credPath("simulator"), body: `{"name":"a","data":{},"promote":[{}]}`}, 400, CodeBadRequest, "promote[0].gateway_id"},
			{"promote another account's gateway", req{method: "PUT", path: credPath("simulator"), body: `{"name":"a","data":{},"promote":[{"gateway_id":"` + otherGw.ID + `"}]}`}, 404, CodeNotFound, "promote[0].gateway_id"},
			{"promote a gateway of another type", req{method: "PUT", path: credPath("stripe") + noCheck, body: `{"name":"a","data":{"secret_key":"sk_test_x"},"promote":[{"gateway_id":"` + engine.NamedCredentialGatewayID(m.id, "collector", "x") + `"}]}`}, 404, CodeNotFound, "promote[0].gateway_id"},
			{"unknown gateway", req{method: "PUT", path: credPath("payex"), body: `{"name":"a","data":{}}`}, 404, CodeNotFound, ""},
			{"router", req{method: "GET", path: credPath("router")}, 404, CodeNotFound, ""},
			{"gateway needing settings", req{method: "GET", path: credPath("simulator_http")}, 404, CodeNotFound, ""},
			{"malformed", req{method: "PUT", path: credPath("simulator"), body: `{"name":`}, 400, CodeBadRequest, ""},
			{"not an object", req{method: "PUT", path: credPath("simulator"), body: `[1]`}, 400, CodeBadRequest, ""},
			{"DELETE", req{method: "DELETE", path: credPath("simulator")}, 405, CodeMethodNotAllowed, ""},
			{"no credentials", req{method: "PUT", path: credPath("simulator"), body: `{"name":"a","data":{}}`, apiKey: "-"}, 401, CodeUnauthorized, ""},
			{"publishable x-api-key", req{method: "PUT", path: credPath("simulator"), body: `{"name":"a","data":{}}`, apiKey: m.publishable}, 401, CodeUnauthorized, ""},
			{"token without admin:checkout", req{method: "PUT", path: credPath("simulator"), body: `{"name":"a","data":{}}`, bearer: readOnly}, 403, CodeForbidden, ""},
			{"list without admin:checkout", req{method: "GET", path: credPath("simulator"), bearer: readOnly}, 403, CodeForbidden, ""},
		}
		for _, c := range cases {
			q := c.q
			switch q.apiKey {
			case "":
				if q.bearer == "" {
					q.apiKey = m.secret
				}
			case "-":
				q.apiKey = ""
			}
			wantError(t, c.name, f.do(t, q), c.status, c.code, c.fpath)
		}
		if got := f.versions(t, m, "simulator"); len(got) != 0 {
			t.Fatalf("refused requests saved %v", got)
		}
		if got := f.versions(t, m, "collector"); len(got) != 0 {
			t.Fatalf("refused requests saved %v", got)
		}
		// The same name in another account is another credential.
		for _, acct := range []merchant{m, other} {
			res := f.do(t, req{method: "PUT", path: credPath("simulator"), apiKey: acct.secret, body: `{"name":"shared","data":{"login":"a"}}`})
			if res.status != http.StatusCreated {
				t.Fatalf("%s: HTTP %d %s", acct.id, res.status, res.body)
			}
		}
		if got := f.versions(t, other, "simulator"); len(got) != 1 || got["shared"] != 1 {
			t.Fatalf("other account lists %v", got)
		}
		// Every other type takes its own credential fields.
		for _, c := range []struct{ gw, data string }{
			{"stripe", `{"secret_key":"sk_test_0123456789abcdef"}`},
			{"adyen", `{"api_key":"AQE-key","merchant_account":"KassaECOM","hmac_key":"00112233445566778899AABBCCDDEEFF"}`},
			{"authorize_net", `{"api_login_id":"5KP3u95bQpv","transaction_key":"346HZ32z3fP4hTG2"}`},
		} {
			res := f.do(t, req{method: "PUT", path: credPath(c.gw) + noCheck, apiKey: m.secret, body: `{"name":"n","data":` + c.data + `}`})
			if res.status != http.StatusCreated {
				t.Errorf("%s: HTTP %d %s", c.gw, res.status, res.body)
			}
		}
		for _, r := range f.responses {
			if strings.Contains(r, "HTTP 500") || strings.Contains(r, CodeServerError) {
				t.Fatalf("a 500: %s", r)
			}
		}
	})
}

// tokenScoped mints a token for m narrowed to scope.
func (f *fixture) tokenScoped(t testing.TB, m merchant, scope string) string {
	t.Helper()
	res := f.do(t, req{method: "POST", path: "/v1/accounts/" + m.id + "/auth/token", basic: &[2]string{m.clientID, m.secret},
		body: `{"grant_type":"client_credentials","audience":"https://x/v1/accounts/` + m.id + `","scope":"` + scope + `"}`})
	if res.status != http.StatusOK {
		t.Fatalf("token: HTTP %d %s", res.status, res.body)
	}
	return res.json(t)["access_token"].(string)
}

var adminKeyIDs = regexp.MustCompile(`key_[A-Za-z0-9]+`)

// TestGoldenAdminCredentials pins every response shape of the admin
// credential routes.
func TestGoldenAdminCredentials(t *testing.T) {
	f := setupAdmin(t, openSQLite(t))
	srv := collectortest.New(collectorUser, collectorSecret, collectorStore)
	defer srv.Close()
	m := f.merchant(t, false)
	readOnly := f.tokenScoped(t, m, "read:checkout")
	good := collectorBody("4242", srv.URL, collectorSecret)
	steps := []struct {
		name string
		q    req
	}{
		{"admin_credential_created", req{method: "PUT", path: credPath("collector") + "?validate_credential=false", body: collectorSeedBody}},
		{"admin_credential_updated", req{method: "PUT", path: credPath("collector") + "?overwrite=true&validate_credential=false", body: collectorSeedBody}},
		{"admin_credential_list", req{method: "GET", path: credPath("collector")}},
		{"admin_credential_validated", req{method: "PUT", path: credPath("collector"), body: good}},
		{"error_admin_credential_exists", req{method: "PUT", path: credPath("collector"), body: good}},
		{"error_admin_credential_refused", req{method: "PUT", path: credPath("collector") + "?overwrite=true",
			body: collectorBody("4242", srv.URL, "not-the-shared-key-5d7e9a1b3c")}},
		{"error_admin_credential_field", req{method: "PUT", path: credPath("collector"),
			body: `{"name":"x","data":{"url":"https://c.example","username":"u","password":"p","country":"SE","store_id":"1"}}`}},
		{"error_admin_unknown_gateway", req{method: "PUT", path: credPath("payex"), body: `{"name":"x","data":{}}`}},
		{"error_admin_scope", req{method: "GET", path: credPath("collector"), bearer: readOnly}},
	}
	seen := map[string]string{}
	for _, st := range steps {
		q := st.q
		if q.bearer == "" {
			q.apiKey = m.secret
		}
		res := f.do(t, q)
		body := adminKeyIDs.ReplaceAll(normalize(res.body, seen), []byte("key_<id>"))
		golden(t, st.name, append([]byte(fmt.Sprintf("HTTP %d\n", res.status)), body...))
	}
}
