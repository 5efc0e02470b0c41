package engine_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/collector"
	"github.com/kassapay/kassa/internal/gateway/stripe"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/vault"
)

// addressEngine is an engine on st with the Stripe and collector adapters,
// which take a URL setting and a URL credential; allowPrivate is both the
// engine's and the clients' --gateway-allow-private.
func addressEngine(t *testing.T, st payment.Store, ring string, allowPrivate bool) *engine.Engine {
	t.Helper()
	v, err := vault.New(st, vault.NewFileSource(ring), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := gateway.HTTPOptions{AllowPrivate: allowPrivate}
	return engine.New(engine.Config{Store: st, Vault: v, Logger: slog.New(slog.DiscardHandler), GatewayAllowPrivate: allowPrivate,
		Gateways: gateway.NewRegistry(stripe.New(stripe.Options{HTTP: opts}), collector.New(collector.Options{HTTP: gateway.NewHTTPClient(opts)}))})
}

func principal(t *testing.T, eng *engine.Engine, live bool) *payment.Principal {
	t.Helper()
	na, err := eng.CreateAccount(context.Background(), "shop", live)
	if err != nil {
		t.Fatal(err)
	}
	p, err := eng.Authenticate(context.Background(), na.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	liveStripeKey = "sk_live_ssrf0secret0value0do0not0echo"
	testStripeKey = "sk_test_ssrf0secret0value0do0not0echo"
	collectorPass = "collector-shared-key-do-not-echo"
)

// TestLiveGatewaysReachOnlyPublicAddresses: a live account's gateway
// whose URL setting or credential is, or resolves to, a loopback, private
// or link-local address is refused with a 422 naming the field, whether
// created, its settings or mode changed or its credentials set; nothing is
// stored, and no message quotes a credential. Test accounts may, and so
// may live ones on a server that allows private addresses.
func TestLiveGatewaysReachOnlyPublicAddresses(t *testing.T) {
	st := openSQLite(t)
	ring := filepath.Join(t.TempDir(), "master.key")
	if _, err := vault.CreateDevKeyFile(ring); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	eng := addressEngine(t, st, ring, false)
	live, test := principal(t, eng, true), principal(t, eng, false)
	stripeIn := func(key, base string) engine.GatewayInput {
		return engine.GatewayInput{Type: stripe.Type, Credentials: map[string]any{"secret_key": key},
			Settings: map[string]any{"base_url": base}}
	}
	collectorCreds := func(u string) map[string]any {
		return map[string]any{collector.CredURL: u, collector.CredUsername: "shop", collector.CredPassword: collectorPass,
			collector.CredStoreID: "123", collector.CredCountry: "SE"}
	}
	refused := func(what string, err error, param string) {
		t.Helper()
		pe, ok := payment.AsError(err)
		if !ok || pe.Kind != payment.KindInvalid || pe.Param != param {
			t.Errorf("%s: %v, want 422 on %s", what, err, param)
			return
		}
		if !strings.Contains(pe.Message, "address") {
			t.Errorf("%s: message %q does not say why", what, pe.Message)
		}
		for _, secret := range []string{liveStripeKey, collectorPass} {
			if strings.Contains(pe.Message, secret) || strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error quotes a credential: %v", what, err)
			}
		}
	}
	for _, base := range []string{"http://127.0.0.1:9", "http://169.254.169.254/", "http://localhost:9/v1", "https://10.1.2.3",
		"http://[::1]:9", "http://[::ffff:192.168.0.1]/"} {
		_, err := eng.CreateGateway(ctx, live, stripeIn(liveStripeKey, base))
		refused("live, base_url "+base, err, "settings.base_url")
	}
	_, err := eng.CreateGateway(ctx, live, engine.GatewayInput{Type: collector.Type, Credentials: collectorCreds("http://127.0.0.1:9/")})
	refused("live, collector url", err, "credentials.url")
	if gs, _, _ := eng.Gateways(ctx, live.Account.ID, payment.ListParams{}); len(gs) != 0 {
		t.Fatalf("refused gateways were stored: %d", len(gs))
	}

	// Changes of a live gateway at a public address.
	g, err := eng.CreateGateway(ctx, live, stripeIn(liveStripeKey, "https://93.184.215.14"))
	if err != nil {
		t.Fatalf("live, public address: %v", err)
	}
	_, err = eng.UpdateGateway(ctx, live, g.ID, engine.GatewayUpdate{Settings: map[string]any{"base_url": "http://169.254.169.254/latest"}})
	refused("live, settings update", err, "settings.base_url")
	cg, err := eng.CreateGateway(ctx, live, engine.GatewayInput{Type: collector.Type, Credentials: collectorCreds("https://93.184.215.14/")})
	if err != nil {
		t.Fatalf("live collector, public address: %v", err)
	}
	_, err = eng.SetGatewayCredentials(ctx, live, cg.ID, collectorCreds("http://10.0.0.7/"), "", false)
	refused("live, credentials", err, "credentials.url")
	if got, _ := eng.Gateway(ctx, live.Account.ID, g.ID); got.Settings["base_url"] != "https://93.184.215.14" {
		t.Errorf("a refused update changed the settings: %v", got.Settings)
	}
	if got, _ := eng.Gateway(ctx, live.Account.ID, cg.ID); got.CredentialVersion != 1 {
		t.Errorf("refused credentials were stored: version %d", got.CredentialVersion)
	}

	// Test accounts run stand-ins locally.
	if _, err := eng.CreateGateway(ctx, test, stripeIn(testStripeKey, "http://127.0.0.1:9")); err != nil {
		t.Errorf("test account, loopback: %v", err)
	}
	// A server that allows private addresses lets live accounts too.
	open := addressEngine(t, st, ring, true)
	if _, err := open.CreateGateway(ctx, live, stripeIn(liveStripeKey, "http://169.254.169.254/")); err != nil {
		t.Errorf("live account, private addresses allowed: %v", err)
	}
	if _, err := open.UpdateGateway(ctx, live, g.ID, engine.GatewayUpdate{Settings: map[string]any{"base_url": "http://127.0.0.1:9"}}); err != nil {
		t.Errorf("live update, private addresses allowed: %v", err)
	}
}

// TestLiveGatewayCallsReachOnlyPublicAddresses: a live gateway that points
// at a loopback address (configured while private addresses were allowed)
// is not called by a server that does not allow them: the payment's call
// is not sent, and the stand-in gets nothing. The engine tells the
// adapter the account's mode.
func TestLiveGatewayCallsReachOnlyPublicAddresses(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "{}", http.StatusInternalServerError)
	}))
	defer srv.Close()
	st := openSQLite(t)
	ring := filepath.Join(t.TempDir(), "master.key")
	if _, err := vault.CreateDevKeyFile(ring); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	open := addressEngine(t, st, ring, true)
	live := principal(t, open, true)
	g, err := open.CreateGateway(ctx, live, engine.GatewayInput{Type: stripe.Type, Credentials: map[string]any{"secret_key": liveStripeKey},
		Settings: map[string]any{"base_url": srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	strict := addressEngine(t, st, ring, false)
	c := visa("123")
	c.Number = "4571 7360 0000 0075" // Luhn-valid, on no test-card list
	pm, err := strict.CreatePaymentMethod(ctx, live, engine.PaymentMethodInput{Type: "card", Card: c})
	if err != nil {
		t.Fatal(err)
	}
	pay, err := strict.CreatePayment(ctx, live, engine.PaymentInput{Amount: 100, Currency: "EUR", PaymentMethodID: pm.ID, GatewayID: g.ID})
	if hits.Load() != 0 {
		t.Fatalf("the loopback stand-in got %d live calls", hits.Load())
	}
	if err != nil {
		t.Fatal(err)
	}
	op := pay.Operations[0]
	if op.Outcome != payment.OutcomeNotSent || !strings.Contains(op.Message, "not public") || strings.Contains(op.Message, liveStripeKey) {
		t.Errorf("live call to loopback: outcome %s, message %q; want not_sent saying the address is not public", op.Outcome, op.Message)
	}
	// A test account's call goes through.
	test := principal(t, strict, false)
	tg, err := strict.CreateGateway(ctx, test, engine.GatewayInput{Type: stripe.Type, Credentials: map[string]any{"secret_key": testStripeKey},
		Settings: map[string]any{"base_url": srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	tpm, err := strict.CreatePaymentMethod(ctx, test, engine.PaymentMethodInput{Type: "card", Card: visa("123")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strict.CreatePayment(ctx, test, engine.PaymentInput{Amount: 100, Currency: "EUR", PaymentMethodID: tpm.ID, GatewayID: tg.ID}); err != nil {
		t.Fatal(err)
	}
	if hits.Load() == 0 {
		t.Error("a test account's call did not reach the stand-in")
	}
}
