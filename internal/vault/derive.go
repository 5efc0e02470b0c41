package vault

import (
	"context"
	"fmt"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

var _ payment.KeyDeriver = (*Vault)(nil)

// deriveReloadEvery bounds how often DerivedKey reloads the key source for a
// version it lacks. The version comes from outside (a token's kid), so
// without a bound anyone could make every request read the key file.
const deriveReloadEvery = time.Second

// DerivedKey returns the key for label derived (HKDF-SHA256) from master
// key version version, or from the newest when version is 0, with the
// version used. Nothing derived is stored; the same keyring gives the same
// key in every process. A version newer than any the vault holds makes it
// reload its source (at most once a second), so a rotation made by another
// process is picked up; an older version that is gone from the ring stays
// gone. The error for a version the ring lacks matches
// payment.ErrUnknownKeyVersion and, like every error here, holds no key
// material.
func (v *Vault) DerivedKey(ctx context.Context, label string, version int) ([]byte, int, error) {
	if label == "" {
		return nil, 0, fmt.Errorf("vault: DerivedKey needs a label")
	}
	ring := v.ring.Load()
	if version == 0 {
		version = ring.Newest()
	}
	if version < 0 || version > maxVersion {
		return nil, 0, fmt.Errorf("vault: derive with master key version %d: %w", version, payment.ErrUnknownKeyVersion)
	}
	if !ring.Has(version) && version > ring.Newest() && v.mayReloadForDerive() {
		if r, err := v.ringWith(version); err == nil {
			ring = r
		}
	}
	key, ok := ring.derive(version, label)
	if !ok {
		return nil, 0, fmt.Errorf("vault: derive with master key version %d (ring holds %v): %w",
			version, ring.Versions(), payment.ErrUnknownKeyVersion)
	}
	return key, version, nil
}

// mayReloadForDerive reports whether DerivedKey may reload now, and if so
// counts this as the reload.
func (v *Vault) mayReloadForDerive() bool {
	now := v.now().UnixNano()
	last := v.deriveReloadAt.Load()
	if now-last < int64(deriveReloadEvery) && now >= last {
		return false
	}
	return v.deriveReloadAt.CompareAndSwap(last, now)
}
