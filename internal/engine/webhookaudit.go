package engine

import (
	"context"
	"maps"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// RedeliverToEndpointAs is RedeliverEvent to one endpoint, by p, written
// down: a webhook_endpoint.redelivered event on the endpoint names p as
// its actor and says what was queued. It is written with the redelivery,
// in one transaction: a crash leaves both or neither. It returns how many
// deliveries were queued.
func (e *Engine) RedeliverToEndpointAs(ctx context.Context, p *payment.Principal, eventID, endpointID string) (int, error) {
	if endpointID == "" {
		return 0, payment.Missing("webhook_endpoint")
	}
	return e.redeliverEvent(ctx, p, eventID, endpointID,
		redeliveryEvent(p, endpointID, map[string]any{"kind": "redeliver", "event": eventID}))
}

// RecoverWebhooksAs is RecoverWebhooks by p, written down as
// RedeliverToEndpointAs is.
func (e *Engine) RecoverWebhooksAs(ctx context.Context, p *payment.Principal, endpointID string, since, until time.Time) (int, error) {
	data := map[string]any{"kind": "recover"}
	if !since.IsZero() {
		data["since"] = since.UTC()
	}
	if !until.IsZero() {
		data["until"] = until.UTC()
	}
	return e.recoverWebhooks(ctx, p, endpointID, since, until, redeliveryEvent(p, endpointID, data))
}

// redeliveryEvent renders the event of a redelivery to endpointID by p:
// data, with how many deliveries were queued, on the endpoint. The store
// writes it in the redelivery's transaction, and none when the endpoint
// was deleted meanwhile (then nothing is redelivered either).
func redeliveryEvent(p *payment.Principal, endpointID string, data map[string]any) func(int, time.Time) *payment.Event {
	return func(queued int, now time.Time) *payment.Event {
		d := make(map[string]any, len(data)+3)
		maps.Copy(d, data)
		d["object"] = "webhook_redelivery"
		d["webhook_endpoint"] = endpointID
		d["queued"] = queued
		return causedBy(p, newEvent(p.Account.ID, EventWebhookEndpointRedelivered, endpointID, d, now))
	}
}
