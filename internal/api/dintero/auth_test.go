package dintero

import (
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/vault"
)

// wantError checks res is Dintero's error envelope with status and code,
// and, when path is set, an "errors" entry for it.
func wantError(t testing.TB, name string, res response, status int, code, path string) {
	t.Helper()
	if res.status != status {
		t.Errorf("%s: HTTP %d, want %d: %s", name, res.status, status, res.body)
		return
	}
	m := res.json(t)
	if len(m) != 1 {
		t.Errorf("%s: envelope %s", name, res.body)
	}
	e, _ := m["error"].(map[string]any)
	if e == nil || e["code"] != code || e["message"] == "" {
		t.Errorf("%s: error %s, want code %s", name, res.body, code)
		return
	}
	if path == "" {
		return
	}
	items, _ := e["errors"].([]any)
	for _, it := range items {
		if m, _ := it.(map[string]any); m["path"] == path {
			return
		}
	}
	t.Errorf("%s: no errors entry for %s: %s", name, path, res.body)
}

func TestTokenEndpoint(t *testing.T) {
	f := setup(t)
	m := f.merchant(t, false)
	other := f.merchant(t, false)
	path := "/v1/accounts/" + m.id + "/auth/token"
	good := &[2]string{m.clientID, m.secret}

	res := f.do(t, req{method: "POST", path: path, basic: good, body: tokenBody(m.id)})
	if res.status != http.StatusOK {
		t.Fatalf("HTTP %d %s", res.status, res.body)
	}
	body := res.json(t)
	if len(body) != 3 || body["token_type"] != "Bearer" || body["expires_in"] != float64(3600) || body["access_token"] == "" {
		t.Fatalf("token response %s", res.body)
	}
	if res.header.Get("Cache-Control") != "no-store" {
		t.Error("a token response may be cached")
	}
	// Audiences as the SDKs build them from other base URLs: a path
	// prefix, the account in the URL's user (Dintero.Node.SDK), a
	// trailing slash.
	for _, aud := range []string{
		"http://127.0.0.1:8080/dintero/v1/accounts/" + m.id,
		"https://" + m.id + "@kassa.example/dintero/v1/accounts/" + m.id,
		"https://api.example/v1/accounts/" + m.id + "/",
	} {
		res := f.do(t, req{method: "POST", path: path, basic: good,
			body: `{"grant_type":"client_credentials","audience":"` + aud + `"}`})
		if res.status != http.StatusOK {
			t.Errorf("audience %s: HTTP %d %s", aud, res.status, res.body)
		}
	}

	cases := []struct {
		name         string
		q            req
		status       int
		code, fieldP string
	}{
		{"no credentials", req{method: "POST", path: path, body: tokenBody(m.id)}, 401, CodeUnauthorized, ""},
		{"bearer instead of basic", req{method: "POST", path: path, bearer: "abc", body: tokenBody(m.id)}, 401, CodeUnauthorized, ""},
		{"wrong secret", req{method: "POST", path: path, basic: &[2]string{m.clientID, otherLastChar(m.secret)}, body: tokenBody(m.id)}, 401, CodeUnauthorized, ""},
		{"wrong client id", req{method: "POST", path: path, basic: &[2]string{other.clientID, m.secret}, body: tokenBody(m.id)}, 401, CodeUnauthorized, ""},
		{"empty client id", req{method: "POST", path: path, basic: &[2]string{"", m.secret}, body: tokenBody(m.id)}, 401, CodeUnauthorized, ""},
		{"publishable key", req{method: "POST", path: path, basic: &[2]string{m.publishable[:16], m.publishable}, body: tokenBody(m.id)}, 401, CodeUnauthorized, ""},
		{"another account's client", req{method: "POST", path: "/v1/accounts/" + other.id + "/auth/token", basic: good, body: tokenBody(other.id)}, 401, CodeUnauthorized, ""},
		{"aid not an account id", req{method: "POST", path: "/v1/accounts/X12345678/auth/token", basic: good, body: tokenBody(m.id)}, 404, CodeNotFound, ""},
		{"aid too short", req{method: "POST", path: "/v1/accounts/T1234567/auth/token", basic: good, body: tokenBody(m.id)}, 404, CodeNotFound, ""},
		{"grant_type missing", req{method: "POST", path: path, basic: good, body: `{"audience":"https://x/v1/accounts/` + m.id + `"}`}, 400, CodeBadRequest, "grant_type"},
		{"grant_type wrong", req{method: "POST", path: path, basic: good, body: `{"grant_type":"password","audience":"https://x/v1/accounts/` + m.id + `"}`}, 400, CodeBadRequest, "grant_type"},
		{"audience missing", req{method: "POST", path: path, basic: good, body: `{"grant_type":"client_credentials"}`}, 400, CodeBadRequest, "audience"},
		{"audience of another account", req{method: "POST", path: path, basic: good, body: tokenBody(other.id)}, 403, CodeForbidden, "audience"},
		{"audience not an account path", req{method: "POST", path: path, basic: good, body: `{"grant_type":"client_credentials","audience":"https://api.example/v1/` + m.id + `"}`}, 403, CodeForbidden, "audience"},
		{"unknown field", req{method: "POST", path: path, basic: good, body: `{"grant_type":"client_credentials","audience":"https://x/v1/accounts/` + m.id + `","client_secret":"x"}`}, 400, CodeBadRequest, "client_secret"},
		{"wrong type", req{method: "POST", path: path, basic: good, body: `{"grant_type":1}`}, 400, CodeBadRequest, "grant_type"},
		{"not JSON", req{method: "POST", path: path, basic: good, body: `grant_type=client_credentials`}, 400, CodeBadRequest, ""},
		{"form body", req{method: "POST", path: path, basic: good, body: `grant_type=client_credentials`, contentType: "application/x-www-form-urlencoded"}, 415, CodeUnsupportedMedia, ""},
		{"unknown scope", req{method: "POST", path: path, basic: good, body: `{"grant_type":"client_credentials","audience":"https://x/v1/accounts/` + m.id + `","scope":"admin:everything"}`}, 400, CodeBadRequest, "scope"},
		{"GET", req{method: "GET", path: path, basic: good}, 405, CodeMethodNotAllowed, ""},
	}
	for _, c := range cases {
		wantError(t, c.name, f.do(t, c.q), c.status, c.code, c.fieldP)
	}
	if res := f.do(t, req{method: "POST", path: path, body: tokenBody(m.id)}); res.header.Get("WWW-Authenticate") == "" {
		t.Error("a 401 without WWW-Authenticate")
	}
}

// settingsPath is the account view, the dialect's read route.
func settingsPath(aid string) string { return "/v1/accounts/" + aid + "/management/settings" }

func TestBearerTokens(t *testing.T) {
	f := setup(t)
	m := f.merchant(t, false)
	other := f.merchant(t, false)
	tok := f.token(t, m)
	res := f.do(t, req{method: "GET", path: settingsPath(m.id), bearer: tok})
	if res.status != http.StatusOK || res.json(t)["account_id"] != m.id {
		t.Fatalf("HTTP %d %s", res.status, res.body)
	}

	ctx := context.Background()
	p, err := f.eng.Authenticate(ctx, m.secret)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(aud string, scopes ...string) string {
		t.Helper()
		at, err := f.eng.IssueAccessToken(ctx, p, engine.AccessTokenRequest{Audience: aud, Scopes: scopes})
		if err != nil {
			t.Fatal(err)
		}
		return at.Token
	}
	key, _, err := f.vault.DerivedKey(ctx, payment.LabelAccessToken, 1)
	if err != nil {
		t.Fatal(err)
	}
	signed := func(kid string, claims jwt.MapClaims) string {
		tk := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
		tk.Header["kid"] = kid
		s, err := tk.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := f.clk.Now()
	claims := jwt.MapClaims{"iss": "kassa", "sub": m.clientID, "aid": m.id, "scope": ScopeReadAccounts,
		"aud": "https://x/v1/accounts/" + m.id, "exp": now.Add(time.Hour).Unix()}
	if res := f.do(t, req{method: "GET", path: settingsPath(m.id), bearer: signed("1", claims)}); res.status != 200 {
		t.Fatalf("the hand-signed control token: HTTP %d %s", res.status, res.body)
	}
	parts := strings.Split(tok, ".")
	sig := []byte(parts[2])
	sig[5] ^= 1
	withClaim := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range claims {
			c[kk] = vv
		}
		c[k] = v
		return c
	}
	cases := []struct {
		name   string
		q      req
		status int
		code   string
	}{
		{"no token", req{method: "GET", path: settingsPath(m.id)}, 401, CodeUnauthorized},
		{"basic instead of bearer", req{method: "GET", path: settingsPath(m.id), basic: &[2]string{m.clientID, m.secret}}, 401, CodeUnauthorized},
		{"the secret key as bearer", req{method: "GET", path: settingsPath(m.id), bearer: m.secret}, 401, CodeUnauthorized},
		{"tampered signature", req{method: "GET", path: settingsPath(m.id), bearer: parts[0] + "." + parts[1] + "." + string(sig)}, 401, CodeUnauthorized},
		{"alg none", req{method: "GET", path: settingsPath(m.id),
			bearer: base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"1"}`)) + "." + parts[1] + "."}, 401, CodeUnauthorized},
		{"wrong kid", req{method: "GET", path: settingsPath(m.id), bearer: signed("2", claims)}, 401, CodeUnauthorized},
		{"wrong account claim", req{method: "GET", path: settingsPath(m.id), bearer: signed("1", withClaim("aid", other.id))}, 401, CodeUnauthorized},
		{"expired", req{method: "GET", path: settingsPath(m.id), bearer: signed("1", withClaim("exp", now.Add(-time.Second).Unix()))}, 401, CodeUnauthorized},
		{"audience of another account", req{method: "GET", path: settingsPath(m.id), bearer: issue("https://x/v1/accounts/"+other.id, ScopeReadAccounts)}, 401, CodeUnauthorized},
		{"audience not an account path", req{method: "GET", path: settingsPath(m.id), bearer: issue("https://x/"+m.id, ScopeReadAccounts)}, 401, CodeUnauthorized},
		{"another account's aid", req{method: "GET", path: settingsPath(other.id), bearer: tok}, 403, CodeForbidden},
		{"aid not an account id", req{method: "GET", path: settingsPath("T123"), bearer: tok}, 404, CodeNotFound},
		{"scope lacking", req{method: "GET", path: settingsPath(m.id), bearer: issue("https://x/v1/accounts/"+m.id, ScopeReadCheckout)}, 403, CodeForbidden},
		{"x-api-key on a non-admin route", req{method: "GET", path: settingsPath(m.id), apiKey: m.secret}, 401, CodeUnauthorized},
		{"no such route", req{method: "GET", path: "/v1/nothing", bearer: tok}, 404, CodeNotFound},
	}
	for _, c := range cases {
		wantError(t, c.name, f.do(t, c.q), c.status, c.code, "")
	}

	// A narrowed token works where its scope suffices.
	res = f.do(t, req{method: "POST", path: "/v1/accounts/" + m.id + "/auth/token", basic: &[2]string{m.clientID, m.secret},
		body: `{"grant_type":"client_credentials","audience":"https://x/v1/accounts/` + m.id + `","scope":"read:accounts"}`})
	narrow, _ := res.json(t)["access_token"].(string)
	if res := f.do(t, req{method: "GET", path: settingsPath(m.id), bearer: narrow}); res.status != 200 {
		t.Errorf("a read:accounts token: HTTP %d %s", res.status, res.body)
	}

	// Expiry follows the engine's clock.
	f.clk.Add(engine.AccessTokenTTL)
	wantError(t, "expired after an hour", f.do(t, req{method: "GET", path: settingsPath(m.id), bearer: tok}), 401, CodeUnauthorized, "")
}

// TestAPIKeyOnAdminRoutes: admin routes take x-api-key: <secret key>, with
// every scope.
func TestAPIKeyOnAdminRoutes(t *testing.T) {
	f0 := setup(t)
	admin := route{method: "GET", path: "/v1/admin/ping", auth: authBearerOrAPIKey, scopes: []string{ScopeAdminCheckout},
		handle: func(_ *server, w http.ResponseWriter, _ *http.Request, c *caller) error {
			return api.JSON(w, 200, map[string]any{"account": c.Account.ID, "scopes": c.Scopes})
		}}
	f := setupOn(t, f0.st, f0.keyFile, append(routes(), admin))
	m := f.merchant(t, false)
	res := f.do(t, req{method: "GET", path: "/v1/admin/ping", apiKey: m.secret})
	if res.status != 200 || res.json(t)["account"] != m.id {
		t.Fatalf("x-api-key: HTTP %d %s", res.status, res.body)
	}
	if res := f.do(t, req{method: "GET", path: "/v1/admin/ping", bearer: f.token(t, m)}); res.status != 200 {
		t.Fatalf("bearer on an admin route: HTTP %d %s", res.status, res.body)
	}
	for name, key := range map[string]string{"publishable": m.publishable, "wrong": m.secret + "x", "client id": m.clientID} {
		wantError(t, name, f.do(t, req{method: "GET", path: "/v1/admin/ping", apiKey: key}), 401, CodeUnauthorized, "")
	}
}

// TestRevokedClient: a revoked key mints no more tokens at once, and the
// tokens it minted stop at once in the revoking process.
func TestRevokedClient(t *testing.T) {
	f := setup(t)
	m := f.merchant(t, false)
	tok := f.token(t, m)
	ctx := context.Background()
	p, _ := f.eng.Authenticate(ctx, m.secret)
	if _, err := f.eng.RevokeAPIKey(ctx, p, p.Key.ID); err != nil {
		t.Fatal(err)
	}
	wantError(t, "token of a revoked key", f.do(t, req{method: "GET", path: settingsPath(m.id), bearer: tok}), 401, CodeUnauthorized, "")
	wantError(t, "minting with a revoked key", f.do(t, req{method: "POST", path: "/v1/accounts/" + m.id + "/auth/token",
		basic: &[2]string{m.clientID, m.secret}, body: tokenBody(m.id)}), 401, CodeUnauthorized, "")
}

// TestAcrossProcesses: a token minted by one process is good at another on
// the same database and key file, on both stores; after a master key
// rotation in one, tokens of either version work in both.
func TestAcrossProcesses(t *testing.T) {
	for _, b := range []struct {
		name string
		open func(testing.TB) payment.Store
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		t.Run(b.name, func(t *testing.T) {
			keyFile := filepath.Join(t.TempDir(), "master.key")
			if _, err := vault.CreateDevKeyFile(keyFile); err != nil {
				t.Fatal(err)
			}
			st := b.open(t)
			one, two := setupOn(t, st, keyFile, nil), setupOn(t, st, keyFile, nil)
			m := one.merchant(t, true)
			if !strings.HasPrefix(m.id, "P") {
				t.Fatalf("a live account's aid %s", m.id)
			}
			old := one.token(t, m)
			if res := two.do(t, req{method: "GET", path: settingsPath(m.id), bearer: old}); res.status != 200 {
				t.Fatalf("another process: HTTP %d %s", res.status, res.body)
			}
			if _, err := vault.AddKEKVersion(keyFile); err != nil {
				t.Fatal(err)
			}
			three := setupOn(t, st, keyFile, nil)
			fresh := three.token(t, m)
			for _, f := range []*fixture{one, two, three} {
				for _, tok := range []string{old, fresh} {
					if res := f.do(t, req{method: "GET", path: settingsPath(m.id), bearer: tok}); res.status != 200 {
						t.Fatalf("after rotation: HTTP %d %s", res.status, res.body)
					}
				}
			}
		})
	}
}

// TestNoSecretsLeak: no response, log line or event holds a client secret,
// the master key or the derived signing key.
func TestNoSecretsLeak(t *testing.T) {
	f := setup(t)
	m := f.merchant(t, false)
	tok := f.token(t, m)
	path := "/v1/accounts/" + m.id + "/auth/token"
	for _, q := range []req{
		{method: "POST", path: path, basic: &[2]string{m.clientID, m.secret + "x"}, body: tokenBody(m.id)},
		{method: "POST", path: path, basic: &[2]string{m.clientID, m.secret}, body: `{"grant_type":"client_credentials","audience":"` + m.secret + `"}`},
		{method: "POST", path: path, basic: &[2]string{m.clientID, m.secret}, body: `{"` + m.secret + `":1}`},
		{method: "POST", path: path, basic: &[2]string{m.clientID, m.secret}, body: `{"grant_type":"` + m.secret + `"}`},
		{method: "GET", path: settingsPath(m.id), bearer: tok},
		{method: "GET", path: settingsPath(m.id), bearer: m.secret},
		{method: "GET", path: settingsPath(m.id), apiKey: m.secret},
	} {
		f.do(t, q)
	}
	ctx := context.Background()
	key, _, err := f.vault.DerivedKey(ctx, payment.LabelAccessToken, 0)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := os.ReadFile(f.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{
		"client secret":             m.secret,
		"client secret, its tail":   m.secret[payment.KeyPrefixLen:],
		"signing key (base64)":      base64.StdEncoding.EncodeToString(key),
		"signing key (base64url)":   base64.RawURLEncoding.EncodeToString(key),
		"signing key (raw)":         string(key),
		"publishable key, its tail": m.publishable[payment.KeyPrefixLen:],
	}
	for _, line := range strings.Split(string(ring), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "kek" {
			secrets["master key "+f[1]] = f[2]
		}
	}
	evs, _, err := f.eng.Events(ctx, m.id, payment.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var events strings.Builder
	for _, ev := range evs {
		events.WriteString(string(ev.Data))
	}
	places := map[string]string{"responses": strings.Join(f.responses, "\n"), "logs": f.logs.String(), "events": events.String()}
	for what, s := range secrets {
		for where, text := range places {
			if i := strings.Index(text, s); i >= 0 {
				t.Errorf("the %s appears in the %s: …%s…", what, where, text[max(0, i-200):i])
			}
		}
	}
	if !slices.ContainsFunc(strings.Split(f.logs.String(), "\n"), func(l string) bool { return strings.Contains(l, m.id) }) {
		t.Error("the access log names no account: the leak check looked at nothing")
	}
}

// otherLastChar is s with its last character changed, whatever it was.
func otherLastChar(s string) string {
	last := byte('x')
	if s[len(s)-1] == last {
		last = 'y'
	}
	return s[:len(s)-1] + string(last)
}
