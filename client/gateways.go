package client

import (
	"context"
	"iter"
	"net/http"
)

// GatewayTypes lists every gateway type the server offers, all on one page.
func (c *Client) GatewayTypes(ctx context.Context, opts ...RequestOption) (*GatewayTypeList, error) {
	var l GatewayTypeList
	if err := c.do(ctx, http.MethodGet, "/v1/gateway_types", nil, nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

// CreateGateway configures a gateway. The server checks p against the
// type: an unknown, ill-typed or missing field is an *Error whose Param
// names it ("credentials.password"). Send it with WithIdempotencyKey so that
// a retry cannot configure the gateway twice.
func (c *Client) CreateGateway(ctx context.Context, p *GatewayParams, opts ...RequestOption) (*Gateway, error) {
	if p == nil {
		p = &GatewayParams{}
	}
	var g Gateway
	if err := c.do(ctx, http.MethodPost, "/v1/gateways", nil, p, &g, opts); err != nil {
		return nil, err
	}
	return &g, nil
}

// Gateway returns the gateway id. It returns an *Error for which IsNotFound
// holds if the account has no such gateway.
func (c *Client) Gateway(ctx context.Context, id string, opts ...RequestOption) (*Gateway, error) {
	return c.gatewayCall(ctx, http.MethodGet, id, "", nil, opts)
}

// ListGateways returns one page of the account's gateways, newest first.
// AllGateways walks every page.
func (c *Client) ListGateways(ctx context.Context, p *ListParams, opts ...RequestOption) (*GatewayList, error) {
	var l GatewayList
	if err := c.do(ctx, http.MethodGet, "/v1/gateways", p.query(), nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

// AllGateways yields the account's gateways, newest first, fetching page
// after page (of p.Limit each, if set) from p.StartingAfter on. It stops
// after yielding the first error.
func (c *Client) AllGateways(ctx context.Context, p *ListParams, opts ...RequestOption) iter.Seq2[*Gateway, error] {
	return paginate(p, func(g *Gateway) string { return g.ID },
		func(p *ListParams) (*GatewayList, error) { return c.ListGateways(ctx, p, opts...) })
}

// UpdateGateway changes the non-nil fields of p on the gateway id (PATCH)
// and returns it as it is now. Sending it again sets the same fields again,
// so it takes no idempotency key.
func (c *Client) UpdateGateway(ctx context.Context, id string, p *UpdateGatewayParams, opts ...RequestOption) (*Gateway, error) {
	if p == nil {
		p = &UpdateGatewayParams{}
	}
	return c.gatewayCall(ctx, http.MethodPatch, id, "", p, opts)
}

// SetGatewayCredentials makes a new credential version of the gateway id
// (PUT) and returns the gateway with it. New payments use the new version;
// follow-ups of earlier payments keep theirs. Credentials the gateway
// refuses are an *Error with status 422, and nothing is saved. On a
// redacted gateway, new credentials make it retained again.
func (c *Client) SetGatewayCredentials(ctx context.Context, id string, p *GatewayCredentialsParams, opts ...RequestOption) (*Gateway, error) {
	if p == nil {
		p = &GatewayCredentialsParams{}
	}
	return c.gatewayCall(ctx, http.MethodPut, id, "/credentials", p, opts)
}

// GatewayCredentialHistory lists every credential version of the gateway
// id, newest first, without their values.
func (c *Client) GatewayCredentialHistory(ctx context.Context, id string, opts ...RequestOption) (*CredentialVersionList, error) {
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var l CredentialVersionList
	if err := c.do(ctx, http.MethodGet, "/v1/gateways/"+seg+"/credentials", nil, nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

// RetainGateway keeps the gateway id. It returns an *Error for which
// IsConflict holds if the gateway is redacted: set new credentials instead.
func (c *Client) RetainGateway(ctx context.Context, id string, opts ...RequestOption) (*Gateway, error) {
	return c.gatewayCall(ctx, http.MethodPost, id, "/retain", struct{}{}, opts)
}

// RedactGateway destroys every credential version of the gateway id for
// good. The gateway and its payments stay readable; payments through it are
// refused until SetGatewayCredentials.
func (c *Client) RedactGateway(ctx context.Context, id string, opts ...RequestOption) (*Gateway, error) {
	return c.gatewayCall(ctx, http.MethodPost, id, "/redact", struct{}{}, opts)
}

// gatewayCall sends method to /v1/gateways/{id}{action} with body and
// decodes the gateway it answers with.
func (c *Client) gatewayCall(ctx context.Context, method, id, action string, body any, opts []RequestOption) (*Gateway, error) {
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var g Gateway
	if err := c.do(ctx, method, "/v1/gateways/"+seg+action, nil, body, &g, opts); err != nil {
		return nil, err
	}
	return &g, nil
}
