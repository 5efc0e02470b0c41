package collector_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/collector"
	"github.com/kassapay/kassa/internal/gateway/collector/collectortest"
	"github.com/kassapay/kassa/internal/payment"
)

const secret = "collector-shared-key-0123456789"

func creds(url string, change func(map[string]string)) gateway.Config {
	c := map[string]string{
		collector.CredURL: url, collector.CredUsername: "kassa", collector.CredPassword: secret,
		collector.CredStoreID: "4242", collector.CredCountry: "NO",
	}
	if change != nil {
		change(c)
	}
	return gateway.Config{GatewayID: "gw_test", Credentials: c}
}

func TestCheckCredentials(t *testing.T) {
	srv := collectortest.New("kassa", secret, "4242")
	defer srv.Close()
	a := collector.New(collector.Options{})
	ctx := context.Background()
	if err := a.CheckCredentials(ctx, creds(srv.URL, nil)); err != nil {
		t.Fatalf("good credentials: %v", err)
	}
	if err := a.CheckCredentials(ctx, creds(srv.URL+"/", nil)); err != nil {
		t.Fatalf("base URL with a trailing slash: %v", err)
	}
	cases := []struct {
		name   string
		change func(map[string]string)
		param  string
	}{
		{"wrong password", func(c map[string]string) { c[collector.CredPassword] = "wrong-shared-key-0123456789" }, collector.CredPassword},
		{"wrong username", func(c map[string]string) { c[collector.CredUsername] = "other" }, collector.CredPassword},
		{"other store", func(c map[string]string) { c[collector.CredStoreID] = "17" }, collector.CredStoreID},
		{"store id not a number", func(c map[string]string) { c[collector.CredStoreID] = "x1" }, collector.CredStoreID},
		{"url not absolute", func(c map[string]string) { c[collector.CredURL] = "/merchants" }, collector.CredURL},
		{"url with a query", func(c map[string]string) { c[collector.CredURL] = srv.URL + "?a=b" }, collector.CredURL},
	}
	for _, c := range cases {
		err := a.CheckCredentials(ctx, creds(srv.URL, c.change))
		pe, ok := payment.AsError(err)
		if !ok || pe.Kind != payment.KindInvalid || pe.Param != c.param {
			t.Errorf("%s: %v, want an invalid %s", c.name, err, c.param)
			continue
		}
		if strings.Contains(pe.Message, secret) {
			t.Errorf("%s: the message holds the password", c.name)
		}
	}
	// A server that cannot be reached: not a verdict on the credentials.
	srv2 := collectortest.New("kassa", secret, "4242")
	url := srv2.URL
	srv2.Close()
	err := a.CheckCredentials(ctx, creds(url, nil))
	if _, ok := payment.AsError(err); ok || err == nil {
		t.Fatalf("unreachable server: %v, want a plain error", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatal("the error holds the password")
	}
}

// TestSpec: the type makes no payments, and its secrets are sensitive.
func TestSpec(t *testing.T) {
	s := collector.New(collector.Options{}).Spec()
	if s.Type != "collector" || len(s.Operations) != 0 {
		t.Fatalf("spec %+v", s)
	}
	for _, k := range payment.OperationKinds {
		if s.Supports(k) {
			t.Errorf("supports %s", k)
		}
	}
	sensitive := map[string]bool{}
	for _, f := range s.CredentialFields {
		if f.Kind != gateway.KindString {
			t.Errorf("%s is %s: credentials are strings", f.Name, f.Kind)
		}
		sensitive[f.Name] = f.Sensitive
	}
	if !sensitive[collector.CredPassword] || !sensitive[collector.CredCustomersClientSecret] || sensitive[collector.CredUsername] {
		t.Fatalf("sensitive fields %v", sensitive)
	}
}

// TestSharedKey pins the header against the example in Collector's
// authorization guide: the hash is over body, then path, then key.
func TestSharedKey(t *testing.T) {
	got := collector.SharedKey("myUsername", "mySharedKey", "/checkout", []byte("x"))
	// base64("myUsername:" + hex(sha256("x/checkoutmySharedKey"))), computed with sha256sum and base64.
	if want := "SharedKey bXlVc2VybmFtZTo3M2EwOGU3NjEyMzNjMTE0ODcwMTk2YTk2NDYwOTY4OGU0MmZmZjQ0ZWY2Y2YyODliYmUzOGQ2YzU4YmIyMTg1"; got != want {
		t.Fatalf("SharedKey %q, want %q", got, want)
	}
}
