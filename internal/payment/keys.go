package payment

import (
	"context"
	"errors"
)

// KeyDeriver is the optional capability of a Vault to derive keys from its
// master key ring. A derived key is never stored: every process holding the
// same master keys derives the same key, so what one process signs another
// verifies, and a master key version dropped from the ring takes its derived
// keys with it.
type KeyDeriver interface {
	// DerivedKey returns the 32-byte key for label derived from master key
	// version version, or from the newest version when version is 0, and
	// the version it used. It returns an error matching
	// ErrUnknownKeyVersion when the ring does not hold that version.
	DerivedKey(ctx context.Context, label string, version int) (key []byte, used int, err error)
}

// ErrUnknownKeyVersion: a master key version the key ring does not hold.
var ErrUnknownKeyVersion = errors.New("payment: master key version not in the key ring")

// LabelAccessToken labels the key that signs the Dintero dialect's access
// tokens (HS256 JWTs).
const LabelAccessToken = "kassa access token hs256 v1"

// LabelLoginBudget labels the key of the HMAC that names the dashboard's
// sign-in budgets in the store (an email or a client address is never
// stored).
const LabelLoginBudget = "kassa dashboard sign-in budget v1"

// DinteroAccountID is the account id {aid} of the Dintero dialect's paths:
// the kassa account id itself, which already has Dintero's form
// ^[PT]\d{8}$ (P live, T test) and never changes.
func DinteroAccountID(accountID string) string { return accountID }
