package client_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/client"
)

const newKeyJSON = `{"id":"key_2","object":"api_key","type":"publishable","prefix":"pk_test_ZYXWVUTS",
	"secret":"pk_test_ZYXWVUTSrqponmlkjihgfedcba987654","created_at":"2026-03-01T00:00:00Z","expires_at":null,"revoked_at":null}`

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	c := newClient(t, exchange{method: "GET", uri: "/v1/api_keys", resp: `{"object":"list","has_more":false,"url":"/v1/api_keys","data":[
		{"id":"key_1","object":"api_key","type":"secret","prefix":"sk_test_abcdefgh","created_at":"2026-03-01T00:00:00Z",
		 "expires_at":"2026-03-02T00:00:00Z","revoked_at":null,"last_used_at":"2026-03-01T12:34:56Z"}]}`})
	l, err := c.APIKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Data) != 1 {
		t.Fatalf("got %+v", l)
	}
	k := l.Data[0]
	if k.ID != "key_1" || k.Type != client.APIKeySecret || k.Prefix != "sk_test_abcdefgh" || k.Secret != "" ||
		k.ExpiresAt == nil || !k.ExpiresAt.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)) || k.RevokedAt != nil ||
		k.LastUsedAt == nil || !k.LastUsedAt.Equal(time.Date(2026, 3, 1, 12, 34, 56, 0, time.UTC)) {
		t.Errorf("got %v", k)
	}
}

func TestCreateAPIKey(t *testing.T) {
	t.Parallel()
	c := newClient(t,
		exchange{method: "POST", uri: "/v1/api_keys", body: `{"type":"publishable"}`,
			header: map[string]string{"Idempotency-Key": "k"}, status: 201, resp: newKeyJSON},
		exchange{method: "POST", uri: "/v1/api_keys", body: `{"type":""}`, status: 422,
			resp: `{"error":{"type":"invalid_request_error","code":"parameter_invalid","param":"type","message":"The key type must be 'secret' or 'publishable'."}}`},
	)
	k, err := c.CreateAPIKey(t.Context(), &client.APIKeyParams{Type: client.APIKeyPublishable}, client.WithIdempotencyKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	if k.Secret != "pk_test_ZYXWVUTSrqponmlkjihgfedcba987654" || k.Type != client.APIKeyPublishable {
		t.Errorf("got %+v", k)
	}
	_, err = c.CreateAPIKey(t.Context(), nil)
	if e, ok := err.(*client.Error); !ok || e.Param != "type" || e.Code != client.CodeParameterInvalid {
		t.Errorf("err = %v", err)
	}
}

func TestRollRevokeAPIKey(t *testing.T) {
	t.Parallel()
	c := newClient(t,
		exchange{method: "POST", uri: "/v1/api_keys/key_1/roll", body: `{"expires_in":5400}`, resp: newKeyJSON},
		exchange{method: "POST", uri: "/v1/api_keys/key_1/roll", body: `{"expires_in":0}`, resp: newKeyJSON},
		exchange{method: "POST", uri: "/v1/api_keys/key_1/roll", body: `{"expires_in":0}`, status: 404,
			resp: `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"id","message":"No such api_key: 'key_1'"}}`},
		exchange{method: "POST", uri: "/v1/api_keys/key_2/revoke", body: `{}`,
			resp: `{"id":"key_2","object":"api_key","type":"publishable","prefix":"pk_test_ZYXWVUTS","created_at":"2026-03-01T00:00:00Z",
				"expires_at":null,"revoked_at":"2026-03-01T00:10:00Z"}`},
	)
	ctx := t.Context()
	// A fraction of a second is dropped.
	if _, err := c.RollAPIKey(ctx, "key_1", &client.RollAPIKeyParams{ExpiresIn: 90*time.Minute + 500*time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RollAPIKey(ctx, "key_1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RollAPIKey(ctx, "key_1", &client.RollAPIKeyParams{}); !client.IsNotFound(err) {
		t.Errorf("err = %v, want not found", err)
	}
	k, err := c.RevokeAPIKey(ctx, "key_2")
	if err != nil {
		t.Fatal(err)
	}
	if k.RevokedAt == nil || k.Secret != "" {
		t.Errorf("got %v", k)
	}
}

// TestSecretsNotPrinted checks that fmt and log/slog never show an API key's
// secret, a card number or a CVC.
func TestSecretsNotPrinted(t *testing.T) {
	t.Parallel()
	key := client.APIKey{ID: "key_2", Type: client.APIKeyPublishable, Prefix: "pk_test_ZYXWVUTS",
		Secret: "pk_test_ZYXWVUTSrqponmlkjihgfedcba987654"}
	card := client.CardParams{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "987", HolderName: "Ada"}
	pmp := client.PaymentMethodParams{Card: &card, Email: "ada@example.com"}
	secrets := []string{"rqponmlkjihgfedcba987654", "424242424242", "987"}

	var out []string
	for _, v := range []any{key, &key, []*client.APIKey{&key}, card, &card, pmp, &pmp} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		slog.New(h).Info("made", "key", key, "pkey", &key, "params", pmp, "card", card)
	}
	out = append(out, buf.String())
	for _, s := range out {
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("output shows %q: %s", secret, s)
			}
		}
	}
	if got, want := key.String(), "api_key key_2 (publishable, pk_test_ZYXWVUTS…, secret redacted)"; got != want {
		t.Errorf("APIKey.String() = %q, want %q", got, want)
	}
	if got, want := card.String(), "card ****4242 exp 12/2030"; got != want {
		t.Errorf("CardParams.String() = %q, want %q", got, want)
	}
	if !strings.Contains(buf.String(), `"number":"****4242"`) {
		t.Errorf("slog JSON lacks the masked number:\n%s", buf.String())
	}
}
