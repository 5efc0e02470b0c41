package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

func testAccounts(t *testing.T, s payment.Store) {
	ctx := context.Background()

	if n, err := s.CountAccounts(ctx); err != nil || n != 0 {
		t.Fatalf("CountAccounts of a new store = %d, %v; want 0", n, err)
	}

	a := &payment.Account{ID: payment.NewAccountID(true), Name: "Live shop", Live: true, CreatedAt: t0}
	k1, k2 := newKey(a.ID, t0), newKey(a.ID, t0)
	k2.Kind = payment.KeyPublishable
	if err := s.CreateAccount(ctx, a, []*payment.APIKey{k1, k2}); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	got, err := s.Account(ctx, a.ID)
	if err != nil {
		t.Fatalf("Account: %v", err)
	}
	equal(t, "Account", got, a)
	for _, k := range []*payment.APIKey{k1, k2} {
		gk, err := s.APIKeyByPrefix(ctx, k.Prefix)
		if err != nil {
			t.Fatalf("APIKeyByPrefix(%s): %v", k.Prefix, err)
		}
		equal(t, "key created with the account", gk, k)
	}

	b := newAccount(t, s)
	if n, err := s.CountAccounts(ctx); err != nil || n != 2 {
		t.Errorf("CountAccounts = %d, %v; want 2", n, err)
	}

	t.Run("duplicate id", func(t *testing.T) {
		dup := &payment.Account{ID: b.ID, Name: "other", CreatedAt: t0}
		wantConflict(t, "CreateAccount with a taken id", s.CreateAccount(ctx, dup, []*payment.APIKey{newKey(b.ID, t0)}))
		got, err := s.Account(ctx, b.ID)
		if err != nil {
			t.Fatalf("Account: %v", err)
		}
		equal(t, "account after a failed duplicate", got, b)
		if n, _ := s.CountAccounts(ctx); n != 2 {
			t.Errorf("CountAccounts = %d, want 2", n)
		}
	})

	t.Run("taken key prefix is atomic", func(t *testing.T) {
		c := &payment.Account{ID: payment.NewAccountID(false), Name: "c", CreatedAt: t0}
		k := newKey(c.ID, t0)
		k.Prefix = k1.Prefix
		wantConflict(t, "CreateAccount with a taken key prefix", s.CreateAccount(ctx, c, []*payment.APIKey{newKey(c.ID, t0), k}))
		_, err := s.Account(ctx, c.ID)
		wantNotFound(t, "account whose creation failed", err)
		if n, _ := s.CountAccounts(ctx); n != 2 {
			t.Errorf("CountAccounts = %d, want 2", n)
		}
	})

	t.Run("not found", func(t *testing.T) {
		_, err := s.Account(ctx, "T00000000")
		wantNotFound(t, "Account of an unknown id", err)
		if e, ok := payment.AsError(err); !ok || e.Kind != payment.KindNotFound {
			t.Errorf("err = %#v, want a *payment.Error of kind not_found", err)
		}
	})
}

func testAPIKeys(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)

	keys := []*payment.APIKey{newKey(a.ID, t0), newKey(a.ID, t0.Add(time.Second)), newKey(a.ID, t0.Add(time.Second))}
	keys[1].Kind = payment.KeyPublishable
	keys[1].ExpiresAt = ptr(t0.Add(24 * time.Hour))
	keys[2].RevokedAt = ptr(t0.Add(2 * time.Second))
	for _, k := range keys {
		if err := s.CreateAPIKey(ctx, k, nil); err != nil {
			t.Fatalf("CreateAPIKey: %v", err)
		}
	}
	kb := newKey(b.ID, t0)
	if err := s.CreateAPIKey(ctx, kb, nil); err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}

	for _, k := range keys {
		got, err := s.APIKeyByPrefix(ctx, k.Prefix)
		if err != nil {
			t.Fatalf("APIKeyByPrefix: %v", err)
		}
		equal(t, "APIKeyByPrefix", got, k)
	}

	list, err := s.APIKeys(ctx, a.ID)
	if err != nil {
		t.Fatalf("APIKeys: %v", err)
	}
	want := slices.Clone(keys)
	slices.Reverse(want)
	equal(t, "APIKeys, newest first with revoked ones", list, want)

	c := newAccount(t, s)
	if list, err := s.APIKeys(ctx, c.ID); err != nil || len(list) != 0 {
		t.Errorf("APIKeys of an account without keys = %v, %v; want none", list, err)
	}

	dup := newKey(b.ID, t0)
	dup.Prefix = keys[0].Prefix
	wantConflict(t, "CreateAPIKey with a prefix of another account", s.CreateAPIKey(ctx, dup, nil))
	dup = newKey(a.ID, t0)
	dup.ID = keys[0].ID
	wantConflict(t, "CreateAPIKey with a taken id", s.CreateAPIKey(ctx, dup, nil))

	_, err = s.APIKeyByPrefix(ctx, "sk_test_00000000")
	wantNotFound(t, "APIKeyByPrefix of an unknown prefix", err)

	wantNotFound(t, "CreateAPIKey for an unknown account", s.CreateAPIKey(ctx, newKey("T00000000", t0), nil))

	if list, _ := s.APIKeys(ctx, a.ID); len(list) != len(keys) {
		t.Errorf("APIKeys after failed creations: %d keys, want %d", len(list), len(keys))
	}
}

func testRevokeAPIKey(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	k := newKey(a.ID, t0)
	if err := s.CreateAPIKey(ctx, k, nil); err != nil {
		t.Fatal(err)
	}

	now := t0.Add(time.Minute)
	_, err := s.RevokeAPIKey(ctx, b.ID, k.ID, now, nil)
	wantNotFound(t, "RevokeAPIKey of another account's key", err)
	_, err = s.RevokeAPIKey(ctx, a.ID, "key_unknown", now, nil)
	wantNotFound(t, "RevokeAPIKey of an unknown key", err)
	if got, _ := s.APIKeyByPrefix(ctx, k.Prefix); got == nil || got.RevokedAt != nil {
		t.Fatalf("key after failed revocations = %+v, want it unrevoked", got)
	}

	got, err := s.RevokeAPIKey(ctx, a.ID, k.ID, now, nil)
	if err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	want := *k
	want.RevokedAt = ptr(now)
	equal(t, "revoked key", got, &want)
	stored, err := s.APIKeyByPrefix(ctx, k.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "stored revoked key", stored, &want)
	if stored.Active(now) {
		t.Error("revoked key is active")
	}

	got, err = s.RevokeAPIKey(ctx, a.ID, k.ID, now.Add(time.Hour), nil)
	if err != nil {
		t.Fatalf("RevokeAPIKey of a revoked key: %v", err)
	}
	equal(t, "revoking twice keeps the first time", got, &want)
	stored, _ = s.APIKeyByPrefix(ctx, k.Prefix)
	equal(t, "stored key after revoking twice", stored, &want)
}

// testRecordAPIKeyUse: a key's last use is stored and read back by both
// reads, only ever moves forward, and is only the account's to set: the
// key of another account is not found and keeps its own.
func testRecordAPIKeyUse(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	k, kb := newKey(a.ID, t0), newKey(b.ID, t0)
	for _, k := range []*payment.APIKey{k, kb} {
		if err := s.CreateAPIKey(ctx, k, nil); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, k *payment.APIKey, want *time.Time) {
		t.Helper()
		got, err := s.APIKeyByPrefix(ctx, k.Prefix)
		if err != nil {
			t.Fatal(err)
		}
		w := *k
		w.LastUsedAt = want
		equal(t, what+" (by prefix)", got, &w)
		list, err := s.APIKeys(ctx, k.AccountID)
		if err != nil || len(list) != 1 {
			t.Fatalf("APIKeys: %v, %v", list, err)
		}
		equal(t, what+" (listed)", list[0], &w)
	}
	check("a new key", k, nil)

	used := t0.Add(time.Minute)
	if err := s.RecordAPIKeyUse(ctx, a.ID, k.ID, used); err != nil {
		t.Fatalf("RecordAPIKeyUse: %v", err)
	}
	check("a used key", k, &used)
	if err := s.RecordAPIKeyUse(ctx, a.ID, k.ID, t0.Add(time.Second)); err != nil {
		t.Fatalf("RecordAPIKeyUse of an earlier use: %v", err)
	}
	check("an earlier use recorded late", k, &used)
	later := used.Add(time.Hour)
	if err := s.RecordAPIKeyUse(ctx, a.ID, k.ID, later); err != nil {
		t.Fatal(err)
	}
	check("a later use", k, &later)

	wantNotFound(t, "RecordAPIKeyUse of another account's key", s.RecordAPIKeyUse(ctx, b.ID, k.ID, later.Add(time.Hour)))
	wantNotFound(t, "RecordAPIKeyUse of an unknown key", s.RecordAPIKeyUse(ctx, a.ID, "key_unknown", later))
	check("a key after another account's attempt", k, &later)
	check("another account's key", kb, nil)
}

func testRollAPIKey(t *testing.T, s payment.Store) {
	ctx := context.Background()
	now := t0.Add(time.Hour)

	// setup makes an account with one key, created at t0.
	setup := func(t *testing.T) (*payment.Account, *payment.APIKey) {
		a := newAccount(t, s)
		k := newKey(a.ID, t0)
		if err := s.CreateAPIKey(ctx, k, nil); err != nil {
			t.Fatal(err)
		}
		return a, k
	}
	mustKey := func(t *testing.T, prefix string) *payment.APIKey {
		t.Helper()
		k, err := s.APIKeyByPrefix(ctx, prefix)
		if err != nil {
			t.Fatalf("APIKeyByPrefix: %v", err)
		}
		return k
	}

	t.Run("grace period", func(t *testing.T) {
		a, old := setup(t)
		next := newKey(a.ID, now)
		exp := now.Add(24 * time.Hour)
		if err := s.RollAPIKey(ctx, a.ID, old.ID, next, exp, now, nil); err != nil {
			t.Fatalf("RollAPIKey: %v", err)
		}
		equal(t, "new key", mustKey(t, next.Prefix), next)
		want := *old
		want.ExpiresAt = ptr(exp)
		got := mustKey(t, old.Prefix)
		equal(t, "old key", got, &want)
		if !got.Active(exp.Add(-time.Microsecond)) || got.Active(exp) {
			t.Error("old key should be active until, and not at, its expiry")
		}
		list, _ := s.APIKeys(ctx, a.ID)
		equal(t, "APIKeys after a roll", ids(list, keyID), []string{next.ID, old.ID})
	})

	for name, exp := range map[string]time.Time{"immediate": now, "expiry in the past": now.Add(-time.Hour)} {
		t.Run(name, func(t *testing.T) {
			a, old := setup(t)
			next := newKey(a.ID, now)
			if err := s.RollAPIKey(ctx, a.ID, old.ID, next, exp, now, nil); err != nil {
				t.Fatalf("RollAPIKey: %v", err)
			}
			want := *old
			want.RevokedAt = ptr(now)
			equal(t, "old key", mustKey(t, old.Prefix), &want)
			equal(t, "new key", mustKey(t, next.Prefix), next)
		})
	}

	t.Run("old key not active", func(t *testing.T) {
		a, revoked := setup(t)
		if _, err := s.RevokeAPIKey(ctx, a.ID, revoked.ID, t0, nil); err != nil {
			t.Fatal(err)
		}
		expired := newKey(a.ID, t0)
		expired.ExpiresAt = ptr(now)
		if err := s.CreateAPIKey(ctx, expired, nil); err != nil {
			t.Fatal(err)
		}
		_, other := setup(t)
		for _, tc := range []struct {
			name             string
			accountID, oldID string
		}{
			{"revoked", a.ID, revoked.ID},
			{"expired", a.ID, expired.ID},
			{"unknown", a.ID, "key_unknown"},
			{"another account's", a.ID, other.ID},
		} {
			next := newKey(tc.accountID, now)
			err := s.RollAPIKey(ctx, tc.accountID, tc.oldID, next, now.Add(time.Hour), now, nil)
			wantNotFound(t, "RollAPIKey of a "+tc.name+" key", err)
			_, err = s.APIKeyByPrefix(ctx, next.Prefix)
			wantNotFound(t, "new key of a failed roll ("+tc.name+")", err)
		}
		equal(t, "other account's key", mustKey(t, other.Prefix), other)
	})

	t.Run("taken prefix", func(t *testing.T) {
		a, old := setup(t)
		next := newKey(a.ID, now)
		next.Prefix = old.Prefix
		wantConflict(t, "RollAPIKey to a taken prefix", s.RollAPIKey(ctx, a.ID, old.ID, next, now.Add(time.Hour), now, nil))
		equal(t, "old key after a failed roll", mustKey(t, old.Prefix), old)
	})
}

// testCreateFirstAccount: on an empty database, of many concurrent
// callers (processes starting at once) exactly one creates the first
// account, with its keys; on a database with an account, none does.
func testCreateFirstAccount(t *testing.T, s payment.Store) {
	ctx := context.Background()
	const n = 40
	created := make(chan string, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			a := &payment.Account{ID: payment.NewAccountID(false), Name: "first", CreatedAt: t0}
			ok, err := s.CreateFirstAccount(ctx, a, []*payment.APIKey{newKey(a.ID, t0)})
			if err != nil {
				t.Errorf("CreateFirstAccount: %v", err)
				return
			}
			if ok {
				created <- a.ID
			}
		})
	}
	close(start)
	wg.Wait()
	close(created)
	var ids []string
	for id := range created {
		ids = append(ids, id)
	}
	if len(ids) != 1 {
		t.Fatalf("%d first accounts created, want 1: %v", len(ids), ids)
	}
	if c, err := s.CountAccounts(ctx); err != nil || c != 1 {
		t.Fatalf("CountAccounts = %d, %v; want 1", c, err)
	}
	if keys, err := s.APIKeys(ctx, ids[0]); err != nil || len(keys) != 1 {
		t.Errorf("the first account's keys: %d, %v; want 1", len(keys), err)
	}
	a := &payment.Account{ID: payment.NewAccountID(false), Name: "late", CreatedAt: t0}
	if ok, err := s.CreateFirstAccount(ctx, a, nil); err != nil || ok {
		t.Errorf("CreateFirstAccount with an account present = %v, %v; want false", ok, err)
	}
}

// testAccountSettings: embedding origins and the sealed callback signature
// secret are kept per account, and only for an account that exists.
func testAccountSettings(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	origins := []string{"https://shop.example", "http://127.0.0.1:8080"}
	if err := s.SetCheckoutEmbedOrigins(ctx, a.ID, origins); err != nil {
		t.Fatalf("SetCheckoutEmbedOrigins: %v", err)
	}
	got, err := s.Account(ctx, a.ID)
	if err != nil {
		t.Fatalf("Account: %v", err)
	}
	equal(t, "embed origins", got.CheckoutEmbedOrigins, origins)
	if got, _ := s.Account(ctx, b.ID); got.CheckoutEmbedOrigins != nil {
		t.Errorf("another account's origins = %q; want none", got.CheckoutEmbedOrigins)
	}
	if err := s.SetCheckoutEmbedOrigins(ctx, a.ID, nil); err != nil {
		t.Fatalf("SetCheckoutEmbedOrigins(nil): %v", err)
	}
	if got, _ := s.Account(ctx, a.ID); got.CheckoutEmbedOrigins != nil {
		t.Errorf("cleared origins = %q; want none", got.CheckoutEmbedOrigins)
	}
	wantNotFound(t, "SetCheckoutEmbedOrigins of no account", s.SetCheckoutEmbedOrigins(ctx, "T00000000", origins))

	_, err = s.CallbackSignatureSecret(ctx, a.ID)
	wantNotFound(t, "CallbackSignatureSecret before one is set", err)
	if err := s.SetCallbackSignatureSecret(ctx, a.ID, []byte("sealed-1")); err != nil {
		t.Fatalf("SetCallbackSignatureSecret: %v", err)
	}
	if err := s.SetCallbackSignatureSecret(ctx, a.ID, []byte("sealed-2")); err != nil {
		t.Fatalf("SetCallbackSignatureSecret again: %v", err)
	}
	sealed, err := s.CallbackSignatureSecret(ctx, a.ID)
	if err != nil || string(sealed) != "sealed-2" {
		t.Errorf("CallbackSignatureSecret = %q, %v; want the latest", sealed, err)
	}
	_, err = s.CallbackSignatureSecret(ctx, b.ID)
	wantNotFound(t, "another account's CallbackSignatureSecret", err)
	wantNotFound(t, "SetCallbackSignatureSecret of no account", s.SetCallbackSignatureSecret(ctx, "T00000000", []byte("x")))
}
