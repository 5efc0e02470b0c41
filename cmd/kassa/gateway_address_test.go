package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/stripe"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/sqlite"
)

func openRegistry(t *testing.T, allowPrivate bool) *gateway.Registry {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kassa.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, err := gatewayRegistry(st, allowPrivate)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// TestGatewayURLFieldsAreMarked: every field of a gateway type that holds
// a URL says so (gateway.Field.URL), so that live accounts cannot point it
// at kassa's own network.
func TestGatewayURLFieldsAreMarked(t *testing.T) {
	marked := 0
	for _, spec := range openRegistry(t, false).Specs() {
		for _, f := range append(append([]gateway.Field{}, spec.SettingsFields...), spec.CredentialFields...) {
			if f.URL {
				marked++
			}
			if strings.Contains(strings.ToLower(f.Name), "url") && !strings.Contains(f.Name, "prefix") && !f.URL {
				t.Errorf("%s: field %s holds a URL but is not marked", spec.Type, f.Name)
			}
		}
	}
	if marked < 5 {
		t.Errorf("only %d URL fields marked", marked)
	}
}

// TestGatewayAllowPrivateFlag: --gateway-allow-private and its variable
// reach the adapters' clients: without it a live call to a loopback
// stand-in is not sent, with it the call goes through. Test calls always
// do.
func TestGatewayAllowPrivateFlag(t *testing.T) {
	for _, args := range [][]string{{"serve", "--gateway-allow-private"}, {"serve"}} {
		vars := map[string]string{}
		if len(args) == 1 {
			vars["KASSA_GATEWAY_ALLOW_PRIVATE"] = "true"
		}
		if c := serveAccepts(t, "test", args, vars); !c.gatewayAllowPrivate {
			t.Errorf("%q %v: gateway-allow-private not set", args, vars)
		}
	}
	if c := serveAccepts(t, "test", []string{"serve"}, nil); c.gatewayAllowPrivate {
		t.Error("gateway-allow-private is on by default")
	}

	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"pi_1","object":"payment_intent","status":"succeeded","amount":100,"currency":"eur"}`))
	}))
	defer srv.Close()
	call := func(allowPrivate, live bool) gateway.Result {
		ad, _ := openRegistry(t, allowPrivate).Lookup(stripe.Type)
		key := "sk_test_flag"
		if live {
			key = "sk_live_flag"
		}
		res, err := ad.(gateway.Purchaser).Purchase(context.Background(), &gateway.Request{Kind: payment.OpPurchase,
			Reference: "op_1", Amount: 100, Currency: "EUR",
			Card: &gateway.Card{Number: "4571736000000075", CVC: "123", ExpMonth: 12, ExpYear: 2030},
			Config: gateway.Config{Credentials: map[string]string{"secret_key": key}, Settings: map[string]any{"base_url": srv.URL},
				Sandbox: !live, Live: live}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := call(false, true); res.Outcome != payment.OutcomeNotSent || hits.Load() != 0 {
		t.Errorf("live call to loopback without the flag: %s %q, %d hits", res.Outcome, res.Message, hits.Load())
	}
	if call(true, true); hits.Load() == 0 {
		t.Error("live call to loopback with the flag did not reach it")
	}
	before := hits.Load()
	if call(false, false); hits.Load() == before {
		t.Error("test call to loopback did not reach it")
	}
}
