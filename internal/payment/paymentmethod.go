package payment

import "time"

// StorageState is where a payment method is in its life.
type StorageState string

const (
	// StorageCached: created, usable, not yet kept for the long term. Entered
	// on creation without "retain"; left by retain, redact, or the cache TTL
	// (which redacts it).
	StorageCached StorageState = "cached"
	// StorageRetained: kept until redacted. Entered by retain (or creation
	// with "retain": true); left only by redact.
	StorageRetained StorageState = "retained"
	// StorageRedacted: the PAN and CVC ciphertexts are destroyed; the record
	// stays for history. Final.
	StorageRedacted StorageState = "redacted"
)

// PaymentMethodTypeCard is the only payment method type so far.
const PaymentMethodTypeCard = "card"

// Card is the non-secret part of a vaulted card.
type Card struct {
	Brand       string
	First6      string
	Last4       string
	ExpMonth    int
	ExpYear     int
	HolderName  string
	Fingerprint string
}

// Address is a billing address. Country is ISO 3166-1 alpha-2.
type Address struct {
	Line1      string
	Line2      string
	City       string
	PostalCode string
	State      string
	Country    string
}

// PaymentMethod is a vaulted instrument.
type PaymentMethod struct {
	ID           string // pm_…
	AccountID    string
	Type         string
	Card         Card
	Billing      Address
	Email        string
	Metadata     map[string]string
	StorageState StorageState
	// CustomerID is the customer the payment method belongs to, or empty.
	// It never changes: deleting the customer redacts the payment method.
	CustomerID string
	Test       bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
	RedactedAt *time.Time

	// PANSealed is the vault ciphertext of the card number, nil once
	// redacted.
	PANSealed []byte
	// CVCSealed is the vault ciphertext of the CVC, nil once used by an
	// authorization attempt, expired, or redacted. CVCExpiresAt says when
	// it stops being usable.
	CVCSealed    []byte
	CVCExpiresAt *time.Time
}

// Vault purposes: each account has separate data keys per purpose, and a
// purpose is bound into every ciphertext's additional data.
const (
	PurposeCard        = "card"
	PurposeCredentials = "gateway_credentials"
	// PurposeFingerprint keys the HMAC of card numbers; never rotated, so
	// fingerprints stay stable.
	PurposeFingerprint = "fingerprint"
	// PurposeRequestHash keys the HMAC of idempotent request bodies, which
	// may hold card numbers.
	PurposeRequestHash = "request_hash"
)
