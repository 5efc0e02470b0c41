package native

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/stripe"
)

// setupStripe is the native API over an engine offering the Stripe
// adapter, whose base_url setting says where kassa connects;
// allowPrivate is --gateway-allow-private.
func setupStripe(t *testing.T, allowPrivate bool) *fixture {
	t.Helper()
	st, v, _ := openStoreAndVault(t)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	eng := engine.New(engine.Config{Store: st, Vault: v, Logger: log, GatewayAllowPrivate: allowPrivate,
		Gateways: gateway.NewRegistry(stripe.New(stripe.Options{HTTP: gateway.HTTPOptions{AllowPrivate: allowPrivate}}))})
	return &fixture{eng: eng, store: st, h: New(eng, Options{Logger: log}), logs: &syncBuffer{}}
}

// TestLiveGatewayURLsMustBePublic: POST /v1/gateways for a live account
// with a base_url at a loopback or link-local address is a 422 naming
// settings.base_url that stores nothing and does not quote the secret
// key; a test account may, and so may a live one where the server allows
// private addresses.
func TestLiveGatewayURLsMustBePublic(t *testing.T) {
	const liveKey, testKey = "sk_live_native0ssrf0secret0key", "sk_test_native0ssrf0secret0key"
	account := func(f *fixture, live bool) string {
		na, err := f.eng.CreateAccount(context.Background(), "Fjord Bikes AS", live)
		if err != nil {
			t.Fatal(err)
		}
		return na.SecretKey
	}
	body := func(key, base string) string {
		return `{"type":"stripe","credentials":{"secret_key":"` + key + `"},"settings":{"base_url":"` + base + `"}}`
	}
	f := setupStripe(t, false)
	live, test := account(f, true), account(f, false)
	for _, base := range []string{"http://127.0.0.1:9", "http://169.254.169.254/"} {
		res := f.post(t, "/v1/gateways", live, body(liveKey, base))
		wantError(t, res, 422, "invalid_request_error", "parameter_invalid", "settings.base_url")
		if strings.Contains(string(res.body), liveKey) || strings.Contains(string(res.body), base) {
			t.Errorf("the refusal quotes the key or the URL: %s", res.body)
		}
	}
	if got := listData(t, f.get(t, "/v1/gateways", live), "/v1/gateways"); len(got) != 0 {
		t.Errorf("%d gateways after refused requests", len(got))
	}
	if res := f.post(t, "/v1/gateways", test, body(testKey, "http://127.0.0.1:9")); res.status != 201 && res.status != 200 {
		t.Errorf("test account, loopback: %d %s", res.status, res.body)
	}
	open := setupStripe(t, true)
	if res := open.post(t, "/v1/gateways", account(open, true), body(liveKey, "http://169.254.169.254/")); res.status != 201 && res.status != 200 {
		t.Errorf("live account, private addresses allowed: %d %s", res.status, res.body)
	}
}
