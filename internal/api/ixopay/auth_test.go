package ixopay

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/sqlite"
	"github.com/kassapay/kassa/internal/vault"
)

func TestKeyDigestKnownAnswer(t *testing.T) {
	// The official PHP client's password form, as captured on the wire.
	if got := engine.KeyDigest("apipass"); got != "bd5f45da7da2917140d7b4304756d0a791378af0" {
		t.Fatalf("KeyDigest(apipass) = %s", got)
	}
}

// TestBasicAuthForms: the account id with a secret key, or with the key's
// digest as the PHP client sends it; nothing else.
func TestBasicAuthForms(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "kassa.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ring := filepath.Join(dir, "master.key")
	if _, err := vault.CreateDevKeyFile(ring); err != nil {
		t.Fatal(err)
	}
	v, err := vault.New(st, vault.NewFileSource(ring), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Config{Store: st, Vault: v, Logger: slog.New(slog.DiscardHandler)})
	a, err := eng.CreateAccount(ctx, "shop", false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := eng.CreateAccount(ctx, "other", false)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{eng: eng, log: slog.New(slog.DiscardHandler)}
	try := func(user, pass string) error {
		r := httptest.NewRequest("GET", "/api/v3/status/k/getByUuid/u", nil)
		r.SetBasicAuth(user, pass)
		_, err := s.authenticate(r)
		return err
	}
	id := a.Account.ID
	for _, c := range []struct {
		name, user, pass string
		ok               bool
	}{
		{"secret key", id, a.SecretKey, true},
		{"digest of the secret key", id, engine.KeyDigest(a.SecretKey), true},
		{"upper-case digest", id, upper(engine.KeyDigest(a.SecretKey)), true},
		{"publishable key", id, a.PublishableKey, false},
		{"digest of the publishable key", id, engine.KeyDigest(a.PublishableKey), false},
		{"another account's key", id, b.SecretKey, false},
		{"another account's digest", id, engine.KeyDigest(b.SecretKey), false},
		{"the key's digest under another account", b.Account.ID, engine.KeyDigest(a.SecretKey), false},
		{"a wrong digest", id, engine.KeyDigest("sk_test_nothing"), false},
		{"a single SHA-1", id, singleSHA1(a.SecretKey), false},
		{"the digest one digit off", id, oneDigitOff(engine.KeyDigest(a.SecretKey)), false},
	} {
		if err := try(c.user, c.pass); (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok %v", c.name, err, c.ok)
		}
	}
	// A revoked key stops working in both forms.
	if _, err := eng.RevokeAPIKey(ctx, &payment.Principal{Account: a.Account}, mustKeyID(t, eng, id)); err != nil {
		t.Fatal(err)
	}
	if try(id, engine.KeyDigest(a.SecretKey)) == nil {
		t.Error("a revoked key's digest still authenticates")
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

func mustKeyID(t *testing.T, eng *engine.Engine, accountID string) string {
	t.Helper()
	keys, err := eng.APIKeys(context.Background(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Kind == "secret" {
			return k.ID
		}
	}
	t.Fatal("no secret key")
	return ""
}

// singleSHA1 is the hex SHA-1 of key, one round instead of the client's ten.
func singleSHA1(key string) string {
	sum := sha1.Sum([]byte(key))
	return hex.EncodeToString(sum[:])
}

// oneDigitOff changes the last hex digit of digest.
func oneDigitOff(digest string) string {
	last := "0"
	if strings.HasSuffix(digest, "0") {
		last = "1"
	}
	return digest[:len(digest)-1] + last
}
