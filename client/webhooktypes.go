package client

import (
	"fmt"
	"log/slog"
	"time"
)

// Event types of webhook endpoints. EventTypes lists every type.
const (
	EventWebhookEndpointCreated  = "webhook_endpoint.created"
	EventWebhookEndpointUpdated  = "webhook_endpoint.updated"
	EventWebhookEndpointDeleted  = "webhook_endpoint.deleted"
	EventWebhookEndpointDisabled = "webhook_endpoint.disabled"
	// EventWebhookPing is sent by PingWebhookEndpoint, to that endpoint
	// alone; it is no event of the account.
	EventWebhookPing = "webhook.ping"
)

// WebhookEndpointStatus is whether kassa sends an endpoint anything.
type WebhookEndpointStatus string

const (
	// WebhookEndpointEnabled: sent the events it enables. Entered on
	// creation and by enabling it (UpdateWebhookEndpoint, Disabled false).
	WebhookEndpointEnabled WebhookEndpointStatus = "enabled"
	// WebhookEndpointDisabled: sent nothing; DisabledReason says whether
	// the merchant disabled it or kassa did (a 410, or five days of
	// failures). Left by enabling it.
	WebhookEndpointDisabled WebhookEndpointStatus = "disabled"
)

// WebhookEndpoint is a URL that kassa calls with the account's events.
// Secret is set only in the answers of CreateWebhookEndpoint and
// RotateWebhookSecret, and is never shown again; fmt and log/slog print the
// endpoint without it.
type WebhookEndpoint struct {
	ID          string `json:"id"`
	Object      string `json:"object"` // "webhook_endpoint"
	URL         string `json:"url"`
	Description string `json:"description"`
	// EnabledEvents are exact event types, prefixes such as "payment.*",
	// or "*".
	EnabledEvents  []string              `json:"enabled_events"`
	Metadata       map[string]string     `json:"metadata"`
	Status         WebhookEndpointStatus `json:"status"`
	DisabledAt     *time.Time            `json:"disabled_at"`
	DisabledReason *string               `json:"disabled_reason"`
	// FailingSince is the first failed attempt since the last success;
	// nil while the endpoint is healthy.
	FailingSince *time.Time `json:"failing_since"`
	// SecretVersion counts the endpoint's secrets: 1, then one more per
	// rotation.
	SecretVersion int `json:"secret_version"`
	// OldSecretExpiresAt is set while the secret a rotation replaced still
	// signs beside the new one.
	OldSecretExpiresAt *time.Time `json:"old_secret_expires_at"`
	Livemode           bool       `json:"livemode"`
	// Secret is the signing secret, "whsec_" and base64: the HMAC key is
	// the base64 decoding of what follows the prefix.
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// String describes we without its secret.
func (we WebhookEndpoint) String() string {
	s := "webhook_endpoint " + we.ID + " (" + we.URL + ", " + string(we.Status)
	if we.Secret != "" {
		s += ", secret redacted"
	}
	return s + ")"
}

// Format prints String for every verb, so no verb can print the secret.
func (we WebhookEndpoint) Format(f fmt.State, verb rune) { formatRedacted(f, verb, we.String()) }

// LogValue logs we without its secret.
func (we WebhookEndpoint) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", we.ID), slog.String("url", we.URL),
		slog.String("status", string(we.Status)), slog.Int("secret_version", we.SecretVersion))
}

// WebhookEndpointParams add a webhook endpoint.
type WebhookEndpointParams struct {
	// URL is http or https. Live accounts may not name loopback, private
	// or link-local addresses (unless the server allows it); test
	// accounts may.
	URL string `json:"url"`
	// EnabledEvents are exact types (from EventTypes), prefixes such as
	// "payment.*", or "*" for all; at least one.
	EnabledEvents []string          `json:"enabled_events"`
	Description   string            `json:"description,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
	// Disabled creates the endpoint disabled.
	Disabled bool `json:"disabled,omitempty"`
}

// UpdateWebhookEndpointParams change an endpoint; nil fields are left as
// they are.
type UpdateWebhookEndpointParams struct {
	URL *string `json:"url,omitempty"`
	// EnabledEvents, when not nil, replaces the list.
	EnabledEvents []string `json:"enabled_events,omitempty"`
	Description   *string  `json:"description,omitempty"`
	// Metadata is merged into the existing metadata; a key set to "" is
	// removed.
	Metadata map[string]string `json:"metadata,omitempty"`
	// Disabled true disables the endpoint, false enables it again.
	Disabled *bool `json:"disabled,omitempty"`
}

// RotateWebhookSecretParams say how an endpoint's secret is replaced.
type RotateWebhookSecretParams struct {
	// ExpireOldNow stops the old secret at once instead of letting it sign
	// beside the new one for 24 hours.
	ExpireOldNow bool `json:"expire_old_now"`
}

// RecoverWebhooksParams bound the creation time of the failed deliveries
// RecoverWebhooks sends again; nil is unbounded.
type RecoverWebhooksParams struct {
	Since *time.Time `json:"since,omitempty"`
	Until *time.Time `json:"until,omitempty"`
}

// RedeliverEventParams choose who gets an event again.
type RedeliverEventParams struct {
	// WebhookEndpoint is an endpoint id; empty means every endpoint that
	// had the event.
	WebhookEndpoint string `json:"webhook_endpoint,omitempty"`
}

// WebhookDelivery is a message queued for an endpoint, as a ping answers
// it.
type WebhookDelivery struct {
	ID              string `json:"id"`
	Object          string `json:"object"` // "webhook_delivery"
	WebhookEndpoint string `json:"webhook_endpoint"`
	// MessageID is the webhook-id the receiver gets.
	MessageID string    `json:"message_id"`
	Status    string    `json:"status"` // "pending", "succeeded" or "failed"
	CreatedAt time.Time `json:"created_at"`
}

// WebhookAttempt is one attempt of a delivery, from an endpoint's delivery
// log.
type WebhookAttempt struct {
	ID       string `json:"id"`
	Object   string `json:"object"` // "webhook_attempt"
	Delivery string `json:"delivery"`
	// Event is nil for a message that is no event (a ping).
	Event     *string `json:"event"`
	EventType string  `json:"event_type"`
	// Attempt is 1 for a delivery's first.
	Attempt   int    `json:"attempt"`
	URL       string `json:"url"`
	Succeeded bool   `json:"succeeded"`
	// StatusCode is nil when no answer came (Error says why).
	StatusCode *int    `json:"status_code"`
	LatencyMS  int64   `json:"latency_ms"`
	Error      *string `json:"error"`
	// ResponseBody is the first KiB of the receiver's answer.
	ResponseBody string    `json:"response_body"`
	CreatedAt    time.Time `json:"created_at"`
}

// Queued says how many deliveries a redelivery or a recovery queued.
type Queued struct {
	Object string `json:"object"` // "webhook_redelivery" or "webhook_recovery"
	Queued int    `json:"queued"`
}

// Deleted answers a deletion.
type Deleted struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

// EventType is a type of event kassa emits, with what it means.
type EventType struct {
	Type        string `json:"type"`
	Description string `json:"description"`
}

// Pages of the webhook list endpoints.
type (
	WebhookEndpointList = List[*WebhookEndpoint]
	WebhookAttemptList  = List[*WebhookAttempt]
	EventTypeList       = List[*EventType]
)
