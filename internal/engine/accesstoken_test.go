package engine_test

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/vault"
)

var allScopes = []string{"admin:checkout", "read:accounts"}

func mint(t testing.TB, f *fixture, p *payment.Principal) string {
	t.Helper()
	tok, err := f.eng.IssueAccessToken(context.Background(), p, engine.AccessTokenRequest{
		Audience: "https://api.example/v1/accounts/" + p.Account.ID, Scopes: allScopes})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// signToken makes a token as kassa would, but with the claims and header the
// test chooses, under the derived key of master key version kid.
func signToken(t testing.TB, f *fixture, method jwt.SigningMethod, kid any, version int, claims jwt.MapClaims) string {
	t.Helper()
	key, _, err := f.vault.DerivedKey(context.Background(), payment.LabelAccessToken, version)
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(method, claims)
	if kid != nil {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claimsFor(f *fixture, p *payment.Principal) jwt.MapClaims {
	now := f.clock.Now()
	return jwt.MapClaims{"iss": "kassa", "sub": p.Key.Prefix, "aid": p.Account.ID, "scope": "read:accounts",
		"aud": []string{"https://api.example/v1/accounts/" + p.Account.ID},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

func with(c jwt.MapClaims, k string, v any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for kk, vv := range c {
		out[kk] = vv
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func TestAccessToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, na := f.account(t, false)
		other, _ := f.account(t, false)
		tok := mint(t, f, p)
		g, err := f.eng.VerifyAccessToken(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if g.Principal.Account.ID != p.Account.ID || g.Principal.Key.ID != p.Key.ID ||
			strings.Join(g.Scopes, " ") != "admin:checkout read:accounts" ||
			g.Audience != "https://api.example/v1/accounts/"+p.Account.ID || !g.ExpiresAt.Equal(f.clock.Now().Add(time.Hour).Truncate(time.Second)) {
			t.Fatalf("grant %+v", g)
		}
		if strings.Contains(tok, na.SecretKey) || strings.Contains(tok, na.SecretKey[payment.KeyPrefixLen:]) {
			t.Fatal("the token holds the secret key")
		}
		// A publishable key is no client.
		pk, _ := f.eng.Authenticate(ctx, na.PublishableKey)
		if _, err := f.eng.IssueAccessToken(ctx, pk, engine.AccessTokenRequest{Audience: "x", Scopes: allScopes}); !isUnauthenticated(err) {
			t.Fatalf("publishable key minted a token: %v", err)
		}

		good := claimsFor(f, p)
		parts := strings.Split(tok, ".")
		sig := []byte(parts[2])
		sig[3] ^= 1
		none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"1"}`)) + "." + parts[1] + "."
		refused := map[string]string{
			"tampered signature": parts[0] + "." + parts[1] + "." + string(sig),
			"tampered claims":    parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"aid":"`+other.Account.ID+`"}`)) + "." + parts[2],
			"alg none":           none,
			"HS512":              signToken(t, f, jwt.SigningMethodHS512, "1", 1, good),
			"kid missing":        signToken(t, f, jwt.SigningMethodHS256, nil, 1, good),
			"kid 99":             signToken(t, f, jwt.SigningMethodHS256, "99", 1, good),
			"kid 01":             signToken(t, f, jwt.SigningMethodHS256, "01", 1, good),
			"kid a number":       signToken(t, f, jwt.SigningMethodHS256, 1, 1, good),
			"wrong account":      signToken(t, f, jwt.SigningMethodHS256, "1", 1, with(good, "aid", other.Account.ID)),
			"another key":        signToken(t, f, jwt.SigningMethodHS256, "1", 1, with(good, "sub", other.Key.Prefix)),
			"no such key":        signToken(t, f, jwt.SigningMethodHS256, "1", 1, with(good, "sub", "sk_test_AAAAAAAA")),
			"publishable key":    signToken(t, f, jwt.SigningMethodHS256, "1", 1, with(good, "sub", pk.Key.Prefix)),
			"other issuer":       signToken(t, f, jwt.SigningMethodHS256, "1", 1, with(good, "iss", "dintero")),
			"no expiry":          signToken(t, f, jwt.SigningMethodHS256, "1", 1, with(good, "exp", nil)),
			"no scope":           signToken(t, f, jwt.SigningMethodHS256, "1", 1, with(good, "scope", nil)),
			"expired":            signToken(t, f, jwt.SigningMethodHS256, "1", 1, with(good, "exp", f.clock.Now().Add(-time.Second).Unix())),
			"unknown claim":      signToken(t, f, jwt.SigningMethodHS256, "1", 1, with(good, "aud", 7)),
			"empty":              "",
			"garbage":            "a.b.c",
		}
		if _, err := f.eng.VerifyAccessToken(ctx, signToken(t, f, jwt.SigningMethodHS256, "1", 1, good)); err != nil {
			t.Fatalf("the well-formed control token: %v", err)
		}
		for name, tok := range refused {
			g, err := f.eng.VerifyAccessToken(ctx, tok)
			if !isUnauthenticated(err) {
				t.Errorf("%s: %+v, %v; want unauthenticated", name, g, err)
				continue
			}
			if tok != "" && strings.Contains(err.Error(), tok) {
				t.Errorf("%s: the error repeats the token", name)
			}
		}

		// Expiry follows the engine's clock.
		f.clock.Add(engine.AccessTokenTTL)
		if _, err := f.eng.VerifyAccessToken(ctx, tok); !isUnauthenticated(err) {
			t.Fatalf("expired token: %v", err)
		}
	})
}

// TestAccessTokenAcrossProcesses: a token minted by one engine is good at
// another on the same database and key file; a revoked key's tokens stop at
// once where it was revoked and within the hot-read cache's second
// elsewhere.
func TestAccessTokenAcrossProcesses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *fixture) {
		ctx := context.Background()
		b := newFixtureOn(t, a.store, a.ring)
		p, na := a.account(t, false)
		tok := mint(t, a, p)
		if _, err := b.eng.VerifyAccessToken(ctx, tok); err != nil {
			t.Fatalf("another process refuses the token: %v", err)
		}
		if _, err := a.eng.RevokeAPIKey(ctx, p, p.Key.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := a.eng.VerifyAccessToken(ctx, tok); !isUnauthenticated(err) {
			t.Fatalf("the revoking process still accepts the token: %v", err)
		}
		// Minting starts from Authenticate, which refuses the key at once.
		if _, err := a.eng.Authenticate(ctx, na.SecretKey); !isUnauthenticated(err) {
			t.Fatalf("a revoked key authenticates: %v", err)
		}
		// b read the key less than a second ago: it may still accept …
		b.clock.Add(time.Second)
		// … but no longer once its cache entry expired.
		if _, err := b.eng.VerifyAccessToken(ctx, tok); !isUnauthenticated(err) {
			t.Fatalf("another process accepts a revoked key's token after a second: %v", err)
		}
	})
}

// TestAccessTokenKeyRotation: a token signed under master key version 1
// stays good after version 2 is added (new tokens use 2), and stops when
// version 1 leaves the key file.
func TestAccessTokenKeyRotation(t *testing.T) {
	ctx := context.Background()
	a := newFixture(t, openSQLite(t))
	p, _ := a.account(t, false)
	old := mint(t, a, p)
	if _, err := vault.AddKEKVersion(a.ring); err != nil {
		t.Fatal(err)
	}
	b := newFixtureOn(t, a.store, a.ring)
	fresh := mint(t, b, p)
	if kid := header(t, fresh)["kid"]; kid != "2" {
		t.Fatalf("a token minted after rotation has kid %v", kid)
	}
	for _, f := range []*fixture{a, b} {
		for _, tok := range []string{old, fresh} {
			if _, err := f.eng.VerifyAccessToken(ctx, tok); err != nil {
				t.Fatalf("after rotation: %v", err)
			}
		}
	}
	// Version 1 leaves the key file: its tokens die with it.
	text, err := os.ReadFile(a.ring)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, line := range strings.Split(string(text), "\n") {
		if !strings.HasPrefix(line, "kek 1 ") {
			kept = append(kept, line)
		}
	}
	ring := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(ring, []byte(strings.Join(kept, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newFixtureOn(t, a.store, ring)
	if _, err := c.eng.VerifyAccessToken(ctx, old); !isUnauthenticated(err) {
		t.Fatalf("a token of a retired master key version: %v", err)
	}
	if _, err := c.eng.VerifyAccessToken(ctx, fresh); err != nil {
		t.Fatal(err)
	}
}

func header(t testing.TB, tok string) map[string]any {
	t.Helper()
	tk, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	return tk.Header
}

// FuzzVerifyAccessToken: no input panics the verifier, and none but a
// token of the account's key verifies.
func FuzzVerifyAccessToken(fz *testing.F) {
	f := newFixture(fz, openSQLite(fz))
	p, _ := f.account(fz, false)
	tok := mint(fz, f, p)
	parts := strings.Split(tok, ".")
	fz.Add(tok)
	fz.Add(parts[0] + "." + parts[1] + ".")
	fz.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".")
	fz.Add(parts[0] + ".e30." + parts[2])
	fz.Add("..")
	fz.Add(strings.Repeat("a", 5000))
	fz.Fuzz(func(t *testing.T, s string) {
		g, err := f.eng.VerifyAccessToken(context.Background(), s)
		if err == nil && g.Principal.Account.ID != p.Account.ID {
			t.Fatalf("verified a token of account %s", g.Principal.Account.ID)
		}
		if err != nil && !isUnauthenticated(err) {
			t.Fatalf("error of another kind: %v", err)
		}
	})
}
