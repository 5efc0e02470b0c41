package engine

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// MaxIdempotencyKeyLen is the longest Idempotency-Key accepted (Stripe's).
const MaxIdempotencyKeyLen = 255

// IdempotencyClaim is a request's hold on its Idempotency-Key, or the
// stored answer to replay. Dialects pass it to the engine in the request's
// context (WithIdempotencyClaim): the engine binds the key to what the
// request reserves in the reserving transaction, marks it in the settling
// one, and answers a recovering retry from what the key is bound to
// (ADR 0008).
type IdempotencyClaim struct {
	// Replay is the stored first response to send again, or nil when the
	// caller now holds the key: it must run the request and then call
	// CompleteIdempotencyKey with its response.
	Replay *payment.IdempotencyRecord

	accountID, key, token string
	// deferred holds the record to insert when the claim was deferred to
	// the request's reservation (ClaimIdempotencyKeyAtReserve) and the key
	// had no record: nothing is written until the reservation.
	deferred *payment.IdempotencyRecord
	// recover is set when the key's first request reserved something and
	// died (or has not answered): the engine answers from it instead of
	// acting again.
	recover *payment.IdempotencyRecord
	// reserved is set once this request bound the key.
	reserved bool
	// answered is the answer the settle stored under the key, when the
	// request gave one (WithAnswer).
	answered *Answer
	// reference is the transaction reference the reservation claims
	// (WithTransactionReference); key is empty when it claims only that.
	reference *payment.TransactionReference
	// checkout is the checkout session attempt the reservation makes
	// (PayCheckoutPage); key is empty when it claims only that.
	checkout *payment.CheckoutAttempt
}

// Answered returns the answer the request's settle stored under its key,
// or nil. When it is set the key is complete: the caller sends this answer
// (so that the first answer and every replay are the same bytes) and does
// not call CompleteIdempotencyKey.
func (c *IdempotencyClaim) Answered() *Answer {
	if c == nil {
		return nil
	}
	return c.answered
}

// Answer is a request's HTTP answer.
type Answer struct {
	Status      int
	ContentType string
	Body        []byte
}

// StoredAnswer is how an answer is kept under a key: its Content-Type, a
// newline, and the body (a Content-Type cannot hold a newline).
func StoredAnswer(contentType string, body []byte) []byte {
	b := make([]byte, 0, len(contentType)+1+len(body))
	b = append(b, contentType...)
	b = append(b, '\n')
	return append(b, body...)
}

// ParseStoredAnswer splits what StoredAnswer made.
func ParseStoredAnswer(b []byte) (contentType string, body []byte) {
	ct, body, ok := bytes.Cut(b, []byte{'\n'})
	if !ok {
		return "", b
	}
	return string(ct), body
}

// AnswerFunc renders a request's answer from what its settle writes: the
// payment (nil for an operation outside any payment) and the operation the
// request made. It runs inside the settle's transaction, so it must be
// quick and must not call the engine.
type AnswerFunc func(pay *payment.Payment, op *payment.Operation) (Answer, error)

type answerKey struct{}

// WithAnswer returns ctx carrying how the request renders its answer:
// then a keyed request's settle stores the answer too, in its own
// transaction, and the key needs no write of its own afterwards.
func WithAnswer(ctx context.Context, f AnswerFunc) context.Context {
	return context.WithValue(ctx, answerKey{}, f)
}

// answerMark adds to the settling mark the answer rendered from pay and
// op, when the request gave a way to render it.
func answerMark(ctx context.Context, mark *payment.IdempotencyMark, pay *payment.Payment, op *payment.Operation) *Answer {
	f, _ := ctx.Value(answerKey{}).(AnswerFunc)
	if mark == nil || f == nil {
		return nil
	}
	a, err := f(pay, op)
	if err != nil {
		return nil // the key is completed after the handler, as without
	}
	mark.Answer = &payment.IdempotencyAnswer{Status: a.Status, Body: StoredAnswer(a.ContentType, a.Body)}
	return &a
}

// Recovering reports whether the request answers for a first request that
// reserved and did not finish: it runs to render that answer and must not
// act again (the engine sees to that).
func (c *IdempotencyClaim) Recovering() bool { return c != nil && c.recover != nil }

type claimKey struct{}

// WithIdempotencyClaim returns ctx carrying the request's claim.
func WithIdempotencyClaim(ctx context.Context, c *IdempotencyClaim) context.Context {
	return context.WithValue(ctx, claimKey{}, c)
}

func claimFrom(ctx context.Context) *IdempotencyClaim {
	c, _ := ctx.Value(claimKey{}).(*IdempotencyClaim)
	if c == nil || c.Replay != nil {
		return nil
	}
	return c
}

// reserveMark binds the claim's key (if any) to what the reserve writes.
func (c *IdempotencyClaim) reserveMark(paymentID, operationID string) *payment.IdempotencyMark {
	if c == nil || c.recover != nil {
		return nil
	}
	return &payment.IdempotencyMark{AccountID: c.accountID, Key: c.key, Token: c.token, Point: payment.RecoveryReserved,
		PaymentID: paymentID, OperationID: operationID, Record: c.deferred, Reference: c.reference, Checkout: c.checkout}
}

// bound records that this request's reservation bound the key.
func (c *IdempotencyClaim) bound() {
	if c != nil && c.recover == nil {
		c.reserved = true
	}
}

// settleMark records on the claim's key (if this request bound it) that
// its operation settled.
func (c *IdempotencyClaim) settleMark() *payment.IdempotencyMark {
	if c == nil || !c.reserved || c.key == "" {
		return nil
	}
	return &payment.IdempotencyMark{AccountID: c.accountID, Key: c.key, Token: c.token, Point: payment.RecoverySettled}
}

// storedKey is what the store keeps of a client's Idempotency-Key: a keyed
// MAC under the account's request-hash key, so that whatever a client sends
// there (a card number, an email address) is never stored in clear.
func (e *Engine) storedKey(ctx context.Context, accountID, key string) (string, error) {
	sum, err := e.vault.MAC(ctx, accountID, payment.PurposeRequestHash, []byte("Idempotency-Key\x00"+key))
	if err != nil {
		return "", fmt.Errorf("hash idempotency key: %w", err)
	}
	return hex.EncodeToString(sum), nil
}

// ClaimIdempotencyKey starts a request carrying an Idempotency-Key. The same
// key with another method, path or body is a KindInvalid error
// (idempotency_key_reused); a key whose first request is still running is a
// KindConflict error (idempotency_key_in_use) with a RetryAfter.
//
// A key whose first request reserved a payment or operation and never
// answered (it crashed, or its response was lost) is recovered: once what
// it reserved has settled — asking the gateway at once when the first
// request is past its call deadline — the claim is handed over, and the
// engine answers the retry from those objects. It never calls the gateway
// for it again. While the outcome is unknown, the retry gets the 409.
func (e *Engine) ClaimIdempotencyKey(ctx context.Context, accountID, key, method, path string, body []byte) (*IdempotencyClaim, error) {
	c, err := e.claimIdempotencyKey(ctx, accountID, key, method, path, body)
	e.observeConflict(err)
	return c, err
}

// observeConflict tells the observer of a request refused for its key.
func (e *Engine) observeConflict(err error) {
	if pe, ok := payment.AsError(err); ok && (pe.Code == payment.CodeIdempotencyInUse || pe.Code == payment.CodeIdempotencyMismatch) {
		e.cfg.Observer.IdempotencyConflict(pe.Code)
	}
}

func (e *Engine) claimIdempotencyKey(ctx context.Context, accountID, key, method, path string, body []byte) (*IdempotencyClaim, error) {
	rec, err := e.idempotencyRecord(ctx, accountID, key, method, path, body)
	if err != nil {
		return nil, err
	}
	existing, claimed, err := e.store.ClaimIdempotencyKey(ctx, rec)
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	if claimed {
		return &IdempotencyClaim{accountID: accountID, key: rec.Key, token: rec.Token}, nil
	}
	return e.existingClaim(ctx, rec, existing, key)
}

// ClaimIdempotencyKeyAtReserve is ClaimIdempotencyKey for a request that
// moves money: a key without a record is claimed by the request's
// reservation itself, in the same transaction, so the claim costs no
// write of its own. Until then nothing is written; a concurrent duplicate
// that gets there first makes this request's reservation fail with
// ErrIdempotencyClaimLost (409), before anything is sent. A request that
// never reserves (it is refused) stores its answer at CompleteIdempotencyKey.
func (e *Engine) ClaimIdempotencyKeyAtReserve(ctx context.Context, accountID, key, method, path string, body []byte) (*IdempotencyClaim, error) {
	c, err := e.claimIdempotencyKeyAtReserve(ctx, accountID, key, method, path, body)
	e.observeConflict(err)
	return c, err
}

func (e *Engine) claimIdempotencyKeyAtReserve(ctx context.Context, accountID, key, method, path string, body []byte) (*IdempotencyClaim, error) {
	rec, err := e.idempotencyRecord(ctx, accountID, key, method, path, body)
	if err != nil {
		return nil, err
	}
	existing, err := e.store.IdempotencyKey(ctx, accountID, rec.Key)
	switch {
	case errors.Is(err, payment.ErrNotFound):
		return &IdempotencyClaim{accountID: accountID, key: rec.Key, token: rec.Token, deferred: rec}, nil
	case err != nil:
		return nil, fmt.Errorf("read idempotency key: %w", err)
	case existing.Point == payment.RecoveryStarted && !existing.Completed && !existing.LockedUntil.After(rec.CreatedAt):
		// Claimed by a request that died before reserving: take it over
		// as ClaimIdempotencyKey does.
		return e.claimIdempotencyKey(ctx, accountID, key, method, path, body)
	}
	return e.existingClaim(ctx, rec, existing, key)
}

// idempotencyRecord checks key and makes the record a claim of it would
// write.
func (e *Engine) idempotencyRecord(ctx context.Context, accountID, key, method, path string, body []byte) (*payment.IdempotencyRecord, error) {
	// A card number is refused like in any other text: it would be
	// echoed in errors and logs.
	if err := checkText("Idempotency-Key", key, MaxIdempotencyKeyLen); err != nil {
		return nil, err
	}
	stored, err := e.storedKey(ctx, accountID, key)
	if err != nil {
		return nil, err
	}
	// The body may hold a card number: hash it under the account's key so
	// the stored hash cannot be brute-forced back into a PAN.
	sum, err := e.vault.MAC(ctx, accountID, payment.PurposeRequestHash, append([]byte(method+" "+path+"\n"), body...))
	if err != nil {
		return nil, fmt.Errorf("hash request: %w", err)
	}
	now := e.clock()
	return &payment.IdempotencyRecord{
		AccountID: accountID, Key: stored, Token: payment.RandomString(24), Method: method, Path: path, RequestHash: sum,
		Point: payment.RecoveryStarted, LockedUntil: now.Add(e.cfg.IdempotencyLock), CreatedAt: now,
	}, nil
}

// existingClaim decides a request whose key has a record already (key is
// the client's, for the error message): a replay, a mismatch, a request
// in flight, or the recovery of one that died after reserving.
func (e *Engine) existingClaim(ctx context.Context, rec, existing *payment.IdempotencyRecord, key string) (*IdempotencyClaim, error) {
	accountID, stored, method, path, sum, now := rec.AccountID, rec.Key, rec.Method, rec.Path, rec.RequestHash, rec.CreatedAt
	if existing.Method != method || existing.Path != path || !hmac.Equal(existing.RequestHash, sum) {
		return nil, &payment.Error{Kind: payment.KindInvalid, Code: payment.CodeIdempotencyMismatch, Param: "Idempotency-Key",
			Message: "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '" + key + "' if you meant to execute a different request."}
	}
	if existing.Completed {
		return &IdempotencyClaim{Replay: existing}, nil
	}
	if existing.Point == payment.RecoveryStarted {
		return nil, inUse(existing.LockedUntil.Sub(now))
	}
	if err := e.recoverable(ctx, existing); err != nil {
		return nil, err
	}
	if err := e.store.TakeOverIdempotencyKey(ctx, accountID, stored, existing.Token, rec.Token, rec.LockedUntil); err != nil {
		if errors.Is(err, payment.ErrConflict) {
			return nil, inUse(time.Second)
		}
		return nil, fmt.Errorf("take over idempotency key: %w", err)
	}
	e.log.InfoContext(ctx, "recovering an idempotent request", "account", accountID, "payment", existing.PaymentID,
		"operation", existing.OperationID, "point", existing.Point)
	return &IdempotencyClaim{accountID: accountID, key: stored, token: rec.Token, recover: existing}, nil
}

func inUse(retryAfter time.Duration) *payment.Error {
	err := payment.Conflict(payment.CodeIdempotencyInUse,
		"There is currently another in-progress request using this Idempotency-Key; retry it once that request has finished.")
	err.RetryAfter = max(retryAfter, time.Second)
	return err
}

// recoverable reports whether what a key's first request reserved has
// settled far enough to answer from: nil, or a 409 saying when to retry.
// An operation pending past the point where its request would still send
// it is reconciled here and now rather than left for the reconciler.
func (e *Engine) recoverable(ctx context.Context, rec *payment.IdempotencyRecord) error {
	var ops []*payment.Operation
	if rec.PaymentID == "" {
		op, err := e.store.Operation(ctx, rec.AccountID, rec.OperationID)
		if err != nil {
			return fmt.Errorf("recover idempotency key: %w", err)
		}
		ops = []*payment.Operation{op}
	} else {
		pay, err := e.store.Payment(ctx, rec.AccountID, rec.PaymentID)
		if err != nil {
			return fmt.Errorf("recover idempotency key: %w", err)
		}
		ops = recoveryOperations(pay, rec.OperationID)
	}
	var wait time.Duration
	for _, op := range ops {
		now := e.clock()
		switch {
		case op.Outcome.Settled():
			continue
		case op.Outcome == payment.OutcomePending && rec.Point == payment.RecoverySettled:
			// Settled as pending by its request: the provider accepted it
			// and will notify. That is the answer.
			continue
		case op.Outcome == payment.OutcomeUnknown:
			next := now.Add(e.cfg.ReconcileBackoff)
			if op.NextReconcileAt != nil {
				next = *op.NextReconcileAt
			}
			wait = max(wait, next.Sub(now))
			continue
		}
		// Pending, reserved and never settled: its request is still
		// calling, or died. Past the point where it could still be
		// calling, ask the gateway now.
		stale := op.CreatedAt.Add(e.staleAfter())
		if now.Before(stale) {
			wait = max(wait, stale.Sub(now))
			continue
		}
		if !e.reconcileOne(ctx, op) {
			wait = max(wait, e.cfg.ReconcileBackoff)
		}
	}
	if wait > 0 {
		return inUse(wait)
	}
	return nil
}

// recoveryOperations are the operations a key bound to opID of pay waits
// for: that one, or for the request that created the payment, every
// attempt it made (a router's cascade reserves several).
func recoveryOperations(pay *payment.Payment, opID string) []*payment.Operation {
	if len(pay.Operations) == 0 || pay.Operations[0].ID != opID {
		if op := findOperation(pay, opID); op != nil {
			return []*payment.Operation{op}
		}
		return nil
	}
	var ops []*payment.Operation
	for _, op := range pay.Operations {
		if op.Kind == payment.OpAuthorize || op.Kind == payment.OpPurchase {
			ops = append(ops, op)
		}
	}
	return ops
}

// CompleteIdempotencyKey stores the response of a claimed key for replay.
// ErrIdempotencyClaimLost if a recovering retry took the key over
// meanwhile, or if another request claimed a deferred key first: the
// answer kept is theirs.
func (e *Engine) CompleteIdempotencyKey(ctx context.Context, c *IdempotencyClaim, status int, body []byte) error {
	if c.deferred != nil && !c.reserved {
		r := *c.deferred
		r.Completed, r.ResponseStatus, r.ResponseBody = true, status, body
		return e.store.SaveIdempotencyResponse(ctx, &r)
	}
	return e.store.CompleteIdempotencyKey(ctx, c.accountID, c.key, c.token, status, body)
}

// recoveredPayment is the payment (and, for a follow-up, the operation) a
// recovering request answers with.
func (e *Engine) recoveredPayment(ctx context.Context, c *IdempotencyClaim) (*payment.Payment, *payment.Operation, error) {
	if c.recover.PaymentID == "" {
		return nil, nil, fmt.Errorf("recover idempotency key: it is bound to operation %s outside any payment", c.recover.OperationID)
	}
	pay, err := e.store.Payment(ctx, c.accountID, c.recover.PaymentID)
	if err != nil {
		return nil, nil, fmt.Errorf("recover idempotency key: %w", err)
	}
	op := findOperation(pay, c.recover.OperationID)
	if op == nil {
		return nil, nil, fmt.Errorf("recover idempotency key: operation %s is not part of payment %s", c.recover.OperationID, pay.ID)
	}
	return pay, op, nil
}
