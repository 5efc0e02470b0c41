package client

import (
	"context"
	"net/http"
	"time"
)

// CheckoutItem is an order line of a checkout session; Amount is the
// line's total in minor units.
type CheckoutItem struct {
	ID          string `json:"id,omitempty"`
	LineID      string `json:"line_id,omitempty"`
	Description string `json:"description"`
	Quantity    int64  `json:"quantity"`
	Amount      int64  `json:"amount"`
	VATAmount   int64  `json:"vat_amount,omitempty"`
}

// CheckoutSession is an order paid on kassa's hosted page at URL.
type CheckoutSession struct {
	ID                string         `json:"id"`
	Object            string         `json:"object"` // "checkout_session"
	URL               string         `json:"url"`
	Status            string         `json:"status"` // open, paid, cancelled, expired
	Amount            int64          `json:"amount"`
	Currency          string         `json:"currency"`
	Items             []CheckoutItem `json:"items"`
	MerchantReference string         `json:"merchant_reference"`
	ReturnURL         string         `json:"return_url"`
	CancelURL         string         `json:"cancel_url"`
	CallbackURL       string         `json:"callback_url"`
	Customer          string         `json:"customer"`
	Gateway           string         `json:"gateway"`
	Capture           bool           `json:"capture"`
	Locale            string         `json:"locale"`
	SaveCard          bool           `json:"save_card"`
	ExpiresAt         time.Time      `json:"expires_at"`
	Attempts          int            `json:"attempts"`
	// Payment is the latest attempt's payment: the session's payment once
	// it is paid.
	Payment   string     `json:"payment"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	ClosedAt  *time.Time `json:"closed_at"`
}

// CheckoutSessionParams create a checkout session.
type CheckoutSessionParams struct {
	Amount            int64          `json:"amount"`
	Currency          string         `json:"currency"`
	Items             []CheckoutItem `json:"items,omitempty"`
	MerchantReference string         `json:"merchant_reference"`
	ReturnURL         string         `json:"return_url"`
	CancelURL         string         `json:"cancel_url,omitempty"`
	CallbackURL       string         `json:"callback_url,omitempty"`
	Customer          string         `json:"customer,omitempty"`
	// Gateway is a gateway or a router.
	Gateway   string     `json:"gateway"`
	Capture   *bool      `json:"capture,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Locale    string     `json:"locale,omitempty"`
	SaveCard  bool       `json:"save_card,omitempty"`
}

// CheckoutSessionList is a page of checkout sessions.
type CheckoutSessionList struct {
	Data    []*CheckoutSession `json:"data"`
	HasMore bool               `json:"has_more"`
}

// CreateCheckoutSession opens a checkout session; send the customer to
// its URL.
func (c *Client) CreateCheckoutSession(ctx context.Context, p *CheckoutSessionParams, opts ...RequestOption) (*CheckoutSession, error) {
	var cs CheckoutSession
	if err := c.do(ctx, http.MethodPost, "/v1/checkout_sessions", nil, p, &cs, opts); err != nil {
		return nil, err
	}
	return &cs, nil
}

// CheckoutSession returns the session id, brought up to date with its
// payment and expiry.
func (c *Client) CheckoutSession(ctx context.Context, id string, opts ...RequestOption) (*CheckoutSession, error) {
	return c.checkoutCall(ctx, http.MethodGet, id, "", opts)
}

// CancelCheckoutSession cancels the open session id.
func (c *Client) CancelCheckoutSession(ctx context.Context, id string, opts ...RequestOption) (*CheckoutSession, error) {
	return c.checkoutCall(ctx, http.MethodPost, id, "/cancel", opts)
}

// ListCheckoutSessions returns one page of the account's sessions, newest
// first.
func (c *Client) ListCheckoutSessions(ctx context.Context, p *ListParams, opts ...RequestOption) (*CheckoutSessionList, error) {
	var l CheckoutSessionList
	if err := c.do(ctx, http.MethodGet, "/v1/checkout_sessions", p.query(), nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

func (c *Client) checkoutCall(ctx context.Context, method, id, action string, opts []RequestOption) (*CheckoutSession, error) {
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var cs CheckoutSession
	if err := c.do(ctx, method, "/v1/checkout_sessions/"+seg+action, nil, nil, &cs, opts); err != nil {
		return nil, err
	}
	return &cs, nil
}
