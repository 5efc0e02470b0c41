package vault

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// Errors callers may branch on. Their messages hold no key material, no
// plaintext and nothing about why authentication failed.
var (
	// ErrDecrypt: the ciphertext does not open for this account, purpose
	// and record: it was altered, truncated, copied from another record,
	// purpose or account, or names a data key version the account does not
	// have.
	ErrDecrypt = errors.New("vault: ciphertext does not open")
	// ErrUnknownKEK: a data key is wrapped under a master key version that
	// the keyring does not hold, even after reloading it. The key file (or
	// KASSA_MASTER_KEY) is missing a version; see the error for which.
	ErrUnknownKEK = errors.New("vault: master key version not in the keyring")
	// ErrBadDataKey: a stored data key does not open under the master key
	// of its version: the key file holds another key under that version
	// number, or the stored key was altered.
	ErrBadDataKey = errors.New("vault: stored data key does not open under its master key")
)

// Defaults of Options.
const (
	DefaultUseBlock      = 1 << 20
	DefaultMaxUses       = 1 << 31
	DefaultMaxCachedKeys = 1 << 16
)

// maxUsesLimit is AES-GCM's bound on encryptions with random 96-bit nonces
// under one key (NIST SP 800-38D §8.3).
const maxUsesLimit = 1 << 32

const (
	formatSeal  byte = 1 // Seal's ciphertext layout, first byte
	formatWrap  byte = 1 // wrapped data key layout, first byte
	headerLen        = 1 + 4
	gcmOverhead      = 12 + 16 // nonce + tag
)

// Options tune a Vault. Zero values take the defaults.
type Options struct {
	// Now stamps new data keys. Default time.Now.
	Now func() time.Time
	// UseBlock is how many encryptions the vault reserves in the store at
	// a time (one write per block). Uses reserved and not spent when the
	// process stops are lost from the key's budget. Default 1<<20.
	UseBlock int64
	// MaxUses is how many encryptions one data key version may do before
	// the next version takes over. Default 1<<31; at most 1<<32.
	MaxUses int64
	// MaxCachedKeys bounds the unwrapped data keys held in memory (and,
	// separately, the per account-and-purpose sealing states). Default
	// 1<<16.
	MaxCachedKeys int
}

// Vault seals and opens secrets under per-account data keys, and computes
// keyed MACs. It is safe for concurrent use, also by several processes
// sharing one store.
type Vault struct {
	store    payment.DataKeyStore
	src      KeySource
	now      func() time.Time
	useBlock int64
	maxUses  int64

	ring     atomic.Pointer[Keyring]
	reloadMu sync.Mutex // one reload at a time
	// deriveReloadAt is when DerivedKey last reloaded (Unix ns).
	deriveReloadAt atomic.Int64

	keys    *boundedMap[dekID, *dataKey]   // unwrapped data keys
	sealers *boundedMap[slotID, *sealSlot] // current key and reserved uses
}

var _ payment.Vault = (*Vault)(nil)

// slotID names the data keys of one account for one purpose.
type slotID struct{ account, purpose string }

// dekID names one data key version.
type dekID struct {
	account, purpose string
	version          int
}

// dataKey is an unwrapped data key: an AEAD for sealing purposes, raw bytes
// for MAC purposes (one key is never used for both).
type dataKey struct {
	version int
	aead    cipher.AEAD
	mac     []byte
}

// sealSlot is what Seal needs for one account and purpose: the version it
// seals with and how many reserved uses of it are left.
type sealSlot struct {
	mu   sync.Mutex
	key  *dataKey // nil until the first Seal, and after RotateDataKey
	left int64
}

// New returns a Vault over store with the keys of src.
func New(store payment.DataKeyStore, src KeySource, opts Options) (*Vault, error) {
	if store == nil || src == nil {
		return nil, errors.New("vault: New needs a store and a key source")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxUses == 0 {
		opts.MaxUses = DefaultMaxUses
	}
	if opts.UseBlock == 0 {
		opts.UseBlock = DefaultUseBlock
	}
	if opts.MaxCachedKeys == 0 {
		opts.MaxCachedKeys = DefaultMaxCachedKeys
	}
	switch {
	case opts.MaxUses < 0 || opts.MaxUses > maxUsesLimit:
		return nil, fmt.Errorf("vault: MaxUses %d is outside 1..%d", opts.MaxUses, int64(maxUsesLimit))
	case opts.UseBlock < 0:
		return nil, fmt.Errorf("vault: UseBlock %d is negative", opts.UseBlock)
	case opts.MaxCachedKeys < 0:
		return nil, fmt.Errorf("vault: MaxCachedKeys %d is negative", opts.MaxCachedKeys)
	}
	ring, err := src.Keyring()
	if err != nil {
		return nil, err
	}
	v := &Vault{
		store:    store,
		src:      src,
		now:      opts.Now,
		useBlock: min(opts.UseBlock, opts.MaxUses),
		maxUses:  opts.MaxUses,
		keys:     newBoundedMap[dekID, *dataKey](int64(opts.MaxCachedKeys)),
		sealers:  newBoundedMap[slotID, *sealSlot](int64(opts.MaxCachedKeys)),
	}
	v.ring.Store(ring)
	return v, nil
}

// Keyring returns the keyring the vault holds now.
func (v *Vault) Keyring() *Keyring { return v.ring.Load() }

// Reload reads the keyring from the source again and swaps it in. On error
// the vault keeps the keyring it has.
func (v *Vault) Reload() (*Keyring, error) {
	v.reloadMu.Lock()
	defer v.reloadMu.Unlock()
	return v.reloadLocked()
}

func (v *Vault) reloadLocked() (*Keyring, error) {
	ring, err := v.src.Reload()
	if err != nil {
		return nil, fmt.Errorf("vault: reload keyring: %w", err)
	}
	v.ring.Store(ring)
	return ring, nil
}

// ringWith returns a keyring that holds KEK version kek, reloading the
// source once if the current one does not.
func (v *Vault) ringWith(kek int) (*Keyring, error) {
	if ring := v.ring.Load(); ring.Has(kek) {
		return ring, nil
	}
	v.reloadMu.Lock()
	defer v.reloadMu.Unlock()
	if ring := v.ring.Load(); ring.Has(kek) {
		return ring, nil // another goroutine reloaded meanwhile
	}
	return v.reloadLocked()
}

// Seal encrypts plaintext for the record under the account's current data
// key for purpose, creating the key on first use. purpose must not be a MAC
// purpose (PurposeFingerprint, PurposeRequestHash); account, purpose and
// record must not be empty.
func (v *Vault) Seal(ctx context.Context, accountID, purpose, record string, plaintext []byte) ([]byte, error) {
	if err := checkSealArgs(accountID, purpose, record); err != nil {
		return nil, err
	}
	key, err := v.takeUse(ctx, accountID, purpose)
	if err != nil {
		return nil, err
	}
	out := make([]byte, headerLen, headerLen+len(plaintext)+gcmOverhead)
	out[0] = formatSeal
	binary.BigEndian.PutUint32(out[1:], uint32(key.version))
	return key.aead.Seal(out, nil, plaintext, sealAD(accountID, purpose, record, key.version)), nil
}

// Open decrypts a ciphertext made by Seal for the same account, purpose and
// record. It returns ErrDecrypt (and nothing more) when the ciphertext does
// not open, ErrUnknownKEK (wrapped, with the versions involved) when the
// data key's master key version is not in the keyring even after a reload.
func (v *Vault) Open(ctx context.Context, accountID, purpose, record string, ciphertext []byte) ([]byte, error) {
	if err := checkSealArgs(accountID, purpose, record); err != nil {
		return nil, err
	}
	version, ok := KeyVersion(ciphertext)
	if !ok || len(ciphertext) < headerLen+gcmOverhead {
		return nil, ErrDecrypt
	}
	key, err := v.dataKey(ctx, accountID, purpose, version)
	if errors.Is(err, errNoDataKey) {
		return nil, ErrDecrypt
	}
	if err != nil {
		return nil, err
	}
	plaintext, err := key.aead.Open(nil, nil, ciphertext[headerLen:], sealAD(accountID, purpose, record, version))
	if err != nil {
		return nil, ErrDecrypt
	}
	return plaintext, nil
}

// KeyVersion returns the data key version a Seal ciphertext names, and false
// if it is not one.
func KeyVersion(ciphertext []byte) (int, bool) {
	if len(ciphertext) < headerLen || ciphertext[0] != formatSeal {
		return 0, false
	}
	v := binary.BigEndian.Uint32(ciphertext[1:])
	if v < 1 || v > maxVersion {
		return 0, false
	}
	return int(v), true
}

// MAC returns HMAC-SHA256 of data under the account's key for purpose,
// which must be PurposeFingerprint or PurposeRequestHash. The key is the
// purpose's data key version 1, created on first use and never rotated.
func (v *Vault) MAC(ctx context.Context, accountID, purpose string, data []byte) ([]byte, error) {
	if accountID == "" {
		return nil, errors.New("vault: MAC: empty account id")
	}
	if !macPurpose(purpose) {
		return nil, fmt.Errorf("vault: MAC: purpose %q is not a MAC purpose (%s, %s)", purpose, payment.PurposeFingerprint, payment.PurposeRequestHash)
	}
	key, err := v.dataKey(ctx, accountID, purpose, 1)
	if errors.Is(err, errNoDataKey) {
		key, err = v.createMACKey(ctx, accountID, purpose)
	}
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key.mac)
	m.Write(data)
	return m.Sum(nil), nil
}

// createMACKey creates the MAC key of a purpose, or finds the one a
// concurrent call (of this or another process) created.
func (v *Vault) createMACKey(ctx context.Context, accountID, purpose string) (*dataKey, error) {
	slot := v.slot(accountID, purpose) // one creator per process
	slot.mu.Lock()
	defer slot.mu.Unlock()
	key, err := v.dataKey(ctx, accountID, purpose, 1)
	if !errors.Is(err, errNoDataKey) {
		return key, err
	}
	key, err = v.createDataKey(ctx, accountID, purpose, 1)
	if errors.Is(err, payment.ErrConflict) {
		return v.dataKey(ctx, accountID, purpose, 1) // another process won
	}
	return key, err
}

// Fingerprint returns the account's fingerprint of a card number (digits
// only): the first 16 bytes of its MAC under PurposeFingerprint, in base64url
// without padding (22 characters). The same card gives the same fingerprint
// in one account, and unrelated ones in two accounts.
func (v *Vault) Fingerprint(ctx context.Context, accountID string, pan string) (string, error) {
	sum, err := v.MAC(ctx, accountID, payment.PurposeFingerprint, []byte(pan))
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sum[:16]), nil
}

// RotateDataKey creates the next version of the account's data key for
// purpose and returns it; Seal in this process uses it from now on, other
// processes when their reserved block of uses runs out. Old versions keep
// opening what they sealed. MAC purposes cannot be rotated: their MACs must
// stay stable.
func (v *Vault) RotateDataKey(ctx context.Context, accountID, purpose string) (version int, err error) {
	if err := checkPurpose(accountID, purpose); err != nil {
		return 0, err
	}
	slot := v.slot(accountID, purpose)
	slot.mu.Lock()
	defer slot.mu.Unlock()
	newest, err := v.newestVersion(ctx, accountID, purpose)
	if err != nil {
		return 0, err
	}
	if newest >= maxVersion {
		return 0, fmt.Errorf("vault: account %s purpose %s: no data key version left", accountID, purpose)
	}
	_, err = v.createDataKey(ctx, accountID, purpose, newest+1)
	if errors.Is(err, payment.ErrConflict) {
		// Another process rotated at the same moment: that is the rotation.
		newest, err = v.newestVersion(ctx, accountID, purpose)
		version = newest
	} else {
		version = newest + 1
	}
	if err != nil {
		return 0, err
	}
	slot.key, slot.left = nil, 0
	return version, nil
}

// Rewrap reloads the keyring and re-wraps every data key of every account
// under its newest master key version, returning how many it re-wrapped. The
// data keys themselves, and so all ciphertexts, stay as they are. It is
// idempotent: a second run re-wraps only keys created meanwhile under an
// older version.
func (v *Vault) Rewrap(ctx context.Context) (int, error) {
	ring, err := v.Reload()
	if err != nil {
		return 0, err
	}
	newest := ring.Newest()
	n, err := v.store.RewrapDataKeys(ctx, newest, func(k *payment.DataKey) (*payment.DataKey, error) {
		raw, err := unwrap(ring, k)
		if err != nil {
			return nil, err
		}
		defer clear(raw)
		out := *k
		out.KEKVersion = newest
		out.Wrapped = wrap(ring, newest, k.AccountID, k.Purpose, k.Version, raw)
		return &out, nil
	})
	if err != nil {
		return n, fmt.Errorf("vault: rewrap data keys under master key version %d (%d done): %w", newest, n, err)
	}
	return n, nil
}

// takeUse returns the key to seal one plaintext with, spending one reserved
// use of it.
func (v *Vault) takeUse(ctx context.Context, accountID, purpose string) (*dataKey, error) {
	slot := v.slot(accountID, purpose)
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if slot.key == nil || slot.left == 0 {
		if err := v.refill(ctx, accountID, purpose, slot); err != nil {
			return nil, err
		}
	}
	slot.left--
	return slot.key, nil
}

func (v *Vault) slot(accountID, purpose string) *sealSlot {
	id := slotID{accountID, purpose}
	if s, ok := v.sealers.load(id); ok {
		return s
	}
	return v.sealers.loadOrStore(id, &sealSlot{})
}

// refill reserves a block of uses of the newest data key version in the
// store, creating version 1 if there is none and the next version when the
// newest has used up its budget. The store's counter is shared by every
// process, so each spends only the uses it reserved; a block that reaches
// past MaxUses is spent up to MaxUses and no further.
func (v *Vault) refill(ctx context.Context, accountID, purpose string, slot *sealSlot) error {
	// Each pass either spends a block or creates a version; a few passes
	// suffice unless other processes keep winning every race.
	for range 8 {
		newest, err := v.newestVersion(ctx, accountID, purpose)
		if err != nil {
			return err
		}
		if newest == 0 {
			_, err := v.createDataKey(ctx, accountID, purpose, 1)
			if err != nil && !errors.Is(err, payment.ErrConflict) {
				return err
			}
			continue
		}
		count, err := v.store.ReserveDataKeyUses(ctx, accountID, purpose, newest, v.useBlock)
		if err != nil {
			return fmt.Errorf("vault: reserve uses of data key %s/%s v%d: %w", accountID, purpose, newest, err)
		}
		if usable := min(count, v.maxUses) - (count - v.useBlock); usable > 0 {
			key, err := v.dataKey(ctx, accountID, purpose, newest)
			if err != nil {
				return err
			}
			slot.key, slot.left = key, usable
			return nil
		}
		if newest >= maxVersion {
			return fmt.Errorf("vault: account %s purpose %s: no data key version left", accountID, purpose)
		}
		_, err = v.createDataKey(ctx, accountID, purpose, newest+1)
		if err != nil && !errors.Is(err, payment.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("vault: account %s purpose %s: no usable data key after several attempts", accountID, purpose)
}

// newestVersion returns the highest data key version in the store, 0 if
// there is none.
func (v *Vault) newestVersion(ctx context.Context, accountID, purpose string) (int, error) {
	keys, err := v.store.DataKeys(ctx, accountID, purpose)
	if err != nil {
		return 0, fmt.Errorf("vault: read data keys: %w", err)
	}
	newest := 0
	for _, k := range keys {
		newest = max(newest, k.Version)
	}
	return newest, nil
}

// errNoDataKey: the store holds no such data key version.
var errNoDataKey = errors.New("vault: no such data key")

// dataKey returns one data key version, from memory or else from the store,
// or errNoDataKey.
func (v *Vault) dataKey(ctx context.Context, accountID, purpose string, version int) (*dataKey, error) {
	id := dekID{accountID, purpose, version}
	if k, ok := v.keys.load(id); ok {
		return k, nil
	}
	stored, err := v.store.DataKeys(ctx, accountID, purpose)
	if err != nil {
		return nil, fmt.Errorf("vault: read data keys: %w", err)
	}
	for _, sk := range stored {
		if sk.Version != version {
			continue
		}
		if sk.AccountID != accountID || sk.Purpose != purpose {
			return nil, fmt.Errorf("vault: store returned data key of %s/%s for %s/%s", sk.AccountID, sk.Purpose, accountID, purpose)
		}
		ring, err := v.ringWith(sk.KEKVersion)
		if err != nil {
			return nil, err
		}
		raw, err := unwrap(ring, sk)
		if err != nil {
			return nil, err
		}
		k, err := newDataKey(purpose, version, raw)
		if err != nil {
			return nil, err
		}
		return v.keys.loadOrStore(id, k), nil
	}
	return nil, errNoDataKey
}

// createDataKey makes a fresh data key version, wraps it under the newest
// master key and inserts it. ErrConflict (from the store) if the version
// exists already. The keyring is reloaded first so that a key created just
// after another process added a master key version is wrapped under it.
func (v *Vault) createDataKey(ctx context.Context, accountID, purpose string, version int) (*dataKey, error) {
	ring, err := v.Reload()
	if err != nil {
		return nil, err
	}
	raw := newKey()
	kek := ring.Newest()
	sk := &payment.DataKey{
		AccountID:  accountID,
		Purpose:    purpose,
		Version:    version,
		KEKVersion: kek,
		Wrapped:    wrap(ring, kek, accountID, purpose, version, raw),
		CreatedAt:  v.now().UTC(),
	}
	if err := v.store.CreateDataKey(ctx, sk); err != nil {
		clear(raw)
		return nil, fmt.Errorf("vault: create data key %s/%s v%d: %w", accountID, purpose, version, err)
	}
	k, err := newDataKey(purpose, version, raw)
	if err != nil {
		return nil, err
	}
	return v.keys.loadOrStore(dekID{accountID, purpose, version}, k), nil
}

// newDataKey builds the in-memory key for purpose. raw is kept only by MAC
// keys; sealing keys clear it once the cipher holds its schedule.
func newDataKey(purpose string, version int, raw []byte) (*dataKey, error) {
	if macPurpose(purpose) {
		return &dataKey{version: version, mac: raw}, nil
	}
	aead, err := newAEAD(raw)
	clear(raw)
	if err != nil {
		return nil, err
	}
	return &dataKey{version: version, aead: aead}, nil
}

// wrap seals a data key under KEK version kek of ring:
// formatWrap ‖ nonce ‖ sealed key ‖ tag.
func wrap(ring *Keyring, kek int, accountID, purpose string, version int, raw []byte) []byte {
	out := make([]byte, 1, 1+len(raw)+gcmOverhead)
	out[0] = formatWrap
	return ring.keks[kek].Seal(out, nil, raw, wrapAD(accountID, purpose, version, kek))
}

// Verify checks that the master key opens the data keys the store holds
// (a sample of them): a kassa started with another master key than its
// database was made with must refuse to start, not answer every card and
// credential call with an error. It returns ErrUnknownKEK or ErrBadDataKey
// naming the first key that does not open, or nil (also for a store that
// holds no keys yet).
func (v *Vault) Verify(ctx context.Context) error {
	keys, err := v.store.SomeDataKeys(ctx, 16)
	if err != nil {
		return fmt.Errorf("vault: read data keys: %w", err)
	}
	ring := v.ring.Load()
	for _, k := range keys {
		if ring.keks[k.KEKVersion] == nil {
			if ring, err = v.Reload(); err != nil {
				return err
			}
		}
		if _, err := unwrap(ring, k); err != nil {
			return err
		}
	}
	return nil
}

// unwrap opens a stored data key with ring.
func unwrap(ring *Keyring, k *payment.DataKey) ([]byte, error) {
	aead, ok := ring.keks[k.KEKVersion]
	if !ok {
		return nil, fmt.Errorf("%w: data key %s/%s v%d is wrapped under master key version %d; the keyring holds versions %v",
			ErrUnknownKEK, k.AccountID, k.Purpose, k.Version, k.KEKVersion, ring.versions)
	}
	if len(k.Wrapped) != 1+KeySize+gcmOverhead || k.Wrapped[0] != formatWrap {
		return nil, fmt.Errorf("%w: data key %s/%s v%d is malformed", ErrBadDataKey, k.AccountID, k.Purpose, k.Version)
	}
	raw, err := aead.Open(nil, nil, k.Wrapped[1:], wrapAD(k.AccountID, k.Purpose, k.Version, k.KEKVersion))
	if err != nil {
		return nil, fmt.Errorf("%w: data key %s/%s v%d, master key version %d", ErrBadDataKey, k.AccountID, k.Purpose, k.Version, k.KEKVersion)
	}
	return raw, nil
}

// sealAD is a ciphertext's additional data:
// formatSeal ‖ len‖account ‖ len‖purpose ‖ len‖record ‖ DEK version.
func sealAD(accountID, purpose, record string, version int) []byte {
	b := make([]byte, 0, 1+3*4+len(accountID)+len(purpose)+len(record)+4)
	b = append(b, formatSeal)
	b = appendField(b, accountID)
	b = appendField(b, purpose)
	b = appendField(b, record)
	return binary.BigEndian.AppendUint32(b, uint32(version))
}

// wrapAD is a wrapped data key's additional data:
// formatWrap ‖ len‖account ‖ len‖purpose ‖ DEK version ‖ KEK version.
func wrapAD(accountID, purpose string, version, kek int) []byte {
	b := make([]byte, 0, 1+2*4+len(accountID)+len(purpose)+2*4)
	b = append(b, formatWrap)
	b = appendField(b, accountID)
	b = appendField(b, purpose)
	b = binary.BigEndian.AppendUint32(b, uint32(version))
	return binary.BigEndian.AppendUint32(b, uint32(kek))
}

func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func macPurpose(purpose string) bool {
	return purpose == payment.PurposeFingerprint || purpose == payment.PurposeRequestHash
}

func checkSealArgs(accountID, purpose, record string) error {
	if err := checkPurpose(accountID, purpose); err != nil {
		return err
	}
	if record == "" {
		return errors.New("vault: empty record id")
	}
	return nil
}

// checkPurpose accepts a sealing purpose of an account.
func checkPurpose(accountID, purpose string) error {
	switch {
	case accountID == "":
		return errors.New("vault: empty account id")
	case purpose == "":
		return errors.New("vault: empty purpose")
	case macPurpose(purpose):
		return fmt.Errorf("vault: purpose %q keys MACs only: it never seals and is never rotated, so its MACs stay stable", purpose)
	}
	return nil
}
