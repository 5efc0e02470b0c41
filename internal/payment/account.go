package payment

import "time"

// Account is a tenant: one merchant. Every other object belongs to exactly
// one account and is only ever looked up within it.
type Account struct {
	ID        string // T/P + 8 digits
	Name      string
	Live      bool
	CreatedAt time.Time
	// CheckoutEmbedOrigins are the origins ("https://shop.example") whose
	// pages may frame the account's hosted checkout page; none by default.
	CheckoutEmbedOrigins []string
}

// KeyKind is the scope of an API key.
type KeyKind string

const (
	// KeySecret may call every endpoint of its account.
	KeySecret KeyKind = "secret"
	// KeyPublishable may only tokenize cards and pay checkout sessions; it
	// is meant to sit in a browser.
	KeyPublishable KeyKind = "publishable"
)

// APIKey is a stored API credential. The key itself is shown once at
// creation and never stored: only its SHA-256 is.
//
// A key reads "sk_test_" / "sk_live_" / "pk_test_" / "pk_live_" followed by
// 32 base62 characters. Prefix is the first 16 characters (mode prefix plus
// 8 random characters): unique, used to find the row, and the only part ever
// listed. Hash is SHA-256 of the whole key, compared in constant time.
type APIKey struct {
	ID        string // key_…
	AccountID string
	Kind      KeyKind
	Prefix    string
	Hash      []byte
	// DigestHash is SHA-256 of the key's client digest (see KeyDigest):
	// what the official IXOPAY client sends as its password. Nil for keys
	// made before kassa kept it.
	DigestHash []byte
	CreatedAt  time.Time
	// ExpiresAt is set on a rolled key that stays valid for a grace period.
	ExpiresAt *time.Time
	RevokedAt *time.Time
	// LastUsedAt is when the key last authenticated a request, as far as
	// kassa wrote it down: each process records a key's use at most once
	// a minute, off the request's path, so the key may have been used up
	// to a minute later. Nil for a key never used.
	LastUsedAt *time.Time
}

// Active reports whether the key may authenticate at now.
func (k *APIKey) Active(now time.Time) bool {
	if k.RevokedAt != nil {
		return false
	}
	return k.ExpiresAt == nil || now.Before(*k.ExpiresAt)
}

// KeyPrefixLen is the length of APIKey.Prefix.
const KeyPrefixLen = 16

// Principal is who is calling: an account through one of its keys, or a
// dashboard user signed in to one of its memberships (Key nil, User set).
type Principal struct {
	Account *Account
	Key     *APIKey
	// User is the dashboard user acting, when it is one.
	User *User
}

// Actor names who acted, for the audit trail of events and objects:
// "user:<id>" for a dashboard user, the API key's id for a key, "" for
// kassa itself.
func (p Principal) Actor() string {
	switch {
	case p.User != nil:
		return "user:" + p.User.ID
	case p.Key != nil:
		return p.Key.ID
	}
	return ""
}
