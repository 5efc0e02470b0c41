package engine

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/ratelimit"
)

// TakeLoginAttempt takes one sign-in attempt at now from every budget, or
// from none of them (ok false: one is spent). The budgets live in the
// store, so every process sharing the database draws on the same ones and
// a restart refills none (ADR 0035). A budget with no room at all
// (N or Window not positive) refuses every attempt.
//
// The store sees each budget's key only as loginKeyHash of it.
func (e *Engine) TakeLoginAttempt(ctx context.Context, now time.Time, budgets ...ratelimit.Budget) (ok bool, err error) {
	mac, err := e.loginKeyMAC(ctx)
	if err != nil {
		return false, err
	}
	bs := make([]payment.LoginBudget, len(budgets))
	for i, b := range budgets {
		if b.Limit.N <= 0 || b.Limit.Window <= 0 {
			return false, nil
		}
		bs[i] = payment.LoginBudget{KeyHash: mac(b.Key), N: b.Limit.N, Window: b.Limit.Window}
	}
	ok, err = e.store.TakeLoginAttempt(ctx, now, bs)
	if err != nil {
		return false, fmt.Errorf("take sign-in attempt: %w", err)
	}
	return ok, nil
}

// loginKeyMAC returns the hash the store knows a budget's key by:
// HMAC-SHA256 under a key derived from the master key (LabelLoginBudget),
// not a plain SHA-256. The keys are emails and client addresses, and
// both are guessable: every IPv4 address, or a list of likely emails,
// hashes in minutes, so a plain hash in a copy of the database would
// give them away. Every process holding the same master keys derives the
// same key, so they share the budgets. The newest master key version is
// used: adding a version starts the budgets afresh, once.
func (e *Engine) loginKeyMAC(ctx context.Context) (func(key string) []byte, error) {
	kd, ok := e.vault.(payment.KeyDeriver)
	if !ok {
		return nil, fmt.Errorf("take sign-in attempt: vault %T derives no keys", e.vault)
	}
	key, _, err := kd.DerivedKey(ctx, payment.LabelLoginBudget, 0)
	if err != nil {
		return nil, fmt.Errorf("take sign-in attempt: %w", err)
	}
	return func(k string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(k))
		return m.Sum(nil)
	}, nil
}
