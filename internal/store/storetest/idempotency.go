package storetest

import (
	"context"
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
	if err := s.CompleteIdempotencyKey(ctx, a.ID, "key-1", 201, body); err != nil {
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
		s.CompleteIdempotencyKey(ctx, a.ID, "key-unknown", 200, nil))
	wantNotFound(t, "CompleteIdempotencyKey of another account's key",
		s.CompleteIdempotencyKey(ctx, "T00000000", "key-1", 200, nil))

	// An empty response body is a response too.
	mustClaim(t, s, newIdem(a.ID, "key-2", t0))
	if err := s.CompleteIdempotencyKey(ctx, a.ID, "key-2", 204, nil); err != nil {
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

	mustClaim(t, s, newIdem(a.ID, "key", t0))
	if err := s.CompleteIdempotencyKey(ctx, a.ID, "key", 200, []byte("{}")); err != nil {
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
