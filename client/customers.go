package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// Customer is a merchant's customer. Empty strings are fields not set.
type Customer struct {
	ID     string `json:"id"`
	Object string `json:"object"` // "customer"
	// ExternalID is the merchant's own id of the customer, unique among
	// the account's customers.
	ExternalID string            `json:"external_id"`
	Email      string            `json:"email"`
	Name       string            `json:"name"`
	Phone      string            `json:"phone"`
	Metadata   map[string]string `json:"metadata"`
	// DefaultPaymentMethod is the id of one of the customer's payment
	// methods.
	DefaultPaymentMethod string    `json:"default_payment_method"`
	Deleted              bool      `json:"deleted"`
	CreatedAt            time.Time `json:"created_at"`
	UpdatedAt            time.Time `json:"updated_at"`
}

// DeletedCustomer is the answer to DeleteCustomer.
type DeletedCustomer struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // "customer"
	Deleted bool   `json:"deleted"`
}

// CustomerToken is a token kept on a customer (a hashed email, say). A
// deleted token keeps being listed, with DeletedAt and DeletedBy set.
type CustomerToken struct {
	ID       string            `json:"id"`
	Object   string            `json:"object"` // "customer_token"
	Customer string            `json:"customer"`
	TokenID  string            `json:"token_id"`
	Type     string            `json:"type"`
	Value    string            `json:"value"`
	Metadata map[string]string `json:"metadata"`
	// CreatedBy, UpdatedBy and DeletedBy are ids of API keys.
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	UpdatedAt time.Time  `json:"updated_at"`
	UpdatedBy string     `json:"updated_by"`
	DeletedAt *time.Time `json:"deleted_at"`
	DeletedBy string     `json:"deleted_by"`
}

// CustomerParams create a customer; every field is optional.
type CustomerParams struct {
	// ExternalID is the merchant's own id: 1 to 255 characters, neither
	// first nor last a space, unique among the account's customers.
	ExternalID string            `json:"external_id,omitempty"`
	Email      string            `json:"email,omitempty"`
	Name       string            `json:"name,omitempty"`
	Phone      string            `json:"phone,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
}

// UpdateCustomerParams change a customer; nil fields are left as they are.
// Email, Name and Phone set to "" are removed; DefaultPaymentMethod set to
// "" is unset. Metadata is merged; a key set to "" is removed.
type UpdateCustomerParams struct {
	ExternalID           *string           `json:"external_id,omitempty"`
	Email                *string           `json:"email,omitempty"`
	Name                 *string           `json:"name,omitempty"`
	Phone                *string           `json:"phone,omitempty"`
	Metadata             map[string]string `json:"metadata,omitempty"`
	DefaultPaymentMethod *string           `json:"default_payment_method,omitempty"`
}

// CustomerListParams page through customers, optionally only those with
// the given email or external id.
type CustomerListParams struct {
	ListParams
	Email      string
	ExternalID string
}

func (p *CustomerListParams) query() url.Values {
	if p == nil {
		return nil
	}
	q := p.ListParams.query()
	if p.Email != "" {
		q.Set("email", p.Email)
	}
	if p.ExternalID != "" {
		q.Set("external_id", p.ExternalID)
	}
	return q
}

// CustomerTokenParams add a token to a customer. TokenID is generated when
// empty.
type CustomerTokenParams struct {
	Type     string            `json:"type"`
	Value    string            `json:"value"`
	TokenID  string            `json:"token_id,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// CreateCustomer creates a customer. It returns an *Error for which
// IsConflict holds if another customer has p.ExternalID.
func (c *Client) CreateCustomer(ctx context.Context, p *CustomerParams, opts ...RequestOption) (*Customer, error) {
	if p == nil {
		p = &CustomerParams{}
	}
	var cus Customer
	if err := c.do(ctx, http.MethodPost, "/v1/customers", nil, p, &cus, opts); err != nil {
		return nil, err
	}
	return &cus, nil
}

// Customer returns the customer id. It returns an *Error for which
// IsNotFound holds if the account has no such customer, or deleted it.
func (c *Client) Customer(ctx context.Context, id string, opts ...RequestOption) (*Customer, error) {
	return c.customerCall(ctx, http.MethodGet, id, nil, opts)
}

// UpdateCustomer changes the non-nil fields of p on the customer id and
// returns it as it is now.
func (c *Client) UpdateCustomer(ctx context.Context, id string, p *UpdateCustomerParams, opts ...RequestOption) (*Customer, error) {
	if p == nil {
		p = &UpdateCustomerParams{}
	}
	return c.customerCall(ctx, http.MethodPost, id, p, opts)
}

// DeleteCustomer deletes the customer id: its payment methods are
// redacted, its tokens deleted; its payments stay. Afterwards the customer
// is not found.
func (c *Client) DeleteCustomer(ctx context.Context, id string, opts ...RequestOption) (*DeletedCustomer, error) {
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var d DeletedCustomer
	if err := c.do(ctx, http.MethodDelete, "/v1/customers/"+seg, nil, nil, &d, opts); err != nil {
		return nil, err
	}
	return &d, nil
}

// ListCustomers returns one page of the account's customers, newest first.
// AllCustomers walks every page.
func (c *Client) ListCustomers(ctx context.Context, p *CustomerListParams, opts ...RequestOption) (*CustomerList, error) {
	var l CustomerList
	if err := c.do(ctx, http.MethodGet, "/v1/customers", p.query(), nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

// AllCustomers yields the account's customers matching p, newest first,
// page after page. It stops after yielding the first error.
func (c *Client) AllCustomers(ctx context.Context, p *CustomerListParams, opts ...RequestOption) iter.Seq2[*Customer, error] {
	var q CustomerListParams
	if p != nil {
		q = *p
	}
	return paginate(&q.ListParams, func(cus *Customer) string { return cus.ID },
		func(lp *ListParams) (*CustomerList, error) {
			page := q
			page.ListParams = *lp
			return c.ListCustomers(ctx, &page, opts...)
		})
}

// ListCustomerPaymentMethods returns one page of the payment methods of the
// customer id, newest first.
func (c *Client) ListCustomerPaymentMethods(ctx context.Context, id string, p *ListParams, opts ...RequestOption) (*PaymentMethodList, error) {
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var l PaymentMethodList
	if err := c.do(ctx, http.MethodGet, "/v1/customers/"+seg+"/payment_methods", p.query(), nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

// CreateCustomerToken adds a token to the customer id. It returns an
// *Error for which IsConflict holds if the customer has a token with
// p.TokenID that is not deleted.
func (c *Client) CreateCustomerToken(ctx context.Context, id string, p *CustomerTokenParams, opts ...RequestOption) (*CustomerToken, error) {
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	if p == nil {
		p = &CustomerTokenParams{}
	}
	var t CustomerToken
	if err := c.do(ctx, http.MethodPost, "/v1/customers/"+seg+"/tokens", nil, p, &t, opts); err != nil {
		return nil, err
	}
	return &t, nil
}

// ListCustomerTokens returns one page of the tokens of the customer id,
// deleted ones included, newest first.
func (c *Client) ListCustomerTokens(ctx context.Context, id string, p *ListParams, opts ...RequestOption) (*CustomerTokenList, error) {
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var l CustomerTokenList
	if err := c.do(ctx, http.MethodGet, "/v1/customers/"+seg+"/tokens", p.query(), nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

// DeleteCustomerToken deletes softly the token tokenID of the customer id
// and returns it, deleted.
func (c *Client) DeleteCustomerToken(ctx context.Context, id, tokenID string, opts ...RequestOption) (*CustomerToken, error) {
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	tseg, err := pathID(tokenID)
	if err != nil {
		return nil, err
	}
	var t CustomerToken
	if err := c.do(ctx, http.MethodDelete, "/v1/customers/"+seg+"/tokens/"+tseg, nil, nil, &t, opts); err != nil {
		return nil, err
	}
	return &t, nil
}

// customerCall sends method to /v1/customers/{id} with body and decodes the
// customer it answers with.
func (c *Client) customerCall(ctx context.Context, method, id string, body any, opts []RequestOption) (*Customer, error) {
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var cus Customer
	if err := c.do(ctx, method, "/v1/customers/"+seg, nil, body, &cus, opts); err != nil {
		return nil, err
	}
	return &cus, nil
}
