package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

func newIdem(accountID, key string, created time.Time) *payment.IdempotencyRecord {
	return &payment.IdempotencyRecord{
		AccountID:   accountID,
		Key:         key,
		Token:       payment.RandomString(16),
		Point:       payment.RecoveryStarted,
		Method:      "POST",
		Path:        "/v1/payment_methods",
		RequestHash: []byte("mac:" + payment.RandomString(16)),
		LockedUntil: created.Add(time.Minute),
		CreatedAt:   created,
	}
}

func claim(t *testing.T, s payment.Store, rec *payment.IdempotencyRecord) (*payment.IdempotencyRecord, bool) {
	t.Helper()
	existing, claimed, err := s.ClaimIdempotencyKey(context.Background(), rec)
	if err != nil {
		t.Fatalf("ClaimIdempotencyKey: %v", err)
	}
	if claimed != (existing == nil) {
		t.Fatalf("ClaimIdempotencyKey = %+v, %v; want a record exactly when not claimed", existing, claimed)
	}
	return existing, claimed
}

func mustClaim(t *testing.T, s payment.Store, rec *payment.IdempotencyRecord) {
	t.Helper()
	if existing, _ := claim(t, s, rec); existing != nil {
		t.Fatalf("claim of %s not granted; existing %+v", rec.Key, existing)
	}
}

func mustNotClaim(t *testing.T, s payment.Store, rec *payment.IdempotencyRecord, want *payment.IdempotencyRecord) {
	t.Helper()
	existing, _ := claim(t, s, rec)
	if existing == nil {
		t.Fatalf("claim of %s granted, want the existing record", rec.Key)
	}
	equal(t, "existing idempotency record", existing, want)
}

func testIdempotency(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)

	first := newIdem(a.ID, "key-1", t0)
	mustClaim(t, s, first)

	// In flight: a second request gets the first's record, and nothing
	// changes.
	second := newIdem(a.ID, "key-1", t0.Add(time.Second))
	second.Path = "/v1/other"
	mustNotClaim(t, s, second, first)
	mustNotClaim(t, s, second, first)

	// Keys are per account.
	mustClaim(t, s, newIdem(b.ID, "key-1", t0))

	body := []byte(`{"id":"pm_123"}`)
	if err := s.CompleteIdempotencyKey(ctx, a.ID, "key-1", first.Token, 201, body); err != nil {
		t.Fatalf("CompleteIdempotencyKey: %v", err)
	}
	done := *first
	done.Completed = true
	done.ResponseStatus = 201
	done.ResponseBody = body
	mustNotClaim(t, s, second, &done)
	// A completed key is replayed long after its lock.
	mustNotClaim(t, s, newIdem(a.ID, "key-1", t0.Add(48*time.Hour)), &done)

	wantNotFound(t, "CompleteIdempotencyKey of an unknown key",
		s.CompleteIdempotencyKey(ctx, a.ID, "key-unknown", first.Token, 200, nil))
	wantNotFound(t, "CompleteIdempotencyKey of another account's key",
		s.CompleteIdempotencyKey(ctx, "T00000000", "key-1", first.Token, 200, nil))

	// An empty response body is a response too.
	k2 := newIdem(a.ID, "key-2", t0)
	mustClaim(t, s, k2)
	if err := s.CompleteIdempotencyKey(ctx, a.ID, "key-2", k2.Token, 204, nil); err != nil {
		t.Fatal(err)
	}
	existing, _ := claim(t, s, newIdem(a.ID, "key-2", t0.Add(time.Hour)))
	if existing == nil || !existing.Completed || existing.ResponseStatus != 204 || len(existing.ResponseBody) != 0 {
		t.Errorf("completed key-2 = %+v, want completed with 204", existing)
	}

	wantNotFound(t, "ClaimIdempotencyKey for an unknown account", func() error {
		_, _, err := s.ClaimIdempotencyKey(ctx, newIdem("T00000000", "k", t0))
		return err
	}())
}

func testIdempotencyTakeover(t *testing.T, s payment.Store) {
	a := newAccount(t, s)
	first := newIdem(a.ID, "key", t0) // locked until t0+1m
	mustClaim(t, s, first)

	// Before the lock passes the key stays taken.
	mustNotClaim(t, s, newIdem(a.ID, "key", first.LockedUntil.Add(-time.Microsecond)), first)

	// At the lock's end the first request is deemed dead: the next one
	// takes over and its record replaces the first's.
	second := newIdem(a.ID, "key", first.LockedUntil)
	second.Method, second.Path = "PUT", "/v1/other"
	mustClaim(t, s, second)
	mustNotClaim(t, s, newIdem(a.ID, "key", first.LockedUntil.Add(time.Second)), second)
}

func testIdempotencyPurge(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)

	k := newIdem(a.ID, "key", t0)
	mustClaim(t, s, k)
	if err := s.CompleteIdempotencyKey(ctx, a.ID, "key", k.Token, 200, []byte("{}")); err != nil {
		t.Fatal(err)
	}

	// Purge deletes what was created strictly before the cutoff, completed
	// or in flight.
	cutoff := t0.Add(24 * time.Hour)
	keep := []*payment.IdempotencyRecord{newIdem(a.ID, "at-cutoff", cutoff), newIdem(b.ID, "after", cutoff.Add(time.Second))}
	for _, r := range keep {
		mustClaim(t, s, r)
	}
	mustClaim(t, s, newIdem(b.ID, "before", cutoff.Add(-time.Microsecond)))
	n, err := s.PurgeIdempotencyKeys(ctx, cutoff)
	if err != nil || n != 2 { // a/key (completed) and b/before (in flight)
		t.Fatalf("PurgeIdempotencyKeys = %d, %v; want 2", n, err)
	}
	for _, r := range keep {
		mustNotClaim(t, s, newIdem(r.AccountID, r.Key, r.CreatedAt.Add(time.Second)), r)
	}
	mustClaim(t, s, newIdem(b.ID, "before", cutoff.Add(time.Second)))
	mustClaim(t, s, newIdem(a.ID, "key", cutoff.Add(time.Second)))
	if n, err := s.PurgeIdempotencyKeys(ctx, cutoff); err != nil || n != 0 {
		t.Errorf("second PurgeIdempotencyKeys = %d, %v; want 0", n, err)
	}
}

// testIdempotencyConcurrent sends concurrent claims of one key: exactly one
// may win, and every other sees the winner's record.
func testIdempotencyConcurrent(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	const n = 20
	recs := make([]*payment.IdempotencyRecord, n)
	for i := range recs {
		recs[i] = newIdem(a.ID, "contended", t0)
		recs[i].RequestHash = fmt.Appendf(nil, "request-%d", i)
	}
	type result struct {
		i        int
		existing *payment.IdempotencyRecord
		claimed  bool
	}
	results := make(chan result, n)
	var wg sync.WaitGroup
	for i, rec := range recs {
		wg.Go(func() {
			existing, claimed, err := s.ClaimIdempotencyKey(ctx, rec)
			if err != nil {
				t.Errorf("ClaimIdempotencyKey: %v", err)
				return
			}
			results <- result{i, existing, claimed}
		})
	}
	wg.Wait()
	close(results)
	winner := -1
	var losers []result
	for r := range results {
		if r.claimed {
			if winner >= 0 {
				t.Errorf("claims %d and %d both won", winner, r.i)
			}
			winner = r.i
		} else {
			losers = append(losers, r)
		}
	}
	if winner < 0 {
		t.Fatal("no claim won")
	}
	for _, r := range losers {
		equal(t, "record seen by a losing claim", r.existing, recs[winner])
	}
}

// testIdempotencyRecovery checks recovery points: a key bound to what its
// request reserved, in the reserving transaction, is never taken over by
// its lock's end; a reservation under a claim that was taken over is
// refused and rolls back; completion and the settled mark go by token.
func testIdempotencyRecovery(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)

	// Reserving under the claim binds the key to the payment, atomically.
	rec := newIdem(a.ID, "pay-1", t0)
	mustClaim(t, s, rec)
	p := newPayment(a.ID, t0)
	p.Operations[0].Outcome = payment.OutcomePending
	mark := &payment.IdempotencyMark{AccountID: a.ID, Key: rec.Key, Token: rec.Token, Point: payment.RecoveryReserved,
		PaymentID: p.ID, OperationID: p.Operations[0].ID}
	if err := s.CreatePayment(ctx, p, nil, mark); err != nil {
		t.Fatalf("CreatePayment with a mark: %v", err)
	}
	bound := *rec
	bound.Point, bound.PaymentID, bound.OperationID = payment.RecoveryReserved, p.ID, p.Operations[0].ID
	// Long after its lock, a bound key is still not taken over: the retry
	// must answer from the payment, never run again.
	mustNotClaim(t, s, newIdem(a.ID, "pay-1", t0.Add(time.Hour)), &bound)

	// A second reservation under the same claim is refused: one key, one
	// reservation.
	again := newPayment(a.ID, t0)
	if err := s.CreatePayment(ctx, again, nil, mark); !errors.Is(err, payment.ErrIdempotencyClaimLost) {
		t.Errorf("second reservation under one claim: err = %v, want ErrIdempotencyClaimLost", err)
	}
	wantNotFound(t, "the refused reservation's payment", func() error { _, err := s.Payment(ctx, a.ID, again.ID); return err }())

	// Settling marks the key in the settle's transaction.
	settleMark := &payment.IdempotencyMark{AccountID: a.ID, Key: rec.Key, Token: rec.Token, Point: payment.RecoverySettled}
	if _, err := s.UpdatePayment(ctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
		q.Operations[0].Outcome = payment.OutcomeSucceeded
		return &payment.PaymentChange{Operations: q.Operations[:1], Idempotency: settleMark}, nil
	}); err != nil {
		t.Fatalf("UpdatePayment with a settle mark: %v", err)
	}
	settled := bound
	settled.Point = payment.RecoverySettled
	mustNotClaim(t, s, newIdem(a.ID, "pay-1", t0.Add(time.Hour)), &settled)

	// A retry takes the key over by compare-and-set on its token; the
	// first request's completion then loses and stores nothing.
	next := payment.RandomString(16)
	if err := s.TakeOverIdempotencyKey(ctx, a.ID, rec.Key, rec.Token, next, t0.Add(2*time.Minute)); err != nil {
		t.Fatalf("TakeOverIdempotencyKey: %v", err)
	}
	wantConflict(t, "TakeOverIdempotencyKey with a stale token",
		s.TakeOverIdempotencyKey(ctx, a.ID, rec.Key, rec.Token, payment.RandomString(16), t0.Add(2*time.Minute)))
	if err := s.CompleteIdempotencyKey(ctx, a.ID, rec.Key, rec.Token, 500, []byte("late")); !errors.Is(err, payment.ErrIdempotencyClaimLost) {
		t.Errorf("completion under a lost claim: err = %v, want ErrIdempotencyClaimLost", err)
	}
	// A settle mark under a lost claim changes nothing and fails nothing.
	if _, err := s.UpdatePayment(ctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
		return &payment.PaymentChange{Idempotency: settleMark}, nil
	}); err != nil {
		t.Errorf("UpdatePayment with a stale settle mark: %v", err)
	}
	if err := s.CompleteIdempotencyKey(ctx, a.ID, rec.Key, next, 201, []byte("answer")); err != nil {
		t.Fatalf("completion by the retry: %v", err)
	}
	done := settled
	done.Token, done.LockedUntil = next, t0.Add(2*time.Minute)
	done.Completed, done.ResponseStatus, done.ResponseBody = true, 201, []byte("answer")
	mustNotClaim(t, s, newIdem(a.ID, "pay-1", t0.Add(time.Hour)), &done)
	wantConflict(t, "TakeOverIdempotencyKey of a completed key",
		s.TakeOverIdempotencyKey(ctx, a.ID, rec.Key, next, payment.RandomString(16), t0.Add(3*time.Minute)))

	// A claim taken over before its request reserved: the late
	// reservation is refused and nothing of it is stored.
	slow := newIdem(a.ID, "slow", t0)
	mustClaim(t, s, slow)
	retry := newIdem(a.ID, "slow", slow.LockedUntil)
	mustClaim(t, s, retry)
	late := newPayment(a.ID, t0)
	err := s.CreatePayment(ctx, late, nil, &payment.IdempotencyMark{AccountID: a.ID, Key: slow.Key, Token: slow.Token,
		Point: payment.RecoveryReserved, PaymentID: late.ID, OperationID: late.Operations[0].ID})
	if !errors.Is(err, payment.ErrIdempotencyClaimLost) {
		t.Errorf("reservation under a claim taken over: err = %v, want ErrIdempotencyClaimLost", err)
	}
	wantNotFound(t, "the late reservation's payment", func() error { _, err := s.Payment(ctx, a.ID, late.ID); return err }())

	// Operations outside payments bind and settle the same way, and a
	// follow-up binds through UpdatePayment.
	vk := newIdem(a.ID, "verify", t0)
	mustClaim(t, s, vk)
	op := newVerification(a.ID, t0)
	if err := s.CreateOperation(ctx, op, nil, &payment.IdempotencyMark{AccountID: a.ID, Key: vk.Key, Token: vk.Token,
		Point: payment.RecoveryReserved, OperationID: op.ID}); err != nil {
		t.Fatalf("CreateOperation with a mark: %v", err)
	}
	if _, err := s.UpdateOperation(ctx, a.ID, op.ID, &payment.IdempotencyMark{AccountID: a.ID, Key: vk.Key, Token: vk.Token,
		Point: payment.RecoverySettled}, func(o *payment.Operation) (*payment.Event, error) {
		o.Outcome = payment.OutcomeSucceeded
		return nil, nil
	}); err != nil {
		t.Fatalf("UpdateOperation with a mark: %v", err)
	}
	vdone := *vk
	vdone.Point, vdone.OperationID = payment.RecoverySettled, op.ID
	mustNotClaim(t, s, newIdem(a.ID, "verify", t0.Add(time.Hour)), &vdone)

	ck := newIdem(a.ID, "capture", t0)
	mustClaim(t, s, ck)
	var capture *payment.Operation
	if _, err := s.UpdatePayment(ctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
		capture = newOp(q, payment.OpCapture, 100, payment.OutcomePending, t0)
		return &payment.PaymentChange{Operations: []*payment.Operation{capture}, Idempotency: &payment.IdempotencyMark{
			AccountID: a.ID, Key: ck.Key, Token: ck.Token, Point: payment.RecoveryReserved, PaymentID: q.ID, OperationID: capture.ID}}, nil
	}); err != nil {
		t.Fatalf("UpdatePayment binding a follow-up: %v", err)
	}
	cbound := *ck
	cbound.Point, cbound.PaymentID, cbound.OperationID = payment.RecoveryReserved, p.ID, capture.ID
	mustNotClaim(t, s, newIdem(a.ID, "capture", t0.Add(time.Hour)), &cbound)
	// A refused follow-up binding rolls the whole update back.
	_, err = s.UpdatePayment(ctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
		o := newOp(q, payment.OpCapture, 100, payment.OutcomePending, t0)
		return &payment.PaymentChange{Operations: []*payment.Operation{o}, Idempotency: &payment.IdempotencyMark{
			AccountID: a.ID, Key: ck.Key, Token: ck.Token, Point: payment.RecoveryReserved, PaymentID: q.ID, OperationID: o.ID}}, nil
	})
	if !errors.Is(err, payment.ErrIdempotencyClaimLost) {
		t.Errorf("second follow-up binding: err = %v, want ErrIdempotencyClaimLost", err)
	}
	if got := getPayment(t, s, a.ID, p.ID); len(got.Operations) != 2 {
		t.Errorf("payment has %d operations after a refused binding, want 2", len(got.Operations))
	}
}

// testIdempotencyClaimAtReserve checks the claim a reservation makes for a
// key with no record: the reserve inserts the record bound, atomically,
// and a key that exists makes the whole reservation fail; a refused
// request's answer is inserted completed.
func testIdempotencyClaimAtReserve(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	if _, err := s.IdempotencyKey(ctx, a.ID, "pay-1"); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("IdempotencyKey of a new key: %v, want ErrNotFound", err)
	}
	rec := newIdem(a.ID, "pay-1", t0)
	p := newPayment(a.ID, t0)
	mark := &payment.IdempotencyMark{AccountID: a.ID, Key: rec.Key, Token: rec.Token, Point: payment.RecoveryReserved,
		PaymentID: p.ID, OperationID: p.Operations[0].ID, Record: rec}
	if err := s.CreatePayment(ctx, p, nil, mark); err != nil {
		t.Fatalf("CreatePayment claiming its key: %v", err)
	}
	bound := *rec
	bound.Point, bound.PaymentID, bound.OperationID = payment.RecoveryReserved, p.ID, p.Operations[0].ID
	got, err := s.IdempotencyKey(ctx, a.ID, "pay-1")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "the key claimed by the reservation", got, &bound)

	// A duplicate that passed the same check reserves second: refused,
	// and nothing of it is stored.
	dup := newIdem(a.ID, "pay-1", t0)
	q := newPayment(a.ID, t0)
	err = s.CreatePayment(ctx, q, nil, &payment.IdempotencyMark{AccountID: a.ID, Key: dup.Key, Token: dup.Token,
		Point: payment.RecoveryReserved, PaymentID: q.ID, OperationID: q.Operations[0].ID, Record: dup})
	if !errors.Is(err, payment.ErrIdempotencyClaimLost) {
		t.Errorf("second reservation claiming the key: %v, want ErrIdempotencyClaimLost", err)
	}
	wantNotFound(t, "the refused reservation's payment", func() error { _, err := s.Payment(ctx, a.ID, q.ID); return err }())
	// The same through UpdatePayment (a follow-up) and CreateOperation.
	_, err = s.UpdatePayment(ctx, a.ID, p.ID, func(pay *payment.Payment) (*payment.PaymentChange, error) {
		o := newOp(pay, payment.OpCapture, 100, payment.OutcomePending, t0)
		return &payment.PaymentChange{Operations: []*payment.Operation{o}, Idempotency: &payment.IdempotencyMark{
			AccountID: a.ID, Key: dup.Key, Token: dup.Token, Point: payment.RecoveryReserved, PaymentID: pay.ID, OperationID: o.ID, Record: dup}}, nil
	})
	if !errors.Is(err, payment.ErrIdempotencyClaimLost) {
		t.Errorf("follow-up claiming a taken key: %v, want ErrIdempotencyClaimLost", err)
	}
	if got := getPayment(t, s, a.ID, p.ID); len(got.Operations) != 1 {
		t.Errorf("payment has %d operations after a refused claim, want 1", len(got.Operations))
	}
	op := newVerification(a.ID, t0)
	err = s.CreateOperation(ctx, op, nil, &payment.IdempotencyMark{AccountID: a.ID, Key: dup.Key, Token: dup.Token,
		Point: payment.RecoveryReserved, OperationID: op.ID, Record: dup})
	if !errors.Is(err, payment.ErrIdempotencyClaimLost) {
		t.Errorf("verification claiming a taken key: %v, want ErrIdempotencyClaimLost", err)
	}
	wantNotFound(t, "the refused verification", func() error { _, err := s.Operation(ctx, a.ID, op.ID); return err }())

	// A refused request's answer.
	refused := newIdem(a.ID, "refused", t0)
	refused.Completed, refused.ResponseStatus, refused.ResponseBody = true, 422, []byte(`{"error":{}}`)
	if err := s.SaveIdempotencyResponse(ctx, refused); err != nil {
		t.Fatalf("SaveIdempotencyResponse: %v", err)
	}
	mustNotClaim(t, s, newIdem(a.ID, "refused", t0.Add(time.Hour)), refused)
	if err := s.SaveIdempotencyResponse(ctx, refused); !errors.Is(err, payment.ErrIdempotencyClaimLost) {
		t.Errorf("second SaveIdempotencyResponse: %v, want ErrIdempotencyClaimLost", err)
	}
	wantNotFound(t, "IdempotencyKey of another account's key", func() error {
		_, err := s.IdempotencyKey(ctx, newAccount(t, s).ID, "refused")
		return err
	}())
}
