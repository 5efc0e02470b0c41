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
	Email        string       `json:"email"`
	StorageState StorageState `json:"storage_state"`
	// Customer is the id of the customer the payment method belongs to,
	// empty when none.
	Customer   string            `json:"customer"`
	Test       bool              `json:"test"`
	Metadata   map[string]string `json:"metadata"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
	RedactedAt *time.Time        `json:"redacted_at"`
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
	// LastUsedAt is when the key last authenticated a request, to the
	// minute; nil if never.
	LastUsedAt *time.Time `json:"last_used_at"`
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

	EventCustomerCreated      = "customer.created"
	EventCustomerUpdated      = "customer.updated"
	EventCustomerDeleted      = "customer.deleted" // its Data has Deleted set
	EventCustomerTokenCreated = "customer.token_created"
	EventCustomerTokenDeleted = "customer.token_deleted"
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

// Customer decodes the customer a customer.created, customer.updated or
// customer.deleted event carries.
func (e *Event) Customer() (*Customer, error) {
	switch e.Type {
	case EventCustomerCreated, EventCustomerUpdated, EventCustomerDeleted:
	default:
		return nil, fmt.Errorf("kassa: event %s of type %q carries no customer", e.ID, e.Type)
	}
	var c Customer
	if err := json.Unmarshal(e.Data, &c); err != nil {
		return nil, fmt.Errorf("kassa: event %s: decode customer: %w", e.ID, err)
	}
	return &c, nil
}

// CustomerToken decodes the token a customer.token_created or
// customer.token_deleted event carries.
func (e *Event) CustomerToken() (*CustomerToken, error) {
	switch e.Type {
	case EventCustomerTokenCreated, EventCustomerTokenDeleted:
	default:
		return nil, fmt.Errorf("kassa: event %s of type %q carries no customer token", e.ID, e.Type)
	}
	var t CustomerToken
	if err := json.Unmarshal(e.Data, &t); err != nil {
		return nil, fmt.Errorf("kassa: event %s: decode customer token: %w", e.ID, err)
	}
	return &t, nil
}

// Account is the merchant account an API key belongs to.
type Account struct {
	ID     string `json:"id"`
	Object string `json:"object"` // "account"
	Name   string `json:"name"`
	Live   bool   `json:"live"`
	// IXOPAYMerchantGUID is the merchant guid of the IXOPAY dialect's
	// provisioning paths ("ME-" and the account id).
	IXOPAYMerchantGUID string `json:"ixopay_merchant_guid"`
	// DinteroAccountID is the {aid} of the Dintero dialect's paths (the
	// account id itself).
	DinteroAccountID string    `json:"dintero_account_id"`
	CreatedAt        time.Time `json:"created_at"`
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
	PaymentMethodList     = List[*PaymentMethod]
	APIKeyList            = List[*APIKey]
	EventList             = List[*Event]
	GatewayTypeList       = List[*GatewayType]
	GatewayList           = List[*Gateway]
	CredentialVersionList = List[*CredentialVersion]
	PaymentList           = List[*Payment]
	CustomerList          = List[*Customer]
	CustomerTokenList     = List[*CustomerToken]
)

// Operation kinds: what an operation asks of a gateway. A gateway type's
// Characteristics and a gateway's DisabledOperations are lists of them.
const (
	OperationAuthorize = "authorize"
	OperationPurchase  = "purchase"
	OperationCapture   = "capture"
	OperationVoid      = "void"
	OperationRefund    = "refund"
	OperationVerify    = "verify"
	OperationCredit    = "credit"
	OperationStore     = "store"
)

// Types of a GatewayField's value.
const (
	FieldTypeString  = "string"
	FieldTypeBoolean = "boolean"
	FieldTypeInteger = "integer"
)

// GatewayType is a kind of gateway the server offers: the fields a gateway
// of the type takes and the operations it can run.
type GatewayType struct {
	Object string `json:"object"` // "gateway_type"
	Type   string `json:"type"`
	Name   string `json:"name"`
	// CredentialFields are the secret fields of GatewayParams.Credentials.
	CredentialFields []GatewayField `json:"credential_fields"`
	// SettingsFields are the fields of GatewayParams.Settings.
	SettingsFields []GatewayField `json:"settings_fields"`
	// Characteristics are the operations (Operation…) the type can run.
	Characteristics    []string `json:"characteristics"`
	PaymentMethodTypes []string `json:"payment_method_types"`
	// GatewaySpecificFields are the fields PaymentParams.GatewaySpecificFields
	// may carry.
	GatewaySpecificFields []GatewayField `json:"gateway_specific_fields"`
	// Currencies the type accepts; empty means any the server knows.
	Currencies []string `json:"currencies"`
	// TestOnly types serve test accounts only.
	TestOnly bool `json:"test_only"`
	// Notifications: the provider reports outcomes asynchronously.
	Notifications bool `json:"notifications"`
}

// GatewayField describes one credential, setting or gateway-specific field.
type GatewayField struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	// Type is the JSON type of the value: FieldTypeString, FieldTypeBoolean
	// or FieldTypeInteger.
	Type     string `json:"type"`
	Required bool   `json:"required"`
	// Sensitive fields are sealed by the server, shown only masked and
	// scrubbed from transcripts.
	Sensitive bool `json:"sensitive"`
}

// GatewayState is whether a gateway still holds credentials.
type GatewayState string

const (
	// GatewayRetained: usable. Entered on creation, and by setting new
	// credentials on a redacted gateway.
	GatewayRetained GatewayState = "retained"
	// GatewayRedacted: every credential version is destroyed (by
	// RedactGateway); payments through it are refused until
	// SetGatewayCredentials makes it retained again.
	GatewayRedacted GatewayState = "redacted"
)

// Gateway is a configured connection to a payment service provider. Its
// credentials appear only masked.
type Gateway struct {
	ID     string `json:"id"`
	Object string `json:"object"` // "gateway"
	Type   string `json:"type"`
	// Name is the display name of the type.
	Name               string         `json:"name"`
	Description        string         `json:"description"`
	State              GatewayState   `json:"state"`
	Sandbox            bool           `json:"sandbox"`
	Settings           map[string]any `json:"settings"`
	MerchantProfileKey string         `json:"merchant_profile_key"`
	SubMerchantKey     string         `json:"sub_merchant_key"`
	DisabledOperations []string       `json:"disabled_operations"`
	// Credentials is the newest credential version, the one new payments
	// use.
	Credentials GatewayCredentials `json:"credentials"`
	// Characteristics are the operations the gateway runs: its type's, less
	// the disabled ones.
	Characteristics []string   `json:"characteristics"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	RedactedAt      *time.Time `json:"redacted_at"`
}

// GatewayCredentials is a gateway's newest credential version as the server
// shows it.
type GatewayCredentials struct {
	// Version is 0 before any credentials were set.
	Version int `json:"version"`
	// Fields holds each credential that is set, the sensitive ones masked
	// ("••••" and at most the last four characters).
	Fields map[string]string `json:"fields"`
}

// CredentialVersion is one entry of a gateway's credential history: who set
// the version and when, never its values.
type CredentialVersion struct {
	Object      string `json:"object"` // "credential_version"
	Version     int    `json:"version"`
	Description string `json:"description"`
	// CreatedBy is the id of the API key that set the version, or "cli".
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// Destroyed: the values are gone (the gateway was redacted).
	Destroyed bool `json:"destroyed"`
}

// PaymentStatus is a payment's state. The server derives it from the
// payment's amounts and the outcomes of its operations; it is never set.
type PaymentStatus string

const (
	// PaymentInitiated: created; its first operation is in flight.
	PaymentInitiated PaymentStatus = "INITIATED"
	// PaymentAuthorized: authorized, nothing captured yet. Left by a
	// capture, a void, or a follow-up whose outcome is unknown.
	PaymentAuthorized PaymentStatus = "AUTHORIZED"
	// PaymentPartiallyCaptured: part of the authorization captured; more
	// may be captured, and the captured part refunded.
	PaymentPartiallyCaptured PaymentStatus = "PARTIALLY_CAPTURED"
	// PaymentCaptured: all of the authorization captured, or a purchase.
	PaymentCaptured PaymentStatus = "CAPTURED"
	// PaymentPartiallyCapturedRefunded: partly captured, and part of that
	// refunded.
	PaymentPartiallyCapturedRefunded PaymentStatus = "PARTIALLY_CAPTURED_REFUNDED"
	// PaymentPartiallyRefunded: fully captured, part of it refunded.
	PaymentPartiallyRefunded PaymentStatus = "PARTIALLY_REFUNDED"
	// PaymentRefunded: everything captured was refunded. Final.
	PaymentRefunded PaymentStatus = "REFUNDED"
	// PaymentAuthorizationVoided: the authorization was released before any
	// capture. Final.
	PaymentAuthorizationVoided PaymentStatus = "AUTHORIZATION_VOIDED"
	// PaymentDeclined: the issuer or gateway declined the first operation;
	// its DeclineCode says why. Final.
	PaymentDeclined PaymentStatus = "DECLINED"
	// PaymentFailed: the first operation failed, or certainly never reached
	// the gateway. Final.
	PaymentFailed PaymentStatus = "FAILED"
	// PaymentUnknown: an operation's answer was lost. The server asks the
	// gateway and settles the payment; meanwhile every action on it is
	// refused (IsConflict).
	PaymentUnknown PaymentStatus = "UNKNOWN"
	// PaymentOnHold is reserved for payments held for review; the server
	// does not enter it yet.
	PaymentOnHold PaymentStatus = "ON_HOLD"
)

// Outcome is what became of an operation.
type Outcome string

const (
	// OutcomePending: the gateway call is in flight. Left when it settles.
	OutcomePending Outcome = "pending"
	// OutcomeSucceeded: the gateway did it. Final.
	OutcomeSucceeded Outcome = "succeeded"
	// OutcomeDeclined: the issuer or gateway said no; DeclineCode says
	// why. Final.
	OutcomeDeclined Outcome = "declined"
	// OutcomeFailed: the gateway refused the request as invalid, or broke;
	// sending it again will not help. Final.
	OutcomeFailed Outcome = "failed"
	// OutcomeNotSent: the gateway was certainly never reached, so nothing
	// happened: safe to try again. Final.
	OutcomeNotSent Outcome = "not_sent"
	// OutcomeUnknown: the request may have reached the gateway and its
	// answer was lost. Left when the server has found out from the gateway.
	OutcomeUnknown Outcome = "unknown"
)

// Payment is one amount on one payment method through one gateway, changed
// only by its operations.
type Payment struct {
	ID     string        `json:"id"`
	Object string        `json:"object"` // "payment"
	Status PaymentStatus `json:"status"`
	// Amount and the amounts below are in minor units of Currency (1000 is
	// 10.00 EUR).
	Amount           int64  `json:"amount"`
	Currency         string `json:"currency"`
	AmountAuthorized int64  `json:"amount_authorized"`
	AmountCaptured   int64  `json:"amount_captured"`
	AmountRefunded   int64  `json:"amount_refunded"`
	// Capture is true for a purchase, false for an authorization to capture
	// later.
	Capture bool   `json:"capture"`
	Gateway string `json:"gateway"`
	// CredentialVersion is the gateway credential version the payment was
	// made with; its captures, voids and refunds use it too.
	CredentialVersion int    `json:"credential_version"`
	PaymentMethod     string `json:"payment_method"`
	// Customer is the id of the payment's customer, empty when none.
	Customer    string            `json:"customer"`
	Reference   string            `json:"reference"`
	Description string            `json:"description"`
	Metadata    map[string]string `json:"metadata"`
	// StoredCredential is nil when none was given.
	StoredCredential *StoredCredential `json:"stored_credential"`
	// RequiresReview: the server could not find out an operation's
	// outcome; check it at the gateway.
	RequiresReview bool `json:"requires_review"`
	Test           bool `json:"test"`
	// Operations are the payment's operations, oldest first.
	Operations []*Operation `json:"operations"`
	// Operation is the operation this request made: set on the answers
	// to Capture, Void and Refund.
	Operation *Operation `json:"operation,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// Stored credential initiators and reasons (the card networks'
// credential-on-file framework).
const (
	InitiatorCardholder = "cardholder"
	InitiatorMerchant   = "merchant"

	ReasonOneTime     = "one_time"
	ReasonRecurring   = "recurring"
	ReasonUnscheduled = "unscheduled"
)

// StoredCredential says who starts a payment on a stored card, and why.
type StoredCredential struct {
	// Initiator is InitiatorCardholder or InitiatorMerchant.
	Initiator string `json:"initiator"`
	// Reason is ReasonOneTime, ReasonRecurring or ReasonUnscheduled.
	Reason string `json:"reason"`
}

// Operation is one exchange with a gateway: an operation of a payment, or
// a verification.
type Operation struct {
	// ID is also the reference the gateway knows the operation by.
	ID     string `json:"id"`
	Object string `json:"object"` // "operation"
	// Kind is one of the Operation… constants.
	Kind     string  `json:"kind"`
	Amount   int64   `json:"amount"`
	Currency string  `json:"currency"`
	Outcome  Outcome `json:"outcome"`
	// DeclineCode is the server's code for a decline or failure
	// ("card_declined", "insufficient_funds", "do_not_honor", …), else
	// empty.
	DeclineCode          string `json:"decline_code"`
	GatewayReference     string `json:"gateway_reference"`
	ResponseCode         string `json:"response_code"`
	Message              string `json:"message"`
	AVSCode              string `json:"avs_code"`
	CVVCode              string `json:"cvv_code"`
	NetworkTransactionID string `json:"network_transaction_id"`
	Gateway              string `json:"gateway"`
	CredentialVersion    int    `json:"credential_version"`
	PaymentMethod        string `json:"payment_method"`
	// Payment is the id of the operation's payment; empty for a
	// verification.
	Payment   string    `json:"payment"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Transcript is what the server and the gateway exchanged for one
// operation, scrubbed of card numbers, security codes and credentials
// (they read "[FILTERED]").
type Transcript struct {
	Object string `json:"object"` // "transcript"
	// Operation is the id of the operation.
	Operation string `json:"operation"`
	// Exchanges is empty for an operation that exchanged nothing.
	Exchanges []Exchange `json:"exchanges"`
}

// Exchange is one request to a gateway and what came back. Bodies are cut
// at 64 KiB.
type Exchange struct {
	Method         string            `json:"method"`
	URL            string            `json:"url"`
	RequestHeaders map[string]string `json:"request_headers,omitempty"`
	RequestBody    string            `json:"request_body,omitempty"`
	// Status is the HTTP status, 0 when no response arrived.
	Status          int               `json:"status,omitempty"`
	ResponseHeaders map[string]string `json:"response_headers,omitempty"`
	ResponseBody    string            `json:"response_body,omitempty"`
	// Error says why the exchange failed, when it did.
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS int64     `json:"duration_ms"`
}
