package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/pgtest"
	"github.com/kassapay/kassa/internal/store/sqlite"
	"github.com/kassapay/kassa/internal/vault"
)

// fakeClock is a settable clock for TTL tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	eng   *engine.Engine
	store payment.Store
	vault *vault.Vault
	clock *fakeClock
	sim   *countingAdapter
	logs  *syncBuffer
	ring  string // the master key file

	attempts attemptCounter // webhook attempts recorded (runWebhooks)
}

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return string(s.b) }

// backend opens a fresh store of one kind for a test.
type backend struct {
	name string
	open func(t testing.TB) payment.Store
}

func backends() []backend {
	return []backend{{"sqlite", openSQLite}, {"postgres", openPostgres}}
}

func openSQLite(t testing.TB) payment.Store {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kassa.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newFixture(t testing.TB, st payment.Store) *fixture {
	t.Helper()
	ring := filepath.Join(t.TempDir(), "master.key")
	if _, err := vault.CreateDevKeyFile(ring); err != nil {
		t.Fatal(err)
	}
	return newFixtureOn(t, st, ring)
}

// newFixtureOn builds an engine with a vault of its own (empty caches) on
// an existing store and key ring: another kassa process.
func newFixtureOn(t testing.TB, st payment.Store, ring string) *fixture {
	t.Helper()
	return newFixtureLedger(t, st, ring, nil)
}

// newFixtureLedger is newFixtureOn with the simulator keeping its ledger in
// ledger (nil: in memory).
func newFixtureLedger(t testing.TB, st payment.Store, ring string, ledger simulator.Ledger) *fixture {
	t.Helper()
	v, err := vault.New(st, vault.NewFileSource(ring), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	logs := &syncBuffer{}
	sim := &countingAdapter{Simulator: simulator.New(simulator.Options{Now: clock.Now, Ledger: ledger})}
	eng := engine.New(engine.Config{Store: st, Vault: v, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now: clock.Now, CacheTTL: 24 * time.Hour, CVCTTL: time.Hour, Gateways: gateway.NewRegistry(sim),
		ReconcileAttempts: 3, ReconcileBackoff: time.Second, BreakerThreshold: 3, BreakerOpenFor: 30 * time.Second})
	return &fixture{eng: eng, store: st, vault: v, clock: clock, sim: sim, logs: logs, ring: ring}
}

func (f *fixture) account(t testing.TB, live bool) (*payment.Principal, *engine.NewAccount) {
	t.Helper()
	na, err := f.eng.CreateAccount(context.Background(), "shop", live)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.eng.Authenticate(context.Background(), na.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	return p, na
}

func visa(cvc string) *engine.CardInput {
	return &engine.CardInput{Number: "4242 4242 4242 4242", ExpMonth: 12, ExpYear: 2030, CVC: cvc, HolderName: "Jane Doe"}
}

func forEachBackend(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, newFixture(t, b.open(t)))
		})
	}
}

func TestCreatePaymentMethodSealsTheCard(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		pm, err := f.eng.CreatePaymentMethod(ctx, p, engine.PaymentMethodInput{Type: "card", Card: visa("123"),
			Metadata: map[string]string{"order": "1001", "empty": ""}})
		if err != nil {
			t.Fatal(err)
		}
		if pm.Card.Brand != "visa" || pm.Card.First6 != "424242" || pm.Card.Last4 != "4242" || !pm.Test ||
			pm.StorageState != payment.StorageCached || pm.Card.HolderName != "Jane Doe" {
			t.Errorf("unexpected payment method %+v", pm)
		}
		if _, ok := pm.Metadata["empty"]; ok || pm.Metadata["order"] != "1001" {
			t.Errorf("metadata = %v, want order only", pm.Metadata)
		}
		got, err := f.eng.PaymentMethod(ctx, p.Account.ID, pm.ID)
		if err != nil {
			t.Fatal(err)
		}
		pan, err := f.vault.Open(ctx, p.Account.ID, payment.PurposeCard, pm.ID+"#pan", got.PANSealed)
		if err != nil || string(pan) != "4242424242424242" {
			t.Fatalf("stored PAN opens to %q, %v", pan, err)
		}
		cvc, err := f.vault.Open(ctx, p.Account.ID, payment.PurposeCard, pm.ID+"#cvc", got.CVCSealed)
		if err != nil || string(cvc) != "123" {
			t.Fatalf("stored CVC opens to %q, %v", cvc, err)
		}
		if _, err := f.vault.Open(ctx, p.Account.ID, payment.PurposeCard, pm.ID+"#pan", got.CVCSealed); err == nil {
			t.Error("the CVC ciphertext opened as the PAN record")
		}
		if got.CVCExpiresAt == nil || !got.CVCExpiresAt.Equal(f.clock.Now().Add(time.Hour)) {
			t.Errorf("CVC expires at %v, want now+1h", got.CVCExpiresAt)
		}
		evs, _, err := f.eng.Events(ctx, p.Account.ID, payment.ListParams{})
		if err != nil || len(evs) != 1 || evs[0].Type != "payment_method.created" || evs[0].ObjectID != pm.ID {
			t.Fatalf("events = %v, %v", evs, err)
		}
	})
}

func TestFingerprintsAreStablePerAccountOnly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		a, _ := f.account(t, false)
		b, _ := f.account(t, false)
		mk := func(p *payment.Principal, number string) string {
			c := visa("")
			c.Number = number
			pm, err := f.eng.CreatePaymentMethod(ctx, p, engine.PaymentMethodInput{Type: "card", Card: c})
			if err != nil {
				t.Fatal(err)
			}
			return pm.Card.Fingerprint
		}
		a1, a2 := mk(a, "4242424242424242"), mk(a, "4242-4242-4242-4242")
		if a1 == "" || a1 != a2 {
			t.Errorf("same card, same account: %q vs %q", a1, a2)
		}
		if mk(a, "4111111111111111") == a1 {
			t.Error("different cards share a fingerprint")
		}
		if mk(b, "4242424242424242") == a1 {
			t.Error("the same card has the same fingerprint in two accounts")
		}
	})
}

func TestValidationNamesTheField(t *testing.T) {
	f := newFixture(t, openSQLite(t))
	ctx := context.Background()
	p, _ := f.account(t, false)
	mod := func(fn func(in *engine.PaymentMethodInput)) engine.PaymentMethodInput {
		in := engine.PaymentMethodInput{Type: "card", Card: visa("123")}
		fn(&in)
		return in
	}
	cases := []struct {
		name  string
		in    engine.PaymentMethodInput
		code  string
		param string
	}{
		{"no type", mod(func(in *engine.PaymentMethodInput) { in.Type = "" }), payment.CodeParameterMissing, "type"},
		{"unknown type", mod(func(in *engine.PaymentMethodInput) { in.Type = "sepa" }), payment.CodeParameterInvalid, "type"},
		{"no card", mod(func(in *engine.PaymentMethodInput) { in.Card = nil }), payment.CodeParameterMissing, "card"},
		{"no number", mod(func(in *engine.PaymentMethodInput) { in.Card.Number = " " }), payment.CodeParameterMissing, "card.number"},
		{"luhn", mod(func(in *engine.PaymentMethodInput) { in.Card.Number = "4242424242424241" }), payment.CodeInvalidNumber, "card.number"},
		{"length", mod(func(in *engine.PaymentMethodInput) { in.Card.Number = "42424242424" }), payment.CodeInvalidNumber, "card.number"},
		{"letters", mod(func(in *engine.PaymentMethodInput) { in.Card.Number = "4242x24242424242" }), payment.CodeInvalidNumber, "card.number"},
		{"no month", mod(func(in *engine.PaymentMethodInput) { in.Card.ExpMonth = 0 }), payment.CodeParameterMissing, "card.exp_month"},
		{"month 13", mod(func(in *engine.PaymentMethodInput) { in.Card.ExpMonth = 13 }), payment.CodeInvalidExpiryMonth, "card.exp_month"},
		{"no year", mod(func(in *engine.PaymentMethodInput) { in.Card.ExpYear = 0 }), payment.CodeParameterMissing, "card.exp_year"},
		{"two-digit year", mod(func(in *engine.PaymentMethodInput) { in.Card.ExpYear = 30 }), payment.CodeInvalidExpiryYear, "card.exp_year"},
		{"expired", mod(func(in *engine.PaymentMethodInput) { in.Card.ExpMonth, in.Card.ExpYear = 10, 2026 }), payment.CodeExpiredCard, "card.exp_year"},
		{"cvc letters", mod(func(in *engine.PaymentMethodInput) { in.Card.CVC = "12a" }), payment.CodeInvalidCVC, "card.cvc"},
		{"cvc 4 digits on visa", mod(func(in *engine.PaymentMethodInput) { in.Card.CVC = "1234" }), payment.CodeInvalidCVC, "card.cvc"},
		{"holder control char", mod(func(in *engine.PaymentMethodInput) { in.Card.HolderName = "Jane\x00" }), payment.CodeParameterInvalid, "card.holder_name"},
		{"country", mod(func(in *engine.PaymentMethodInput) { in.Billing = &payment.Address{Country: "Norway"} }), payment.CodeParameterInvalid, "billing_address.country"},
		{"email", mod(func(in *engine.PaymentMethodInput) { in.Email = "Jane <jane@example.com>" }), payment.CodeParameterInvalid, "email"},
		{"metadata value", mod(func(in *engine.PaymentMethodInput) { in.Metadata = map[string]string{"k": string(make([]byte, 501))} }), payment.CodeParameterInvalid, "metadata.k"},
		{"card number in metadata", mod(func(in *engine.PaymentMethodInput) {
			in.Metadata = map[string]string{"note": "pan 4111 1111 1111 1111"}
		}), "card_number_in_text", "metadata.note"},
		{"card number in holder name", mod(func(in *engine.PaymentMethodInput) { in.Card.HolderName = "4111111111111111" }), "card_number_in_text", "card.holder_name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.eng.CreatePaymentMethod(ctx, p, c.in)
			e, ok := payment.AsError(err)
			if !ok || e.Kind != payment.KindInvalid || e.Code != c.code || e.Param != c.param {
				t.Fatalf("err = %v, want invalid %s on %s", err, c.code, c.param)
			}
		})
	}
	pms, _, err := f.eng.PaymentMethods(ctx, p.Account.ID, payment.ListParams{})
	if err != nil || len(pms) != 0 {
		t.Fatalf("refused input stored %d payment methods (%v)", len(pms), err)
	}
	evs, _, _ := f.eng.Events(ctx, p.Account.ID, payment.ListParams{})
	if len(evs) != 0 {
		t.Fatalf("refused input wrote %d events", len(evs))
	}
}

func TestSweepExpiresCVCsAndCachedPaymentMethods(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		acct := p.Account.ID
		cached, err := f.eng.CreatePaymentMethod(ctx, p, engine.PaymentMethodInput{Type: "card", Card: visa("123")})
		if err != nil {
			t.Fatal(err)
		}
		kept, err := f.eng.CreatePaymentMethod(ctx, p, engine.PaymentMethodInput{Type: "card", Card: visa("456"), Retain: true})
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Add(59 * time.Minute)
		if err := f.eng.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if pm, _ := f.eng.PaymentMethod(ctx, acct, cached.ID); pm.CVCSealed == nil {
			t.Fatal("CVC destroyed before its TTL")
		}
		f.clock.Add(2 * time.Minute)
		if err := f.eng.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{cached.ID, kept.ID} {
			pm, _ := f.eng.PaymentMethod(ctx, acct, id)
			if pm.CVCSealed != nil || pm.PANSealed == nil || pm.StorageState == payment.StorageRedacted {
				t.Fatalf("after the CVC TTL: %s state %s, cvc %v, pan %v", id, pm.StorageState, pm.CVCSealed != nil, pm.PANSealed != nil)
			}
		}
		f.clock.Add(23 * time.Hour)
		if err := f.eng.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		got, _ := f.eng.PaymentMethod(ctx, acct, cached.ID)
		if got.StorageState != payment.StorageRedacted || got.PANSealed != nil || got.RedactedAt == nil {
			t.Fatalf("cached payment method past its TTL: state %s, pan %v", got.StorageState, got.PANSealed != nil)
		}
		if got, _ := f.eng.PaymentMethod(ctx, acct, kept.ID); got.StorageState != payment.StorageRetained || got.PANSealed == nil {
			t.Fatalf("retained payment method was touched: %s", got.StorageState)
		}
		evs, _, _ := f.eng.Events(ctx, acct, payment.ListParams{})
		if len(evs) == 0 || evs[0].Type != "payment_method.redacted" || evs[0].ObjectID != cached.ID {
			t.Fatalf("newest event = %+v, want payment_method.redacted of %s", evs[0], cached.ID)
		}
	})
}

func TestRetainRedactAndUpdate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		acct := p.Account.ID
		pm, err := f.eng.CreatePaymentMethod(ctx, p, engine.PaymentMethodInput{Type: "card", Card: visa("123"),
			Metadata: map[string]string{"a": "1", "b": "2"}})
		if err != nil {
			t.Fatal(err)
		}
		name, month := "J. Doe", 3
		up, err := f.eng.UpdatePaymentMethod(ctx, acct, pm.ID, engine.PaymentMethodUpdate{HolderName: &name, ExpMonth: &month,
			Metadata: map[string]string{"a": "", "c": "3"}})
		if err != nil {
			t.Fatal(err)
		}
		if up.Card.HolderName != name || up.Card.ExpMonth != 3 || up.Card.ExpYear != 2030 || len(up.Metadata) != 2 ||
			up.Metadata["b"] != "2" || up.Metadata["c"] != "3" {
			t.Fatalf("updated = %+v %v", up.Card, up.Metadata)
		}
		past := 2020
		if _, err := f.eng.UpdatePaymentMethod(ctx, acct, pm.ID, engine.PaymentMethodUpdate{ExpYear: &past}); err == nil {
			t.Fatal("update to an expired date was accepted")
		}
		if r, err := f.eng.RetainPaymentMethod(ctx, acct, pm.ID); err != nil || r.StorageState != payment.StorageRetained {
			t.Fatalf("retain: %v %v", r, err)
		}
		r, err := f.eng.RedactPaymentMethod(ctx, acct, pm.ID)
		if err != nil || r.StorageState != payment.StorageRedacted || r.PANSealed != nil || r.CVCSealed != nil {
			t.Fatalf("redact: %+v %v", r, err)
		}
		if again, err := f.eng.RedactPaymentMethod(ctx, acct, pm.ID); err != nil || !again.UpdatedAt.Equal(r.UpdatedAt) {
			t.Fatalf("second redact: %v", err)
		}
		for name, call := range map[string]func() error{
			"retain": func() error { _, err := f.eng.RetainPaymentMethod(ctx, acct, pm.ID); return err },
			"update": func() error {
				_, err := f.eng.UpdatePaymentMethod(ctx, acct, pm.ID, engine.PaymentMethodUpdate{HolderName: &name})
				return err
			},
		} {
			if e, ok := payment.AsError(call()); !ok || e.Kind != payment.KindConflict || e.Code != payment.CodeInvalidState {
				t.Errorf("%s of a redacted payment method: %v, want invalid_state", name, e)
			}
		}
	})
}

func TestAuthenticate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, na := f.account(t, false)
		if p.Key.Kind != payment.KeySecret || p.Account.ID != na.Account.ID {
			t.Fatalf("secret key principal = %+v", p)
		}
		pk, err := f.eng.Authenticate(ctx, na.PublishableKey)
		if err != nil || pk.Key.Kind != payment.KeyPublishable {
			t.Fatalf("publishable key: %v", err)
		}
		// Same prefix, other secret part: must fail the hash comparison.
		forged := na.SecretKey[:payment.KeyPrefixLen] + "AAAAAAAAAAAAAAAAAAAAAAAA"
		bad := []string{"", "sk_test_", forged, "sk_live_" + na.SecretKey[8:], "pk_" + na.SecretKey[3:], na.SecretKey + "x"}
		for _, k := range bad {
			if _, err := f.eng.Authenticate(ctx, k); !isUnauthenticated(err) {
				t.Errorf("key %q: %v, want unauthenticated", k, err)
			}
		}
		rolled, plain, err := f.eng.RollAPIKey(ctx, p, p.Key.ID, time.Hour)
		if err != nil || rolled.Kind != payment.KeySecret {
			t.Fatal(err)
		}
		if _, err := f.eng.Authenticate(ctx, plain); err != nil {
			t.Fatalf("new key: %v", err)
		}
		if _, err := f.eng.Authenticate(ctx, na.SecretKey); err != nil {
			t.Fatalf("old key within its grace period: %v", err)
		}
		// Rolling the new key with a long grace must not revive or extend
		// the first key's grace period either.
		f.clock.Add(30 * time.Minute)
		if _, _, err := f.eng.RollAPIKey(ctx, p, p.Key.ID, 2*time.Hour); err != nil {
			t.Fatalf("rolling a key in its grace period: %v", err)
		}
		f.clock.Add(30 * time.Minute)
		if _, err := f.eng.Authenticate(ctx, na.SecretKey); !isUnauthenticated(err) {
			t.Fatalf("old key after its grace period: %v", err)
		}
		if _, err := f.eng.RevokeAPIKey(ctx, p, rolled.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.eng.Authenticate(ctx, plain); !isUnauthenticated(err) {
			t.Fatalf("revoked key: %v", err)
		}
		other, _ := f.account(t, false)
		if _, err := f.eng.RevokeAPIKey(ctx, other, pk.Key.ID); !errors.Is(err, payment.ErrNotFound) {
			t.Fatalf("revoking another account's key: %v, want not found", err)
		}
		keys, err := f.eng.APIKeys(ctx, p.Account.ID)
		if err != nil || len(keys) != 4 {
			t.Fatalf("keys = %d, %v", len(keys), err)
		}
	})
}

func isUnauthenticated(err error) bool {
	e, ok := payment.AsError(err)
	return ok && e.Kind == payment.KindUnauthenticated
}

func TestIdempotencyClaims(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		acct := p.Account.ID
		body := []byte(`{"type":"card"}`)
		c, err := f.eng.ClaimIdempotencyKey(ctx, acct, "k1", "POST", "/v1/payment_methods", body)
		if err != nil || c.Replay != nil {
			t.Fatalf("first claim: %+v %v", c, err)
		}
		if _, err := f.eng.ClaimIdempotencyKey(ctx, acct, "k1", "POST", "/v1/payment_methods", body); !isKind(err, payment.KindConflict, payment.CodeIdempotencyInUse) {
			t.Fatalf("claim while in flight: %v", err)
		}
		if err := f.eng.CompleteIdempotencyKey(ctx, c, 201, []byte(`{"id":"pm_1"}`)); err != nil {
			t.Fatal(err)
		}
		c, err = f.eng.ClaimIdempotencyKey(ctx, acct, "k1", "POST", "/v1/payment_methods", body)
		if err != nil || c.Replay == nil || c.Replay.ResponseStatus != 201 || string(c.Replay.ResponseBody) != `{"id":"pm_1"}` {
			t.Fatalf("replay: %+v %v", c, err)
		}
		if _, err := f.eng.ClaimIdempotencyKey(ctx, acct, "k1", "POST", "/v1/payment_methods", []byte(`{}`)); !isKind(err, payment.KindInvalid, payment.CodeIdempotencyMismatch) {
			t.Fatalf("other body: %v", err)
		}
		if _, err := f.eng.ClaimIdempotencyKey(ctx, acct, "k1", "POST", "/v1/payment_methods/pm_1", body); !isKind(err, payment.KindInvalid, payment.CodeIdempotencyMismatch) {
			t.Fatalf("other path: %v", err)
		}
		// The same key in another account is another key.
		other, _ := f.account(t, false)
		if c, err := f.eng.ClaimIdempotencyKey(ctx, other.Account.ID, "k1", "POST", "/v1/payment_methods", body); err != nil || c.Replay != nil {
			t.Fatalf("claim in another account: %+v %v", c, err)
		}
	})
}

func isKind(err error, k payment.ErrorKind, code string) bool {
	e, ok := payment.AsError(err)
	return ok && e.Kind == k && e.Code == code
}

func openPostgres(t testing.TB) payment.Store { return pgtest.Open(t) }

func TestRecachePaymentMethod(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		gw := f.simGateway(t, p, nil).ID
		pm := f.card(t, p, "4111111111111111", "123")
		f.pay(t, p, pm.ID, gw, 1000, true) // the first authorization consumes the CVC
		if got, _ := f.eng.PaymentMethod(ctx, p.Account.ID, pm.ID); got.CVCSealed != nil {
			t.Fatal("the CVC survived an authorization")
		}
		if _, err := f.eng.RecachePaymentMethod(ctx, p.Account.ID, pm.ID, "12"); errCode(err) != payment.CodeInvalidCVC {
			t.Fatalf("short CVC: %v", err)
		}
		got, err := f.eng.RecachePaymentMethod(ctx, p.Account.ID, pm.ID, "456")
		if err != nil || got.CVCSealed == nil || got.CVCExpiresAt == nil {
			t.Fatalf("recache: %v", err)
		}
		cvc, err := f.vault.Open(ctx, p.Account.ID, payment.PurposeCard, pm.ID+"#cvc", got.CVCSealed)
		if err != nil || string(cvc) != "456" {
			t.Fatalf("recached CVC opens to %q, %v", cvc, err)
		}
		other, _ := f.account(t, false)
		if _, err := f.eng.RecachePaymentMethod(ctx, other.Account.ID, pm.ID, "456"); !errors.Is(err, payment.ErrNotFound) {
			t.Fatalf("recache from another account: %v", err)
		}
		if _, err := f.eng.RedactPaymentMethod(ctx, p.Account.ID, pm.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.eng.RecachePaymentMethod(ctx, p.Account.ID, pm.ID, "456"); errCode(err) != payment.CodeInvalidState {
			t.Fatalf("recache of a redacted card: %v", err)
		}
	})
}
