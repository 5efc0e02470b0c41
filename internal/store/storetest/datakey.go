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

func newDataKey(accountID, purpose string, version, kek int) *payment.DataKey {
	return &payment.DataKey{
		AccountID:  accountID,
		Purpose:    purpose,
		Version:    version,
		KEKVersion: kek,
		Wrapped:    fmt.Appendf(nil, "wrapped\x00%s/%s/%d/kek%d", accountID, purpose, version, kek),
		CreatedAt:  t0.Add(time.Duration(version) * time.Second),
	}
}

func testDataKeys(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)

	if keys, err := s.DataKeys(ctx, a.ID, payment.PurposeCard); err != nil || len(keys) != 0 {
		t.Fatalf("DataKeys of an account without keys = %v, %v; want none and no error", keys, err)
	}

	v2 := newDataKey(a.ID, payment.PurposeCard, 2, 1)
	v2.Uses = 42
	v1 := newDataKey(a.ID, payment.PurposeCard, 1, 1)
	cred := newDataKey(a.ID, payment.PurposeCredentials, 1, 3)
	for _, k := range []*payment.DataKey{v2, v1, cred} {
		if err := s.CreateDataKey(ctx, k); err != nil {
			t.Fatalf("CreateDataKey: %v", err)
		}
	}
	keys, err := s.DataKeys(ctx, a.ID, payment.PurposeCard)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "DataKeys, oldest version first", keys, []*payment.DataKey{v1, v2})
	keys, _ = s.DataKeys(ctx, a.ID, payment.PurposeCredentials)
	equal(t, "DataKeys of another purpose", keys, []*payment.DataKey{cred})
	if keys, _ := s.DataKeys(ctx, b.ID, payment.PurposeCard); len(keys) != 0 {
		t.Errorf("DataKeys of another account = %v, want none", keys)
	}

	dup := newDataKey(a.ID, payment.PurposeCard, 2, 2)
	wantConflict(t, "CreateDataKey of an existing version", s.CreateDataKey(ctx, dup))
	keys, _ = s.DataKeys(ctx, a.ID, payment.PurposeCard)
	equal(t, "DataKeys after a conflict", keys, []*payment.DataKey{v1, v2})

	// The same version for another account or purpose is no clash.
	if err := s.CreateDataKey(ctx, newDataKey(b.ID, payment.PurposeCard, 2, 1)); err != nil {
		t.Errorf("CreateDataKey of another account's version: %v", err)
	}

	wantNotFound(t, "CreateDataKey for an unknown account",
		s.CreateDataKey(ctx, newDataKey("T00000000", payment.PurposeCard, 1, 1)))
}

func testReserveDataKeyUses(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	k := newDataKey(a.ID, payment.PurposeCard, 1, 1)
	k.Uses = 3
	if err := s.CreateDataKey(ctx, k); err != nil {
		t.Fatal(err)
	}

	for _, step := range []struct{ n, want int64 }{{5, 8}, {7, 15}, {0, 15}} {
		got, err := s.ReserveDataKeyUses(ctx, a.ID, payment.PurposeCard, 1, step.n)
		if err != nil || got != step.want {
			t.Errorf("ReserveDataKeyUses(%d) = %d, %v; want %d", step.n, got, err, step.want)
		}
	}
	keys, _ := s.DataKeys(ctx, a.ID, payment.PurposeCard)
	if len(keys) != 1 || keys[0].Uses != 15 {
		t.Errorf("stored key = %+v, want 15 uses", keys)
	}

	_, err := s.ReserveDataKeyUses(ctx, a.ID, payment.PurposeCard, 2, 1)
	wantNotFound(t, "ReserveDataKeyUses of an unknown version", err)
	_, err = s.ReserveDataKeyUses(ctx, a.ID, payment.PurposeCredentials, 1, 1)
	wantNotFound(t, "ReserveDataKeyUses of an unknown purpose", err)
	_, err = s.ReserveDataKeyUses(ctx, b.ID, payment.PurposeCard, 1, 1)
	wantNotFound(t, "ReserveDataKeyUses of another account's key", err)

	t.Run("concurrent", func(t *testing.T) {
		const n = 20
		var wg sync.WaitGroup
		results := make(chan int64, n)
		for range n {
			wg.Go(func() {
				got, err := s.ReserveDataKeyUses(ctx, a.ID, payment.PurposeCard, 1, 1)
				if err != nil {
					t.Errorf("ReserveDataKeyUses: %v", err)
					return
				}
				results <- got
			})
		}
		wg.Wait()
		close(results)
		seen := map[int64]bool{}
		for r := range results {
			if seen[r] || r <= 15 || r > 15+n {
				t.Errorf("concurrent reservation returned %d (seen before: %v)", r, seen[r])
			}
			seen[r] = true
		}
		keys, _ := s.DataKeys(ctx, a.ID, payment.PurposeCard)
		if len(keys) != 1 || keys[0].Uses != 15+n {
			t.Errorf("uses after %d concurrent reservations = %+v, want %d", n, keys, 15+n)
		}
	})
}

func testRewrapDataKeys(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)

	// More keys than one batch of either backend, across accounts and
	// purposes, some already under the new KEK.
	var old, current []*payment.DataKey
	for i := range 130 {
		acct := a.ID
		if i%3 == 0 {
			acct = b.ID
		}
		purpose := []string{payment.PurposeCard, payment.PurposeCredentials}[i%2]
		k := newDataKey(acct, purpose, i+1, 1+i%4)
		k.Uses = int64(i)
		if err := s.CreateDataKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		if k.KEKVersion == 2 {
			current = append(current, k)
		} else {
			old = append(old, k)
		}
	}

	rewrapped := func(k *payment.DataKey) *payment.DataKey {
		next := *k
		next.KEKVersion = 2
		next.Wrapped = append([]byte("kek2:"), k.Wrapped...)
		return &next
	}
	var mu sync.Mutex
	calls := map[string]int{}
	name := func(k *payment.DataKey) string { return fmt.Sprintf("%s/%s/%d", k.AccountID, k.Purpose, k.Version) }
	rewrap := func(k *payment.DataKey) (*payment.DataKey, error) {
		mu.Lock()
		calls[name(k)]++
		mu.Unlock()
		return rewrapped(k), nil
	}

	stored := func() map[string]*payment.DataKey {
		m := map[string]*payment.DataKey{}
		for _, acct := range []string{a.ID, b.ID} {
			for _, p := range []string{payment.PurposeCard, payment.PurposeCredentials} {
				keys, err := s.DataKeys(ctx, acct, p)
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range keys {
					m[name(k)] = k
				}
			}
		}
		return m
	}

	t.Run("failing rewrap", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := s.RewrapDataKeys(ctx, 2, func(k *payment.DataKey) (*payment.DataKey, error) { return nil, boom })
		if !errors.Is(err, boom) {
			t.Errorf("RewrapDataKeys with a failing rewrap: err = %v, want boom", err)
		}
		_, err = s.RewrapDataKeys(ctx, 2, func(k *payment.DataKey) (*payment.DataKey, error) {
			next := rewrapped(k)
			next.Version++
			return next, nil
		})
		if err == nil {
			t.Error("RewrapDataKeys accepted a rewrap that returned another key version")
		}
		m := stored()
		for _, k := range old {
			equal(t, "key after failed rewraps", m[name(k)], k)
		}
	})

	n, err := s.RewrapDataKeys(ctx, 2, rewrap)
	if err != nil || n != len(old) {
		t.Fatalf("RewrapDataKeys = %d, %v; want %d", n, err, len(old))
	}
	m := stored()
	if len(m) != len(old)+len(current) {
		t.Fatalf("%d keys stored, want %d", len(m), len(old)+len(current))
	}
	for _, k := range old {
		if calls[name(k)] != 1 {
			t.Errorf("rewrap called %d times for %s, want once", calls[name(k)], name(k))
		}
		equal(t, "rewrapped key", m[name(k)], rewrapped(k))
	}
	for _, k := range current {
		if calls[name(k)] != 0 {
			t.Errorf("rewrap called for %s, which is under the current KEK", name(k))
		}
		equal(t, "key under the current KEK", m[name(k)], k)
	}

	n, err = s.RewrapDataKeys(ctx, 2, rewrap)
	if err != nil || n != 0 {
		t.Errorf("second RewrapDataKeys = %d, %v; want 0", n, err)
	}
}
