package engine

import (
	"encoding/json"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// The objects below are kassa's canonical JSON form of its domain objects: the
// native API renders them, and events carry them. They hold no secrets by
// construction: there is no field a card number or CVC could go in.

// PaymentMethodObject is a payment method as the native API shows it.
type PaymentMethodObject struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	Type           string            `json:"type"`
	Card           CardObject        `json:"card"`
	BillingAddress *AddressObject    `json:"billing_address"`
	Email          *string           `json:"email"`
	StorageState   string            `json:"storage_state"`
	Test           bool              `json:"test"`
	Metadata       map[string]string `json:"metadata"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	RedactedAt     *time.Time        `json:"redacted_at"`
}

// CardObject is the visible part of a vaulted card.
type CardObject struct {
	Brand       string `json:"brand"`
	First6      string `json:"first6"`
	Last4       string `json:"last4"`
	ExpMonth    int    `json:"exp_month"`
	ExpYear     int    `json:"exp_year"`
	HolderName  string `json:"holder_name"`
	Fingerprint string `json:"fingerprint"`
}

// AddressObject is a billing address.
type AddressObject struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	State      string `json:"state"`
	Country    string `json:"country"`
}

// PaymentMethodObjectOf renders pm.
func PaymentMethodObjectOf(pm *payment.PaymentMethod) *PaymentMethodObject {
	o := &PaymentMethodObject{
		ID:     pm.ID,
		Object: "payment_method",
		Type:   pm.Type,
		Card: CardObject{
			Brand:       pm.Card.Brand,
			First6:      pm.Card.First6,
			Last4:       pm.Card.Last4,
			ExpMonth:    pm.Card.ExpMonth,
			ExpYear:     pm.Card.ExpYear,
			HolderName:  pm.Card.HolderName,
			Fingerprint: pm.Card.Fingerprint,
		},
		StorageState: string(pm.StorageState),
		Test:         pm.Test,
		Metadata:     pm.Metadata,
		CreatedAt:    pm.CreatedAt,
		UpdatedAt:    pm.UpdatedAt,
		RedactedAt:   pm.RedactedAt,
	}
	if o.Metadata == nil {
		o.Metadata = map[string]string{}
	}
	if pm.Billing != (payment.Address{}) {
		b := AddressObject(pm.Billing)
		o.BillingAddress = &b
	}
	if pm.Email != "" {
		email := pm.Email
		o.Email = &email
	}
	return o
}

// APIKeyObject is an API key as listed: its prefix, never its secret.
type APIKeyObject struct {
	ID        string     `json:"id"`
	Object    string     `json:"object"`
	Type      string     `json:"type"`
	Prefix    string     `json:"prefix"`
	Secret    string     `json:"secret,omitempty"` // only in the response that creates it
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// APIKeyObjectOf renders k; secret is the plain key, given only when the key
// was just made.
func APIKeyObjectOf(k *payment.APIKey, secret string) *APIKeyObject {
	return &APIKeyObject{ID: k.ID, Object: "api_key", Type: string(k.Kind), Prefix: k.Prefix,
		Secret: secret, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt}
}

// newEvent builds an event of typ about the object obj (rendered to JSON).
func newEvent(accountID, typ, objectID string, obj any, now time.Time) *payment.Event {
	data, err := json.Marshal(obj)
	if err != nil {
		// The objects above always marshal; a failure is a programming error.
		panic("engine: render event: " + err.Error())
	}
	return &payment.Event{ID: payment.NewID(payment.PrefixEvent), AccountID: accountID, Type: typ,
		ObjectID: objectID, Data: data, CreatedAt: now}
}

// EventObject is an event as the native API and webhooks show it.
type EventObject struct {
	ID        string          `json:"id"`
	Object    string          `json:"object"`
	Type      string          `json:"type"`
	ObjectID  string          `json:"object_id"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
}

// EventObjectOf renders ev.
func EventObjectOf(ev *payment.Event) *EventObject {
	return &EventObject{ID: ev.ID, Object: "event", Type: ev.Type, ObjectID: ev.ObjectID, Data: ev.Data, CreatedAt: ev.CreatedAt}
}
