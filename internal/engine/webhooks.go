package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/webhook"
)

// Limits of a webhook endpoint.
const (
	maxEnabledEvents   = 100
	maxWebhookDescLen  = 500
	maxWebhookPatLen   = 100
	secretOverlap      = 24 * time.Hour
	defaultDisableWait = 5 * 24 * time.Hour
)

// WebhookEndpointInput creates or changes a webhook endpoint; nil fields
// are left as they are (on create, URL and EnabledEvents are required).
type WebhookEndpointInput struct {
	URL           *string
	EnabledEvents []string
	Description   *string
	Metadata      map[string]string
	Disabled      *bool
}

// WebhookEndpointObject is a webhook endpoint as the native API shows it.
// Secret is set only in the answer that made the secret.
type WebhookEndpointObject struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	URL                string            `json:"url"`
	Description        string            `json:"description"`
	EnabledEvents      []string          `json:"enabled_events"`
	Metadata           map[string]string `json:"metadata"`
	Status             string            `json:"status"`
	DisabledAt         *time.Time        `json:"disabled_at"`
	DisabledReason     *string           `json:"disabled_reason"`
	FailingSince       *time.Time        `json:"failing_since"`
	SecretVersion      int               `json:"secret_version"`
	OldSecretExpiresAt *time.Time        `json:"old_secret_expires_at"`
	Livemode           bool              `json:"livemode"`
	Secret             string            `json:"secret,omitempty"`
	CreatedAt          time.Time         `json:"created_at"`
	UpdatedAt          time.Time         `json:"updated_at"`
}

// WebhookEndpointObjectOf renders we (without its secret).
func WebhookEndpointObjectOf(we *payment.WebhookEndpoint) *WebhookEndpointObject {
	o := &WebhookEndpointObject{ID: we.ID, Object: "webhook_endpoint", URL: we.URL, Description: we.Description,
		EnabledEvents: we.EnabledEvents, Metadata: we.Metadata, Status: "enabled", DisabledAt: we.DisabledAt,
		FailingSince: we.FailingSince, SecretVersion: we.SecretVersion, Livemode: we.Live,
		CreatedAt: we.CreatedAt, UpdatedAt: we.UpdatedAt}
	if we.OldSecretSealed != nil {
		o.OldSecretExpiresAt = we.OldSecretExpiresAt
	}
	if o.Metadata == nil {
		o.Metadata = map[string]string{}
	}
	if we.DisabledAt != nil {
		o.Status = "disabled"
		o.DisabledReason = &we.DisabledReason
	}
	return o
}

// WebhookAttemptObject is one attempt of a delivery, as the delivery log
// shows it.
type WebhookAttemptObject struct {
	ID           string    `json:"id"`
	Object       string    `json:"object"`
	Delivery     string    `json:"delivery"`
	Event        *string   `json:"event"`
	EventType    string    `json:"event_type"`
	Attempt      int       `json:"attempt"`
	URL          string    `json:"url"`
	Succeeded    bool      `json:"succeeded"`
	StatusCode   *int      `json:"status_code"`
	LatencyMS    int64     `json:"latency_ms"`
	Error        *string   `json:"error"`
	ResponseBody string    `json:"response_body"`
	CreatedAt    time.Time `json:"created_at"`
}

// WebhookAttemptObjectOf renders a.
func WebhookAttemptObjectOf(a *payment.WebhookAttempt) *WebhookAttemptObject {
	o := &WebhookAttemptObject{ID: a.ID, Object: "webhook_attempt", Delivery: a.DeliveryID, EventType: a.EventType,
		Attempt: a.Attempt, URL: a.URL, Succeeded: a.Succeeded, LatencyMS: a.Latency.Milliseconds(),
		ResponseBody: a.ResponseBody, CreatedAt: a.StartedAt}
	if a.EventID != "" {
		o.Event = &a.EventID
	}
	if a.StatusCode != 0 {
		o.StatusCode = &a.StatusCode
	}
	if a.Error != "" {
		o.Error = &a.Error
	}
	return o
}

// secretRecord is the vault record a secret version of an endpoint is
// sealed for.
func secretRecord(endpointID string, version int) string {
	return endpointID + "/secret/" + strconv.Itoa(version)
}

// checkWebhookInput checks in against the account; create requires the
// URL and the enabled events.
func (e *Engine) checkWebhookInput(ctx context.Context, acct *payment.Account, in *WebhookEndpointInput, create bool) error {
	if in.URL == nil && create {
		return payment.Missing("url")
	}
	if in.URL != nil {
		if err := checkText("url", *in.URL, 2048); err != nil {
			return err
		}
		if err := webhook.CheckURL(ctx, *in.URL, !acct.Live || e.cfg.WebhookAllowPrivate); err != nil {
			return payment.Invalid(payment.CodeParameterInvalid, "url", "url %s.", err)
		}
	}
	if in.EnabledEvents == nil && create {
		return payment.Missing("enabled_events")
	}
	if in.EnabledEvents != nil {
		if len(in.EnabledEvents) == 0 || len(in.EnabledEvents) > maxEnabledEvents {
			return payment.Invalid(payment.CodeParameterInvalid, "enabled_events",
				"enabled_events must list 1 to %d event types; '*' enables all.", maxEnabledEvents)
		}
		for i, p := range in.EnabledEvents {
			param := "enabled_events[" + strconv.Itoa(i) + "]"
			if len(p) > maxWebhookPatLen || !checkEventPattern(p) {
				if err := CheckNoCardNumber(param, p); err != nil {
					return err
				}
				return payment.Invalid("unknown_event_type", param,
					"%s is not an event type kassa emits, a prefix like 'payment.*', or '*': see GET /v1/event_types.", param)
			}
		}
		slices.Sort(in.EnabledEvents)
		in.EnabledEvents = slices.Compact(in.EnabledEvents)
	}
	if in.Description != nil {
		if err := checkText("description", *in.Description, maxWebhookDescLen); err != nil {
			return err
		}
	}
	return checkMetadata(in.Metadata)
}

// CreateWebhookEndpoint adds an endpoint to the caller's account with a new
// signing secret, which the answer shows this once.
func (e *Engine) CreateWebhookEndpoint(ctx context.Context, p *payment.Principal, in WebhookEndpointInput) (*WebhookEndpointObject, error) {
	acct := p.Account
	if err := e.checkWebhookInput(ctx, acct, &in, true); err != nil {
		return nil, err
	}
	now := e.clock()
	we := &payment.WebhookEndpoint{ID: payment.NewID(payment.PrefixWebhookEndpoint), AccountID: acct.ID,
		URL: *in.URL, EnabledEvents: in.EnabledEvents, Metadata: map[string]string{}, Live: acct.Live,
		SecretVersion: 1, CreatedAt: now, UpdatedAt: now}
	if in.Description != nil {
		we.Description = *in.Description
	}
	md, err := mergeMetadata(we.Metadata, in.Metadata)
	if err != nil {
		return nil, err
	}
	we.Metadata = md
	if in.Disabled != nil && *in.Disabled {
		we.DisabledAt, we.DisabledReason = &now, "Disabled by the merchant."
	}
	secret := webhook.NewSecret()
	sealed, err := e.vault.Seal(ctx, acct.ID, payment.PurposeWebhookSecret, secretRecord(we.ID, 1), []byte(secret))
	if err != nil {
		return nil, fmt.Errorf("seal webhook secret: %w", err)
	}
	we.SecretSealed = sealed
	ev := causedBy(p, newEvent(acct.ID, EventWebhookEndpointCreated, we.ID, WebhookEndpointObjectOf(we), now))
	if err := e.store.CreateWebhookEndpoint(ctx, we, ev); err != nil {
		return nil, fmt.Errorf("create webhook endpoint: %w", err)
	}
	o := WebhookEndpointObjectOf(we)
	o.Secret = secret
	return o, nil
}

// WebhookEndpoint returns the caller's endpoint id.
func (e *Engine) WebhookEndpoint(ctx context.Context, p *payment.Principal, id string) (*payment.WebhookEndpoint, error) {
	return e.store.WebhookEndpoint(ctx, p.Account.ID, id)
}

// WebhookEndpoints lists the caller's endpoints, newest first.
func (e *Engine) WebhookEndpoints(ctx context.Context, p *payment.Principal, lp payment.ListParams) ([]*payment.WebhookEndpoint, bool, error) {
	return e.store.WebhookEndpoints(ctx, p.Account.ID, lp)
}

// UpdateWebhookEndpoint changes an endpoint's URL, events, description,
// metadata, or disables or enables it. Enabling clears the reason kassa
// disabled it for and its failure streak.
func (e *Engine) UpdateWebhookEndpoint(ctx context.Context, p *payment.Principal, id string, in WebhookEndpointInput) (*payment.WebhookEndpoint, error) {
	acct := p.Account
	if err := e.checkWebhookInput(ctx, acct, &in, false); err != nil {
		return nil, err
	}
	now := e.clock()
	return e.store.UpdateWebhookEndpoint(ctx, acct.ID, id, func(we *payment.WebhookEndpoint) (*payment.Event, error) {
		if in.URL != nil {
			we.URL = *in.URL
		}
		if in.EnabledEvents != nil {
			we.EnabledEvents = in.EnabledEvents
		}
		if in.Description != nil {
			we.Description = *in.Description
		}
		md, err := mergeMetadata(we.Metadata, in.Metadata)
		if err != nil {
			return nil, err
		}
		if md == nil {
			md = map[string]string{}
		}
		we.Metadata = md
		if in.Disabled != nil {
			switch {
			case *in.Disabled && we.DisabledAt == nil:
				we.DisabledAt, we.DisabledReason = &now, "Disabled by the merchant."
			case !*in.Disabled && we.DisabledAt != nil:
				we.DisabledAt, we.DisabledReason, we.FailingSince = nil, "", nil
			}
		}
		we.UpdatedAt = now
		return causedBy(p, newEvent(acct.ID, EventWebhookEndpointUpdated, we.ID, WebhookEndpointObjectOf(we), now)), nil
	})
}

// DeleteWebhookEndpoint deletes an endpoint, its pending deliveries and
// its delivery log.
func (e *Engine) DeleteWebhookEndpoint(ctx context.Context, p *payment.Principal, id string) error {
	now := e.clock()
	ev := causedBy(p, newEvent(p.Account.ID, EventWebhookEndpointDeleted, id,
		map[string]any{"id": id, "object": "webhook_endpoint", "deleted": true}, now))
	return e.store.DeleteWebhookEndpoint(ctx, p.Account.ID, id, ev)
}

// RotateWebhookSecret gives an endpoint a new secret, shown this once. The
// old one keeps signing beside it for 24 hours, or stops at once when
// expireOldNow (a secret that leaked). A secret already replaced within
// the overlap is dropped: two signatures at most.
func (e *Engine) RotateWebhookSecret(ctx context.Context, p *payment.Principal, id string, expireOldNow bool) (*WebhookEndpointObject, error) {
	acct := p.Account
	secret := webhook.NewSecret()
	// The secret is sealed before the update, never inside it: sealing may
	// reserve data key uses in the store, which inside the update's
	// transaction would wait for SQLite's one writer that runs it. The
	// update then checks that no other rotation took the version.
	for range 5 {
		cur, err := e.store.WebhookEndpoint(ctx, acct.ID, id)
		if err != nil {
			return nil, err
		}
		v := cur.SecretVersion + 1
		sealed, err := e.vault.Seal(ctx, acct.ID, payment.PurposeWebhookSecret, secretRecord(id, v), []byte(secret))
		if err != nil {
			return nil, fmt.Errorf("seal webhook secret: %w", err)
		}
		now := e.clock()
		we, err := e.store.UpdateWebhookEndpoint(ctx, acct.ID, id, func(we *payment.WebhookEndpoint) (*payment.Event, error) {
			if we.SecretVersion != cur.SecretVersion {
				return nil, errRotatedMeanwhile
			}
			if expireOldNow {
				we.OldSecretSealed, we.OldSecretVersion, we.OldSecretExpiresAt = nil, 0, nil
			} else {
				until := now.Add(secretOverlap)
				we.OldSecretSealed, we.OldSecretVersion, we.OldSecretExpiresAt = we.SecretSealed, we.SecretVersion, &until
			}
			we.SecretSealed, we.SecretVersion, we.UpdatedAt = sealed, v, now
			return causedBy(p, newEvent(acct.ID, EventWebhookEndpointUpdated, we.ID, WebhookEndpointObjectOf(we), now)), nil
		})
		if errors.Is(err, errRotatedMeanwhile) {
			continue
		}
		if err != nil {
			return nil, err
		}
		o := WebhookEndpointObjectOf(we)
		o.Secret = secret
		return o, nil
	}
	return nil, payment.Conflict(payment.CodeInvalidState, "Webhook endpoint %s is being rotated by other requests; try again.", id)
}

// errRotatedMeanwhile: another rotation took the secret version this one
// sealed for.
var errRotatedMeanwhile = errors.New("engine: webhook secret rotated meanwhile")

// signingKeys opens the secrets an endpoint signs with at now: the
// current one, and the one it replaced while the overlap lasts.
func (e *Engine) signingKeys(ctx context.Context, we *payment.WebhookEndpoint, now time.Time) ([][]byte, error) {
	open := func(sealed []byte, v int) ([]byte, error) {
		secret, err := e.vault.Open(ctx, we.AccountID, payment.PurposeWebhookSecret, secretRecord(we.ID, v), sealed)
		if err != nil {
			return nil, fmt.Errorf("open webhook secret: %w", err)
		}
		return webhook.SecretKey(string(secret))
	}
	key, err := open(we.SecretSealed, we.SecretVersion)
	if err != nil {
		return nil, err
	}
	keys := [][]byte{key}
	if we.OldSecretSealed != nil && we.OldSecretExpiresAt != nil && now.Before(*we.OldSecretExpiresAt) {
		old, err := open(we.OldSecretSealed, we.OldSecretVersion)
		if err != nil {
			return nil, err
		}
		keys = append(keys, old)
	}
	return keys, nil
}

// PingWebhookEndpoint sends the endpoint a webhook.ping message (to it
// alone), and returns the delivery.
func (e *Engine) PingWebhookEndpoint(ctx context.Context, p *payment.Principal, id string) (*payment.WebhookDelivery, error) {
	we, err := e.store.WebhookEndpoint(ctx, p.Account.ID, id)
	if err != nil {
		return nil, err
	}
	if we.DisabledAt != nil {
		return nil, payment.Conflict(payment.CodeInvalidState, "Webhook endpoint %s is disabled: enable it first.", id)
	}
	now := e.clock()
	data, err := json.Marshal(map[string]any{"object": "webhook_ping", "webhook_endpoint": we.ID})
	if err != nil {
		return nil, err
	}
	// The same body as an event's, so that a ping is shaped like what it
	// tests: {"type","timestamp","data"} in that order.
	body, err := standardBody(&payment.Event{Type: EventWebhookPing, Data: data, CreatedAt: now})
	if err != nil {
		return nil, err
	}
	d := &payment.WebhookDelivery{ID: payment.NewID(payment.PrefixWebhookDelivery), AccountID: we.AccountID,
		EndpointID: we.ID, MessageID: payment.NewID(payment.PrefixWebhookMessage), Signer: payment.SignerStandard,
		Body: body, Queue: we.ID, Live: we.Live, State: payment.DeliveryPending, NextAttemptAt: now,
		CreatedAt: now, UpdatedAt: now}
	if err := e.store.CreateWebhookDeliveries(ctx, []*payment.WebhookDelivery{d}); err != nil {
		return nil, fmt.Errorf("ping webhook endpoint: %w", err)
	}
	return d, nil
}

// WebhookAttempts is an endpoint's delivery log, newest first.
func (e *Engine) WebhookAttempts(ctx context.Context, p *payment.Principal, endpointID string, lp payment.ListParams) ([]*payment.WebhookAttempt, bool, error) {
	if _, err := e.store.WebhookEndpoint(ctx, p.Account.ID, endpointID); err != nil {
		return nil, false, err
	}
	return e.store.WebhookAttempts(ctx, p.Account.ID, endpointID, lp)
}

// RedeliverEvent sends an event again: to one endpoint (which gets it
// even if it never had it) or, with endpointID "", to every endpoint that
// had it. It returns how many deliveries were queued.
func (e *Engine) RedeliverEvent(ctx context.Context, p *payment.Principal, eventID, endpointID string) (int, error) {
	return e.redeliverEvent(ctx, p, eventID, endpointID, nil)
}

// redeliverEvent is RedeliverEvent with the redelivery's own event, if
// record is not nil (see Store.RedeliverWebhooks).
func (e *Engine) redeliverEvent(ctx context.Context, p *payment.Principal, eventID, endpointID string,
	record func(queued int, now time.Time) *payment.Event) (int, error) {
	if _, err := e.store.Event(ctx, p.Account.ID, eventID); err != nil {
		return 0, err
	}
	if endpointID != "" {
		we, err := e.store.WebhookEndpoint(ctx, p.Account.ID, endpointID)
		if err != nil {
			if nf, ok := payment.AsError(err); ok && nf.Kind == payment.KindNotFound {
				nf.Param = "webhook_endpoint"
			}
			return 0, err
		}
		if we.DisabledAt != nil {
			return 0, payment.Conflict(payment.CodeInvalidState, "Webhook endpoint %s is disabled: enable it first.", endpointID)
		}
	}
	return e.redeliver(ctx, p, payment.RedeliveryFilter{EventID: eventID, EndpointID: endpointID}, record)
}

// redeliver queues again the deliveries of p's account that f chooses,
// with the event record renders of them, if any, in the same write.
func (e *Engine) redeliver(ctx context.Context, p *payment.Principal, f payment.RedeliveryFilter,
	record func(queued int, now time.Time) *payment.Event) (int, error) {
	now := e.clock()
	var newEvent func(int) *payment.Event
	if record != nil {
		newEvent = func(queued int) *payment.Event { return record(queued, now) }
	}
	return e.store.RedeliverWebhooks(ctx, p.Account.ID, f, now, newEvent)
}

// RecoverWebhooks sends again what failed to an endpoint among the
// deliveries created in [since, until) (zero: unbounded), and returns how
// many.
func (e *Engine) RecoverWebhooks(ctx context.Context, p *payment.Principal, endpointID string, since, until time.Time) (int, error) {
	return e.recoverWebhooks(ctx, p, endpointID, since, until, nil)
}

// recoverWebhooks is RecoverWebhooks with the recovery's own event, if
// record is not nil.
func (e *Engine) recoverWebhooks(ctx context.Context, p *payment.Principal, endpointID string, since, until time.Time,
	record func(queued int, now time.Time) *payment.Event) (int, error) {
	we, err := e.store.WebhookEndpoint(ctx, p.Account.ID, endpointID)
	if err != nil {
		return 0, err
	}
	if we.DisabledAt != nil {
		return 0, payment.Conflict(payment.CodeInvalidState, "Webhook endpoint %s is disabled: enable it first.", endpointID)
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return 0, payment.Invalid(payment.CodeParameterInvalid, "until", "until must be after since.")
	}
	return e.redeliver(ctx, p, payment.RedeliveryFilter{EndpointID: endpointID, OnlyFailed: true, Since: since, Until: until}, record)
}

// Event returns the caller's event id.
func (e *Engine) Event(ctx context.Context, p *payment.Principal, id string) (*payment.Event, error) {
	return e.store.Event(ctx, p.Account.ID, id)
}

// WebhookBacklog is the delivery queue: how many deliveries are pending
// and since when the oldest has waited (zero without one).
func (e *Engine) WebhookBacklog(ctx context.Context) (int, time.Time, error) {
	return e.store.WebhookBacklog(ctx)
}
