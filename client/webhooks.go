package client

import (
	"context"
	"iter"
	"net/http"
)

// CreateWebhookEndpoint adds an endpoint that kassa calls with the
// account's events of p.EnabledEvents, signed as Standard Webhooks. The
// returned endpoint's Secret (whsec_…) is shown this once: keep it to
// verify the signatures. An unknown event type, a bad URL, or a private
// address on a live account is an *Error whose Param names the field.
func (c *Client) CreateWebhookEndpoint(ctx context.Context, p *WebhookEndpointParams, opts ...RequestOption) (*WebhookEndpoint, error) {
	if p == nil {
		p = &WebhookEndpointParams{}
	}
	var we WebhookEndpoint
	if err := c.do(ctx, http.MethodPost, "/v1/webhook_endpoints", nil, p, &we, opts); err != nil {
		return nil, err
	}
	return &we, nil
}

// WebhookEndpoint returns the endpoint id, without its secret. It returns
// an *Error for which IsNotFound holds if the account has no such endpoint.
func (c *Client) WebhookEndpoint(ctx context.Context, id string, opts ...RequestOption) (*WebhookEndpoint, error) {
	return c.webhookEndpointCall(ctx, http.MethodGet, id, "", nil, opts)
}

// ListWebhookEndpoints returns one page of the account's endpoints, newest
// first. AllWebhookEndpoints walks every page.
func (c *Client) ListWebhookEndpoints(ctx context.Context, p *ListParams, opts ...RequestOption) (*WebhookEndpointList, error) {
	var l WebhookEndpointList
	if err := c.do(ctx, http.MethodGet, "/v1/webhook_endpoints", p.query(), nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

// AllWebhookEndpoints yields the account's endpoints, newest first,
// fetching page after page (of p.Limit each, if set) from p.StartingAfter
// on. It stops after yielding the first error.
func (c *Client) AllWebhookEndpoints(ctx context.Context, p *ListParams, opts ...RequestOption) iter.Seq2[*WebhookEndpoint, error] {
	return paginate(p, func(we *WebhookEndpoint) string { return we.ID },
		func(p *ListParams) (*WebhookEndpointList, error) { return c.ListWebhookEndpoints(ctx, p, opts...) })
}

// UpdateWebhookEndpoint changes the non-nil fields of p on the endpoint id
// and returns it as it is now. Enabling a disabled endpoint (Disabled
// false) clears the reason kassa disabled it for.
func (c *Client) UpdateWebhookEndpoint(ctx context.Context, id string, p *UpdateWebhookEndpointParams, opts ...RequestOption) (*WebhookEndpoint, error) {
	if p == nil {
		p = &UpdateWebhookEndpointParams{}
	}
	return c.webhookEndpointCall(ctx, http.MethodPost, id, "", p, opts)
}

// DeleteWebhookEndpoint deletes the endpoint id with its pending
// deliveries and its delivery log.
func (c *Client) DeleteWebhookEndpoint(ctx context.Context, id string, opts ...RequestOption) (*Deleted, error) {
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var d Deleted
	if err := c.do(ctx, http.MethodDelete, "/v1/webhook_endpoints/"+seg, nil, nil, &d, opts); err != nil {
		return nil, err
	}
	return &d, nil
}

// RotateWebhookSecret gives the endpoint id a new secret, returned in the
// endpoint's Secret this once. The old secret keeps signing beside the new
// one for 24 hours (every message carries both signatures), so receivers
// can switch at their pace, unless p.ExpireOldNow (a secret that leaked).
func (c *Client) RotateWebhookSecret(ctx context.Context, id string, p *RotateWebhookSecretParams, opts ...RequestOption) (*WebhookEndpoint, error) {
	if p == nil {
		p = &RotateWebhookSecretParams{}
	}
	return c.webhookEndpointCall(ctx, http.MethodPost, id, "/rotate_secret", p, opts)
}

// PingWebhookEndpoint queues a webhook.ping message to the endpoint id
// alone and returns its delivery. A disabled endpoint is an *Error for
// which IsConflict holds.
func (c *Client) PingWebhookEndpoint(ctx context.Context, id string, opts ...RequestOption) (*WebhookDelivery, error) {
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var d WebhookDelivery
	if err := c.do(ctx, http.MethodPost, "/v1/webhook_endpoints/"+seg+"/ping", nil, struct{}{}, &d, opts); err != nil {
		return nil, err
	}
	return &d, nil
}

// RecoverWebhooks sends the endpoint id again every delivery that failed
// among those created in p's window (nil bounds: unbounded), each with its
// first webhook-id, and says how many it queued.
func (c *Client) RecoverWebhooks(ctx context.Context, id string, p *RecoverWebhooksParams, opts ...RequestOption) (*Queued, error) {
	if p == nil {
		p = &RecoverWebhooksParams{}
	}
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var q Queued
	if err := c.do(ctx, http.MethodPost, "/v1/webhook_endpoints/"+seg+"/recover", nil, p, &q, opts); err != nil {
		return nil, err
	}
	return &q, nil
}

// WebhookAttempts returns one page of the delivery log of the endpoint id:
// its attempts, newest first. AllWebhookAttempts walks every page.
func (c *Client) WebhookAttempts(ctx context.Context, id string, p *ListParams, opts ...RequestOption) (*WebhookAttemptList, error) {
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var l WebhookAttemptList
	if err := c.do(ctx, http.MethodGet, "/v1/webhook_endpoints/"+seg+"/deliveries", p.query(), nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

// AllWebhookAttempts yields the attempts of the endpoint id, newest first,
// fetching page after page (of p.Limit each, if set) from p.StartingAfter
// on. It stops after yielding the first error.
func (c *Client) AllWebhookAttempts(ctx context.Context, id string, p *ListParams, opts ...RequestOption) iter.Seq2[*WebhookAttempt, error] {
	return paginate(p, func(a *WebhookAttempt) string { return a.ID },
		func(p *ListParams) (*WebhookAttemptList, error) { return c.WebhookAttempts(ctx, id, p, opts...) })
}

// Event returns the event id. Its id is the webhook-id of every delivery
// of it. It returns an *Error for which IsNotFound holds if the account has
// no such event.
func (c *Client) Event(ctx context.Context, id string, opts ...RequestOption) (*Event, error) {
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var ev Event
	if err := c.do(ctx, http.MethodGet, "/v1/events/"+seg, nil, nil, &ev, opts); err != nil {
		return nil, err
	}
	return &ev, nil
}

// RedeliverEvent sends the event id again, with the same webhook-id: to
// p.WebhookEndpoint alone (which gets it even if it never had it), or, when
// p or p.WebhookEndpoint is empty, to every endpoint that had it. It says
// how many deliveries it queued.
func (c *Client) RedeliverEvent(ctx context.Context, id string, p *RedeliverEventParams, opts ...RequestOption) (*Queued, error) {
	if p == nil {
		p = &RedeliverEventParams{}
	}
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var q Queued
	if err := c.do(ctx, http.MethodPost, "/v1/events/"+seg+"/redeliver", nil, p, &q, opts); err != nil {
		return nil, err
	}
	return &q, nil
}

// EventTypes lists every event type kassa emits, with its meaning, all on
// one page: what WebhookEndpointParams.EnabledEvents may name.
func (c *Client) EventTypes(ctx context.Context, opts ...RequestOption) (*EventTypeList, error) {
	var l EventTypeList
	if err := c.do(ctx, http.MethodGet, "/v1/event_types", nil, nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

// webhookEndpointCall sends method to /v1/webhook_endpoints/{id}{action}
// with body and decodes the endpoint it answers with.
func (c *Client) webhookEndpointCall(ctx context.Context, method, id, action string, body any, opts []RequestOption) (*WebhookEndpoint, error) {
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var we WebhookEndpoint
	if err := c.do(ctx, method, "/v1/webhook_endpoints/"+seg+action, nil, body, &we, opts); err != nil {
		return nil, err
	}
	return &we, nil
}
