package dintero

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// update rewrites the golden files under testdata/golden instead of
// comparing with them (go test ./internal/api/dintero/ -run Golden -update).
var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

var (
	accountIDs = regexp.MustCompile(`\b[PT]\d{8}\b`)
	jwts       = regexp.MustCompile(`"access_token":"[^"]*"`)
	requestIDs = regexp.MustCompile(`req_[A-Za-z0-9]+`)
)

// normalize replaces what differs between runs — account ids (numbered in
// order of appearance), tokens, request ids — and indents the JSON.
func normalize(body []byte, seen map[string]string) []byte {
	out := jwts.ReplaceAll(body, []byte(`"access_token":"<jwt>"`))
	out = requestIDs.ReplaceAll(out, []byte("req_<id>"))
	out = accountIDs.ReplaceAllFunc(out, func(m []byte) []byte {
		if n, ok := seen[string(m)]; ok {
			return []byte(n)
		}
		n := fmt.Sprintf("%c%08d", m[0], len(seen)+1)
		seen[string(m)] = n
		return []byte(n)
	})
	var buf bytes.Buffer
	if err := json.Indent(&buf, out, "", "  "); err != nil {
		return out
	}
	return append(buf.Bytes(), '\n')
}

// golden compares got with testdata/golden/name.json, or rewrites it
// under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v (run with -update)", name, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s:\n got: %s\nwant: %s", name, path, got, want)
	}
}

// TestGolden pins every response shape of the dialect so far: the token,
// the account view, and the error envelope of each status.
func TestGolden(t *testing.T) {
	f := setup(t)
	m := f.merchant(t, false)
	other := f.merchant(t, false)
	tokenPath := "/v1/accounts/" + m.id + "/auth/token"
	good := &[2]string{m.clientID, m.secret}
	tok := f.token(t, m)
	steps := []struct {
		name string
		q    req
	}{
		{"token", req{method: "POST", path: tokenPath, basic: good, body: tokenBody(m.id)}},
		{"account_settings", req{method: "GET", path: settingsPath(m.id), bearer: tok}},
		{"error_bad_client", req{method: "POST", path: tokenPath, basic: &[2]string{m.clientID, "wrong"}, body: tokenBody(m.id)}},
		{"error_grant_type", req{method: "POST", path: tokenPath, basic: good, body: `{"grant_type":"password","audience":"https://x/v1/accounts/` + m.id + `"}`}},
		{"error_audience_missing", req{method: "POST", path: tokenPath, basic: good, body: `{"grant_type":"client_credentials"}`}},
		{"error_audience_other_account", req{method: "POST", path: tokenPath, basic: good, body: tokenBody(other.id)}},
		{"error_unknown_field", req{method: "POST", path: tokenPath, basic: good, body: `{"grant_type":"client_credentials","extra":true}`}},
		{"error_malformed", req{method: "POST", path: tokenPath, basic: good, body: `{"grant_type":`}},
		{"error_scope", req{method: "POST", path: tokenPath, basic: good, body: `{"grant_type":"client_credentials","audience":"https://x/v1/accounts/` + m.id + `","scope":"write:everything"}`}},
		{"error_media_type", req{method: "POST", path: tokenPath, basic: good, body: `grant_type=client_credentials`, contentType: "text/plain"}},
		{"error_no_token", req{method: "GET", path: settingsPath(m.id)}},
		{"error_bad_token", req{method: "GET", path: settingsPath(m.id), bearer: tok + "x"}},
		{"error_other_account", req{method: "GET", path: settingsPath(other.id), bearer: tok}},
		{"error_aid_pattern", req{method: "GET", path: settingsPath("Q12345678"), bearer: tok}},
		{"error_route", req{method: "GET", path: "/v1/nothing"}},
		{"error_method", req{method: "DELETE", path: tokenPath}},
	}
	seen := map[string]string{}
	for _, st := range steps {
		res := f.do(t, st.q)
		if st.name == "token" && res.status != http.StatusOK {
			t.Fatalf("token: %d %s", res.status, res.body)
		}
		golden(t, st.name, append([]byte(fmt.Sprintf("HTTP %d\n", res.status)), normalize(res.body, seen)...))
	}
}
