package client

import (
	"context"
	"iter"
	"net/http"
)

// CreatePaymentMethod vaults a payment method. Send it with
// WithIdempotencyKey so that a retry after a failure in transit cannot vault
// the card twice.
func (c *Client) CreatePaymentMethod(ctx context.Context, p *PaymentMethodParams, opts ...RequestOption) (*PaymentMethod, error) {
	var body PaymentMethodParams
	if p != nil {
		body = *p
	}
	if body.Type == "" {
		body.Type = PaymentMethodTypeCard
	}
	var pm PaymentMethod
	if err := c.do(ctx, http.MethodPost, "/v1/payment_methods", nil, &body, &pm, opts); err != nil {
		return nil, err
	}
	return &pm, nil
}

// PaymentMethod returns the payment method id. It returns an *Error for
// which IsNotFound holds if the account has no such payment method.
func (c *Client) PaymentMethod(ctx context.Context, id string, opts ...RequestOption) (*PaymentMethod, error) {
	return c.paymentMethodCall(ctx, http.MethodGet, id, "", nil, opts)
}

// ListPaymentMethods returns one page of the account's payment methods,
// newest first. AllPaymentMethods walks every page.
func (c *Client) ListPaymentMethods(ctx context.Context, p *ListParams, opts ...RequestOption) (*PaymentMethodList, error) {
	var l PaymentMethodList
	if err := c.do(ctx, http.MethodGet, "/v1/payment_methods", p.query(), nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

// AllPaymentMethods yields the account's payment methods, newest first,
// fetching page after page (of p.Limit each, if set) from p.StartingAfter
// on. It stops after yielding the first error.
func (c *Client) AllPaymentMethods(ctx context.Context, p *ListParams, opts ...RequestOption) iter.Seq2[*PaymentMethod, error] {
	return paginate(p, func(pm *PaymentMethod) string { return pm.ID },
		func(p *ListParams) (*PaymentMethodList, error) { return c.ListPaymentMethods(ctx, p, opts...) })
}

// UpdatePaymentMethod changes the non-nil fields of p on the payment method
// id and returns it as it is now.
func (c *Client) UpdatePaymentMethod(ctx context.Context, id string, p *UpdatePaymentMethodParams, opts ...RequestOption) (*PaymentMethod, error) {
	if p == nil {
		p = &UpdatePaymentMethodParams{}
	}
	return c.paymentMethodCall(ctx, http.MethodPost, id, "", p, opts)
}

// RetainPaymentMethod keeps a cached payment method until it is redacted.
// It returns an *Error for which IsConflict holds if the payment method is
// redacted.
func (c *Client) RetainPaymentMethod(ctx context.Context, id string, opts ...RequestOption) (*PaymentMethod, error) {
	return c.paymentMethodCall(ctx, http.MethodPost, id, "/retain", struct{}{}, opts)
}

// RedactPaymentMethod destroys the card number and CVC of the payment
// method id for good and returns what remains.
func (c *Client) RedactPaymentMethod(ctx context.Context, id string, opts ...RequestOption) (*PaymentMethod, error) {
	return c.paymentMethodCall(ctx, http.MethodPost, id, "/redact", struct{}{}, opts)
}

// paymentMethodCall sends method to /v1/payment_methods/{id}{action} with
// body and decodes the payment method it answers with.
func (c *Client) paymentMethodCall(ctx context.Context, method, id, action string, body any, opts []RequestOption) (*PaymentMethod, error) {
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var pm PaymentMethod
	if err := c.do(ctx, method, "/v1/payment_methods/"+seg+action, nil, body, &pm, opts); err != nil {
		return nil, err
	}
	return &pm, nil
}
