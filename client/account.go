package client

import (
	"context"
	"iter"
	"net/http"
)

// Account returns the account the client's API key belongs to.
func (c *Client) Account(ctx context.Context, opts ...RequestOption) (*Account, error) {
	var a Account
	if err := c.do(ctx, http.MethodGet, "/v1/account", nil, nil, &a, opts); err != nil {
		return nil, err
	}
	return &a, nil
}

// Events returns one page of the account's events, newest first. AllEvents
// walks every page.
func (c *Client) Events(ctx context.Context, p *ListParams, opts ...RequestOption) (*EventList, error) {
	var l EventList
	if err := c.do(ctx, http.MethodGet, "/v1/events", p.query(), nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

// AllEvents yields the account's events, newest first, fetching page after
// page (of p.Limit each, if set) from p.StartingAfter on. It stops after
// yielding the first error.
func (c *Client) AllEvents(ctx context.Context, p *ListParams, opts ...RequestOption) iter.Seq2[*Event, error] {
	return paginate(p, func(e *Event) string { return e.ID },
		func(p *ListParams) (*EventList, error) { return c.Events(ctx, p, opts...) })
}

// Health reports whether the server is up (GET /healthz): nil when it
// answers 2xx, an *Error when it answers otherwise. It sends no API key.
func (c *Client) Health(ctx context.Context, opts ...RequestOption) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, nil, nil, opts)
}

// Ready reports whether the server can serve requests, its storage
// included (GET /readyz): nil when it answers 2xx, an *Error (typically
// status 503) when it answers otherwise. It sends no API key.
func (c *Client) Ready(ctx context.Context, opts ...RequestOption) error {
	return c.do(ctx, http.MethodGet, "/readyz", nil, nil, nil, opts)
}
