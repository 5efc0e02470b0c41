package client

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// StorageState is where a payment method is in its life.
type StorageState string

const (
	// StorageCached: created without Retain; usable for a while, then
	// redacted by the server unless retained first.
	StorageCached StorageState = "cached"
	// StorageRetained: kept until redacted. Entered by RetainPaymentMethod
	// or by creating with Retain.
	StorageRetained StorageState = "retained"
	// StorageRedacted: the card number and CVC are destroyed; the record
	// stays for history. Final.
	StorageRedacted StorageState = "redacted"
)

// PaymentMethodTypeCard is the type of a card payment method, so far the
// only one.
const PaymentMethodTypeCard = "card"

// PaymentMethod is a vaulted payment instrument. It never holds the card
// number or CVC.
type PaymentMethod struct {
	ID     string `json:"id"`
	Object string `json:"object"` // "payment_method"
	Type   string `json:"type"`
	Card   Card   `json:"card"`
	// BillingAddress is nil when none was given.
	BillingAddress *Address `json:"billing_address"`
	// Email is empty when none was given.
	Email        string            `json:"email"`
	StorageState StorageState      `json:"storage_state"`
	Test         bool              `json:"test"`
	Metadata     map[string]string `json:"metadata"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
	RedactedAt   *time.Time        `json:"redacted_at"`
}

// Card is the visible part of a vaulted card.
type Card struct {
	Brand       string `json:"brand"`
	First6      string `json:"first6"`
	Last4       string `json:"last4"`
	ExpMonth    int    `json:"exp_month"`
	ExpYear     int    `json:"exp_year"`
	HolderName  string `json:"holder_name"`
	Fingerprint string `json:"fingerprint"`
}

// Address is a billing address. Country is ISO 3166-1 alpha-2. Empty fields
// are left out of requests.
type Address struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	State      string `json:"state,omitempty"`
	Country    string `json:"country,omitempty"`
}

// APIKeyType is the scope of an API key.
type APIKeyType string

const (
	// APIKeySecret may call every endpoint of its account.
	APIKeySecret APIKeyType = "secret"
	// APIKeyPublishable may only tokenize cards and pay checkout sessions;
	// it is meant to sit in a browser.
	APIKeyPublishable APIKeyType = "publishable"
)

// APIKey is an API key of the account. Secret is set only in the answer to
// CreateAPIKey and RollAPIKey, and is never shown again; fmt and log/slog
// print the key without it.
type APIKey struct {
	ID     string     `json:"id"`
	Object string     `json:"object"` // "api_key"
	Type   APIKeyType `json:"type"`
	// Prefix is the first 16 characters of the key: enough to tell keys
	// apart, not to use one.
	Prefix    string    `json:"prefix"`
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is set on a rolled key that stays valid for a grace period.
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// String describes k without its secret.
func (k APIKey) String() string {
	s := "api_key " + k.ID + " (" + string(k.Type) + ", " + k.Prefix + "…"
	if k.Secret != "" {
		s += ", secret redacted"
	}
	return s + ")"
}

// Format prints String for every verb, so no verb (%#v, %+v, %d…) can print
// the secret.
func (k APIKey) Format(f fmt.State, verb rune) { formatRedacted(f, verb, k.String()) }

// LogValue logs k without its secret.
func (k APIKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", k.ID), slog.String("type", string(k.Type)),
		slog.String("prefix", k.Prefix))
}

// formatRedacted writes s for verb: quoted for %q, as it is otherwise.
func formatRedacted(f fmt.State, verb rune, s string) {
	if verb == 'q' {
		s = strconv.Quote(s)
	}
	_, _ = f.Write([]byte(s))
}

// Event types.
const (
	EventPaymentMethodCreated  = "payment_method.created"
	EventPaymentMethodUpdated  = "payment_method.updated"
	EventPaymentMethodRetained = "payment_method.retained"
	EventPaymentMethodRedacted = "payment_method.redacted"
)

// Event records a change of one object. Data is the object as it was after
// the change, in the same JSON form the API returns it in.
type Event struct {
	ID        string          `json:"id"`
	Object    string          `json:"object"` // "event"
	Type      string          `json:"type"`
	ObjectID  string          `json:"object_id"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
}

// PaymentMethod decodes the payment method a payment_method.* event carries.
func (e *Event) PaymentMethod() (*PaymentMethod, error) {
	if !strings.HasPrefix(e.Type, "payment_method.") {
		return nil, fmt.Errorf("kassa: event %s of type %q carries no payment method", e.ID, e.Type)
	}
	var pm PaymentMethod
	if err := json.Unmarshal(e.Data, &pm); err != nil {
		return nil, fmt.Errorf("kassa: event %s: decode payment method: %w", e.ID, err)
	}
	return &pm, nil
}

// Account is the merchant account an API key belongs to.
type Account struct {
	ID        string    `json:"id"`
	Object    string    `json:"object"` // "account"
	Name      string    `json:"name"`
	Live      bool      `json:"live"`
	CreatedAt time.Time `json:"created_at"`
}

// List is one page of a list endpoint, newest first. When HasMore is set,
// the next page starts after the last item of Data.
type List[T any] struct {
	Object  string `json:"object"` // "list"
	Data    []T    `json:"data"`
	HasMore bool   `json:"has_more"`
	URL     string `json:"url"`
}

// Pages of the list endpoints.
type (
	PaymentMethodList = List[*PaymentMethod]
	APIKeyList        = List[*APIKey]
	EventList         = List[*Event]
)
