package engine

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// NewAccount is a created account with its first keys, shown once.
type NewAccount struct {
	Account        *payment.Account
	SecretKey      string
	PublishableKey string
}

// CreateAccount makes an account with one secret and one publishable key.
func (e *Engine) CreateAccount(ctx context.Context, name string, live bool) (*NewAccount, error) {
	na, _, err := e.createAccount(ctx, name, live, func(a *payment.Account, keys []*payment.APIKey) (bool, error) {
		return true, e.store.CreateAccount(ctx, a, keys)
	})
	return na, err
}

// CreateFirstAccount creates a test-mode account when the database has no
// account; created is false when it has one. Of processes starting at once
// on an empty database, one creates it.
func (e *Engine) CreateFirstAccount(ctx context.Context, name string) (na *NewAccount, created bool, err error) {
	return e.createAccount(ctx, name, false, func(a *payment.Account, keys []*payment.APIKey) (bool, error) {
		return e.store.CreateFirstAccount(ctx, a, keys)
	})
}

func (e *Engine) createAccount(ctx context.Context, name string, live bool,
	insert func(*payment.Account, []*payment.APIKey) (bool, error)) (*NewAccount, bool, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, false, payment.Missing("name")
	}
	if err := checkText("name", name, maxNameLen); err != nil {
		return nil, false, err
	}
	now := e.clock()
	for attempt := 0; ; attempt++ {
		a := &payment.Account{ID: payment.NewAccountID(live), Name: name, Live: live, CreatedAt: now}
		sk, skRow := newAPIKey(a, payment.KeySecret, now)
		pk, pkRow := newAPIKey(a, payment.KeyPublishable, now)
		created, err := insert(a, []*payment.APIKey{skRow, pkRow})
		if errors.Is(err, payment.ErrConflict) && attempt < 10 {
			continue // an account id or key prefix collided; draw again
		}
		if err != nil {
			return nil, false, fmt.Errorf("create account: %w", err)
		}
		if !created {
			return nil, false, nil
		}
		return &NewAccount{Account: a, SecretKey: sk, PublishableKey: pk}, true, nil
	}
}

// Account returns the account id.
func (e *Engine) Account(ctx context.Context, id string) (*payment.Account, error) {
	return e.store.Account(ctx, id)
}

// CountAccounts reports how many accounts exist.
func (e *Engine) CountAccounts(ctx context.Context) (int, error) {
	return e.store.CountAccounts(ctx)
}

// keySecretLen is the number of random characters after a key's mode prefix.
const keySecretLen = 32

// newAPIKey draws a key of kind for a and returns it with its stored row.
func newAPIKey(a *payment.Account, kind payment.KeyKind, now time.Time) (string, *payment.APIKey) {
	p := "sk_"
	if kind == payment.KeyPublishable {
		p = "pk_"
	}
	if a.Live {
		p += "live_"
	} else {
		p += "test_"
	}
	key := p + payment.RandomString(keySecretLen)
	sum := sha256.Sum256([]byte(key))
	digest := sha256.Sum256([]byte(KeyDigest(key)))
	return key, &payment.APIKey{
		ID:         payment.NewID(payment.PrefixAPIKey),
		AccountID:  a.ID,
		Kind:       kind,
		Prefix:     key[:payment.KeyPrefixLen],
		Hash:       sum[:],
		DigestHash: digest[:],
		CreatedAt:  now,
	}
}

// KeyDigest is what the official IXOPAY client sends as its Basic
// password instead of the password itself: the hex SHA-1 of the hex SHA-1
// of …, ten rounds, of the key. kassa keeps only its SHA-256
// (APIKey.DigestHash), made when the key is.
func KeyDigest(key string) string {
	h := key
	for range 10 {
		sum := sha1.Sum([]byte(h))
		h = hex.EncodeToString(sum[:])
	}
	return h
}

// AuthenticateDigest returns who holds the secret key of accountID whose
// KeyDigest is digest: the IXOPAY client's form of Basic authentication,
// where the user names the account. Every failure is the same
// KindUnauthenticated error. Keys made before kassa kept digests cannot
// be used this way (roll them).
func (e *Engine) AuthenticateDigest(ctx context.Context, accountID, digest string) (*payment.Principal, error) {
	if !payment.ValidAccountID(accountID) || len(digest) != 40 {
		return nil, errBadKey
	}
	keys, err := e.store.APIKeys(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	sum := sha256.Sum256([]byte(strings.ToLower(digest)))
	now := e.now()
	var found *payment.APIKey
	for _, k := range keys {
		// Every key is compared, so the time taken says nothing of which.
		if len(k.DigestHash) == len(sum) && subtle.ConstantTimeCompare(sum[:], k.DigestHash) == 1 &&
			k.Kind == payment.KeySecret && k.Active(now) {
			found = k
		}
	}
	if found == nil {
		return nil, errBadKey
	}
	a, err := e.store.Account(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("authenticate: account of key %s: %w", found.ID, err)
	}
	e.noteKeyUse(found, now)
	return &payment.Principal{Account: a, Key: found}, nil
}

var errBadKey = &payment.Error{Kind: payment.KindUnauthenticated, Code: payment.CodeInvalidAPIKey,
	Message: "Invalid API key provided."}

// Authenticate returns who holds key. Every failure is the same
// KindUnauthenticated error, which never repeats the key.
func (e *Engine) Authenticate(ctx context.Context, key string) (*payment.Principal, error) {
	kind, live, ok := parseKeyShape(key)
	if !ok {
		return nil, errBadKey
	}
	now := e.now()
	ent, found, err := e.keyByPrefix(ctx, key[:payment.KeyPrefixLen], now)
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if !found {
		return nil, errBadKey
	}
	k, a := ent.key, ent.account
	sum := sha256.Sum256([]byte(key))
	if subtle.ConstantTimeCompare(sum[:], k.Hash) != 1 || k.Kind != kind || !k.Active(now) || a.Live != live {
		return nil, errBadKey
	}
	e.noteKeyUse(k, now)
	return &payment.Principal{Account: a, Key: k}, nil
}

// keyByPrefix reads the key with prefix and its account through the
// hot-read cache (ADR 0010); found is false when there is no such key.
func (e *Engine) keyByPrefix(ctx context.Context, prefix string, now time.Time) (ent keyEntry, found bool, err error) {
	if ent, ok := e.keys.get(prefix, now); ok {
		return ent, true, nil
	}
	k, err := e.store.APIKeyByPrefix(ctx, prefix)
	if errors.Is(err, payment.ErrNotFound) {
		return keyEntry{}, false, nil
	}
	if err != nil {
		return keyEntry{}, false, err
	}
	a, err := e.store.Account(ctx, k.AccountID)
	if err != nil {
		return keyEntry{}, false, fmt.Errorf("account of key %s: %w", k.ID, err)
	}
	ent = keyEntry{key: k, account: a}
	e.keys.put(prefix, ent, now)
	return ent, true, nil
}

// parseKeyShape checks a key's form and reads its kind and mode from it.
func parseKeyShape(key string) (payment.KeyKind, bool, bool) {
	var kind payment.KeyKind
	switch {
	case strings.HasPrefix(key, "sk_"):
		kind = payment.KeySecret
	case strings.HasPrefix(key, "pk_"):
		kind = payment.KeyPublishable
	default:
		return "", false, false
	}
	var live bool
	switch key[3:8] {
	case "live_":
		live = true
	case "test_":
	default:
		return "", false, false
	}
	rest := key[8:]
	if len(rest) != keySecretLen {
		return "", false, false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return "", false, false
		}
	}
	return kind, live, true
}

// APIKeys lists the account's keys (never their secrets).
func (e *Engine) APIKeys(ctx context.Context, accountID string) ([]*payment.APIKey, error) {
	return e.store.APIKeys(ctx, accountID)
}

// Event types of API keys and members: who made, rolled or revoked a key,
// who added or removed a member (the audit trail of the dashboard's keys
// and users page).
const (
	EventAPIKeyCreated = "api_key.created"
	EventAPIKeyRolled  = "api_key.rolled"
	EventAPIKeyRevoked = "api_key.revoked"
	EventMemberAdded   = "member.added"
	EventMemberRemoved = "member.removed"
)

// keyEvent is the event of typ about k, acted by p. Its data is the key
// as listed: never its secret.
func keyEvent(p *payment.Principal, typ string, k *payment.APIKey, now time.Time) *payment.Event {
	return causedBy(p, newEvent(k.AccountID, typ, k.ID, APIKeyObjectOf(k, ""), now))
}

// CreateAPIKey adds a key of kind to p's account and returns it with its
// secret, which is never shown again. Its event names p as the actor.
func (e *Engine) CreateAPIKey(ctx context.Context, p *payment.Principal, kind payment.KeyKind) (*payment.APIKey, string, error) {
	if kind != payment.KeySecret && kind != payment.KeyPublishable {
		return nil, "", payment.Invalid(payment.CodeParameterInvalid, "type", "The key type must be 'secret' or 'publishable'.")
	}
	for attempt := 0; ; attempt++ {
		now := e.clock()
		plain, k := newAPIKey(p.Account, kind, now)
		err := e.store.CreateAPIKey(ctx, k, keyEvent(p, EventAPIKeyCreated, k, now))
		if errors.Is(err, payment.ErrConflict) && attempt < 10 {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("create api key: %w", err)
		}
		return k, plain, nil
	}
}

// MaxKeyGrace bounds how long a rolled key may stay valid.
const MaxKeyGrace = 7 * 24 * time.Hour

// RollAPIKey replaces the key id of p's account by a new key of the same
// kind. The old key stays valid for grace (0: revoked at once).
func (e *Engine) RollAPIKey(ctx context.Context, p *payment.Principal, id string, grace time.Duration) (*payment.APIKey, string, error) {
	if grace < 0 || grace > MaxKeyGrace {
		return nil, "", payment.Invalid(payment.CodeParameterInvalid, "expires_in",
			"expires_in must be between 0 and %d seconds.", int(MaxKeyGrace/time.Second))
	}
	a := p.Account
	keys, err := e.store.APIKeys(ctx, a.ID)
	if err != nil {
		return nil, "", fmt.Errorf("roll api key: %w", err)
	}
	now := e.clock()
	var old *payment.APIKey
	for _, k := range keys {
		if k.ID == id && k.Active(now) {
			old = k
		}
	}
	if old == nil {
		return nil, "", payment.NotFound("api_key", id)
	}
	// Rolling a key already in its grace period never extends that period.
	expires := now.Add(grace)
	if old.ExpiresAt != nil && old.ExpiresAt.Before(expires) {
		expires = *old.ExpiresAt
	}
	retired := *old
	if expires.After(now) {
		retired.ExpiresAt = &expires
	} else {
		retired.RevokedAt = &now
	}
	for attempt := 0; ; attempt++ {
		plain, k := newAPIKey(a, old.Kind, now)
		evs := []*payment.Event{keyEvent(p, EventAPIKeyCreated, k, now), keyEvent(p, EventAPIKeyRolled, &retired, now)}
		err := e.store.RollAPIKey(ctx, a.ID, old.ID, k, expires, now, evs)
		if errors.Is(err, payment.ErrConflict) && attempt < 10 {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		e.keys.drop(old.Prefix) // its new expiry holds here at once
		return k, plain, nil
	}
}

// RevokeAPIKey revokes the key id of p's account at once.
func (e *Engine) RevokeAPIKey(ctx context.Context, p *payment.Principal, id string) (*payment.APIKey, error) {
	now := e.clock()
	k, err := e.store.RevokeAPIKey(ctx, p.Account.ID, id, now, func(k *payment.APIKey) *payment.Event {
		return keyEvent(p, EventAPIKeyRevoked, k, now)
	})
	if err == nil {
		e.keys.drop(k.Prefix) // stops working here at once
	}
	return k, err
}
