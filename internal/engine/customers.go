package engine

import (
	"context"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/kassapay/kassa/internal/payment"
)

// CustomerInput asks to create a customer. A nil ExternalID gives the
// customer none.
type CustomerInput struct {
	ExternalID *string
	Email      string
	Name       string
	Phone      string
	Metadata   map[string]string
}

// CustomerUpdate changes a customer; nil fields are left alone. Email, Name
// and Phone set to "" clear them; DefaultPaymentMethod set to "" clears it.
// Metadata is merged as a payment method's: a key set to "" is removed.
type CustomerUpdate struct {
	ExternalID           *string
	Email                *string
	Name                 *string
	Phone                *string
	Metadata             map[string]string
	DefaultPaymentMethod *string
}

// CustomerTokenInput asks to add a token to a customer. A nil TokenID has
// one generated.
type CustomerTokenInput struct {
	Type     string
	Value    string
	TokenID  *string
	Metadata map[string]string
}

// Limits of customers and their tokens. External ids and token ids are
// Dintero's: 1 to 255 characters.
const (
	maxDinteroIDLen  = 255
	maxPhoneLen      = 40
	maxTokenTypeLen  = 255
	maxTokenValueLen = 2048
	// generatedTokenIDLen is the length of a token_id kassa makes: ~190
	// random bits.
	generatedTokenIDLen = 32
)

// checkDinteroID checks an identifier the merchant chooses, as Dintero
// checks its customer_id and token_id: 1 to 255 characters, neither first
// nor last a space, printable, and no card number.
func checkDinteroID(param, s string) error {
	if s == "" {
		return payment.Invalid(payment.CodeParameterInvalid, param, "%s must be 1 to %d characters.", param, maxDinteroIDLen)
	}
	// Bytes first (at most 4 per character), so that nothing longer is
	// scanned; then the characters.
	if err := checkText(param, s, 4*maxDinteroIDLen); err != nil {
		return err
	}
	if utf8.RuneCountInString(s) > maxDinteroIDLen {
		return payment.Invalid(payment.CodeParameterInvalid, param, "%s must be 1 to %d characters.", param, maxDinteroIDLen)
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return payment.Invalid(payment.CodeParameterInvalid, param, "%s must not begin or end with a space.", param)
	}
	return nil
}

// CheckDinteroID checks s, the value of param, as a customer_id or token_id
// Dintero's API names in a path or body: 1 to 255 characters, neither first
// nor last a space, printable, no card number. The error names param and
// never repeats s.
func CheckDinteroID(param, s string) error { return checkDinteroID(param, s) }

// checkCustomerFields checks the free-text fields of a customer; nil ones
// are not given.
func checkCustomerFields(externalID, email, name, phone *string, md map[string]string) error {
	if externalID != nil {
		if err := checkDinteroID("external_id", *externalID); err != nil {
			return err
		}
	}
	if email != nil {
		if err := checkEmail(*email); err != nil {
			return err
		}
	}
	if name != nil {
		if err := checkText("name", *name, maxNameLen); err != nil {
			return err
		}
	}
	if phone != nil {
		if err := checkText("phone", *phone, maxPhoneLen); err != nil {
			return err
		}
	}
	return checkMetadata(md)
}

// externalIDTaken is the error of an external id another customer has:
// 409, as Stripe answers an object that exists already, naming the field.
func externalIDTaken() error {
	return &payment.Error{Kind: payment.KindConflict, Code: CodeResourceExists, Param: "external_id",
		Message: "Another customer of this account has this external_id."}
}

// CodeResourceExists refuses an object whose unique field another object
// has already (a customer's external_id, a customer token's token_id).
const CodeResourceExists = "resource_already_exists"

// ValidateCustomer checks in exactly as CreateCustomer does, without the
// store: it returns the error CreateCustomer would for in's fields.
func ValidateCustomer(in CustomerInput) error {
	return checkCustomerFields(in.ExternalID, &in.Email, &in.Name, &in.Phone, in.Metadata)
}

// CreateCustomer validates and stores a customer of p's account.
func (e *Engine) CreateCustomer(ctx context.Context, p *payment.Principal, in CustomerInput) (*payment.Customer, error) {
	if err := ValidateCustomer(in); err != nil {
		return nil, err
	}
	now := e.clock()
	c := &payment.Customer{ID: payment.NewID(payment.PrefixCustomer), AccountID: p.Account.ID, Email: in.Email,
		Name: in.Name, Phone: in.Phone, Metadata: cleanMetadata(in.Metadata), CreatedAt: now, UpdatedAt: now}
	if in.ExternalID != nil {
		c.ExternalID = *in.ExternalID
	}
	ev := newEvent(c.AccountID, payment.EventCustomerCreated, c.ID, CustomerObjectOf(c), now)
	if err := e.store.CreateCustomer(ctx, c, ev); err != nil {
		if errors.Is(err, payment.ErrConflict) {
			return nil, externalIDTaken()
		}
		return nil, fmt.Errorf("create customer: %w", err)
	}
	return c, nil
}

// Customer returns the account's customer id; a deleted one is not found.
func (e *Engine) Customer(ctx context.Context, accountID, id string) (*payment.Customer, error) {
	return e.store.Customer(ctx, accountID, id)
}

// Customers lists the account's customers that are not deleted, newest
// first, filtered by email and external id when f sets them.
func (e *Engine) Customers(ctx context.Context, accountID string, f payment.CustomerFilter) ([]*payment.Customer, bool, error) {
	for _, q := range []struct{ param, v string }{{"email", f.Email}, {"external_id", f.ExternalID}} {
		if err := checkFilter(q.param, q.v); err != nil {
			return nil, false, err
		}
	}
	return e.store.Customers(ctx, accountID, f)
}

// checkFilter refuses a list filter no stored value can match: one that is
// not UTF-8 or holds a NUL (PostgreSQL refuses to compare with it).
func checkFilter(param, s string) error {
	if !utf8.ValidString(s) || containsNUL(s) {
		return payment.Invalid(payment.CodeParameterInvalid, param, "%s must be valid UTF-8 text.", param)
	}
	return nil
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// UpdateCustomer changes a customer that is not deleted.
func (e *Engine) UpdateCustomer(ctx context.Context, accountID, id string, u CustomerUpdate) (*payment.Customer, error) {
	if err := checkCustomerFields(u.ExternalID, u.Email, u.Name, u.Phone, u.Metadata); err != nil {
		return nil, err
	}
	if u.DefaultPaymentMethod != nil && *u.DefaultPaymentMethod != "" {
		// A payment method never changes customer, so what is read here
		// holds when the update writes.
		pm, err := e.store.PaymentMethod(ctx, accountID, *u.DefaultPaymentMethod)
		if err != nil && !errors.Is(err, payment.ErrNotFound) {
			return nil, err
		}
		if err != nil || pm.CustomerID != id {
			return nil, payment.Invalid(payment.CodeParameterInvalid, "default_payment_method",
				"default_payment_method must be a payment method of this customer.")
		}
		if pm.StorageState == payment.StorageRedacted {
			return nil, payment.Invalid(payment.CodeParameterInvalid, "default_payment_method",
				"default_payment_method is redacted: its card number is gone.")
		}
	}
	now := e.clock()
	c, err := e.store.UpdateCustomer(ctx, accountID, id, func(c *payment.Customer) (*payment.Event, error) {
		if u.ExternalID != nil {
			c.ExternalID = *u.ExternalID
		}
		if u.Email != nil {
			c.Email = *u.Email
		}
		if u.Name != nil {
			c.Name = *u.Name
		}
		if u.Phone != nil {
			c.Phone = *u.Phone
		}
		if u.DefaultPaymentMethod != nil {
			c.DefaultPaymentMethodID = *u.DefaultPaymentMethod
		}
		md, err := mergeMetadata(c.Metadata, u.Metadata)
		if err != nil {
			return nil, err
		}
		c.Metadata = md
		c.UpdatedAt = now
		return newEvent(accountID, payment.EventCustomerUpdated, c.ID, CustomerObjectOf(c), now), nil
	})
	if errors.Is(err, payment.ErrConflict) {
		return nil, externalIDTaken()
	}
	return c, err
}

// mergeMetadata applies an update's metadata to md: a key set to "" is
// removed, the others set.
func mergeMetadata(md, update map[string]string) (map[string]string, error) {
	if len(update) == 0 {
		return md, nil
	}
	merged := map[string]string{}
	for k, v := range md {
		merged[k] = v
	}
	for k, v := range update {
		if v == "" {
			delete(merged, k)
		} else {
			merged[k] = v
		}
	}
	if len(merged) > maxMetadataKeys {
		return nil, payment.Invalid(payment.CodeParameterInvalid, "metadata", "metadata may have at most %d keys.", maxMetadataKeys)
	}
	return merged, nil
}

// DeleteCustomer deletes a customer: it redacts its payment methods (their
// card numbers and CVCs destroyed, as RedactPaymentMethod does, each with
// its payment_method.redacted event), deletes its tokens softly, and marks
// it deleted, all in one transaction. Its payments stay readable.
// Afterwards the customer is not found.
func (e *Engine) DeleteCustomer(ctx context.Context, p *payment.Principal, id string) (*payment.Customer, error) {
	now := e.clock()
	acct := p.Account.ID
	return e.store.DeleteCustomer(ctx, acct, id, payment.CustomerDeletion{
		Now: now,
		By:  p.Actor(),
		Event: func(c *payment.Customer) *payment.Event {
			return newEvent(acct, payment.EventCustomerDeleted, c.ID, CustomerObjectOf(c), now)
		},
		PaymentMethodEvent: func(pm *payment.PaymentMethod) *payment.Event {
			return newEvent(acct, "payment_method.redacted", pm.ID, PaymentMethodObjectOf(pm), now)
		},
		TokenEvent: func(t *payment.CustomerToken) *payment.Event {
			return newEvent(acct, payment.EventCustomerTokenDeleted, t.ID, CustomerTokenObjectOf(t), now)
		},
	})
}

// CustomerPaymentMethods lists the payment methods of the account's
// customer id, newest first.
func (e *Engine) CustomerPaymentMethods(ctx context.Context, accountID, id string, lp payment.ListParams) ([]*payment.PaymentMethod, bool, error) {
	if _, err := e.store.Customer(ctx, accountID, id); err != nil {
		return nil, false, err
	}
	return e.store.CustomerPaymentMethods(ctx, accountID, id, lp)
}

// ValidateCustomerToken checks in exactly as CreateCustomerToken does,
// without the store.
func ValidateCustomerToken(in CustomerTokenInput) error {
	if in.Type == "" {
		return payment.Missing("type")
	}
	if err := checkText("type", in.Type, maxTokenTypeLen); err != nil {
		return err
	}
	if in.Value == "" {
		return payment.Missing("value")
	}
	// A value is typically a hash of an email or a phone number; a card
	// number is not a token kassa may keep in the clear.
	if err := checkText("value", in.Value, maxTokenValueLen); err != nil {
		return err
	}
	if in.TokenID != nil {
		if err := checkDinteroID("token_id", *in.TokenID); err != nil {
			return err
		}
	}
	return checkMetadata(in.Metadata)
}

// CreateCustomerToken adds a token to the account's customer customerID,
// recording the caller's key as its creator.
func (e *Engine) CreateCustomerToken(ctx context.Context, p *payment.Principal, customerID string, in CustomerTokenInput) (*payment.CustomerToken, error) {
	if err := ValidateCustomerToken(in); err != nil {
		return nil, err
	}
	tokenID := payment.RandomString(generatedTokenIDLen)
	if in.TokenID != nil {
		tokenID = *in.TokenID
	}
	now := e.clock()
	t := &payment.CustomerToken{ID: payment.NewID(payment.PrefixCustomerToken), AccountID: p.Account.ID, CustomerID: customerID,
		TokenID: tokenID, Type: in.Type, Value: in.Value, Metadata: cleanMetadata(in.Metadata),
		CreatedAt: now, CreatedBy: p.Actor(), UpdatedAt: now, UpdatedBy: p.Actor()}
	ev := newEvent(t.AccountID, payment.EventCustomerTokenCreated, t.ID, CustomerTokenObjectOf(t), now)
	if err := e.store.CreateCustomerToken(ctx, t, ev); err != nil {
		if errors.Is(err, payment.ErrConflict) {
			return nil, &payment.Error{Kind: payment.KindConflict, Code: CodeResourceExists, Param: "token_id",
				Message: "The customer has a token with this token_id; delete it first or choose another."}
		}
		return nil, err
	}
	return t, nil
}

// CustomerTokens lists the tokens of the account's customer, deleted ones
// too, newest first.
func (e *Engine) CustomerTokens(ctx context.Context, accountID, customerID string, lp payment.ListParams) ([]*payment.CustomerToken, bool, error) {
	return e.store.CustomerTokens(ctx, accountID, customerID, lp)
}

// DeleteCustomerToken deletes the customer's token tokenID softly,
// recording the caller's key as who deleted it.
func (e *Engine) DeleteCustomerToken(ctx context.Context, p *payment.Principal, customerID, tokenID string) (*payment.CustomerToken, error) {
	now := e.clock()
	acct := p.Account.ID
	return e.store.DeleteCustomerToken(ctx, acct, customerID, tokenID, now, p.Actor(), func(t *payment.CustomerToken) *payment.Event {
		return newEvent(acct, payment.EventCustomerTokenDeleted, t.ID, CustomerTokenObjectOf(t), now)
	})
}

// customerNotFound is the error of a customer named by a request's
// "customer" field that the account does not have (or has deleted); the
// message repeats the id only when it is printable.
func customerNotFound(id string) error {
	return &payment.Error{Kind: payment.KindNotFound, Code: payment.CodeResourceMissing, Param: "customer",
		Message: fmt.Sprintf("No such customer: '%s'", printableID(id))}
}

// checkCustomerRef checks that the account has the customer id a request
// names (nothing to check when it names none).
func (e *Engine) checkCustomerRef(ctx context.Context, accountID, id string) error {
	if id == "" {
		return nil
	}
	_, err := e.store.Customer(ctx, accountID, id)
	if errors.Is(err, payment.ErrNotFound) {
		return customerNotFound(id)
	}
	return err
}

// paymentCustomer is the customer of a payment on pm: the one asked for, or
// else pm's. A payment method of another customer is refused.
func paymentCustomer(asked string, pm *payment.PaymentMethod) (string, error) {
	if asked == "" {
		return pm.CustomerID, nil
	}
	if pm.CustomerID != "" && pm.CustomerID != asked {
		return "", payment.Invalid(payment.CodeParameterInvalid, "customer",
			"Payment method %s belongs to another customer.", pm.ID)
	}
	return asked, nil
}
