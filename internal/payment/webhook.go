package payment

import (
	"context"
	"time"
)

// PurposeWebhookSecret keys the sealing of webhook endpoints' signing
// secrets.
const PurposeWebhookSecret = "webhook_secret"

// Id prefixes of the webhook objects.
const (
	PrefixWebhookEndpoint = "we"
	PrefixWebhookDelivery = "whd"
	PrefixWebhookAttempt  = "wha"
	PrefixWebhookMessage  = "msg"
)

// WebhookEndpoint is a URL of the merchant that kassa calls with the
// account's events, signed with the endpoint's secret.
type WebhookEndpoint struct {
	ID          string // we_…
	AccountID   string
	URL         string
	Description string
	Metadata    map[string]string
	// EnabledEvents are the event types sent: exact types, prefixes
	// ending in ".*", or "*".
	EnabledEvents []string
	// Live copies the account's mode: a live endpoint may not call private
	// addresses (unless the server allows it).
	Live bool

	// SecretSealed is the vault ciphertext of the signing secret.
	// OldSecretSealed, until OldSecretExpiresAt, is the secret it replaced,
	// which keeps signing beside it.
	SecretSealed       []byte
	SecretVersion      int
	OldSecretSealed    []byte
	OldSecretVersion   int
	OldSecretExpiresAt *time.Time

	// DisabledAt is set when the merchant disables the endpoint or kassa
	// does (a 410, or failing for too long); DisabledReason says which.
	// A disabled endpoint is sent nothing.
	DisabledAt     *time.Time
	DisabledReason string
	// FailingSince is the time of the first failed attempt since the last
	// success; nil while the endpoint is healthy.
	FailingSince *time.Time

	CreatedAt time.Time
	UpdatedAt time.Time
}

// WebhookDeliveryState is where a delivery stands.
type WebhookDeliveryState string

const (
	// DeliveryPending: not delivered yet; its next attempt is due at
	// NextAttemptAt. Entered when the delivery is written (with its event,
	// or by a redelivery); left for succeeded or failed after an attempt.
	DeliveryPending WebhookDeliveryState = "pending"
	// DeliverySucceeded: an attempt got a 2xx. Final (a redelivery makes
	// it pending again).
	DeliverySucceeded WebhookDeliveryState = "succeeded"
	// DeliveryFailed: the last attempt of the schedule failed, the
	// receiver refused it for good, or its endpoint was disabled. Final
	// until redelivered or recovered.
	DeliveryFailed WebhookDeliveryState = "failed"
)

// Signer names a delivery's way of signing. Each dialect's callbacks have
// their own; the engine resolves the name to the code and the key.
const (
	// SignerStandard signs as Standard Webhooks v1 with the endpoint's
	// secrets.
	SignerStandard = "standard"
)

// WebhookDelivery is one message to send to one URL, with the attempts
// made so far. A delivery of an event to a native endpoint takes its URL
// and secret from the endpoint when it is sent and its body from the
// event; a dialect's callback carries its own URL, headers and body.
type WebhookDelivery struct {
	ID         string // whd_…
	AccountID  string
	EndpointID string // "" for a dialect's callback
	EventID    string // "" for a message without an event (a ping)
	// MessageID is the webhook-id the receiver deduplicates by: the same
	// on every attempt and redelivery.
	MessageID string
	Signer    string
	// SignerKey names the key of a dialect's signer (its secret is the
	// engine's to find); empty for endpoint deliveries.
	SignerKey string
	Method    string            // "" means POST
	URL       string            // "" means the endpoint's
	Headers   map[string]string // extra headers of a callback
	Body      []byte            // nil means built from the event
	// Queue groups deliveries that share a receiver, each queue bounded
	// in concurrency: the endpoint id, or the callback URL's host.
	Queue string
	Live  bool

	State         WebhookDeliveryState
	Attempts      int
	NextAttemptAt time.Time
	LastAttemptAt *time.Time
	LastStatus    int
	LastError     string
	CompletedAt   *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time

	// Filled in by ClaimWebhookDeliveries: the endpoint (when there is
	// one) and the event (when there is one), as they are now.
	Endpoint *WebhookEndpoint
	Event    *Event
	// LeaseToken is the claim that holds the delivery; completing it
	// under another token does nothing.
	LeaseToken string
}

// WebhookAttempt is one try of a delivery, kept for the delivery log.
type WebhookAttempt struct {
	ID         string // wha_…
	AccountID  string
	DeliveryID string
	EndpointID string
	EventID    string
	EventType  string
	Attempt    int // 1 for the first
	URL        string
	StartedAt  time.Time
	Latency    time.Duration
	StatusCode int    // 0 when no response came
	Error      string // why it failed, when it did
	// ResponseBody is the first KiB of the answer, card numbers masked.
	ResponseBody string
	Succeeded    bool
}

// WebhookResult is how a claimed delivery's attempt ended and what happens
// next, as CompleteWebhookDelivery writes it.
type WebhookResult struct {
	Attempt *WebhookAttempt
	// State is the delivery's new state; NextAttemptAt is used while it
	// stays pending.
	State         WebhookDeliveryState
	NextAttemptAt time.Time
	// Health is what the attempt says of the endpoint. Disable, when set
	// with HealthFailing, disables the endpoint with that reason (and
	// Events are written: the webhook_endpoint.disabled event).
	Health  EndpointHealth
	Disable string
	Events  []*Event
}

// EndpointHealth is what an attempt says of its endpoint.
type EndpointHealth int

const (
	// HealthUnknown: nothing was sent (the endpoint is disabled or gone,
	// the event or a key is missing); the endpoint's record stays as it is.
	HealthUnknown EndpointHealth = iota
	// HealthOK: the endpoint took a delivery; FailingSince is cleared.
	HealthOK
	// HealthFailing: the endpoint failed an attempt; FailingSince is set
	// to the attempt's time unless already set.
	HealthFailing
)

// WebhookStore keeps webhook endpoints and their deliveries.
//
// Deliveries of an event to the account's endpoints are written by the
// stores themselves, in the transaction that writes the event: every
// enabled endpoint whose EnabledEvents match the event's type gets one.
type WebhookStore interface {
	// CreateWebhookEndpoint inserts we with its event. ErrNotFound if the
	// account does not exist.
	CreateWebhookEndpoint(ctx context.Context, we *WebhookEndpoint, ev *Event) error
	// WebhookEndpoint returns the account's endpoint, or ErrNotFound
	// (deleted ones included).
	WebhookEndpoint(ctx context.Context, accountID, id string) (*WebhookEndpoint, error)
	// WebhookEndpoints lists the account's endpoints, newest first.
	WebhookEndpoints(ctx context.Context, accountID string, p ListParams) ([]*WebhookEndpoint, bool, error)
	// UpdateWebhookEndpoint reads the endpoint, lets fn change it and
	// writes it with fn's event, atomically. ErrNotFound if there is none;
	// fn's error is returned as it is and nothing is written.
	UpdateWebhookEndpoint(ctx context.Context, accountID, id string, fn func(*WebhookEndpoint) (*Event, error)) (*WebhookEndpoint, error)
	// DeleteWebhookEndpoint deletes the endpoint and its pending
	// deliveries (its delivery log goes with it), with ev. ErrNotFound if
	// there is none.
	DeleteWebhookEndpoint(ctx context.Context, accountID, id string, ev *Event) error

	// CreateWebhookDeliveries inserts deliveries not made from an event
	// (a ping, a redelivery, a dialect's callback).
	CreateWebhookDeliveries(ctx context.Context, ds []*WebhookDelivery) error
	// ClaimWebhookDeliveries leases up to limit pending deliveries due at
	// now, at most perQueue of any one queue and none of the queues in
	// busy: each gets attempts+1, a new LeaseToken, and NextAttemptAt =
	// leaseUntil (so that, should this process die, it is due again
	// then). Of processes claiming at once, each delivery goes to one.
	ClaimWebhookDeliveries(ctx context.Context, now, leaseUntil time.Time, busy []string, perQueue, limit int) ([]*WebhookDelivery, error)
	// ReleaseWebhookDelivery gives a claimed delivery back unattempted,
	// due at when (attempts-1). No-op if the lease was lost.
	ReleaseWebhookDelivery(ctx context.Context, d *WebhookDelivery, when time.Time) error
	// CompleteWebhookDelivery records the attempt of a claimed delivery
	// and moves it to r's state, with the endpoint's health, atomically.
	// If the lease was lost the attempt is recorded and nothing else
	// changes (ErrConflict).
	CompleteWebhookDelivery(ctx context.Context, d *WebhookDelivery, r *WebhookResult) error
	// WebhookAttempts lists an endpoint's attempts, newest first.
	WebhookAttempts(ctx context.Context, accountID, endpointID string, p ListParams) ([]*WebhookAttempt, bool, error)
	// WebhookDeliveriesOfEvent lists the deliveries of the account's
	// event, oldest first.
	WebhookDeliveriesOfEvent(ctx context.Context, accountID, eventID string) ([]*WebhookDelivery, error)
	// RedeliverWebhooks makes pending, due at now, the deliveries of the
	// account matching f that are not pending, and returns how many. An
	// event with an endpoint that never had a delivery of it gets one
	// when f names both. newEvent, if not nil, renders the redelivery's
	// own event from how many were queued, and that event is written in
	// the same transaction: a redelivery is never without its record. It
	// needs f to name an endpoint, which must be the account's:
	// ErrNotFound otherwise, and nothing is written. A nil event, or
	// newEvent nil, writes none.
	RedeliverWebhooks(ctx context.Context, accountID string, f RedeliveryFilter, now time.Time,
		newEvent func(queued int) *Event) (int, error)
	// WebhookBacklog counts pending deliveries and returns the creation
	// time of the oldest (zero without one).
	WebhookBacklog(ctx context.Context) (count int, oldest time.Time, err error)
}

// RedeliveryFilter chooses deliveries to send again.
type RedeliveryFilter struct {
	EventID    string // one event's deliveries
	EndpointID string // one endpoint's deliveries
	// OnlyFailed keeps deliveries in state failed; Since and Until bound
	// their creation time (zero: unbounded).
	OnlyFailed   bool
	Since, Until time.Time
}
