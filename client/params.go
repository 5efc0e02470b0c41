package client

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PaymentMethodParams asks to vault a payment method.
type PaymentMethodParams struct {
	// Type defaults to PaymentMethodTypeCard.
	Type           string            `json:"type"`
	Card           *CardParams       `json:"card,omitempty"`
	BillingAddress *Address          `json:"billing_address,omitempty"`
	Email          string            `json:"email,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	// Retain keeps the payment method until it is redacted, instead of
	// caching it for a while.
	Retain bool `json:"retain,omitempty"`
	// Customer is the id of the customer the payment method belongs to.
	// Only a secret key may set it; deleting the customer redacts the
	// payment method.
	Customer string `json:"customer,omitempty"`
}

// LogValue logs p with its card redacted. (fmt needs no help: it prints the
// Card pointer as an address, or through CardParams.Format.)
func (p PaymentMethodParams) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("type", p.Type)}
	if p.Card != nil {
		attrs = append(attrs, slog.Any("card", *p.Card))
	}
	if p.Email != "" {
		attrs = append(attrs, slog.String("email", p.Email))
	}
	if p.Retain {
		attrs = append(attrs, slog.Bool("retain", true))
	}
	return slog.GroupValue(attrs...)
}

// CardParams is a card to vault. Number and CVC never leave the client
// except in the request: fmt and log/slog print them redacted.
type CardParams struct {
	Number     string `json:"number"`
	ExpMonth   int    `json:"exp_month"`
	ExpYear    int    `json:"exp_year"`
	CVC        string `json:"cvc,omitempty"`
	HolderName string `json:"holder_name,omitempty"`
}

// String describes c with only the last four digits of its number.
func (c CardParams) String() string {
	return fmt.Sprintf("card %s exp %02d/%d", maskNumber(c.Number), c.ExpMonth, c.ExpYear)
}

// Format prints String for every verb.
func (c CardParams) Format(f fmt.State, verb rune) { formatRedacted(f, verb, c.String()) }

// LogValue logs c with only the last four digits of its number.
func (c CardParams) LogValue() slog.Value {
	return slog.GroupValue(slog.String("number", maskNumber(c.Number)),
		slog.Int("exp_month", c.ExpMonth), slog.Int("exp_year", c.ExpYear))
}

// maskNumber keeps the last four characters of a card number, and only of
// one long enough that they cannot be most of it.
func maskNumber(n string) string {
	if len(n) < 12 {
		return "****"
	}
	return "****" + n[len(n)-4:]
}

// UpdatePaymentMethodParams changes a payment method's non-secret fields.
// Nil fields are left as they are; the card number and CVC cannot change.
type UpdatePaymentMethodParams struct {
	Card *UpdateCardParams `json:"card,omitempty"`
	// BillingAddress replaces the whole address.
	BillingAddress *Address `json:"billing_address,omitempty"`
	Email          *string  `json:"email,omitempty"`
	// Metadata is merged into the existing metadata; a key set to "" is
	// removed.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// UpdateCardParams changes a card's visible fields; nil fields are left as
// they are. With Go 1.26, new(12) makes the pointers in place.
type UpdateCardParams struct {
	ExpMonth   *int    `json:"exp_month,omitempty"`
	ExpYear    *int    `json:"exp_year,omitempty"`
	HolderName *string `json:"holder_name,omitempty"`
}

// ListParams page through a list, newest first. The zero value (or nil)
// asks for the first page at the server's default size.
type ListParams struct {
	// Limit is the page size; 0 leaves it to the server.
	Limit int
	// StartingAfter is the id of the last object of the previous page.
	StartingAfter string
}

func (p *ListParams) query() url.Values {
	if p == nil {
		return nil
	}
	q := url.Values{}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.StartingAfter != "" {
		q.Set("starting_after", p.StartingAfter)
	}
	return q
}

// APIKeyParams asks for a new API key.
type APIKeyParams struct {
	Type APIKeyType `json:"type"`
}

// RollAPIKeyParams say how a key is replaced.
type RollAPIKeyParams struct {
	// ExpiresIn is how long the old key stays valid beside the new one, in
	// whole seconds (a fraction is dropped); 0 revokes it at once. The
	// server allows at most 7 days.
	ExpiresIn time.Duration
}

// MarshalJSON writes ExpiresIn as the wire's whole seconds.
func (p RollAPIKeyParams) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ExpiresIn int64 `json:"expires_in"`
	}{int64(p.ExpiresIn / time.Second)})
}

// GatewayParams configures a gateway of one of the types GatewayTypes
// lists. The type's GatewayType says which fields Credentials and Settings
// take. Credentials never leave the client except in the request: fmt and
// log/slog print only their field names.
type GatewayParams struct {
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
	// Credentials are the secret fields; they become credential version 1,
	// and the server shows them only masked from then on.
	Credentials map[string]any `json:"credentials,omitempty"`
	Settings    map[string]any `json:"settings,omitempty"`
	// Sandbox uses the provider's test environment. Nil leaves it to the
	// server: true on test accounts (which may only use sandboxes), false
	// on live ones.
	Sandbox            *bool  `json:"sandbox,omitempty"`
	MerchantProfileKey string `json:"merchant_profile_key,omitempty"`
	SubMerchantKey     string `json:"sub_merchant_key,omitempty"`
	// DisabledOperations are operations (Operation…) the gateway must not
	// run, though its type can.
	DisabledOperations []string `json:"disabled_operations,omitempty"`
}

// String describes p with the names of its credentials, not their values.
func (p GatewayParams) String() string {
	s := "gateway params (type " + p.Type
	if len(p.Credentials) > 0 {
		s += ", credentials " + strings.Join(fieldNames(p.Credentials), ", ") + " redacted"
	}
	return s + ")"
}

// Format prints String for every verb, so no verb can print a credential.
func (p GatewayParams) Format(f fmt.State, verb rune) { formatRedacted(f, verb, p.String()) }

// LogValue logs p with the names of its credentials, not their values, and
// without its settings.
func (p GatewayParams) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("type", p.Type)}
	if p.Description != "" {
		attrs = append(attrs, slog.String("description", p.Description))
	}
	if p.Sandbox != nil {
		attrs = append(attrs, slog.Bool("sandbox", *p.Sandbox))
	}
	if len(p.Credentials) > 0 {
		attrs = append(attrs, slog.Any("credential_fields", fieldNames(p.Credentials)))
	}
	if len(p.DisabledOperations) > 0 {
		attrs = append(attrs, slog.Any("disabled_operations", p.DisabledOperations))
	}
	return slog.GroupValue(attrs...)
}

// fieldNames returns the keys of m, sorted: which credentials were given,
// and nothing of them.
func fieldNames(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

// UpdateGatewayParams changes a gateway's non-secret fields; nil fields are
// left as they are. Credentials change only through SetGatewayCredentials.
type UpdateGatewayParams struct {
	Description *string `json:"description,omitempty"`
	// Settings, when not nil, replace the settings; an empty map clears
	// them.
	Settings           map[string]any `json:"settings,omitzero"`
	Sandbox            *bool          `json:"sandbox,omitempty"`
	MerchantProfileKey *string        `json:"merchant_profile_key,omitempty"`
	SubMerchantKey     *string        `json:"sub_merchant_key,omitempty"`
	// DisabledOperations, when not nil, replaces the list; an empty slice
	// ([]string{}) enables every operation of the type.
	DisabledOperations []string `json:"disabled_operations,omitzero"`
}

// GatewayCredentialsParams are a gateway's new credentials. Like
// GatewayParams, they print and log without their values.
type GatewayCredentialsParams struct {
	// Credentials are every credential of the new version: it replaces the
	// last one, it is not merged with it.
	Credentials map[string]any `json:"credentials"`
	// Description says why the credentials changed, for the history.
	Description string `json:"description,omitempty"`
	// Validate asks the gateway whether the credentials work before they
	// are saved, when its type can tell. Nil means true.
	Validate *bool `json:"validate,omitempty"`
}

// String describes p with the names of its credentials, not their values.
func (p GatewayCredentialsParams) String() string {
	if len(p.Credentials) == 0 {
		return "gateway credentials (none)"
	}
	return "gateway credentials (" + strings.Join(fieldNames(p.Credentials), ", ") + " redacted)"
}

// Format prints String for every verb.
func (p GatewayCredentialsParams) Format(f fmt.State, verb rune) { formatRedacted(f, verb, p.String()) }

// LogValue logs p with the names of its credentials, not their values.
func (p GatewayCredentialsParams) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Any("credential_fields", fieldNames(p.Credentials))}
	if p.Description != "" {
		attrs = append(attrs, slog.String("description", p.Description))
	}
	if p.Validate != nil {
		attrs = append(attrs, slog.Bool("validate", *p.Validate))
	}
	return slog.GroupValue(attrs...)
}

// PaymentParams ask for a payment: a purchase, or an authorization to
// capture later.
type PaymentParams struct {
	// Amount is in minor units of Currency (1000 is 10.00 EUR).
	Amount int64 `json:"amount"`
	// Currency is an ISO 4217 code in upper case.
	Currency string `json:"currency"`
	// PaymentMethod is the id of a vaulted payment method.
	PaymentMethod string `json:"payment_method"`
	// Gateway is the id of a gateway.
	Gateway string `json:"gateway"`
	// Capture: nil or true purchases; false only authorizes, to capture
	// with CapturePayment.
	Capture *bool `json:"capture,omitempty"`
	// Reference is the merchant's own reference, sent to the gateway;
	// ListPayments can filter by it.
	Reference        string            `json:"reference,omitempty"`
	Description      string            `json:"description,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
	StoredCredential *StoredCredential `json:"stored_credential,omitempty"`
	// GatewaySpecificFields are the fields the gateway type's
	// GatewaySpecificFields declare.
	GatewaySpecificFields map[string]any `json:"gateway_specific_fields,omitempty"`
	// Customer is the id of the customer the payment is for; left empty,
	// the payment method's customer.
	Customer string `json:"customer,omitempty"`
}

// PaymentListParams page through payments, optionally only those with the
// given status, reference or gateway. The zero value (or nil) asks for the
// first page of all of them.
type PaymentListParams struct {
	ListParams
	Status    PaymentStatus
	Reference string
	// Gateway is a gateway id.
	Gateway string
}

func (p *PaymentListParams) query() url.Values {
	if p == nil {
		return nil
	}
	q := p.ListParams.query()
	if p.Status != "" {
		q.Set("status", string(p.Status))
	}
	if p.Reference != "" {
		q.Set("reference", p.Reference)
	}
	if p.Gateway != "" {
		q.Set("gateway", p.Gateway)
	}
	return q
}

// CaptureParams say how much of an authorization to capture.
type CaptureParams struct {
	// Amount to capture, in minor units; nil captures all that is left.
	Amount *int64 `json:"amount,omitempty"`
}

// RefundParams say how much of what was captured to refund.
type RefundParams struct {
	// Amount to refund, in minor units; nil refunds all that is left.
	Amount *int64 `json:"amount,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// VerificationParams ask a gateway whether a payment method is good,
// without moving money.
type VerificationParams struct {
	PaymentMethod string `json:"payment_method"`
	Gateway       string `json:"gateway"`
}
