package engine_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// TestHotReadsStopAtOnceHereAndWithinASecondElsewhere: API keys and
// gateways are cached in memory, but a revoked key or rotated credentials
// hold at once in the process that made the change, and within one second
// in another process on the same database.
func TestHotReadsStopAtOnceHereAndWithinASecondElsewhere(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := b.open(t)
			here := newFixture(t, st)
			there := newFixtureOn(t, st, here.ring) // another kassa process
			ctx := context.Background()
			p, na := here.account(t, false)
			if _, err := there.eng.Authenticate(ctx, na.SecretKey); err != nil {
				t.Fatal(err) // now cached there
			}
			if _, err := here.eng.Authenticate(ctx, na.SecretKey); err != nil {
				t.Fatal(err) // and here
			}
			if _, err := here.eng.RevokeAPIKey(ctx, p, p.Key.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := here.eng.Authenticate(ctx, na.SecretKey); !isUnauthenticated(err) {
				t.Errorf("the revoking process still accepts the key: %v", err)
			}
			if _, err := there.eng.Authenticate(ctx, na.SecretKey); err != nil {
				t.Errorf("another process refused the key within its cache's second: %v (the cache is not used)", err)
			}
			there.clock.Add(time.Second)
			if _, err := there.eng.Authenticate(ctx, na.SecretKey); !isUnauthenticated(err) {
				t.Errorf("another process still accepts a key revoked a second ago: %v", err)
			}

			// Credentials: version 2 at once here, within a second there.
			q, _ := here.account(t, false)
			qThere, err := there.eng.Authenticate(ctx, mustKey(t, here, q))
			if err != nil {
				t.Fatal(err)
			}
			gw := here.simGateway(t, q, nil).ID
			pm := here.card(t, q, "4111111111111111", "").ID
			pay := func(f *fixture, pr *payment.Principal) string {
				t.Helper()
				_, err := f.eng.CreatePayment(ctx, pr, engine.PaymentInput{Amount: 1000, Currency: "EUR", PaymentMethodID: pm, GatewayID: gw})
				if err != nil {
					t.Fatal(err)
				}
				calls := f.sim.Calls()
				return calls[len(calls)-1].Config.Credentials["login"]
			}
			if login := pay(there, qThere); login != "merchant-one" {
				t.Fatalf("first payment there used login %q", login)
			}
			if _, err := here.eng.SetGatewayCredentials(ctx, q, gw, map[string]any{"login": "merchant-two", "password": "pw-two"}, "rotate", false); err != nil {
				t.Fatal(err)
			}
			if login := pay(here, q); login != "merchant-two" {
				t.Errorf("the rotating process paid with login %q, want the new credentials at once", login)
			}
			if login := pay(there, qThere); login != "merchant-one" {
				t.Errorf("another process paid with %q within its cache's second, want the cached version (the cache is not used)", login)
			}
			there.clock.Add(time.Second)
			if login := pay(there, qThere); login != "merchant-two" {
				t.Errorf("another process still pays with %q a second after the rotation", login)
			}
		})
	}
}

// mustKey makes a fresh secret key of the principal's account.
func mustKey(t *testing.T, f *fixture, p *payment.Principal) string {
	t.Helper()
	_, secret, err := f.eng.CreateAPIKey(context.Background(), p, payment.KeySecret)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// credentialReads counts the store's reads of a credential version.
type credentialReads struct {
	payment.Store
	n atomic.Int64
}

func (c *credentialReads) CredentialVersion(ctx context.Context, accountID, gatewayID string, version int) (*payment.CredentialVersion, error) {
	c.n.Add(1)
	return c.Store.CredentialVersion(ctx, accountID, gatewayID, version)
}

// TestCredentialsCachedWithTheirGateway: the sealed credentials a payment
// uses are read once per second, not once per payment; a redaction stops
// them at once in the process that made it and within one second in
// another process on the same database, as for the gateway itself.
func TestCredentialsCachedWithTheirGateway(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := &credentialReads{Store: b.open(t)}
			here := newFixture(t, st)
			there := newFixtureOn(t, st, here.ring) // another kassa process
			ctx := context.Background()
			p, na := here.account(t, false)
			pThere, err := there.eng.Authenticate(ctx, na.SecretKey)
			if err != nil {
				t.Fatal(err)
			}
			gw := here.simGateway(t, p, nil).ID
			pm := here.card(t, p, "4111111111111111", "").ID
			pay := func(f *fixture, pr *payment.Principal) error {
				_, err := f.eng.CreatePayment(ctx, pr, engine.PaymentInput{Amount: 1000, Currency: "EUR", PaymentMethodID: pm, GatewayID: gw})
				return err
			}
			for i := range 3 {
				if err := pay(here, p); err != nil {
					t.Fatalf("payment %d: %v", i, err)
				}
			}
			if n := st.n.Load(); n != 1 {
				t.Errorf("three payments within a second read the credentials %d times, want once", n)
			}
			if err := pay(there, pThere); err != nil {
				t.Fatal(err) // now cached there too
			}
			if _, err := here.eng.RedactGateway(ctx, p.Account.ID, gw); err != nil {
				t.Fatal(err)
			}
			if err := pay(here, p); errCode(err) != "gateway_redacted" {
				t.Errorf("the redacting process paid with destroyed credentials: %v", err)
			}
			if err := pay(there, pThere); err != nil {
				t.Errorf("another process refused within its cache's second: %v (the cache is not used)", err)
			}
			there.clock.Add(time.Second)
			if err := pay(there, pThere); errCode(err) != "gateway_redacted" {
				t.Errorf("another process still pays a second after the redaction: %v", err)
			}
		})
	}
}
