package engine_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/ratelimit"
)

// TestLoginAttempts: sign-in budgets are shared by the engines of one
// installation, named in the store by a keyed hash (not the plain SHA-256
// of the email), and the sweeper deletes the budgets full again.
func TestLoginAttempts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		email := ratelimit.Budget{Key: "email:kari@example.com", Limit: ratelimit.Limit{N: 2, Window: 15 * time.Minute}}
		other := newFixtureOn(t, f.store, f.ring) // another process
		take := func(eng interface {
			TakeLoginAttempt(context.Context, time.Time, ...ratelimit.Budget) (bool, error)
		}, budgets ...ratelimit.Budget) bool {
			t.Helper()
			ok, err := eng.TakeLoginAttempt(ctx, f.clock.Now(), budgets...)
			if err != nil {
				t.Fatalf("TakeLoginAttempt: %v", err)
			}
			return ok
		}
		if !take(f.eng, email) || !take(other.eng, email) {
			t.Fatal("an attempt within the budget refused")
		}
		if take(f.eng, email) || take(other.eng, email) {
			t.Fatal("a 3rd attempt on a budget of 2 allowed")
		}
		if take(f.eng, ratelimit.Budget{Key: "client:192.0.2.1"}) {
			t.Error("a budget of no attempts allowed one")
		}

		// The store knows the budget by a keyed hash: the plain SHA-256
		// of its key names a budget never drawn on.
		plain := sha256.Sum256([]byte(email.Key))
		if ok, err := f.store.TakeLoginAttempt(ctx, f.clock.Now(), []payment.LoginBudget{{KeyHash: plain[:], N: 1, Window: time.Minute}}); err != nil || !ok {
			t.Errorf("the plain hash's budget: %v, %v; want a fresh one", ok, err)
		}

		f.clock.Add(15 * time.Minute)
		if err := f.eng.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := f.store.PurgeLoginBudgets(ctx, f.clock.Now()); err != nil || n != 0 {
			t.Errorf("%d budgets full again left after the sweep (%v)", n, err)
		}
		if !take(other.eng, email) {
			t.Error("an attempt a window later refused")
		}
	})
}
