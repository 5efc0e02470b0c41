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
	// The native API is not on the dedicated listener: the dialect answers
	// its own 404 there.
	status, m := call("GET", dedicated+"/v1/account", "", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key) })
	if e, _ := m["error"].(map[string]any); status != 404 || e["code"] != "NOT_FOUND" {
		t.Errorf("native API on the Dintero listener: %d %v", status, m)
	}
}
