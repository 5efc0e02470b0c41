package ixopay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/adyen"
	"github.com/kassapay/kassa/internal/gateway/authorizenet"
)

// The Adyen and Authorize.Net connectors: config.username, password and
// apiSecret fill the adapters' credential fields (ADR 0015), and a debit
// through the connector reaches the provider with exactly those
// credentials. The providers are stand-ins in the shapes of their API
// references, as the adapters' own tests have them.

// Credentials the tests send; the secret ones must never come back out.
const (
	adyenMerchant   = "KassaTestECOM"
	adyenAPIKey     = "AQEyhmfxK4_adyen_api_key_never_echoed_1"
	adyenAPIKey2    = "AQEyhmfxK4_adyen_api_key_never_echoed_2"
	adyenHMAC       = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
	anetLogin       = "5KP3u95bQpv"
	anetKey         = "7gH84jK9mL2np5Qr"
	anetKey2        = "9zX21bV8cN4mQ7wE"
	adapterTestCard = `"cardData":{"cardHolder":"Kari Nordmann","pan":"4111111111111111","cvv":"737","expirationMonth":"03","expirationYear":"2030"}`
)

// standIn records what a provider stand-in was sent.
type standIn struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []standInRequest
}

type standInRequest struct {
	path   string
	header http.Header
	body   map[string]any
}

func (s *standIn) record(r *http.Request) map[string]any {
	b, _ := io.ReadAll(r.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	s.mu.Lock()
	s.reqs = append(s.reqs, standInRequest{r.URL.Path, r.Header.Clone(), m})
	s.mu.Unlock()
	return m
}

func (s *standIn) last(t *testing.T) standInRequest {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		t.Fatal("the provider stand-in received nothing")
	}
	return s.reqs[len(s.reqs)-1]
}

func (s *standIn) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// adyenCheckout answers POST /payments as Adyen's Checkout API does for an
// authorised payment.
func adyenCheckout(t *testing.T) *standIn {
	s := &standIn{}
	n := 0
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := s.record(r)
		if r.URL.Path != "/payments" {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		n++
		psp := fmt.Sprintf("PSP%013d", n)
		s.mu.Unlock()
		amount, _ := m["amount"].(map[string]any)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"pspReference":%q,"resultCode":"Authorised","amount":{"value":%v,"currency":%q},"merchantReference":%q}`,
			psp, amount["value"], amount["currency"], m["reference"])
	}))
	t.Cleanup(s.Close)
	return s
}

// authorizeNetAPI answers createTransactionRequest as Authorize.Net does for
// an approved transaction: JSON behind a byte-order mark.
func authorizeNetAPI(t *testing.T) *standIn {
	s := &standIn{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, "\uFEFF"+`{"transactionResponse":{"responseCode":"1","authCode":"2P7SJ6","avsResultCode":"Y","cvvResultCode":"M","cavvResultCode":"2","transId":"2149186848","refTransID":"","transHash":"","testRequest":"0","accountNumber":"XXXX1111","accountType":"Visa","messages":[{"code":"1","description":"This transaction has been approved."}],"transHashSha2":""},"messages":{"resultCode":"Ok","message":[{"code":"I00001","text":"Successful."}]}}`)
	}))
	t.Cleanup(s.Close)
	return s
}

// adapterStores runs fn over SQLite and PostgreSQL (skipped without a
// server), with the Adyen and Authorize.Net adapters on offer.
func adapterStores(t *testing.T, fn func(t *testing.T, f *provFixture)) {
	adapters := func() []gateway.Adapter {
		return []gateway.Adapter{
			adyen.New(adyen.Options{HTTP: gateway.HTTPOptions{Timeout: 10 * time.Second}}),
			authorizenet.New(authorizenet.Options{HTTP: gateway.NewHTTPClient(gateway.HTTPOptions{Timeout: 10 * time.Second})}),
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		f := setup(t, adapters()...)
		fn(t, &provFixture{eng: f.eng, h: f.h, logs: f.logs})
	})
	t.Run("postgres", func(t *testing.T) {
		f := setupPostgres(t, adapters()...)
		fn(t, &provFixture{eng: f.eng, h: f.h, logs: f.logs})
	})
}

// checkNoneOf greps every response, the logs and the account's events for
// secrets.
func (f *provFixture) checkNoneOf(t *testing.T, a provAccount, secrets ...string) {
	t.Helper()
	f.mu.Lock()
	all := strings.Join(f.responses, "\n")
	f.mu.Unlock()
	all += f.logs.String() + f.events(t, a)
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("secret %q appears in a response, log or event", s)
		}
	}
}

// debit runs a debit of 12.34 EUR through the connector with apiKey and
// wants it FINISHED.
func (f *provFixture) debit(t *testing.T, a provAccount, apiKey, mtid string) map[string]any {
	t.Helper()
	m := f.post(t, a, "/api/v3/transaction/"+apiKey+"/debit",
		`{"merchantTransactionId":"`+mtid+`","amount":"12.34","currency":"EUR",`+adapterTestCard+`}`).ok(t)
	if m["returnType"] != ReturnFinished {
		t.Fatalf("debit through %s: %v", apiKey, m)
	}
	return m
}

func TestProvisioningAdyenConnector(t *testing.T) {
	adapterStores(t, func(t *testing.T, f *provFixture) {
		a, b := f.account(t), f.account(t)
		ctx := context.Background()
		psp := adyenCheckout(t)
		create := "/api/provisioning/createConnector/" + a.merchant()

		// Every credential field is required; each refusal names the config
		// field that fills it and creates nothing.
		for _, tc := range []struct{ name, config, field string }{
			{"no api key", fmt.Sprintf(`{"username":%q,"password":%q}`, adyenMerchant, adyenHMAC), "config.apiSecret"},
			{"no merchant account", fmt.Sprintf(`{"password":%q,"apiSecret":%q}`, adyenHMAC, adyenAPIKey), "config.username"},
			{"no hmac key", fmt.Sprintf(`{"username":%q,"apiSecret":%q}`, adyenMerchant, adyenAPIKey), "config.password"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f.post(t, a, create, `{"name":"Adyen EU","adapter":"Adyen","method":"Creditcard","config":`+tc.config+`}`).
					fails(t, http.StatusUnprocessableEntity, CodeMissing, tc.field)
			})
		}
		f.post(t, a, create, fmt.Sprintf(`{"name":"Adyen EU","adapter":"Adyen","method":"Creditcard",
			"config":{"username":%q,"password":%q,"apiSecret":%q,"extraData":{"colour":"red"}}}`, adyenMerchant, adyenHMAC, adyenAPIKey)).
			fails(t, http.StatusUnprocessableEntity, CodeValueNotAllowed, "config.extraData.colour")
		// A masked secret (as a read shows it) in a new connector would
		// become the credential itself: refused, wherever it is sent.
		f.post(t, a, create, fmt.Sprintf(`{"name":"Adyen EU","adapter":"Adyen","method":"Creditcard",
			"config":{"username":%q,"password":"••••B056","apiSecret":%q}}`, adyenMerchant, adyenAPIKey)).
			fails(t, http.StatusUnprocessableEntity, CodeValueNotAllowed, "config.password")
		f.post(t, a, create, fmt.Sprintf(`{"name":"Adyen EU","adapter":"Adyen","method":"Creditcard",
			"config":{"username":%q,"password":%q,"extraData":{"api_key":"••••"}}}`, adyenMerchant, adyenHMAC)).
			fails(t, http.StatusUnprocessableEntity, CodeValueNotAllowed, "config.extraData.api_key")
		if list := f.get(t, a, "/api/provisioning/listConnectors/"+a.merchant()).ok(t); len(list["connectors"].([]any)) != 0 {
			t.Fatalf("a refused create made a connector: %v", list)
		}

		m := f.post(t, a, create, fmt.Sprintf(`{"name":"Adyen EU","adapter":"Adyen","method":"Creditcard","apiKey":"adyen-eu",
			"config":{"username":%q,"password":%q,"apiSecret":%q,"testMode":true,"extraData":{"base_url":%q}}}`,
			adyenMerchant, adyenHMAC, adyenAPIKey, psp.URL)).connector(t)
		guid := m["guid"].(string)
		cfg := m["config"].(map[string]any)
		if m["adapter"] != "Adyen" || cfg["username"] != adyenMerchant || cfg["testMode"] != true ||
			!strings.HasPrefix(cfg["password"].(string), engine.SecretMask) || !strings.HasPrefix(cfg["apiSecret"].(string), engine.SecretMask) ||
			cfg["extraData"].(map[string]any)["base_url"] != psp.URL {
			t.Errorf("created connector %v", m)
		}
		for _, k := range []string{"api_key", "hmac_key", "merchant_account"} {
			if _, ok := cfg["extraData"].(map[string]any)[k]; ok {
				t.Errorf("config.extraData repeats %s, which a config field shows: %v", k, cfg)
			}
		}

		// The kassa gateway behind it: type, sandbox, settings and the
		// credentials in their fields.
		c, err := f.eng.Connector(ctx, a.p, guid)
		if err != nil {
			t.Fatal(err)
		}
		gw, err := f.eng.Gateway(ctx, a.id, c.GatewayID)
		if err != nil {
			t.Fatal(err)
		}
		if gw.Type != adyen.Type || !gw.Sandbox || gw.Description != "Adyen EU" || gw.Settings[adyen.SettingBaseURL] != psp.URL {
			t.Errorf("gateway %+v", gw.Gateway)
		}
		if pub := gw.Credentials.Public; pub[adyen.CredMerchantAccount] != adyenMerchant ||
			!strings.HasPrefix(pub[adyen.CredAPIKey], engine.SecretMask) || !strings.HasPrefix(pub[adyen.CredHMACKey], engine.SecretMask) {
			t.Errorf("credential previews %v", pub)
		}

		// A debit reaches Adyen with the connector's API key and merchant
		// account.
		f.debit(t, a, "adyen-eu", "adyen-1")
		sent := psp.last(t)
		if sent.path != "/payments" || sent.header.Get("X-API-Key") != adyenAPIKey || sent.body["merchantAccount"] != adyenMerchant {
			t.Errorf("Adyen was sent %s key %q merchant %v", sent.path, sent.header.Get("X-API-Key"), sent.body["merchantAccount"])
		}

		// Another merchant cannot see, change or use it.
		f.post(t, b, "/api/provisioning/updateConnector/"+guid, `{"config":{"apiSecret":"stolen"}}`).
			fails(t, http.StatusUnprocessableEntity, CodeNoSuchEntity, guid)
		calls := psp.count()
		if res := f.post(t, b, "/api/v3/transaction/adyen-eu/debit", `{"merchantTransactionId":"x","amount":"1","currency":"EUR",`+adapterTestCard+`}`); res.status == http.StatusOK || psp.count() != calls {
			t.Errorf("another merchant's debit on the connector: %d %s", res.status, res.body)
		}

		// Update: a refused one changes nothing; a new API key makes a new
		// credential version and the next debit uses it; the masked values
		// sent back change nothing.
		before := gw.CredentialVersion
		f.post(t, a, "/api/provisioning/updateConnector/"+guid, `{"config":{"apiSecret":"","extraData":{"live_url_prefix":7}}}`).
			fails(t, http.StatusUnprocessableEntity, CodeValueNotAllowed, "config.extraData.live_url_prefix")
		f.post(t, a, "/api/provisioning/updateConnector/"+guid, `{"config":{"language":"xx1","apiSecret":"AQE-never-stored"}}`).
			fails(t, http.StatusUnprocessableEntity, CodeInvalidFormat, "config.language")
		if g, _ := f.eng.Gateway(ctx, a.id, c.GatewayID); g.CredentialVersion != before {
			t.Fatalf("a refused update made credential version %d", g.CredentialVersion)
		}
		m = f.post(t, a, "/api/provisioning/updateConnector/"+guid, fmt.Sprintf(`{"config":{"apiSecret":%q}}`, adyenAPIKey2)).connector(t)
		if cfg := m["config"].(map[string]any); cfg["username"] != adyenMerchant || !strings.HasPrefix(cfg["apiSecret"].(string), engine.SecretMask) {
			t.Errorf("updated config %v", cfg)
		}
		g, _ := f.eng.Gateway(ctx, a.id, c.GatewayID)
		if g.CredentialVersion != before+1 || g.Credentials.Public[adyen.CredMerchantAccount] != adyenMerchant {
			t.Errorf("after a new API key: version %d (want %d), previews %v", g.CredentialVersion, before+1, g.Credentials.Public)
		}
		f.debit(t, a, "adyen-eu", "adyen-2")
		if got := psp.last(t).header.Get("X-API-Key"); got != adyenAPIKey2 {
			t.Errorf("the debit after the update used API key %q", got)
		}
		read := f.get(t, a, "/api/provisioning/getConnector/"+guid).connector(t)
		back, _ := json.Marshal(map[string]any{"config": read["config"]})
		f.post(t, a, "/api/provisioning/updateConnector/"+guid, string(back)).connector(t)
		if g2, _ := f.eng.Gateway(ctx, a.id, c.GatewayID); g2.CredentialVersion != g.CredentialVersion {
			t.Errorf("writing back the masked config made credential version %d", g2.CredentialVersion)
		}
		f.debit(t, a, "adyen-eu", "adyen-3")
		if got := psp.last(t).header.Get("X-API-Key"); got != adyenAPIKey2 {
			t.Errorf("writing back the masked config changed the API key to %q", got)
		}

		// getConnectorSettings says which config field fills which
		// credential.
		settings := f.get(t, a, "/api/provisioning/getConnectorSettings/Adyen").ok(t)
		fills := map[string]string{}
		for _, e := range settings["baseConfig"].([]any) {
			e := e.(map[string]any)
			field, _ := e["configField"].(string)
			fills[e["name"].(string)] = field
		}
		if fills["api_key"] != "apiSecret" || fills["merchant_account"] != "username" || fills["hmac_key"] != "password" || fills["base_url"] != "" {
			t.Errorf("getConnectorSettings/Adyen: %v", fills)
		}
		f.checkNoneOf(t, a, adyenAPIKey, adyenAPIKey2, adyenHMAC, "AQE-never-stored")
	})
}

func TestProvisioningAuthorizeNetConnector(t *testing.T) {
	adapterStores(t, func(t *testing.T, f *provFixture) {
		a := f.account(t)
		ctx := context.Background()
		api := authorizeNetAPI(t)
		create := "/api/provisioning/createConnector/" + a.merchant()

		for _, tc := range []struct {
			name, config string
			code         int
			field        string
		}{
			{"no login id", fmt.Sprintf(`{"password":%q}`, anetKey), CodeMissing, "config.username"},
			{"no transaction key", fmt.Sprintf(`{"username":%q}`, anetLogin), CodeMissing, "config.password"},
			// Authorize.Net has no third credential.
			{"api secret", fmt.Sprintf(`{"username":%q,"password":%q,"apiSecret":"sk_x"}`, anetLogin, anetKey), CodeNotApplicable, "config.apiSecret"},
			{"unknown extraData", fmt.Sprintf(`{"username":%q,"password":%q,"extraData":{"live_url_prefix":"x"}}`, anetLogin, anetKey), CodeValueNotAllowed, "config.extraData.live_url_prefix"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f.post(t, a, create, `{"name":"Authorize.Net US","adapter":"AuthorizeNet","method":"Creditcard","config":`+tc.config+`}`).
					fails(t, http.StatusUnprocessableEntity, tc.code, tc.field)
			})
		}

		m := f.post(t, a, create, fmt.Sprintf(`{"name":"Authorize.Net US","adapter":"AuthorizeNet","method":"Creditcard","apiKey":"anet-us",
			"config":{"username":%q,"password":%q,"extraData":{"base_url":%q}}}`, anetLogin, anetKey, api.URL)).connector(t)
		guid := m["guid"].(string)
		cfg := m["config"].(map[string]any)
		if m["adapter"] != "AuthorizeNet" || cfg["username"] != anetLogin || !strings.HasPrefix(cfg["password"].(string), engine.SecretMask) ||
			cfg["apiSecret"] != "" || cfg["extraData"].(map[string]any)["base_url"] != api.URL {
			t.Errorf("created connector %v", m)
		}
		c, err := f.eng.Connector(ctx, a.p, guid)
		if err != nil {
			t.Fatal(err)
		}
		gw, err := f.eng.Gateway(ctx, a.id, c.GatewayID)
		if err != nil {
			t.Fatal(err)
		}
		// A test account's gateway is a sandbox when config.testMode is
		// left out.
		if gw.Type != authorizenet.Type || !gw.Sandbox || gw.Settings["base_url"] != api.URL ||
			gw.Credentials.Public["api_login_id"] != anetLogin || !strings.HasPrefix(gw.Credentials.Public["transaction_key"], engine.SecretMask) {
			t.Errorf("gateway %+v, credential previews %v", gw.Gateway, gw.Credentials.Public)
		}

		auth := func() (string, string) {
			body := api.last(t).body
			req, _ := body["createTransactionRequest"].(map[string]any)
			ma, _ := req["merchantAuthentication"].(map[string]any)
			name, _ := ma["name"].(string)
			key, _ := ma["transactionKey"].(string)
			return name, key
		}
		f.debit(t, a, "anet-us", "anet-1")
		if name, key := auth(); name != anetLogin || key != anetKey {
			t.Errorf("Authorize.Net was sent login %q key %q", name, key)
		}

		// A new transaction key through config.password: new credential
		// version, used by the next debit.
		m = f.post(t, a, "/api/provisioning/updateConnector/"+guid, fmt.Sprintf(`{"name":"Authorize.Net US 2","config":{"password":%q}}`, anetKey2)).connector(t)
		if m["name"] != "Authorize.Net US 2" || m["config"].(map[string]any)["username"] != anetLogin {
			t.Errorf("updated connector %v", m)
		}
		if g, _ := f.eng.Gateway(ctx, a.id, c.GatewayID); g.CredentialVersion != gw.CredentialVersion+1 || g.Description != "Authorize.Net US 2" {
			t.Errorf("after a new transaction key: version %d (want %d), description %q", g.CredentialVersion, gw.CredentialVersion+1, g.Description)
		}
		f.debit(t, a, "anet-us", "anet-2")
		if name, key := auth(); name != anetLogin || key != anetKey2 {
			t.Errorf("the debit after the update sent login %q key %q", name, key)
		}
		f.post(t, a, "/api/provisioning/updateConnector/"+guid, `{"config":{"apiSecret":"sk_x"}}`).
			fails(t, http.StatusUnprocessableEntity, CodeNotApplicable, "config.apiSecret")
		f.checkNoneOf(t, a, anetKey, anetKey2)
	})
}

// TestProvisioningAdyenConfigChecked: an Adyen connector whose
// config.password (the notification HMAC key) is not hex, or a live one
// without its live URL prefix, is refused when created or updated, naming
// the field; nothing is created or changed and the key never comes back.
func TestProvisioningAdyenConfigChecked(t *testing.T) {
	adapterStores(t, func(t *testing.T, f *provFixture) {
		ctx := context.Background()
		const badKey = "zz-adyen-hmac-not-hex-1"
		a := f.account(t)
		na, err := f.eng.CreateAccount(ctx, "Fjord Bikes Live AS", true)
		if err != nil {
			t.Fatal(err)
		}
		lp, err := f.eng.Authenticate(ctx, na.SecretKey)
		if err != nil {
			t.Fatal(err)
		}
		live := provAccount{id: na.Account.ID, secret: na.SecretKey, p: lp}
		body := func(password string, testMode bool, extra string) string {
			return fmt.Sprintf(`{"name":"Adyen EU","adapter":"Adyen","method":"Creditcard","apiKey":"adyen-x",
				"config":{"username":%q,"password":%q,"apiSecret":%q,"testMode":%t,"extraData":{%s}}}`,
				adyenMerchant, password, adyenAPIKey, testMode, extra)
		}
		none := func(acct provAccount) {
			t.Helper()
			if list := f.get(t, acct, "/api/provisioning/listConnectors/"+acct.merchant()).ok(t); len(list["connectors"].([]any)) != 0 {
				t.Fatalf("a refused create made a connector: %v", list)
			}
		}

		f.post(t, a, "/api/provisioning/createConnector/"+a.merchant(), body(badKey, true, "")).
			fails(t, http.StatusUnprocessableEntity, CodeValueNotAllowed, "config.password")
		none(a)
		f.post(t, live, "/api/provisioning/createConnector/"+live.merchant(), body(adyenHMAC, false, "")).
			fails(t, http.StatusUnprocessableEntity, CodeMissing, "config.extraData.live_url_prefix")
		f.post(t, live, "/api/provisioning/createConnector/"+live.merchant(), body(adyenHMAC, false, `"live_url_prefix":"https://x.example/"`)).
			fails(t, http.StatusUnprocessableEntity, CodeValueNotAllowed, "config.extraData.live_url_prefix")
		none(live)
		f.createConnector(t, live, body(adyenHMAC, false, `"live_url_prefix":"1797a841fbb37ca7-AdyenDemo"`))

		// Updates: refused before anything changes.
		guid := f.createConnector(t, live, strings.Replace(body(adyenHMAC, true, ""), "adyen-x", "adyen-y", 1))
		c, err := f.eng.Connector(ctx, live.p, guid)
		if err != nil {
			t.Fatal(err)
		}
		before, err := f.eng.Gateway(ctx, live.id, c.GatewayID)
		if err != nil {
			t.Fatal(err)
		}
		upd := "/api/provisioning/updateConnector/" + guid
		f.post(t, live, upd, fmt.Sprintf(`{"name":"Renamed","config":{"password":%q}}`, badKey)).
			fails(t, http.StatusUnprocessableEntity, CodeValueNotAllowed, "config.password")
		f.post(t, live, upd, `{"name":"Renamed","config":{"testMode":false}}`).
			fails(t, http.StatusUnprocessableEntity, CodeMissing, "config.extraData.live_url_prefix")
		after, err := f.eng.Gateway(ctx, live.id, c.GatewayID)
		if err != nil {
			t.Fatal(err)
		}
		if after.CredentialVersion != before.CredentialVersion || !after.Sandbox || after.Description != before.Description {
			t.Errorf("a refused update changed the gateway: %+v", after.Gateway)
		}
		m := f.post(t, live, upd, `{"config":{"testMode":false,"extraData":{"live_url_prefix":"1797a841fbb37ca7-AdyenDemo"}}}`).connector(t)
		if m["config"].(map[string]any)["testMode"] != false {
			t.Errorf("live with its prefix: %v", m)
		}
		f.checkNoneOf(t, a, badKey, adyenHMAC, adyenAPIKey)
		f.checkNoneOf(t, live, badKey, adyenHMAC, adyenAPIKey)
	})
}
