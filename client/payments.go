package client

import (
	"context"
	"iter"
	"net/http"
)

// CreatePayment purchases or authorizes p.Amount on a vaulted payment
// method through a gateway. Whatever the gateway answered, the payment is
// returned without error: a declined payment has status PaymentDeclined
// and the decline code on its operation, and a payment whose answer was
// lost has status PaymentUnknown until the server finds out. Only a request
// the server refuses is an *Error.
//
// Send it with WithIdempotencyKey: a retry under the same key after a
// failure in transit never charges twice.
func (c *Client) CreatePayment(ctx context.Context, p *PaymentParams, opts ...RequestOption) (*Payment, error) {
	if p == nil {
		p = &PaymentParams{}
	}
	var pay Payment
	if err := c.do(ctx, http.MethodPost, "/v1/payments", nil, p, &pay, opts); err != nil {
		return nil, err
	}
	return &pay, nil
}

// Payment returns the payment id with all its operations. It returns an
// *Error for which IsNotFound holds if the account has no such payment.
func (c *Client) Payment(ctx context.Context, id string, opts ...RequestOption) (*Payment, error) {
	return c.paymentCall(ctx, http.MethodGet, id, "", nil, opts)
}

// ListPayments returns one page of the account's payments, newest first,
// narrowed by p's filters. AllPayments walks every page.
func (c *Client) ListPayments(ctx context.Context, p *PaymentListParams, opts ...RequestOption) (*PaymentList, error) {
	var l PaymentList
	if err := c.do(ctx, http.MethodGet, "/v1/payments", p.query(), nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

// AllPayments yields the account's payments that pass p's filters, newest
// first, fetching page after page (of p.Limit each, if set) from
// p.StartingAfter on. It stops after yielding the first error.
func (c *Client) AllPayments(ctx context.Context, p *PaymentListParams, opts ...RequestOption) iter.Seq2[*Payment, error] {
	var f PaymentListParams // the filters every page is asked with
	if p != nil {
		f = *p
	}
	return paginate(&f.ListParams, func(pay *Payment) string { return pay.ID },
		func(lp *ListParams) (*PaymentList, error) {
			q := f
			q.ListParams = *lp
			return c.ListPayments(ctx, &q, opts...)
		})
}

// CapturePayment captures p.Amount of the authorized payment id, or all
// that is left of it when p or p.Amount is nil, and returns the payment;
// its last operation says whether the gateway accepted the capture. More
// than is left is an *Error (status 422, code amount_exceeds_capturable);
// a payment that allows no capture one for which IsConflict holds.
func (c *Client) CapturePayment(ctx context.Context, id string, p *CaptureParams, opts ...RequestOption) (*Payment, error) {
	if p == nil {
		p = &CaptureParams{}
	}
	return c.paymentCall(ctx, http.MethodPost, id, "/capture", p, opts)
}

// VoidPayment releases the authorization of the payment id before anything
// is captured. A payment in any other status is an *Error for which
// IsConflict holds.
func (c *Client) VoidPayment(ctx context.Context, id string, opts ...RequestOption) (*Payment, error) {
	return c.paymentCall(ctx, http.MethodPost, id, "/void", struct{}{}, opts)
}

// RefundPayment refunds p.Amount of what was captured of the payment id, or
// all that is left of it when p or p.Amount is nil, and returns the
// payment. More than is left is an *Error (status 422, code
// amount_exceeds_refundable); a payment with nothing captured one for which
// IsConflict holds.
func (c *Client) RefundPayment(ctx context.Context, id string, p *RefundParams, opts ...RequestOption) (*Payment, error) {
	if p == nil {
		p = &RefundParams{}
	}
	return c.paymentCall(ctx, http.MethodPost, id, "/refunds", p, opts)
}

// paymentCall sends method to /v1/payments/{id}{action} with body and
// decodes the payment it answers with.
func (c *Client) paymentCall(ctx context.Context, method, id, action string, body any, opts []RequestOption) (*Payment, error) {
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var pay Payment
	if err := c.do(ctx, method, "/v1/payments/"+seg+action, nil, body, &pay, opts); err != nil {
		return nil, err
	}
	return &pay, nil
}

// CreateVerification asks a gateway whether a payment method is good,
// without moving money, and returns the verify operation whatever its
// outcome (a declined card has OutcomeDeclined).
func (c *Client) CreateVerification(ctx context.Context, p *VerificationParams, opts ...RequestOption) (*Operation, error) {
	if p == nil {
		p = &VerificationParams{}
	}
	var op Operation
	if err := c.do(ctx, http.MethodPost, "/v1/verifications", nil, p, &op, opts); err != nil {
		return nil, err
	}
	return &op, nil
}

// Operation returns the operation id: one of a payment's, or a
// verification. It returns an *Error for which IsNotFound holds if the
// account has no such operation.
func (c *Client) Operation(ctx context.Context, id string, opts ...RequestOption) (*Operation, error) {
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var op Operation
	if err := c.do(ctx, http.MethodGet, "/v1/operations/"+seg, nil, nil, &op, opts); err != nil {
		return nil, err
	}
	return &op, nil
}

// OperationTranscript returns what the server and the gateway exchanged
// for the operation id, scrubbed of card numbers, security codes and
// credentials.
func (c *Client) OperationTranscript(ctx context.Context, id string, opts ...RequestOption) (*Transcript, error) {
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var tr Transcript
	if err := c.do(ctx, http.MethodGet, "/v1/operations/"+seg+"/transcript", nil, nil, &tr, opts); err != nil {
		return nil, err
	}
	return &tr, nil
}
