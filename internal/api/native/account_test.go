package native

import (
	"testing"
)

// TestAccountEmbedOrigins: POST /v1/account sets the origins that may
// frame the hosted page, checked as origins, for the caller's account only;
// a publishable key may not.
func TestAccountEmbedOrigins(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.account(t), f.account(t)
	if m := f.get(t, "/v1/account", a.SecretKey).json(t); len(m["checkout_embed_origins"].([]any)) != 0 {
		t.Fatalf("default origins %v", m["checkout_embed_origins"])
	}
	res := f.do(t, req{method: "POST", path: "/v1/account", key: a.SecretKey,
		body: `{"checkout_embed_origins":["https://Shop.example","http://127.0.0.1:8080/","https://shop.example"]}`})
	m := res.json(t)
	got, _ := m["checkout_embed_origins"].([]any)
	if res.status != 200 || len(got) != 2 || got[0] != "https://shop.example" || got[1] != "http://127.0.0.1:8080" {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if m := f.get(t, "/v1/account", b.SecretKey).json(t); len(m["checkout_embed_origins"].([]any)) != 0 {
		t.Errorf("another account's origins changed: %v", m["checkout_embed_origins"])
	}
	for _, bad := range []string{`"https://shop.example/path"`, `"*"`, `"https://*.shop.example"`, `"javascript:alert(1)"`,
		`"shop.example"`, `"https://shop.example?x=1"`, `"https://user@shop.example"`, `"https://shop.example; script-src *"`} {
		res := f.do(t, req{method: "POST", path: "/v1/account", key: a.SecretKey, body: `{"checkout_embed_origins":[` + bad + `]}`})
		wantError(t, res, 422, "invalid_request_error", "parameter_invalid", "checkout_embed_origins[0]")
	}
	wantError(t, f.do(t, req{method: "POST", path: "/v1/account", key: a.SecretKey, body: `{"embed":[]}`}),
		422, "invalid_request_error", "parameter_unknown", "embed")
	res = f.do(t, req{method: "POST", path: "/v1/account", key: a.PublishableKey, body: `{"checkout_embed_origins":[]}`})
	if res.status != 401 && res.status != 403 {
		t.Errorf("publishable key: %d %s", res.status, res.body)
	}
	res = f.do(t, req{method: "POST", path: "/v1/account", key: a.SecretKey, body: `{"checkout_embed_origins":[]}`})
	if m := res.json(t); res.status != 200 || len(m["checkout_embed_origins"].([]any)) != 0 {
		t.Errorf("cleared: %d %s", res.status, res.body)
	}
}
