package engine

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/routing"
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
	Customer       *string           `json:"customer"`
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
	o.Customer = nullable(pm.CustomerID)
	return o
}

// nullable is s, or nil (JSON null) when s is empty.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// CustomerObject is a customer as the native API shows it. Deleted is
// true only in the customer.deleted event: the API answers a deleted
// customer with 404.
type CustomerObject struct {
	ID                   string            `json:"id"`
	Object               string            `json:"object"`
	ExternalID           *string           `json:"external_id"`
	Email                *string           `json:"email"`
	Name                 *string           `json:"name"`
	Phone                *string           `json:"phone"`
	Metadata             map[string]string `json:"metadata"`
	DefaultPaymentMethod *string           `json:"default_payment_method"`
	Deleted              bool              `json:"deleted"`
	CreatedAt            time.Time         `json:"created_at"`
	UpdatedAt            time.Time         `json:"updated_at"`
}

// CustomerObjectOf renders c.
func CustomerObjectOf(c *payment.Customer) *CustomerObject {
	o := &CustomerObject{ID: c.ID, Object: "customer", ExternalID: nullable(c.ExternalID), Email: nullable(c.Email),
		Name: nullable(c.Name), Phone: nullable(c.Phone), Metadata: c.Metadata,
		DefaultPaymentMethod: nullable(c.DefaultPaymentMethodID), Deleted: c.DeletedAt != nil,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if o.Metadata == nil {
		o.Metadata = map[string]string{}
	}
	return o
}

// DeletedCustomerObject is the answer to a customer's deletion, as Stripe
// gives it.
type DeletedCustomerObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

// DeletedCustomerObjectOf renders the deletion of c.
func DeletedCustomerObjectOf(c *payment.Customer) *DeletedCustomerObject {
	return &DeletedCustomerObject{ID: c.ID, Object: "customer", Deleted: true}
}

// CustomerTokenObject is a customer's token as the native API shows it;
// a deleted one keeps being shown, with deleted_at and deleted_by.
type CustomerTokenObject struct {
	ID        string            `json:"id"`
	Object    string            `json:"object"`
	Customer  string            `json:"customer"`
	TokenID   string            `json:"token_id"`
	Type      string            `json:"type"`
	Value     string            `json:"value"`
	Metadata  map[string]string `json:"metadata"`
	CreatedAt time.Time         `json:"created_at"`
	CreatedBy string            `json:"created_by"`
	UpdatedAt time.Time         `json:"updated_at"`
	UpdatedBy string            `json:"updated_by"`
	DeletedAt *time.Time        `json:"deleted_at"`
	DeletedBy *string           `json:"deleted_by"`
}

// CustomerTokenObjectOf renders t.
func CustomerTokenObjectOf(t *payment.CustomerToken) *CustomerTokenObject {
	o := &CustomerTokenObject{ID: t.ID, Object: "customer_token", Customer: t.CustomerID, TokenID: t.TokenID, Type: t.Type,
		Value: t.Value, Metadata: t.Metadata, CreatedAt: t.CreatedAt, CreatedBy: t.CreatedBy, UpdatedAt: t.UpdatedAt,
		UpdatedBy: t.UpdatedBy, DeletedAt: t.DeletedAt, DeletedBy: nullable(t.DeletedBy)}
	if o.Metadata == nil {
		o.Metadata = map[string]string{}
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
	// LastUsedAt is when the key last authenticated a request, to the
	// minute (payment.APIKey.LastUsedAt); null if never.
	LastUsedAt *time.Time `json:"last_used_at"`
}

// APIKeyObjectOf renders k; secret is the plain key, given only when the key
// was just made.
func APIKeyObjectOf(k *payment.APIKey, secret string) *APIKeyObject {
	return &APIKeyObject{ID: k.ID, Object: "api_key", Type: string(k.Kind), Prefix: k.Prefix,
		Secret: secret, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt, LastUsedAt: k.LastUsedAt}
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

// GatewayObject is a gateway as the native API shows it. Sensitive
// credential values appear only masked.
type GatewayObject struct {
	ID                 string                  `json:"id"`
	Object             string                  `json:"object"`
	Type               string                  `json:"type"`
	Name               string                  `json:"name"`
	Description        string                  `json:"description"`
	State              string                  `json:"state"`
	Sandbox            bool                    `json:"sandbox"`
	Settings           map[string]any          `json:"settings"`
	MerchantProfileKey string                  `json:"merchant_profile_key"`
	SubMerchantKey     string                  `json:"sub_merchant_key"`
	DisabledOperations []payment.OperationKind `json:"disabled_operations"`
	Credentials        CredentialsObject       `json:"credentials"`
	Characteristics    []payment.OperationKind `json:"characteristics"`
	Health             routing.BreakerStatus   `json:"health"`
	CreatedAt          time.Time               `json:"created_at"`
	UpdatedAt          time.Time               `json:"updated_at"`
	RedactedAt         *time.Time              `json:"redacted_at"`
}

// CredentialsObject is the newest credential version, masked.
type CredentialsObject struct {
	Version int               `json:"version"`
	Fields  map[string]string `json:"fields"`
}

// GatewayObjectOf renders d.
func GatewayObjectOf(d *GatewayDetail) *GatewayObject {
	g := d.Gateway
	o := &GatewayObject{ID: g.ID, Object: "gateway", Type: g.Type, Name: d.Spec.DisplayName, Description: g.Description,
		State: string(g.State), Sandbox: g.Sandbox, Settings: g.Settings, MerchantProfileKey: g.MerchantProfileKey,
		SubMerchantKey: g.SubMerchantKey, DisabledOperations: g.DisabledOperations,
		Credentials:     CredentialsObject{Version: g.CredentialVersion, Fields: map[string]string{}},
		Characteristics: characteristics(d.Spec, g), Health: d.Health, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt, RedactedAt: g.RedactedAt}
	if o.Settings == nil {
		o.Settings = map[string]any{}
	}
	if o.DisabledOperations == nil {
		o.DisabledOperations = []payment.OperationKind{}
	}
	if d.Credentials != nil {
		for k, v := range d.Credentials.Public {
			o.Credentials.Fields[k] = v
		}
	}
	return o
}

// characteristics are the operations the gateway will run: its type's,
// less those disabled on it.
func characteristics(spec gateway.Spec, g *payment.Gateway) []payment.OperationKind {
	out := []payment.OperationKind{}
	for _, k := range spec.Operations {
		if !slices.Contains(g.DisabledOperations, k) {
			out = append(out, k)
		}
	}
	return out
}

// CredentialVersionObject is one entry of a gateway's credential history.
type CredentialVersionObject struct {
	Object      string    `json:"object"`
	Version     int       `json:"version"`
	Description string    `json:"description"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	Destroyed   bool      `json:"destroyed"`
}

// CredentialVersionObjectOf renders cv without any value.
func CredentialVersionObjectOf(cv *payment.CredentialVersion) *CredentialVersionObject {
	return &CredentialVersionObject{Object: "credential_version", Version: cv.Version, Description: cv.Description,
		CreatedBy: cv.CreatedBy, CreatedAt: cv.CreatedAt, Destroyed: cv.Sealed == nil}
}

// PaymentObject is a payment as the native API shows it.
type PaymentObject struct {
	ID                string                  `json:"id"`
	Object            string                  `json:"object"`
	Status            payment.Status          `json:"status"`
	Amount            int64                   `json:"amount"`
	Currency          string                  `json:"currency"`
	AmountAuthorized  int64                   `json:"amount_authorized"`
	AmountCaptured    int64                   `json:"amount_captured"`
	AmountRefunded    int64                   `json:"amount_refunded"`
	Capture           bool                    `json:"capture"`
	Gateway           string                  `json:"gateway"`
	CredentialVersion int                     `json:"credential_version"`
	Router            *string                 `json:"router"`
	RoutingTrace      json.RawMessage         `json:"routing_trace"`
	PaymentMethod     string                  `json:"payment_method"`
	Customer          *string                 `json:"customer"`
	Reference         string                  `json:"reference"`
	Description       string                  `json:"description"`
	Metadata          map[string]string       `json:"metadata"`
	StoredCredential  *StoredCredentialObject `json:"stored_credential"`
	RequiresReview    bool                    `json:"requires_review"`
	Test              bool                    `json:"test"`
	Operations        []*OperationObject      `json:"operations"`
	// Operation is the operation the request made, on the answers to
	// capture, void and refund: operations made concurrently by other
	// requests are in Operations too.
	Operation *OperationObject `json:"operation,omitempty"`
	CreatedAt time.Time        `json:"created_at"`
	UpdatedAt time.Time        `json:"updated_at"`
}

// StoredCredentialObject says who started a payment on a stored card, and
// why.
type StoredCredentialObject struct {
	Initiator string `json:"initiator"`
	Reason    string `json:"reason"`
}

// OperationObject is one operation of a payment (or a verification).
type OperationObject struct {
	ID                   string                `json:"id"`
	Object               string                `json:"object"`
	Kind                 payment.OperationKind `json:"kind"`
	Amount               int64                 `json:"amount"`
	Currency             string                `json:"currency"`
	Outcome              payment.Outcome       `json:"outcome"`
	DeclineCode          string                `json:"decline_code"`
	GatewayReference     string                `json:"gateway_reference"`
	ResponseCode         string                `json:"response_code"`
	Message              string                `json:"message"`
	AVSCode              string                `json:"avs_code"`
	CVVCode              string                `json:"cvv_code"`
	NetworkTransactionID string                `json:"network_transaction_id"`
	Gateway              string                `json:"gateway"`
	CredentialVersion    int                   `json:"credential_version"`
	PaymentMethod        string                `json:"payment_method"`
	Payment              *string               `json:"payment"`
	CreatedAt            time.Time             `json:"created_at"`
	UpdatedAt            time.Time             `json:"updated_at"`
}

// PaymentObjectOf renders p with its operations.
func PaymentObjectOf(p *payment.Payment) *PaymentObject {
	o := &PaymentObject{ID: p.ID, Object: "payment", Status: p.Status, Amount: p.Amount, Currency: p.Currency,
		AmountAuthorized: p.AmountAuthorized, AmountCaptured: p.AmountCaptured, AmountRefunded: p.AmountRefunded,
		Capture: p.Capture, Gateway: p.GatewayID, CredentialVersion: p.CredentialVersion, PaymentMethod: p.PaymentMethodID,
		Reference: p.Reference, Description: p.Description, Metadata: p.Metadata, StoredCredential: (*StoredCredentialObject)(p.StoredCredential),
		Customer: nullable(p.CustomerID), RequiresReview: p.RequiresReview, Test: p.Test, Operations: make([]*OperationObject, len(p.Operations)),
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	if o.Metadata == nil {
		o.Metadata = map[string]string{}
	}
	if p.RouterID != "" {
		r := p.RouterID
		o.Router = &r
	}
	if len(p.RoutingTrace) > 0 {
		o.RoutingTrace = json.RawMessage(p.RoutingTrace)
	} else {
		o.RoutingTrace = json.RawMessage("null")
	}
	for i, op := range p.Operations {
		o.Operations[i] = OperationObjectOf(op)
	}
	return o
}

// OperationObjectOf renders op.
func OperationObjectOf(op *payment.Operation) *OperationObject {
	o := &OperationObject{ID: op.ID, Object: "operation", Kind: op.Kind, Amount: op.Amount, Currency: op.Currency,
		Outcome: op.Outcome, DeclineCode: op.DeclineCode, GatewayReference: op.GatewayReference,
		ResponseCode: op.ResponseCode, Message: op.Message, AVSCode: op.AVSCode, CVVCode: op.CVVCode,
		NetworkTransactionID: op.NetworkTransactionID, Gateway: op.GatewayID, CredentialVersion: op.CredentialVersion,
		PaymentMethod: op.PaymentMethodID, CreatedAt: op.CreatedAt, UpdatedAt: op.UpdatedAt}
	if op.PaymentID != "" {
		id := op.PaymentID
		o.Payment = &id
	}
	return o
}
