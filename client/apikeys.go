package client

import (
	"context"
	"net/http"
)

// APIKeys lists the account's API keys, without their secrets.
func (c *Client) APIKeys(ctx context.Context, opts ...RequestOption) (*APIKeyList, error) {
	var l APIKeyList
	if err := c.do(ctx, http.MethodGet, "/v1/api_keys", nil, nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

// CreateAPIKey makes an API key. The returned key's Secret is shown this
// once and never again.
func (c *Client) CreateAPIKey(ctx context.Context, p *APIKeyParams, opts ...RequestOption) (*APIKey, error) {
	if p == nil {
		p = &APIKeyParams{}
	}
	var k APIKey
	if err := c.do(ctx, http.MethodPost, "/v1/api_keys", nil, p, &k, opts); err != nil {
		return nil, err
	}
	return &k, nil
}

// RollAPIKey replaces the key id by a new key of the same type, returned
// with its Secret. The old key stays valid for p.ExpiresIn; a nil p is the
// zero RollAPIKeyParams, which revokes it at once. It returns an *Error for
// which IsNotFound holds if id is not an active key of the account.
func (c *Client) RollAPIKey(ctx context.Context, id string, p *RollAPIKeyParams, opts ...RequestOption) (*APIKey, error) {
	if p == nil {
		p = &RollAPIKeyParams{}
	}
	return c.apiKeyCall(ctx, id, "/roll", p, opts)
}

// RevokeAPIKey revokes the key id at once.
func (c *Client) RevokeAPIKey(ctx context.Context, id string, opts ...RequestOption) (*APIKey, error) {
	return c.apiKeyCall(ctx, id, "/revoke", struct{}{}, opts)
}

func (c *Client) apiKeyCall(ctx context.Context, id, action string, body any, opts []RequestOption) (*APIKey, error) {
	seg, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var k APIKey
	if err := c.do(ctx, http.MethodPost, "/v1/api_keys/"+seg+action, nil, body, &k, opts); err != nil {
		return nil, err
	}
	return &k, nil
}
