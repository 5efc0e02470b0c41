package client

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
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
