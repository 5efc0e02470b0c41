package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// RedeliverToEndpointAs is RedeliverEvent to one endpoint, by p, written
// down: a webhook_endpoint.redelivered event on the endpoint names p as
// its actor and says what was queued. It returns how many deliveries were
// queued.
func (e *Engine) RedeliverToEndpointAs(ctx context.Context, p *payment.Principal, eventID, endpointID string) (int, error) {
	if endpointID == "" {
		return 0, payment.Missing("webhook_endpoint")
	}
	n, err := e.RedeliverEvent(ctx, p, eventID, endpointID)
	if err != nil {
		return 0, err
	}
	return n, e.recordRedelivery(ctx, p, endpointID, map[string]any{"kind": "redeliver", "event": eventID, "queued": n})
}

// RecoverWebhooksAs is RecoverWebhooks by p, written down as
// RedeliverToEndpointAs is.
func (e *Engine) RecoverWebhooksAs(ctx context.Context, p *payment.Principal, endpointID string, since, until time.Time) (int, error) {
	n, err := e.RecoverWebhooks(ctx, p, endpointID, since, until)
	if err != nil {
		return 0, err
	}
	data := map[string]any{"kind": "recover", "queued": n}
	if !since.IsZero() {
		data["since"] = since.UTC()
	}
	if !until.IsZero() {
		data["until"] = until.UTC()
	}
	return n, e.recordRedelivery(ctx, p, endpointID, data)
}

// recordRedelivery writes the event of a redelivery to endpointID, in the
// endpoint's update so that an endpoint deleted meanwhile gets none.
// The endpoint itself stays as it is.
func (e *Engine) recordRedelivery(ctx context.Context, p *payment.Principal, endpointID string, data map[string]any) error {
	now := e.clock()
	data["object"] = "webhook_redelivery"
	data["webhook_endpoint"] = endpointID
	_, err := e.store.UpdateWebhookEndpoint(ctx, p.Account.ID, endpointID, func(we *payment.WebhookEndpoint) (*payment.Event, error) {
		return causedBy(p, newEvent(p.Account.ID, EventWebhookEndpointRedelivered, we.ID, data, now)), nil
	})
	if err != nil {
		return fmt.Errorf("record redelivery to %s: %w", endpointID, err)
	}
	return nil
}
