package vault

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// TestDerivedKey: the same key ring derives the same key in every process,
// labels and versions separate keys, a version added by another process is
// found by a reload, and a version the ring lacks is ErrUnknownKeyVersion.
func TestDerivedKey(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	var clock atomic.Int64
	clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	a, b := f.vault(Options{Now: now}), f.vault(Options{Now: now})

	k1, v1, err := a.DerivedKey(ctx, "label one", 0)
	if err != nil || v1 != 1 || len(k1) != KeySize {
		t.Fatalf("newest: %d %d %v", len(k1), v1, err)
	}
	if kb, _, _ := b.DerivedKey(ctx, "label one", 1); !bytes.Equal(k1, kb) {
		t.Fatal("two vaults on one key file derive different keys")
	}
	if k2, _, _ := a.DerivedKey(ctx, "label two", 1); bytes.Equal(k1, k2) {
		t.Fatal("two labels derive the same key")
	}
	if _, _, err := a.DerivedKey(ctx, "label one", 7); !errors.Is(err, payment.ErrUnknownKeyVersion) {
		t.Fatalf("unknown version: %v", err)
	}

	// Another process rotates; b learns of version 2 when asked for it,
	// once the reload throttle allows.
	if _, err := AddKEKVersion(f.keyFile); err != nil {
		t.Fatal(err)
	}
	clock.Add(int64(2 * deriveReloadEvery))
	kNew, v, err := b.DerivedKey(ctx, "label one", 2)
	if err != nil || v != 2 || bytes.Equal(kNew, k1) {
		t.Fatalf("version 2 after rotation: %d %v", v, err)
	}
	if kOld, _, err := b.DerivedKey(ctx, "label one", 1); err != nil || !bytes.Equal(kOld, k1) {
		t.Fatalf("version 1 after rotation: %v", err)
	}
	if _, v, _ := b.DerivedKey(ctx, "label one", 0); v != 2 {
		t.Fatalf("newest after reload is %d", v)
	}
	if s := b.Keyring().String(); bytes.Contains([]byte(s), k1) {
		t.Fatal("keyring prints derived material")
	}
}

// TestDerivedKeyReloadThrottle: asking for versions the ring lacks reloads
// the key source at most once per deriveReloadEvery.
func TestDerivedKeyReloadThrottle(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := f.vault(Options{Now: func() time.Time { return start }})
	if _, _, err := v.DerivedKey(ctx, "l", 5); !errors.Is(err, payment.ErrUnknownKeyVersion) {
		t.Fatal(err)
	}
	// Version 2 now exists, but the last reload was under a second ago.
	if _, err := AddKEKVersion(f.keyFile); err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.DerivedKey(ctx, "l", 2); !errors.Is(err, payment.ErrUnknownKeyVersion) {
		t.Fatalf("reloaded within the throttle: %v", err)
	}
}
