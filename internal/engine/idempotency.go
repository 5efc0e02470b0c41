package engine

import (
	"context"
	"crypto/hmac"
	"fmt"

	"github.com/kassapay/kassa/internal/payment"
)

// MaxIdempotencyKeyLen is the longest Idempotency-Key accepted (Stripe's).
const MaxIdempotencyKeyLen = 255

// IdempotencyClaim is what ClaimIdempotencyKey decided.
type IdempotencyClaim struct {
	// Replay is the stored first response to send again, or nil when the
	// caller now owns the key: it must run the request and then call
	// CompleteIdempotencyKey with its response.
	Replay *payment.IdempotencyRecord
}

// ClaimIdempotencyKey starts a request carrying an Idempotency-Key. The same
// key with another method, path or body is a KindInvalid error
// (idempotency_key_reused); a key whose first request is still running is a
// KindConflict error (idempotency_key_in_use).
func (e *Engine) ClaimIdempotencyKey(ctx context.Context, accountID, key, method, path string, body []byte) (*IdempotencyClaim, error) {
	if len(key) > MaxIdempotencyKeyLen {
		return nil, payment.Invalid(payment.CodeParameterInvalid, "Idempotency-Key",
			"The Idempotency-Key header must be at most %d characters.", MaxIdempotencyKeyLen)
	}
	// The body may hold a card number: hash it under the account's key so
	// the stored hash cannot be brute-forced back into a PAN.
	sum, err := e.vault.MAC(ctx, accountID, payment.PurposeRequestHash, append([]byte(method+" "+path+"\n"), body...))
	if err != nil {
		return nil, fmt.Errorf("hash request: %w", err)
	}
	now := e.clock()
	rec := &payment.IdempotencyRecord{
		AccountID: accountID, Key: key, Method: method, Path: path, RequestHash: sum,
		LockedUntil: now.Add(e.cfg.IdempotencyLock), CreatedAt: now,
	}
	existing, claimed, err := e.store.ClaimIdempotencyKey(ctx, rec)
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	if claimed {
		return &IdempotencyClaim{}, nil
	}
	if existing.Method != method || existing.Path != path || !hmac.Equal(existing.RequestHash, sum) {
		return nil, &payment.Error{Kind: payment.KindInvalid, Code: payment.CodeIdempotencyMismatch, Param: "Idempotency-Key",
			Message: "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '" + key + "' if you meant to execute a different request."}
	}
	if !existing.Completed {
		return nil, payment.Conflict(payment.CodeIdempotencyInUse,
			"There is currently another in-progress request using this Idempotency-Key; retry it once that request has finished.")
	}
	return &IdempotencyClaim{Replay: existing}, nil
}

// CompleteIdempotencyKey stores the response of a claimed key for replay.
func (e *Engine) CompleteIdempotencyKey(ctx context.Context, accountID, key string, status int, body []byte) error {
	return e.store.CompleteIdempotencyKey(ctx, accountID, key, status, body)
}
