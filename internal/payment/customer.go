package payment

import (
	"context"
	"time"
)

// Event types of customers and their tokens. Every event kassa writes about
// a customer has one of these types; CustomerEventTypes lists them for
// whatever needs to know every type (webhook subscriptions, the event type
// list).
const (
	// EventCustomerCreated: a customer was created.
	EventCustomerCreated = "customer.created"
	// EventCustomerUpdated: a customer's fields changed.
	EventCustomerUpdated = "customer.updated"
	// EventCustomerDeleted: a customer was deleted; its payment methods
	// were redacted and its tokens deleted in the same transaction.
	EventCustomerDeleted = "customer.deleted"
	// EventCustomerTokenCreated: a token was added to a customer.
	EventCustomerTokenCreated = "customer.token_created"
	// EventCustomerTokenDeleted: a customer's token was (soft) deleted.
	EventCustomerTokenDeleted = "customer.token_deleted"
)

// CustomerEventTypes lists the customer event types, in the order above.
var CustomerEventTypes = []string{EventCustomerCreated, EventCustomerUpdated, EventCustomerDeleted,
	EventCustomerTokenCreated, EventCustomerTokenDeleted}

// Customer is a merchant's customer: who payment methods and payments
// belong to.
type Customer struct {
	ID        string // cus_…
	AccountID string
	// ExternalID is the merchant's own id of the customer (Dintero's
	// customer_id), unique among the account's customers that are not
	// deleted; empty when none was given.
	ExternalID string
	Email      string
	Name       string
	Phone      string
	Metadata   map[string]string
	// DefaultPaymentMethodID is one of the customer's payment methods, or
	// empty.
	DefaultPaymentMethodID string
	CreatedAt              time.Time
	UpdatedAt              time.Time
	// DeletedAt is set when the customer is deleted. Final: the stores
	// treat a deleted customer as not found, and keep its row only so that
	// what named it (payments, tokens) still can.
	DeletedAt *time.Time
}

// CustomerToken is a token a merchant keeps on a customer: a typed value
// such as a hashed email ("sha1:email"), Dintero's customer token. Tokens
// are deleted softly: DeletedAt and DeletedBy are kept and shown.
type CustomerToken struct {
	ID         string // ctok_…
	AccountID  string
	CustomerID string
	// TokenID is the merchant's (or a generated) name of the token, unique
	// among the customer's tokens that are not deleted.
	TokenID   string
	Type      string
	Value     string
	Metadata  map[string]string
	CreatedAt time.Time
	// CreatedBy, UpdatedBy and DeletedBy are the ids of the API keys that
	// acted.
	CreatedBy string
	UpdatedAt time.Time
	UpdatedBy string
	DeletedAt *time.Time
	DeletedBy string
}

// CustomerFilter narrows a customer list; empty fields match everything.
type CustomerFilter struct {
	Email      string
	ExternalID string
	ListParams
}

// CustomerDeletion says how DeleteCustomer marks what it changes.
type CustomerDeletion struct {
	// Now is the deletion's time; By the id of the API key that asked.
	Now time.Time
	By  string
	// Event renders the customer.deleted event of the customer as deleted.
	Event func(*Customer) *Event
	// PaymentMethodEvent renders the payment_method.redacted event of each
	// payment method redacted (as redacted); nil events are not written.
	PaymentMethodEvent func(*PaymentMethod) *Event
	// TokenEvent renders the customer.token_deleted event of each token
	// deleted (as deleted); nil events are not written.
	TokenEvent func(*CustomerToken) *Event
}

// CustomerStore keeps customers and their tokens. A deleted customer is
// ErrNotFound to every method, as one that never existed.
type CustomerStore interface {
	// CreateCustomer inserts c and ev in one transaction. ErrConflict if
	// another customer of the account that is not deleted has c's
	// ExternalID.
	CreateCustomer(ctx context.Context, c *Customer, ev *Event) error
	// Customer returns the account's customer id, or ErrNotFound.
	Customer(ctx context.Context, accountID, id string) (*Customer, error)
	// Customers lists the account's customers that are not deleted and
	// match f, newest first (oldest first when f.Ascending). The cursor is
	// any customer of the account (ErrNotFound with Param
	// "starting_after" otherwise).
	Customers(ctx context.Context, accountID string, f CustomerFilter) ([]*Customer, bool, error)
	// UpdateCustomer is the read-modify-write of a customer, as
	// UpdatePaymentMethod. fn must not change ID, AccountID, CreatedAt or
	// DeletedAt. ErrConflict if the new ExternalID is another customer's.
	UpdateCustomer(ctx context.Context, accountID, id string, fn func(*Customer) (*Event, error)) (*Customer, error)
	// DeleteCustomer deletes the customer in one transaction: it redacts
	// every payment method of the customer not redacted yet (PAN, CVC and
	// CVCExpiresAt destroyed, StorageState redacted, RedactedAt and
	// UpdatedAt d.Now, as RedactPaymentMethod does), deletes every token
	// of it not deleted yet (DeletedAt and UpdatedAt d.Now, DeletedBy and
	// UpdatedBy d.By), marks the customer deleted at d.Now, and writes
	// the events of d for each. It returns the customer as deleted.
	DeleteCustomer(ctx context.Context, accountID, id string, d CustomerDeletion) (*Customer, error)

	// CreateCustomerToken inserts tok and ev in one transaction.
	// ErrNotFound if the account has no such customer; ErrConflict if
	// the customer has a token that is not deleted with tok's TokenID.
	CreateCustomerToken(ctx context.Context, tok *CustomerToken, ev *Event) error
	// CustomerTokens lists the customer's tokens, deleted ones too,
	// newest first (oldest first when p.Ascending), paginated as
	// PaymentMethods. ErrNotFound if the account has no such customer.
	CustomerTokens(ctx context.Context, accountID, customerID string, p ListParams) ([]*CustomerToken, bool, error)
	// DeleteCustomerToken deletes softly the customer's token tokenID that
	// is not deleted yet (DeletedAt and UpdatedAt now, DeletedBy and
	// UpdatedBy by) and writes newEvent's event of it as deleted, in one
	// transaction. ErrNotFound if the account has no such customer or the
	// customer no such token.
	DeleteCustomerToken(ctx context.Context, accountID, customerID, tokenID string, now time.Time, by string,
		newEvent func(*CustomerToken) *Event) (*CustomerToken, error)
}
