package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kassapay/kassa/client"
)

// TestDinteroListeners: the Dintero dialect answers under /dintero on the
// main listener and without the prefix on --dintero-addr; a token minted
// on one is good on the other; and the native account API names the
// account id its paths take.
func TestDinteroListeners(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), env(nil), "--dintero-addr", "127.0.0.1:0")
	ctx := context.Background()
	key := s.bootstrapKey(t)
	acct, err := client.New(s.URL, key).Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if acct.DinteroAccountID != acct.ID {
		t.Fatalf("dintero_account_id %q for account %s", acct.DinteroAccountID, acct.ID)
	}
	dedicated := s.Listeners["dintero"]
	if dedicated == "" {
		t.Fatal("no dintero listener")
	}
	call := func(method, url, body string, auth func(*http.Request)) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		auth(req)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: %d %s", method, url, res.StatusCode, b)
		}
		return res.StatusCode, m
	}
	var tokens []string
	for _, base := range []string{s.URL + "/dintero", dedicated} {
		status, m := call("POST", base+"/v1/accounts/"+acct.ID+"/auth/token",
			`{"grant_type":"client_credentials","audience":"`+base+`/v1/accounts/`+acct.ID+`"}`,
			func(r *http.Request) { r.SetBasicAuth(key[:16], key) })
		tok, _ := m["access_token"].(string)
		if status != 200 || tok == "" || m["token_type"] != "Bearer" {
			t.Fatalf("token at %s: %d %v", base, status, m)
		}
		tokens = append(tokens, tok)
	}
	for i, base := range []string{dedicated, s.URL + "/dintero"} {
		status, m := call("GET", base+"/v1/accounts/"+acct.ID+"/management/settings", "",
			func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tokens[i]) })
		if status != 200 || m["account_id"] != acct.ID {
			t.Errorf("settings at %s: %d %v", base, status, m)
		}
	}
	// The hosted page is on the dedicated listener too, at Dintero's view
	// paths: its origin can be the web SDK's endpoint.
	if status, m := call("POST", s.URL+"/v1/gateways", `{"type":"simulator"}`,
		func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key) }); status >= 300 {
		t.Fatalf("gateway: %d %v", status, m)
	}
	status, m := call("POST", dedicated+"/v1/sessions", `{"url":{"return_url":"https://shop.example/r"},`+
		`"order":{"amount":4200,"currency":"NOK","merchant_reference":"o-1"}}`,
		func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tokens[1]) })
	sid, _ := m["id"].(string)
	if status != 200 || sid == "" {
		t.Fatalf("session: %d %v", status, m)
	}
	for _, path := range []string{"/v1/view/" + sid, "/?sid=" + sid + "&ui=inline&language=en", "/sessions/" + sid,
		"/checkout/assets/embed.js", "/checkout/dintero/v1/view/" + sid} {
		res, err := http.Get(dedicated + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || (strings.Contains(path, "view") && !strings.Contains(string(b), "42")) {
			t.Errorf("%s on the Dintero listener: %d %.200s", path, res.StatusCode, b)
		}
	}

	// The native API is not on the dedicated listener: the dialect answers
	// its own 404 there.
	status, m = call("GET", dedicated+"/v1/account", "", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key) })
	if e, _ := m["error"].(map[string]any); status != 404 || e["code"] != "NOT_FOUND" {
		t.Errorf("native API on the Dintero listener: %d %v", status, m)
	}
}
